package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/diffah/diffah/lib/exit"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression kinds reported by Decompress and Archive.Compression.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
)

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte("BZh")
)

// sniffCompression names the compression whose magic starts head:
// "gzip", "zstd", "xz", "bzip2", or "none".
func sniffCompression(head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return CompressionGzip
	case bytes.HasPrefix(head, magicZstd):
		return CompressionZstd
	case bytes.HasPrefix(head, magicXz):
		return "xz"
	case bytes.HasPrefix(head, magicBzip2):
		return "bzip2"
	}
	return CompressionNone
}

// Decompress sniffs r (gzip magic 1f8b, zstd magic 28b52ffd, else none)
// and returns a reader of the decompressed bytes and the kind name:
// "gzip", "zstd" or "none". Every member of a multi-member gzip stream is
// read. The zstd decoder's window is at most MaxZstdWindow bytes and it
// decodes on one goroutine. Closing the returned reader does not close r.
// Errors from corrupt compressed data are content errors (exit 4).
func Decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(envReader{r}, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", exit.IO(fmt.Errorf("sniff compression: %w", err))
	}
	kind := sniffCompression(head)
	switch kind {
	case CompressionGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", exit.Contentf("gzip header: %w", err)
		}
		zr.Multistream(true)
		return &contentReader{r: zr, c: zr, kind: kind}, kind, nil
	case CompressionZstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(MaxZstdWindow),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, "", exit.Contentf("zstd header: %w", err)
		}
		rc := zr.IOReadCloser()
		return &contentReader{r: rc, c: rc, kind: kind}, kind, nil
	}
	return io.NopCloser(br), CompressionNone, nil
}

// contentReader marks decoder errors as content errors.
type contentReader struct {
	r    io.Reader
	c    io.Closer
	kind string
}

func (cr *contentReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if err != nil && err != io.EOF {
		wrapped := fmt.Errorf("%s data: %w", cr.kind, err)
		if !isCoded(err) {
			wrapped = exit.Content(wrapped)
		}
		err = wrapped
	}
	return n, err
}

// envReader marks errors of the underlying reader as environment
// errors, so they are not mistaken for corrupt data.
type envReader struct{ r io.Reader }

func (e envReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = exit.IO(err)
	}
	return n, err
}

func isCoded(err error) bool {
	var coded interface{ ExitCode() int }
	return errors.As(err, &coded)
}

func (cr *contentReader) Close() error {
	return cr.c.Close()
}
