package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

type readEntry struct {
	hdr  *tar.Header
	body []byte
}

func readLayer(t *testing.T, b []byte) []readEntry {
	t.Helper()
	var out []readEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", hdr.Name, err)
		}
		out = append(out, readEntry{hdr, body})
	}
}

// TestLayer round-trips entries of every kind through archive/tar.
func TestLayer(t *testing.T) {
	long := strings.Repeat("d", 60) + "/" + strings.Repeat("f", 60)
	longName := strings.Repeat("n", 120)
	tests := []struct {
		in         Entry
		name, link string
		typ        byte
		mode       int64
		body       string
		pax        bool
	}{
		{File("/etc/hosts", []byte("h")), "etc/hosts", "", tar.TypeReg,
			0o644, "h", false},
		{Exec("bin/x", []byte("#!")), "bin/x", "", tar.TypeReg, 0o755,
			"#!", false},
		{Dir("etc"), "etc/", "", tar.TypeDir, 0o755, "", false},
		{Dir("/var/"), "var/", "", tar.TypeDir, 0o755, "", false},
		{Entry{Path: "tmp", Type: tar.TypeDir, Mode: 0o1777}, "tmp/", "",
			tar.TypeDir, 0o1777, "", false},
		{Symlink("bin/sh", "busybox"), "bin/sh", "busybox",
			tar.TypeSymlink, 0o777, "", false},
		{Hardlink("bin/ls", "bin/x"), "bin/ls", "bin/x", tar.TypeLink,
			0o644, "", false},
		{Whiteout("etc/motd"), "etc/.wh.motd", "", tar.TypeReg, 0o644, "",
			false},
		{Whiteout("/top"), ".wh.top", "", tar.TypeReg, 0o644, "", false},
		{Opaque("usr/share/doc/"), "usr/share/doc/.wh..wh..opq", "",
			tar.TypeReg, 0o644, "", false},
		{File(long, []byte("split")), long, "", tar.TypeReg, 0o644,
			"split", false},
		{File("a/"+longName, []byte("pax")), "a/" + longName, "",
			tar.TypeReg, 0o644, "pax", true},
	}
	var entries []Entry
	for _, tt := range tests {
		entries = append(entries, tt.in)
	}
	got := readLayer(t, Layer(entries...))
	if len(got) != len(tests) {
		t.Fatalf("got %d entries, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		h := got[i].hdr
		if h.Name != tt.name || h.Typeflag != tt.typ ||
			h.Linkname != tt.link || h.Mode != tt.mode ||
			string(got[i].body) != tt.body {
			t.Errorf("entry %d: got %q type %c link %q mode %o body %q, "+
				"want %q type %c link %q mode %o body %q", i, h.Name,
				h.Typeflag, h.Linkname, h.Mode, got[i].body, tt.name,
				tt.typ, tt.link, tt.mode, tt.body)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d:%d mtime %v, want 0:0 at the epoch",
				h.Name, h.Uid, h.Gid, h.ModTime)
		}
		if pax := h.Format == tar.FormatPAX; pax != tt.pax {
			t.Errorf("%s: format %v, want PAX %v", h.Name, h.Format, tt.pax)
		}
	}
}

// TestLayerDeterministic builds the same layer twice.
func TestLayerDeterministic(t *testing.T) {
	a, b := baseLayer(), baseLayer()
	if !bytes.Equal(a, b) {
		t.Errorf("two builds differ: %s and %s", digest.FromBytes(a),
			digest.FromBytes(b))
	}
}

// TestEmptyLayers checks both kinds of empty layer.
func TestEmptyLayers(t *testing.T) {
	empty := EmptyTar()
	if len(empty) != 1024 || !bytes.Equal(empty, make([]byte, 1024)) {
		t.Errorf("EmptyTar: %d bytes, want 1024 zero bytes", len(empty))
	}
	// The diff_id Docker gives the empty layer of ENV and CMD steps.
	const want = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea4175" +
		"5b6cddfaf10ace3c6ef"
	if got := digest.FromBytes(empty); got != want {
		t.Errorf("EmptyTar digest: got %s, want %s", got, want)
	}
	if got := readLayer(t, empty); len(got) != 0 {
		t.Errorf("EmptyTar: %d entries, want 0", len(got))
	}
}

// TestCompress checks that Gzip and Zstd are deterministic, carry no
// name or mtime, and round-trip.
func TestCompress(t *testing.T) {
	in := baseLayer()
	tests := []struct {
		name   string
		fn     func([]byte) []byte
		decode func([]byte) ([]byte, error)
	}{
		{"gzip", Gzip, func(b []byte) ([]byte, error) {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			if zr.Name != "" || !zr.ModTime.IsZero() {
				t.Errorf("gzip header: name %q mtime %v, want none",
					zr.Name, zr.ModTime)
			}
			return io.ReadAll(zr)
		}},
		{"zstd", Zstd, func(b []byte) ([]byte, error) {
			zr, err := zstd.NewReader(nil)
			if err != nil {
				return nil, err
			}
			defer zr.Close()
			return zr.DecodeAll(b, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.fn(in), tt.fn(in)
			if !bytes.Equal(a, b) {
				t.Errorf("two runs differ")
			}
			out, err := tt.decode(a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Errorf("round trip: got %d bytes, want %d", len(out),
					len(in))
			}
			// Binary-like content compresses, but not to nothing.
			if r := float64(len(in)) / float64(len(a)); r < 1.5 || r > 8 {
				t.Errorf("compression ratio %.2f, want 1.5 to 8", r)
			}
		})
	}
}
