package imagewrite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// written is one image written to disk for the interop tests.
type written struct {
	format string // imagebuild format
	path   string
	img    *imagewrite.Image
	blobs  imagebuild.Blobs
}

// writeAll writes the realistic image in every format, with gzip layers,
// one of them also compressed as a whole.
func writeAll(t *testing.T) []written {
	t.Helper()
	spec := imagebuild.Realistic(2)
	spec.Compress = "gzip"
	img, blobs, err := imagebuild.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []written
	for _, f := range append(slices.Clone(imagebuild.Formats),
		"oci-archive+zstd", "docker-legacy+gzip") {
		path := filepath.Join(dir, f)
		if err := imagebuild.WriteImageFile(path, img, blobs, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, written{f, path, img, blobs})
	}
	return out
}

func diffIDs(t *testing.T, config []byte) []digest.Digest {
	t.Helper()
	var c ocispec.Image
	if err := json.Unmarshal(config, &c); err != nil {
		t.Fatal(err)
	}
	return c.RootFS.DiffIDs
}

// TestReadBackWithImage opens every written file with lib/image and
// checks that it finds the same image and can read every blob.
func TestReadBackWithImage(t *testing.T) {
	for _, w := range writeAll(t) {
		t.Run(w.format, func(t *testing.T) {
			a, err := image.Open(context.Background(), w.path,
				image.OpenOptions{TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer a.Close()
			got := a.Image()

			if got.Config.Digest != w.img.Config.Digest {
				t.Errorf("config: got %s, want %s", got.Config.Digest,
					w.img.Config.Digest)
			}
			if !slices.Equal(got.RepoTags, w.img.Tags) {
				t.Errorf("tags: got %q, want %q", got.RepoTags, w.img.Tags)
			}
			if len(got.Layers) != len(w.img.Layers) {
				t.Fatalf("layers: got %d, want %d", len(got.Layers),
					len(w.img.Layers))
			}
			for i, l := range got.Layers {
				if l.Digest != w.img.Layers[i].Digest ||
					l.Size != w.img.Layers[i].Size {
					t.Errorf("layer %d: got %s %d, want %s %d", i,
						l.Digest, l.Size, w.img.Layers[i].Digest,
						w.img.Layers[i].Size)
				}
				readBlob(t, a, l.Digest, w.blobs[l.Digest])
			}
			// lib/image describes a docker-archive by a synthesized
			// manifest, even when (Docker 25+) it stores one.
			oci := strings.HasPrefix(w.format, "oci")
			if oci && got.Manifest.Digest != w.img.Manifest.Digest {
				t.Errorf("manifest: got %s, want %s", got.Manifest.Digest,
					w.img.Manifest.Digest)
			}
		})
	}
}

func readBlob(t *testing.T, a *image.Archive, d digest.Digest, want []byte) {
	t.Helper()
	rc, err := a.OpenBlob(d)
	if err != nil {
		t.Errorf("open blob %s: %v", d, err)
		return
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Errorf("read blob %s: %v", d, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("blob %s: %d bytes differ from the %d written", d,
			len(got), len(want))
	}
}

// TestSkopeoReads has skopeo inspect and copy every written format. It
// skips when skopeo is not installed.
func TestSkopeoReads(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed")
	}
	for _, w := range writeAll(t) {
		var transport string
		switch w.format {
		case "docker-legacy", "docker-modern", "docker-skopeo":
			transport = "docker-archive:"
		case "oci-archive":
			transport = "oci-archive:"
		case "oci-dir":
			transport = "oci:"
		default:
			continue // skopeo reads no whole-compressed archive
		}
		t.Run(w.format, func(t *testing.T) {
			ref := transport + w.path
			out, err := exec.Command(skopeo, "inspect", "--raw",
				ref).Output()
			if err != nil {
				t.Fatalf("skopeo inspect --raw %s: %v\n%s", ref, err,
					stderr(err))
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("skopeo manifest: %v\n%s", err, out)
			}
			if m.Config.Digest != w.img.Config.Digest {
				t.Errorf("config: skopeo says %s, want %s",
					m.Config.Digest, w.img.Config.Digest)
			}

			// skopeo names docker-archive layers by diff_id; OCI ones
			// by their stored digest, and keeps the manifest as is.
			want := diffIDs(t, w.img.ConfigBytes)
			if transport != "docker-archive:" {
				want = nil
				for _, l := range w.img.Layers {
					want = append(want, l.Digest)
				}
				if !bytes.Equal(out, w.img.ManifestBytes) {
					t.Errorf("manifest: skopeo reads %s, want %s", out,
						w.img.ManifestBytes)
				}
			}
			var got []digest.Digest
			for _, l := range m.Layers {
				got = append(got, l.Digest)
			}
			if !slices.Equal(got, want) {
				t.Errorf("layers: skopeo says %s, want %s", got, want)
			}

			// Copying reads and verifies every blob, and selecting
			// the image by its tag checks the tag is recorded.
			tagged := ref + ":" + w.img.Tags[0]
			dst := "dir:" + t.TempDir()
			cmd := exec.Command(skopeo, "copy", "-q", tagged, dst)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("skopeo copy %s: %v\n%s", tagged, err, out)
			}
		})
	}
}

func stderr(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
