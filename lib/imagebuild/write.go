package imagebuild

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagewrite"
	"github.com/klauspost/compress/gzip"
)

// Formats are the output formats Write and WriteFile know.
var Formats = []string{
	"docker-legacy", "docker-modern", "docker-skopeo",
	"oci-archive", "oci-dir",
}

// WriteFile builds spec and writes it to path in format: one of Formats,
// optionally followed by "+gzip" or "+zstd" to compress the whole file
// ("oci-archive+zstd"; not for "oci-dir"). The file is written under a
// temporary name in the same directory and renamed into place; "oci-dir"
// makes a directory through imagewrite.WriteOCILayout.
func WriteFile(path string, spec Spec, format string) error {
	img, blobs, err := Build(spec)
	if err != nil {
		return err
	}
	return WriteImageFile(path, img, blobs, format)
}

// WriteImageFile writes an already built image to path, as WriteFile.
func WriteImageFile(path string, img *imagewrite.Image,
	src imagewrite.BlobSource, format string) (err error) {

	base, compress, err := splitFormat(format)
	if err != nil {
		return err
	}
	if base == "oci-dir" {
		if compress != "" {
			return exit.Usagef("format %q: a directory cannot be "+
				"compressed", format)
		}
		return imagewrite.WriteOCILayout(path, img, src)
	}

	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+
		".tmp-")
	if err != nil {
		return exit.IO(fmt.Errorf("write %s: %w", path, err))
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return exit.IO(fmt.Errorf("write %s: %w", path, err))
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := WriteImage(bw, img, src, format); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return exit.IO(fmt.Errorf("write %s: %w", path, err))
	}
	if err := f.Close(); err != nil {
		return exit.IO(fmt.Errorf("write %s: %w", path, err))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return exit.IO(fmt.Errorf("write %s: %w", path, err))
	}
	return nil
}

// Write builds spec and writes it to w in format, which is one of
// Formats other than "oci-dir", with an optional "+gzip" or "+zstd".
func Write(w io.Writer, spec Spec, format string) error {
	img, blobs, err := Build(spec)
	if err != nil {
		return err
	}
	return WriteImage(w, img, blobs, format)
}

// WriteImage writes an already built image to w, as Write.
func WriteImage(w io.Writer, img *imagewrite.Image,
	src imagewrite.BlobSource, format string) error {

	base, compress, err := splitFormat(format)
	if err != nil {
		return err
	}
	write, err := archiveWriter(base)
	if err != nil {
		return err
	}

	switch compress {
	case "gzip":
		zw := gzip.NewWriter(w)
		if err := write(zw, img, src); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return exit.IO(fmt.Errorf("gzip: %w", err))
		}
		return nil
	case "zstd":
		zw := newZstd()
		zw.Reset(w)
		if err := write(zw, img, src); err != nil {
			zw.Close()
			return err
		}
		if err := zw.Close(); err != nil {
			return exit.IO(fmt.Errorf("zstd: %w", err))
		}
		return nil
	}
	return write(w, img, src)
}

type writeFunc func(io.Writer, *imagewrite.Image, imagewrite.BlobSource) error

func archiveWriter(base string) (writeFunc, error) {
	docker := func(l imagewrite.DockerLayout) writeFunc {
		return func(w io.Writer, img *imagewrite.Image,
			src imagewrite.BlobSource) error {
			return imagewrite.WriteDockerArchive(w, img, src,
				imagewrite.DockerOptions{Layout: l})
		}
	}
	switch base {
	case "docker-legacy":
		return docker(imagewrite.LayoutLegacy), nil
	case "docker-modern":
		return docker(imagewrite.LayoutModern), nil
	case "docker-skopeo":
		return docker(imagewrite.LayoutSkopeo), nil
	case "oci-archive":
		return func(w io.Writer, img *imagewrite.Image,
			src imagewrite.BlobSource) error {
			return imagewrite.WriteOCIArchive(w, img, src)
		}, nil
	case "oci-dir":
		return nil, exit.Usagef("format oci-dir: a directory, not a " +
			"stream; use WriteFile")
	}
	return nil, exit.Usagef("format %q: want one of %s", base,
		strings.Join(Formats, ", "))
}

// splitFormat splits "oci-archive+zstd" into "oci-archive" and "zstd".
func splitFormat(format string) (base, compress string, err error) {
	base, compress, plus := strings.Cut(format, "+")
	switch {
	case !plus:
		return base, "", nil
	case compress == "gzip", compress == "zstd":
		return base, compress, nil
	}
	return "", "", exit.Usagef("format %q: compression %q: want gzip or "+
		"zstd", format, compress)
}
