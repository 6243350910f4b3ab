package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/opencontainers/go-digest"
)

// FuzzDockerArchive and FuzzOCIArchive keep an archive's blobs valid and
// fuzz the one document Open trusts without a digest: manifest.json of
// a docker-archive, index.json of an OCI archive or layout. Random bytes
// fed to FuzzOpen rarely get that far.

// fuzzBase is an archive whose member doc the fuzzer replaces.
type fuzzBase struct {
	name    string
	members []fuzzMember
	doc     string // the member replaced: manifest.json or index.json
	dir     bool   // written as a layout directory, not a tar
}

type fuzzMember struct {
	hdr  *tar.Header
	body []byte
}

// docOf returns the base's own version of its fuzzed document.
func (b fuzzBase) docOf() []byte {
	for _, m := range b.members {
		if strings.TrimPrefix(m.hdr.Name, "./") == b.doc {
			return m.body
		}
	}
	return nil
}

// fuzzUpstream is the shared folder of archives written by another tool.
const fuzzUpstream = "../../../shared/fixtures/upstream-diffah"

// fuzzBases returns the generated bases of a fuzz target, in a fixed
// order, then those read from the upstream fixtures when present.
func fuzzBases(tb testing.TB, doc string, formats []string,
	upstream []string) []fuzzBase {

	tb.Helper()
	spec := imagebuild.Spec{
		Tags: []string{"app:1.0"},
		Layers: [][]byte{
			imagebuild.Layer(imagebuild.Dir("etc"),
				imagebuild.File("etc/os-release", []byte("ID=fuzz\n"))),
			imagebuild.Layer(imagebuild.File("app", []byte("v1"))),
		},
	}
	var bases []fuzzBase
	for _, format := range formats {
		name, dir := format, false
		if format == "oci-dir" {
			format, dir = "oci-archive", true
		}
		s := spec
		s.Compress = "gzip"
		if format == "docker-legacy" {
			s.Compress = "none"
		}
		var buf bytes.Buffer
		if err := imagebuild.Write(&buf, s, format); err != nil {
			tb.Fatalf("build %s: %v", format, err)
		}
		bases = append(bases, fuzzBase{name: name,
			members: fuzzReadTar(tb, buf.Bytes()), doc: doc, dir: dir})
	}
	for _, name := range upstream {
		data, err := os.ReadFile(filepath.Join(fuzzUpstream, name))
		if err != nil {
			continue
		}
		bases = append(bases, fuzzBase{name: name,
			members: fuzzReadTar(tb, data), doc: doc})
	}
	return bases
}

func fuzzReadTar(tb testing.TB, data []byte) []fuzzMember {
	tb.Helper()
	var out []fuzzMember
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fuzzMember{hdr: hdr, body: body})
	}
}

