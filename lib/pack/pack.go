// Package pack implements diffah-pack: it writes the delta archive that
// a plan describes.
//
// It reads plan records (the image records of every pair and the blob
// decisions), checks each decision against the baseline image records
// (a blob left to the baseline, or a patch reference, must be one the
// baseline of every image using it holds), records each target
// archive's skeleton, and writes the archive: the sidecar first, then
// every shipped blob once, named by digest. On stdout it writes a stored record per member, then a
// summary. Records it does not consume pass through.
package pack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/skeleton"
	"github.com/diffah/diffah/lib/version"
	digest "github.com/opencontainers/go-digest"
)

// Tool names this stage in the records' header.
const Tool = "diffah-pack"

// Options tune Run.
type Options struct {
	// Workers is how many patches are encoded at once; 0 means one per
	// core. The archive is the same whatever the count.
	Workers int
	TempDir string
	Logger  *slog.Logger
}

// maxEpoch is the latest SOURCE_DATE_EPOCH a USTAR header can hold (11
// octal digits), in the year 2242.
const maxEpoch = 1<<33 - 1

// CheckSourceDateEpoch refuses a SOURCE_DATE_EPOCH that is not a time
// a tar header can hold, as a usage error.
func CheckSourceDateEpoch() error {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec < 0 || sec > maxEpoch {
		return exit.Usagef("SOURCE_DATE_EPOCH %q: want seconds since "+
			"1970, 0 to %d", v, maxEpoch)
	}
	return nil
}

// Run reads a plan from in and writes the delta archive at output.
func Run(ctx context.Context, in io.Reader, inName, output string,
	out io.Writer, opts Options) error {

	if err := CheckSourceDateEpoch(); err != nil {
		return err
	}
	w, err := record.NewWriter(out, Tool)
	if err != nil {
		return err
	}
	var blobs []record.Blob
	var lines []int // the line of each blob record
	pass := func(raw *record.Raw) error {
		switch raw.Kind {
		case record.KindBlob:
			var b record.Blob
			if err := raw.Decode(inName, &b); err != nil {
				return err
			}
			if err := checkBlob(&b, inName, raw.Line); err != nil {
				return err
			}
			blobs = append(blobs, b)
			lines = append(lines, raw.Line)
		case record.KindImage, record.KindEntry, record.KindLayer:
		default:
			return w.WriteRaw(raw.Data)
		}
		return nil
	}
	pairs, err := plan.ReadPairs(ctx, record.NewReader(in, inName), inName,
		pass)
	if err != nil {
		return err
	}
	if err := checkDecisions(pairs, blobs, lines, inName); err != nil {
		return err
	}

	p := &packer{opts: opts, archives: map[string]*image.Archive{}}
	defer p.close()
	written, sc, err := p.pack(ctx, pairs, blobs, output)
	if err != nil {
		return err
	}
	return report(w, sc, written, output)
}

func checkBlob(b *record.Blob, inName string, line int) error {
	if err := b.Digest.Validate(); err != nil {
		return exit.Contentf("%s: line %d: blob digest %q: %v", inName,
			line, b.Digest, err)
	}
	if b.Size < 0 {
		return exit.Contentf("%s: line %d: blob %s: size %d, want 0 or "+
			"more", inName, line, b.Digest, b.Size)
	}
	switch b.Decision {
	case record.DecisionBaseline:
	case record.DecisionFull:
		if b.Source == nil || b.Source.Path == "" || b.Source.Member == "" {
			return exit.Contentf("%s: line %d: blob %s ships but has no "+
				"source", inName, line, b.Digest)
		}
	case record.DecisionPatch:
		if b.Source == nil || b.Source.Path == "" ||
			len(b.Candidates) == 0 {
			return exit.Contentf("%s: line %d: patch %s needs a source "+
				"and candidates", inName, line, b.Digest)
		}
		for _, c := range b.Candidates {
			if c.Digest.Validate() != nil || c.Source.Path == "" {
				return exit.Contentf("%s: line %d: patch %s: candidate "+
					"%q needs a valid digest and a source path", inName,
					line, b.Digest, c.Digest)
			}
		}
	default:
		return exit.Contentf("%s: line %d: blob %s: decision %q, want "+
			"%q, %q or %q", inName, line, b.Digest, b.Decision,
			record.DecisionBaseline, record.DecisionFull,
			record.DecisionPatch)
	}
	return nil
}

