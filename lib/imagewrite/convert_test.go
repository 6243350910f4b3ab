package imagewrite_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestToOCI checks the conversion of each kind of manifest.
func TestToOCI(t *testing.T) {
	tests := []struct {
		compress, manifest string
		wantLayerType      string
		wantSame           bool // the manifest is kept
	}{
		{"", "docker", ocispec.MediaTypeImageLayer, false},
		{"gzip", "docker", ocispec.MediaTypeImageLayerGzip, false},
		{"zstd", "docker", ocispec.MediaTypeImageLayerZstd, false},
		{"gzip", "none", ocispec.MediaTypeImageLayerGzip, false},
		{"gzip", "oci", ocispec.MediaTypeImageLayerGzip, true},
	}
	for _, tt := range tests {
		t.Run(tt.manifest+"/"+tt.compress, func(t *testing.T) {
			img, _ := testImage(t, tt.compress, tt.manifest, "app:1.0")
			before := bytes.Clone(img.ManifestBytes)
			got, err := imagewrite.ToOCI(img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(img.ManifestBytes, before) {
				t.Errorf("ToOCI changed its input")
			}
			same := bytes.Equal(got.ManifestBytes, img.ManifestBytes)
			if same != tt.wantSame {
				t.Errorf("manifest kept: got %v, want %v", same, tt.wantSame)
			}
			if d := digest.FromBytes(got.ManifestBytes); d !=
				got.Manifest.Digest {
				t.Errorf("manifest digest %s, bytes hash to %s",
					got.Manifest.Digest, d)
			}

			var m ocispec.Manifest
			if err := json.Unmarshal(got.ManifestBytes, &m); err != nil {
				t.Fatal(err)
			}
			if m.MediaType != ocispec.MediaTypeImageManifest ||
				got.Manifest.MediaType != ocispec.MediaTypeImageManifest {
				t.Errorf("media type: got %q and %q, want %s", m.MediaType,
					got.Manifest.MediaType, ocispec.MediaTypeImageManifest)
			}
			if m.Config.MediaType != ocispec.MediaTypeImageConfig ||
				m.Config.Digest != img.Config.Digest {
				t.Errorf("config: got %s %s, want %s %s",
					m.Config.MediaType, m.Config.Digest,
					ocispec.MediaTypeImageConfig, img.Config.Digest)
			}
			if len(m.Layers) != len(img.Layers) {
				t.Fatalf("layers: got %d, want %d", len(m.Layers),
					len(img.Layers))
			}
			for i, l := range m.Layers {
				if l.MediaType != tt.wantLayerType ||
					l.Digest != img.Layers[i].Digest ||
					l.Size != img.Layers[i].Size {
					t.Errorf("layer %d: got %s %s %d, want %s %s %d", i,
						l.MediaType, l.Digest, l.Size, tt.wantLayerType,
						img.Layers[i].Digest, img.Layers[i].Size)
				}
				if got.Layers[i].MediaType != l.MediaType {
					t.Errorf("layer %d: image says %s, manifest %s", i,
						got.Layers[i].MediaType, l.MediaType)
				}
			}
		})
	}
}

// TestToOCIRefuses checks manifests ToOCI cannot convert.
func TestToOCIRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*imagewrite.Image)
		code   int
	}{
		{"manifest list", func(img *imagewrite.Image) {
			setManifest(img, []byte(`{"schemaVersion":2,"mediaType":`+
				`"application/vnd.docker.distribution.manifest.list.v2+json",`+
				`"manifests":[]}`), "")
		}, exit.Corrupt},
		{"schema1", func(img *imagewrite.Image) {
			setManifest(img, []byte(`{"schemaVersion":1}`),
				"application/vnd.docker.distribution.manifest.v1+json")
		}, exit.Corrupt},
		{"foreign layer type", func(img *imagewrite.Image) {
			img.Layers[0].MediaType = "application/x-unknown"
		}, exit.Corrupt},
		{"config mismatch", func(img *imagewrite.Image) {
			img.ConfigBytes = []byte("{}")
		}, exit.Corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _ := testImage(t, "gzip", "docker")
			tt.change(img)
			_, err := imagewrite.ToOCI(img)
			if got := exit.Code(err); got != tt.code {
				t.Errorf("exit code: got %d, want %d (%v)", got, tt.code, err)
			}
		})
	}
}

