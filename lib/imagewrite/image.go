package imagewrite

import (
	_ "crypto/sha256" // registers SHA-256 for go-digest
	"encoding/json"
	"io"
	"strings"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker media types, as Docker and registries spell them (the reader's
// constants, so both sides agree).
const (
	MediaTypeDockerManifest         = image.MediaTypeDockerManifest
	MediaTypeDockerConfig           = image.MediaTypeDockerConfig
	MediaTypeDockerLayer            = image.MediaTypeDockerLayer
	MediaTypeDockerLayerGzip        = image.MediaTypeDockerLayerGzip
	MediaTypeDockerLayerZstd        = image.MediaTypeDockerLayerZstd
	MediaTypeDockerForeignLayerGzip = "application/vnd.docker.image." +
		"rootfs.foreign.diff.tar.gzip"
)

// Image is one image to write: its manifest (optional), its config and
// its layers in order.
type Image struct {
	// Tags are references such as "app:1.0" or
	// "registry.example:5000/team/app:1.0"; may be empty.
	Tags []string

	// Manifest describes ManifestBytes. Both are zero for an image with
	// no stored manifest (a docker-archive source); writers that need a
	// manifest then use DockerManifest.
	Manifest      ocispec.Descriptor
	ManifestBytes []byte

	// Config describes ConfigBytes; both are required.
	Config      ocispec.Descriptor
	ConfigBytes []byte

	// Layers in order, base first; a digest may appear more than once.
	// Their bytes come from a BlobSource.
	Layers []ocispec.Descriptor
}

// BlobSource opens blobs by digest. The caller closes the reader. A
// reader may check the bytes and fail at EOF; the writers read every blob
// to EOF and return such an error.
type BlobSource interface {
	OpenBlob(d digest.Digest) (io.ReadCloser, error)
}

// check reports the first inconsistency in img: a missing config, a
// digest or size that does not match the bytes held, or a malformed
// layer descriptor or tag.
func (img *Image) check() error {
	if img == nil {
		return exit.Usagef("image: nil")
	}
	if len(img.ConfigBytes) == 0 {
		return exit.Usagef("image: no config bytes")
	}
	err := checkBytes("config", img.Config, img.ConfigBytes)
	if err != nil {
		return err
	}
	if len(img.ManifestBytes) > 0 {
		err := checkBytes("manifest", img.Manifest, img.ManifestBytes)
		if err != nil {
			return err
		}
	} else if img.Manifest.Digest != "" {
		return exit.Usagef("image: manifest %s given without its bytes",
			img.Manifest.Digest)
	}
	for i, l := range img.Layers {
		if err := l.Digest.Validate(); err != nil {
			return exit.Usagef("image: layer %d: digest %q: %w",
				i, l.Digest, err)
		}
		if l.Digest.Algorithm() != digest.SHA256 {
			return exit.Usagef("image: layer %d: digest %s: want sha256",
				i, l.Digest)
		}
		if l.Size < 0 {
			return exit.Usagef("image: layer %d: size %d", i, l.Size)
		}
	}
	for _, t := range img.Tags {
		if _, _, err := splitTag(t); err != nil {
			return err
		}
	}
	return nil
}

// checkBytes checks that d describes b.
func checkBytes(what string, d ocispec.Descriptor, b []byte) error {
	if err := d.Digest.Validate(); err != nil {
		return exit.Usagef("image: %s digest %q: %w", what, d.Digest, err)
	}
	if d.Digest.Algorithm() != digest.SHA256 {
		return exit.Usagef("image: %s digest %s: want sha256",
			what, d.Digest)
	}
	if got := digest.FromBytes(b); got != d.Digest {
		return exit.Contentf("image: %s bytes hash to %s, descriptor "+
			"says %s", what, got, d.Digest)
	}
	if int64(len(b)) != d.Size {
		return exit.Contentf("image: %s is %d bytes, descriptor says %d",
			what, len(b), d.Size)
	}
	return nil
}

// manifestMediaType returns the media type of the image's manifest: the
// descriptor's, else the "mediaType" field of the bytes, else the OCI
// manifest type (OCI manifests may leave the field out).
func (img *Image) manifestMediaType() string {
	if img.Manifest.MediaType != "" {
		return img.Manifest.MediaType
	}
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(img.ManifestBytes, &head) == nil &&
		head.MediaType != "" {
		return head.MediaType
	}
	return ocispec.MediaTypeImageManifest
}

// withManifest returns img if it has a manifest, else a copy carrying
// the synthesized Docker schema2 manifest.
func (img *Image) withManifest() (*Image, error) {
	if len(img.ManifestBytes) > 0 {
		return img, nil
	}
	return DockerManifest(img)
}

// splitTag splits a reference "name:tag" into its repository and tag;
// a reference without a tag gets "latest". Digested references
// ("name@sha256:…") and references with spaces are refused.
func splitTag(ref string) (repo, tag string, err error) {
	if ref == "" || strings.ContainsAny(ref, " \t\r\n@") {
		return "", "", exit.Usagef("tag %q: want name[:tag] without "+
			"spaces or a digest", ref)
	}
	slash := strings.LastIndexByte(ref, '/')
	colon := strings.LastIndexByte(ref, ':')
	if colon <= slash {
		return ref, "latest", nil
	}
	repo, tag = ref[:colon], ref[colon+1:]
	if repo == "" || tag == "" || strings.HasSuffix(repo, "/") {
		return "", "", exit.Usagef("tag %q: want name[:tag]", ref)
	}
	return repo, tag, nil
}

// fullName expands a familiar reference the way Docker does:
// "app:1.0" becomes "docker.io/library/app:1.0", "team/app" becomes
// "docker.io/team/app:latest"; a reference whose first component looks
// like a host (has '.' or ':', or is "localhost") keeps its host. ref
// has passed splitTag.
func fullName(ref string) string {
	repo, tag, _ := splitTag(ref)
	first, _, found := strings.Cut(repo, "/")
	switch {
	case !found:
		repo = "docker.io/library/" + repo
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		repo = "docker.io/" + repo
	}
	return repo + ":" + tag
}

// blobPath is the member name of a blob in an OCI layout.
func blobPath(d digest.Digest) string {
	return "blobs/" + string(d.Algorithm()) + "/" + d.Encoded()
}
