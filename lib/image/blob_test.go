package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/go-digest"
)

// corruptAt flips one byte of the file at offset.
func corruptAt(t *testing.T, path string, offset int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, offset); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBlobVerifies(t *testing.T) {
	gz := []layer{newLayer(t, "a", strings.Repeat("x", 3000), "gzip")}
	plain := []layer{newLayer(t, "a", strings.Repeat("y", 3000), "none")}
	tests := []struct {
		name string
		data []byte
	}{
		{"docker skopeo, digest from name",
			buildDocker(t, skopeoStyle, dockerImage{arch: "amd64",
				layers: gz})},
		{"docker legacy, digest from diff_id",
			buildDocker(t, legacyPlain, dockerImage{arch: "amd64",
				layers: plain})},
		{"oci archive", func() []byte {
			b := newBuilder()
			ociIndex(t, b, ociImage(t, b, "amd64", gz))
			return b.tar(t)
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "in.tar", tt.data)
			a, err := Open(context.Background(), p, OpenOptions{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			d := a.Image().Layers[0].Digest
			var at int64 = -1
			for _, e := range a.Entries() {
				if strings.HasSuffix(a.BlobMember(d), e.Name) &&
					e.Typeflag == tar.TypeReg {
					at = e.Offset + e.Size/2
				}
			}
			a.Close()
			if at < 0 {
				t.Fatalf("no entry for member %q", a.BlobMember(d))
			}
			corruptAt(t, p, at)

			// Open trusts names and sizes; OpenBlob must catch it.
			a, err = Open(context.Background(), p, OpenOptions{})
			if err != nil {
				t.Fatalf("Open after corruption: %v", err)
			}
			defer a.Close()
			rc, err := a.OpenBlob(d)
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("read corrupted blob: got exit %d (%v), want %d",
					got, err, exit.Corrupt)
			}
			if !strings.Contains(err.Error(), string(d)) {
				t.Errorf("error %q: want it to name %s", err, d)
			}
		})
	}
}

func TestOpenBlobUnknown(t *testing.T) {
	p := writeFile(t, "in.tar", buildDocker(t, legacyPlain,
		dockerImage{arch: "amd64",
			layers: []layer{newLayer(t, "a", "1", "none")}}))
	a, err := Open(context.Background(), p, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	unknown := digest.FromString("not in the image")
	if _, err := a.OpenBlob(unknown); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("OpenBlob(unknown): got %v, want ErrBlobNotFound", err)
	}
	if got := a.BlobMember(unknown); got != "" {
		t.Errorf("BlobMember(unknown): got %q, want \"\"", got)
	}
	// The synthesized manifest is served from memory.
	m := a.Image().Manifest.Digest
	if got := a.BlobMember(m); got != "" {
		t.Errorf("BlobMember(manifest): got %q, want \"\"", got)
	}
	rc, err := a.OpenBlob(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, a.Image().ManifestBytes) {
		t.Errorf("OpenBlob(manifest): got %q, %v; want ManifestBytes",
			got, err)
	}
}

func TestVerifyingReaderSize(t *testing.T) {
	body := []byte("hello")
	d := digest.FromBytes(body)
	tests := []struct {
		name string
		data []byte
		size int64
		want int
	}{
		{"match", body, 5, exit.OK},
		{"short", body[:4], 5, exit.Corrupt},
		{"long", append(body, '!'), 5, exit.Corrupt},
		{"other bytes", []byte("jello"), 5, exit.Corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := io.NopCloser(bytes.NewReader(tt.data))
			_, err := io.Copy(io.Discard,
				newVerifyingReader(rc, "test", d, tt.size))
			if got := exit.Code(err); got != tt.want {
				t.Errorf("got exit %d (%v), want %d", got, err, tt.want)
			}
		})
	}
}

