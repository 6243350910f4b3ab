package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/diffah/diffah/lib/exit"
)

// source gives access to the files of an archive or layout directory.
type source interface {
	// open opens the regular file name, following links inside the
	// root. It returns the resolved name and the size. Errors are bare:
	// the caller names the archive and member.
	open(name string) (rc io.ReadCloser, resolved string, size int64,
		err error)
	// has reports whether name exists, of any type.
	has(name string) bool
}

// tarSource reads members of an indexed tar file with ReadAt.
type tarSource struct {
	ix *tarIndex
	f  *os.File
}

func (s *tarSource) open(name string) (io.ReadCloser, string, int64,
	error) {
	m, err := s.ix.resolve(name)
	if err != nil {
		return nil, "", 0, err
	}
	sr := io.NewSectionReader(s.f, m.offset, m.size)
	return memberReader{sr}, m.name, m.size, nil
}

// memberReader reads one tar member; it is also an io.ReaderAt and
// io.Seeker over the member's bytes. Close does nothing: the archive
// owns the file.
type memberReader struct {
	*io.SectionReader
}

func (memberReader) Close() error { return nil }

func (s *tarSource) has(name string) bool {
	key, err := cleanMemberName(name)
	if err != nil {
		return false
	}
	_, ok := s.ix.members[key]
	return ok
}

// dirSource reads files of a directory through an os.Root, so no name
// or symlink can lead outside it.
type dirSource struct {
	root *os.Root
}

func (s *dirSource) open(name string) (io.ReadCloser, string, int64,
	error) {
	key, err := cleanMemberName(name)
	if err != nil {
		return nil, "", 0, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, "", 0, fs.ErrNotExist
		case strings.Contains(err.Error(), "escapes"):
			// os.Root refused a name or link leading outside the
			// directory; its error has no exported sentinel.
			return nil, "", 0, exit.Contentf("%s: leaves the layout "+
				"directory", key)
		}
		return nil, "", 0, exit.IO(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", 0, exit.IO(err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, "", 0, errNotRegular
	}
	return f, key, st.Size(), nil
}

func (s *dirSource) has(name string) bool {
	key, err := cleanMemberName(name)
	if err != nil {
		return false
	}
	_, err = s.root.Lstat(key)
	return err == nil
}

// memberError wraps err with the archive and member names; an error
// without an exit code becomes a content error.
func memberError(file, name string, err error) error {
	wrapped := fmt.Errorf("%s: member %s: %w", file, name, err)
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return wrapped
	}
	return exit.Content(wrapped)
}

// readJSON reads a small document into memory, refusing one larger than
// MaxJSONSize. It returns the bytes and the resolved member name.
func readJSON(src source, file, name string) ([]byte, string, error) {
	rc, resolved, size, err := src.open(name)
	if err != nil {
		return nil, "", memberError(file, name, err)
	}
	defer rc.Close()
	if size > MaxJSONSize {
		return nil, "", exit.Contentf("%s: member %s: %d bytes, "+
			"limit %d", file, name, size, MaxJSONSize)
	}
	data, err := io.ReadAll(io.LimitReader(rc, MaxJSONSize+1))
	if err != nil {
		return nil, "", exit.IO(fmt.Errorf("read %s: member %s: %w",
			file, name, err))
	}
	if len(data) > MaxJSONSize {
		return nil, "", exit.Contentf("%s: member %s: more than %d "+
			"bytes", file, name, MaxJSONSize)
	}
	return data, resolved, nil
}
