// Package plan implements diffah-plan: for every blob of every target
// image it decides whether the consumer's baseline already has it or it
// ships.
//
// It reads fingerprint records, passes every record through unchanged
// (header aside), and after its input ends writes one blob record per
// distinct target blob, in the order the blobs first appear (images by
// name, then archive order). A blob used by several images of a bundle
// is decided once: it ships if any of those images' baselines lacks it.
package plan

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tool names this stage in the records' header.
const Tool = "diffah-plan"

// Intra-layer patch modes.
const (
	IntraOff      = "off"
	IntraAuto     = "auto"
	IntraRequired = "required"
)

// DefaultCandidates is how many baseline layers a patch decision names.
const DefaultCandidates = 3

// Options tune Run.
type Options struct {
	// IntraLayer is off, auto or required. The patch codec is built in,
	// so auto and required both plan patches; "" means auto.
	IntraLayer string
	// Candidates is how many ranked baseline layers each patch decision
	// names (0 means DefaultCandidates).
	Candidates int
	Logger     *slog.Logger
}

// Pair is a baseline and a target image of one name.
type Pair struct {
	Name     string
	Baseline *record.Image
	Target   *record.Image
}

// Run reads records from in (named inName in errors) and writes the
// plan to out.
func Run(ctx context.Context, in io.Reader, inName string, out io.Writer,
	opts Options) error {

	w, err := record.NewWriter(out, Tool)
	if err != nil {
		return err
	}
	switch opts.IntraLayer {
	case "", IntraAuto, IntraRequired, IntraOff:
	default:
		return exit.Usagef("--intra-layer %q: want off, auto or required",
			opts.IntraLayer)
	}
	if opts.Candidates < 0 {
		return exit.Usagef("--candidates %d: want 1 or more",
			opts.Candidates)
	}
	fp := NewFingerprints()
	pairs, err := ReadPairs(ctx, record.NewReader(in, inName), inName,
		func(raw *record.Raw) error {
			if err := fp.Add(raw, inName); err != nil {
				return err
			}
			return w.WriteRaw(raw.Data)
		})
	if err != nil {
		return err
	}
	blobs := Decide(pairs)
	if opts.IntraLayer != IntraOff {
		k := opts.Candidates
		if k == 0 {
			k = DefaultCandidates
		}
		Patches(pairs, blobs, fp, k)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, b := range blobs {
		log.Info("blob", "digest", b.Digest, "size", b.Size,
			"decision", b.Decision, "images", b.Images)
		if err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadPairs reads every record, hands each to pass (which may be nil),
// and returns the images grouped into pairs sorted by name. An image
// record without name, path, manifest or config, with a name
// delta.ValidName refuses, or a second baseline or target for a name, is
// a content error naming the line; so is a name without both a baseline
// and a target.
func ReadPairs(ctx context.Context, r *record.Reader, inName string,
	pass func(*record.Raw) error) ([]Pair, error) {

	byName := map[string]*Pair{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if pass != nil {
			if err := pass(raw); err != nil {
				return nil, err
			}
		}
		if raw.Kind != record.KindImage {
			continue
		}
		img := new(record.Image)
		if err := raw.Decode(inName, img); err != nil {
			return nil, err
		}
		if err := addImage(byName, img, inName, raw.Line); err != nil {
			return nil, err
		}
	}

	var pairs []Pair
	for name, p := range byName {
		if p.Baseline == nil || p.Target == nil {
			return nil, exit.Contentf("%s: image %q has no %s record",
				inName, name, missingRole(p))
		}
		pairs = append(pairs, *p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		return pairs[i].Name < pairs[j].Name
	})
	return pairs, nil
}

func addImage(byName map[string]*Pair, img *record.Image, inName string,
	line int) error {

	if img.Name == "" || img.Manifest.Digest == "" ||
		img.Config.Digest == "" || img.Path == "" {
		return exit.Contentf("%s: line %d: image record needs name, path, "+
			"manifest and config", inName, line)
	}
	if err := delta.CheckName(img.Name); err != nil {
		return exit.Content(fmt.Errorf("%s: line %d: %w", inName, line,
			err))
	}
	p := byName[img.Name]
	if p == nil {
		p = &Pair{Name: img.Name}
		byName[img.Name] = p
	}
	var slot **record.Image
	switch img.Role {
	case record.RoleBaseline:
		slot = &p.Baseline
	case record.RoleTarget:
		slot = &p.Target
	default:
		return exit.Contentf("%s: line %d: role %q, want %q or %q", inName,
			line, img.Role, record.RoleBaseline, record.RoleTarget)
	}
	if *slot != nil {
		return exit.Contentf("%s: line %d: second %s image for %q", inName,
			line, img.Role, img.Name)
	}
	*slot = img
	return nil
}

func missingRole(p *Pair) string {
	if p.Baseline == nil {
		return record.RoleBaseline
	}
	return record.RoleTarget
}

// BaselineBlobs returns the blobs a consumer's baseline image can supply:
// its manifest, config and layers.
func BaselineBlobs(img *record.Image) map[digest.Digest]bool {
	have := map[digest.Digest]bool{img.Manifest.Digest: true,
		img.Config.Digest: true}
	for _, l := range img.Layers {
		have[l.Digest] = true
	}
	return have
}

// Decide returns one blob record per distinct target blob.
func Decide(pairs []Pair) []record.Blob {
	var order []digest.Digest
	blobs := map[digest.Digest]*record.Blob{}
	for _, p := range pairs {
		have := BaselineBlobs(p.Baseline)
		types := mediaTypes(p.Target)
		for _, m := range p.Target.Members {
			b := blobs[m.Digest]
			if b == nil {
				b = &record.Blob{
					Kind: record.KindBlob, Digest: m.Digest, Size: m.Size,
					MediaType: types[m.Digest],
					Decision:  record.DecisionBaseline,
					Source: &record.Source{Path: p.Target.Path,
						Selector: p.Target.Selector,
						Platform: p.Target.Platform, Member: m.Name,
						Offset: m.Offset},
				}
				blobs[m.Digest] = b
				order = append(order, m.Digest)
			}
			if !have[m.Digest] {
				b.Decision = record.DecisionFull
			}
			if !slices.Contains(b.Images, p.Name) {
				b.Images = append(b.Images, p.Name)
			}
		}
	}

	out := make([]record.Blob, 0, len(order))
	for _, d := range order {
		out = append(out, *blobs[d])
	}
	return out
}

// Patches turns the full decisions for target layers into patch
// decisions with up to k ranked candidates. A layer used by several
// images may be patched only against a baseline layer that every one of
// those images' baselines holds; with none, it stays full.
func Patches(pairs []Pair, blobs []record.Blob, fp *Fingerprints, k int) {
	byName := map[string]Pair{}
	for _, p := range pairs {
		byName[p.Name] = p
	}
	for i := range blobs {
		b := &blobs[i]
		if b.Decision != record.DecisionFull || !isLayer(b, byName) {
			continue
		}
		cands := commonBaselineLayers(b.Images, byName)
		if len(cands) == 0 {
			continue
		}
		b.Decision = record.DecisionPatch
		b.Candidates = fp.Rank(b.Digest, b.Size, cands, k)
	}
}

// isLayer reports whether b is a layer of an image using it.
func isLayer(b *record.Blob, byName map[string]Pair) bool {
	for _, name := range b.Images {
		for _, l := range byName[name].Target.Layers {
			if l.Digest == b.Digest {
				return true
			}
		}
	}
	return false
}

// commonBaselineLayers lists the baseline layers every named image's
// baseline holds, each located in the first image's baseline.
func commonBaselineLayers(names []string,
	byName map[string]Pair) []record.Candidate {

	first := byName[names[0]].Baseline
	var out []record.Candidate
	seen := map[digest.Digest]bool{}
	for _, l := range first.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		inAll := true
		for _, name := range names[1:] {
			inAll = inAll && BaselineBlobs(byName[name].Baseline)[l.Digest]
		}
		if inAll {
			out = append(out, record.Candidate{Digest: l.Digest,
				Size: l.Size, Source: record.Source{Path: first.Path,
					Selector: first.Selector, Platform: first.Platform}})
		}
	}
	return out
}

func mediaTypes(img *record.Image) map[digest.Digest]string {
	types := map[digest.Digest]string{}
	for _, d := range append([]ocispec.Descriptor{img.Manifest, img.Config},
		img.Layers...) {
		types[d.Digest] = d.MediaType
	}
	return types
}
