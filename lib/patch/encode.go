package patch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/diffah/diffah/lib/exit"
)

// Thresholds of the tar-aware designs.
const (
	// minDictFile is the smallest changed file worth its own frame.
	minDictFile = 512
	// maxCoveredLiteral: a file whose matcher literals are at most this
	// many bytes (and at most 1% of it) keeps the matcher's operations
	// instead of getting a dictionary frame.
	maxCoveredLiteral = 4 << 10
)

// Encode writes to w a patch that rebuilds target (targetSize bytes)
// from ref (refSize bytes). Both are read through io.ReaderAt, the
// reference more than once; neither is loaded whole except by design
// DictWhole. Memory is bounded as the package documentation says. The
// patch is deterministic: the same inputs and options give the same
// bytes. Encode does not close w.
func Encode(ctx context.Context, w io.Writer, ref io.ReaderAt,
	refSize int64, target io.ReaderAt, targetSize int64,
	opts Options) error {

	if refSize < 0 || refSize > maxBlobSize || targetSize < 0 ||
		targetSize > maxBlobSize {
		return exit.Usagef("patch: sizes %d and %d, want 0 to %d",
			refSize, targetSize, int64(maxBlobSize))
	}
	if opts.Design < Auto || opts.Design > DictWhole {
		return exit.Usagef("patch: %v unknown", opts.Design)
	}

	// Hash the target on the side while the encoder works.
	sumc := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		h := sha256.New()
		_, err := io.Copy(h, ctxReader{ctx,
			io.NewSectionReader(target, 0, targetSize)})
		if err != nil {
			errc <- exit.IO(fmt.Errorf("reading target: %w", err))
			return
		}
		sumc <- h.Sum(nil)
	}()

	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.Write(header{refSize: refSize,
		targetSize: targetSize}.append(nil)); err != nil {
		return exit.IO(fmt.Errorf("writing patch: %w", err))
	}
	em := newEmitter(bw)
	defer em.close()
	enc := &encoder{ctx: ctx, em: em, ref: ref, refSize: refSize,
		target: target, targetSize: targetSize,
		budget: dictBudget(refSize, targetSize)}

	var err error
	switch opts.Design {
	case DictWhole:
		err = enc.whole()
	case Match:
		if err = enc.index(); err == nil {
			err = enc.gap(0, targetSize)
		}
	case Tar:
		err = enc.tar(false)
	case Auto:
		err = enc.tar(true)
	}
	if err == nil {
		err = em.err
	}
	var sum []byte
	select {
	case sum = <-sumc:
	case e := <-errc:
		if err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	if err := em.finish(sum); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return exit.IO(fmt.Errorf("writing patch: %w", err))
	}
	return nil
}

// ctxReader stops reading when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type encoder struct {
	ctx        context.Context
	em         *emitter
	ref        io.ReaderAt
	refSize    int64
	target     io.ReaderAt
	targetSize int64
	sc         *scanner // nil when the design has no matcher
	lit        []byte
	dict       []byte
	budget     int64 // dictionary bytes the patch may still name
}

// dictOK reports whether a dictionary of n more bytes fits the budget.
func (e *encoder) dictOK(n int64) bool {
	return e.em.dictBytes+n <= e.budget
}

func (e *encoder) index() error {
	x, err := buildIndex(e.ctx, e.ref, e.refSize)
	if err != nil {
		return err
	}
	e.sc = newScanner(x, e.target)
	return nil
}

// whole compresses the target with the whole reference as dictionary.
func (e *encoder) whole() error {
	if e.refSize > MaxDict {
		return exit.Usagef("patch: reference of %d bytes is larger "+
			"than the dictionary limit %d", e.refSize, MaxDict)
	}
	if e.targetSize == 0 {
		return nil
	}
	dict := make([]byte, e.refSize)
	if err := readAt(e.ref, dict, 0); err != nil {
		return exit.IO(fmt.Errorf("reading reference: %w", err))
	}
	e.em.dictFrame(0, dict, io.NewSectionReader(e.target, 0,
		e.targetSize), e.targetSize, MaxWindow)
	return e.em.err
}

