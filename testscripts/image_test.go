package testscripts

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	ocispecVersioned = specs.Versioned{SchemaVersion: 2}
	epoch            = time.Unix(0, 0)
)

const mkimageUsage = `usage: mkimage [flags] OUT
  -version N      imagebuild.Realistic(N), tagged app:N.0 (default 1)
  -format F       docker-legacy (default), docker-modern, docker-skopeo,
                  oci-archive or oci-dir, optionally +gzip or +zstd
  -layers C       layer compression: auto (gzip for docker-skopeo and
                  the OCI formats, else none), none, gzip or zstd
  -manifest M     oci (default) or docker
  -tag T          tag instead of app:N.0 (repeatable)
  -repotags R     docker formats, no tags: null, empty ([]) or absent
  -empty          add an end-marker-only layer and a zero-byte layer
  -dup            repeat the top layer (one digest twice in one image)
  -image V:TAG    one more image in the same archive (repeatable)
  -platform P     os/arch; twice or more makes a multi-platform OCI
                  image (a nested image index)`

type mkimageOptions struct {
	version   int
	format    string
	layers    string
	manifest  string
	repoTags  string
	empty     bool
	dup       bool
	tags      []string
	images    []string
	platforms []string
}

// spec is the imagebuild.Spec of the options' image of version v.
func (o mkimageOptions) spec(version int, tags []string,
	platform string) imagebuild.Spec {

	spec := imagebuild.Realistic(version)
	if tags != nil {
		spec.Tags = tags
	}
	if o.repoTags != "" {
		spec.Tags = nil
		if o.repoTags == "empty" {
			spec.Tags = []string{}
		}
	}
	if platform != "" {
		parts := strings.Split(platform, "/")
		spec.OS, spec.Arch = parts[0], parts[len(parts)-1]
		// Make each platform's app layer its own.
		spec.Layers[2] = imagebuild.Layer(imagebuild.File("platform",
			[]byte(platform)))
	}
	if o.empty {
		spec.Layers = append(spec.Layers, imagebuild.EmptyTar(), []byte{})
	}
	if o.dup {
		spec.Layers = append(spec.Layers, spec.Layers[2])
	}
	spec.Manifest = o.manifest
	spec.Compress = o.layers
	if o.layers == "auto" {
		spec.Compress = "none"
		switch strings.Split(o.format, "+")[0] {
		case "docker-skopeo", "oci-archive", "oci-dir":
			spec.Compress = "gzip"
		}
	}
	return spec
}

// writeImage writes the image (or images) o describes to path.
func writeImage(path string, o mkimageOptions) error {
	if len(o.images) == 0 && len(o.platforms) < 2 && o.repoTags == "" {
		platform := ""
		if len(o.platforms) == 1 {
			platform = o.platforms[0]
		}
		return imagebuild.WriteFile(path, o.spec(o.version, o.tags,
			platform), o.format)
	}

	base, compress, _ := strings.Cut(o.format, "+")
	var members []member
	var err error
	switch {
	case len(o.platforms) > 1:
		members, err = multiPlatform(o, base)
	case len(o.images) > 0:
		members, err = multiImage(o, base)
	default:
		members, err = rewriteRepoTags(o, base)
	}
	if err != nil {
		return err
	}
	if base == "oci-dir" {
		return writeDir(path, members)
	}
	data, err := writeTar(members)
	if err != nil {
		return err
	}
	switch compress {
	case "gzip":
		data = imagebuild.Gzip(data)
	case "zstd":
		data = imagebuild.Zstd(data)
	}
	return os.WriteFile(path, data, 0o644)
}

// member is one tar member held in memory.
type member struct {
	hdr  *tar.Header
	data []byte
}

// archiveOf writes spec in format base as a tar and reads it back.
func archiveOf(spec imagebuild.Spec, base string) ([]member, error) {
	if base == "oci-dir" {
		base = "oci-archive"
	}
	var buf bytes.Buffer
	if err := imagebuild.Write(&buf, spec, base); err != nil {
		return nil, err
	}
	return readTar(buf.Bytes())
}

func readTar(b []byte) ([]member, error) {
	var out []member
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, member{hdr, data})
	}
}

