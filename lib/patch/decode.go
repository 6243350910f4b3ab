package patch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/diffah/diffah/lib/exit"
	"github.com/klauspost/compress/zstd"
)

// Decode rebuilds the target from ref (refSize bytes) and the patch read
// from patch, writing it to w. It validates the whole patch as it goes
// and returns an error (exit code 4 for a corrupt patch or the wrong
// reference, 3 for I/O) instead of panicking. Because bytes stream to w
// before the final SHA-256 check, a caller must treat w's content as
// garbage when Decode returns an error (write to a temporary file and
// rename it only on success). Memory is bounded as described in the
// package documentation. Decode reads patch sequentially and only up to
// the end marker.
func Decode(ctx context.Context, w io.Writer, ref io.ReaderAt,
	refSize int64, patch io.Reader) error {

	pr := &patchReader{r: bufio.NewReaderSize(patch, 64<<10)}
	h, err := readHeader(pr)
	if err != nil {
		return err
	}
	if h.refSize != refSize {
		return exit.Contentf("patch: made for a reference of %d bytes, "+
			"got %d", h.refSize, refSize)
	}

	out := &targetWriter{w: w, limit: h.targetSize, sum: sha256.New()}
	bw := bufio.NewWriterSize(out, 256<<10)
	d := &decoder{ref: ref, refSize: refSize, out: bw, pr: pr,
		limit: h.targetSize}
	defer d.close()

	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		tag, err := pr.r.ReadByte()
		if err != nil {
			return pr.fail(fmt.Sprintf("chunk %d", n), err)
		}
		switch tag {
		case chunkFrame:
			if err := d.frame(ctx, n); err != nil {
				return err
			}
		case chunkStored:
			if err := d.stored(ctx, n); err != nil {
				return err
			}
		case chunkEnd:
			return d.finish(out, bw, h)
		default:
			return exit.Contentf("patch: chunk %d at byte %d: tag %#x, "+
				"want %#x, %#x or %#x", n, pr.off-1, tag, chunkFrame,
				chunkStored, chunkEnd)
		}
	}
}

// patchReader counts the bytes read so errors can name an offset.
type patchReader struct {
	r   *bufio.Reader
	off int64
}

func (p *patchReader) ReadByte() (byte, error) {
	b, err := p.r.ReadByte()
	if err == nil {
		p.off++
	}
	return b, err
}

func (p *patchReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.off += int64(n)
	return n, err
}

// fail turns a read error of the patch stream into a coded error.
func (p *patchReader) fail(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return exit.Contentf("patch: %s at byte %d: truncated", what, p.off)
	}
	var tl errTooLarge
	if errors.As(err, &tl) || errors.Is(err, errVarint) {
		return exit.Contentf("patch: %s at byte %d: %w", what, p.off, err)
	}
	return exit.IO(fmt.Errorf("patch: reading %s at byte %d: %w",
		what, p.off, err))
}

func readHeader(pr *patchReader) (header, error) {
	var fixed [len(magic) + 2]byte
	if _, err := io.ReadFull(pr, fixed[:]); err != nil {
		return header{}, pr.fail("header", err)
	}
	if string(fixed[:len(magic)]) != magic {
		return header{}, exit.Contentf("patch: magic %q, want %q",
			fixed[:len(magic)], magic)
	}
	if v := fixed[len(magic)]; v != formatVersion {
		return header{}, exit.Contentf("patch: format version %d, "+
			"want %d", v, formatVersion)
	}
	if c := fixed[len(magic)+1]; c != codecZstdOps {
		return header{}, exit.Contentf("patch: codec %d unknown, "+
			"want %d (zstd-ops)", c, codecZstdOps)
	}
	rs, err := readUvarint(pr, maxBlobSize)
	if err != nil {
		return header{}, pr.fail("reference size", err)
	}
	ts, err := readUvarint(pr, maxBlobSize)
	if err != nil {
		return header{}, pr.fail("target size", err)
	}
	return header{refSize: int64(rs), targetSize: int64(ts)}, nil
}

