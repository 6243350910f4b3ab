package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationContainerdName is the image name containerd and Docker 25+
// put on index.json entries.
const annotationContainerdName = "io.containerd.image.name"

// annotationDockerRefType marks BuildKit attestation manifests.
const annotationDockerRefType = "vnd.docker.reference.type"

// Bounds on the work one Open spends walking indexes: descriptors
// visited and distinct nested index blobs read, over all images.
const (
	maxDescriptors = 1 << 16
	maxIndexReads  = 4096
)

// maxManifestReads bounds the distinct image manifests one Open reads
// to find the one whose config a digest selector names.
const maxManifestReads = 4096

// leaf is an image manifest descriptor found under an index.
type leaf struct {
	desc ocispec.Descriptor
}

func (l leaf) platform() string {
	p := l.desc.Platform
	if p == nil || p.OS == "" || p.Architecture == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// isAttestation reports whether l is not an image but metadata about one.
func (l leaf) isAttestation() bool {
	if _, ok := l.desc.Annotations[annotationDockerRefType]; ok {
		return true
	}
	p := l.desc.Platform
	return p != nil && p.OS == "unknown"
}

// ociGroup is one image named by index.json: a digest and its ref names.
type ociGroup struct {
	desc ocispec.Descriptor
	refs []string
}

func (g ociGroup) String() string {
	if len(g.refs) > 0 {
		return strings.Join(g.refs, ", ")
	}
	return string(g.desc.Digest)
}

func (g ociGroup) matches(selector string) bool {
	if string(g.desc.Digest) == selector {
		return true
	}
	for _, ref := range g.refs {
		if refMatches(ref, selector) {
			return true
		}
		if i := strings.LastIndex(ref, ":"); i >= 0 &&
			!strings.Contains(ref[i:], "/") && ref[i+1:] == selector {
			return true
		}
	}
	return false
}

func isIndexType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex ||
		mediaType == MediaTypeDockerManifestList
}

func isManifestType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageManifest ||
		mediaType == MediaTypeDockerManifest
}

func (a *Archive) loadOCI(ctx context.Context, opts OpenOptions) error {
	if a.src.has("oci-layout") {
		data, _, err := readJSON(a.src, a.Path, "oci-layout")
		if err != nil {
			return err
		}
		var layout ocispec.ImageLayout
		if err := json.Unmarshal(data, &layout); err != nil {
			return exit.Contentf("%s: member oci-layout: %w", a.Path,
				jsonerr.Wrap(err))
		}
		if layout.Version != ocispec.ImageLayoutVersion {
			return exit.Contentf("%s: member oci-layout: "+
				"imageLayoutVersion %q, want %q", a.Path, layout.Version,
				ocispec.ImageLayoutVersion)
		}
	}
	idx, err := a.readIndex("index.json")
	if err != nil {
		return err
	}

	groups, err := a.ociGroups(idx)
	if err != nil {
		return err
	}
	g, chosen, err := a.selectOCI(ctx, groups, opts)
	if err != nil {
		return err
	}
	img, err := a.buildOCI(ctx, chosen)
	if err != nil {
		return err
	}
	img.tags = g.refs
	a.setImage(img)
	return nil
}