// checkDecisions checks each decision against the baselines of the
// images whose targets hold the blob, as the image records describe
// them: a blob decided "baseline" must be the manifest, the config or a
// layer of every one of those baselines (what the consumer is asked to
// supply), and every candidate of a "patch" must be a layer of each.
// An edited plan would otherwise give a delta that every consumer
// refuses, after the air gap, as made against another baseline.
func checkDecisions(pairs []plan.Pair, blobs []record.Blob, lines []int,
	inName string) error {

	// held and layers are each baseline's blobs; users lists, per
	// target blob, the pairs whose target holds it.
	held := make([]map[digest.Digest]bool, len(pairs))
	layers := make([]map[digest.Digest]bool, len(pairs))
	users := map[digest.Digest][]int{}
	for i, pair := range pairs {
		held[i] = plan.BaselineBlobs(pair.Baseline)
		layers[i] = map[digest.Digest]bool{}
		for _, l := range pair.Baseline.Layers {
			layers[i][l.Digest] = true
		}
		seen := map[digest.Digest]bool{}
		for _, m := range pair.Target.Members {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				users[m.Digest] = append(users[m.Digest], i)
			}
		}
	}

	for i, b := range blobs {
		for _, u := range users[b.Digest] {
			pair := pairs[u]
			switch b.Decision {
			case record.DecisionBaseline:
				if !held[u][b.Digest] {
					return exit.Contentf("%s: line %d: blob %s: decision "+
						"%q, but it is not the manifest, config or a "+
						"layer of the baseline of %q (%s)", inName,
						lines[i], b.Digest, b.Decision, pair.Name,
						pair.Baseline.Path)
				}
			case record.DecisionPatch:
				for _, c := range b.Candidates {
					if !layers[u][c.Digest] {
						return exit.Contentf("%s: line %d: blob %s: "+
							"patch candidate %s is not a layer of the "+
							"baseline of %q (%s)", inName, lines[i],
							b.Digest, c.Digest, pair.Name,
							pair.Baseline.Path)
					}
				}
			}
		}
	}
	return nil
}

type packer struct {
	opts     Options
	mu       sync.Mutex // guards archives
	archives map[string]*image.Archive
}

func (p *packer) log() *slog.Logger {
	if p.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.opts.Logger
}

// spooled is the delta member of a patch spooled to disk.
func spooled(e *encoded) delta.Member {
	return delta.Member{Digest: e.stored, Size: e.size,
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(e.path)
			return f, exit.IO(err)
		}}
}

func (p *packer) close() {
	for _, a := range p.archives {
		a.Close()
	}
}

// open opens each source archive once.
func (p *packer) open(ctx context.Context,
	src record.Source) (*image.Archive, error) {

	p.mu.Lock()
	defer p.mu.Unlock()
	key := src.Path + "@" + src.Selector + "@" + src.Platform
	if a := p.archives[key]; a != nil {
		return a, nil
	}
	a, err := image.Open(ctx, src.Path, image.OpenOptions{
		Selector: src.Selector, Platform: src.Platform,
		TempDir: p.opts.TempDir})
	if err != nil {
		return nil, err
	}
	p.archives[key] = a
	return a, nil
}

