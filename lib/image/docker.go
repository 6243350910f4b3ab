package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerEntry is one image of a docker-archive's manifest.json.
//
// TODO(#2): LayerSources (foreign Windows layers not stored in the
// archive) is ignored; such an archive fails on the missing member.
type dockerEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// imageConfig holds the parts of an image config this package reads.
type imageConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
	RootFS       struct {
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

func (c *imageConfig) platform() string {
	if c.OS == "" || c.Architecture == "" {
		return ""
	}
	p := c.OS + "/" + c.Architecture
	if c.Variant != "" {
		p += "/" + c.Variant
	}
	return p
}

func (a *Archive) loadDocker(ctx context.Context, opts OpenOptions) error {
	data, _, err := readJSON(a.src, a.Path, "manifest.json")
	if err != nil {
		return err
	}
	var entries []dockerEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return exit.Contentf("%s: member manifest.json: %w", a.Path,
			jsonerr.Wrap(err))
	}
	if len(entries) == 0 {
		return exit.Contentf("%s: member manifest.json: no images", a.Path)
	}

	img, err := a.selectDocker(ctx, entries, opts.Selector)
	if err != nil {
		return err
	}
	if a.src.has("index.json") {
		if err := a.crossCheckIndex(img); err != nil {
			return err
		}
	}
	// TODO(#2): a Docker 25+ archive also stores an OCI manifest; the
	// contract asks for the synthesized Docker one, so it is not used.
	a.setImage(img)
	return nil
}

// selectDocker builds the image of manifest.json the selector picks.
func (a *Archive) selectDocker(ctx context.Context, entries []dockerEntry,
	selector string) (*builtImage, error) {
	if selector == "" {
		if len(entries) > 1 {
			return nil, exit.Usagef("%s: %d images, name one with "+
				"path@selector: %s", a.Path, len(entries),
				listChoices(dockerChoices(entries)))
		}
		return a.buildDocker(ctx, entries[0])
	}

	var matches []int
	for i, e := range entries {
		for _, tag := range e.RepoTags {
			if refMatches(tag, selector) {
				matches = append(matches, i)
				break
			}
		}
	}
	// A Docker 25+ archive also lists OCI manifests in index.json: their
	// digests and ref names select the image of the same config.
	indexConfig := digest.Digest("")
	if len(matches) == 0 {
		var err error
		if indexConfig, err = a.indexConfig(selector); err != nil {
			return nil, err
		}
	}
	if len(matches) == 0 && (isDigestLike(selector) || indexConfig != "") {
		for _, e := range entries {
			img, err := a.buildDocker(ctx, e)
			if err != nil {
				return nil, err
			}
			if string(img.manifest.Digest) == selector ||
				string(img.config.Digest) == selector ||
				img.config.Digest == indexConfig {
				return img, nil
			}
		}
	}
	switch len(matches) {
	case 1:
		return a.buildDocker(ctx, entries[matches[0]])
	case 0:
		return nil, exit.Usagef("%s: no image matches %q; images: %s",
			a.Path, selector, listChoices(dockerChoices(entries)))
	}
	var names []string
	choices := dockerChoices(entries)
	for _, i := range matches {
		names = append(names, choices[i])
	}
	return nil, exit.Usagef("%s: %q matches %d images: %s", a.Path,
		selector, len(matches), listChoices(names))
}