// targetWriter hashes and counts the target and refuses bytes past its
// declared size.
type targetWriter struct {
	w     io.Writer
	n     int64
	limit int64
	sum   hash.Hash
}

var errPastTarget = errors.New("writes past target size")

func (t *targetWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > t.limit-t.n {
		return 0, errPastTarget
	}
	t.sum.Write(b)
	n, err := t.w.Write(b)
	t.n += int64(n)
	if err != nil {
		return n, exit.IO(fmt.Errorf("writing target: %w", err))
	}
	return n, nil
}

type decoder struct {
	ref     io.ReaderAt
	refSize int64
	out     *bufio.Writer
	pr      *patchReader
	zd      *zstd.Decoder
	dict    []byte
	buf     []byte
	written int64 // target bytes produced, as far as ops are concerned
	limit   int64
	// dictRead counts dictionary bytes, bounded by dictBudget.
	dictRead int64
}

// zstdDecoders keeps zstd decoders, and the window buffers they have
// grown, between calls of Decode.
var zstdDecoders sync.Pool

func (d *decoder) close() {
	if d.zd != nil {
		// Drop the dictionary and the patch reader before pooling.
		if d.zd.ResetWithOptions(nil,
			zstd.WithDecoderDictDelete(dictID)) == nil {
			zstdDecoders.Put(d.zd)
		} else {
			d.zd.Close()
		}
	}
}

// frame reads one frame chunk (after its tag) and runs its operations.
func (d *decoder) frame(ctx context.Context, n int) error {
	what := fmt.Sprintf("chunk %d", n)
	dictOff, err := readUvarint(d.pr, maxBlobSize)
	if err != nil {
		return d.pr.fail(what+" dictionary offset", err)
	}
	dictLen, err := readUvarint(d.pr, MaxDict)
	if err != nil {
		return d.pr.fail(what+" dictionary length", err)
	}
	if dictOff+dictLen > uint64(d.refSize) {
		return exit.Contentf("patch: %s: dictionary %d+%d outside "+
			"reference of %d bytes", what, dictOff, dictLen, d.refSize)
	}
	d.dictRead += int64(dictLen)
	if budget := dictBudget(d.refSize, d.limit); d.dictRead > budget {
		return exit.Contentf("patch: %s: dictionaries of %d bytes in "+
			"all, limit %d", what, d.dictRead, budget)
	}
	frameLen, err := readUvarint(d.pr, maxBlobSize)
	if err != nil {
		return d.pr.fail(what+" frame length", err)
	}
	start := d.pr.off

	// Load the dictionary and point the zstd decoder at this frame.
	opts := []zstd.DOption{zstd.WithDecoderDictDelete(dictID)}
	if dictLen > 0 {
		if cap(d.dict) < int(dictLen) {
			d.dict = make([]byte, dictLen)
		}
		d.dict = d.dict[:dictLen]
		if err := readAt(d.ref, d.dict, int64(dictOff)); err != nil {
			return exit.IO(fmt.Errorf("reading reference dictionary "+
				"%d+%d: %w", dictOff, dictLen, err))
		}
		opts = []zstd.DOption{zstd.WithDecoderDictRaw(dictID, d.dict)}
	}
	lr := &io.LimitedReader{R: d.pr, N: int64(frameLen)}
	if d.zd == nil {
		d.zd, _ = zstdDecoders.Get().(*zstd.Decoder)
	}
	if d.zd == nil {
		d.zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxWindow),
			zstd.WithDecoderMaxMemory(MaxWindow+MaxDict))
		if err != nil {
			return fmt.Errorf("patch: zstd decoder: %w", err)
		}
	}
	if err := d.zd.ResetWithOptions(lr, opts...); err != nil {
		return exit.Contentf("patch: %s: %w", what, err)
	}
	ops := bufio.NewReaderSize(d.zd, 64<<10)
	if err := d.run(ctx, ops, what); err != nil {
		return err
	}

	// The frame must have been consumed exactly.
	if lr.N != 0 {
		return exit.Contentf("patch: %s: frame of %d bytes ends after "+
			"%d", what, frameLen, d.pr.off-start)
	}
	return nil
}

