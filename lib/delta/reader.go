package delta

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
)

// Archive is an opened, structurally checked delta archive.
type Archive struct {
	Path    string
	Sidecar *Sidecar
	f       *os.File
	members map[digest.Digest]Location
}

// Location is where a stored member's bytes lie in the archive file.
type Location struct {
	Offset int64
	Size   int64
}

// Open reads the sidecar and the index of members, and checks that they
// agree: the sidecar comes first, every member is named
// blobs/sha256/<hex> with a valid digest, appears once, is listed in the
// sidecar with its size, every listed blob has a member, and the file
// goes on to the end-of-archive marker (a file cut short is refused even
// when every member is whole). It reads headers only; member digests are
// checked by Verify and OpenStored.
// The caller closes the Archive.
func Open(path string) (*Archive, error) {
	// The reader seeks to members: a pipe or a device will not do. The
	// check comes before the open, which would block on a FIFO.
	st, err := os.Stat(path)
	if err != nil {
		return nil, exit.IO(fmt.Errorf("opening delta: %w", err))
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, exit.IO(fmt.Errorf("opening delta: %w", err))
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(path)
	}
	a := &Archive{Path: path, f: f, members: map[digest.Digest]Location{}}
	if err := a.index(); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

func notRegular(path string) error {
	return exit.Usagef("%s: a delta archive must be a regular file (it is "+
		"read at offsets); save a piped one first", path)
}

// Close closes the archive file.
func (a *Archive) Close() error { return a.f.Close() }

func (a *Archive) index() error {
	cr := &countReader{f: a.f}
	tr := tar.NewReader(cr)

	hdr, err := tr.Next()
	if err != nil {
		return a.malformed("reading first member", err)
	}
	last, end := hdr.Name, dataEnd(cr.n, hdr)
	if clean(hdr.Name) != SidecarName {
		return exit.Contentf("%s: first member is %q, want %s: not a "+
			"diffah delta", a.Path, hdr.Name, SidecarName)
	}
	if hdr.Size > MaxSidecar {
		return exit.Contentf("%s: %s is %d bytes, limit %d", a.Path,
			SidecarName, hdr.Size, MaxSidecar)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return a.malformed("reading "+SidecarName, err)
	}
	want, ok := hdr.PAXRecords[PAXSidecarSHA256]
	if !ok {
		return exit.Contentf("%s: %s has no %s record in its header", a.Path,
			SidecarName, PAXSidecarSHA256)
	}
	if got := digest.FromBytes(data).Encoded(); got != want {
		return exit.Contentf("%s: %s is damaged: its SHA-256 is %s, its "+
			"header says %s", a.Path, SidecarName, got, want)
	}
	sc, err := ParseSidecar(data)
	if err != nil {
		return fmt.Errorf("%s: %w", a.Path, err)
	}
	a.Sidecar = sc

	listed := map[digest.Digest]int64{}
	for _, b := range sc.Blobs {
		listed[b.Stored] = b.StoredSize
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				// Cut inside the end-of-archive marker, if only zeros
				// follow the last member.
				if err := a.endMarker(end, last); err != nil {
					return err
				}
			}
			return a.malformed("reading members", err)
		}
		if err := a.addMember(hdr, cr.n, listed); err != nil {
			return err
		}
		last, end = hdr.Name, dataEnd(cr.n, hdr)
	}
	if err := a.endMarker(end, last); err != nil {
		return err
	}
	for _, b := range sc.Blobs {
		if _, ok := a.members[b.Stored]; !ok {
			return exit.Contentf("%s: blob %s listed in %s has no "+
				"member %s", a.Path, b.Digest, SidecarName,
				MemberName(b.Stored))
		}
	}
	return nil
}