// indexConfig returns the config digest of the manifest that selector
// names in the archive's index.json (by digest, or by a ref name as for
// an OCI archive), or "" when there is no index.json or it names none.
func (a *Archive) indexConfig(selector string) (digest.Digest, error) {
	if !a.src.has("index.json") {
		return "", nil
	}
	idx, err := a.readIndex("index.json")
	if err != nil {
		return "", err
	}
	groups, err := a.ociGroups(idx)
	if err != nil {
		return "", err
	}
	var named []ocispec.Descriptor
	for _, g := range groups {
		if g.matches(selector) {
			named = append(named, g.desc)
		}
	}
	// A digest may also name a manifest inside a nested index.
	search, byDigest := named, len(named) == 0 && isDigestLike(selector)
	if byDigest {
		search = idx.Manifests
	}
	var leaves []leaf
	if err := a.collectLeaves(search, 1, true, &leaves); err != nil {
		return "", err
	}
	for _, l := range leaves {
		if byDigest && string(l.desc.Digest) != selector {
			continue
		}
		m, err := a.readManifest(l.desc)
		if errors.Is(err, fs.ErrNotExist) {
			continue // another platform's, not saved
		}
		if err != nil {
			return "", err
		}
		return m.manifest.Config.Digest, nil
	}
	return "", nil
}

func dockerChoices(entries []dockerEntry) []string {
	var names []string
	for i, e := range entries {
		if len(e.RepoTags) > 0 {
			names = append(names, strings.Join(e.RepoTags, ", "))
			continue
		}
		base := strings.TrimSuffix(path.Base(e.Config), ".json")
		d := digest.NewDigestFromEncoded(digest.SHA256, base)
		if validateDigest(d) == nil {
			names = append(names, string(d)+" (untagged)")
			continue
		}
		names = append(names, fmt.Sprintf("#%d (untagged, config %s)",
			i+1, e.Config))
	}
	return names
}

// maxListed is how many choices an error message lists.
const maxListed = 20

// listChoices joins names for an error message, at most maxListed.
func listChoices(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, "; ")
	}
	return fmt.Sprintf("%s; and %d more",
		strings.Join(names[:maxListed], "; "), len(names)-maxListed)
}

// isDigestLike reports whether s looks like "algorithm:hex".
func isDigestLike(s string) bool {
	return strings.HasPrefix(s, "sha256:")
}

// refMatches reports whether a tag or ref name matches a selector: the
// same string, the same after docker.io normalisation, or (for ref
// names) the part after the last ':'.
func refMatches(ref, selector string) bool {
	if ref == selector {
		return true
	}
	for _, prefix := range []string{"docker.io/library/", "docker.io/"} {
		if ref == prefix+selector || selector == prefix+ref {
			return true
		}
	}
	return false
}

func (a *Archive) buildDocker(ctx context.Context,
	e dockerEntry) (*builtImage, error) {
	if e.Config == "" {
		return nil, exit.Contentf("%s: member manifest.json: image "+
			"without Config", a.Path)
	}
	cfgBytes, cfgMember, err := readJSON(a.src, a.Path, e.Config)
	if err != nil {
		return nil, err
	}
	// A config named by its digest (<hex>.json, blobs/sha256/<hex>) must
	// hash to it: a damaged config is corruption, not another image.
	if named := configDigestFromName(cfgMember); named != "" &&
		digest.FromBytes(cfgBytes) != named {
		return nil, exit.Contentf("%s: member %s: config does not match "+
			"the digest in its name", a.Path, cfgMember)
	}
	var cfg imageConfig
	if err := json.Unmarshal(cfgBytes, &cfg); err != nil {
		return nil, exit.Contentf("%s: member %s: config: %w", a.Path,
			e.Config, jsonerr.Wrap(err))
	}
	img := &builtImage{
		tags:     e.RepoTags,
		platform: cfg.platform(),
		config: ocispec.Descriptor{
			MediaType: MediaTypeDockerConfig,
			Digest:    digest.FromBytes(cfgBytes),
			Size:      int64(len(cfgBytes)),
		},
		configBytes:  cfgBytes,
		configMember: cfgMember,
	}

	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(e.Layers) {
		diffIDs = nil
	}
	for i, name := range e.Layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var diffID digest.Digest
		if diffIDs != nil && validateDigest(diffIDs[i]) == nil {
			diffID = diffIDs[i]
		}
		desc, member, err := a.dockerLayer(name, diffID)
		if err != nil {
			return nil, err
		}
		img.layers = append(img.layers, desc)
		img.layerMembers = append(img.layerMembers, member)
	}

	mb, err := SynthesizeDockerManifest(img.config, img.layers)
	if err != nil {
		return nil, exit.Content(fmt.Errorf("%s: %w", a.Path, err))
	}
	img.manifestBytes = mb
	img.manifest = ocispec.Descriptor{
		MediaType: MediaTypeDockerManifest,
		Digest:    digest.FromBytes(mb),
		Size:      int64(len(mb)),
	}
	return img, nil
}

