package patch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/diffah/diffah/lib/exit"
	"github.com/klauspost/compress/zstd"
)

// Sizes of the frames Encode writes.
const (
	// plainFrameMax is the most uncompressed operation bytes one frame
	// without dictionary holds before it is closed; it is also the
	// window of those frames.
	plainFrameMax = 16 << 20
	// autoMaxDict is the largest dictionary and the largest file the
	// tar-aware designs compress with a dictionary.
	autoMaxDict = 64 << 20
	// maxCachedWindow is the window of the dictionary encoder that is
	// kept for reuse; larger windows get an encoder per frame.
	maxCachedWindow = 16 << 20
)

// emitter turns operations into frame chunks on w. Literals and copies
// go into the current frame without dictionary; a dictionary frame
// closes it first. A copy that continues the previous one is merged.
type emitter struct {
	w   io.Writer
	err error

	plain    *zstd.Encoder
	frame    bytes.Buffer // compressed bytes of the open plain frame
	rawOps   bytes.Buffer // the same operations uncompressed
	open     bool
	raw      int64 // uncompressed bytes in the open plain frame
	copyEnd  int64 // end of the last copy in the open plain frame
	pendOff  int64 // pending copy, not yet written
	pendLen  int64
	scratch  []byte
	dictEncs map[int]*zstd.Encoder // by window size
	// dictBytes counts the dictionary bytes of the frames written.
	dictBytes int64
}

func newEmitter(w io.Writer) *emitter {
	return &emitter{w: w, dictEncs: map[int]*zstd.Encoder{}}
}

func (e *emitter) close() {
	if e.plain != nil {
		e.plain.Close()
	}
	for _, enc := range e.dictEncs {
		enc.Close()
	}
}

func newEncoder(window int, opts ...zstd.EOption) (*zstd.Encoder, error) {
	opts = append([]zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(window),
		zstd.WithEncoderCRC(false),
	}, opts...)
	return zstd.NewWriter(nil, opts...)
}

// windowFor returns the zstd window that reaches over n bytes.
func windowFor(n int64, max int) int {
	w := zstd.MinWindowSize
	if n > int64(w) {
		w = 1 << bits.Len64(uint64(n-1))
	}
	return min(w, max)
}

// writeOp writes an operation into the open plain frame.
func (e *emitter) writeOp(op []byte, payload []byte) {
	if e.err != nil {
		return
	}
	if !e.open {
		if e.plain == nil {
			e.plain, e.err = newEncoder(plainFrameMax)
			if e.err != nil {
				return
			}
		}
		e.frame.Reset()
		e.rawOps.Reset()
		e.plain.Reset(&e.frame)
		e.open, e.raw, e.copyEnd = true, 0, 0
	}
	e.rawOps.Write(op)
	e.rawOps.Write(payload)
	if _, err := e.plain.Write(op); err != nil {
		e.err = err
		return
	}
	if _, err := e.plain.Write(payload); err != nil {
		e.err = err
		return
	}
	e.raw += int64(len(op) + len(payload))
	if e.raw >= plainFrameMax {
		e.closePlain()
	}
}

// literal appends target bytes.
func (e *emitter) literal(p []byte) {
	if len(p) == 0 {
		return
	}
	e.flushCopy()
	op := binary.AppendUvarint(append(e.scratch[:0], opLiteral),
		uint64(len(p)))
	e.writeOp(op, p)
}

// copy appends n reference bytes from off.
func (e *emitter) copy(off, n int64) {
	if n == 0 {
		return
	}
	if e.pendLen > 0 && e.pendOff+e.pendLen == off {
		e.pendLen += n
		return
	}
	e.flushCopy()
	e.pendOff, e.pendLen = off, n
}

func (e *emitter) flushCopy() {
	if e.pendLen == 0 {
		return
	}
	off, n := e.pendOff, e.pendLen
	e.pendLen = 0
	if !e.open {
		e.copyEnd = 0
	}
	op := append(e.scratch[:0], opCopy)
	op = binary.AppendUvarint(op, zigzag(off-e.copyEnd))
	op = binary.AppendUvarint(op, uint64(n))
	e.writeOp(op, nil)
	e.copyEnd = off + n
}