// write stores the base with doc as its fuzzed member, as dir/in.tar or,
// for a layout, as the folder dir/layout (only the document changes from
// one call to the next). It returns the path to open.
func (b fuzzBase) write(tb testing.TB, dir string, doc []byte) string {
	tb.Helper()
	if b.dir {
		root := filepath.Join(dir, "layout-"+b.name)
		if _, err := os.Stat(root); err != nil {
			for _, m := range b.members {
				if m.hdr.Typeflag != tar.TypeReg {
					continue
				}
				p := filepath.Join(root, filepath.FromSlash(m.hdr.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					tb.Fatal(err)
				}
				if err := os.WriteFile(p, m.body, 0o644); err != nil {
					tb.Fatal(err)
				}
			}
		}
		p := filepath.Join(root, b.doc)
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			tb.Fatal(err)
		}
		return root
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range b.members {
		hdr, body := *m.hdr, m.body
		if strings.TrimPrefix(hdr.Name, "./") == b.doc {
			body = doc
		}
		hdr.Size = int64(len(body))
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size, body = 0, nil
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, "in.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// checkFuzzOpen opens p and checks what Open promises: a usage or
// content error, or an image whose manifest and config hash to their
// digests, whose blobs live at clean names inside the archive and read
// back verified or fail as content errors.
func checkFuzzOpen(t *testing.T, p, tempDir string) {
	a, err := image.Open(context.Background(), p, image.OpenOptions{
		TempDir: tempDir, MaxSpoolSize: 8 << 20})
	if err != nil {
		if code := exit.Code(err); code != exit.Corrupt &&
			code != exit.UsageErr {
			t.Fatalf("Open: got exit %d (%v), want 2 or 4", code, err)
		}
		return
	}
	defer a.Close()

	img := a.Image()
	if digest.FromBytes(img.ManifestBytes) != img.Manifest.Digest {
		t.Fatalf("manifest bytes do not hash to %s", img.Manifest.Digest)
	}
	if digest.FromBytes(img.ConfigBytes) != img.Config.Digest {
		t.Fatalf("config bytes do not hash to %s", img.Config.Digest)
	}
	for _, l := range img.Layers {
		if m := a.BlobMember(l.Digest); m == "" || path.IsAbs(m) ||
			m != path.Clean(m) || m == ".." ||
			strings.HasPrefix(m, "../") {
			t.Fatalf("layer %s: got member %q, want a clean name "+
				"inside the archive", l.Digest, m)
		}
		rc, err := a.OpenBlob(l.Digest)
		if err != nil {
			t.Fatalf("OpenBlob(%s): %v", l.Digest, err)
		}
		h := digest.SHA256.Digester()
		_, err = io.Copy(h.Hash(), rc)
		rc.Close()
		if err == nil && h.Digest() != l.Digest {
			t.Fatalf("blob %s read back as %s without error", l.Digest,
				h.Digest())
		}
		if err != nil && exit.Code(err) != exit.Corrupt {
			t.Fatalf("read blob %s: got exit %d (%v), want 4", l.Digest,
				exit.Code(err), err)
		}
	}
}

// fuzzDocSeeds adds every base's own document, and hostile variants of
// the first base's, to f. Each base must open as it is, so that the
// fuzzer starts from archives Open accepts.
func fuzzDocSeeds(f *testing.F, bases []fuzzBase, hostile ...string) {
	dir := f.TempDir()
	for i, b := range bases {
		a, err := image.Open(context.Background(), b.write(f, dir, b.docOf()),
			image.OpenOptions{TempDir: dir})
		if err != nil {
			f.Fatalf("base %s: %v", b.name, err)
		}
		a.Close()
		f.Add(uint8(i), b.docOf())
	}
	for _, h := range hostile {
		f.Add(uint8(0), []byte(h))
	}
}

// fuzzDoc runs one input: base sel (modulo the bases) with doc.
func fuzzDoc(f *testing.F, bases []fuzzBase) {
	dir := f.TempDir() // one per worker process; execs run in turn
	f.Fuzz(func(t *testing.T, sel uint8, doc []byte) {
		b := bases[int(sel)%len(bases)]
		checkFuzzOpen(t, b.write(t, dir, doc), dir)
	})
}

func FuzzDockerArchive(f *testing.F) {
	bases := fuzzBases(f, "manifest.json",
		[]string{"docker-legacy", "docker-skopeo", "docker-modern"},
		[]string{"v1_s2.tar", "v4_target_s2.tar"})
	fuzzDocSeeds(f, bases,
		`[{"Config":"../x.json","Layers":["/etc/passwd"]}]`,
		`[{"Config":"a/../../x","RepoTags":["app:1.0"],"Layers":[]}]`,
		`[{"Config":"sha256:../../../../etc/passwd","Layers":null}]`,
		`[{},{}]`, `{}`, `[]`, `null`)
	fuzzDoc(f, bases)
}

func FuzzOCIArchive(f *testing.F) {
	bases := fuzzBases(f, "index.json",
		[]string{"oci-archive", "oci-dir", "docker-modern"},
		[]string{"unrelated_oci.tar", "v1_oci.tar"})
	const m = `{"schemaVersion":2,"manifests":[{"mediaType":` +
		`"application/vnd.oci.image.manifest.v1+json","size":1,"digest":`
	fuzzDocSeeds(f, bases,
		m+`"sha256:../../../../etc/passwd"}]}`,
		m+`"sha256:`+strings.Repeat("A", 64)+`"}]}`,
		m+`"sha256:abc"}]}`,
		m+`"md5:d41d8cd98f00b204e9800998ecf8427e"}]}`,
		`{"schemaVersion":2,"manifests":[]}`, `null`)
	fuzzDoc(f, bases)
}
