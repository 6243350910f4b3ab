package outpath

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestPendingRemovesDeadPendingFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "delta.tar")
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// A dead run's pending files, and names that only look alike.
	write(".delta.tar123456")
	write(".delta.tar-42")
	keep := []string{".delta.tar", ".delta.tar.bak", ".delta.tarx1",
		".delta.tar12x", "delta.tar99", ".other.tar7"}
	for _, name := range keep {
		write(name)
	}
	if err := os.Mkdir(filepath.Join(dir, ".delta.tar77"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".delta.tar77")

	// A live run's pending file: its lock is held.
	live, err := os.Open(write(".delta.tar555"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	err = syscall.Flock(int(live.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".delta.tar555")

	tmp, err := Pending(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Cleanup()

	// Pending's own file is held too.
	other, err := os.Open(tmp.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		t.Errorf("pending file %s: got no lock held, want one", tmp.Name())
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if full := filepath.Join(dir, e.Name()); full != tmp.Name() {
			got = append(got, e.Name())
		}
	}
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Errorf("got %q left in the folder, want %q", got, keep)
	}

	// The pending file becomes path.
	if _, err := tmp.Write([]byte("archive")); err != nil {
		t.Fatal(err)
	}
	if err := tmp.CloseAtomicallyReplace(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "archive" {
		t.Errorf("got %q (%v) at %s, want %q", b, err, path, "archive")
	}
}

func TestPendingUnwritableFolder(t *testing.T) {
	_, err := Pending(filepath.Join(t.TempDir(), "missing", "x.tar"))
	if err == nil {
		t.Fatal("got no error for a missing folder, want one")
	}
}
