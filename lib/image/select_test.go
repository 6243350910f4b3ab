package image

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestSelect(t *testing.T) {
	one := []layer{newLayer(t, "a", "1", "gzip")}
	two := []layer{newLayer(t, "a", "2", "gzip")}
	dockerTwo := writeFile(t, "d.tar", buildDocker(t, skopeoStyle,
		dockerImage{repoTags: `["docker.io/library/app:one"]`,
			arch: "amd64", layers: one},
		dockerImage{repoTags: `["app:two","app:latest"]`, arch: "arm64",
			layers: two},
		dockerImage{repoTags: `null`, arch: "amd64",
			layers: []layer{newLayer(t, "a", "3", "none")}}))
	ociTwo := writeFile(t, "o.tar", twoOCIImages(t))
	multi := writeFile(t, "m.tar", multiPlatform(t))

	// Digests to select by, read from the archives themselves.
	digestsOf := func(path string, opts OpenOptions) (manifest,
		config digest.Digest) {
		a, err := Open(context.Background(), path, opts)
		if err != nil {
			t.Fatalf("Open %s %+v: %v", path, opts, err)
		}
		defer a.Close()
		return a.Image().Manifest.Digest, a.Image().Config.Digest
	}
	twoManifest, twoConfig := digestsOf(dockerTwo,
		OpenOptions{Selector: "app:two"})
	armManifest, _ := digestsOf(multi, OpenOptions{Platform: "linux/arm64"})

	tests := []struct {
		name      string
		path      string
		opts      OpenOptions
		wantLayer digest.Digest
		wantArch  string
	}{
		{"docker tag", dockerTwo, OpenOptions{Selector: "app:two"},
			two[0].digest(), "linux/arm64"},
		{"docker second tag", dockerTwo,
			OpenOptions{Selector: "app:latest"}, two[0].digest(),
			"linux/arm64"},
		{"docker short name of docker.io tag", dockerTwo,
			OpenOptions{Selector: "app:one"}, one[0].digest(),
			"linux/amd64"},
		{"docker manifest digest", dockerTwo,
			OpenOptions{Selector: string(twoManifest)}, two[0].digest(),
			"linux/arm64"},
		{"docker config digest", dockerTwo,
			OpenOptions{Selector: string(twoConfig)}, two[0].digest(),
			"linux/arm64"},
		{"oci full ref name", ociTwo, OpenOptions{Selector: "app:two"},
			newLayer(t, "a", "2", "gzip").digest(), "linux/amd64"},
		{"oci tag part of ref name", ociTwo, OpenOptions{Selector: "one"},
			newLayer(t, "a", "1", "gzip").digest(), "linux/amd64"},
		{"platform without variant", multi,
			OpenOptions{Platform: "linux/arm64"},
			newLayer(t, "a", "2", "gzip").digest(), "linux/arm64"},
		{"platform with variant", multi,
			OpenOptions{Platform: "linux/arm/v7"},
			newLayer(t, "a", "3", "gzip").digest(), "linux/arm"},
		{"platform manifest digest", multi,
			OpenOptions{Selector: string(armManifest)},
			newLayer(t, "a", "2", "gzip").digest(), "linux/arm64"},
		{"ref name and platform", multi,
			OpenOptions{Selector: "multi:1", Platform: "linux/amd64"},
			newLayer(t, "a", "1", "gzip").digest(), "linux/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Open(context.Background(), tt.path, tt.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			img := a.Image()
			if len(img.Layers) != 1 || img.Layers[0].Digest != tt.wantLayer {
				t.Errorf("layers: got %v, want [%s]", img.Layers,
					tt.wantLayer)
			}
			if img.Platform != tt.wantArch {
				t.Errorf("Platform: got %q, want %q", img.Platform,
					tt.wantArch)
			}
			checkArchive(t, a)
		})
	}
}
