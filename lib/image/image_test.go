package image

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestSplitRef(t *testing.T) {
	dir := t.TempDir()
	withAt := filepath.Join(dir, "odd@name.tar")
	if err := os.WriteFile(withAt, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, path, selector string }{
		{"v1.tar", "v1.tar", ""},
		{"v1.tar@app:1.0", "v1.tar", "app:1.0"},
		{"dir/v1.tar@sha256:abc", "dir/v1.tar", "sha256:abc"},
		{"a@b@c", "a@b", "c"},
		{"v1.tar@", "v1.tar", ""},
		{withAt, withAt, ""},
		{withAt + "@x", withAt, "x"},
	}
	for _, tt := range tests {
		path, selector := SplitRef(tt.arg)
		if path != tt.path || selector != tt.selector {
			t.Errorf("SplitRef(%q): got %q, %q; want %q, %q", tt.arg,
				path, selector, tt.path, tt.selector)
		}
	}
}

func TestSynthesizeDockerManifest(t *testing.T) {
	cfg := ocispec.Descriptor{Digest: digest.FromString("cfg"), Size: 3}
	layers := []ocispec.Descriptor{
		{MediaType: MediaTypeDockerLayerGzip, Digest: digest.FromString("a"),
			Size: 1},
		{MediaType: MediaTypeDockerLayer, Digest: digest.FromString("b"),
			Size: 0, Annotations: map[string]string{"x": "dropped"}},
	}
	got, err := SynthesizeDockerManifest(cfg, layers)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SynthesizeDockerManifest(cfg, layers)
	if !bytes.Equal(got, again) {
		t.Errorf("two calls differ:\n%s\n%s", got, again)
	}
	if bytes.Contains(got, []byte("dropped")) {
		t.Errorf("annotations kept: %s", got)
	}

	var m ocispec.Manifest
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != MediaTypeDockerManifest {
		t.Errorf("header: got %d %q, want 2 %q", m.SchemaVersion,
			m.MediaType, MediaTypeDockerManifest)
	}
	if m.Config.MediaType != MediaTypeDockerConfig ||
		m.Config.Digest != cfg.Digest || m.Config.Size != 3 {
		t.Errorf("config: got %+v", m.Config)
	}
	if len(m.Layers) != 2 || m.Layers[1].Digest != layers[1].Digest ||
		m.Layers[0].MediaType != MediaTypeDockerLayerGzip {
		t.Errorf("layers: got %+v", m.Layers)
	}
	// Field order is fixed: schemaVersion, mediaType, config, layers.
	if !strings.HasPrefix(string(got), `{"schemaVersion":2,"mediaType":`) {
		t.Errorf("field order: got %s", got)
	}

	bad := []struct {
		name   string
		config ocispec.Descriptor
		layers []ocispec.Descriptor
	}{
		{"invalid config digest", ocispec.Descriptor{Digest: "sha256:x"},
			nil},
		{"layer without media type", cfg,
			[]ocispec.Descriptor{{Digest: digest.FromString("a")}}},
		{"negative size", cfg, []ocispec.Descriptor{{
			MediaType: MediaTypeDockerLayer,
			Digest:    digest.FromString("a"), Size: -1}}},
	}
	for _, tt := range bad {
		if _, err := SynthesizeDockerManifest(tt.config,
			tt.layers); err == nil {
			t.Errorf("%s: got no error", tt.name)
		}
	}
}
