package outpath

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestStaging(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "app")
	mk := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(path string) string {
		b, _ := os.ReadFile(path)
		return string(b)
	}

	// A dead run's staging folder, a live one's, and an unrelated one.
	mk(filepath.Join(parent, ".app.tmp-1", "new", "blob"), "dead")
	mk(filepath.Join(parent, ".app.tmp-2", "new", "blob"), "live")
	mk(filepath.Join(parent, ".other.tmp-3", "x"), "other")
	live, err := os.Open(filepath.Join(parent, ".app.tmp-2"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	err = syscall.Flock(int(live.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		t.Fatal(err)
	}

	// First output: a plain rename.
	s, err := NewStaging(out)
	if err != nil {
		t.Fatal(err)
	}
	mk(filepath.Join(s.Path, "index.json"), "one")
	if err := s.Replace(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := read(filepath.Join(out, "index.json")); got != "one" {
		t.Errorf("got %q in the output, want %q", got, "one")
	}

	// Second output replaces the first whole.
	s, err = NewStaging(out)
	if err != nil {
		t.Fatal(err)
	}
	mk(filepath.Join(s.Path, "index.json"), "two")
	mk(filepath.Join(s.Path, "blobs", "b"), "blob")
	if got := read(filepath.Join(out, "index.json")); got != "one" {
		t.Errorf("before Replace: got %q, want %q", got, "one")
	}
	if err := s.Replace(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := read(filepath.Join(out, "index.json")); got != "two" {
		t.Errorf("got %q in the output, want %q", got, "two")
	}

	// A staging folder closed without Replace leaves the output alone.
	s, err = NewStaging(out)
	if err != nil {
		t.Fatal(err)
	}
	mk(filepath.Join(s.Path, "index.json"), "three")
	s.Close()
	if got := read(filepath.Join(out, "index.json")); got != "two" {
		t.Errorf("after Close: got %q, want %q", got, "two")
	}

	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{".app.tmp-2", ".other.tmp-3", "app"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q in the folder, want %q", got, want)
	}
}