func (p *packer) pack(ctx context.Context, pairs []plan.Pair,
	blobs []record.Blob, output string) (*delta.Written, *delta.Sidecar,
	error) {

	if len(pairs) == 0 {
		return nil, nil, exit.Usagef("nothing to pack: no image pairs " +
			"in the plan")
	}
	var inputs []string
	for _, pair := range pairs {
		inputs = append(inputs, pair.Baseline.Path, pair.Target.Path)
	}
	if err := outpath.File(output, inputs...); err != nil {
		return nil, nil, err
	}
	sc := &delta.Sidecar{Version: delta.Version, Tool: version.Tool,
		ToolVersion: version.Version, Created: created()}
	patches, err := p.encodePatches(ctx, blobs)
	if err != nil {
		return nil, nil, err
	}
	defer removeSpool(patches)

	decided := map[digest.Digest]*record.Blob{}
	var members []delta.Member
	for i := range blobs {
		b := &blobs[i]
		decided[b.Digest] = b
		if e := patches[b.Digest]; e != nil {
			members = append(members, spooled(e))
			sc.Blobs = append(sc.Blobs, delta.Blob{Digest: b.Digest,
				Size: b.Size, MediaType: b.MediaType,
				Encoding: delta.EncodingPatch, Codec: delta.CodecPatchV1,
				PatchRef: e.ref, Stored: e.stored, StoredSize: e.size})
			continue
		}
		if b.Decision != record.DecisionFull {
			continue
		}
		m, err := p.member(ctx, b)
		if err != nil {
			return nil, nil, err
		}
		members = append(members, m)
		sc.Blobs = append(sc.Blobs, delta.Blob{Digest: b.Digest,
			Size: b.Size, MediaType: b.MediaType,
			Encoding: delta.EncodingFull, Stored: b.Digest,
			StoredSize: b.Size})
	}

	platforms := map[string]bool{}
	for _, pair := range pairs {
		img, skel, err := p.image(ctx, pair, decided, patches)
		if err != nil {
			return nil, nil, err
		}
		if skel != nil {
			members = append(members, *skel)
			sc.Blobs = append(sc.Blobs, delta.Blob{Digest: skel.Digest,
				Size: skel.Size, MediaType: skeleton.MediaType,
				Encoding: delta.EncodingFull, Stored: skel.Digest,
				StoredSize: skel.Size})
		}
		sc.Images = append(sc.Images, *img)
		platforms[pair.Target.Platform] = true
	}
	if len(platforms) == 1 {
		sc.Platform = pairs[0].Target.Platform
	}
	sort.Slice(sc.Blobs, func(i, j int) bool {
		return sc.Blobs[i].Digest < sc.Blobs[j].Digest
	})
	sc.Blobs = uniqueBlobs(sc.Blobs)
	if err := sc.Validate(); err != nil {
		return nil, nil, exit.Contentf("the plan gives an invalid "+
			"sidecar: %v", err)
	}

	written, err := delta.Write(output, sc, members, mtime())
	if err != nil {
		return nil, nil, err
	}
	return written, sc, nil
}

func uniqueBlobs(sorted []delta.Blob) []delta.Blob {
	out := sorted[:0]
	for i, b := range sorted {
		if i == 0 || b.Digest != sorted[i-1].Digest {
			out = append(out, b)
		}
	}
	return out
}

func (p *packer) member(ctx context.Context,
	b *record.Blob) (delta.Member, error) {

	a, err := p.open(ctx, *b.Source)
	if err != nil {
		return delta.Member{}, err
	}
	member := b.Source.Member
	return delta.Member{Digest: b.Digest, Size: b.Size,
		Open: func() (io.ReadCloser, error) {
			return a.OpenMember(member)
		}}, nil
}

