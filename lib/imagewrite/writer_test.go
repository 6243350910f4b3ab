package imagewrite_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDeterministic writes every format twice and compares the bytes,
// and checks that a different image gives different bytes.
func TestDeterministic(t *testing.T) {
	for _, f := range allFormats(time.Time{}) {
		t.Run(f.name, func(t *testing.T) {
			img, blobs := testImage(t, "gzip", "oci", "app:1.0")
			first := write(t, f, img, blobs)
			img2, blobs2 := testImage(t, "gzip", "oci", "app:1.0")
			second := write(t, f, img2, blobs2)
			if !bytes.Equal(first, second) {
				t.Errorf("two writes differ: %d and %d bytes, sha256 %s "+
					"and %s", len(first), len(second),
					digest.FromBytes(first), digest.FromBytes(second))
			}
			other, otherBlobs := testImage(t, "gzip", "oci", "app:2.0")
			if bytes.Equal(first, write(t, f, other, otherBlobs)) {
				t.Errorf("a different tag gives the same bytes")
			}
		})
	}
}

// TestHeaders checks what every header of every format carries: owner
// 0, no owner names, the asked mtime, and names in sorted order.
func TestHeaders(t *testing.T) {
	mtimes := []time.Time{{}, time.Unix(1700000000, 0)}
	for _, mtime := range mtimes {
		want := mtime
		if want.IsZero() {
			want = time.Unix(0, 0)
		}
		for _, f := range allFormats(mtime) {
			t.Run(f.name+"/"+want.UTC().Format("2006"), func(t *testing.T) {
				img, blobs := testImage(t, "", "oci", "app:1.0")
				var names []string
				for _, m := range readTar(t, write(t, f, img, blobs)) {
					h := m.hdr
					names = append(names, h.Name)
					if h.Uid != 0 || h.Gid != 0 || h.Uname != "" ||
						h.Gname != "" {
						t.Errorf("%s: owner %d:%d %q:%q, want 0:0 and no "+
							"names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
					}
					if !h.ModTime.Equal(want) {
						t.Errorf("%s: mtime %v, want %v", h.Name,
							h.ModTime, want)
					}
					if h.Typeflag == tar.TypeDir &&
						!strings.HasSuffix(h.Name, "/") {
						t.Errorf("%s: directory without a trailing /",
							h.Name)
					}
				}
				if !slices.IsSorted(names) {
					t.Errorf("members not sorted: %q", names)
				}
			})
		}
	}
}

// TestOCIArchive checks index.json, oci-layout and the blobs.
func TestOCIArchive(t *testing.T) {
	tests := []struct {
		name     string
		manifest string // imagebuild manifest kind
		tags     []string
		wantType string
	}{
		{"oci manifest", "oci", []string{"app:1.0", "app:latest"},
			"application/vnd.oci.image.manifest.v1+json"},
		{"docker manifest kept", "docker", []string{"app:1.0"},
			imagewrite.MediaTypeDockerManifest},
		{"no manifest", "none", nil, imagewrite.MediaTypeDockerManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, blobs := testImage(t, "gzip", tt.manifest, tt.tags...)
			a := newArchive(t, write(t, ociFormat(time.Time{}), img, blobs))

			var index struct {
				SchemaVersion int
				MediaType     string
				Manifests     []struct {
					MediaType   string
					Digest      digest.Digest
					Size        int64
					Annotations map[string]string
				}
			}
			a.json(t, "index.json", &index)
			if index.SchemaVersion != 2 || len(index.Manifests) != 1 {
				t.Fatalf("index.json: schema %d with %d manifests, want "+
					"2 with 1", index.SchemaVersion, len(index.Manifests))
			}
			d := index.Manifests[0]
			if d.MediaType != tt.wantType {
				t.Errorf("manifest media type: got %s, want %s",
					d.MediaType, tt.wantType)
			}
			wantRef := ""
			if len(tt.tags) > 0 {
				wantRef = tt.tags[0]
			}
			gotRef := d.Annotations["org.opencontainers.image.ref.name"]
			if gotRef != wantRef {
				t.Errorf("ref name: got %q, want %q", gotRef, wantRef)
			}

			manifest := a.open(t, "blobs/sha256/"+d.Digest.Encoded())
			if got := digest.FromBytes(manifest); got != d.Digest ||
				int64(len(manifest)) != d.Size {
				t.Errorf("manifest blob: %s, %d bytes; index says %s, %d",
					got, len(manifest), d.Digest, d.Size)
			}
			if len(img.ManifestBytes) > 0 &&
				!bytes.Equal(manifest, img.ManifestBytes) {
				t.Errorf("manifest not stored as given")
			}

			// Every blob is stored once, under its own digest.
			want := []digest.Digest{d.Digest, img.Config.Digest}
			for _, l := range img.Layers {
				want = append(want, l.Digest)
			}
			stored := 0
			for _, m := range a.members {
				hex, ok := strings.CutPrefix(m.hdr.Name, "blobs/sha256/")
				if !ok || hex == "" {
					continue
				}
				stored++
				got := digest.FromBytes(m.data)
				if got.Encoded() != hex {
					t.Errorf("%s: content hashes to %s", m.hdr.Name, got)
				}
				if !slices.Contains(want, got) {
					t.Errorf("%s: not a blob of the image", m.hdr.Name)
				}
			}
			slices.Sort(want)
			if n := len(slices.Compact(want)); stored != n {
				t.Errorf("%d blobs stored, want %d", stored, n)
			}
		})
	}
}

// badSource serves wrong blobs.
type badSource struct {
	imagebuild.Blobs
	replace map[digest.Digest][]byte
	openErr error
	readErr error
}