// ociGroups groups the entries of index.json by digest, in order.
func (a *Archive) ociGroups(idx *ocispec.Index) ([]ociGroup, error) {
	var groups []ociGroup
	at := map[digest.Digest]int{}
	for _, d := range idx.Manifests {
		if err := validateDigest(d.Digest); err != nil {
			return nil, exit.Contentf("%s: member index.json: %w",
				a.Path, err)
		}
		i, ok := at[d.Digest]
		if !ok {
			i = len(groups)
			at[d.Digest] = i
			groups = append(groups, ociGroup{desc: d})
		}
		for _, key := range []string{ocispec.AnnotationRefName,
			annotationContainerdName} {
			ref := d.Annotations[key]
			if ref != "" && !contains(groups[i].refs, ref) {
				groups[i].refs = append(groups[i].refs, ref)
			}
		}
	}
	if len(groups) == 0 {
		return nil, exit.Contentf("%s: member index.json: no images",
			a.Path)
	}
	return groups, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// selectOCI picks the image group and then the manifest the options ask
// for.
func (a *Archive) selectOCI(ctx context.Context, groups []ociGroup,
	opts OpenOptions) (ociGroup, ocispec.Descriptor, error) {
	var none ocispec.Descriptor
	choices := func() string {
		var names []string
		for _, g := range groups {
			names = append(names, g.String())
		}
		return listChoices(names)
	}

	var picked []ociGroup
	if opts.Selector == "" {
		if len(groups) > 1 {
			return ociGroup{}, none, exit.Usagef("%s: %d images, name "+
				"one with path@selector: %s", a.Path, len(groups),
				choices())
		}
		picked = groups
	} else {
		for _, g := range groups {
			if g.matches(opts.Selector) {
				picked = append(picked, g)
			}
		}
	}

	switch {
	case len(picked) > 1:
		var names []string
		for _, g := range picked {
			names = append(names, g.String())
		}
		return ociGroup{}, none, exit.Usagef("%s: %q matches %d images: "+
			"%s", a.Path, opts.Selector, len(picked),
			listChoices(names))
	case len(picked) == 0 && isDigestLike(opts.Selector):
		g, desc, found, err := a.selectOCIDigest(groups,
			digest.Digest(opts.Selector))
		if err != nil || found {
			return g, desc, err
		}
		fallthrough
	case len(picked) == 0:
		return ociGroup{}, none, exit.Usagef("%s: no image matches %q; "+
			"images: %s", a.Path, opts.Selector, choices())
	}

	g := picked[0]
	desc, err := a.pickPlatform(g, opts.Platform)
	return g, desc, err
}

// groupLeaf is one manifest under an image group of index.json.
type groupLeaf struct {
	group ociGroup
	leaf  leaf
}

// selectOCIDigest finds the manifest a digest selector names when no
// group of index.json has that digest: first a manifest inside an
// index, then a manifest whose config has that digest. Finding the
// config needs each manifest read, at most maxManifestReads distinct
// ones. A config digest used by several manifests is a usage error
// listing them; found is false when nothing matches.
func (a *Archive) selectOCIDigest(groups []ociGroup,
	selector digest.Digest) (ociGroup, ocispec.Descriptor, bool, error) {
	var none ocispec.Descriptor
	var candidates []groupLeaf
	for _, g := range groups {
		var leaves []leaf
		err := a.collectLeaves([]ocispec.Descriptor{g.desc}, 1, false,
			&leaves)
		if err != nil {
			return ociGroup{}, none, false, err
		}
		for _, l := range leaves {
			if l.desc.Digest == selector {
				return g, l.desc, true, nil
			}
			candidates = append(candidates, groupLeaf{g, l})
		}
	}

	// A manifest listed twice (under two ref names, say) is read once
	// and counts as one match.
	var matched []groupLeaf
	read := map[digest.Digest]bool{}
	for _, c := range candidates {
		mediaType := c.leaf.desc.MediaType
		if c.leaf.isAttestation() || read[c.leaf.desc.Digest] ||
			mediaType != "" && !isManifestType(mediaType) {
			continue
		}
		if len(read) >= maxManifestReads {
			return ociGroup{}, none, false, exit.Contentf("%s: more "+
				"than %d manifests to read looking for config %s",
				a.Path, maxManifestReads, selector)
		}
		read[c.leaf.desc.Digest] = true
		m, err := a.readManifest(c.leaf.desc)
		if err != nil {
			return ociGroup{}, none, false, err
		}
		if m.manifest.Config.Digest == selector {
			matched = append(matched, c)
		}
	}

	switch len(matched) {
	case 0:
		return ociGroup{}, none, false, nil
	case 1:
		return matched[0].group, matched[0].leaf.desc, true, nil
	}
	var names []string
	for _, c := range matched {
		name := c.group.String()
		if c.leaf.desc.Digest != c.group.desc.Digest {
			name += " manifest " + string(c.leaf.desc.Digest)
		}
		names = append(names, name)
	}
	return ociGroup{}, none, false, exit.Usagef("%s: config %s is used "+
		"by %d manifests, name one by tag or manifest digest: %s", a.Path,
		selector, len(matched), listChoices(names))
}

// pickPlatform returns the manifest of g for platform; g may be a
// manifest or a (nested) index.
func (a *Archive) pickPlatform(g ociGroup,
	platform string) (ocispec.Descriptor, error) {
	var all []leaf
	err := a.collectLeaves([]ocispec.Descriptor{g.desc}, 1, false, &all)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var leaves []leaf
	for _, l := range all {
		if !l.isAttestation() {
			leaves = append(leaves, l)
		}
	}
	if len(leaves) == 0 {
		return ocispec.Descriptor{}, exit.Contentf("%s: image %s: no "+
			"image manifest in its index", a.Path, g)
	}
	if len(leaves) == 1 && (platform == "" ||
		leaves[0].platform() == "" ||
		platformMatches(leaves[0].platform(), platform)) {
		return leaves[0].desc, nil
	}

	var names []string
	for _, l := range leaves {
		p := l.platform()
		if p == "" {
			p = "unknown platform (" + string(l.desc.Digest) + ")"
		}
		names = append(names, p)
	}
	if platform == "" {
		return ocispec.Descriptor{}, exit.Usagef("%s: image %s has %d "+
			"platforms, name one as os/arch[/variant]: %s", a.Path, g,
			len(leaves), listChoices(names))
	}

	var matched []leaf
	for _, l := range leaves {
		if platformMatches(l.platform(), platform) {
			matched = append(matched, l)
		}
	}
	switch len(matched) {
	case 1:
		return matched[0].desc, nil
	case 0:
		return ocispec.Descriptor{}, exit.Usagef("%s: image %s has no "+
			"platform %s; platforms: %s", a.Path, g, platform,
			listChoices(names))
	}
	return ocispec.Descriptor{}, exit.Usagef("%s: image %s: platform %s "+
		"matches %d manifests, name the variant; platforms: %s", a.Path,
		g, platform, len(matched), listChoices(names))
}

// platformMatches compares "os/arch[/variant]" strings; a wanted
// platform without variant matches any variant.
func platformMatches(have, want string) bool {
	if have == want {
		return true
	}
	if strings.Count(want, "/") == 1 {
		return strings.HasPrefix(have, want+"/")
	}
	return false
}

// readIndex reads and parses an image index member.
func (a *Archive) readIndex(name string) (*ocispec.Index, error) {
	data, _, err := readJSON(a.src, a.Path, name)
	if err != nil {
		return nil, err
	}
	return a.parseIndex(name, data)
}

func (a *Archive) parseIndex(name string, data []byte) (*ocispec.Index,
	error) {
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, exit.Contentf("%s: member %s: %w", a.Path, name,
			jsonerr.Wrap(err))
	}
	if idx.SchemaVersion != 2 {
		return nil, exit.Contentf("%s: member %s: schemaVersion %d, "+
			"want 2", a.Path, name, idx.SchemaVersion)
	}
	return &idx, nil
}

