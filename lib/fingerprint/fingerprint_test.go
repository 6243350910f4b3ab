package fingerprint

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// run fingerprints inputs and returns the records by kind.
type records struct {
	images  []record.Image
	entries []record.Entry
	layers  []record.Layer
	order   []string
}

func run(t *testing.T, inputs []Input) records {
	t.Helper()
	var out bytes.Buffer
	if err := Run(context.Background(), inputs, &out,
		Options{TempDir: t.TempDir()}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := record.NewReader(&out, "fingerprint")
	var recs records
	for {
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs.order = append(recs.order, raw.Kind)
		var v any
		switch raw.Kind {
		case record.KindImage:
			recs.images = append(recs.images, record.Image{})
			v = &recs.images[len(recs.images)-1]
		case record.KindEntry:
			recs.entries = append(recs.entries, record.Entry{})
			v = &recs.entries[len(recs.entries)-1]
		case record.KindLayer:
			recs.layers = append(recs.layers, record.Layer{})
			v = &recs.layers[len(recs.layers)-1]
		default:
			t.Fatalf("got record kind %q, want image, entry or layer",
				raw.Kind)
		}
		if err := raw.Decode("fingerprint", v); err != nil {
			t.Fatal(err)
		}
	}
	if r.Header().Tool != Tool {
		t.Errorf("got tool %q, want %q", r.Header().Tool, Tool)
	}
	return recs
}

func build(t *testing.T, dir, name string, version int,
	format string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := imagebuild.WriteFile(path, imagebuild.Realistic(version),
		format); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTargetMembers checks, for every format, that a target's members
// are where the record says, with the digests it gives, and that the
// archive's size and SHA-256 are those of the (uncompressed) file.
func TestTargetMembers(t *testing.T) {
	for _, format := range append(imagebuild.Formats, "oci-archive+gzip",
		"docker-legacy+zstd") {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			path := build(t, dir, "v2", 2, format)
			recs := run(t, []Input{{Name: "app", Role: record.RoleTarget,
				Path: path}})
			if len(recs.images) != 1 {
				t.Fatalf("got %d image records, want 1", len(recs.images))
			}
			img := recs.images[0]
			if len(img.Members) == 0 {
				t.Fatalf("got no members for a target")
			}
			if format == "oci-dir" {
				if img.ArchiveSHA256 != "" {
					t.Errorf("got archive sha256 %s for a directory, "+
						"want none", img.ArchiveSHA256)
				}
				for _, m := range img.Members {
					data, err := os.ReadFile(filepath.Join(path, m.Name))
					if err != nil {
						t.Fatal(err)
					}
					if got := digest.FromBytes(data); got != m.Digest {
						t.Errorf("member %s: got %s, want %s", m.Name,
							m.Digest, got)
					}
				}
				return
			}
			var data []byte
			if strings.Contains(format, "+") {
				// The record describes the decompressed tar.
				var buf bytes.Buffer
				base, _, _ := strings.Cut(format, "+")
				if err := imagebuild.Write(&buf, imagebuild.Realistic(2),
					base); err != nil {
					t.Fatal(err)
				}
				data = buf.Bytes()
			} else {
				var err error
				if data, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			}
			if img.ArchiveSize != int64(len(data)) ||
				img.ArchiveSHA256 != digest.FromBytes(data) {
				t.Errorf("got archive %d bytes %s, want %d bytes %s",
					img.ArchiveSize, img.ArchiveSHA256, len(data),
					digest.FromBytes(data))
			}
			for _, m := range img.Members {
				if m.Offset < 0 || m.Offset+m.Size > int64(len(data)) {
					t.Fatalf("member %s at %d+%d is outside the file",
						m.Name, m.Offset, m.Size)
				}
				got := digest.FromBytes(data[m.Offset : m.Offset+m.Size])
				if got != m.Digest || m.Size == 0 {
					t.Errorf("member %s: got %s (%d bytes), want %s",
						m.Name, m.Digest, m.Size, got)
				}
			}
		})
	}
}

