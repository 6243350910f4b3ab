package imagewrite_test

import (
	"archive/tar"
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// TestDockerManifestJSON checks, for every docker layout, that
// manifest.json leads to the config and to every layer's bytes in order.
func TestDockerManifestJSON(t *testing.T) {
	for _, compress := range []string{"", "gzip"} {
		img, blobs := testImage(t, compress, "oci", "app:1.0",
			"registry.example:5000/team/app")
		for _, l := range []imagewrite.DockerLayout{imagewrite.LayoutModern,
			imagewrite.LayoutLegacy, imagewrite.LayoutSkopeo} {
			t.Run(l.String()+"/"+compress, func(t *testing.T) {
				f := dockerFormat(l, time.Time{})
				a := newArchive(t, write(t, f, img, blobs))

				var entries []manifestEntry
				a.json(t, "manifest.json", &entries)
				if len(entries) != 1 {
					t.Fatalf("manifest.json: %d entries, want 1",
						len(entries))
				}
				e := entries[0]
				if got := digest.FromBytes(a.open(t, e.Config)); got !=
					img.Config.Digest {
					t.Errorf("config %s: digest %s, want %s",
						e.Config, got, img.Config.Digest)
				}
				if !slices.Equal(e.RepoTags, img.Tags) {
					t.Errorf("RepoTags: got %q, want %q",
						e.RepoTags, img.Tags)
				}
				if len(e.Layers) != len(img.Layers) {
					t.Fatalf("Layers: got %d, want %d",
						len(e.Layers), len(img.Layers))
				}
				for i, name := range e.Layers {
					got := digest.FromBytes(a.open(t, name))
					if got != img.Layers[i].Digest {
						t.Errorf("layer %d (%s): digest %s, want %s",
							i, name, got, img.Layers[i].Digest)
					}
				}
			})
		}
	}
}

// TestDockerRepositories checks "repositories": one entry per tag,
// naming the top layer, and no file for an untagged image.
func TestDockerRepositories(t *testing.T) {
	tagged, blobs := testImage(t, "", "oci", "app:1.0", "app:latest",
		"localhost:5000/x/y")
	untagged, _ := testImage(t, "", "oci")
	for _, l := range []imagewrite.DockerLayout{imagewrite.LayoutModern,
		imagewrite.LayoutLegacy, imagewrite.LayoutSkopeo} {
		t.Run(l.String(), func(t *testing.T) {
			f := dockerFormat(l, time.Time{})
			a := newArchive(t, write(t, f, tagged, blobs))
			var repos map[string]map[string]string
			a.json(t, "repositories", &repos)

			var entries []manifestEntry
			a.json(t, "manifest.json", &entries)
			top := entries[0].Layers[len(entries[0].Layers)-1]
			want := strings.TrimSuffix(top, "/layer.tar")
			if l == imagewrite.LayoutModern {
				want = tagged.Layers[len(tagged.Layers)-1].Digest.Encoded()
			}
			if l == imagewrite.LayoutSkopeo {
				// The top layer's folder is the one whose json carries
				// the config's fields.
				want = ""
				for _, m := range a.members {
					if strings.HasSuffix(m.hdr.Name, "/json") &&
						bytes.Contains(m.data, []byte(`"os":`)) {
						want = strings.TrimSuffix(m.hdr.Name, "/json")
					}
				}
			}
			wantRepos := map[string]map[string]string{
				"app":                {"1.0": want, "latest": want},
				"localhost:5000/x/y": {"latest": want},
			}
			if !equalRepos(repos, wantRepos) {
				t.Errorf("repositories: got %v, want %v", repos, wantRepos)
			}

			b := write(t, f, untagged, blobs)
			if _, ok := newArchive(t, b).byName["repositories"]; ok {
				t.Errorf("untagged image: repositories written")
			}
		})
	}
}

func equalRepos(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || len(v) != len(w) {
			return false
		}
		for tk, tv := range v {
			if w[tk] != tv {
				return false
			}
		}
	}
	return true
}

