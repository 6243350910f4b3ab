// Package unpack implements diffah-unpack: it checks a delta archive and
// the consumer's baselines and says how to rebuild each image.
//
// In order: it reads the sidecar and the member index and checks that
// they agree; opens the baseline named for each image and checks that it
// is the image the delta was made against and that it holds every blob
// the rebuild needs from it; only then reads every stored member to
// check its digest. It writes one assembly record per image, or a skip
// record for an image whose baseline was not given (an error with
// Strict).
package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

// Tool names this stage in the records' header.
const Tool = "diffah-unpack"

// Options tune Run.
type Options struct {
	// Baselines maps image names to baseline archives (PATH or
	// PATH@SELECTOR).
	Baselines map[string]string
	// Strict makes an image without a baseline an error.
	Strict   bool
	Platform string
	TempDir  string
	Logger   *slog.Logger
}

// Run checks the delta at deltaPath and writes assembly records to out.
func Run(ctx context.Context, deltaPath string, out io.Writer,
	opts Options) error {

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := record.NewWriter(out, Tool)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(deltaPath)
	if err != nil {
		return exit.IO(err)
	}
	a, err := delta.Open(abs)
	if err != nil {
		return err
	}
	defer a.Close()
	sc := a.Sidecar

	if err := checkNames(sc, opts.Baselines); err != nil {
		return err
	}

	// Baselines first: identity and reachability, before large reads.
	var records []any
	for _, img := range sc.Images {
		rec, err := plan(ctx, a, img, opts, log)
		if err != nil {
			return err
		}
		records = append(records, rec)
	}

	for _, b := range sc.Blobs {
		if err := a.Verify(b.Stored); err != nil {
			return err
		}
	}
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func checkNames(sc *delta.Sidecar, baselines map[string]string) error {
	known := map[string]bool{}
	for _, img := range sc.Images {
		known[img.Name] = true
	}
	var unknown []string
	for name := range baselines {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return exit.Usagef("baseline given for %q, but the delta holds "+
			"no such image (it holds %s)", unknown[0], imageNames(sc))
	}
	return nil
}

func imageNames(sc *delta.Sidecar) string {
	s := ""
	for i, img := range sc.Images {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", img.Name)
	}
	return s
}

func plan(ctx context.Context, a *delta.Archive, img delta.Image,
	opts Options, log *slog.Logger) (any, error) {

	spec, ok := opts.Baselines[img.Name]
	if !ok {
		if opts.Strict {
			return nil, exit.Usagef("image %q: no baseline given "+
				"(--strict); it was made against %s", img.Name,
				img.Baseline.Source)
		}
		log.Warn(img.Name + ": skipped: no baseline given (--strict " +
			"makes this an error)")
		return record.Skip{Kind: record.KindSkip, Name: img.Name,
			Reason: "no baseline given"}, nil
	}

	path, selector := image.SplitRef(spec)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, exit.IO(err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return nil, exit.Usagef("baseline of %q: %s: no such file or "+
			"directory", img.Name, path)
	}
	base, selector, err := openBaseline(ctx, abs, selector, img, opts)
	if err != nil {
		return nil, fmt.Errorf("baseline of %q: %w", img.Name, err)
	}
	defer base.Close()
	have := base.Image()
	if opts.Platform != "" && !image.PlatformMatches(opts.Platform,
		have.Platform) {
		return nil, exit.Usagef("baseline of %q: %s is %s, not %s",
			img.Name, path, have.Platform, opts.Platform)
	}
	if have.Config.Digest != img.Baseline.Config.Digest {
		return nil, exit.Usagef("wrong baseline for %q: %s is manifest %s "+
			"(config %s), the delta was made against manifest %s "+
			"(config %s, from %s)", img.Name, path, have.Manifest.Digest,
			have.Config.Digest, img.Baseline.Manifest.Digest,
			img.Baseline.Config.Digest, img.Baseline.Source)
	}

	rec := record.Assembly{Kind: record.KindAssembly, Name: img.Name,
		Delta: a.Path, Target: img.Target,
		Baseline: &record.Source{Path: abs, Selector: selector,
			Platform: have.Platform}}
	stored := map[digest.Digest]delta.Blob{}
	for _, b := range a.Sidecar.Blobs {
		stored[b.Digest] = b
	}
	fromBaseline := map[digest.Digest]bool{}
	for _, d := range img.Baseline.Blobs {
		fromBaseline[d] = true
	}
	for _, d := range img.Blobs {
		// A blob this baseline holds comes from it, even when the delta
		// stores it for another image (perhaps as a patch against a
		// layer this baseline lacks).
		if b, ok := stored[d]; ok && !fromBaseline[d] {
			loc, _ := a.Location(b.Stored)
			rec.Blobs = append(rec.Blobs, record.AssemblyBlob{
				Digest: d, Size: b.Size, From: record.FromDelta,
				Encoding: b.Encoding, Codec: b.Codec,
				PatchRef: b.PatchRef, Stored: b.Stored,
				Offset: loc.Offset, StoredSize: b.StoredSize})
			continue
		}
		if !fromBaseline[d] || base.BlobMember(d) == "" {
			// The right image (its config matched) stored otherwise, as
			// another format or compression: not the archive the delta
			// was made against.
			return nil, exit.Usagef("wrong baseline for %q: %s holds the "+
				"image (config %s) but not its blob %s as the delta was "+
				"made against %s (manifest %s): give that archive",
				img.Name, path, have.Config.Digest, d,
				img.Baseline.Source, img.Baseline.Manifest.Digest)
		}
		rec.Blobs = append(rec.Blobs, record.AssemblyBlob{Digest: d,
			Size: blobSize(img.Target, d), From: record.FromBaseline})
	}
	log.Info("image", "name", img.Name, "baseline", abs,
		"blobs", len(rec.Blobs))
	return rec, nil
}

// openBaseline opens the consumer's baseline. When the archive holds
// several images or platforms and the user named none, the delta knows
// which: it tries the target's platform, then the baseline's config and
// manifest digests as selectors. It returns the selector it used.
func openBaseline(ctx context.Context, path, selector string,
	img delta.Image, opts Options) (*image.Archive, string, error) {

	open := func(sel, platform string) (*image.Archive, error) {
		return image.Open(ctx, path, image.OpenOptions{Selector: sel,
			Platform: platform, TempDir: opts.TempDir})
	}
	a, err := open(selector, opts.Platform)
	if err == nil || exit.Code(err) != exit.UsageErr || selector != "" ||
		opts.Platform != "" {
		return a, selector, err
	}
	tries := []struct{ selector, platform string }{
		{"", img.Target.Platform},
		{string(img.Baseline.Manifest.Digest), img.Target.Platform},
		{string(img.Baseline.Config.Digest), img.Target.Platform},
	}
	for _, try := range tries {
		if a, err2 := open(try.selector, try.platform); err2 == nil {
			return a, try.selector, nil
		}
	}
	return nil, "", err
}

// blobSize returns the size the target's descriptors give d, or -1.
func blobSize(t delta.Target, d digest.Digest) int64 {
	if t.Config.Digest == d {
		return t.Config.Size
	}
	if t.Manifest.Digest == d {
		return t.Manifest.Size
	}
	for _, l := range t.Layers {
		if l.Digest == d {
			return l.Size
		}
	}
	return -1
}
