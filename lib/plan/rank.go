package plan

import (
	"sort"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

// Fingerprints holds what the fingerprint records say about layers: the
// content digests and sizes of each layer's regular files, and whether
// the layer is a tar at all.
type Fingerprints struct {
	layers  map[digest.Digest]*record.Layer
	content map[digest.Digest]map[digest.Digest]int64
}

// NewFingerprints returns an empty set.
func NewFingerprints() *Fingerprints {
	return &Fingerprints{layers: map[digest.Digest]*record.Layer{},
		content: map[digest.Digest]map[digest.Digest]int64{}}
}

// Add records an entry or layer record; other kinds are ignored.
func (f *Fingerprints) Add(raw *record.Raw, inName string) error {
	switch raw.Kind {
	case record.KindEntry:
		var e record.Entry
		if err := raw.Decode(inName, &e); err != nil {
			return err
		}
		if e.Digest == "" || e.Size <= 0 {
			return nil
		}
		if e.Layer.Validate() != nil || e.Digest.Validate() != nil {
			return exit.Contentf("%s: line %d: entry digests must be "+
				"valid", inName, raw.Line)
		}
		files := f.content[e.Layer]
		if files == nil {
			files = map[digest.Digest]int64{}
			f.content[e.Layer] = files
		}
		files[e.Digest] = e.Size
	case record.KindLayer:
		l := new(record.Layer)
		if err := raw.Decode(inName, l); err != nil {
			return err
		}
		f.layers[l.Digest] = l
	}
	return nil
}

// overlap returns the bytes of file content layers a and b share.
func (f *Fingerprints) overlap(a, b digest.Digest) int64 {
	if la := f.layers[a]; la == nil || !la.Tar {
		return 0
	}
	if lb := f.layers[b]; lb == nil || !lb.Tar {
		return 0
	}
	small, large := f.content[a], f.content[b]
	if len(small) > len(large) {
		small, large = large, small
	}
	var shared int64
	for d, size := range small {
		if _, ok := large[d]; ok {
			shared += size
		}
	}
	return shared
}

// Rank orders candidate baseline layers for the target layer: by shared
// content bytes, then closest size, then digest. When no candidate
// shares anything (the target is not a tar, nothing was fingerprinted,
// or nothing is shared) the order is closest size, then digest. It
// returns at most k candidates.
func (f *Fingerprints) Rank(target digest.Digest, targetSize int64,
	candidates []record.Candidate, k int) []record.Candidate {

	ranked := append([]record.Candidate(nil), candidates...)
	for i := range ranked {
		ranked[i].Overlap = f.overlap(target, ranked[i].Digest)
	}
	distance := func(c record.Candidate) int64 {
		d := c.Size - targetSize
		if d < 0 {
			return -d
		}
		return d
	}
	sort.SliceStable(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if a.Overlap != b.Overlap {
			return a.Overlap > b.Overlap
		}
		if distance(a) != distance(b) {
			return distance(a) < distance(b)
		}
		return a.Digest < b.Digest
	})
	if len(ranked) > k {
		ranked = ranked[:k]
	}
	return ranked
}
