package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// multiPlatform is an OCI archive with one image for two platforms.
func multiPlatform(t *testing.T) []byte {
	b := newBuilder()
	amd := ociImage(t, b, "amd64", []layer{newLayer(t, "a", "1", "gzip")})
	arm := ociImage(t, b, "arm64", []layer{newLayer(t, "a", "2", "gzip")})
	armV7 := ociImage(t, b, "arm", []layer{newLayer(t, "a", "3", "gzip")})
	idx := nestedIndex(t, b,
		withPlatform(amd, "linux", "amd64", ""),
		withPlatform(arm, "linux", "arm64", "v8"),
		withPlatform(armV7, "linux", "arm", "v7"))
	ociIndex(t, b, withRef(idx, "multi:1"))
	return b.tar(t)
}

// twoOCIImages is an OCI archive with two tagged images.
func twoOCIImages(t *testing.T) []byte {
	b := newBuilder()
	one := ociImage(t, b, "amd64", []layer{newLayer(t, "a", "1", "gzip")})
	two := ociImage(t, b, "amd64", []layer{newLayer(t, "a", "2", "gzip")})
	ociIndex(t, b, withRef(one, "app:one"), withRef(two, "app:two"))
	return b.tar(t)
}

// dockerDisagreeing is a Docker 25+ archive whose index.json manifest
// lists the layers in another order than manifest.json.
func dockerDisagreeing(t *testing.T) []byte {
	layers := []layer{newLayer(t, "a", "1", "none"),
		newLayer(t, "b", "2", "none")}
	data := buildDocker(t, docker25, dockerImage{repoTags: `["x:1"]`,
		layers: layers, arch: "amd64"})
	var members []tmember
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, tmember{name: hdr.Name, body: body,
			typeflag: hdr.Typeflag, link: hdr.Linkname})
	}
	// Point index.json at a manifest with the layers swapped.
	b := newBuilder()
	for _, m := range members {
		if m.name != "index.json" {
			b.members = append(b.members, m)
			b.seen[m.name] = true
		}
	}
	cfg := b.blob(ocispec.MediaTypeImageConfig,
		configFor(t, "amd64", layers))
	var swapped []ocispec.Descriptor
	for _, l := range []layer{layers[1], layers[0]} {
		swapped = append(swapped, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageLayer, Digest: l.digest(),
			Size: int64(len(l.stored))})
	}
	m := b.blob(ocispec.MediaTypeImageManifest, mustJSON(t,
		ocispec.Manifest{Versioned: v2, Config: cfg, Layers: swapped}))
	b.file("index.json", mustJSON(t, ocispec.Index{Versioned: v2,
		Manifests: []ocispec.Descriptor{m}}))
	return b.tar(t)
}

// ociWith builds an OCI archive of one image and lets edit change its
// members before they are written.
func ociWith(t *testing.T, edit func(b *builder)) []byte {
	b := newBuilder()
	m := ociImage(t, b, "amd64", []layer{newLayer(t, "a", "1", "gzip")})
	ociIndex(t, b, withRef(m, "app:v1"))
	edit(b)
	return b.tar(t)
}

// replace swaps the body of member name.
func (b *builder) replace(name string, body []byte) {
	for i := range b.members {
		if b.members[i].name == name {
			b.members[i].body = body
		}
	}
}

// indexJSON returns index.json listing manifests.
func indexJSON(t *testing.T, manifests ...ocispec.Descriptor) []byte {
	return mustJSON(t, ocispec.Index{Versioned: v2, Manifests: manifests})
}

// legacyWith is a one-layer legacy docker-archive whose single layer
// member is replaced by the given members; manifest.json lists layerRef.
func legacyWith(t *testing.T, layerRef string, extra ...tmember) []byte {
	l := newLayer(t, "a", "1", "none")
	cfg := configFor(t, "amd64", []layer{l})
	members := []tmember{
		{name: "cfg.json", body: cfg},
		{name: "manifest.json", body: []byte(`[{"Config":"cfg.json",` +
			`"RepoTags":["x:1"],"Layers":` +
			string(mustJSON(t, []string{layerRef})) + `}]`)},
	}
	return writeTar(t, append(members, extra...))
}

