package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var v2 = specs.Versioned{SchemaVersion: 2}

// This file builds small image archives in memory for the tests.

var epoch = time.Unix(1700000000, 0).UTC()

// tmember is one member of a test tar.
type tmember struct {
	name     string
	body     []byte
	typeflag byte // 0 means a regular file
	link     string
}

// builder collects tar members, writing each name once.
type builder struct {
	members []tmember
	seen    map[string]bool
}

func newBuilder() *builder { return &builder{seen: map[string]bool{}} }

func (b *builder) file(name string, body []byte) {
	if b.seen[name] {
		return
	}
	b.seen[name] = true
	b.members = append(b.members, tmember{name: name, body: body})
}

func (b *builder) symlink(name, target string) {
	b.members = append(b.members, tmember{name: name,
		typeflag: tar.TypeSymlink, link: target})
}

func (b *builder) dir(name string) {
	b.members = append(b.members, tmember{name: name,
		typeflag: tar.TypeDir})
}

// blob stores body under blobs/sha256/ and returns its descriptor.
func (b *builder) blob(mediaType string, body []byte) ocispec.Descriptor {
	d := digest.FromBytes(body)
	b.file("blobs/sha256/"+d.Encoded(), body)
	return ocispec.Descriptor{MediaType: mediaType, Digest: d,
		Size: int64(len(body))}
}

func (b *builder) tar(t testing.TB) []byte {
	return writeTar(t, b.members)
}

