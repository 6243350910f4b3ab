package tools

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// runTempDir gives this run a folder of its own for spool files,
// diffah-<pid>-*, inside the system's temp folder, and points TMPDIR at
// it so every spool file lands there (--temp-dir still wins). It first
// removes the folders of earlier runs whose process is gone: a run
// killed with SIGKILL cannot clean up after itself, and a spool can be a
// whole uncompressed image. The returned func removes the folder.
func runTempDir() (func(), error) {
	base := os.TempDir()
	removeStale(base)
	dir, err := os.MkdirTemp(base, fmt.Sprintf("diffah-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("temp folder: %w", err)
	}
	if err := os.Setenv("TMPDIR", dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("temp folder: %w", err)
	}
	return func() {
		os.Setenv("TMPDIR", base)
		os.RemoveAll(dir)
	}, nil
}

// removeStale removes base/diffah-<pid>-* folders of dead processes.
func removeStale(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, "diffah-*-*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), "diffah-")
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if st, err := os.Lstat(m); err != nil || !st.IsDir() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}