func writeTar(members []member) ([]byte, error) {
	slices.SortStableFunc(members, func(a, b member) int {
		return strings.Compare(a.hdr.Name, b.hdr.Name)
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		m.hdr.Size = int64(len(m.data))
		if m.hdr.Typeflag != tar.TypeReg {
			m.hdr.Size = 0
		}
		if err := tw.WriteHeader(m.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.data[:m.hdr.Size]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeDir(dir string, members []member) error {
	for _, m := range members {
		p := filepath.Join(dir, filepath.FromSlash(m.hdr.Name))
		var err error
		switch m.hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, m.data, 0o644)
			}
		default:
			err = fmt.Errorf("member %s: type %c in an OCI layout",
				m.hdr.Name, m.hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// merge joins the members of several archives: the first of each name
// wins, except manifest.json, repositories and index.json, whose
// entries are joined.
func merge(archives [][]member) ([]member, error) {
	var out []member
	at := map[string]int{}
	for _, ms := range archives {
		for _, m := range ms {
			i, seen := at[m.hdr.Name]
			if !seen {
				at[m.hdr.Name] = len(out)
				out = append(out, m)
				continue
			}
			joined, err := join(m.hdr.Name, out[i].data, m.data)
			if err != nil {
				return nil, err
			}
			out[i].data = joined
		}
	}
	return out, nil
}

func join(name string, a, b []byte) ([]byte, error) {
	switch name {
	case "manifest.json":
		var x, y []json.RawMessage
		if err := unmarshal2(a, b, &x, &y); err != nil {
			return nil, err
		}
		return json.Marshal(append(x, y...))
	case "repositories":
		var x, y map[string]map[string]string
		if err := unmarshal2(a, b, &x, &y); err != nil {
			return nil, err
		}
		for repo, tags := range y {
			if x[repo] == nil {
				x[repo] = map[string]string{}
			}
			for t, id := range tags {
				x[repo][t] = id
			}
		}
		return json.Marshal(x)
	case "index.json":
		var x, y ocispec.Index
		if err := unmarshal2(a, b, &x, &y); err != nil {
			return nil, err
		}
		x.Manifests = append(x.Manifests, y.Manifests...)
		return json.Marshal(x)
	}
	return a, nil
}

func unmarshal2(a, b []byte, x, y any) error {
	if err := json.Unmarshal(a, x); err != nil {
		return err
	}
	return json.Unmarshal(b, y)
}

// multiImage writes the main image and each -image V:TAG into one
// archive.
func multiImage(o mkimageOptions, base string) ([]member, error) {
	first, err := archiveOf(o.spec(o.version, o.tags, ""), base)
	if err != nil {
		return nil, err
	}
	all := [][]member{first}
	for _, arg := range o.images {
		v, tag, ok := strings.Cut(arg, ":")
		version, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("-image %q: want VERSION:TAG", arg)
		}
		ms, err := archiveOf(o.spec(version, []string{tag}, ""), base)
		if err != nil {
			return nil, err
		}
		all = append(all, ms)
	}
	return merge(all)
}

// multiPlatform writes one OCI image per platform and an index.json
// naming a nested image index that lists them with their platforms.
func multiPlatform(o mkimageOptions, base string) ([]member, error) {
	if base != "oci-archive" && base != "oci-dir" {
		return nil, fmt.Errorf("-platform twice: only for OCI formats")
	}
	var all [][]member
	var manifests []ocispec.Descriptor
	for _, p := range o.platforms {
		ms, err := archiveOf(o.spec(o.version, o.tags, p), base)
		if err != nil {
			return nil, err
		}
		for i, m := range ms {
			if m.hdr.Name != "index.json" {
				continue
			}
			var ix ocispec.Index
			if err := json.Unmarshal(m.data, &ix); err != nil {
				return nil, err
			}
			d := ix.Manifests[0]
			parts := strings.Split(p, "/")
			d.Annotations = nil
			d.Platform = &ocispec.Platform{OS: parts[0],
				Architecture: parts[1]}
			if len(parts) > 2 {
				d.Platform.Variant = parts[2]
			}
			manifests = append(manifests, d)
			ms = slices.Delete(ms, i, i+1)
			break
		}
		all = append(all, ms)
	}
	members, err := merge(all)
	if err != nil {
		return nil, err
	}

	nested, err := json.Marshal(ocispec.Index{
		Versioned: ocispecVersioned, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests})
	if err != nil {
		return nil, err
	}
	d := digest.FromBytes(nested)
	tag := fmt.Sprintf("app:%d.0", o.version)
	if len(o.tags) > 0 {
		tag = o.tags[0]
	}
	top, err := json.Marshal(ocispec.Index{
		Versioned: ocispecVersioned, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageIndex, Digest: d,
			Size:        int64(len(nested)),
			Annotations: map[string]string{ocispec.AnnotationRefName: tag},
		}}})
	if err != nil {
		return nil, err
	}
	return append(members,
		fileMember("blobs/sha256/"+d.Encoded(), nested),
		fileMember("index.json", top)), nil
}

// rewriteRepoTags writes a docker archive whose manifest.json has
// RepoTags null, [] or no such key, as o.repoTags asks.
func rewriteRepoTags(o mkimageOptions, base string) ([]member, error) {
	var value json.RawMessage
	switch o.repoTags {
	case "null":
		value = json.RawMessage("null")
	case "empty":
		value = json.RawMessage("[]")
	case "absent":
	default:
		return nil, fmt.Errorf("-repotags %q: want null, empty or absent",
			o.repoTags)
	}
	ms, err := archiveOf(o.spec(o.version, nil, ""), base)
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		if m.hdr.Name != "manifest.json" {
			continue
		}
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(m.data, &entries); err != nil {
			return nil, err
		}
		for _, e := range entries {
			delete(e, "RepoTags")
			if value != nil {
				e["RepoTags"] = value
			}
		}
		if ms[i].data, err = json.Marshal(entries); err != nil {
			return nil, err
		}
		return ms, nil
	}
	return nil, fmt.Errorf("-repotags: %s has no manifest.json", base)
}

func fileMember(name string, data []byte) member {
	return member{&tar.Header{Typeflag: tar.TypeReg, Name: name,
		Mode: 0o644, ModTime: epoch}, data}
}
