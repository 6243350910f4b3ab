package outpath

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

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
	if err := TryLock(tmp.File); err != nil {
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
	prefix := "." + base
	removeDeadIn(dir, func(e fs.DirEntry) bool {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		return ok && e.Type().IsRegular() && isDecimal(rest)
	})
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
