// Package digestio checks and counts content while it streams.
package digestio

import (
	"errors"
	"fmt"
	"io"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
)

// Reader passes bytes through and, at EOF, returns a content error
// (exit 4) instead of io.EOF when they do not have the expected size or
// digest. It never returns more than size bytes.
type Reader struct {
	r        io.Reader
	closer   io.Closer
	name     string
	want     digest.Digest
	size     int64
	n        int64
	verifier digest.Verifier
	err      error
}

// NewReader verifies r against want and size; name (a file and member)
// is used in errors. size < 0 skips the size check. Close closes r when
// it is an io.Closer.
func NewReader(r io.Reader, name string, want digest.Digest,
	size int64) *Reader {

	closer, _ := r.(io.Closer)
	v := &Reader{r: r, closer: closer, name: name, want: want, size: size}
	if err := want.Validate(); err != nil {
		// Verifier panics on an unknown algorithm: refuse up front.
		v.err = exit.Contentf("%s: digest %q: %v", name, want, err)
		return v
	}
	v.verifier = want.Verifier()
	return v
}

func (v *Reader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	// One byte past size is read to tell a longer stream; left+1 would
	// overflow when size is the largest int64.
	if left := v.size - v.n; v.size >= 0 && left < int64(len(p))-1 {
		p = p[:left+1]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.verifier.Write(p[:n])
	if v.size >= 0 && v.n > v.size {
		v.err = exit.Contentf("%s: longer than %d bytes", v.name, v.size)
		return n, v.err
	}
	if errors.Is(err, io.EOF) {
		v.err = v.check()
		return n, v.err
	}
	if err != nil {
		v.err = fmt.Errorf("reading %s: %w", v.name, err)
		return n, v.err
	}
	return n, nil
}

func (v *Reader) check() error {
	if v.size >= 0 && v.n != v.size {
		return exit.Contentf("%s: %d bytes, want %d", v.name, v.n, v.size)
	}
	if !v.verifier.Verified() {
		return exit.Contentf("%s: content does not match digest %s",
			v.name, v.want)
	}
	return io.EOF
}

// Close closes the underlying reader.
func (v *Reader) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}
