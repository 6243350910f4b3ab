package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkArchive checks the invariants every opened archive keeps: the
// manifest and config bytes hash to their descriptors, every blob reads
// back verified, the manifest lists the config and layers, and every
// entry's offset points at its data.
func checkArchive(t testing.TB, a *Archive) {
	t.Helper()
	img := a.Image()
	if img == nil {
		t.Fatalf("Image() = nil")
	}
	if got := digest.FromBytes(img.ManifestBytes); got != img.Manifest.Digest {
		t.Errorf("manifest bytes hash to %s, want %s", got,
			img.Manifest.Digest)
	}
	if got := digest.FromBytes(img.ConfigBytes); got != img.Config.Digest {
		t.Errorf("config bytes hash to %s, want %s", got, img.Config.Digest)
	}

	var m struct {
		Config struct{ Digest digest.Digest }
		Layers []struct{ Digest digest.Digest }
	}
	if err := json.Unmarshal(img.ManifestBytes, &m); err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	if m.Config.Digest != img.Config.Digest {
		t.Errorf("manifest config %s, want %s", m.Config.Digest,
			img.Config.Digest)
	}
	if len(m.Layers) != len(img.Layers) {
		t.Fatalf("manifest lists %d layers, Image %d", len(m.Layers),
			len(img.Layers))
	}
	for i, l := range img.Layers {
		if m.Layers[i].Digest != l.Digest {
			t.Errorf("manifest layer %d: got %s, want %s", i,
				m.Layers[i].Digest, l.Digest)
		}
	}

	if a.Format == DockerArchive {
		want, err := SynthesizeDockerManifest(img.Config, img.Layers)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, img.ManifestBytes) {
			t.Errorf("docker manifest differs from synthesized one:\n"+
				"got  %s\nwant %s", img.ManifestBytes, want)
		}
	}

	blobs := append([]ocispec.Descriptor{img.Config, img.Manifest},
		img.Layers...)
	for _, d := range blobs {
		rc, err := a.OpenBlob(d.Digest)
		if err != nil {
			t.Fatalf("OpenBlob(%s): %v", d.Digest, err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Errorf("read blob %s: %v", d.Digest, err)
		}
		if n != d.Size {
			t.Errorf("blob %s: read %d bytes, want %d", d.Digest, n, d.Size)
		}
	}
	for _, l := range img.Layers {
		if a.BlobMember(l.Digest) == "" {
			t.Errorf("BlobMember(%s) = \"\"", l.Digest)
		}
	}

	if a.TarPath() == "" {
		return
	}
	f, err := os.Open(a.TarPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range a.Entries() {
		if e.Typeflag != tar.TypeReg {
			continue
		}
		got := make([]byte, e.Size)
		if _, err := f.ReadAt(got, e.Offset); err != nil {
			t.Fatalf("entry %s at %d: %v", e.Name, e.Offset, err)
		}
		rc, err := a.OpenMember(e.Name)
		if err != nil {
			continue // e.g. a member shadowed by nothing readable
		}
		want, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("entry %s: bytes at offset %d differ from the member",
				e.Name, e.Offset)
		}
	}
}
