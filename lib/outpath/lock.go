package outpath

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A file or folder that a run is writing holds an exclusive flock for
// as long as the run lives, so that the next run can tell what a run
// killed with SIGKILL left behind (nobody holds it) from what a live
// run is still writing.

// TryLock takes an exclusive flock on f without waiting; it fails when
// another open file holds one.
func TryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// RemoveUnheld removes path, a file or a folder, when nobody holds an
// flock on the file or folder lock (often path itself).
func RemoveUnheld(lock, path string) {
	f, err := os.Open(lock)
	if err != nil {
		return
	}
	defer f.Close()
	if TryLock(f) == nil {
		os.RemoveAll(path)
	}
}

// removeDeadIn removes the entries of dir that match and that nobody
// holds.
func removeDeadIn(dir string, match func(fs.DirEntry) bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if match(e) {
			full := filepath.Join(dir, e.Name())
			RemoveUnheld(full, full)
		}
	}
}
