package imagewrite_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"path"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
)

// member is one tar entry read back.
type member struct {
	hdr  *tar.Header
	data []byte
}

// readTar reads every entry of an archive, in order.
func readTar(t *testing.T, b []byte) []member {
	t.Helper()
	var out []member
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar member %s: %v", hdr.Name, err)
		}
		out = append(out, member{hdr: hdr, data: data})
	}
}

// archive is a read-back tar with lookup by name.
type archive struct {
	members []member
	byName  map[string]member
}

func newArchive(t *testing.T, b []byte) *archive {
	t.Helper()
	a := &archive{members: readTar(t, b), byName: map[string]member{}}
	for _, m := range a.members {
		if _, dup := a.byName[m.hdr.Name]; dup {
			t.Errorf("member %s: written twice", m.hdr.Name)
		}
		a.byName[m.hdr.Name] = m
	}
	return a
}

// open returns the content of the regular file name, following symlinks
// relative to the member's directory.
func (a *archive) open(t *testing.T, name string) []byte {
	t.Helper()
	for hops := 0; hops < 8; hops++ {
		m, ok := a.byName[name]
		if !ok {
			t.Fatalf("member %s: missing", name)
		}
		switch m.hdr.Typeflag {
		case tar.TypeReg:
			return m.data
		case tar.TypeSymlink:
			name = path.Join(path.Dir(name), m.hdr.Linkname)
		default:
			t.Fatalf("member %s: type %c, want a file or symlink",
				name, m.hdr.Typeflag)
		}
	}
	t.Fatalf("member %s: too many symlinks", name)
	return nil
}

func (a *archive) json(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(a.open(t, name), v); err != nil {
		t.Fatalf("member %s: %v", name, err)
	}
}

// testImage builds a small image whose base layer is used twice, so the
// writers' handling of a repeated digest is exercised.
func testImage(t *testing.T, compress, manifest string,
	tags ...string) (*imagewrite.Image, imagebuild.Blobs) {

	t.Helper()
	base := imagebuild.Layer(
		imagebuild.Dir("etc"),
		imagebuild.File("etc/hostname", []byte("box\n")),
	)
	top := imagebuild.Layer(imagebuild.File("app", []byte("v1")))
	img, blobs, err := imagebuild.Build(imagebuild.Spec{
		Tags:     tags,
		Layers:   [][]byte{base, top, base},
		Compress: compress,
		Manifest: manifest,
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return img, blobs
}

// format is one archive output of the writers.
type format struct {
	name  string
	write func(io.Writer, *imagewrite.Image, imagewrite.BlobSource) error
}

func dockerFormat(l imagewrite.DockerLayout, mtime time.Time) format {
	return format{
		name: "docker-" + l.String(),
		write: func(w io.Writer, img *imagewrite.Image,
			src imagewrite.BlobSource) error {
			return imagewrite.WriteDockerArchive(w, img, src,
				imagewrite.DockerOptions{Layout: l, ModTime: mtime})
		},
	}
}

func ociFormat(mtime time.Time) format {
	return format{
		name: "oci-archive",
		write: func(w io.Writer, img *imagewrite.Image,
			src imagewrite.BlobSource) error {
			return imagewrite.WriteOCIArchive(w, img, src,
				imagewrite.OCIOptions{ModTime: mtime})
		},
	}
}

func allFormats(mtime time.Time) []format {
	return []format{
		dockerFormat(imagewrite.LayoutModern, mtime),
		dockerFormat(imagewrite.LayoutLegacy, mtime),
		dockerFormat(imagewrite.LayoutSkopeo, mtime),
		ociFormat(mtime),
	}
}

func write(t *testing.T, f format, img *imagewrite.Image,
	src imagewrite.BlobSource) []byte {

	t.Helper()
	var buf bytes.Buffer
	if err := f.write(&buf, img, src); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return buf.Bytes()
}

var zeroTime time.Time

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// blobMap is a BlobSource over a map.
type blobMap map[digest.Digest][]byte

func (m blobMap) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	b, ok := m[d]
	if !ok {
		return nil, io.ErrUnexpectedEOF
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
