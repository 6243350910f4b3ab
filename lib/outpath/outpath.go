// Package outpath checks the paths diffah is about to write, before any
// work is done, so that an output never replaces an input or something
// that is not a plain file of ours.
package outpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/diffah/diffah/lib/exit"
)

// File checks that path can take a new regular file: it does not exist
// or is a regular file (never a symlink, a device, a FIFO or a folder,
// which a rename would replace), and it is none of inputs.
func File(path string, inputs ...string) error {
	if path == "" {
		return exit.Usagef("output path is empty")
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return exit.IO(err)
	case !st.Mode().IsRegular():
		return exit.Usagef("output %s exists and is not a regular file "+
			"(%s): diffah replaces only regular files", path,
			Kind(st.Mode()))
	}
	return notInput(path, inputs)
}

// Dir checks that path can take a new OCI layout folder: it does not
// exist, or is an empty folder, or a folder holding an OCI layout (an
// earlier output), and it is none of inputs.
func Dir(path string, inputs ...string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return exit.IO(err)
	case !st.IsDir():
		return exit.Usagef("output %s exists and is not a folder (%s)",
			path, Kind(st.Mode()))
	default:
		entries, err := os.ReadDir(path)
		if err != nil {
			return exit.IO(err)
		}
		_, layoutErr := os.Stat(filepath.Join(path, "oci-layout"))
		if len(entries) > 0 && layoutErr != nil {
			return exit.Usagef("output %s is a folder that is neither "+
				"empty nor an OCI layout: diffah will not replace it", path)
		}
	}
	return notInput(path, inputs)
}

// Folder checks that path is a folder or can be made one: the nearest
// part of it that exists is a folder (a regular file there is exit 2).
func Folder(path string) error {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return nil
		case err == nil:
			return exit.Usagef("output folder %s: %s is %s, want a folder",
				path, p, Kind(st.Mode()))
		case !errors.Is(err, fs.ErrNotExist) &&
			!errors.Is(err, syscall.ENOTDIR):
			return exit.IO(err)
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
}

func notInput(path string, inputs []string) error {
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if Same(in, path) || below(path, in) {
			return exit.Usagef("output %s would replace the input %s",
				path, in)
		}
		if below(in, path) {
			return exit.Usagef("output %s would replace the folder "+
				"holding the input %s", path, in)
		}
	}
	return nil
}

// below reports whether path lies inside the folder dir (an OCI layout
// input, say), following symlinks in both. path need not exist.
func below(path, dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	realPath, err := resolve(path)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(realDir, realPath)
	return err == nil && rel != "." && rel != ".." &&
		!strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve is filepath.EvalSymlinks for a path whose last elements may
// not exist yet: the longest existing prefix is resolved and the rest
// appended.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(abs)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", err
		}
		rest = filepath.Join(filepath.Base(abs), rest)
		abs = parent
	}
}

// Same reports whether a and b name the same file, or would.
func Same(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	infoA, errA := os.Stat(a)
	infoB, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(infoA, infoB)
}

// Kind names what a file that is not a regular file is, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}