// emit sends one matcher operation to the emitter.
func (e *encoder) emit(o op) error {
	if o.ref >= 0 {
		e.em.copy(o.ref, o.n)
		return e.em.err
	}
	return e.literal(o.t, o.t+o.n)
}

// literal sends target[start:end) as literals.
func (e *encoder) literal(start, end int64) error {
	if e.lit == nil {
		e.lit = make([]byte, maxLiteral)
	}
	for start < end {
		b := e.lit[:min(end-start, maxLiteral)]
		if err := readAt(e.target, b, start); err != nil {
			return exit.IO(fmt.Errorf("reading target at %d: %w",
				start, err))
		}
		e.em.literal(b)
		if e.em.err != nil {
			return e.em.err
		}
		start += int64(len(b))
	}
	return nil
}

// gap encodes target[start:end) with the matcher, or as literals when
// the design has none.
func (e *encoder) gap(start, end int64) error {
	if e.sc == nil {
		return e.literal(start, end)
	}
	return e.sc.scan(e.ctx, start, end, e.emit)
}

// tar walks the target's files; see the package documentation for what
// designs Auto (matcher true) and Tar (matcher false) do with them.
// Blobs that are not tars go to the matcher (or become literals).
func (e *encoder) tar(matcher bool) error {
	if matcher {
		if err := e.index(); err != nil {
			return err
		}
	}
	var targetFiles, refFiles []tarFile
	targetFiles = listTar(e.target, e.targetSize)
	if len(targetFiles) > 0 {
		refFiles = listTar(e.ref, e.refSize)
	}
	if len(refFiles) == 0 {
		if matcher {
			return e.segments()
		}
		return e.gap(0, e.targetSize)
	}
	refs := newTarIndex(refFiles)
	if matcher {
		return e.grouped(refs, targetFiles)
	}

	pos := int64(0)
	for _, f := range targetFiles {
		if err := e.literal(pos, f.off); err != nil {
			return err
		}
		if err := e.entry(refs, f); err != nil {
			return err
		}
		pos = f.off + f.size
	}
	return e.literal(pos, e.targetSize)
}

// entry encodes one target file for design Tar: a copy when its
// reference file is equal, else a frame with that file as dictionary.
func (e *encoder) entry(refs *tarIndex, f tarFile) error {
	g, _, ok := refs.best(f)
	if ok && g.size == f.size {
		same, err := e.sameContent(f, g)
		if err != nil {
			return err
		}
		if same {
			e.em.copy(g.off, f.size)
			return e.em.err
		}
	}
	if !ok || f.size < minDictFile || f.size > autoMaxDict ||
		g.size > autoMaxDict || !e.dictOK(g.size) {
		return e.literal(f.off, f.off+f.size)
	}
	dict, err := e.readDict(g.off, g.size)
	if err != nil {
		return err
	}
	e.em.dictFrame(g.off, dict, io.NewSectionReader(e.target, f.off,
		f.size), f.size, 2*autoMaxDict)
	return e.em.err
}

// Grouping of changed files in design Auto.
const (
	// headerSlack is how far before a reference file its dictionary
	// starts, so that its tar header (and a long name) is in it.
	headerSlack = 1536
	// maxGroupGap is the most target bytes between two changed files
	// of one group.
	maxGroupGap = 64 << 10
	// maxGroupSpan bounds the target and reference span of a group of
	// more than one file.
	maxGroupSpan = 16 << 20
)

// item is a target file with what the matcher and the tar index found.
type item struct {
	f, g    tarFile
	changed bool
	ops     []op // the matcher's operations when !changed
}

