package patch

import (
	"encoding/binary"
	"errors"
	"io"
)

// magic opens every patch; version and codec follow it.
const magic = "DHPT"

const (
	formatVersion = 1
	codecZstdOps  = 1
)

// Chunk and operation tags.
const (
	chunkEnd    = 0x00
	chunkFrame  = 0x01
	chunkStored = 0x02

	opLiteral = 0x01
	opCopy    = 0x02
)

// dictID is the zstd dictionary ID of frames that use a dictionary.
const dictID = 1

// Limits that Decode enforces and Encode respects.
const (
	// MaxDict is the largest dictionary a frame may name.
	MaxDict = 256 << 20
	// MaxWindow is the largest zstd window a frame may declare.
	MaxWindow = 512 << 20
	// maxBlobSize bounds the reference and target sizes (1 TiB).
	maxBlobSize = 1 << 40
)

// dictBudget is the most dictionary bytes all frames of one patch may
// name together, so that a small hostile patch cannot make Decode read
// the reference over and over. Encode stays within it.
func dictBudget(refSize, targetSize int64) int64 {
	return refSize + 4*targetSize + MaxDict
}

// header is the fixed part at the start of a patch.
type header struct {
	refSize, targetSize int64
}

func (h header) append(b []byte) []byte {
	b = append(b, magic...)
	b = append(b, formatVersion, codecZstdOps)
	b = binary.AppendUvarint(b, uint64(h.refSize))
	return binary.AppendUvarint(b, uint64(h.targetSize))
}

var errVarint = errors.New("varint too long")

// readUvarint reads a varint and refuses values above max.
func readUvarint(r io.ByteReader, max uint64) (uint64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err.Error() == "binary: varint overflows a 64-bit integer" {
			err = errVarint
		}
		return 0, err
	}
	if v > max {
		return 0, errTooLarge{v, max}
	}
	return v, nil
}

type errTooLarge struct{ got, max uint64 }

func (e errTooLarge) Error() string {
	return "value " + itoa(e.got) + " exceeds limit " + itoa(e.max)
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// readAt fills p from r at off. Unlike a bare ReadAt it accepts io.EOF
// together with a full buffer, which io.ReaderAt allows at the end.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
