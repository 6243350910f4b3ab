package pack

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/patch"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

// encoded is the smallest patch found for one blob, spooled to disk.
type encoded struct {
	path   string
	size   int64
	stored digest.Digest
	ref    digest.Digest
}

// encodePatches tries every candidate of every patch decision, with
// opts.Workers encoders at once, and keeps the smallest patch of each
// blob when it is smaller than the blob. The result is the same whatever
// the worker count. A blob with no smaller patch becomes a full
// decision. The caller removes the spool files with removeSpool.
func (p *packer) encodePatches(ctx context.Context,
	blobs []record.Blob) (map[digest.Digest]*encoded, error) {

	var jobs []*record.Blob
	for i := range blobs {
		if blobs[i].Decision == record.DecisionPatch {
			jobs = append(jobs, &blobs[i])
		}
	}
	results := make([]*encoded, len(jobs))
	errs := make([]error, len(jobs))

	workers := p.opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = p.bestPatch(ctx, jobs[i])
				if errs[i] != nil {
					cancel()
				}
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	out := map[digest.Digest]*encoded{}
	// The error that stopped the others wins over their cancellations,
	// which would read as an interrupt.
	var firstErr error
	for i, b := range jobs {
		if err := errs[i]; err != nil && (firstErr == nil ||
			errors.Is(firstErr, context.Canceled) &&
				!errors.Is(err, context.Canceled)) {
			firstErr = err
		}
		if results[i] == nil {
			b.Decision = record.DecisionFull
			continue
		}
		out[b.Digest] = results[i]
	}
	if firstErr == nil {
		firstErr = ctx.Err()
		if firstErr == context.Canceled {
			firstErr = nil
		}
	}
	if firstErr != nil {
		removeSpool(out)
		return nil, firstErr
	}
	return out, nil
}

// bestPatch encodes b against each candidate and returns the smallest
// patch, or nil when none is smaller than b itself.
func (p *packer) bestPatch(ctx context.Context,
	b *record.Blob) (*encoded, error) {

	a, err := p.open(ctx, *b.Source)
	if err != nil {
		return nil, err
	}
	target, size, closer, err := a.BlobReaderAt(b.Digest)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	if size != b.Size {
		// The sidecar would record the plan's size, and no consumer
		// could rebuild the blob against it.
		return nil, exit.Contentf("blob %s: the plan gives size %d, its "+
			"source %s holds %d bytes", b.Digest, b.Size, b.Source.Path,
			size)
	}

	var best *encoded
	for _, c := range b.Candidates {
		e, err := p.encodeOne(ctx, target, size, c)
		if err != nil {
			removeOne(best)
			return nil, fmt.Errorf("patching %s against %s: %w", b.Digest,
				c.Digest, err)
		}
		if best == nil || e.size < best.size {
			removeOne(best)
			best = e
		} else {
			removeOne(e)
		}
	}
	if best != nil && best.size >= b.Size {
		removeOne(best)
		best = nil
	}
	p.log().Info("patch", "blob", b.Digest, "size", b.Size,
		"patch", sizeOf(best))
	return best, nil
}

func (p *packer) encodeOne(ctx context.Context, target io.ReaderAt,
	size int64, c record.Candidate) (*encoded, error) {

	a, err := p.open(ctx, c.Source)
	if err != nil {
		return nil, err
	}
	ref, refSize, closer, err := a.BlobReaderAt(c.Digest)
	if err != nil {
		return nil, err
	}
	defer closer.Close()

	f, err := os.CreateTemp(p.opts.TempDir, "diffah-patch-*")
	if err != nil {
		return nil, exit.IO(fmt.Errorf("spooling patch: %w", err))
	}
	h := sha256.New()
	cw := &digestio.CountingWriter{W: io.MultiWriter(f, h)}
	err = patch.Encode(ctx, cw, ref, refSize, target, size, patch.Options{})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = exit.IO(fmt.Errorf("spooling patch: %w", cerr))
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &encoded{path: f.Name(), size: cw.N,
		stored: digest.NewDigest(digest.SHA256, h), ref: c.Digest}, nil
}

func sizeOf(e *encoded) int64 {
	if e == nil {
		return -1
	}
	return e.size
}

func removeOne(e *encoded) {
	if e != nil {
		os.Remove(e.path)
	}
}

func removeSpool(m map[digest.Digest]*encoded) {
	for _, e := range m {
		removeOne(e)
	}
}