// TestDockerRepeatedLayer checks how a layer used twice is stored.
func TestDockerRepeatedLayer(t *testing.T) {
	img, blobs := testImage(t, "gzip", "oci", "app:1.0")
	base := img.Layers[0].Digest
	if img.Layers[2].Digest != base {
		t.Fatalf("test image: layer 2 is %s, want the base %s",
			img.Layers[2].Digest, base)
	}

	t.Run("legacy", func(t *testing.T) {
		f := dockerFormat(imagewrite.LayoutLegacy, time.Time{})
		a := newArchive(t, write(t, f, img, blobs))
		var entries []manifestEntry
		a.json(t, "manifest.json", &entries)
		first, second := entries[0].Layers[0], entries[0].Layers[2]
		if first == second {
			t.Fatalf("layers 0 and 2 share the member %s", first)
		}
		if got := a.byName[first].hdr.Typeflag; got != tar.TypeReg {
			t.Errorf("%s: type %c, want a regular file", first, got)
		}
		m := a.byName[second]
		wantLink := "../" + first
		if m.hdr.Typeflag != tar.TypeSymlink || m.hdr.Linkname != wantLink {
			t.Errorf("%s: type %c link %q, want a symlink to %q", second,
				m.hdr.Typeflag, m.hdr.Linkname, wantLink)
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		f := dockerFormat(imagewrite.LayoutSkopeo, time.Time{})
		a := newArchive(t, write(t, f, img, blobs))
		stored, links := 0, 0
		for _, m := range a.members {
			if m.hdr.Name == base.Encoded()+".tar" {
				stored++
			}
			if m.hdr.Typeflag == tar.TypeSymlink &&
				m.hdr.Linkname == "../"+base.Encoded()+".tar" {
				links++
			}
			if m.hdr.Typeflag == tar.TypeDir {
				t.Errorf("%s: a directory entry; skopeo writes none",
					m.hdr.Name)
			}
		}
		if stored != 1 || links != 2 {
			t.Errorf("base layer: stored %d times with %d links, want 1 "+
				"and 2", stored, links)
		}
	})

	t.Run("modern", func(t *testing.T) {
		f := dockerFormat(imagewrite.LayoutModern, time.Time{})
		a := newArchive(t, write(t, f, img, blobs))
		if _, ok := a.byName["blobs/sha256/"+base.Encoded()]; !ok {
			t.Errorf("blobs/sha256/%s: missing", base.Encoded())
		}
	})
}

// TestDockerModernIndex checks the OCI side of the Docker 25 layout.
func TestDockerModernIndex(t *testing.T) {
	img, blobs := testImage(t, "", "oci", "app:1.0", "team/app:2")
	f := dockerFormat(imagewrite.LayoutModern, time.Time{})
	a := newArchive(t, write(t, f, img, blobs))

	var index ocispec.Index
	a.json(t, "index.json", &index)
	want := []map[string]string{
		{"io.containerd.image.name": "docker.io/library/app:1.0",
			ocispec.AnnotationRefName: "1.0"},
		{"io.containerd.image.name": "docker.io/team/app:2",
			ocispec.AnnotationRefName: "2"},
	}
	if len(index.Manifests) != len(want) {
		t.Fatalf("index.json: %d manifests, want %d",
			len(index.Manifests), len(want))
	}
	for i, d := range index.Manifests {
		if d.Digest != img.Manifest.Digest ||
			d.MediaType != ocispec.MediaTypeImageManifest {
			t.Errorf("manifest %d: %s %s, want %s %s", i, d.MediaType,
				d.Digest, ocispec.MediaTypeImageManifest, img.Manifest.Digest)
		}
		for k, v := range want[i] {
			if d.Annotations[k] != v {
				t.Errorf("manifest %d: annotation %s = %q, want %q",
					i, k, d.Annotations[k], v)
			}
		}
	}
	got := a.open(t, "blobs/sha256/"+img.Manifest.Digest.Encoded())
	if !bytes.Equal(got, img.ManifestBytes) {
		t.Errorf("manifest blob: got %q, want %q", got, img.ManifestBytes)
	}
	if got := a.open(t, "oci-layout"); string(got) !=
		`{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout: got %q", got)
	}
}

// TestDockerModernWithoutManifest checks that an image with no manifest
// (a docker-archive source) gets a synthesized Docker one.
func TestDockerModernWithoutManifest(t *testing.T) {
	img, blobs := testImage(t, "gzip", "none", "app:1.0")
	f := dockerFormat(imagewrite.LayoutModern, time.Time{})
	a := newArchive(t, write(t, f, img, blobs))

	want, err := imagewrite.DockerManifest(img)
	if err != nil {
		t.Fatal(err)
	}
	var index ocispec.Index
	a.json(t, "index.json", &index)
	d := index.Manifests[0]
	if d.Digest != want.Manifest.Digest ||
		d.MediaType != imagewrite.MediaTypeDockerManifest {
		t.Errorf("index.json: %s %s, want %s %s", d.MediaType, d.Digest,
			imagewrite.MediaTypeDockerManifest, want.Manifest.Digest)
	}
	got := a.open(t, "blobs/sha256/"+d.Digest.Encoded())
	if !bytes.Equal(got, want.ManifestBytes) {
		t.Errorf("manifest blob: got %s, want %s", got, want.ManifestBytes)
	}
}

// TestDockerLegacyLayerJSON checks the legacy "<id>/json" chain.
func TestDockerLegacyLayerJSON(t *testing.T) {
	img, blobs := testImage(t, "", "oci", "app:1.0")
	for _, l := range []imagewrite.DockerLayout{imagewrite.LayoutLegacy,
		imagewrite.LayoutSkopeo} {
		t.Run(l.String(), func(t *testing.T) {
			f := dockerFormat(l, time.Time{})
			a := newArchive(t, write(t, f, img, blobs))
			var ids []string
			for _, m := range a.members {
				if strings.HasSuffix(m.hdr.Name, "/VERSION") {
					ids = append(ids, strings.TrimSuffix(m.hdr.Name,
						"/VERSION"))
					if string(m.data) != "1.0" {
						t.Errorf("%s: got %q, want 1.0", m.hdr.Name, m.data)
					}
				}
			}
			if len(ids) != len(img.Layers) {
				t.Fatalf("%d layer folders, want %d", len(ids),
					len(img.Layers))
			}
			// Follow the parent chain from the top: it must visit
			// every folder once, and only the top has "os".
			parents := map[string]string{}
			var top string
			for _, id := range ids {
				var meta map[string]any
				a.json(t, id+"/json", &meta)
				if meta["id"] != id {
					t.Errorf("%s/json: id %v, want %s", id, meta["id"], id)
				}
				p, _ := meta["parent"].(string)
				parents[id] = p
				if meta["os"] == "linux" {
					if top != "" {
						t.Errorf("%s and %s both carry the config", top, id)
					}
					top = id
				}
			}
			n := 0
			for id := top; id != ""; id = parents[id] {
				n++
				if n > len(ids) {
					t.Fatalf("parent chain loops")
				}
			}
			if n != len(ids) {
				t.Errorf("parent chain from the top: %d layers, want %d",
					n, len(ids))
			}
		})
	}
}

// TestDockerModernNames checks the full names Docker's index.json gives.
func TestDockerModernNames(t *testing.T) {
	tests := []struct{ tag, full, ref string }{
		{"app", "docker.io/library/app:latest", "latest"},
		{"team/app:2", "docker.io/team/app:2", "2"},
		{"localhost/app:1", "localhost/app:1", "1"},
		{"registry.example:5000/a/b:c", "registry.example:5000/a/b:c", "c"},
		{"docker.io/library/app:1.0", "docker.io/library/app:1.0", "1.0"},
	}
	for _, tt := range tests {
		img, blobs := testImage(t, "", "oci", tt.tag)
		f := dockerFormat(imagewrite.LayoutModern, time.Time{})
		a := newArchive(t, write(t, f, img, blobs))
		var index ocispec.Index
		a.json(t, "index.json", &index)
		got := index.Manifests[0].Annotations
		if got["io.containerd.image.name"] != tt.full ||
			got[ocispec.AnnotationRefName] != tt.ref {
			t.Errorf("%s: got %q, %q; want %q, %q", tt.tag,
				got["io.containerd.image.name"],
				got[ocispec.AnnotationRefName], tt.full, tt.ref)
		}
	}
}
