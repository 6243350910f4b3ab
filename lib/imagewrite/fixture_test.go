package imagewrite_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagewrite"
)

// fixtures holds archives written by another tool; see its README.md.
const fixtures = "/work/shared/fixtures/upstream-diffah"

// openFixture opens a fixture with lib/image, skipping when absent.
func openFixture(t *testing.T, name string) (*image.Archive,
	*imagewrite.Image, []byte) {

	t.Helper()
	path := filepath.Join(fixtures, name)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("fixture %s: %v", name, err)
	}
	a, err := image.Open(context.Background(), path, image.OpenOptions{})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	src := a.Image()
	img := &imagewrite.Image{
		Tags:          src.RepoTags,
		Manifest:      src.Manifest,
		ManifestBytes: src.ManifestBytes,
		Config:        src.Config,
		ConfigBytes:   src.ConfigBytes,
		Layers:        src.Layers,
	}
	return a, img, raw
}

var skopeoFormat = dockerFormat(imagewrite.LayoutSkopeo, zeroTime)

// topLevel picks the members of a skopeo layout named by content: the
// top-level ones but "repositories", which names a layer ID.
func topLevel(name string) bool {
	return !strings.Contains(name, "/") && name != "repositories"
}

func every(string) bool { return true }

// TestRewriteFixtures rewrites archives made by skopeo-like tools in
// their own layout and checks that every member the layout names by
// content (blobs, configs, manifest.json, index.json, oci-layout) comes
// out byte for byte as the other tool wrote it. Only the legacy layer
// IDs, file modes and mtimes may differ.
func TestRewriteFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		f       format
		same    func(name string) bool // members that must match
	}{
		{"v1_s2.tar", skopeoFormat, topLevel},
		{"v4_target_s2.tar", skopeoFormat, topLevel},
		{"v1_oci.tar", ociFormat(zeroTime), every},
		{"v4_baseline_oci.tar", ociFormat(zeroTime), every},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			a, img, raw := openFixture(t, tt.fixture)
			want := newArchive(t, raw)
			got := newArchive(t, write(t, tt.f, img, a))

			compared := 0
			for _, m := range want.members {
				if m.hdr.Typeflag != tar.TypeReg || !tt.same(m.hdr.Name) {
					continue
				}
				compared++
				g, ok := got.byName[m.hdr.Name]
				if !ok {
					t.Errorf("%s: missing", m.hdr.Name)
					continue
				}
				if !bytes.Equal(g.data, m.data) {
					t.Errorf("%s: got %.200q, want %.200q", m.hdr.Name,
						g.data, m.data)
				}
			}
			if compared < 3 {
				t.Errorf("compared %d members, want at least 3", compared)
			}
			if len(got.members) != len(want.members) {
				t.Errorf("%d members, the fixture has %d",
					len(got.members), len(want.members))
			}
		})
	}
}
