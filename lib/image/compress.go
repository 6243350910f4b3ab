package image

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/diffah/diffah/lib/exit"
	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
)

// Compression kinds reported by Decompress and Archive.Compression.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
)

// compression is one whole-stream compression that diffah recognises.
// mholt/archives matches its magic and, for the kinds diffah reads,
// opens the decoder.
type compression struct {
	kind   string
	format archives.Compression
}

// readable lists the compressions Decompress opens. Gzip reads every
// member of a multi-member stream (the library's default). The zstd
// decoder's window is bounded by MaxZstdWindow and it decodes on one
// goroutine, so a hostile frame cannot ask for more memory.
var readable = []compression{
	{CompressionGzip, archives.Gz{}},
	{CompressionZstd, archives.Zstd{DecoderOptions: []zstd.DOption{
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(MaxZstdWindow),
		zstd.WithDecoderLowmem(true),
	}}},
}

// named lists compressions that are recognised only to name them in an
// error: their decoders take memory from the stream's header (xz) or
// are slow enough to make a bomb cheap (bzip2), and no image tool
// writes them for layers.
var named = []compression{
	{"xz", archives.Xz{}},
	{"bzip2", archives.Bz2{}},
}

// sniffCompression returns the compression whose magic starts head, or
// a compression of kind "none" and no format.
func sniffCompression(head []byte) compression {
	for _, list := range [][]compression{readable, named} {
		for _, c := range list {
			m, err := c.format.Match(context.Background(), "",
				bytes.NewReader(head))
			if err == nil && m.ByStream {
				return c
			}
		}
	}
	return compression{kind: CompressionNone}
}

// Decompress sniffs r and returns a reader of the decompressed bytes and
// the kind name: "gzip", "zstd" or "none" (other compressions are a
// content error naming them). Every member of a multi-member gzip
// stream is read. The zstd decoder's window is at most MaxZstdWindow
// bytes. Closing the returned reader does not close r. Errors from
// corrupt compressed data are content errors (exit 4).
func Decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(envReader{r}, 64<<10)
	head, err := br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", exit.IO(fmt.Errorf("sniff compression: %w", err))
	}
	c := sniffCompression(head)
	switch c.kind {
	case CompressionNone:
		return io.NopCloser(br), CompressionNone, nil
	case CompressionGzip, CompressionZstd:
	default:
		return nil, "", exit.Contentf("%s-compressed data not supported, "+
			"want tar, gzip or zstd", c.kind)
	}
	dec, err := c.format.OpenReader(br)
	if err != nil {
		if isCoded(err) {
			return nil, "", err
		}
		return nil, "", exit.Contentf("%s header: %w", c.kind, err)
	}
	return &contentReader{r: dec, c: dec, kind: c.kind}, c.kind, nil
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
