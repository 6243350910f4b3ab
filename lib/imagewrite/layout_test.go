package imagewrite_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
)

// TestOCILayout checks that the directory holds exactly the archive's
// members, into a new or an empty directory, and that a used path is
// refused.
func TestOCILayout(t *testing.T) {
	img, blobs := testImage(t, "gzip", "oci", "app:1.0")
	archive := newArchive(t, write(t, ociFormat(time.Time{}), img, blobs))

	tests := []struct {
		name  string
		setup func(dir string) error
		code  int
	}{
		{"new", func(string) error { return nil }, exit.OK},
		{"empty", func(dir string) error { return os.Mkdir(dir, 0o700) },
			exit.OK},
		{"not empty", func(dir string) error {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
		}, exit.UsageErr},
		{"a file", func(dir string) error {
			return os.WriteFile(dir, nil, 0o644)
		}, exit.UsageErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "layout")
			if err := tt.setup(dir); err != nil {
				t.Fatal(err)
			}
			err := imagewrite.WriteOCILayout(dir, img, blobs)
			if got := exit.Code(err); got != tt.code {
				t.Fatalf("exit code: got %d, want %d (%v)", got, tt.code, err)
			}
			entries, _ := os.ReadDir(parent)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary %s left behind", e.Name())
				}
			}
			if tt.code != exit.OK {
				return
			}

			found := map[string]bool{}
			filepath.WalkDir(dir, func(p string, d fs.DirEntry,
				err error) error {
				if err != nil || p == dir {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				name := filepath.ToSlash(rel)
				if d.IsDir() {
					name += "/"
				}
				found[name] = true
				m, ok := archive.byName[name]
				if !ok {
					t.Errorf("%s: not in the OCI archive", name)
					return nil
				}
				if d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					t.Error(err)
				} else if !bytes.Equal(b, m.data) {
					t.Errorf("%s: content differs from the archive's", name)
				}
				return nil
			})
			for _, m := range archive.members {
				if !found[m.hdr.Name] {
					t.Errorf("%s: missing from the directory", m.hdr.Name)
				}
			}
		})
	}
}

// TestOCILayoutFailureLeavesNothing checks that a failed write leaves
// neither the directory nor a temporary one.
func TestOCILayoutFailureLeavesNothing(t *testing.T) {
	img, blobs := testImage(t, "", "oci")
	parent := t.TempDir()
	dir := filepath.Join(parent, "layout")
	src := badSource{Blobs: blobs, replace: map[digest.Digest][]byte{
		img.Layers[1].Digest: []byte("wrong")}}
	err := imagewrite.WriteOCILayout(dir, img, src)
	if got := exit.Code(err); got != exit.Corrupt {
		t.Fatalf("exit code: got %d, want %d (%v)", got, exit.Corrupt, err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
