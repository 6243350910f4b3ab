// Package delta reads and writes diffah's delta archive.
//
// A delta archive is a plain tar. Its first member is the sidecar,
// diffah.json, which describes every image and every stored blob; the
// other members are named blobs/sha256/<hex> after the SHA-256 of their
// own bytes, one per distinct stored digest, in digest order. Headers
// are deterministic: the same sidecar and blobs give the same bytes.
package delta

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Version is the sidecar version this build writes and reads.
const Version = 1

// SidecarName is the first member of every delta archive.
const SidecarName = "diffah.json"

// PAXSidecarSHA256 is the PAX record of the sidecar's tar header that
// holds the hex SHA-256 of the sidecar, so that damage to the sidecar is
// told from a delta made against another baseline.
const PAXSidecarSHA256 = "DIFFAH.sidecar.sha256"

// MaxSidecar bounds the sidecar's size.
const MaxSidecar = 16 << 20

// CodecPatchV1 names the patch format of package lib/patch.
const CodecPatchV1 = "diffah-patch-v1"

// Encodings of a stored blob.
const (
	EncodingFull  = "full"
	EncodingPatch = "patch"
)

// namePattern is what an image name in a delta may look like.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// ValidName reports whether name can name an image (and an output file).
func ValidName(name string) bool {
	return len(name) <= 128 && namePattern.MatchString(name)
}

// CheckName returns an error naming name and the rule it breaks unless
// ValidName accepts it. The error is not coded: the caller knows whether
// a bad name is a usage or a content error.
func CheckName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("image name %q: want [a-z0-9][a-z0-9_.-]*, "+
			"at most 128 characters", name)
	}
	return nil
}

// Sidecar is the content of diffah.json.
type Sidecar struct {
	Version     int    `json:"version"`
	Tool        string `json:"tool"`
	ToolVersion string `json:"toolVersion"`
	// Created is set only when SOURCE_DATE_EPOCH asks for it.
	Created  string  `json:"created,omitempty"`
	Platform string  `json:"platform,omitempty"`
	Images   []Image `json:"images"`
	Blobs    []Blob  `json:"blobs"`
}

// Image is one image of the delta: what to rebuild and from what.
type Image struct {
	Name     string   `json:"name"`
	Target   Target   `json:"target"`
	Baseline Baseline `json:"baseline"`
	// Blobs lists every blob the rebuild reads: the ones the
	// baseline supplies and the ones stored in the delta.
	Blobs []digest.Digest `json:"blobs"`
}

// Target describes the image to rebuild.
type Target struct {
	Manifest ocispec.Descriptor   `json:"manifest"`
	Config   ocispec.Descriptor   `json:"config"`
	Layers   []ocispec.Descriptor `json:"layers"`
	Tags     []string             `json:"tags,omitempty"`
	Platform string               `json:"platform,omitempty"`
	// Format of the producer's target ("docker-archive", "oci-archive",
	// "oci-dir") and its whole-file compression.
	Format      string `json:"format"`
	Compression string `json:"compression"`
	Source      string `json:"source"`
	// ArchiveSize and ArchiveSHA256 are those of the uncompressed tar
	// file, which Skeleton rebuilds; for a layout directory the sum of its
	// files' sizes and no SHA-256 or skeleton.
	ArchiveSize   int64         `json:"archiveSize,omitempty"`
	ArchiveSHA256 digest.Digest `json:"archiveSHA256,omitempty"`
	Skeleton      digest.Digest `json:"skeleton,omitempty"`
}

// Baseline identifies the image the delta was made against.
type Baseline struct {
	Manifest ocispec.Descriptor `json:"manifest"`
	Config   ocispec.Descriptor `json:"config"`
	Source   string             `json:"source"`
	// Blobs are the blobs the consumer's baseline must supply.
	Blobs []digest.Digest `json:"blobs"`
}

// Blob is one blob stored in the delta.
type Blob struct {
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType,omitempty"`
	Encoding  string        `json:"encoding"`
	// Codec and PatchRef are set for patches (issue #3).
	Codec      string        `json:"codec,omitempty"`
	PatchRef   digest.Digest `json:"patchRef,omitempty"`
	Stored     digest.Digest `json:"stored"`
	StoredSize int64         `json:"storedSize"`
}

// MemberName returns the archive member that stores the digest d.
// d must be valid; an invalid one gives a name no member can have.
func MemberName(d digest.Digest) string {
	alg, hex, ok := strings.Cut(string(d), ":")
	if !ok {
		return "blobs/invalid/" + string(d)
	}
	return "blobs/" + alg + "/" + hex
}

// ParseSidecar decodes and validates a sidecar. Unknown fields are
// ignored; an unknown version or a missing or invalid field is a content
// error.
func ParseSidecar(data []byte) (*Sidecar, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, exit.Contentf("%s: %v", SidecarName, jsonerr.Wrap(err))
	}
	if probe.Version == nil {
		return nil, exit.Contentf("%s: no \"version\" field", SidecarName)
	}
	if *probe.Version != Version {
		return nil, exit.Contentf("%s: version %d, this diffah reads "+
			"version %d", SidecarName, *probe.Version, Version)
	}

	var sc Sidecar
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, exit.Contentf("%s: %v", SidecarName, jsonerr.Wrap(err))
	}
	if err := sc.Validate(); err != nil {
		return nil, exit.Content(fmt.Errorf("%s: %w", SidecarName, err))
	}
	return &sc, nil
}

