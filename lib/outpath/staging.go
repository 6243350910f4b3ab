package outpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"golang.org/x/sys/unix"
)

// Staging is a folder beside an output folder, .<base>.tmp-<random>,
// where the new output is built at Path before it replaces the output.
// The staging folder holds an flock for as long as it is open, so a
// later run can tell a dead run's staging folder from a live one.
type Staging struct {
	// Path is where the caller builds the new folder; it does not exist
	// yet.
	Path string

	dir  string
	root string
	lock *os.File
}

// NewStaging removes the staging folders of dir that no live run holds
// (a run killed with SIGKILL leaves its own), then makes a new one.
// The caller builds the output at Path, then calls Replace, and always
// Close.
func NewStaging(dir string) (*Staging, error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	prefix := "." + base + ".tmp-"
	removeDeadIn(parent, func(e fs.DirEntry) bool {
		return e.IsDir() && strings.HasPrefix(e.Name(), prefix)
	})

	root, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return nil, exit.IO(fmt.Errorf("writing %s: %w", dir, err))
	}
	lock, err := os.Open(root)
	if err == nil {
		err = TryLock(lock)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(root)
		return nil, exit.IO(fmt.Errorf("writing %s: lock %s: %w", dir,
			root, err))
	}
	return &Staging{Path: filepath.Join(root, "new"), dir: dir,
		root: root, lock: lock}, nil
}

// Replace puts Path at the output folder. An existing output is swapped
// out in one atomic exchange where the file system can (Linux
// RENAME_EXCHANGE); elsewhere it is moved aside first, and back if the
// second rename fails. The old output is removed by Close.
//
// BUG: where there is no exchange, a run killed between the two renames
// leaves the old output inside the staging folder, which the next run
// removes: the output is then missing until a run succeeds.
func (s *Staging) Replace() error {
	err := unix.Renameat2(unix.AT_FDCWD, s.Path, unix.AT_FDCWD, s.dir,
		unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		// No output yet: a plain rename.
		if err := os.Rename(s.Path, s.dir); err != nil {
			return exit.IO(fmt.Errorf("writing %s: %w", s.dir, err))
		}
		return nil
	}

	// No exchange here (EINVAL, ENOSYS): move the old output aside.
	old := filepath.Join(s.root, "old")
	if err := os.Rename(s.dir, old); err != nil {
		return exit.IO(fmt.Errorf("replacing %s: %w", s.dir, err))
	}
	if err := os.Rename(s.Path, s.dir); err != nil {
		os.Rename(old, s.dir)
		return exit.IO(fmt.Errorf("writing %s: %w", s.dir, err))
	}
	return nil
}

// Close removes the staging folder, with whatever it still holds (the
// old output after Replace, the unfinished new one otherwise).
func (s *Staging) Close() {
	os.RemoveAll(s.root)
	s.lock.Close()
}