func setManifest(img *imagewrite.Image, b []byte, mediaType string) {
	img.ManifestBytes = b
	img.Manifest = ocispec.Descriptor{MediaType: mediaType,
		Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// TestDockerManifest checks the synthesized Docker manifest.
func TestDockerManifest(t *testing.T) {
	tests := []struct{ compress, want string }{
		{"", imagewrite.MediaTypeDockerLayer},
		{"gzip", imagewrite.MediaTypeDockerLayerGzip},
		{"zstd", imagewrite.MediaTypeDockerLayerZstd},
	}
	for _, tt := range tests {
		t.Run(tt.compress, func(t *testing.T) {
			img, _ := testImage(t, tt.compress, "oci")
			got, err := imagewrite.DockerManifest(img)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := imagewrite.DockerManifest(img)
			if !bytes.Equal(got.ManifestBytes, again.ManifestBytes) {
				t.Errorf("two calls give different bytes")
			}
			var m struct {
				SchemaVersion int
				MediaType     string
				Config        ocispec.Descriptor
				Layers        []ocispec.Descriptor
			}
			if err := json.Unmarshal(got.ManifestBytes, &m); err != nil {
				t.Fatal(err)
			}
			if m.SchemaVersion != 2 ||
				m.MediaType != imagewrite.MediaTypeDockerManifest ||
				m.Config.MediaType != imagewrite.MediaTypeDockerConfig ||
				m.Config.Digest != img.Config.Digest {
				t.Errorf("manifest head: got %+v", m)
			}
			for i, l := range m.Layers {
				if l.MediaType != tt.want || l.Digest != img.Layers[i].Digest {
					t.Errorf("layer %d: got %s %s, want %s %s", i,
						l.MediaType, l.Digest, tt.want, img.Layers[i].Digest)
				}
			}
			if got.Manifest.MediaType != imagewrite.MediaTypeDockerManifest {
				t.Errorf("descriptor media type: got %s",
					got.Manifest.MediaType)
			}
		})
	}
}

// FuzzToOCI feeds arbitrary manifest and config bytes to ToOCI and to
// the writers: they may refuse them, never panic, and what ToOCI returns
// must be a consistent OCI manifest.
func FuzzToOCI(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.`+
		`distribution.manifest.v2+json"}`), []byte(`{"os":"linux"}`), "")
	f.Add([]byte(`{"schemaVersion":2}`), []byte(`[]`), "x")
	f.Add([]byte{}, []byte(`{"architecture":1,"config":null}`), "")
	f.Fuzz(func(t *testing.T, manifest, config []byte, mediaType string) {
		layer := []byte("layer")
		img := &imagewrite.Image{
			Tags: []string{"app:1.0"},
			Config: ocispec.Descriptor{Digest: digest.FromBytes(config),
				Size: int64(len(config))},
			ConfigBytes: config,
			Layers: []ocispec.Descriptor{{Digest: digest.FromBytes(layer),
				Size: int64(len(layer)), MediaType: mediaType}},
		}
		if len(manifest) > 0 {
			setManifest(img, manifest, "")
		}
		src := blobMap{digest.FromBytes(layer): layer}
		for _, f := range allFormats(zeroTime) {
			f.write(discard{}, img, src)
		}
		out, err := imagewrite.ToOCI(img)
		if err != nil {
			return
		}
		if digest.FromBytes(out.ManifestBytes) != out.Manifest.Digest {
			t.Errorf("manifest digest does not match its bytes")
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(out.ManifestBytes, &m); err != nil {
			t.Errorf("ToOCI output: %v", err)
		}
	})
}