// grouped is design Auto on tars. Files the matcher covers (nearly)
// completely become its operations. Changed files with a reference
// counterpart are grouped with nearby changed files; a group, with the
// headers and small files between its members, is one frame whose
// dictionary is the reference range holding the members' counterparts,
// or one frame per member, or the matcher's operations, whichever is
// smallest (zstd's hash tables confuse similar files in a large
// dictionary, and a dictionary does not help new content).
func (e *encoder) grouped(refs *tarIndex, files []tarFile) error {
	items := make([]item, len(files))
	for i, f := range files {
		it := &items[i]
		it.f = f
		g, _, ok := refs.best(f)
		if !ok || f.size < minDictFile || f.size > autoMaxDict ||
			g.size > autoMaxDict {
			continue
		}
		var literal int64
		err := e.sc.scan(e.ctx, f.off, f.off+f.size, func(o op) error {
			it.ops = append(it.ops, o)
			if o.ref < 0 {
				literal += o.n
			}
			return nil
		})
		if err != nil {
			return err
		}
		if literal > maxCoveredLiteral || literal*100 > f.size {
			it.g, it.changed, it.ops = g, true, nil
		}
	}

	pos := int64(0)
	for i := 0; i < len(items); {
		last, rs, re := e.group(items, i, pos)
		end := items[last].f.off + items[last].f.size
		if !items[i].changed {
			if err := e.singly(items[i:last+1], pos); err != nil {
				return err
			}
			pos, i = end, last+1
			continue
		}

		// Try the run of changed files as one frame, as one frame per
		// file, and as the matcher's operations; keep the smallest.
		e.em.flushCopy()
		e.em.closePlain()
		var best []byte
		var bestDict int64
		for k, try := range []func() error{
			func() error { return e.singly(items[i:last+1], pos) },
			func() error { return e.together(rs, re, pos, end) },
			func() error { return e.gap(pos, end) },
		} {
			if k == 1 && last == i {
				continue // the same as one frame per file
			}
			out, used, err := e.trial(try)
			if err != nil {
				return err
			}
			if best == nil || len(out) < len(best) {
				best, bestDict = out, used
			}
		}
		e.em.dictBytes = bestDict
		if _, err := e.em.w.Write(best); err != nil {
			return exit.IO(fmt.Errorf("writing patch: %w", err))
		}
		pos, i = end, last+1
	}
	return e.gap(pos, e.targetSize)
}

// group returns the last item of the group that starts at items[i]
// (i itself when it is unchanged or alone) and the reference range
// that holds the counterparts of its changed files.
func (e *encoder) group(items []item, i int, pos int64) (last int,
	rs, re int64) {

	it := items[i]
	if !it.changed {
		return i, 0, 0
	}
	rs = max(0, it.g.off-headerSlack)
	re = it.g.off + it.g.size
	last = i
	for j := i + 1; j < len(items); j++ {
		n := items[j]
		if n.f.off-(items[last].f.off+items[last].f.size) > maxGroupGap {
			break
		}
		if !n.changed {
			continue
		}
		nrs := min(rs, max(0, n.g.off-headerSlack))
		nre := max(re, n.g.off+n.g.size)
		if nre-nrs > maxGroupSpan || n.f.off+n.f.size-pos > maxGroupSpan {
			break
		}
		rs, re, last = nrs, nre, j
	}
	return last, rs, re
}

// singly encodes items from target offset pos on: unchanged files as
// the matcher's operations, each changed file (with the header before
// it) as one frame with its counterpart as dictionary.
func (e *encoder) singly(items []item, pos int64) error {
	for _, it := range items {
		end := it.f.off + it.f.size
		if it.changed {
			rs := max(0, it.g.off-headerSlack)
			if err := e.together(rs, it.g.off+it.g.size, pos,
				end); err != nil {
				return err
			}
			pos = end
			continue
		}
		if err := e.gap(pos, it.f.off); err != nil {
			return err
		}
		if it.ops == nil {
			if err := e.gap(it.f.off, end); err != nil {
				return err
			}
		}
		for _, o := range it.ops {
			if err := e.emit(o); err != nil {
				return err
			}
		}
		pos = end
	}
	return nil
}

