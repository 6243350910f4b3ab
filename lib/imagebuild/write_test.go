package imagebuild

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

// TestWriteFile writes the realistic image in every format and
// compression twice, and checks the bytes are equal, the compression is
// what was asked, and no temporary file is left behind.
func TestWriteFile(t *testing.T) {
	spec := Realistic(1)
	spec.Compress = "gzip"
	img, blobs, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	magic := map[string][]byte{
		"":     nil,
		"gzip": {0x1f, 0x8b},
		"zstd": {0x28, 0xb5, 0x2f, 0xfd},
	}
	for _, base := range Formats {
		if base == "oci-dir" {
			continue
		}
		for _, compress := range []string{"", "gzip", "zstd"} {
			format := base
			if compress != "" {
				format += "+" + compress
			}
			t.Run(format, func(t *testing.T) {
				dir := t.TempDir()
				var outs [][]byte
				for i := range 2 {
					path := filepath.Join(dir, "img"+string(rune('a'+i)))
					err := WriteImageFile(path, img, blobs, format)
					if err != nil {
						t.Fatal(err)
					}
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					outs = append(outs, b)
				}
				if !bytes.Equal(outs[0], outs[1]) {
					t.Errorf("two writes differ")
				}
				if m := magic[compress]; m != nil &&
					!bytes.HasPrefix(outs[0], m) {
					t.Errorf("starts % x, want % x", outs[0][:4], m)
				}
				if compress == "" && len(outs[0])%512 != 0 {
					t.Errorf("tar of %d bytes: not whole blocks",
						len(outs[0]))
				}
				var buf bytes.Buffer
				if err := WriteImage(&buf, img, blobs, format); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), outs[0]) {
					t.Errorf("WriteImage and WriteImageFile differ")
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != 2 {
					t.Errorf("directory holds %d entries, want 2",
						len(entries))
				}
			})
		}
	}
}

// TestWriteFileOCIDir writes the layout directory.
func TestWriteFileOCIDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteFile(dir, Realistic(1), "oci-dir"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.json", "oci-layout",
		"blobs/sha256"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestWriteRefuses checks bad formats and that a failed write leaves
// no file.
func TestWriteRefuses(t *testing.T) {
	for _, format := range []string{"tarball", "oci-dir+gzip",
		"oci-archive+xz", "", "docker-legacy+"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			err := WriteFile(filepath.Join(dir, "x"), Realistic(1), format)
			if got := exit.Code(err); got != exit.UsageErr {
				t.Errorf("exit code: got %d, want %d (%v)", got,
					exit.UsageErr, err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
	err := Write(io.Discard, Realistic(1), "oci-dir")
	if got := exit.Code(err); got != exit.UsageErr {
		t.Errorf("Write oci-dir: exit code %d, want %d", got, exit.UsageErr)
	}
}

// FuzzFormat feeds arbitrary format names to WriteImage: known ones
// write, others fail with a usage error, none panics.
func FuzzFormat(f *testing.F) {
	for _, s := range append(Formats, "oci-archive+zstd", "x+y+z", "+") {
		f.Add(s)
	}
	img, blobs, err := Build(Spec{Layers: [][]byte{EmptyTar()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, format string) {
		err := WriteImage(io.Discard, img, blobs, format)
		if err != nil && exit.Code(err) != exit.UsageErr {
			t.Errorf("format %q: exit code %d, want %d (%v)", format,
				exit.Code(err), exit.UsageErr, err)
		}
		base, _, _ := strings.Cut(format, "+")
		known := false
		for _, k := range Formats {
			known = known || (k == base && k != "oci-dir")
		}
		if err == nil && !known {
			t.Errorf("format %q: accepted", format)
		}
	})
}
