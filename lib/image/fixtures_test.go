package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
)

// fixtureDir holds archives written by another tool; see its README.md.
const fixtureDir = "/work/shared/fixtures/upstream-diffah"

func fixture(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(fixtureDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture %s absent: %v", p, err)
	}
	return p
}

// tarMembers reads a tar with archive/tar alone and returns each
// header's name and the digest of each regular member's bytes.
func tarMembers(t *testing.T, p string) ([]string,
	map[string]digest.Digest) {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sums := map[string]digest.Digest{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			d, err := digest.FromReader(tr)
			if err != nil {
				t.Fatal(err)
			}
			sums[hdr.Name] = d
		}
	}
	return names, sums
}

func TestFixtures(t *testing.T) {
	pairs := []string{"v1", "v2", "v3", "v4_baseline", "v4_target"}
	for _, base := range pairs {
		t.Run(base, func(t *testing.T) {
			var imgs []*Image
			for _, kind := range []string{"_oci.tar", "_s2.tar"} {
				p := fixture(t, base+kind)
				a, err := Open(context.Background(), p, OpenOptions{})
				if err != nil {
					t.Fatalf("Open %s: %v", p, err)
				}
				defer a.Close()
				checkArchive(t, a)
				imgs = append(imgs, a.Image())

				wantFormat := OCIArchive
				if kind == "_s2.tar" {
					wantFormat = DockerArchive
				}
				if a.Format != wantFormat {
					t.Errorf("%s: Format got %s, want %s", p, a.Format,
						wantFormat)
				}

				// Every layer's member is named by its digest and holds
				// bytes that hash to it, read with archive/tar alone.
				names, sums := tarMembers(t, p)
				for _, l := range a.Image().Layers {
					member := a.BlobMember(l.Digest)
					want := "blobs/sha256/" + l.Digest.Encoded()
					if wantFormat == DockerArchive {
						want = l.Digest.Encoded() + ".tar"
					}
					if member != want {
						t.Errorf("%s: layer %s in member %q, want %q", p,
							l.Digest, member, want)
					}
					if sums[member] != l.Digest {
						t.Errorf("%s: member %s hashes to %s, want %s",
							p, member, sums[member], l.Digest)
					}
				}
				var entryNames []string
				for _, e := range a.Entries() {
					entryNames = append(entryNames, e.Name)
				}
				if !slices.Equal(entryNames, names) {
					t.Errorf("%s: Entries names %v, archive/tar %v", p,
						entryNames, names)
				}
			}

			oci, s2 := imgs[0], imgs[1]
			if oci.Config.Digest != s2.Config.Digest {
				t.Errorf("config digest: oci %s, docker %s",
					oci.Config.Digest, s2.Config.Digest)
			}
			var ociLayers, s2Layers []digest.Digest
			for i := range oci.Layers {
				ociLayers = append(ociLayers, oci.Layers[i].Digest)
			}
			for i := range s2.Layers {
				s2Layers = append(s2Layers, s2.Layers[i].Digest)
			}
			if !slices.Equal(ociLayers, s2Layers) {
				t.Errorf("layers: oci %v, docker %v", ociLayers, s2Layers)
			}
			if oci.Platform != s2.Platform || oci.Platform == "" {
				t.Errorf("platform: oci %q, docker %q", oci.Platform,
					s2.Platform)
			}
		})
	}
}

// TestFixtureCompressed opens a fixture compressed as a whole and finds
// the same image as in the plain file.
func TestFixtureCompressed(t *testing.T) {
	p := fixture(t, "v2_s2.tar")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Open(context.Background(), p, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for kind, packed := range map[string][]byte{
		"gzip": gzipBytes(t, data),
		"zstd": zstdBytes(t, data),
	} {
		t.Run(kind, func(t *testing.T) {
			cp := writeFile(t, "v2.tar.x", packed)
			a, err := Open(context.Background(), cp,
				OpenOptions{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.Compression != kind {
				t.Errorf("Compression: got %s, want %s", a.Compression,
					kind)
			}
			if got, want := a.Image().Manifest.Digest,
				plain.Image().Manifest.Digest; got != want {
				t.Errorf("manifest digest: got %s, want %s", got, want)
			}
			if got, want := len(a.Entries()), len(plain.Entries()); got != want {
				t.Errorf("entries: got %d, want %d", got, want)
			}
			checkArchive(t, a)
		})
	}
}

// TestIndexSkipsData checks that indexing seeks over member data
// instead of reading it.
func TestIndexSkipsData(t *testing.T) {
	p := fixture(t, "v1_s2.tar")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := indexTar(context.Background(), p, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexing read %d of %d bytes (%d entries)", ix.read,
		st.Size(), len(ix.entries))
	// Headers are 512 bytes each; allow a few blocks more per entry
	// for PAX records and the reads archive/tar makes after a seek.
	limit := int64(len(ix.entries)+2) * 4 * 512
	if ix.read > limit || ix.read >= st.Size()/10 {
		t.Errorf("indexing read %d of %d bytes, want at most %d",
			ix.read, st.Size(), limit)
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, name := range []string{"v1_s2.tar", "v1_oci.tar"} {
		p := filepath.Join(fixtureDir, name)
		st, err := os.Stat(p)
		if err != nil {
			b.Skipf("fixture %s absent: %v", p, err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				a, err := Open(context.Background(), p, OpenOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(a.Image().Layers) != 2 {
					b.Fatalf("got %d layers, want 2",
						len(a.Image().Layers))
				}
				a.Close()
			}
		})
	}
}
