package image

import (
	_ "crypto/sha256" // registers the hash go-digest needs
	"fmt"
	"hash"
	"io"
	"path"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/go-digest"
)

// validateDigest accepts only a well-formed sha256 digest: lowercase hex
// of the right length, so it is safe to use in a member name.
func validateDigest(d digest.Digest) error {
	alg, _, ok := strings.Cut(string(d), ":")
	if !ok {
		return fmt.Errorf("digest %q: no algorithm", string(d))
	}
	if alg != string(digest.SHA256) {
		return fmt.Errorf("digest %q: algorithm %s, want sha256",
			string(d), alg)
	}
	parsed, err := digest.Parse(string(d))
	if err != nil {
		return fmt.Errorf("digest %q: %w", string(d), err)
	}
	if parsed.Algorithm() != digest.SHA256 {
		return fmt.Errorf("digest %q: algorithm %s, want sha256",
			string(d), parsed.Algorithm())
	}
	return nil
}

// blobPath is the OCI layout path of a validated digest.
func blobPath(d digest.Digest) string {
	return "blobs/" + string(d.Algorithm()) + "/" + d.Encoded()
}

// digestFromName returns the digest spelled by a member name of the form
// blobs/sha256/<hex> or <dir>/<hex>.tar, or "".
func digestFromName(name string) digest.Digest {
	dir, base := path.Split(name)
	var encoded string
	switch {
	case dir == "blobs/sha256/":
		encoded = base
	case strings.HasSuffix(base, ".tar"):
		encoded = strings.TrimSuffix(base, ".tar")
	default:
		return ""
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, encoded)
	if validateDigest(d) != nil {
		return ""
	}
	return d
}

// configDigestFromName returns the digest spelled by a config member
// named blobs/sha256/<hex> or <hex>.json, or "".
func configDigestFromName(name string) digest.Digest {
	dir, base := path.Split(name)
	encoded, ok := strings.CutSuffix(base, ".json")
	if !ok && dir != "blobs/sha256/" {
		return ""
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, encoded)
	if validateDigest(d) != nil {
		return ""
	}
	return d
}

// blobRef says where one blob of the image is stored.
type blobRef struct {
	member string // resolved member name; "" for an in-memory blob
	size   int64
	data   []byte // the bytes of an in-memory blob
}

// verifyingReader hashes what it reads and, at EOF, fails with a content
// error if the size or digest differ from what was expected.
type verifyingReader struct {
	r     io.Reader
	c     io.Closer
	what  string // for messages: "v1.tar: blob sha256:… (member …)"
	want  digest.Digest
	size  int64
	n     int64
	h     hash.Hash
	err   error
	ended bool
}

func newVerifyingReader(rc io.ReadCloser, what string, want digest.Digest,
	size int64) *verifyingReader {
	return &verifyingReader{r: rc, c: rc, what: what, want: want,
		size: size, h: want.Algorithm().Hash()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.size {
		v.err = exit.Contentf("%s: more than %d bytes", v.what, v.size)
		return n, v.err
	}
	if err == io.EOF {
		v.err = v.check()
		return n, v.err
	}
	if err != nil {
		return n, exit.IO(fmt.Errorf("read %s: %w", v.what, err))
	}
	return n, nil
}

func (v *verifyingReader) check() error {
	if v.n != v.size {
		return exit.Contentf("%s: %d bytes, want %d", v.what, v.n, v.size)
	}
	got := digest.NewDigest(v.want.Algorithm(), v.h)
	if got != v.want {
		return exit.Contentf("%s: digest %s, want %s", v.what, got,
			v.want)
	}
	return io.EOF
}

func (v *verifyingReader) Close() error {
	return v.c.Close()
}
