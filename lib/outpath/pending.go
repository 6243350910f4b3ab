package outpath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/diffah/diffah/lib/exit"
	"github.com/google/renameio/v2"
)

// Pending creates the temporary file that becomes path once the caller
// calls CloseAtomicallyReplace: a renameio pending file beside path,
// named .<base><digits>, mode 0644. The file holds an exclusive flock
// for as long as it is open, which tells a live writer from a dead one:
// pending files of earlier runs at the same path that nobody holds (a
// run killed with SIGKILL cannot remove its own) are removed first.
// The caller defers Cleanup, as with renameio.
//
// BUG: between renameio creating the file and the flock there is a
// moment when another run to the same path would take the new file for
// a dead one; that run then fails on its rename (exit 3) and can be
// re-run. Two runs writing one path at once race anyway.
func Pending(path string) (*renameio.PendingFile, error) {
	removeDeadPending(path)

	tmp, err := renameio.NewPendingFile(path,
		renameio.WithTempDir(filepath.Dir(path)),
		renameio.WithPermissions(0o644))
	if err != nil {
		return nil, exit.IO(fmt.Errorf("writing %s: %w", path, err))
	}
	err = syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		tmp.Cleanup()
		return nil, exit.IO(fmt.Errorf("writing %s: lock %s: %w", path,
			tmp.Name(), err))
	}
	return tmp, nil
}

// removeDeadPending removes the pending files beside path that no live
// run holds. Only regular files named exactly as renameio names them
// (.<base> and a decimal number) are considered.
func removeDeadPending(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) ||
			!isDecimal(strings.TrimPrefix(name, prefix)) {
			continue
		}
		full := filepath.Join(dir, name)
		RemoveUnheld(full, full)
	}
}

// RemoveUnheld removes path, a file or a folder, when nobody holds an
// flock on the file or folder lock (often path itself): what a run
// killed with SIGKILL left behind.
func RemoveUnheld(lock, path string) {
	f, err := os.Open(lock)
	if err != nil {
		return
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		os.RemoveAll(path)
	}
}

// isDecimal reports whether s is an optional minus sign and digits.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
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