func (a *Archive) addMember(hdr *tar.Header, offset int64,
	listed map[digest.Digest]int64) error {

	name := clean(hdr.Name)
	if hdr.Typeflag == tar.TypeDir && strings.HasPrefix(name, "blobs") {
		return nil
	}
	hex, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok || hdr.Typeflag != tar.TypeReg {
		return exit.Contentf("%s: member %q: want a regular file "+
			"blobs/sha256/<hex>", a.Path, hdr.Name)
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, hex)
	if err := CheckDigest("member", d); err != nil {
		return exit.Contentf("%s: member %q: %v", a.Path, hdr.Name, err)
	}
	if _, dup := a.members[d]; dup {
		return exit.Contentf("%s: member %s appears twice", a.Path, name)
	}
	want, ok := listed[d]
	if !ok {
		return exit.Contentf("%s: member %s is not listed in %s", a.Path,
			name, SidecarName)
	}
	if hdr.Size != want {
		return exit.Contentf("%s: member %s: size %d, %s says %d", a.Path,
			name, hdr.Size, SidecarName, want)
	}
	a.members[d] = Location{Offset: offset, Size: hdr.Size}
	return nil
}

// blockSize is the unit of a tar file: headers, padded data, end blocks.
const blockSize = 512

// dataEnd returns the offset just past the padded data of the member
// that hdr describes, whose data starts at offset.
func dataEnd(offset int64, hdr *tar.Header) int64 {
	size := hdr.Size
	switch hdr.Typeflag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock,
		tar.TypeDir, tar.TypeFifo:
		// archive/tar reads no data for these, whatever the size says.
		size = 0
	}
	return (offset + size + blockSize - 1) / blockSize * blockSize
}

// endMarker checks for the two zero blocks that end a tar at end, after
// the data of the member named last, and returns a content error when
// the file stops before them with nothing but zeros after that member.
// archive/tar reports a clean io.EOF at any header boundary, so without
// this check a file cut right after a member, or after the marker's
// first block, would pass for a whole archive. More zero blocks (a tar
// padded to a record) are fine; anything else after end is left to the
// tar reader.
func (a *Archive) endMarker(end int64, last string) error {
	marker := make([]byte, 2*blockSize)
	n, err := a.f.ReadAt(marker, end)
	if err != nil && err != io.EOF {
		return exit.IO(fmt.Errorf("%s: reading end-of-archive marker: %w",
			a.Path, err))
	}
	if n < len(marker) && bytes.Count(marker[:n], []byte{0}) == n {
		return exit.Contentf("%s: archive is truncated: no end-of-archive "+
			"marker (two zero %d-byte blocks) after member %s", a.Path,
			blockSize, last)
	}
	return nil
}

func (a *Archive) malformed(op string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return exit.Contentf("%s: %s: archive is truncated", a.Path, op)
	}
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.EOF) {
		return exit.Contentf("%s: %s: not a tar archive: %v", a.Path, op,
			err)
	}
	return exit.IO(fmt.Errorf("%s: %s: %w", a.Path, op, err))
}

// Location returns where the member storing d lies, and whether it exists.
func (a *Archive) Location(d digest.Digest) (Location, bool) {
	loc, ok := a.members[d]
	return loc, ok
}

// OpenStored opens the stored member d; the reader verifies its size and
// digest and fails at EOF if they do not match.
func (a *Archive) OpenStored(d digest.Digest) (io.ReadCloser, error) {
	loc, ok := a.members[d]
	if !ok {
		return nil, exit.Contentf("%s: no member %s", a.Path, MemberName(d))
	}
	sr := io.NewSectionReader(a.f, loc.Offset, loc.Size)
	name := a.Path + ": member " + MemberName(d)
	return digestio.NewReader(io.NopCloser(sr), name, d, loc.Size), nil
}

// Verify reads the stored member d and checks its digest.
func (a *Archive) Verify(d digest.Digest) error {
	rc, err := a.OpenStored(d)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func clean(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return name
}

// countReader counts the bytes read and lets archive/tar seek over
// member data instead of reading it.
type countReader struct {
	f *os.File
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := c.f.Seek(offset, whence)
	if err == nil {
		c.n = pos
	}
	return pos, err
}

// Stat returns the archive file's information.
func (a *Archive) Stat() (os.FileInfo, error) { return a.f.Stat() }
