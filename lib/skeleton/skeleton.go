// Package skeleton records the exact layout of an image archive file so
// that it can be rebuilt byte for byte from its blobs.
//
// A skeleton is everything in a tar file except the content of its
// regular files: headers, PAX records, padding and the end-of-archive
// blocks, kept as raw bytes, and, between them, references to the
// content of each regular file by digest and size. Replaying a skeleton
// with a source of blobs writes the original file again; the replay
// checks every blob and the whole file's SHA-256.
package skeleton

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
	"github.com/diffah/diffah/lib/record"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// Version is the skeleton format this build writes and reads.
const Version = 1

// MediaType names an encoded skeleton in a delta archive's sidecar.
const MediaType = "application/vnd.diffah.skeleton.v1+json+zstd"

// Limits on what Decode accepts.
const (
	MaxEncoded = 64 << 20  // an encoded skeleton
	MaxDecoded = 256 << 20 // its JSON once decompressed
)

// Part is either raw bytes or a reference to a blob.
type Part struct {
	Raw  []byte        `json:"raw,omitempty"`
	Blob digest.Digest `json:"blob,omitempty"`
	Size int64         `json:"size,omitempty"`
}

// Skeleton is the layout of one archive file.
type Skeleton struct {
	Version int           `json:"version"`
	Size    int64         `json:"size"`
	SHA256  digest.Digest `json:"sha256"`
	Parts   []Part        `json:"parts"`
}

// Capture reads the bytes of tarPath that lie outside the members'
// content and returns the skeleton. members must come from the same
// file (offsets into it); size and sum describe the whole file.
func Capture(tarPath string, members []record.Member, size int64,
	sum digest.Digest) (*Skeleton, error) {

	sorted := append([]record.Member(nil), members...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return sorted[i].Offset < sorted[j].Offset
	})

	f, err := os.Open(tarPath)
	if err != nil {
		return nil, exit.IO(fmt.Errorf("capturing skeleton: %w", err))
	}
	defer f.Close()

	sk := &Skeleton{Version: Version, Size: size, SHA256: sum}
	var pos int64
	for _, m := range sorted {
		if m.Offset < pos || m.Size < 0 || m.Offset+m.Size > size {
			return nil, exit.Contentf("%s: member %s: offset %d size %d "+
				"overlaps or leaves the file (%d bytes)", tarPath, m.Name,
				m.Offset, m.Size, size)
		}
		if err := sk.addRaw(f, tarPath, pos, m.Offset-pos); err != nil {
			return nil, err
		}
		sk.Parts = append(sk.Parts, Part{Blob: m.Digest, Size: m.Size})
		pos = m.Offset + m.Size
	}
	if err := sk.addRaw(f, tarPath, pos, size-pos); err != nil {
		return nil, err
	}
	return sk, nil
}

func (sk *Skeleton) addRaw(f *os.File, name string, off, n int64) error {
	if n == 0 {
		return nil
	}
	raw := make([]byte, n)
	if _, err := f.ReadAt(raw, off); err != nil {
		return exit.IO(fmt.Errorf("reading %s at %d: %w", name, off, err))
	}
	sk.Parts = append(sk.Parts, Part{Raw: raw})
	return nil
}

// Blobs returns the distinct blob digests the skeleton refers to, in
// first-use order.
func (sk *Skeleton) Blobs() []digest.Digest {
	seen := map[digest.Digest]bool{}
	var out []digest.Digest
	for _, p := range sk.Parts {
		if p.Blob != "" && !seen[p.Blob] {
			seen[p.Blob] = true
			out = append(out, p.Blob)
		}
	}
	return out
}