// readBlobJSON reads a small blob named by desc into memory and checks
// its size and digest.
func (a *Archive) readBlobJSON(desc ocispec.Descriptor) ([]byte, string,
	error) {
	if err := validateDigest(desc.Digest); err != nil {
		return nil, "", exit.Contentf("%s: %w", a.Path, err)
	}
	name := blobPath(desc.Digest)
	data, member, err := readJSON(a.src, a.Path, name)
	if err != nil {
		return nil, "", err
	}
	if int64(len(data)) != desc.Size {
		return nil, "", exit.Contentf("%s: member %s: %d bytes, "+
			"descriptor says %d", a.Path, name, len(data), desc.Size)
	}
	if got := digest.FromBytes(data); got != desc.Digest {
		return nil, "", exit.Contentf("%s: member %s: content hashes "+
			"to %s", a.Path, name, got)
	}
	return data, member, nil
}

// collectLeaves appends the manifests under descs, reading nested
// indexes; depth is how deep the list holding descs is nested. With
// tolerateMissing, an index blob that is absent is skipped.
func (a *Archive) collectLeaves(descs []ocispec.Descriptor, depth int,
	tolerateMissing bool, out *[]leaf) error {
	for _, d := range descs {
		a.descriptorsSeen++
		if a.descriptorsSeen > maxDescriptors {
			return exit.Contentf("%s: indexes list more than %d "+
				"descriptors", a.Path, maxDescriptors)
		}
		isIndex := isIndexType(d.MediaType)
		if d.MediaType == "" {
			kind, err := a.sniffBlobKind(d)
			if err != nil {
				if tolerateMissing && errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return err
			}
			isIndex = kind == "index"
		}
		if !isIndex {
			*out = append(*out, leaf{desc: d})
			continue
		}

		if depth+1 > MaxIndexDepth {
			return exit.Contentf("%s: indexes nested more than %d deep "+
				"at %s", a.Path, MaxIndexDepth, d.Digest)
		}
		idx, err := a.nestedIndex(d)
		if err != nil {
			if tolerateMissing && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		err = a.collectLeaves(idx.Manifests, depth+1, tolerateMissing,
			out)
		if err != nil {
			return err
		}
	}
	return nil
}

// nestedIndex reads the index blob d names, once per Open.
func (a *Archive) nestedIndex(d ocispec.Descriptor) (*ocispec.Index,
	error) {
	if idx, ok := a.indexCache[d.Digest]; ok {
		return idx, nil
	}
	if len(a.indexCache) >= maxIndexReads {
		return nil, exit.Contentf("%s: more than %d nested indexes",
			a.Path, maxIndexReads)
	}
	data, _, err := a.readBlobJSON(d)
	if err != nil {
		return nil, err
	}
	idx, err := a.parseIndex(blobPath(d.Digest), data)
	if err != nil {
		return nil, err
	}
	if a.indexCache == nil {
		a.indexCache = map[digest.Digest]*ocispec.Index{}
	}
	a.indexCache[d.Digest] = idx
	return idx, nil
}

// sniffBlobKind reads a blob without media type in its descriptor and
// says whether it is an "index" or a "manifest".
func (a *Archive) sniffBlobKind(d ocispec.Descriptor) (string, error) {
	data, _, err := a.readBlobJSON(d)
	if err != nil {
		return "", err
	}
	var probe struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", exit.Contentf("%s: member %s: %w", a.Path,
			blobPath(d.Digest), jsonerr.Wrap(err))
	}
	if isIndexType(probe.MediaType) || probe.Manifests != nil {
		return "index", nil
	}
	return "manifest", nil
}

