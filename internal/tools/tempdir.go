package tools

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diffah/diffah/lib/outpath"
)

// lockName is the file each run holds locked inside its temp folder.
const lockName = ".lock"

// runTempDir gives this run a folder of its own for spool files,
// diffah-<pid>-*, inside base (--temp-dir) or else the system's temp
// folder, and points TMPDIR at it so every spool file lands there. The
// run holds an flock on a file in it for as long as it lives. Folders
// of earlier runs in the same place whose lock nobody holds are removed
// first: a run killed with SIGKILL cannot clean up after itself, and a
// spool can be a whole uncompressed image. An flock, unlike a process
// id, is seen across PID namespaces sharing the folder. It returns the
// folder and a func that removes it.
func runTempDir(base string) (string, func(), error) {
	system := os.TempDir()
	if base == "" {
		base = system
	}
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
		return "", nil, fmt.Errorf("temp folder: %w", err)
	}
	return dir, func() {
		os.Setenv("TMPDIR", system)
		os.RemoveAll(dir)
		lock.Close()
	}, nil
}

// prepPrefix names a run folder being prepared, before it is published
// as diffah-<pid>-*.
const prepPrefix = ".diffah-prep-"

// prepGrace is how old a folder still being prepared must be before
// removeStale takes it for a dead run's: preparing takes microseconds.
const prepGrace = time.Minute

// newRunDir makes base/diffah-<pid>-* with its lock file held. The folder
// is prepared under another name and renamed once its lock is held, so
// another run's removeStale never finds a published folder unheld:
// creating a file and locking it are two steps, with a moment between.
func newRunDir(base string) (string, *os.File, error) {
	prep, err := os.MkdirTemp(base, prepPrefix+"*")
	if err != nil {
		return "", nil, err
	}
	lock, err := os.Create(filepath.Join(prep, lockName))
	if err == nil {
		err = outpath.TryLock(lock)
	}
	dir := filepath.Join(base, fmt.Sprintf("diffah-%d-%s", os.Getpid(),
		strings.TrimPrefix(filepath.Base(prep), prepPrefix)))
	if err == nil {
		err = os.Rename(prep, dir)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(prep)
		return "", nil, err
	}
	return dir, lock, nil
}

// removeStale removes the folders in base named as runs name theirs,
// diffah-<pid>-<digits>, whose lock file nobody holds (one without a
// lock file is left alone), and folders still being prepared,
// .diffah-prep-<digits>, older than prepGrace (a run killed while
// preparing its folder). base is read as a folder, never as a pattern.
func removeStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(base, e.Name())
		switch {
		case isPrepName(e.Name()):
			st, err := os.Lstat(path)
			if err == nil && time.Since(st.ModTime()) > prepGrace {
				os.RemoveAll(path)
			}
		case isRunName(e.Name()):
			outpath.RemoveUnheld(filepath.Join(path, lockName), path)
		}
	}
}

// isRunName reports whether name is diffah-<digits>-<digits>.
func isRunName(name string) bool {
	rest, ok := strings.CutPrefix(name, "diffah-")
	if !ok {
		return false
	}
	pid, random, ok := strings.Cut(rest, "-")
	return ok && allDigits(pid) && allDigits(random)
}

// isPrepName reports whether name is .diffah-prep-<digits>.
func isPrepName(name string) bool {
	rest, ok := strings.CutPrefix(name, prepPrefix)
	return ok && allDigits(rest)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