func TestOpenErrors(t *testing.T) {
	l := newLayer(t, "a", "1", "none")
	twoDocker := func(t *testing.T) []byte {
		return buildDocker(t, skopeoStyle,
			dockerImage{repoTags: `["app:one"]`, arch: "amd64",
				layers: []layer{l}},
			dockerImage{repoTags: `["app:two"]`, arch: "arm64",
				layers: []layer{newLayer(t, "b", "2", "gzip")}})
	}
	link := func(name, target string) tmember {
		return tmember{name: name, typeflag: tar.TypeSymlink,
			link: target}
	}
	bad := digest.Digest("sha256:" + strings.Repeat("A", 64))

	tests := []struct {
		name     string
		data     func(t *testing.T) []byte
		opts     OpenOptions
		wantCode int
		wantMsg  []string
	}{
		{"docker several images, no selector", twoDocker,
			OpenOptions{}, exit.UsageErr,
			[]string{"2 images", "app:one", "app:two"}},
		{"many untagged docker images, listing capped",
			func(t *testing.T) []byte {
				var imgs []dockerImage
				for i := range 25 {
					imgs = append(imgs, dockerImage{arch: "amd64",
						layers: []layer{newLayer(t, "f",
							strings.Repeat("x", i), "none")}})
				}
				return buildDocker(t, skopeoStyle, imgs...)
			}, OpenOptions{}, exit.UsageErr,
			[]string{"25 images", "sha256:", "(untagged)", "and 5 more"}},
		{"docker selector matches nothing", twoDocker,
			OpenOptions{Selector: "app:three"}, exit.UsageErr,
			[]string{`"app:three"`, "app:one", "app:two"}},
		{"oci several images, no selector", twoOCIImages,
			OpenOptions{}, exit.UsageErr,
			[]string{"app:one", "app:two"}},
		{"oci selector matches nothing", twoOCIImages,
			OpenOptions{Selector: "three"}, exit.UsageErr,
			[]string{"app:one", "app:two"}},
		{"multi-platform without platform", multiPlatform,
			OpenOptions{}, exit.UsageErr,
			[]string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}},
		{"multi-platform, platform absent", multiPlatform,
			OpenOptions{Platform: "linux/s390x"}, exit.UsageErr,
			[]string{"linux/s390x", "linux/amd64", "linux/arm/v7"}},
		{"docker 25 index.json disagrees", dockerDisagreeing,
			OpenOptions{}, exit.Corrupt,
			[]string{"manifest.json", "index.json", "disagree"}},
		{"absolute member name", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "/etc/passwd"}})
		}, OpenOptions{}, exit.Corrupt, []string{"/etc/passwd", "absolute"}},
		{"member name leaving root", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "a/../../evil"}})
		}, OpenOptions{}, exit.Corrupt, []string{"a/../../evil"}},
		{"dot-dot member name", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "../evil"}})
		}, OpenOptions{}, exit.Corrupt, []string{"../evil", "root"}},
		{"duplicate member", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "manifest.json"},
				{name: "./manifest.json"}})
		}, OpenOptions{}, exit.Corrupt,
			[]string{"manifest.json", "duplicate"}},
		{"symlinked layer leaving root", func(t *testing.T) []byte {
			return legacyWith(t, "id/layer.tar",
				link("id/layer.tar", "../../outside.tar"))
		}, OpenOptions{}, exit.Corrupt,
			[]string{"id/layer.tar", "leaves the archive root"}},
		{"symlink with absolute target", func(t *testing.T) []byte {
			return legacyWith(t, "id/layer.tar",
				link("id/layer.tar", "/etc/passwd"))
		}, OpenOptions{}, exit.Corrupt, []string{"absolute target"}},
		{"symlink loop", func(t *testing.T) []byte {
			return legacyWith(t, "a.tar", link("a.tar", "b.tar"),
				link("b.tar", "a.tar"))
		}, OpenOptions{}, exit.Corrupt, []string{"a.tar", "loop"}},
		{"symlink chain too long", func(t *testing.T) []byte {
			var ms []tmember
			for i := range 9 {
				ms = append(ms, link(string(rune('a'+i))+".tar",
					string(rune('b'+i))+".tar"))
			}
			ms = append(ms, tmember{name: "j.tar", body: l.stored})
			return legacyWith(t, "a.tar", ms...)
		}, OpenOptions{}, exit.Corrupt, []string{"more than 8"}},
		{"missing layer member", func(t *testing.T) []byte {
			return legacyWith(t, "gone/layer.tar")
		}, OpenOptions{}, exit.Corrupt, []string{"gone/layer.tar"}},
		{"layer is a directory", func(t *testing.T) []byte {
			return legacyWith(t, "d", tmember{name: "d/",
				typeflag: tar.TypeDir})
		}, OpenOptions{}, exit.Corrupt, []string{"not a regular file"}},
		{"manifest.json too large", func(t *testing.T) []byte {
			big := bytes.Repeat([]byte(" "), MaxJSONSize+1)
			return writeTar(t, []tmember{{name: "manifest.json",
				body: big}})
		}, OpenOptions{}, exit.Corrupt, []string{"manifest.json", "limit"}},
		{"manifest.json not JSON", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "manifest.json",
				body: []byte("{")}})
		}, OpenOptions{}, exit.Corrupt, []string{"manifest.json"}},
		{"manifest.json empty list", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "manifest.json",
				body: []byte("[]")}})
		}, OpenOptions{}, exit.Corrupt, []string{"no images"}},
		{"foreign tar", func(t *testing.T) []byte {
			return writeTar(t, []tmember{{name: "hello.txt",
				body: []byte("hi")}})
		}, OpenOptions{}, exit.Corrupt, []string{"not an image archive"}},
		{"not a tar", func(t *testing.T) []byte {
			return bytes.Repeat([]byte("not a tar "), 100)
		}, OpenOptions{}, exit.Corrupt, []string{"tar header"}},
		{"empty file", func(t *testing.T) []byte { return nil },
			OpenOptions{}, exit.Corrupt, []string{"empty"}},
		{"xz archive", func(t *testing.T) []byte {
			xz := []byte{0xfd, '7', 'z', 'X', 'Z', 0}
			return append(xz, make([]byte, 64)...)
		}, OpenOptions{}, exit.Corrupt, []string{"xz"}},
		{"corrupt gzip archive", func(t *testing.T) []byte {
			z := gzipBytes(t, twoOCIImages(t))
			return z[:len(z)/2]
		}, OpenOptions{}, exit.Corrupt, []string{"gzip"}},
		{"truncated tar", func(t *testing.T) []byte {
			data := twoOCIImages(t)
			return data[:len(data)-2048-100]
		}, OpenOptions{}, exit.Corrupt, []string{"offset"}},
		{"index nested too deep", func(t *testing.T) []byte {
			b := newBuilder()
			d := ociImage(t, b, "amd64", []layer{l})
			for range MaxIndexDepth {
				d = nestedIndex(t, b, d)
			}
			ociIndex(t, b, d)
			return b.tar(t)
		}, OpenOptions{}, exit.Corrupt, []string{"nested more than 4"}},
		{"index fan-out", func(t *testing.T) []byte {
			b := newBuilder()
			d := ociImage(t, b, "amd64", []layer{l})
			for range 3 {
				var many []ocispec.Descriptor
				for range 50 {
					many = append(many, d)
				}
				d = nestedIndex(t, b, many...)
			}
			ociIndex(t, b, d)
			return b.tar(t)
		}, OpenOptions{}, exit.Corrupt, []string{"more than 65536 descriptors"}},
		{"uppercase digest in index.json", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				b.replace("index.json", indexJSON(t, ocispec.Descriptor{
					MediaType: ocispec.MediaTypeImageManifest,
					Digest:    bad, Size: 2}))
			})
		}, OpenOptions{}, exit.Corrupt, []string{"index.json", "AAAA"}},
		{"path in digest", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				b.replace("index.json", indexJSON(t, ocispec.Descriptor{
					MediaType: ocispec.MediaTypeImageManifest,
					Digest:    "sha256:../../../etc/passwd", Size: 2}))
			})
		}, OpenOptions{}, exit.Corrupt, []string{"index.json", "digest"}},
		{"sha512 digest", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				b.replace("index.json", indexJSON(t, ocispec.Descriptor{
					MediaType: ocispec.MediaTypeImageManifest,
					Digest: digest.Digest("sha512:" +
						strings.Repeat("ab", 64)), Size: 2}))
			})
		}, OpenOptions{}, exit.Corrupt, []string{"sha512", "want sha256"}},
		{"manifest blob does not match digest", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				var idx ocispec.Index
				for _, m := range b.members {
					if m.name == "index.json" {
						json.Unmarshal(m.body, &idx)
					}
				}
				name := blobPath(idx.Manifests[0].Digest)
				for i := range b.members {
					if b.members[i].name == name {
						body := bytes.Clone(b.members[i].body)
						body[len(body)-2] = ' '
						b.members[i].body = body
					}
				}
			})
		}, OpenOptions{}, exit.Corrupt, []string{"blobs/sha256/", "digest"}},
		{"oci layer size differs", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				name := blobPath(newLayer(t, "a", "1", "gzip").digest())
				b.replace(name, []byte("short"))
			})
		}, OpenOptions{}, exit.Corrupt, []string{"5 bytes, manifest says"}},
		{"bad oci-layout version", func(t *testing.T) []byte {
			return ociWith(t, func(b *builder) {
				b.replace("oci-layout",
					[]byte(`{"imageLayoutVersion":"9"}`))
			})
		}, OpenOptions{}, exit.Corrupt, []string{"oci-layout", `"9"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "in.tar", tt.data(t))
			tt.opts.TempDir = t.TempDir()
			a, err := Open(context.Background(), p, tt.opts)
			if err == nil {
				a.Close()
				t.Fatalf("Open: got no error, want exit %d", tt.wantCode)
			}
			t.Logf("error: %v", err)
			if got := exit.Code(err); got != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (%v)", got,
					tt.wantCode, err)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q: want it to contain %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q: want it to name the file", err)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(context.Background(), "/nonexistent/x.tar",
		OpenOptions{})
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("exit code: got %d, want %d (%v)", got, exit.EnvErr, err)
	}
}
