package image

import (
	"io"

	"github.com/diffah/diffah/lib/exit"
)

// Bounds on how far a compressed blob may expand. Deflate cannot expand
// past about 1032:1; zstd can go further, but real layers do not.
const (
	// MaxExpansion is how many times its stored size a blob may expand.
	MaxExpansion = 2048
	// ExpansionMargin is added to every limit, for small blobs.
	ExpansionMargin = 64 << 20
	// MaxExpanded caps any decompressed blob, whatever its size.
	MaxExpanded = 256 << 30
)

// ExpansionLimit returns how many decompressed bytes a blob of stored
// size may give before it is taken for a decompression bomb.
func ExpansionLimit(stored int64) int64 {
	if stored < 0 {
		stored = 0
	}
	if stored > (MaxExpanded-ExpansionMargin)/MaxExpansion {
		return MaxExpanded
	}
	return min(stored*MaxExpansion+ExpansionMargin, MaxExpanded)
}

// LimitExpansion returns a reader of r that fails with a content error
// (exit 4) naming what once more than limit bytes come out of it.
func LimitExpansion(r io.Reader, what string, limit int64) io.Reader {
	return &expansionLimiter{r: r, what: what, left: limit, limit: limit}
}

type expansionLimiter struct {
	r     io.Reader
	what  string
	left  int64
	limit int64
}

func (l *expansionLimiter) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, l.err()
	}
	return n, err
}

func (l *expansionLimiter) err() error {
	return exit.Contentf("%s: decompresses to more than %d bytes: "+
		"refusing a likely decompression bomb", l.what, l.limit)
}