// dockerLayer describes the layer stored at name: its digest, from the
// resolved name, the diff_id or hashing, and its sniffed media type.
func (a *Archive) dockerLayer(name string,
	diffID digest.Digest) (ocispec.Descriptor, string, error) {
	rc, member, size, err := a.src.open(name)
	if err != nil {
		return ocispec.Descriptor{}, "", memberError(a.Path, name, err)
	}
	defer rc.Close()
	key := layerKey{name: name, member: member, diffID: diffID}
	if desc, ok := a.layerCache[key]; ok {
		return desc, member, nil
	}

	head := make([]byte, 8)
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return ocispec.Descriptor{}, "", exit.IO(fmt.Errorf(
			"read %s: member %s: %w", a.Path, member, err))
	}
	kind := sniffCompression(head[:n]).kind
	mediaType := MediaTypeDockerLayer
	switch kind {
	case CompressionGzip:
		mediaType = MediaTypeDockerLayerGzip
	case CompressionZstd:
		mediaType = MediaTypeDockerLayerZstd
	}

	d := digestFromName(member)
	if d == "" {
		d = digestFromName(name)
	}
	if d != "" && kind != CompressionNone && d == diffID {
		d = "" // named by its diff_id but stored compressed: misnamed
	}
	if d == "" && kind == CompressionNone && size > 0 {
		d = diffID
	}
	if d == "" {
		h := digest.SHA256.Digester()
		h.Hash().Write(head[:n])
		if _, err := io.Copy(h.Hash(), rc); err != nil {
			return ocispec.Descriptor{}, "", exit.IO(fmt.Errorf(
				"read %s: member %s: %w", a.Path, member, err))
		}
		d = h.Digest()
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: size}
	if a.layerCache == nil {
		a.layerCache = map[layerKey]ocispec.Descriptor{}
	}
	a.layerCache[key] = desc
	return desc, member, nil
}

// crossCheckIndex checks that the index.json of a Docker 25+ archive
// lists the image with the same layers as manifest.json.
func (a *Archive) crossCheckIndex(img *builtImage) error {
	idx, err := a.readIndex("index.json")
	if err != nil {
		return err
	}
	var found []digest.Digest
	var leaves []leaf
	err = a.collectLeaves(idx.Manifests, 1, true, &leaves)
	if err != nil {
		return err
	}
	for _, l := range leaves {
		m, err := a.readManifest(l.desc)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // blob of another platform, not saved
			}
			return err
		}
		if m.manifest.Config.Digest != img.config.Digest {
			continue
		}
		found = found[:0]
		for _, l := range m.manifest.Layers {
			found = append(found, l.Digest)
		}
		var want []digest.Digest
		for _, l := range img.layers {
			want = append(want, l.Digest)
		}
		if !slices.Equal(found, want) {
			return exit.Contentf("%s: manifest.json and index.json "+
				"disagree on the layers of config %s: manifest.json "+
				"lists %s, index.json lists %s", a.Path,
				img.config.Digest, shortList(want), shortList(found))
		}
		return nil
	}
	return exit.Contentf("%s: manifest.json and index.json disagree: "+
		"index.json lists no manifest with config %s", a.Path,
		img.config.Digest)
}

func shortList(ds []digest.Digest) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		enc := d.Encoded()
		if len(enc) > 12 {
			enc = enc[:12]
		}
		b.WriteString(enc)
	}
	b.WriteByte(']')
	return b.String()
}
