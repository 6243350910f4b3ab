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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := File(tt.path, input)
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

	tests := []struct {
		name, path string
		code       int
	}{
		{"absent", filepath.Join(dir, "new"), exit.OK},
		{"empty", empty, exit.OK},
		{"earlier layout", layout, exit.OK},
		{"someone's folder", mine, exit.UsageErr},
		{"a file", file, exit.UsageErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Dir(tt.path)
			if got := exit.Code(err); got != tt.code {
				t.Errorf("Dir(%q) = %v (exit %d), want exit %d", tt.path,
					err, got, tt.code)
			}
		})
	}
}