func writeTar(t testing.TB, members []tmember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		hdr := &tar.Header{
			Name:     m.name,
			Typeflag: m.typeflag,
			Linkname: m.link,
			Mode:     0o644,
			ModTime:  epoch,
		}
		switch m.typeflag {
		case 0, tar.TypeReg:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(m.body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", m.name, err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatalf("write %s: %v", m.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layer is a test layer: its uncompressed tar and its stored bytes.
type layer struct {
	raw    []byte
	stored []byte
}

func (l layer) diffID() digest.Digest { return digest.FromBytes(l.raw) }
func (l layer) digest() digest.Digest { return digest.FromBytes(l.stored) }

// newLayer makes a layer holding one file; comp is "none" or "gzip".
func newLayer(t testing.TB, file, content, comp string) layer {
	raw := writeTar(t, []tmember{{name: file, body: []byte(content)}})
	switch comp {
	case "gzip":
		return layer{raw: raw, stored: gzipBytes(t, raw)}
	case "zstd":
		return layer{raw: raw, stored: zstdBytes(t, raw)}
	}
	return layer{raw: raw, stored: raw}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configFor is an image config over the layers' diff_ids.
func configFor(t testing.TB, arch string, layers []layer) []byte {
	var ids []digest.Digest
	for _, l := range layers {
		ids = append(ids, l.diffID())
	}
	return mustJSON(t, map[string]any{
		"architecture": arch,
		"os":           "linux",
		"rootfs":       map[string]any{"type": "layers", "diff_ids": ids},
	})
}

// dockerImage describes one image of a test docker-archive.
type dockerImage struct {
	repoTags string // raw JSON for RepoTags; "" leaves the key out
	layers   []layer
	arch     string
}

// dockerStyle says how a docker-archive stores layers.
type dockerStyle int

const (
	legacyPlain   dockerStyle = iota // <id>/layer.tar regular files
	skopeoStyle                      // <hex>.tar + <id>/layer.tar links
	skopeoViaLink                    // as skopeo, manifest lists links
	docker25                         // blobs/sha256 + index.json
)

// buildDocker writes a docker-archive holding imgs.
func buildDocker(t testing.TB, style dockerStyle, imgs ...dockerImage) []byte {
	b := newBuilder()
	var entries []string
	var indexManifests []ocispec.Descriptor
	for n, img := range imgs {
		cfg := configFor(t, img.arch, img.layers)
		cfgName := digest.FromBytes(cfg).Encoded() + ".json"
		if style == docker25 {
			cfgName = "blobs/sha256/" + digest.FromBytes(cfg).Encoded()
		}
		b.file(cfgName, cfg)

		var names []string
		var ociLayers []ocispec.Descriptor
		for i, l := range img.layers {
			id := digest.FromString(fmt.Sprintf("%d/%d", n, i)).Encoded()
			hex := l.digest().Encoded()
			switch style {
			case legacyPlain:
				b.dir(id + "/")
				b.file(id+"/VERSION", []byte("1.0"))
				b.file(id+"/layer.tar", l.stored)
				names = append(names, id+"/layer.tar")
			case skopeoStyle, skopeoViaLink:
				b.file(hex+".tar", l.stored)
				b.file(id+"/json", []byte(`{"id":"`+id+`"}`))
				b.symlink(id+"/layer.tar", "../"+hex+".tar")
				if style == skopeoStyle {
					names = append(names, hex+".tar")
				} else {
					names = append(names, id+"/layer.tar")
				}
			case docker25:
				d := b.blob(ocispec.MediaTypeImageLayer, l.stored)
				ociLayers = append(ociLayers, d)
				names = append(names, "blobs/sha256/"+hex)
			}
		}
		if style == docker25 {
			cd := b.blob(ocispec.MediaTypeImageConfig, cfg)
			md := b.blob(ocispec.MediaTypeImageManifest,
				mustJSON(t, ocispec.Manifest{
					Versioned: specs.Versioned{SchemaVersion: 2},
					MediaType: ocispec.MediaTypeImageManifest,
					Config:    cd,
					Layers:    ociLayers,
				}))
			// As Docker 25 does: the first tag as ref names.
			var tags []string
			json.Unmarshal([]byte(img.repoTags), &tags)
			if len(tags) > 0 {
				_, tag, _ := strings.Cut(tags[0], ":")
				md.Annotations = map[string]string{
					ocispec.AnnotationRefName: tag,
					annotationContainerdName:  tags[0],
				}
			}
			indexManifests = append(indexManifests, md)
		}

		entry := `{"Config":` + string(mustJSON(t, cfgName))
		if img.repoTags != "" {
			entry += `,"RepoTags":` + img.repoTags
		}
		entry += `,"Layers":` + string(mustJSON(t, names)) + `}`
		entries = append(entries, entry)
	}
	manifest := []byte("[" + join(entries, ",") + "]")
	b.file("manifest.json", manifest)
	if style == docker25 {
		b.file("index.json", mustJSON(t, ocispec.Index{
			Versioned: v2,
			MediaType: ocispec.MediaTypeImageIndex,
			Manifests: indexManifests,
		}))
		b.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	} else {
		b.file("repositories", []byte("{}"))
	}
	return b.tar(t)
}

func join(list []string, sep string) string {
	var s string
	for i, x := range list {
		if i > 0 {
			s += sep
		}
		s += x
	}
	return s
}

// ociImage stores an image's blobs and returns its manifest descriptor.
func ociImage(t testing.TB, b *builder, arch string,
	layers []layer) ocispec.Descriptor {
	cfg := b.blob(ocispec.MediaTypeImageConfig, configFor(t, arch, layers))
	var ls []ocispec.Descriptor
	for _, l := range layers {
		ls = append(ls, b.blob(ocispec.MediaTypeImageLayer+"+gzip",
			l.stored))
	}
	m := ocispec.Manifest{Versioned: v2, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: ls}
	return b.blob(ocispec.MediaTypeImageManifest,
		mustJSON(t, m))
}

// ociIndex writes index.json and oci-layout listing manifests.
func ociIndex(t testing.TB, b *builder, manifests ...ocispec.Descriptor) {
	b.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	b.file("index.json", mustJSON(t, ocispec.Index{
		Versioned: v2,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests,
	}))
}

// nestedIndex stores an index blob listing manifests.
func nestedIndex(t testing.TB, b *builder,
	manifests ...ocispec.Descriptor) ocispec.Descriptor {
	return b.blob(ocispec.MediaTypeImageIndex, mustJSON(t, ocispec.Index{
		Versioned: v2,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests,
	}))
}

func withRef(d ocispec.Descriptor, ref string) ocispec.Descriptor {
	d.Annotations = map[string]string{ocispec.AnnotationRefName: ref}
	return d
}

func withPlatform(d ocispec.Descriptor, os, arch,
	variant string) ocispec.Descriptor {
	d.Platform = &ocispec.Platform{OS: os, Architecture: arch,
		Variant: variant}
	return d
}

// writeFile writes data to a new file in a test temp dir.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
