package imagewrite

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DockerLayout is the shape of a docker-archive file.
type DockerLayout int

const (
	// LayoutModern is what Docker 25 and later save: "blobs/sha256/"
	// holding the manifest, the config and the layers, "index.json",
	// "oci-layout", "manifest.json" pointing into blobs/, and
	// "repositories" when the image is tagged. index.json lists the
	// manifest once per tag with the "io.containerd.image.name" (full
	// name) and "org.opencontainers.image.ref.name" (tag) annotations,
	// or once without annotations for an untagged image. An image with
	// no manifest is stored with the one DockerManifest builds.
	LayoutModern DockerLayout = iota

	// LayoutLegacy is what Docker 1.10 to 24 save: "<config hex>.json",
	// one "<id>/" directory per layer holding "VERSION", "json" and
	// "layer.tar", "manifest.json" and, when tagged, "repositories".
	// A layer used a second time is a symlink "../<id>/layer.tar" to its
	// first use. No manifest is stored.
	LayoutLegacy

	// LayoutSkopeo is what skopeo and podman write: "<config hex>.json",
	// each layer once as "<layer hex>.tar", one "<id>/" folder per layer
	// (no directory entries) holding "VERSION", "json" and a "layer.tar"
	// symlink to "../<layer hex>.tar", "manifest.json" naming the
	// "<layer hex>.tar" files, and "repositories" when tagged. Files
	// have mode 0444, as skopeo writes them.
	LayoutSkopeo
)

// String returns the layout's name as the tools spell it.
func (l DockerLayout) String() string {
	switch l {
	case LayoutModern:
		return "modern"
	case LayoutLegacy:
		return "legacy"
	case LayoutSkopeo:
		return "skopeo"
	}
	return fmt.Sprintf("DockerLayout(%d)", int(l))
}

// DockerOptions tunes WriteDockerArchive. The zero value writes the
// modern layout with every mtime at the Unix epoch.
type DockerOptions struct {
	Layout DockerLayout

	// ModTime is the modification time of every tar member; the zero
	// value means the Unix epoch.
	ModTime time.Time
}

// WriteDockerArchive writes img as a docker-archive tar to w, in the
// layout opts asks for, members sorted by name. Layer blobs are stored as
// the source holds them (a gzip layer stays gzip). The legacy layer
// directories are named by IDs derived from the chain of layer digests,
// so they are stable but not the IDs Docker itself would compute. w is
// not closed.
func WriteDockerArchive(w io.Writer, img *Image, src BlobSource,
	opts DockerOptions) error {

	p, err := dockerPlan(img, opts.Layout)
	if err != nil {
		return fmt.Errorf("write docker archive: %w", err)
	}
	if err := p.writeTar(w, src, mtimeOr(opts.ModTime)); err != nil {
		return fmt.Errorf("write docker archive: %w", err)
	}
	return nil
}

// manifestEntry is one image in a docker-archive "manifest.json".
type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func dockerPlan(img *Image, layout DockerLayout) (*plan, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	switch layout {
	case LayoutModern:
		return modernPlan(img)
	case LayoutLegacy, LayoutSkopeo:
		return legacyPlan(img, layout)
	}
	return nil, exit.Usagef("docker layout %d: want modern, legacy or "+
		"skopeo", int(layout))
}

func modernPlan(img *Image) (*plan, error) {
	img, err := img.withManifest()
	if err != nil {
		return nil, err
	}
	p := &plan{}
	addBlobs(p, img, 0o644)

	// index.json: the manifest once per tag, as Docker lists it.
	desc := ocispec.Descriptor{
		MediaType: img.manifestMediaType(),
		Digest:    img.Manifest.Digest,
		Size:      img.Manifest.Size,
	}
	var manifests []ocispec.Descriptor
	for _, t := range img.Tags {
		_, tag, _ := splitTag(t)
		d := desc
		d.Annotations = map[string]string{
			"io.containerd.image.name": fullName(t),
			ocispec.AnnotationRefName:  tag,
		}
		manifests = append(manifests, d)
	}
	if len(manifests) == 0 {
		manifests = append(manifests, desc)
	}
	index, err := indexJSON(manifests)
	if err != nil {
		return nil, err
	}
	p.file("index.json", 0o644, index)
	p.file(ocispec.ImageLayoutFile, 0o644, ociLayoutFile)

	entry := manifestEntry{
		Config:   blobPath(img.Config.Digest),
		RepoTags: img.Tags,
	}
	for _, l := range img.Layers {
		entry.Layers = append(entry.Layers, blobPath(l.Digest))
	}
	if err := addManifestJSON(p, entry, 0o644); err != nil {
		return nil, err
	}

	// repositories names the top layer, here by its blob's hex.
	if len(img.Layers) > 0 {
		top := img.Layers[len(img.Layers)-1].Digest.Encoded()
		if err := addRepositories(p, img.Tags, top, 0o644); err != nil {
			return nil, err
		}
	}
	p.sort()
	return p, nil
}

