package image

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// shape is an archive built by a test and what Open must find in it.
type shape struct {
	path        string
	format      Format
	compression string
	tags        []string
	platform    string
	layers      []layer
	mediaTypes  []string // of the layers; nil skips the check
}

func digests(layers []layer) []digest.Digest {
	var ds []digest.Digest
	for _, l := range layers {
		ds = append(ds, l.digest())
	}
	return ds
}

func repeat(s string, n int) []string {
	var out []string
	for range n {
		out = append(out, s)
	}
	return out
}

func TestOpenShapes(t *testing.T) {
	plain := []layer{
		newLayer(t, "a.txt", "alpha", "none"),
		newLayer(t, "b.txt", "beta", "none"),
	}
	gz := []layer{
		newLayer(t, "a.txt", "alpha", "gzip"),
		newLayer(t, "b.txt", "beta", "gzip"),
	}
	same := newLayer(t, "same.txt", "twice", "gzip")
	repeated := []layer{same, newLayer(t, "x", "x", "gzip"), same}
	zeroByte := layer{raw: nil, stored: nil}
	endMarker := layer{raw: writeTar(t, nil), stored: writeTar(t, nil)}
	empties := []layer{plain[0], zeroByte, endMarker}
	tagsV1 := `["app:v1"]`

	docker := func(style dockerStyle, tags string,
		layers []layer) []byte {
		return buildDocker(t, style, dockerImage{repoTags: tags,
			layers: layers, arch: "amd64"})
	}
	oci := func(layers []layer) []byte {
		b := newBuilder()
		m := ociImage(t, b, "arm64", layers)
		ociIndex(t, b, withRef(m, "app:v1"))
		return b.tar(t)
	}
	tarPlain, tarGzip := MediaTypeDockerLayer, MediaTypeDockerLayerGzip

	tests := []struct {
		name  string
		build func(t *testing.T) shape
	}{
		{"docker legacy plain layers", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(legacyPlain, tagsV1, plain)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: plain,
				mediaTypes: repeat(tarPlain, 2)}
		}},
		{"docker legacy gzip layers, hashed", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(legacyPlain, tagsV1, gz)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: gz,
				mediaTypes: repeat(tarGzip, 2)}
		}},
		{"docker skopeo layout", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(skopeoStyle, tagsV1, gz)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: gz,
				mediaTypes: repeat(tarGzip, 2)}
		}},
		{"docker symlinked layer.tar", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(skopeoViaLink, tagsV1, gz)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: gz,
				mediaTypes: repeat(tarGzip, 2)}
		}},
		{"docker 25 layout", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(docker25, tagsV1, plain)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: plain,
				mediaTypes: repeat(tarPlain, 2)}
		}},
		{"docker RepoTags null", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(legacyPlain, "null", plain)),
				format: DockerArchive, platform: "linux/amd64",
				layers: plain}
		}},
		{"docker RepoTags empty", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(skopeoStyle, "[]", gz)),
				format: DockerArchive, platform: "linux/amd64",
				layers: gz}
		}},
		{"docker RepoTags absent", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(docker25, "", plain)),
				format: DockerArchive, platform: "linux/amd64",
				layers: plain}
		}},
		{"docker repeated layer", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(skopeoViaLink, tagsV1, repeated)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: repeated}
		}},
		{"docker legacy repeated layer", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(legacyPlain, tagsV1, repeated)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: repeated}
		}},
		{"docker empty layers", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar",
				docker(legacyPlain, tagsV1, empties)),
				format: DockerArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: empties,
				mediaTypes: repeat(tarPlain, 3)}
		}},
		{"docker whole gzip", func(t *testing.T) shape {
			data := gzipBytes(t, docker(skopeoStyle, tagsV1, gz))
			return shape{path: writeFile(t, "a.tar.gz", data),
				format: DockerArchive, compression: "gzip",
				tags: []string{"app:v1"}, platform: "linux/amd64",
				layers: gz}
		}},
		{"oci archive", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar", oci(gz)),
				format: OCIArchive, tags: []string{"app:v1"},
				platform: "linux/arm64", layers: gz,
				mediaTypes: repeat(ocispec.MediaTypeImageLayerGzip, 2)}
		}},
		{"oci archive empty and repeated layers", func(t *testing.T) shape {
			layers := append(slices.Clone(repeated), zeroByte, endMarker)
			return shape{path: writeFile(t, "a.tar", oci(layers)),
				format: OCIArchive, tags: []string{"app:v1"},
				platform: "linux/arm64", layers: layers}
		}},
		{"oci archive whole zstd", func(t *testing.T) shape {
			return shape{path: writeFile(t, "a.tar.zst",
				zstdBytes(t, oci(gz))),
				format: OCIArchive, compression: "zstd",
				tags: []string{"app:v1"}, platform: "linux/arm64",
				layers: gz}
		}},
		{"oci archive nested index", func(t *testing.T) shape {
			b := newBuilder()
			m := ociImage(t, b, "amd64", gz)
			inner := nestedIndex(t, b,
				withPlatform(m, "linux", "amd64", ""))
			mid := nestedIndex(t, b, inner)
			ociIndex(t, b, withRef(mid, "app:v1"))
			return shape{path: writeFile(t, "a.tar", b.tar(t)),
				format: OCIArchive, tags: []string{"app:v1"},
				platform: "linux/amd64", layers: gz}
		}},
		{"oci archive with ./ names and no ref", func(t *testing.T) shape {
			b := newBuilder()
			ociIndex(t, b, ociImage(t, b, "amd64", plain))
			for i := range b.members {
				b.members[i].name = "./" + b.members[i].name
			}
			return shape{path: writeFile(t, "a.tar", b.tar(t)),
				format: OCIArchive, platform: "linux/amd64",
				layers: plain}
		}},
		{"oci layout directory", func(t *testing.T) shape {
			b := newBuilder()
			ociIndex(t, b, withRef(ociImage(t, b, "amd64", gz), "v1"))
			dir := t.TempDir()
			for _, m := range b.members {
				p := filepath.Join(dir, m.name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, m.body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return shape{path: dir, format: OCILayout,
				tags: []string{"v1"}, platform: "linux/amd64", layers: gz}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.build(t)
			a, err := Open(context.Background(), want.path, OpenOptions{
				TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()

			if a.Format != want.format {
				t.Errorf("Format: got %s, want %s", a.Format, want.format)
			}
			wantComp := want.compression
			if wantComp == "" {
				wantComp = CompressionNone
			}
			if a.Compression != wantComp {
				t.Errorf("Compression: got %s, want %s", a.Compression,
					wantComp)
			}
			img := a.Image()
			if !slices.Equal(img.RepoTags, want.tags) {
				t.Errorf("RepoTags: got %q, want %q", img.RepoTags,
					want.tags)
			}
			if img.Platform != want.platform {
				t.Errorf("Platform: got %q, want %q", img.Platform,
					want.platform)
			}
			var got []digest.Digest
			var gotTypes []string
			for _, l := range img.Layers {
				got = append(got, l.Digest)
				gotTypes = append(gotTypes, l.MediaType)
			}
			if !slices.Equal(got, digests(want.layers)) {
				t.Errorf("layers: got %v, want %v", got,
					digests(want.layers))
			}
			if want.mediaTypes != nil &&
				!slices.Equal(gotTypes, want.mediaTypes) {
				t.Errorf("layer media types: got %v, want %v", gotTypes,
					want.mediaTypes)
			}
			checkArchive(t, a)

			tarPath := a.TarPath()
			if err := a.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if wantComp != CompressionNone {
				if _, err := os.Stat(tarPath); !os.IsNotExist(err) {
					t.Errorf("spool %s after Close: got %v, want "+
						"not exist", tarPath, err)
				}
			}
		})
	}
}
