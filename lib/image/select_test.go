package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
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

	// Config digests of OCI images, from the bytes the archives store.
	configOf := func(arch string, layers ...layer) string {
		return string(digest.FromBytes(configFor(t, arch, layers)))
	}
	ociTwoConfig := configOf("amd64", newLayer(t, "a", "2", "gzip"))
	armConfig := configOf("arm64", newLayer(t, "a", "2", "gzip"))
	armV7Config := configOf("arm", newLayer(t, "a", "3", "gzip"))
	layoutTwo := writeLayout(t, twoOCIImages(t))

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
		{"oci config digest", ociTwo,
			OpenOptions{Selector: ociTwoConfig},
			newLayer(t, "a", "2", "gzip").digest(), "linux/amd64"},
		{"oci layout config digest", layoutTwo,
			OpenOptions{Selector: ociTwoConfig},
			newLayer(t, "a", "2", "gzip").digest(), "linux/amd64"},
		{"platform config digest", multi,
			OpenOptions{Selector: armConfig},
			newLayer(t, "a", "2", "gzip").digest(), "linux/arm64"},
		{"platform config digest with variant", multi,
			OpenOptions{Selector: armV7Config},
			newLayer(t, "a", "3", "gzip").digest(), "linux/arm"},
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

func TestSelectErrors(t *testing.T) {
	l := newLayer(t, "a", "1", "gzip")
	cfg := digest.FromBytes(configFor(t, "amd64", []layer{l}))

	// manifestsOfConfig is an OCI archive of n manifests that differ
	// only in an annotation and share one config; refs names them.
	manifestsOfConfig := func(t *testing.T, n int, refs bool) []byte {
		b := newBuilder()
		config := b.blob(ocispec.MediaTypeImageConfig,
			configFor(t, "amd64", []layer{l}))
		layerDesc := b.blob(ocispec.MediaTypeImageLayer+"+gzip", l.stored)
		var descs []ocispec.Descriptor
		for i := range n {
			m := ocispec.Manifest{Versioned: v2,
				MediaType: ocispec.MediaTypeImageManifest,
				Config:    config, Layers: []ocispec.Descriptor{layerDesc},
				Annotations: map[string]string{"n": strconv.Itoa(i)}}
			d := b.blob(ocispec.MediaTypeImageManifest, mustJSON(t, m))
			if refs {
				d = withRef(d, "app:"+strconv.Itoa(i))
			}
			descs = append(descs, d)
		}
		ociIndex(t, b, descs...)
		return b.tar(t)
	}
	unknown := string(digest.FromString("no such blob"))

	tests := []struct {
		name     string
		data     []byte
		selector string
		wantCode int
		wantMsg  []string
	}{
		{"config of two manifests", manifestsOfConfig(t, 2, true),
			string(cfg), exit.UsageErr,
			[]string{string(cfg), "2 manifests", "app:0", "app:1"}},
		{"digest of nothing", twoOCIImages(t), unknown, exit.UsageErr,
			[]string{"no image matches", unknown, "app:one", "app:two"}},
		{"digest of a layer", twoOCIImages(t), string(l.digest()),
			exit.UsageErr, []string{"no image matches"}},
		{"too many manifests to read",
			manifestsOfConfig(t, maxManifestReads+1, false), unknown,
			exit.Corrupt, []string{"more than 4096 manifests", unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "in.tar", tt.data)
			a, err := Open(context.Background(), p,
				OpenOptions{Selector: tt.selector})
			if err == nil {
				a.Close()
				t.Fatalf("Open: got no error, want exit %d", tt.wantCode)
			}
			if got := exit.Code(err); got != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (%v)", got,
					tt.wantCode, err)
			}
			for _, s := range append(tt.wantMsg, p) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q: want it to contain %q", err, s)
				}
			}
		})
	}
}

// writeLayout writes the members of an OCI archive as a layout
// directory and returns its path.
func writeLayout(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSelectDocker25IndexManifest checks that the OCI manifests a Docker
// 25+ archive lists in index.json, by digest or ref name, select the
// image of the same config, as its synthesized Docker manifest digest
// does.
func TestSelectDocker25IndexManifest(t *testing.T) {
	one := []layer{newLayer(t, "a", "1", "none")}
	two := []layer{newLayer(t, "a", "2", "none")}
	data := buildDocker(t, docker25,
		dockerImage{repoTags: `["app:one"]`, arch: "amd64", layers: one},
		dockerImage{repoTags: `["app:two"]`, arch: "arm64", layers: two})
	path := writeFile(t, "d25.tar", data)

	var idx ocispec.Index
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no index.json in the archive: %v", err)
		}
		if hdr.Name == "index.json" {
			body, _ := io.ReadAll(tr)
			if err := json.Unmarshal(body, &idx); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(idx.Manifests) != 2 {
		t.Fatalf("got %d manifests in index.json, want 2",
			len(idx.Manifests))
	}

	wantConfig := digest.FromBytes(configFor(t, "arm64", two))
	// The manifest digest, and the ref name index.json gives it.
	for _, selector := range []string{string(idx.Manifests[1].Digest),
		"two"} {
		a, err := Open(context.Background(), path,
			OpenOptions{Selector: selector})
		if err != nil {
			t.Fatalf("Open @%s: %v", selector, err)
		}
		if got := a.Image().Config.Digest; got != wantConfig {
			t.Errorf("@%s: got config %s, want %s", selector, got,
				wantConfig)
		}
		a.Close()
	}
}
