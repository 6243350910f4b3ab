package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/diffah/diffah/lib/exit"
)

// maxNameBytes bounds the total length of member names kept in an index.
const maxNameBytes = 64 << 20

// member is one named tar entry of an index.
type member struct {
	name     string // cleaned
	typeflag byte
	linkname string
	offset   int64
	size     int64
	sparse   bool
}

// tarIndex records every header of a tar file and where its data lies.
type tarIndex struct {
	file    string // the tar's path, for messages
	entries []Entry
	members map[string]*member
	read    int64 // bytes read (not skipped) while indexing
}

// countingReader reads a file and knows its position. It implements
// io.Seeker so archive/tar skips member data by seeking.
type countingReader struct {
	f    *os.File
	pos  int64
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.pos += int64(n)
	c.read += int64(n)
	return n, err
}

func (c *countingReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := c.f.Seek(offset, whence)
	if err == nil {
		c.pos = pos
	}
	return pos, err
}

// indexTar reads every header of f (positioned at its start) once.
func indexTar(ctx context.Context, name string, f *os.File) (*tarIndex,
	error) {
	ix := &tarIndex{file: name, members: map[string]*member{}}
	cr := &countingReader{f: f}
	tr := tar.NewReader(cr)
	nameBytes := 0
	for {
		if len(ix.entries)%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		headerAt := cr.pos
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tarReadError(name, headerAt, err)
		}
		if len(ix.entries) >= MaxEntries {
			return nil, exit.Contentf("%s: more than %d tar entries",
				name, MaxEntries)
		}
		nameBytes += len(hdr.Name) + len(hdr.Linkname)
		if nameBytes > maxNameBytes {
			return nil, exit.Contentf("%s: member names exceed %d bytes",
				name, maxNameBytes)
		}
		if err := ix.add(hdr, cr.pos); err != nil {
			return nil, err
		}
	}
	if len(ix.entries) == 0 {
		return nil, exit.Contentf("%s: empty tar archive", name)
	}
	ix.read = cr.read
	return ix, nil
}

func tarReadError(name string, at int64, err error) error {
	if errors.Is(err, os.ErrClosed) || isPathError(err) {
		return exit.IO(fmt.Errorf("read %s: %w", name, err))
	}
	return exit.Contentf("read %s: tar header at offset %d: %w",
		name, at, err)
}

func isPathError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// add records hdr, whose data starts at offset.
func (ix *tarIndex) add(hdr *tar.Header, offset int64) error {
	display := trimDotSlash(hdr.Name)
	ix.entries = append(ix.entries, Entry{
		Name:     display,
		Typeflag: hdr.Typeflag,
		Linkname: hdr.Linkname,
		Offset:   offset,
		Size:     hdr.Size,
	})

	key, err := cleanMemberName(display)
	if err != nil {
		return exit.Contentf("%s: member %q: %w", ix.file, hdr.Name, err)
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if key == "." && !isDir {
		return exit.Contentf("%s: member %q: not a directory but names "+
			"the root", ix.file, hdr.Name)
	}
	if prev, ok := ix.members[key]; ok {
		if !isDir || prev.typeflag != tar.TypeDir {
			return exit.Contentf("%s: member %q: duplicate name",
				ix.file, hdr.Name)
		}
		return nil
	}
	ix.members[key] = &member{
		name:     key,
		typeflag: hdr.Typeflag,
		linkname: hdr.Linkname,
		offset:   offset,
		size:     hdr.Size,
		sparse:   isSparse(hdr),
	}
	return nil
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func trimDotSlash(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return name
}

// cleanMemberName returns the canonical form of a member name, refusing
// absolute names and names that leave the archive root.
func cleanMemberName(name string) (string, error) {
	name = trimDotSlash(name)
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute name")
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("name holds a NUL byte")
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errors.New("name leaves the archive root")
	}
	if name == "" {
		return ".", nil
	}
	return clean, nil
}

// errNotRegular is wrapped when a name resolves to something that is not
// a regular file.
var errNotRegular = errors.New("not a regular file")

// resolve follows symlinks and hard links from name to a regular file.
// The error says what went wrong but not which archive.
func (ix *tarIndex) resolve(name string) (*member, error) {
	cur, err := cleanMemberName(name)
	if err != nil {
		return nil, err
	}
	start := cur
	seen := map[string]bool{}
	for hops := 0; ; hops++ {
		m, ok := ix.members[cur]
		if !ok {
			if cur != start {
				return nil, fmt.Errorf("link target %s: %w", cur,
					fs.ErrNotExist)
			}
			return nil, fs.ErrNotExist
		}
		var target string
		switch m.typeflag {
		case tar.TypeReg:
			if m.sparse {
				// TODO(#2): sparse members are refused: their data
				// in the tar is not their content, so a section of
				// the file cannot be served.
				return nil, errors.New("sparse member not supported")
			}
			return m, nil
		case tar.TypeSymlink:
			if path.IsAbs(m.linkname) {
				return nil, fmt.Errorf("symlink %s -> %s: absolute target",
					cur, m.linkname)
			}
			target = path.Join(path.Dir(cur), m.linkname)
		case tar.TypeLink:
			target = trimDotSlash(m.linkname)
		default:
			if cur == start {
				return nil, fmt.Errorf("%w (type %q)", errNotRegular,
					m.typeflag)
			}
			return nil, fmt.Errorf("link target %s: %w (type %q)", cur,
				errNotRegular, m.typeflag)
		}
		if seen[cur] {
			return nil, fmt.Errorf("link loop at %s", cur)
		}
		seen[cur] = true
		if hops >= MaxSymlinkHops {
			return nil, fmt.Errorf("more than %d link hops from %s",
				MaxSymlinkHops, name)
		}
		next, err := cleanMemberName(target)
		if err != nil || next == "." {
			return nil, fmt.Errorf("link %s -> %s: target leaves the "+
				"archive root", cur, m.linkname)
		}
		cur = next
	}
}