func TestEntries(t *testing.T) {
	long := strings.Repeat("long-name/", 15) + "file" // needs PAX
	members := []tmember{
		{name: "./dir/", typeflag: tar.TypeDir},
		{name: "./dir/a.txt", body: []byte("aaa")},
		{name: long, body: []byte("long")},
		{name: "link", typeflag: tar.TypeSymlink, link: "dir/a.txt"},
		{name: "hard", typeflag: tar.TypeLink, link: "./dir/a.txt"},
		{name: "empty", body: nil},
		{name: "manifest.json", body: []byte("[]")},
	}
	p := writeFile(t, "in.tar", writeTar(t, members))
	ix, err := indexTarFile(t, p)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"dir/", "dir/a.txt", long, "link", "hard",
		"empty", "manifest.json"}
	if len(ix.entries) != len(wantNames) {
		t.Fatalf("got %d entries, want %d", len(ix.entries),
			len(wantNames))
	}
	data, _ := os.ReadFile(p)
	for i, e := range ix.entries {
		if e.Name != wantNames[i] {
			t.Errorf("entry %d: got name %q, want %q", i, e.Name,
				wantNames[i])
		}
		if got, want := e.Typeflag, members[i].typeflag; want != 0 &&
			got != want {
			t.Errorf("entry %s: got type %q, want %q", e.Name, got, want)
		}
		body := data[e.Offset : e.Offset+e.Size]
		if !bytes.Equal(body, members[i].body) {
			t.Errorf("entry %s: bytes at offset %d: got %q, want %q",
				e.Name, e.Offset, body, members[i].body)
		}
	}

	src := &tarSource{ix: ix, f: mustOpen(t, p)}
	for _, tt := range []struct{ name, want string }{
		{"dir/a.txt", "aaa"}, {"./dir/a.txt", "aaa"}, {"link", "aaa"},
		{"hard", "aaa"}, {long, "long"}, {"empty", ""},
		{"dir/../dir/a.txt", "aaa"},
	} {
		rc, _, _, err := src.open(tt.name)
		if err != nil {
			t.Errorf("open %s: %v", tt.name, err)
			continue
		}
		got, _ := io.ReadAll(rc)
		if string(got) != tt.want {
			t.Errorf("open %s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, name := range []string{"nope", "dir"} {
		if _, _, _, err := src.open(name); err == nil {
			t.Errorf("open %s: got no error", name)
		}
	}
	if _, _, _, err := src.open("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open nope: got %v, want fs.ErrNotExist", err)
	}
}

func indexTarFile(t *testing.T, p string) (*tarIndex, error) {
	return indexTar(context.Background(), p, mustOpen(t, p))
}

func mustOpen(t *testing.T, p string) *os.File {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestOpenMember(t *testing.T) {
	p := writeFile(t, "in.tar", buildDocker(t, skopeoViaLink,
		dockerImage{arch: "amd64",
			layers: []layer{newLayer(t, "a", "1", "gzip")}}))
	a, err := Open(context.Background(), p, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rc, err := a.OpenMember("./manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.HasPrefix(got, []byte(`[{"Config"`)) {
		t.Errorf("manifest.json: got %q", got)
	}
	_, err = a.OpenMember("missing")
	if !errors.Is(err, fs.ErrNotExist) || exit.Code(err) != exit.Corrupt {
		t.Errorf("OpenMember(missing): got %v (exit %d), want "+
			"fs.ErrNotExist, exit 4", err, exit.Code(err))
	}
	// The layer is reached through id/layer.tar -> ../<hex>.tar.
	d := a.Image().Layers[0].Digest
	if got, want := a.BlobMember(d), d.Encoded()+".tar"; got != want {
		t.Errorf("BlobMember: got %q, want %q", got, want)
	}
}

func TestOCILayoutEscape(t *testing.T) {
	b := newBuilder()
	l := newLayer(t, "a", "1", "gzip")
	ociIndex(t, b, ociImage(t, b, "amd64", []layer{l}))
	dir := t.TempDir()
	outside := writeFile(t, "secret", l.stored)
	for _, m := range b.members {
		p := dir + "/" + m.name
		os.MkdirAll(filepath.Dir(p), 0o755)
		if m.name == "blobs/sha256/"+l.digest().Encoded() {
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, m.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(context.Background(), dir, OpenOptions{})
	if got := exit.Code(err); got != exit.Corrupt {
		t.Fatalf("Open: got exit %d (%v), want %d", got, err, exit.Corrupt)
	}
	if !strings.Contains(err.Error(), l.digest().Encoded()) {
		t.Errorf("error %q: want it to name the blob", err)
	}
}

func TestOpenMemberReaderAt(t *testing.T) {
	p := writeFile(t, "in.tar", writeTar(t, []tmember{
		{name: "pad", body: []byte("0123456789")},
		{name: "m", body: []byte("abcdefgh")},
	}))
	ix, err := indexTarFile(t, p)
	if err != nil {
		t.Fatal(err)
	}
	src := &tarSource{ix: ix, f: mustOpen(t, p)}
	rc, _, _, err := src.open("m")
	if err != nil {
		t.Fatal(err)
	}
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		t.Fatalf("member reader %T is not an io.ReaderAt", rc)
	}
	got := make([]byte, 3)
	if _, err := ra.ReadAt(got, 2); err != nil || string(got) != "cde" {
		t.Errorf("ReadAt(3 bytes at 2): got %q, %v; want \"cde\"", got, err)
	}
}