// closePlain ends the open plain frame and writes it as a chunk.
func (e *emitter) closePlain() {
	if !e.open || e.err != nil {
		return
	}
	e.open = false
	if e.err = e.plain.Close(); e.err != nil {
		return
	}
	if e.frame.Len() < e.rawOps.Len() {
		e.writeChunk(0, 0, e.frame.Bytes())
		return
	}

	// Incompressible: store the operations as they are.
	hdr := binary.AppendUvarint([]byte{chunkStored},
		uint64(e.rawOps.Len()))
	if _, err := e.w.Write(hdr); err != nil {
		e.err = exit.IO(fmt.Errorf("writing patch: %w", err))
		return
	}
	if _, err := e.w.Write(e.rawOps.Bytes()); err != nil {
		e.err = exit.IO(fmt.Errorf("writing patch: %w", err))
	}
}

func (e *emitter) writeChunk(dictOff, dictLen int64, frame []byte) {
	if e.err != nil {
		return
	}
	hdr := []byte{chunkFrame}
	hdr = binary.AppendUvarint(hdr, uint64(dictOff))
	hdr = binary.AppendUvarint(hdr, uint64(dictLen))
	hdr = binary.AppendUvarint(hdr, uint64(len(frame)))
	if _, err := e.w.Write(hdr); err != nil {
		e.err = exit.IO(fmt.Errorf("writing patch: %w", err))
		return
	}
	if _, err := e.w.Write(frame); err != nil {
		e.err = exit.IO(fmt.Errorf("writing patch: %w", err))
	}
}

// dictFrame writes a frame holding one literal of n target bytes read
// from content, compressed with dict = ref[dictOff:dictOff+len(dict)].
func (e *emitter) dictFrame(dictOff int64, dict []byte, content io.Reader,
	n int64, maxWindow int) {

	e.flushCopy()
	e.closePlain()
	if e.err != nil {
		return
	}
	e.dictBytes += int64(len(dict))
	// Frames that fit share one cached encoder of the smallest window.
	window := max(windowFor(int64(len(dict))+n+16, maxWindow),
		maxCachedWindow)
	enc := e.dictEncs[window]
	if enc == nil {
		enc, e.err = newEncoder(window)
		if e.err != nil {
			return
		}
		// Keep small encoders for the next frames; big ones hold too
		// much memory to keep.
		if window <= maxCachedWindow {
			e.dictEncs[window] = enc
		} else {
			defer enc.Close()
		}
	}
	e.frame.Reset()
	opt := zstd.WithEncoderDictRaw(dictID, dict)
	if len(dict) == 0 {
		opt = zstd.WithEncoderDictDelete()
	}
	if e.err = enc.ResetWithOptions(&e.frame, opt); e.err != nil {
		return
	}
	op := binary.AppendUvarint([]byte{opLiteral}, uint64(n))
	if _, e.err = enc.Write(op); e.err != nil {
		return
	}
	got, err := io.Copy(enc, io.LimitReader(content, n))
	if err != nil {
		e.err = exit.IO(fmt.Errorf("reading target: %w", err))
		return
	}
	if got != n {
		e.err = exit.IO(fmt.Errorf("reading target: got %d bytes, "+
			"want %d", got, n))
		return
	}
	if e.err = enc.Close(); e.err != nil {
		return
	}
	e.writeChunk(dictOff, int64(len(dict)), e.frame.Bytes())
}

// finish closes the last frame and writes the end marker.
func (e *emitter) finish(sum []byte) error {
	e.flushCopy()
	e.closePlain()
	if e.err != nil {
		return e.err
	}
	if _, err := e.w.Write(append([]byte{chunkEnd}, sum...)); err != nil {
		return exit.IO(fmt.Errorf("writing patch: %w", err))
	}
	return nil
}
