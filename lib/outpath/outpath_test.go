package outpath

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "old.tar")
	os.WriteFile(regular, []byte("x"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(regular, link)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "in.tar")
	os.WriteFile(input, []byte("y"), 0o644)
	layout := filepath.Join(dir, "layout")
	os.MkdirAll(filepath.Join(layout, "blobs", "sha256"), 0o755)
	os.WriteFile(filepath.Join(layout, "index.json"), []byte("{}"), 0o644)
	layoutLink := filepath.Join(dir, "layout-link")
	os.Symlink(layout, layoutLink)

	tests := []struct {
		name, path string
		code       int
	}{
		{"absent", filepath.Join(dir, "new.tar"), exit.OK},
		{"regular", regular, exit.OK},
		{"symlink", link, exit.UsageErr},
		{"fifo", fifo, exit.UsageErr},
		{"folder", dir, exit.UsageErr},
		{"device", "/dev/null", exit.UsageErr},
		{"empty", "", exit.UsageErr},
		{"an input", input, exit.UsageErr},
		{"an input respelled", filepath.Join(dir, "sub", "..", "in.tar"),
			exit.UsageErr},
		{"a member of an input folder",
			filepath.Join(layout, "index.json"), exit.UsageErr},
		{"a new file in an input folder",
			filepath.Join(layout, "blobs", "sha256", "new"), exit.UsageErr},
		{"an input folder's member through a link",
			filepath.Join(layoutLink, "index.json"), exit.UsageErr},
		{"beside an input folder", filepath.Join(dir, "layout.tar"),
			exit.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := File(tt.path, input, layout)
			if got := exit.Code(err); got != tt.code {
				t.Errorf("File(%q) = %v (exit %d), want exit %d", tt.path,
					err, got, tt.code)
			}
		})
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	layout := filepath.Join(dir, "layout")
	os.Mkdir(layout, 0o755)
	os.WriteFile(filepath.Join(layout, "oci-layout"), []byte("{}"), 0o644)
	mine := filepath.Join(dir, "mine")
	os.Mkdir(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("x"), 0o644)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	holder := filepath.Join(dir, "holder")
	os.Mkdir(holder, 0o755)
	os.WriteFile(filepath.Join(holder, "oci-layout"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(holder, "v1.tar"), []byte("x"), 0o644)

	tests := []struct {
		name, path string
		code       int
	}{
		{"absent", filepath.Join(dir, "new"), exit.OK},
		{"empty", empty, exit.OK},
		{"earlier layout", layout, exit.OK},
		{"someone's folder", mine, exit.UsageErr},
		{"a file", file, exit.UsageErr},
		{"holding an input", holder, exit.UsageErr},
		{"inside an input folder", filepath.Join(mine, "out"),
			exit.UsageErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Dir(tt.path, filepath.Join(holder, "v1.tar"), mine)
			if got := exit.Code(err); got != tt.code {
				t.Errorf("Dir(%q) = %v (exit %d), want exit %d", tt.path,
					err, got, tt.code)
			}
		})
	}
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		code       int
	}{
		{"existing folder", dir, exit.OK},
		{"new folder", filepath.Join(dir, "out"), exit.OK},
		{"new folders", filepath.Join(dir, "a", "b"), exit.OK},
		{"a regular file", file, exit.UsageErr},
		{"below a regular file", filepath.Join(file, "sub"), exit.UsageErr},
		{"a FIFO", fifo, exit.UsageErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Folder(tt.path)
			if got := exit.Code(err); got != tt.code {
				t.Errorf("Folder(%q) = %v (exit %d), want exit %d", tt.path,
					err, got, tt.code)
			}
		})
	}
}
