package tools

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file each run holds locked inside its temp folder.
const lockName = ".lock"

// runTempDir gives this run a folder of its own for spool files,
// diffah-<pid>-*, inside the system's temp folder, and points TMPDIR at
// it so every spool file lands there (--temp-dir still wins). The run
// holds an flock on a file in it for as long as it lives. Folders of
// earlier runs whose lock nobody holds are removed first: a run killed
// with SIGKILL cannot clean up after itself, and a spool can be a whole
// uncompressed image. An flock, unlike a process id, is seen across PID
// namespaces sharing the folder. The returned func removes the folder.
func runTempDir() (func(), error) {
	base := os.TempDir()
	removeStale(base)
	dir, lock, err := newRunDir(base)
	if err == nil {
		err = os.Setenv("TMPDIR", dir)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
			os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("temp folder: %w", err)
	}
	return func() {
		os.Setenv("TMPDIR", base)
		os.RemoveAll(dir)
		lock.Close()
	}, nil
}

// newRunDir makes base/diffah-<pid>-* and its lock file, held. The lock
// file appears under its name already locked, so another run's
// removeStale never finds it unheld: locking a file already named .lock
// would leave a moment when it is.
func newRunDir(base string) (string, *os.File, error) {
	dir, err := os.MkdirTemp(base, fmt.Sprintf("diffah-%d-", os.Getpid()))
	if err != nil {
		return "", nil, err
	}
	lock, err := os.CreateTemp(dir, "lock-*")
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err == nil {
		err = os.Rename(lock.Name(), filepath.Join(dir, lockName))
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// removeStale removes base/diffah-*-* folders whose lock file nobody
// holds. A folder without a lock file is left alone.
func removeStale(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, "diffah-*-*"))
	for _, m := range matches {
		if st, err := os.Lstat(m); err != nil || !st.IsDir() {
			continue
		}
		lock, err := os.Open(filepath.Join(m, lockName))
		if err != nil {
			continue
		}
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			os.RemoveAll(m)
		}
		lock.Close()
	}
}