func legacyPlan(img *Image, layout DockerLayout) (*plan, error) {
	p := &plan{}
	fileMode, linkMode := int64(0o644), int64(0o777)
	if layout == LayoutSkopeo {
		fileMode, linkMode = 0o444, 0
	}
	p.file(img.Config.Digest.Encoded()+".json", fileMode, img.ConfigBytes)

	ids := legacyIDs(img.Layers)
	topJSON, err := topLayerFields(img.ConfigBytes)
	if err != nil {
		return nil, err
	}
	entry := manifestEntry{
		Config:   img.Config.Digest.Encoded() + ".json",
		RepoTags: img.Tags,
	}
	firstUse := make(map[digest.Digest]string) // digest -> layer id
	for i, l := range img.Layers {
		id := ids[i]
		parent := ""
		if i > 0 {
			parent = ids[i-1]
		}
		var extra map[string]json.RawMessage
		if i == len(img.Layers)-1 {
			extra = topJSON
		}
		meta, err := legacyLayerJSON(id, parent, extra)
		if err != nil {
			return nil, err
		}

		if layout == LayoutLegacy {
			p.dir(id+"/", 0o755)
		}
		p.file(id+"/VERSION", fileMode, []byte("1.0"))
		p.file(id+"/json", fileMode, meta)

		switch first, seen := firstUse[l.Digest]; {
		case layout == LayoutSkopeo:
			stored := l.Digest.Encoded() + ".tar"
			p.blob(stored, fileMode, l)
			p.symlink(id+"/layer.tar", linkMode, "../"+stored)
			entry.Layers = append(entry.Layers, stored)
		case seen:
			p.symlink(id+"/layer.tar", linkMode, "../"+first+"/layer.tar")
			entry.Layers = append(entry.Layers, id+"/layer.tar")
		default:
			firstUse[l.Digest] = id
			p.blob(id+"/layer.tar", fileMode, l)
			entry.Layers = append(entry.Layers, id+"/layer.tar")
		}
	}
	if err := addManifestJSON(p, entry, fileMode); err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		err := addRepositories(p, img.Tags, ids[len(ids)-1], fileMode)
		if err != nil {
			return nil, err
		}
	}
	p.sort()
	return p, nil
}

// legacyIDs gives each layer position a stable 64-hex ID: the SHA-256 of
// "<parent id> <layer digest>", the parent of the base layer being "".
// Positions differ even when a digest repeats.
func legacyIDs(layers []ocispec.Descriptor) []string {
	ids := make([]string, len(layers))
	parent := ""
	for i, l := range layers {
		ids[i] = digest.FromString(parent + " " + string(l.Digest)).Encoded()
		parent = ids[i]
	}
	return ids
}

// topLayerFields picks from the image config the fields Docker copies
// into the top layer's legacy "json".
func topLayerFields(config []byte) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(config, &all); err != nil {
		return nil, exit.Contentf("image config: %w", err)
	}
	keep := make(map[string]json.RawMessage)
	for _, k := range []string{"architecture", "config", "container",
		"container_config", "created", "docker_version", "os"} {
		if v, ok := all[k]; ok {
			keep[k] = v
		}
	}
	return keep, nil
}

// legacyLayerJSON returns a layer's legacy "json": its id, its parent
// and, for the top layer, fields of the image config; keys sorted.
func legacyLayerJSON(id, parent string,
	extra map[string]json.RawMessage) ([]byte, error) {

	m := make(map[string]any, len(extra)+2)
	for k, v := range extra {
		m[k] = v
	}
	m["id"] = id
	if parent != "" {
		m["parent"] = parent
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("layer %s json: %w", id, err)
	}
	return b, nil
}

func addManifestJSON(p *plan, entry manifestEntry, mode int64) error {
	b, err := json.Marshal([]manifestEntry{entry})
	if err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	p.file("manifest.json", mode, b)
	return nil
}

// addRepositories adds "repositories", mapping every tag's repository
// and tag to the top layer's ID, when there are tags.
func addRepositories(p *plan, tags []string, topID string,
	mode int64) error {

	if len(tags) == 0 {
		return nil
	}
	repos := make(map[string]map[string]string)
	for _, t := range tags {
		repo, tag, err := splitTag(t)
		if err != nil {
			return err
		}
		if repos[repo] == nil {
			repos[repo] = make(map[string]string)
		}
		repos[repo][tag] = topID
	}
	b, err := json.Marshal(repos)
	if err != nil {
		return fmt.Errorf("repositories: %w", err)
	}
	p.file("repositories", mode, b)
	return nil
}