func (s badSource) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	if s.openErr != nil {
		return nil, s.openErr
	}
	if s.readErr != nil {
		return io.NopCloser(io.MultiReader(strings.NewReader("x"),
			errReader{s.readErr})), nil
	}
	if b, ok := s.replace[d]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return s.Blobs.OpenBlob(d)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

// TestBlobErrors checks that a wrong blob, a failing source and a
// failing sink stop every writer with the right exit code.
func TestBlobErrors(t *testing.T) {
	img, blobs := testImage(t, "", "oci", "app:1.0")
	top := img.Layers[1].Digest
	good := blobs[top]
	flipped := bytes.Clone(good)
	flipped[100] ^= 1

	tests := []struct {
		name string
		src  imagewrite.BlobSource
		w    io.Writer
		code int
		msg  string
	}{
		{"wrong bytes", badSource{Blobs: blobs,
			replace: map[digest.Digest][]byte{top: flipped}},
			io.Discard, exit.Corrupt, "content hashes to"},
		{"short", badSource{Blobs: blobs,
			replace: map[digest.Digest][]byte{top: good[:10]}},
			io.Discard, exit.Corrupt, "10 bytes, descriptor says"},
		{"long", badSource{Blobs: blobs,
			replace: map[digest.Digest][]byte{top: append(bytes.Clone(good),
				0)}},
			io.Discard, exit.Corrupt, "longer than"},
		{"missing", badSource{Blobs: imagebuild.Blobs{}}, io.Discard,
			exit.Corrupt, "not in the built image"},
		{"open fails", badSource{openErr: errors.New("permission denied")},
			io.Discard, exit.EnvErr, "permission denied"},
		{"verifier fails at EOF", badSource{readErr: exit.Contentf(
			"digest mismatch")}, io.Discard, exit.Corrupt, "digest mismatch"},
		{"sink fails", blobs, &failWriter{after: 4096}, exit.EnvErr,
			"disk full"},
	}
	for _, f := range allFormats(time.Time{}) {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				err := f.write(tt.w, img, tt.src)
				if err == nil {
					t.Fatalf("got no error, want exit %d", tt.code)
				}
				if got := exit.Code(err); got != tt.code {
					t.Errorf("exit code: got %d, want %d (%v)",
						got, tt.code, err)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q: want it to mention %q", err, tt.msg)
				}
			})
		}
	}
}

// TestBadImage checks the image checks made before anything is written.
func TestBadImage(t *testing.T) {
	tests := []struct {
		name   string
		change func(*imagewrite.Image)
		code   int
	}{
		{"nil", nil, exit.UsageErr},
		{"config digest", func(img *imagewrite.Image) {
			img.ConfigBytes = append(bytes.Clone(img.ConfigBytes), ' ')
		}, exit.Corrupt},
		{"config size", func(img *imagewrite.Image) { img.Config.Size++ },
			exit.Corrupt},
		{"no config", func(img *imagewrite.Image) { img.ConfigBytes = nil },
			exit.UsageErr},
		{"manifest digest", func(img *imagewrite.Image) {
			img.Manifest.Digest = digest.FromString("other")
		}, exit.Corrupt},
		{"manifest without bytes", func(img *imagewrite.Image) {
			img.ManifestBytes = nil
		}, exit.UsageErr},
		{"layer digest", func(img *imagewrite.Image) {
			img.Layers[0].Digest = "sha256:abc"
		}, exit.UsageErr},
		{"layer algorithm", func(img *imagewrite.Image) {
			img.Layers[0].Digest = digest.Digest("sha512:" +
				strings.Repeat("ab", 64))
		}, exit.UsageErr},
		{"tag with digest", func(img *imagewrite.Image) {
			img.Tags = []string{"app@sha256:00"}
		}, exit.UsageErr},
		{"empty tag", func(img *imagewrite.Image) {
			img.Tags = []string{""}
		}, exit.UsageErr},
	}
	for _, f := range allFormats(time.Time{}) {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				img, blobs := testImage(t, "", "oci", "app:1.0")
				if tt.change == nil {
					img = nil
				} else {
					tt.change(img)
				}
				var buf bytes.Buffer
				err := f.write(&buf, img, blobs)
				if got := exit.Code(err); got != tt.code {
					t.Errorf("exit code: got %d, want %d (%v)",
						got, tt.code, err)
				}
				if buf.Len() != 0 {
					t.Errorf("%d bytes written before the error", buf.Len())
				}
			})
		}
	}
}

// TestLongStream checks that a layer is streamed, not buffered: a
// 32 MiB blob passes through while the writer allocates far less.
func TestLongStream(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	const size = 32 << 20
	h := digest.SHA256.Digester()
	io.CopyN(h.Hash(), zeroReader{}, size)
	d := h.Digest()

	img, blobs := testImage(t, "", "none")
	big := *img
	big.Layers = []ocispec.Descriptor{{
		MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: size,
	}}
	src := zeroSource{d: d, size: size, rest: blobs}
	cw := &countWriter{}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := imagewrite.WriteOCIArchive(cw, &big, src); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if cw.n < size {
		t.Errorf("wrote %d bytes, want at least %d", cw.n, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("allocated %d bytes writing a %d-byte blob, want under "+
			"%d", alloc, size, size/8)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type zeroSource struct {
	d    digest.Digest
	size int64
	rest imagebuild.Blobs
}

func (s zeroSource) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	if d == s.d {
		return io.NopCloser(io.LimitReader(zeroReader{}, s.size)), nil
	}
	return s.rest.OpenBlob(d)
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