// image builds the sidecar entry of one pair and, for a target that is a
// tar, the member holding its skeleton.
func (p *packer) image(ctx context.Context, pair plan.Pair,
	decided map[digest.Digest]*record.Blob,
	patches map[digest.Digest]*encoded) (*delta.Image, *delta.Member,
	error) {

	t, b := pair.Target, pair.Baseline
	img := &delta.Image{
		Name: pair.Name,
		Target: delta.Target{
			Manifest: t.Manifest, Config: t.Config, Layers: t.Layers,
			Tags: t.Tags, Platform: t.Platform, Format: t.Format,
			Compression: t.Compression, Source: filepath.Base(t.Path),
			ArchiveSize: t.ArchiveSize, ArchiveSHA256: t.ArchiveSHA256,
		},
		Baseline: delta.Baseline{Manifest: b.Manifest, Config: b.Config,
			Source: filepath.Base(b.Path)},
	}
	seen := map[digest.Digest]bool{}
	for _, m := range t.Members {
		if seen[m.Digest] {
			continue
		}
		seen[m.Digest] = true
		img.Blobs = append(img.Blobs, m.Digest)
		d := decided[m.Digest]
		if d == nil {
			return nil, nil, exit.Contentf("plan has no decision for "+
				"blob %s of image %q", m.Digest, pair.Name)
		}
		if d.Decision == record.DecisionBaseline {
			img.Baseline.Blobs = append(img.Baseline.Blobs, m.Digest)
		}
	}
	// The references of patches come from the baseline too.
	fromBaseline := map[digest.Digest]bool{}
	for _, d := range img.Baseline.Blobs {
		fromBaseline[d] = true
	}
	for _, d := range img.Blobs {
		e := patches[d]
		if e == nil || fromBaseline[e.ref] {
			continue
		}
		fromBaseline[e.ref] = true
		img.Baseline.Blobs = append(img.Baseline.Blobs, e.ref)
		if !seen[e.ref] {
			seen[e.ref] = true
			img.Blobs = append(img.Blobs, e.ref)
		}
	}

	if t.ArchiveSHA256 == "" {
		return img, nil, nil
	}
	a, err := p.open(ctx, record.Source{Path: t.Path,
		Selector: t.Selector, Platform: t.Platform})
	if err != nil {
		return nil, nil, err
	}
	sk, err := skeleton.Capture(a.TarPath(), t.Members, t.ArchiveSize,
		t.ArchiveSHA256)
	if err != nil {
		return nil, nil, err
	}
	if err := verifySkeleton(sk, a.TarPath(), t.Members); err != nil {
		return nil, nil, fmt.Errorf("image %q: %s: %w", pair.Name, t.Path,
			err)
	}
	encoded, err := sk.Encode()
	if err != nil {
		return nil, nil, err
	}
	d := digest.FromBytes(encoded)
	img.Target.Skeleton = d
	img.Blobs = append(img.Blobs, d)
	return img, &delta.Member{Digest: d, Size: int64(len(encoded)),
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(encoded)), nil
		}}, nil
}

// verifySkeleton replays the skeleton from the target file itself, so a
// record whose offsets or digests do not describe the file is caught by
// the producer, not after the air gap.
func verifySkeleton(sk *skeleton.Skeleton, tarPath string,
	members []record.Member) error {

	f, err := os.Open(tarPath)
	if err != nil {
		return exit.IO(err)
	}
	defer f.Close()
	at := map[digest.Digest]record.Member{}
	for _, m := range members {
		if _, ok := at[m.Digest]; !ok {
			at[m.Digest] = m
		}
	}
	open := func(d digest.Digest) (io.ReadCloser, error) {
		m := at[d]
		sr := io.NewSectionReader(f, m.Offset, m.Size)
		return digestio.NewReader(io.NopCloser(sr), "member "+m.Name, d,
			m.Size), nil
	}
	if err := sk.Replay(io.Discard, open); err != nil {
		return exit.Contentf("the records do not describe the archive "+
			"file: %v", err)
	}
	return nil
}

func report(w *record.Writer, sc *delta.Sidecar, written *delta.Written,
	output string) error {

	var targetBytes int64
	for _, img := range sc.Images {
		targetBytes += img.Target.ArchiveSize
	}
	for _, b := range sc.Blobs {
		rec := record.Stored{Kind: record.KindStored, Digest: b.Digest,
			Encoding: b.Encoding, Stored: b.Stored,
			StoredSize: b.StoredSize}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	abs, _ := filepath.Abs(output)
	return w.Write(record.Summary{Kind: record.KindSummary, Output: abs,
		Size: written.Size, SHA256: written.SHA256,
		Images: len(sc.Images), Blobs: len(sc.Blobs),
		TargetBytes: targetBytes})
}

// mtime is the time stamped on the archive's headers: the epoch, or
// SOURCE_DATE_EPOCH when set.
func mtime() time.Time {
	if sec, ok := sourceDateEpoch(); ok {
		return time.Unix(sec, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}

func created() string {
	if sec, ok := sourceDateEpoch(); ok {
		return time.Unix(sec, 0).UTC().Format(time.RFC3339)
	}
	return ""
}

func sourceDateEpoch() (int64, bool) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return 0, false
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	return sec, err == nil
}
