package delta

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/outpath"
	digest "github.com/opencontainers/go-digest"
)

// Member is a blob to store: its own digest and size, and how to read it.
type Member struct {
	Digest digest.Digest
	Size   int64
	Open   func() (io.ReadCloser, error)
}

// Written describes a finished delta archive.
type Written struct {
	Size   int64
	SHA256 digest.Digest
}

// Write writes the delta archive at path: the sidecar, then one member
// per distinct digest in digest order, each verified while it is copied.
// It writes to a temporary file beside path and renames it at the end,
// so path holds either the whole archive or nothing new. mtime stamps
// every header (the zero time for reproducible archives).
func Write(path string, sc *Sidecar, members []Member,
	mtime time.Time) (*Written, error) {

	sidecar, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding sidecar: %w", err)
	}
	members = uniqueSorted(members)

	// The archive is written beside path and renamed over it at the end.
	tmp, err := outpath.Pending(path)
	if err != nil {
		return nil, err
	}
	defer tmp.Cleanup()

	h := sha256.New()
	counter := &digestio.CountingWriter{W: io.MultiWriter(tmp, h)}
	tw := tar.NewWriter(counter)
	sum := map[string]string{PAXSidecarSHA256: digest.FromBytes(sidecar).
		Encoded()}
	if err := writeMember(tw, SidecarName, int64(len(sidecar)), mtime, sum,
		bytesOpener(sidecar)); err != nil {
		return nil, err
	}
	for _, m := range members {
		open := func() (io.ReadCloser, error) {
			rc, err := m.Open()
			if err != nil {
				return nil, err
			}
			name := "blob " + string(m.Digest)
			return digestio.NewReader(rc, name, m.Digest, m.Size), nil
		}
		err := writeMember(tw, MemberName(m.Digest), m.Size, mtime, nil,
			open)
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, exit.IO(fmt.Errorf("writing %s: %w", path, err))
	}
	if err := tmp.CloseAtomicallyReplace(); err != nil {
		return nil, exit.IO(fmt.Errorf("writing %s: %w", path, err))
	}
	return &Written{Size: counter.N,
		SHA256: digest.NewDigest(digest.SHA256, h)}, nil
}

func uniqueSorted(members []Member) []Member {
	seen := map[digest.Digest]bool{}
	var out []Member
	for _, m := range members {
		if !seen[m.Digest] {
			seen[m.Digest] = true
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out
}

// maxUSTARSize is the largest size a USTAR header holds (11 octal digits).
const maxUSTARSize = 1<<33 - 1

func writeMember(tw *tar.Writer, name string, size int64, mtime time.Time,
	pax map[string]string, open func() (io.ReadCloser, error)) error {

	hdr := &tar.Header{
		Typeflag:   tar.TypeReg,
		Name:       name,
		Size:       size,
		Mode:       0o644,
		ModTime:    mtime,
		Format:     tar.FormatUSTAR,
		PAXRecords: pax,
	}
	// USTAR holds sizes below 8 GiB; a larger blob takes a PAX size
	// record, which every tar reader of the last twenty years knows.
	if pax != nil || size > maxUSTARSize {
		hdr.Format = tar.FormatPAX
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return exit.IO(fmt.Errorf("writing member %s: %w", name, err))
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("member %s: %w", name, err)
	}
	defer rc.Close()
	if _, err := io.Copy(tw, rc); err != nil {
		if errors.Is(err, tar.ErrWriteTooLong) {
			// The content outgrew the size it was declared with: the
			// plan's size is wrong, or the blob changed since.
			return exit.Contentf("member %s: content longer than the %d "+
				"bytes declared for it", name, size)
		}
		return fmt.Errorf("member %s: %w", name, err)
	}
	return nil
}

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}
