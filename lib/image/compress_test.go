package image

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/diffah/diffah/lib/exit"
)

func TestDecompress(t *testing.T) {
	text := bytes.Repeat([]byte("diffah layer bytes "), 500)
	multiGzip := append(gzipBytes(t, text[:100]), gzipBytes(t, text[100:])...)
	corruptZstd := zstdBytes(t, text)
	corruptZstd = corruptZstd[:len(corruptZstd)-3]

	tests := []struct {
		name     string
		in       []byte
		wantKind string
		want     []byte
		wantCode int
	}{
		{"plain", text, "none", text, exit.OK},
		{"empty", nil, "none", nil, exit.OK},
		{"gzip", gzipBytes(t, text), "gzip", text, exit.OK},
		{"multi-member gzip", multiGzip, "gzip", text, exit.OK},
		{"zstd", zstdBytes(t, text), "zstd", text, exit.OK},
		{"truncated zstd", corruptZstd, "zstd", nil, exit.Corrupt},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0, 0}, "", nil,
			exit.Corrupt},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				rc, kind, err := Decompress(wrap(bytes.NewReader(tt.in)))
				var got []byte
				if err == nil {
					got, err = io.ReadAll(rc)
					rc.Close()
				}
				if code := exit.Code(err); code != tt.wantCode {
					t.Fatalf("got exit %d (%v), want %d", code, err,
						tt.wantCode)
				}
				if err != nil {
					return
				}
				if kind != tt.wantKind {
					t.Errorf("kind: got %q, want %q", kind, tt.wantKind)
				}
				if !bytes.Equal(got, tt.want) {
					t.Errorf("got %d bytes, want %d", len(got),
						len(tt.want))
				}
			})
		}
	}
}

func TestSniffCompression(t *testing.T) {
	tests := []struct {
		head []byte
		want string
	}{
		{[]byte{0x1f, 0x8b, 8}, "gzip"},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd"},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz"},
		{[]byte("BZh9"), "bzip2"},
		{[]byte("ustar"), "none"},
		{[]byte{0x1f}, "none"},
		{nil, "none"},
	}
	for _, tt := range tests {
		if got := sniffCompression(tt.head).kind; got != tt.want {
			t.Errorf("sniffCompression(% x): got %q, want %q", tt.head,
				got, tt.want)
		}
	}
}
