package imagebuild

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestBuild checks the config, the layer descriptors and the blobs of
// each compression and manifest kind.
func TestBuild(t *testing.T) {
	raw := [][]byte{
		Layer(File("a", []byte("a"))),
		{},
		EmptyTar(),
		Layer(File("a", []byte("a"))), // a repeat
	}
	tests := []struct {
		compress, manifest string
		layerType          string
		manifestType       string
	}{
		{"", "", ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageManifest},
		{"gzip", "oci", ocispec.MediaTypeImageLayerGzip,
			ocispec.MediaTypeImageManifest},
		{"zstd", "oci", ocispec.MediaTypeImageLayerZstd,
			ocispec.MediaTypeImageManifest},
		{"gzip", "docker", imagewrite.MediaTypeDockerLayerGzip,
			imagewrite.MediaTypeDockerManifest},
		{"none", "none", ocispec.MediaTypeImageLayer, ""},
	}
	for _, tt := range tests {
		t.Run(tt.compress+"/"+tt.manifest, func(t *testing.T) {
			img, blobs, err := Build(Spec{
				Tags: []string{"x:1"}, Arch: "arm64", Layers: raw,
				Compress: tt.compress, Manifest: tt.manifest,
				History: []string{"first"},
			})
			if err != nil {
				t.Fatal(err)
			}

			var config ocispec.Image
			if err := json.Unmarshal(img.ConfigBytes, &config); err != nil {
				t.Fatal(err)
			}
			if config.OS != "linux" || config.Architecture != "arm64" {
				t.Errorf("platform: got %s/%s, want linux/arm64",
					config.OS, config.Architecture)
			}
			if len(config.RootFS.DiffIDs) != len(raw) ||
				len(config.History) != len(raw) {
				t.Fatalf("config: %d diff_ids, %d history; want %d",
					len(config.RootFS.DiffIDs), len(config.History),
					len(raw))
			}
			if config.History[0].CreatedBy != "first" ||
				config.History[1].CreatedBy != "layer 2" {
				t.Errorf("history: got %q, %q; want first, layer 2",
					config.History[0].CreatedBy,
					config.History[1].CreatedBy)
			}
			for i, l := range img.Layers {
				if want := digest.FromBytes(raw[i]); config.RootFS.
					DiffIDs[i] != want {
					t.Errorf("diff_id %d: got %s, want %s", i,
						config.RootFS.DiffIDs[i], want)
				}
				if l.MediaType != tt.layerType {
					t.Errorf("layer %d: media type %s, want %s", i,
						l.MediaType, tt.layerType)
				}
				b := readBlob(t, blobs, l.Digest)
				if digest.FromBytes(b) != l.Digest ||
					int64(len(b)) != l.Size {
					t.Errorf("layer %d: blob does not match %s, %d", i,
						l.Digest, l.Size)
				}
			}
			if img.Layers[0].Digest != img.Layers[3].Digest {
				t.Errorf("equal layers got different digests")
			}

			if got := readBlob(t, blobs, img.Config.Digest); !bytes.Equal(
				got, img.ConfigBytes) {
				t.Errorf("config blob differs from ConfigBytes")
			}
			if img.Manifest.MediaType != tt.manifestType {
				t.Errorf("manifest type: got %q, want %q",
					img.Manifest.MediaType, tt.manifestType)
			}
			if tt.manifestType != "" {
				got := readBlob(t, blobs, img.Manifest.Digest)
				if !bytes.Equal(got, img.ManifestBytes) {
					t.Errorf("manifest blob differs from ManifestBytes")
				}
			}

			again, _, _ := Build(Spec{
				Tags: []string{"x:1"}, Arch: "arm64", Layers: raw,
				Compress: tt.compress, Manifest: tt.manifest,
				History: []string{"first"},
			})
			if !bytes.Equal(again.ConfigBytes, img.ConfigBytes) ||
				!bytes.Equal(again.ManifestBytes, img.ManifestBytes) {
				t.Errorf("two builds differ")
			}
		})
	}
}

func readBlob(t *testing.T, blobs Blobs, d digest.Digest) []byte {
	t.Helper()
	rc, err := blobs.OpenBlob(d)
	if err != nil {
		t.Fatalf("open blob %s: %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildRefuses checks bad Spec values and an unknown blob.
func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"compression", Spec{Compress: "lz4"}},
		{"manifest", Spec{Manifest: "schema1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Build(tt.spec)
			if got := exit.Code(err); got != exit.UsageErr {
				t.Errorf("exit code: got %d, want %d (%v)", got,
					exit.UsageErr, err)
			}
		})
	}
	_, err := Blobs{}.OpenBlob(digest.FromString("x"))
	if got := exit.Code(err); got != exit.Corrupt {
		t.Errorf("unknown blob: exit code %d, want %d", got, exit.Corrupt)
	}
}