// together writes target[ts:te) as one frame with ref[rs:re) as
// dictionary.
func (e *encoder) together(rs, re, ts, te int64) error {
	if !e.dictOK(re - rs) {
		return e.gap(ts, te)
	}
	dict, err := e.readDict(rs, re-rs)
	if err != nil {
		return err
	}
	e.em.dictFrame(rs, dict, io.NewSectionReader(e.target, ts, te-ts),
		te-ts, 2*autoMaxDict+2*headerSlack)
	return e.em.err
}

// trial runs f with an emitter that writes to memory and returns what
// it wrote and the dictionary bytes counted by then. The encoders are shared with the real emitter, whose plain
// frame must be closed.
func (e *encoder) trial(f func() error) ([]byte, int64, error) {
	real := e.em
	var buf bytes.Buffer
	e.em = &emitter{w: &buf, plain: real.plain, dictEncs: real.dictEncs,
		dictBytes: real.dictBytes}
	err := f()
	if err == nil {
		e.em.flushCopy()
		e.em.closePlain()
		err = e.em.err
	}
	used := e.em.dictBytes
	real.plain = e.em.plain
	e.em = real
	return buf.Bytes(), used, err
}

// readDict reads ref[off:off+n] into the reusable dictionary buffer.
func (e *encoder) readDict(off, n int64) ([]byte, error) {
	if int64(cap(e.dict)) < n {
		e.dict = make([]byte, n)
	}
	dict := e.dict[:n]
	if err := readAt(e.ref, dict, off); err != nil {
		return nil, exit.IO(fmt.Errorf("reading reference at %d: %w",
			off, err))
	}
	return dict, nil
}

// sameContent reports whether f's and g's contents are equal.
func (e *encoder) sameContent(f, g tarFile) (bool, error) {
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); off < f.size; off += int64(len(a)) {
		n := min(int64(len(a)), f.size-off)
		if err := readAt(e.target, a[:n], f.off+off); err != nil {
			return false, exit.IO(fmt.Errorf("reading target: %w", err))
		}
		if err := readAt(e.ref, b[:n], g.off+off); err != nil {
			return false, exit.IO(fmt.Errorf("reading reference: %w",
				err))
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return false, nil
		}
	}
	return true, nil
}

// segmentSize is the target span design Auto gives one dictionary frame
// on blobs that are not tars.
const segmentSize = 8 << 20

// segments is design Auto on blobs that are not tars. The target is cut
// into segments; a segment the matcher covers (nearly) completely, or
// where it finds nothing at all, keeps the matcher's operations. Any
// other segment becomes one frame whose dictionary is the reference
// range at the distance of the segment's longest copy, or the whole
// reference when that is small.
func (e *encoder) segments() error {
	for start := int64(0); start < e.targetSize; start += segmentSize {
		end := min(start+segmentSize, e.targetSize)
		var ops []op
		var literal, longest int64
		delta := int64(0)
		err := e.sc.scan(e.ctx, start, end, func(o op) error {
			ops = append(ops, o)
			switch {
			case o.ref < 0:
				literal += o.n
			case o.n > longest:
				longest, delta = o.n, o.ref-o.t
			}
			return nil
		})
		if err != nil {
			return err
		}
		rs, re := int64(0), e.refSize
		if e.refSize > 2*segmentSize {
			rs = max(0, start+delta-segmentSize/2)
			re = min(e.refSize, end+delta+segmentSize/2)
		}
		if literal <= maxCoveredLiteral || literal*100 <= end-start ||
			longest == 0 || !e.dictOK(re-rs) {
			for _, o := range ops {
				if err := e.emit(o); err != nil {
					return err
				}
			}
			continue
		}
		dict, err := e.readDict(rs, re-rs)
		if err != nil {
			return err
		}
		e.em.dictFrame(rs, dict, io.NewSectionReader(e.target, start,
			end-start), end-start, 4*segmentSize)
		if e.em.err != nil {
			return e.em.err
		}
	}
	return nil
}