// TestLayers checks the layer and entry records against what the
// builder put in: one layer record per distinct layer across inputs,
// diff IDs equal to the config's, and entry digests of file contents.
func TestLayers(t *testing.T) {
	dir := t.TempDir()
	v1 := build(t, dir, "v1.tar", 1, "docker-modern")
	v2 := build(t, dir, "v2.tar", 2, "oci-archive")
	recs := run(t, []Input{
		{Name: "app", Role: record.RoleBaseline, Path: v1},
		{Name: "app", Role: record.RoleTarget, Path: v2},
	})

	if len(recs.images) != 2 || recs.images[0].Role !=
		record.RoleBaseline || recs.images[1].Role != record.RoleTarget {
		t.Fatalf("got images %+v, want baseline then target", recs.images)
	}
	if recs.images[0].Members != nil {
		t.Errorf("got members for a baseline, want none")
	}
	// Layers are uncompressed and shared byte for byte by versions 1
	// and 2 except the app layer: 3 + 1 distinct layers.
	if len(recs.layers) != 4 {
		t.Fatalf("got %d layer records, want 4", len(recs.layers))
	}

	// Every layer's diff ID is in the target's or baseline's config.
	wantDiffIDs := map[digest.Digest]bool{}
	for _, v := range []int{1, 2} {
		img, _, err := imagebuild.Build(imagebuild.Realistic(v))
		if err != nil {
			t.Fatal(err)
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(img.ConfigBytes, &cfg); err != nil {
			t.Fatal(err)
		}
		for _, d := range cfg.RootFS.DiffIDs {
			wantDiffIDs[d] = true
		}
	}
	perLayer := map[digest.Digest]int{}
	for _, e := range recs.entries {
		perLayer[e.Layer]++
		if e.Type == "file" && e.Digest == "" {
			t.Errorf("entry %s: got a file without a digest", e.Path)
		}
		if e.Type == "symlink" && e.Linkname == "" {
			t.Errorf("entry %s: got a symlink without a target", e.Path)
		}
	}
	for _, l := range recs.layers {
		if !wantDiffIDs[l.DiffID] {
			t.Errorf("layer %s: got diff ID %s, not in the configs",
				l.Digest, l.DiffID)
		}
		if !l.Tar || l.Compression != "none" {
			t.Errorf("layer %s: got tar %v compression %q, want a plain "+
				"tar", l.Digest, l.Tar, l.Compression)
		}
		if perLayer[l.Digest] != l.Entries || l.Entries == 0 {
			t.Errorf("layer %s: got %d entries, counted %d records",
				l.Digest, l.Entries, perLayer[l.Digest])
		}
		if l.Bytes <= 0 || l.Bytes != l.Size {
			t.Errorf("layer %s: got %d bytes decompressed, want its "+
				"size %d", l.Digest, l.Bytes, l.Size)
		}
	}

	// The base layer holds a symlink, a hard link and a long PAX name.
	types := map[string]bool{}
	for _, e := range recs.entries {
		types[e.Type] = true
	}
	for _, want := range []string{"file", "dir", "symlink", "hardlink"} {
		if !types[want] {
			t.Errorf("got no %s entries, want some", want)
		}
	}
}

// TestCompressedLayers checks that gzip and zstd layers are described
// from their decompressed bytes.
func TestCompressedLayers(t *testing.T) {
	for _, codec := range []string{"gzip", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			spec := imagebuild.Realistic(1)
			spec.Compress = codec
			path := filepath.Join(t.TempDir(), "v1.tar")
			if err := imagebuild.WriteFile(path, spec,
				"oci-archive"); err != nil {
				t.Fatal(err)
			}
			recs := run(t, []Input{{Name: "app",
				Role: record.RoleBaseline, Path: path}})
			for _, l := range recs.layers {
				if l.Compression != codec || !l.Tar || l.Bytes <= l.Size {
					t.Errorf("layer %s: got compression %q tar %v, %d "+
						"bytes from %d, want %s tar larger than stored",
						l.Digest, l.Compression, l.Tar, l.Bytes, l.Size,
						codec)
				}
			}
		})
	}
}

func TestNotATarLayer(t *testing.T) {
	spec := imagebuild.Realistic(1)
	spec.Layers = append(spec.Layers, []byte("plain bytes, not a tar"))
	path := filepath.Join(t.TempDir(), "odd.tar")
	if err := imagebuild.WriteFile(path, spec, "oci-archive"); err != nil {
		t.Fatal(err)
	}
	recs := run(t, []Input{{Name: "app", Role: record.RoleTarget,
		Path: path}})
	last := recs.layers[len(recs.layers)-1]
	if last.Tar || last.Entries != 0 {
		t.Errorf("got tar %v with %d entries, want a non-tar layer",
			last.Tar, last.Entries)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.tar")
	os.WriteFile(junk, bytes.Repeat([]byte("junk"), 1000), 0o644)
	tests := []struct {
		name     string
		path     string
		wantCode int
	}{
		{"missing file", filepath.Join(dir, "absent.tar"), exit.UsageErr},
		{"not an image", junk, exit.Corrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), []Input{{Name: "app",
				Role: record.RoleTarget, Path: tc.path}}, io.Discard,
				Options{TempDir: dir})
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
		})
	}
}

// TestDeterministic checks that two runs give the same records.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	path := build(t, dir, "v2.tar", 2, "docker-legacy")
	in := []Input{{Name: "app", Role: record.RoleTarget, Path: path}}
	var a, b bytes.Buffer
	if err := Run(context.Background(), in, &a, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), in, &b, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("got different records on the second run")
	}
}