// Validate checks the fields every reader relies on.
func (sc *Sidecar) Validate() error {
	if sc.Tool == "" {
		return fmt.Errorf("no \"tool\" field")
	}
	if len(sc.Images) == 0 {
		return fmt.Errorf("no images")
	}
	blobs := map[digest.Digest]Blob{}
	for i, b := range sc.Blobs {
		if err := b.validate(); err != nil {
			return fmt.Errorf("blobs[%d]: %w", i, err)
		}
		if _, dup := blobs[b.Digest]; dup {
			return fmt.Errorf("blobs[%d]: digest %s listed twice", i, b.Digest)
		}
		blobs[b.Digest] = b
	}
	names := map[string]bool{}
	for i, img := range sc.Images {
		if err := img.validate(blobs); err != nil {
			return fmt.Errorf("images[%d] %q: %w", i, img.Name, err)
		}
		if names[img.Name] {
			return fmt.Errorf("images[%d]: name %q used twice", i, img.Name)
		}
		names[img.Name] = true
	}
	return nil
}

func (b *Blob) validate() error {
	if err := CheckDigest("digest", b.Digest); err != nil {
		return err
	}
	if err := CheckDigest("stored", b.Stored); err != nil {
		return err
	}
	if b.Size < 0 || b.StoredSize < 0 {
		return fmt.Errorf("negative size")
	}
	switch b.Encoding {
	case EncodingFull:
		if b.Stored != b.Digest || b.StoredSize != b.Size {
			return fmt.Errorf("full blob %s stored as %s (%d bytes, "+
				"want %d)", b.Digest, b.Stored, b.StoredSize, b.Size)
		}
	case EncodingPatch:
		if b.Codec != CodecPatchV1 {
			return fmt.Errorf("patch %s: codec %q, this diffah reads %q",
				b.Digest, b.Codec, CodecPatchV1)
		}
		if err := CheckDigest("patchRef", b.PatchRef); err != nil {
			return err
		}
	default:
		return fmt.Errorf("encoding %q, want %q or %q", b.Encoding,
			EncodingFull, EncodingPatch)
	}
	return nil
}

func (img *Image) validate(stored map[digest.Digest]Blob) error {
	if !ValidName(img.Name) {
		return fmt.Errorf("name does not match [a-z0-9][a-z0-9_.-]*")
	}
	t := img.Target
	if err := t.Validate(); err != nil {
		return err
	}
	if err := CheckDigest("baseline.config.digest",
		img.Baseline.Config.Digest); err != nil {
		return err
	}
	if t.Format == "docker-archive" || t.Format == "oci-archive" {
		if _, ok := stored[t.Skeleton]; !ok {
			return fmt.Errorf("skeleton %s is not among the blobs",
				t.Skeleton)
		}
	}

	fromBaseline := map[digest.Digest]bool{}
	for i, d := range img.Baseline.Blobs {
		if err := CheckDigest(fmt.Sprintf("baseline.blobs[%d]", i),
			d); err != nil {
			return err
		}
		fromBaseline[d] = true
	}
	for i, d := range img.Blobs {
		if err := CheckDigest(fmt.Sprintf("blobs[%d]", i), d); err != nil {
			return err
		}
		b, isStored := stored[d]
		if !isStored && !fromBaseline[d] {
			return fmt.Errorf("blob %s is neither stored nor supplied "+
				"by the baseline", d)
		}
		if !fromBaseline[d] && b.Encoding == EncodingPatch &&
			!fromBaseline[b.PatchRef] {
			return fmt.Errorf("patch %s refers to %s, which the "+
				"baseline does not supply", d, b.PatchRef)
		}
	}
	return nil
}

// Validate checks the fields of a target that a rebuild relies on: the
// manifest, config and layer digests, the sizes, the format and, for an
// archive file, its SHA-256 and skeleton digest. An error names the
// field as it appears under an image's "target" key, as in
// `no "target.config.digest" field`.
func (t *Target) Validate() error {
	for _, d := range []struct {
		field string
		d     digest.Digest
	}{
		{"target.manifest.digest", t.Manifest.Digest},
		{"target.config.digest", t.Config.Digest},
	} {
		if err := CheckDigest(d.field, d.d); err != nil {
			return err
		}
	}
	for i, l := range t.Layers {
		if err := CheckDigest(fmt.Sprintf("target.layers[%d]", i),
			l.Digest); err != nil {
			return err
		}
		if l.Size < 0 {
			return fmt.Errorf("target.layers[%d]: size %d", i, l.Size)
		}
	}
	if t.Config.Size < 0 || t.Manifest.Size < 0 || t.ArchiveSize < 0 {
		return fmt.Errorf("target: negative size")
	}
	switch t.Format {
	case "docker-archive", "oci-archive":
		if err := CheckDigest("target.archiveSHA256",
			t.ArchiveSHA256); err != nil {
			return err
		}
		if err := CheckDigest("target.skeleton", t.Skeleton); err != nil {
			return err
		}
	case "oci-dir":
	case "":
		return fmt.Errorf("no %q field", "target.format")
	default:
		return fmt.Errorf("target.format %q unknown", t.Format)
	}
	return nil
}

// CheckDigest accepts only well-formed sha256 digests with lowercase hex,
// so a digest can be used in a member or file name. An empty one is
// `no "<field>" field`; the error names field and is not coded.
func CheckDigest(field string, d digest.Digest) error {
	if d == "" {
		return fmt.Errorf("no %q field", field)
	}
	// Not d.Algorithm(): go-digest panics on a digest with no ':'.
	if alg, _, _ := strings.Cut(string(d), ":"); alg != "sha256" {
		return fmt.Errorf("%s %q: want a sha256 digest", field, d)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%s %q: %v", field, d, err)
	}
	return nil
}
