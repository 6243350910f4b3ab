package imagewrite

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layer media types, OCI to Docker. The reverse map is built from it.
var ociToDocker = map[string]string{
	ocispec.MediaTypeImageLayer:     MediaTypeDockerLayer,
	ocispec.MediaTypeImageLayerGzip: MediaTypeDockerLayerGzip,
	ocispec.MediaTypeImageLayerZstd: MediaTypeDockerLayerZstd,
	mediaTypeOCIForeignGzip:         MediaTypeDockerForeignLayerGzip,
}

// mediaTypeOCIForeignGzip is the OCI spelling of a foreign layer,
// deprecated by OCI but still found in images.
const mediaTypeOCIForeignGzip = "application/vnd.oci.image.layer." +
	"nondistributable.v1.tar+gzip"

var dockerToOCI = func() map[string]string {
	m := make(map[string]string, len(ociToDocker))
	for oci, docker := range ociToDocker {
		m[docker] = oci
	}
	return m
}()

// DockerManifest returns a copy of img carrying a Docker schema2 manifest
// built from its config and layer descriptors, replacing any manifest it
// had. Layer media types become their Docker spelling (OCI
// "…tar+gzip" becomes "…tar.gzip", and so on); a layer without a media
// type is taken as an uncompressed tar. The bytes are compact JSON and
// depend only on the descriptors.
func DockerManifest(img *Image) (*Image, error) {
	if img == nil {
		return nil, exit.Usagef("docker manifest: nil image")
	}
	config := ocispec.Descriptor{MediaType: MediaTypeDockerConfig,
		Size: img.Config.Size, Digest: img.Config.Digest}
	layers := make([]ocispec.Descriptor, 0, len(img.Layers))
	for i, l := range img.Layers {
		mt := l.MediaType
		if mt == "" {
			mt = MediaTypeDockerLayer
		}
		if d, ok := ociToDocker[mt]; ok {
			mt = d
		}
		if _, ok := dockerToOCI[mt]; !ok {
			return nil, exit.Usagef("docker manifest: layer %d (%s): "+
				"media type %q has no Docker equivalent", i, l.Digest, mt)
		}
		layers = append(layers, ocispec.Descriptor{MediaType: mt,
			Size: l.Size, Digest: l.Digest, URLs: l.URLs})
	}
	// The reader synthesizes the same manifest for a docker-archive, so
	// an image read and written again keeps its manifest digest.
	b, err := image.SynthesizeDockerManifest(config, layers)
	if err != nil {
		return nil, exit.Usage(fmt.Errorf("docker manifest: %w", err))
	}

	out := img.clone()
	out.ManifestBytes = b
	out.Manifest = ocispec.Descriptor{
		MediaType: MediaTypeDockerManifest,
		Digest:    digest.FromBytes(b),
		Size:      int64(len(b)),
	}
	return out, nil
}

// ToOCI returns a copy of img whose manifest is an OCI image manifest.
// An image with a Docker schema2 manifest, or with none, gets a new
// manifest: OCI media types for the config and the layers (gzip, zstd
// and plain tar layers keep their compression; layer digests, sizes,
// URLs and annotations are kept; the config bytes are unchanged). This
// changes the manifest digest: callers allow it only behind
// --allow-convert. An image that already has an OCI manifest is returned
// as a copy, unchanged. Any other manifest (a list, schema1) is a content
// error.
func ToOCI(img *Image) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, fmt.Errorf("convert to oci: %w", err)
	}
	if len(img.ManifestBytes) > 0 {
		var head struct {
			SchemaVersion int                 `json:"schemaVersion"`
			Config        *ocispec.Descriptor `json:"config"`
		}
		err := json.Unmarshal(img.ManifestBytes, &head)
		if err != nil {
			return nil, exit.Contentf("convert to oci: manifest %s: %w",
				img.Manifest.Digest, err)
		}
		mt := img.manifestMediaType()
		if mt != ocispec.MediaTypeImageManifest &&
			mt != MediaTypeDockerManifest {
			return nil, exit.Contentf("convert to oci: manifest %s: "+
				"media type %q, want %s or %s", img.Manifest.Digest, mt,
				MediaTypeDockerManifest, ocispec.MediaTypeImageManifest)
		}
		if head.SchemaVersion != 2 || head.Config == nil {
			return nil, exit.Contentf("convert to oci: manifest %s: "+
				"schemaVersion %d with config %v, want 2 with a config",
				img.Manifest.Digest, head.SchemaVersion, head.Config != nil)
		}
		if mt == ocispec.MediaTypeImageManifest {
			out := img.clone()
			out.Manifest.MediaType = mt
			return out, nil
		}
	}

	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    img.Config.Digest,
			Size:      img.Config.Size,
		},
		Layers: make([]ocispec.Descriptor, 0, len(img.Layers)),
	}
	for i, l := range img.Layers {
		mt := l.MediaType
		if mt == "" {
			mt = ocispec.MediaTypeImageLayer
		}
		if o, ok := dockerToOCI[mt]; ok {
			mt = o
		}
		if _, ok := ociToDocker[mt]; !ok {
			return nil, exit.Contentf("convert to oci: layer %d (%s): "+
				"media type %q, want a Docker or OCI layer type",
				i, l.Digest, mt)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{
			MediaType:   mt,
			Digest:      l.Digest,
			Size:        l.Size,
			URLs:        l.URLs,
			Annotations: l.Annotations,
		})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("convert to oci: %w", err)
	}

	out := img.clone()
	out.ManifestBytes = b
	out.Manifest = ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromBytes(b),
		Size:      int64(len(b)),
	}
	out.Config.MediaType = ocispec.MediaTypeImageConfig
	out.Layers = m.Layers
	return out, nil
}

// clone copies img deeply enough that changing the copy's slices and
// descriptors leaves img alone.
func (img *Image) clone() *Image {
	out := *img
	out.Tags = slices.Clone(img.Tags)
	out.ManifestBytes = slices.Clone(img.ManifestBytes)
	out.ConfigBytes = slices.Clone(img.ConfigBytes)
	out.Layers = slices.Clone(img.Layers)
	return &out
}
