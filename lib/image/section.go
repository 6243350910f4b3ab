package image

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
)

// BlobReaderAt gives random access to the stored bytes of blob d, as a
// patch encoder or decoder needs. It first reads the bytes once to check
// their digest and size, so what it returns is verified. The caller
// closes the returned Closer; the ReaderAt is safe for concurrent use.
func (a *Archive) BlobReaderAt(d digest.Digest) (io.ReaderAt, int64,
	io.Closer, error) {

	ref, ok := a.blobs[d]
	if !ok {
		return nil, 0, nil, exit.Content(fmt.Errorf("%s: %s: %w", a.Path,
			d, ErrBlobNotFound))
	}
	ra, size, closer, err := a.blobAt(ref)
	if err != nil {
		return nil, 0, nil, err
	}
	what := fmt.Sprintf("%s: blob %s", a.Path, d)
	check := newVerifyingReader(io.NopCloser(io.NewSectionReader(ra, 0,
		size)), what, d, ref.size)
	if _, err := io.Copy(io.Discard, check); err != nil {
		closer.Close()
		return nil, 0, nil, err
	}
	return ra, size, closer, nil
}

func (a *Archive) blobAt(ref blobRef) (io.ReaderAt, int64, io.Closer,
	error) {

	if ref.member == "" {
		return bytes.NewReader(ref.data), int64(len(ref.data)),
			io.NopCloser(nil), nil
	}
	rc, resolved, size, err := a.src.open(ref.member)
	if err != nil {
		return nil, 0, nil, memberError(a.Path, ref.member, err)
	}
	if ra, ok := rc.(io.ReaderAt); ok {
		return ra, size, rc, nil
	}
	rc.Close()
	for _, e := range a.entries {
		if e.Name != resolved {
			continue
		}
		f, err := os.Open(a.tarPath)
		if err != nil {
			return nil, 0, nil, exit.IO(err)
		}
		return io.NewSectionReader(f, e.Offset, size), size, f, nil
	}
	return nil, 0, nil, exit.Contentf("%s: member %s: not found in the "+
		"index", a.Path, resolved)
}