// Encode returns the skeleton as zstd-compressed JSON; the same
// skeleton always encodes to the same bytes.
func (sk *Skeleton) Encode() ([]byte, error) {
	data, err := json.Marshal(sk)
	if err != nil {
		return nil, fmt.Errorf("encoding skeleton: %w", err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	if err != nil {
		return nil, fmt.Errorf("encoding skeleton: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil), nil
}

// Decode parses an encoded skeleton and checks it: the version, every
// digest, and that the parts add up to the recorded size.
func Decode(encoded []byte) (*Skeleton, error) {
	if len(encoded) > MaxEncoded {
		return nil, exit.Contentf("skeleton: %d bytes, limit %d",
			len(encoded), MaxEncoded)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(MaxDecoded),
		zstd.WithDecoderMaxWindow(1<<25))
	if err != nil {
		return nil, fmt.Errorf("decoding skeleton: %w", err)
	}
	defer dec.Close()
	data, err := dec.DecodeAll(encoded, nil)
	if err != nil {
		return nil, exit.Contentf("skeleton: decompressing: %v", err)
	}

	var sk Skeleton
	if err := json.Unmarshal(data, &sk); err != nil {
		return nil, exit.Contentf("skeleton: %v", jsonerr.Wrap(err))
	}
	if sk.Version != Version {
		return nil, exit.Contentf("skeleton: version %d, want %d",
			sk.Version, Version)
	}
	if err := sk.SHA256.Validate(); err != nil {
		return nil, exit.Contentf("skeleton: sha256 %q: %v", sk.SHA256, err)
	}
	var total int64
	for i, p := range sk.Parts {
		switch {
		case p.Blob == "" && p.Size == 0 && len(p.Raw) > 0:
			total += int64(len(p.Raw))
		case p.Blob != "" && len(p.Raw) == 0 && p.Size > 0:
			if err := p.Blob.Validate(); err != nil {
				return nil, exit.Contentf("skeleton: part %d: %v", i, err)
			}
			total += p.Size
		default:
			return nil, exit.Contentf("skeleton: part %d: want raw bytes "+
				"or a blob with a size", i)
		}
		if total < 0 || total > sk.Size {
			return nil, exit.Contentf("skeleton: parts exceed the "+
				"recorded size %d", sk.Size)
		}
	}
	if total != sk.Size {
		return nil, exit.Contentf("skeleton: parts add up to %d bytes, "+
			"recorded size %d", total, sk.Size)
	}
	return &sk, nil
}

// Opener opens a blob's bytes by digest. The reader it returns should
// verify the digest itself; Replay checks the size.
type Opener func(d digest.Digest) (io.ReadCloser, error)

// Replay writes the archive file to w, streaming each blob from open,
// and checks the size and SHA-256 of what it wrote. On error, what was
// written to w must be discarded by the caller.
func (sk *Skeleton) Replay(w io.Writer, open Opener) error {
	h := sha256.New()
	out := io.MultiWriter(w, h)
	for _, p := range sk.Parts {
		if p.Blob == "" {
			if _, err := out.Write(p.Raw); err != nil {
				return exit.IO(fmt.Errorf("writing archive: %w", err))
			}
			continue
		}
		if err := copyBlob(out, open, p); err != nil {
			return err
		}
	}
	got := digest.NewDigest(digest.SHA256, h)
	if got != sk.SHA256 {
		return exit.Contentf("rebuilt archive is %s, want %s", got,
			sk.SHA256)
	}
	return nil
}

func copyBlob(out io.Writer, open Opener, p Part) error {
	rc, err := open(p.Blob)
	if err != nil {
		return err
	}
	defer rc.Close()

	n, err := io.Copy(out, io.LimitReader(rc, p.Size))
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", p.Blob, err)
	}
	if n != p.Size {
		return exit.Contentf("blob %s: %d bytes, want %d", p.Blob, n, p.Size)
	}
	// Read to EOF so a verifying reader can check the digest.
	var probe [1]byte
	extra, err := io.ReadFull(rc, probe[:])
	if extra > 0 {
		return exit.Contentf("blob %s: longer than %d bytes", p.Blob, p.Size)
	}
	if err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("reading blob %s: %w", p.Blob, err)
	}
	return nil
}
