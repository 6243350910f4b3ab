package image

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/go-digest"
)

// openSeeds are archives of every shape, to start fuzzing from.
func openSeeds(t testing.TB) [][]byte {
	gz := []layer{newLayer(t, "a", "alpha", "gzip")}
	plain := []layer{newLayer(t, "a", "alpha", "none")}
	img := func(layers []layer) dockerImage {
		return dockerImage{repoTags: `["x:1"]`, arch: "amd64",
			layers: layers}
	}
	b := newBuilder()
	ociIndex(t, b, withRef(ociImage(t, b, "amd64", gz), "x:1"))
	ociTar := b.tar(t)

	nb := newBuilder()
	m := ociImage(t, nb, "amd64", gz)
	ociIndex(t, nb, nestedIndex(t, nb,
		withPlatform(m, "linux", "amd64", "")))

	return [][]byte{
		buildDocker(t, legacyPlain, img(plain)),
		buildDocker(t, skopeoViaLink, img(gz)),
		buildDocker(t, docker25, img(plain)),
		ociTar,
		nb.tar(t),
		gzipBytes(t, ociTar),
		zstdBytes(t, buildDocker(t, skopeoStyle, img(gz))),
		writeTar(t, []tmember{{name: "manifest.json", body: []byte("[{}]")}}),
		{},
		[]byte("not a tar"),
	}
}

// FuzzOpen opens arbitrary bytes as an archive. Open must fail cleanly
// with an exit code or yield an image whose blobs read back verified or
// fail as content errors.
func FuzzOpen(f *testing.F) {
	for _, seed := range openSeeds(f) {
		f.Add(seed)
	}
	dir := f.TempDir() // one per worker process; execs run in turn
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Open(context.Background(), p, OpenOptions{
			TempDir: dir, MaxSpoolSize: 8 << 20})
		if err != nil {
			if code := exit.Code(err); code != exit.Corrupt &&
				code != exit.UsageErr {
				t.Fatalf("Open: exit %d, want 2 or 4: %v", code, err)
			}
			return
		}
		defer a.Close()

		img := a.Image()
		if digest.FromBytes(img.ManifestBytes) != img.Manifest.Digest {
			t.Fatalf("manifest bytes do not hash to %s",
				img.Manifest.Digest)
		}
		if digest.FromBytes(img.ConfigBytes) != img.Config.Digest {
			t.Fatalf("config bytes do not hash to %s", img.Config.Digest)
		}
		for _, l := range img.Layers {
			rc, err := a.OpenBlob(l.Digest)
			if err != nil {
				t.Fatalf("OpenBlob(%s): %v", l.Digest, err)
			}
			h := digest.SHA256.Digester()
			_, err = io.Copy(h.Hash(), rc)
			rc.Close()
			if err == nil && h.Digest() != l.Digest {
				t.Fatalf("blob %s read back as %s without error",
					l.Digest, h.Digest())
			}
			if err != nil && exit.Code(err) != exit.Corrupt {
				t.Fatalf("read blob %s: exit %d: %v", l.Digest,
					exit.Code(err), err)
			}
		}
		for _, e := range a.Entries() {
			if e.Offset < 0 || e.Size < 0 {
				t.Fatalf("entry %q: offset %d size %d", e.Name, e.Offset,
					e.Size)
			}
		}
	})
}

// FuzzDecompress decodes arbitrary bytes; it must not panic, and errors
// must carry an exit code.
func FuzzDecompress(f *testing.F) {
	text := bytes.Repeat([]byte("layer "), 100)
	f.Add(text)
	f.Add(gzipBytes(f, text))
	f.Add(zstdBytes(f, text))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, _, err := Decompress(bytes.NewReader(data))
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(rc, 64<<20))
			rc.Close()
		}
		if err != nil && exit.Code(err) == exit.Internal {
			t.Fatalf("error without exit code: %v", err)
		}
	})
}
