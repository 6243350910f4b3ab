package fingerprint

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/record"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// upstreamLayers names small layer blobs of the shared upstream fixtures
// (../../../shared/fixtures/upstream-diffah) to seed FuzzLayer with when
// that folder exists; copies of them are also committed under
// testdata/fuzz/FuzzLayer, so the seeds do not depend on it.
var upstreamLayers = []struct{ archive, member string }{
	{"v1_oci.tar", "blobs/sha256/" +
		"436177174c310a41e6bedc14e40a36b031e8fd58e9224da8be189d8c40e65cd7"},
	{"unrelated_oci.tar", "blobs/sha256/" +
		"67397bc63570de700a5b9bfaf63749b211bdfd92dbe158a48383bfaf70a59c41"},
	{"v4_target_oci.tar", "blobs/sha256/" +
		"f10429785789c46d4b1b53a92e75bf2b0290e1b4952f8e8e9564b56673013b38"},
}

const upstreamDir = "../../../shared/fixtures/upstream-diffah"

// readMember returns one member of a tar file, or nil if the file or
// the member is missing.
func readMember(path, name string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil
		}
		if hdr.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil
			}
			return data
		}
	}
}

// fuzzLayerSeeds are layer blobs of many shapes: generated tars plain,
// gzip and zstd, the upstream fixtures' gzip layers when present, and
// bytes that are not a tar.
func fuzzLayerSeeds() [][]byte {
	spec := imagebuild.Realistic(1)
	small := imagebuild.Layer(
		imagebuild.Dir("etc"),
		imagebuild.File("etc/hostname", []byte("box\n")),
		imagebuild.Symlink("bin", "usr/bin"),
		imagebuild.Hardlink("etc/name", "etc/hostname"),
		imagebuild.Whiteout("var/old"),
	)
	seeds := [][]byte{
		small,
		imagebuild.Gzip(small),
		imagebuild.Zstd(small),
		imagebuild.Gzip(spec.Layers[len(spec.Layers)-1]),
		imagebuild.EmptyTar(),
		append(imagebuild.Gzip(small), imagebuild.Gzip(small)...),
		append(imagebuild.Gzip(small), make([]byte, 1024)...),
		{},
		[]byte("not a tar at all"),
	}
	for _, l := range upstreamLayers {
		if b := readMember(filepath.Join(upstreamDir, l.archive),
			l.member); b != nil {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// decompressed is an oracle independent of image.Decompress: the bytes
// a layer decompresses to, at most limit+1 of them, or an error.
func decompressed(stored []byte, limit int64) ([]byte, error) {
	var r io.Reader = bytes.NewReader(stored)
	switch {
	case bytes.HasPrefix(stored, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = zr
	case bytes.HasPrefix(stored, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(image.MaxZstdWindow))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(io.LimitReader(r, limit+1))
}

// FuzzLayer fingerprints an image whose one layer holds arbitrary bytes.
// Run must fail with exit 4 or describe the layer exactly: one entry
// record per tar header archive/tar sees, and a layer record whose
// diffID and byte count are those of the decompressed bytes.
func FuzzLayer(f *testing.F) {
	for _, s := range fuzzLayerSeeds() {
		f.Add(s)
	}
	dir := f.TempDir() // one per worker process; execs run in turn
	path := filepath.Join(dir, "img.tar")
	f.Fuzz(func(t *testing.T, stored []byte) {
		var archive bytes.Buffer
		spec := imagebuild.Spec{Tags: []string{"fuzz:1"},
			Layers: [][]byte{stored}}
		if err := imagebuild.Write(&archive, spec, "oci-archive"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, archive.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer
		err := Run(context.Background(), []Input{{Name: "fuzz",
			Role: record.RoleTarget, Path: path}}, &out,
			Options{TempDir: dir})
		if err != nil {
			if code := exit.Code(err); code != exit.Corrupt {
				t.Fatalf("Run: got exit %d (%v), want %d", code, err,
					exit.Corrupt)
			}
			return
		}

		// The records read back, and describe the layer.
		var entries []record.Entry
		var layer *record.Layer
		r := record.NewReader(&out, "fuzz")
		for {
			raw, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading Run's output: %v", err)
			}
			switch raw.Kind {
			case record.KindEntry:
				var e record.Entry
				if err := raw.Decode("fuzz", &e); err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
			case record.KindLayer:
				layer = &record.Layer{}
				if err := raw.Decode("fuzz", layer); err != nil {
					t.Fatal(err)
				}
			}
		}
		if layer == nil {
			t.Fatalf("got no layer record")
		}
		if layer.Entries != len(entries) {
			t.Fatalf("layer record says %d entries, got %d entry records",
				layer.Entries, len(entries))
		}

		limit := image.ExpansionLimit(int64(len(stored)))
		plain, err := decompressed(stored, limit)
		if err != nil {
			t.Fatalf("Run accepted a layer that does not decompress: %v",
				err)
		}
		if int64(len(plain)) > limit {
			t.Fatalf("Run accepted a layer expanding past %d bytes", limit)
		}
		if got, want := layer.DiffID, digest.FromBytes(plain); got != want {
			t.Fatalf("got diffID %s, want %s", got, want)
		}
		if layer.Bytes != int64(len(plain)) {
			t.Fatalf("got %d bytes, want %d", layer.Bytes, len(plain))
		}

		// Entry records match what archive/tar reads, in order.
		tr := tar.NewReader(bytes.NewReader(plain))
		for i, e := range entries {
			hdr, err := tr.Next()
			if err != nil {
				t.Fatalf("entry %d %q: archive/tar says %v", i, e.Path, err)
			}
			if hdr.Name != e.Path || hdr.Size != e.Size ||
				entryType(hdr.Typeflag) != e.Type {
				t.Fatalf("entry %d: got %q %s %d, want %q %s %d", i, e.Path,
					e.Type, e.Size, hdr.Name, entryType(hdr.Typeflag),
					hdr.Size)
			}
			if hdr.Typeflag == tar.TypeReg {
				body, err := io.ReadAll(tr)
				if err != nil {
					t.Fatalf("entry %q: archive/tar says %v", e.Path, err)
				}
				if d := digest.FromBytes(body); d != e.Digest {
					t.Fatalf("entry %q: got digest %s, want %s", e.Path,
						e.Digest, d)
				}
			}
		}
		if layer.Tar && len(entries) == 0 {
			// Only an empty stream or an end marker is a tar without
			// entries.
			_, err := tar.NewReader(bytes.NewReader(plain)).Next()
			if err != io.EOF {
				t.Fatalf("layer marked a tar with no entries: %v", err)
			}
		}
	})
}
