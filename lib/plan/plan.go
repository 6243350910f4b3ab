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
	"io"
	"log/slog"
	"slices"
	"sort"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tool names this stage in the records' header.
const Tool = "diffah-plan"

// Options tune Run.
type Options struct {
	Logger *slog.Logger
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
	pairs, err := ReadPairs(ctx, record.NewReader(in, inName), inName,
		func(raw *record.Raw) error { return w.WriteRaw(raw.Data) })
	if err != nil {
		return err
	}
	for _, b := range Decide(pairs) {
		if err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadPairs reads every record, hands each to pass (which may be nil),
// and returns the images grouped into pairs sorted by name. A name
// without both a baseline and a target, or with two of either, is a
// content error naming the line.
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
						Selector: p.Target.Selector, Member: m.Name,
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

func mediaTypes(img *record.Image) map[digest.Digest]string {
	types := map[digest.Digest]string{}
	for _, d := range append([]ocispec.Descriptor{img.Manifest, img.Config},
		img.Layers...) {
		types[d.Digest] = d.MediaType
	}
	return types
}