// stored reads one stored chunk (after its tag) and runs its
// operations.
func (d *decoder) stored(ctx context.Context, n int) error {
	what := fmt.Sprintf("chunk %d", n)
	size, err := readUvarint(d.pr, maxBlobSize)
	if err != nil {
		return d.pr.fail(what+" length", err)
	}
	lr := &io.LimitedReader{R: d.pr, N: int64(size)}
	return d.run(ctx, bufio.NewReaderSize(lr, 64<<10), what)
}

// run executes the operations of one decompressed frame.
func (d *decoder) run(ctx context.Context, ops *bufio.Reader,
	what string) error {

	zfail := func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		var tl errTooLarge
		if errors.As(err, &tl) || errors.Is(err, errVarint) {
			return exit.Contentf("patch: %s: %w", what, err)
		}
		return exit.Contentf("patch: %s: operations: %w", what, err)
	}
	var copyEnd int64
	for i := 0; ; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tag, err := ops.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return zfail(err)
		}
		switch tag {
		case opLiteral:
			n, err := readUvarint(ops, maxBlobSize)
			if err != nil {
				return zfail(err)
			}
			if err := d.reserve(n, what, i); err != nil {
				return err
			}
			got, err := io.CopyN(d.out, ops, int64(n))
			if err != nil {
				if got < int64(n) && !isIOErr(err) {
					return zfail(err)
				}
				return err
			}
		case opCopy:
			u, err := readUvarint(ops, 1<<63-1)
			if err != nil {
				return zfail(err)
			}
			n, err := readUvarint(ops, maxBlobSize)
			if err != nil {
				return zfail(err)
			}
			off := copyEnd + unzigzag(u)
			if off < 0 || off > d.refSize || int64(n) > d.refSize-off {
				return exit.Contentf("patch: %s op %d: copy %d+%d "+
					"outside reference of %d bytes", what, i, off, n,
					d.refSize)
			}
			if err := d.reserve(n, what, i); err != nil {
				return err
			}
			if err := d.copyRef(off, int64(n)); err != nil {
				return err
			}
			copyEnd = off + int64(n)
		default:
			return exit.Contentf("patch: %s op %d: tag %#x, want %#x "+
				"or %#x", what, i, tag, opLiteral, opCopy)
		}
	}
}

func isIOErr(err error) bool {
	var coded interface{ ExitCode() int }
	return errors.As(err, &coded)
}

// reserve checks that n more bytes stay within the target size.
func (d *decoder) reserve(n uint64, what string, i int) error {
	if n > uint64(d.limit-d.written) {
		return exit.Contentf("patch: %s op %d: %d bytes past target "+
			"size %d", what, i, int64(n)-(d.limit-d.written), d.limit)
	}
	d.written += int64(n)
	return nil
}

// copyRef appends ref[off:off+n] to the output.
func (d *decoder) copyRef(off, n int64) error {
	if d.buf == nil {
		d.buf = make([]byte, 256<<10)
	}
	for n > 0 {
		b := d.buf[:min(n, int64(len(d.buf)))]
		if err := readAt(d.ref, b, off); err != nil {
			return exit.IO(fmt.Errorf("reading reference at %d: %w",
				off, err))
		}
		if _, err := d.out.Write(b); err != nil {
			return err
		}
		off += int64(len(b))
		n -= int64(len(b))
	}
	return nil
}

// finish checks the end marker's digest and the target size.
func (d *decoder) finish(out *targetWriter, bw *bufio.Writer,
	h header) error {

	var want [sha256.Size]byte
	if _, err := io.ReadFull(d.pr, want[:]); err != nil {
		return d.pr.fail("end marker", err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if out.n != h.targetSize {
		return exit.Contentf("patch: rebuilt %d bytes, header says %d",
			out.n, h.targetSize)
	}
	if got := out.sum.Sum(nil); !bytes.Equal(got, want[:]) {
		return exit.Contentf("patch: rebuilt target sha256:%x, patch "+
			"says sha256:%x", got, want)
	}
	return nil
}
