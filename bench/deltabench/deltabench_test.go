package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	digest "github.com/opencontainers/go-digest"
)

func TestWrapLayer(t *testing.T) {
	layer := imagebuild.Layer(imagebuild.File("etc/hello", []byte("hi\n")))
	for _, format := range []string{"docker-legacy", "docker-modern",
		"docker-skopeo"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			layerPath := filepath.Join(dir, "p.ref")
			if err := os.WriteFile(layerPath, layer, 0o644); err != nil {
				t.Fatal(err)
			}
			imgPath := filepath.Join(dir, "p.ref."+format+".tar")
			if err := wrapLayer(layerPath, imgPath, "p:ref", format,
				false); err != nil {
				t.Fatalf("wrapLayer: %v", err)
			}

			// The image holds one layer with the tar's bytes.
			a, err := image.Open(context.Background(), imgPath,
				image.OpenOptions{})
			if err != nil {
				t.Fatalf("open wrapped image: %v", err)
			}
			defer a.Close()
			img := a.Image()
			want := digest.FromBytes(layer)
			if len(img.Layers) != 1 || img.Layers[0].Digest != want {
				t.Fatalf("got layers %v, want one %s", img.Layers, want)
			}
			rc, err := a.OpenBlob(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, layer) {
				t.Fatalf("got layer of %d bytes (err %v), want %d bytes",
					len(got), err, len(layer))
			}
			if !slices.Equal(img.RepoTags, []string{"p:ref"}) {
				t.Errorf("got tags %v, want [p:ref]", img.RepoTags)
			}
		})
	}
}

func TestWrapLayerReuse(t *testing.T) {
	dir := t.TempDir()
	layerPath := filepath.Join(dir, "p.ref")
	imgPath := filepath.Join(dir, "p.image.tar")
	layer := imagebuild.Layer(imagebuild.File("a", []byte("a")))
	if err := os.WriteFile(layerPath, layer, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(layerPath, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(imgPath, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Newer than the layer: kept as it is.
	if err := wrapLayer(layerPath, imgPath, "p:ref", "docker-legacy",
		false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(imgPath); string(b) != "stale" {
		t.Errorf("got %d bytes, want the reused 5-byte file", len(b))
	}

	// -rebuild rewrites it.
	if err := wrapLayer(layerPath, imgPath, "p:ref", "docker-legacy",
		true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(imgPath); string(b) == "stale" {
		t.Errorf("got the stale file, want a rewritten image")
	}
}

func TestSelectPairs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"go.ref", "go.target", "zz.ref",
		"zz.target", "random1m.ref", "debian.target", "aa.ref"} {
		err := os.WriteFile(filepath.Join(dir, name), nil, 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		want, present, missing []string
	}{
		{nil, []string{"go", "zz"},
			[]string{"random1m", "random64m", "debian", "debian-big"}},
		{[]string{"zz", "debian", "go"}, []string{"zz", "go"},
			[]string{"debian"}},
	}
	for _, tt := range tests {
		present, missing, err := selectPairs(dir, tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(present, tt.present) ||
			!slices.Equal(missing, tt.missing) {
			t.Errorf("selectPairs(%v): got %v and missing %v, want %v "+
				"and missing %v", tt.want, present, missing, tt.present,
				tt.missing)
		}
	}
}

func TestReadReport(t *testing.T) {
	const layer = "sha256:" +
		"1111111111111111111111111111111111111111111111111111111111111111"
	const head = `{"sidecar":{"images":[{"target":{"layers":[` +
		`{"digest":"` + layer + `"}]}}],"blobs":[`
	tests := []struct {
		name, report string
		as           string
		layer, patch int64
		wantErr      bool
	}{
		{"patch", head + `{"digest":"` + layer + `","encoding":"patch",` +
			`"storedSize":70},{"digest":"sha256:22","encoding":"full",` +
			`"storedSize":900}]}}`, "patch", 70, 70, false},
		{"full", head + `{"digest":"` + layer + `","encoding":"full",` +
			`"storedSize":4096}]}}`, "full", 4096, 0, false},
		{"layer missing", head + `]}}`, "", 0, 0, true},
		{"no image", `{"sidecar":{"images":[],"blobs":[]}}`, "", 0, 0,
			true},
		{"not json", `inspect: oops`, "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r row
			err := r.readReport([]byte(tt.report))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err,
					tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.layerAs != tt.as || r.layerBytes != tt.layer ||
				r.patchBytes != tt.patch {
				t.Errorf("got %s %d patches %d, want %s %d patches %d",
					r.layerAs, r.layerBytes, r.patchBytes, tt.as,
					tt.layer, tt.patch)
			}
		})
	}
}

func TestSum(t *testing.T) {
	a := row{pair: "a", targetBytes: 10, zstdBytes: 3, layerBytes: 2,
		deltaBytes: 4, exact: true,
		export: usage{wall: time.Second, cpu: time.Second, maxRSS: 7}}
	b := row{pair: "b", targetBytes: 20, zstdBytes: 5, layerBytes: 6,
		deltaBytes: 8, exact: true,
		export: usage{wall: 2 * time.Second, cpu: time.Second,
			maxRSS: 5}}
	noZstd := b
	noZstd.zstdBytes = -1
	differs := b
	differs.exact = false

	tests := []struct {
		name      string
		rows      []row
		zstd      int64
		exact     bool
		wall      time.Duration
		rss, tgt  int64
		layer, dl int64
	}{
		{"both", []row{a, b}, 8, true, 3 * time.Second, 7, 30, 8, 12},
		{"one without zstd", []row{noZstd, a}, -1, true,
			3 * time.Second, 7, 30, 8, 12},
		{"one differs", []row{a, differs}, 8, false, 3 * time.Second, 7,
			30, 8, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sum(tt.rows)
			if got.zstdBytes != tt.zstd || got.exact != tt.exact ||
				got.export.wall != tt.wall ||
				got.export.maxRSS != tt.rss ||
				got.targetBytes != tt.tgt ||
				got.layerBytes != tt.layer || got.deltaBytes != tt.dl {
				t.Errorf("got %+v, want zstd %d exact %v wall %v rss %d "+
					"target %d layer %d delta %d", got, tt.zstd, tt.exact,
					tt.wall, tt.rss, tt.tgt, tt.layer, tt.dl)
			}
		})
	}
}
