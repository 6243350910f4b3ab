package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Entry is one member of a layer tar.
type Entry struct {
	// Path inside the image, without a leading "/"; a directory's path
	// gets a trailing "/" in the tar.
	Path string

	// Type is a tar type flag: tar.TypeReg (the default when 0),
	// tar.TypeDir, tar.TypeSymlink or tar.TypeLink.
	Type byte

	// Body is the content of a regular file.
	Body []byte

	// Mode is the permission bits (setuid, setgid and sticky included);
	// 0 means 0644 for a file, 0755 for a directory, 0777 for a symlink.
	Mode int64

	// Linkname is the target of a symlink, or the path of the member a
	// hard link shares its content with.
	Linkname string
}

// File is a regular file with mode 0644.
func File(p string, body []byte) Entry {
	return Entry{Path: p, Type: tar.TypeReg, Body: body}
}

// Exec is a regular file with mode 0755.
func Exec(p string, body []byte) Entry {
	return Entry{Path: p, Type: tar.TypeReg, Body: body, Mode: 0o755}
}

// Dir is a directory with mode 0755.
func Dir(p string) Entry { return Entry{Path: p, Type: tar.TypeDir} }

// Symlink is a symbolic link at p pointing to target.
func Symlink(p, target string) Entry {
	return Entry{Path: p, Type: tar.TypeSymlink, Linkname: target}
}

// Hardlink is a hard link at p to the earlier member target.
func Hardlink(p, target string) Entry {
	return Entry{Path: p, Type: tar.TypeLink, Linkname: target}
}

// Whiteout deletes p from the lower layers: an empty file named
// ".wh.<base name>" in p's directory.
func Whiteout(p string) Entry {
	dir, name := path.Split(strings.Trim(p, "/"))
	return File(dir+".wh."+name, nil)
}

// Opaque hides everything the lower layers hold under dir: the marker
// file "<dir>/.wh..wh..opq". The layer should also hold Dir(dir).
func Opaque(dir string) Entry {
	return File(strings.Trim(dir, "/")+"/.wh..wh..opq", nil)
}

// EmptyTar is a layer with no entries: only the end-of-archive marker,
// 1024 zero bytes. (A zero-length layer, []byte{}, is another kind of
// empty layer; Build accepts both.)
func EmptyTar() []byte { return Layer() }

// Layer returns the uncompressed tar of entries, in the order given.
// Owners are 0, mtimes the Unix epoch; archive/tar writes USTAR headers
// where they fit (splitting a long path into prefix and name) and PAX
// otherwise. Layer panics if archive/tar refuses an entry, which only a
// program error can cause; BuildLayer returns the error instead.
func Layer(entries ...Entry) []byte {
	b, err := BuildLayer(entries...)
	if err != nil {
		panic("imagebuild: " + err.Error())
	}
	return b
}

// BuildLayer is Layer returning archive/tar's error rather than
// panicking.
func BuildLayer(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.header()
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", e.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer end: %w", err)
	}
	return buf.Bytes(), nil
}

func (e Entry) header() *tar.Header {
	typ := e.Type
	if typ == 0 {
		typ = tar.TypeReg
	}
	name := strings.TrimLeft(e.Path, "/")
	mode := e.Mode
	switch typ {
	case tar.TypeDir:
		name = strings.TrimSuffix(name, "/") + "/"
		if mode == 0 {
			mode = 0o755
		}
	case tar.TypeSymlink:
		if mode == 0 {
			mode = 0o777
		}
	default:
		if mode == 0 {
			mode = 0o644
		}
	}
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: e.Linkname,
		Mode:     mode,
		ModTime:  time.Unix(0, 0),
	}
	if typ == tar.TypeReg {
		hdr.Size = int64(len(e.Body))
	}
	return hdr
}

// Gzip compresses b with klauspost's gzip at the default level, with no
// name and a zero mtime in the header, so equal inputs give equal bytes.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail.
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Zstd compresses b as one zstd frame at the default level, with one
// encoder goroutine, so equal inputs give equal bytes.
func Zstd(b []byte) []byte {
	enc := newZstd()
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// newZstd returns the deterministic encoder Zstd and the whole-file
// compression use.
func newZstd() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		// Only invalid options make NewWriter fail; these are fixed.
		panic("imagebuild: zstd encoder: " + err.Error())
	}
	return enc
}