// ociManifest is a parsed image manifest and where it is stored.
type ociManifest struct {
	manifest ocispec.Manifest
	bytes    []byte
	member   string
}

// readManifest reads and checks the image manifest desc names.
func (a *Archive) readManifest(desc ocispec.Descriptor) (*ociManifest,
	error) {
	if desc.MediaType != "" && !isManifestType(desc.MediaType) {
		return nil, exit.Contentf("%s: manifest %s: media type %q, want "+
			"an OCI or Docker schema2 image manifest", a.Path,
			desc.Digest, desc.MediaType)
	}
	data, member, err := a.readBlobJSON(desc)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, exit.Contentf("%s: member %s: %w", a.Path, member,
			jsonerr.Wrap(err))
	}
	if m.SchemaVersion != 2 {
		return nil, exit.Contentf("%s: member %s: schemaVersion %d, "+
			"want 2", a.Path, member, m.SchemaVersion)
	}
	if m.MediaType != "" && !isManifestType(m.MediaType) {
		return nil, exit.Contentf("%s: member %s: media type %q, want "+
			"an image manifest", a.Path, member, m.MediaType)
	}
	if err := validateDigest(m.Config.Digest); err != nil {
		return nil, exit.Contentf("%s: member %s: config: %w", a.Path,
			member, err)
	}
	for i, l := range m.Layers {
		if err := validateDigest(l.Digest); err != nil {
			return nil, exit.Contentf("%s: member %s: layer %d: %w",
				a.Path, member, i, err)
		}
		if l.Size < 0 {
			return nil, exit.Contentf("%s: member %s: layer %d: size %d",
				a.Path, member, i, l.Size)
		}
	}
	return &ociManifest{manifest: m, bytes: data, member: member}, nil
}

// buildOCI reads the image whose manifest desc names.
func (a *Archive) buildOCI(ctx context.Context,
	desc ocispec.Descriptor) (*builtImage, error) {
	m, err := a.readManifest(desc)
	if err != nil {
		return nil, err
	}
	mediaType := desc.MediaType
	if mediaType == "" {
		mediaType = m.manifest.MediaType
	}
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}

	cfgBytes, cfgMember, err := a.readBlobJSON(m.manifest.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var cfg imageConfig
	if err := json.Unmarshal(cfgBytes, &cfg); err != nil {
		return nil, exit.Contentf("%s: member %s: config: %w", a.Path,
			cfgMember, jsonerr.Wrap(err))
	}

	platform := cfg.platform()
	if platform == "" {
		platform = leaf{desc: desc}.platform()
	}
	img := &builtImage{
		platform: platform,
		manifest: ocispec.Descriptor{
			MediaType: mediaType,
			Digest:    desc.Digest,
			Size:      desc.Size,
		},
		manifestBytes:  m.bytes,
		manifestMember: m.member,
		config:         m.manifest.Config,
		configBytes:    cfgBytes,
		configMember:   cfgMember,
	}
	for _, l := range m.manifest.Layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// TODO(#2): a non-distributable layer (urls set, blob left
		// out of the archive) is refused here as a missing member.
		name := blobPath(l.Digest)
		rc, member, size, err := a.src.open(name)
		if err != nil {
			return nil, memberError(a.Path, name, err)
		}
		rc.Close()
		if size != l.Size {
			return nil, exit.Contentf("%s: member %s: %d bytes, manifest "+
				"says %d", a.Path, member, size, l.Size)
		}
		img.layers = append(img.layers, l)
		img.layerMembers = append(img.layerMembers, member)
	}
	return img, nil
}
