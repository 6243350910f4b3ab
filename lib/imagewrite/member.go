package imagewrite

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// member is one entry of an output: a directory, a symlink, a small file
// held in memory, or a blob streamed from a BlobSource.
type member struct {
	name     string
	typeflag byte
	mode     int64
	linkname string
	data     []byte              // small file contents
	blob     *ocispec.Descriptor // streamed contents, when non-nil
}

func (m member) size() int64 {
	if m.blob != nil {
		return m.blob.Size
	}
	return int64(len(m.data))
}

// copyBufferSize is the buffer each write streams its blobs through:
// the only memory a blob of any size takes.
const copyBufferSize = 64 << 10

// plan is the list of members of one output.
type plan struct {
	members []member
	seen    map[string]bool
}

func (p *plan) add(m member) {
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	if p.seen[m.name] {
		return // a blob stored once however often it is used
	}
	p.seen[m.name] = true
	p.members = append(p.members, m)
}

func (p *plan) dir(name string, mode int64) {
	p.add(member{name: name, typeflag: tar.TypeDir, mode: mode})
}

func (p *plan) file(name string, mode int64, data []byte) {
	p.add(member{name: name, typeflag: tar.TypeReg, mode: mode, data: data})
}

func (p *plan) blob(name string, mode int64, d ocispec.Descriptor) {
	p.add(member{name: name, typeflag: tar.TypeReg, mode: mode, blob: &d})
}

func (p *plan) symlink(name string, mode int64, target string) {
	p.add(member{name: name, typeflag: tar.TypeSymlink, mode: mode,
		linkname: target})
}

// sort orders members by name, bytewise; a directory "a/" sorts before
// its contents because '/' is its name's last byte.
func (p *plan) sort() {
	slices.SortFunc(p.members, func(a, b member) int {
		return strings.Compare(a.name, b.name)
	})
}

// writeTar writes the members, in order, as a tar stream to w.
func (p *plan) writeTar(w io.Writer, src BlobSource, mtime time.Time) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, copyBufferSize)
	for _, m := range p.members {
		hdr := &tar.Header{
			Typeflag: m.typeflag,
			Name:     m.name,
			Linkname: m.linkname,
			Mode:     m.mode,
			ModTime:  mtime,
		}
		if m.typeflag == tar.TypeReg {
			hdr.Size = m.size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return sinkErr("write tar header "+m.name, err)
		}
		if err := m.writeData(tw, src, buf); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return sinkErr("write tar end", err)
	}
	return nil
}

// writeDir creates the members under root, which exists.
func (p *plan) writeDir(root string, src BlobSource) error {
	buf := make([]byte, copyBufferSize)
	for _, m := range p.members {
		path := filepath.Join(root, filepath.FromSlash(m.name))
		var err error
		switch m.typeflag {
		case tar.TypeDir:
			err = os.Mkdir(path, os.FileMode(m.mode))
		case tar.TypeSymlink:
			err = os.Symlink(m.linkname, path)
		default:
			err = writeFile(path, m, src, buf)
		}
		if err != nil {
			return exit.IO(fmt.Errorf("write %s: %w", path, err))
		}
	}
	return nil
}

func writeFile(path string, m member, src BlobSource,
	buf []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL,
		os.FileMode(m.mode))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return m.writeData(f, src, buf)
}

// writeData writes the member's contents to w: its bytes, or its blob
// streamed from src, hashed on the way and checked against the
// descriptor.
func (m member) writeData(w io.Writer, src BlobSource, buf []byte) error {
	if m.blob == nil {
		if _, err := w.Write(m.data); err != nil {
			return sinkErr("write "+m.name, err)
		}
		return nil
	}
	return copyBlob(w, *m.blob, src, m.name, buf)
}

// copyBlob streams the blob d from src to w and checks its size and
// digest. name is the member being written, for messages.
func copyBlob(w io.Writer, d ocispec.Descriptor, src BlobSource,
	name string, buf []byte) (err error) {

	rc, err := src.OpenBlob(d.Digest)
	if err != nil {
		return exit.IO(fmt.Errorf("open blob %s for %s: %w",
			d.Digest, name, err))
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = exit.IO(fmt.Errorf("close blob %s: %w", d.Digest, cerr))
		}
	}()

	hasher := d.Digest.Algorithm().Hash()
	in := &hashReader{r: rc, h: hasher}
	out := &errWriter{w: w}
	n, err := io.CopyBuffer(out, in, buf)
	switch {
	case in.err != nil:
		return exit.IO(fmt.Errorf("read blob %s for %s: %w",
			d.Digest, name, in.err))
	case errors.Is(out.err, tar.ErrWriteTooLong):
		return exit.Contentf("blob %s for %s: longer than the %d bytes "+
			"its descriptor says", d.Digest, name, d.Size)
	case out.err != nil:
		return sinkErr("write "+name, out.err)
	case err != nil:
		return exit.IO(fmt.Errorf("copy blob %s to %s: %w",
			d.Digest, name, err))
	case n != d.Size:
		return exit.Contentf("blob %s for %s: %d bytes, descriptor "+
			"says %d", d.Digest, name, n, d.Size)
	}
	got := digest.NewDigest(d.Digest.Algorithm(), hasher)
	if got != d.Digest {
		return exit.Contentf("blob %s for %s: content hashes to %s",
			d.Digest, name, got)
	}
	return nil
}

// hashReader hashes what it reads and keeps the reader's error apart
// from the writer's.
type hashReader struct {
	r   io.Reader
	h   hash.Hash
	err error
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	if err != nil && err != io.EOF {
		hr.err = err
	}
	return n, err
}

// errWriter keeps the writer's error apart from the reader's.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) Write(p []byte) (int, error) {
	n, err := ew.w.Write(p)
	if err != nil {
		ew.err = err
	}
	return n, err
}

// sinkErr wraps an error of the output as an environment error.
func sinkErr(op string, err error) error {
	return exit.IO(fmt.Errorf("%s: %w", op, err))
}
