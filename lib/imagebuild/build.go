package imagebuild

import (
	"bytes"
	_ "crypto/sha256" // registers SHA-256 for go-digest
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Spec describes an image to build.
type Spec struct {
	Tags []string // "app:1.0"; may be empty

	OS, Arch string // default "linux", "amd64"

	// Layers are uncompressed layer tars (or any bytes, for tests of
	// foreign content), base first.
	Layers [][]byte

	// Compress is the layer compression: "" or "none", "gzip", "zstd".
	Compress string

	// Manifest is the kind of manifest Build makes: "" or "oci" for an
	// OCI image manifest, "docker" for a Docker schema2 one, "none" for
	// no manifest (as a docker-archive source has none).
	Manifest string

	// Env, Cmd and WorkingDir go into the config's "config" object.
	Env        []string
	Cmd        []string
	WorkingDir string

	// History holds the "created_by" of each layer's history entry;
	// missing ones are "layer <n>".
	History []string
}

// Blobs holds every blob of a built image by digest. It is an
// imagewrite.BlobSource.
type Blobs map[digest.Digest][]byte

// OpenBlob returns a reader of the blob d, or a content error (exit 4)
// if Blobs lacks it.
func (b Blobs) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	data, ok := b[d]
	if !ok {
		return nil, exit.Contentf("blob %s: not in the built image", d)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// epoch is the creation time written into configs.
var epoch = time.Unix(0, 0).UTC()

// Build makes the image spec describes: layers compressed as asked, a
// config with rootfs.diff_ids (the SHA-256 of each uncompressed layer),
// one history entry per layer and creation times at the Unix epoch, and
// the manifest spec asks for. The returned Blobs hold the manifest (if
// any), the config and every layer. Build fails only on an unknown
// Compress or Manifest value (a usage error).
func Build(spec Spec) (*imagewrite.Image, Blobs, error) {
	blobs := make(Blobs)
	layerType, compress, err := layerCodec(spec.Compress)
	if err != nil {
		return nil, nil, err
	}

	// Layers and the diff_ids of their uncompressed bytes.
	var layers []ocispec.Descriptor
	var diffIDs []digest.Digest
	var history []ocispec.History
	for i, raw := range spec.Layers {
		stored := compress(raw)
		d := digest.FromBytes(stored)
		blobs[d] = stored
		layers = append(layers, ocispec.Descriptor{
			MediaType: layerType, Digest: d, Size: int64(len(stored)),
		})
		diffIDs = append(diffIDs, digest.FromBytes(raw))
		createdBy := fmt.Sprintf("layer %d", i+1)
		if i < len(spec.History) && spec.History[i] != "" {
			createdBy = spec.History[i]
		}
		history = append(history, ocispec.History{
			Created: &epoch, CreatedBy: createdBy,
		})
	}

	// The config.
	config := ocispec.Image{
		Created: &epoch,
		Platform: ocispec.Platform{
			Architecture: or(spec.Arch, "amd64"),
			OS:           or(spec.OS, "linux"),
		},
		Config: ocispec.ImageConfig{
			Env: spec.Env, Cmd: spec.Cmd, WorkingDir: spec.WorkingDir,
		},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		History: history,
	}
	if config.RootFS.DiffIDs == nil {
		config.RootFS.DiffIDs = []digest.Digest{}
	}
	configBytes, err := json.Marshal(config)
	if err != nil {
		return nil, nil, fmt.Errorf("build config: %w", err)
	}
	blobs[digest.FromBytes(configBytes)] = configBytes
	img := &imagewrite.Image{
		Tags: append([]string(nil), spec.Tags...),
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    digest.FromBytes(configBytes),
			Size:      int64(len(configBytes)),
		},
		ConfigBytes: configBytes,
		Layers:      layers,
	}

	// The manifest.
	switch spec.Manifest {
	case "", "oci":
		img, err = imagewrite.ToOCI(img)
	case "docker":
		img.Config.MediaType = imagewrite.MediaTypeDockerConfig
		img, err = imagewrite.DockerManifest(img)
	case "none":
	default:
		err = exit.Usagef("build: manifest %q: want oci, docker or none",
			spec.Manifest)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(img.ManifestBytes) > 0 {
		blobs[img.Manifest.Digest] = img.ManifestBytes
	}
	if spec.Manifest == "docker" {
		img.Layers = dockerLayers(img.Layers)
	}
	return img, blobs, nil
}

// layerCodec returns the OCI media type and the compressor of a layer
// compression name.
func layerCodec(name string) (string, func([]byte) []byte, error) {
	switch name {
	case "", "none":
		return ocispec.MediaTypeImageLayer,
			func(b []byte) []byte { return b }, nil
	case "gzip":
		return ocispec.MediaTypeImageLayerGzip, Gzip, nil
	case "zstd":
		return ocispec.MediaTypeImageLayerZstd, Zstd, nil
	}
	return "", nil, exit.Usagef("build: layer compression %q: want none, "+
		"gzip or zstd", name)
}

// dockerLayers gives layer descriptors their Docker media types.
func dockerLayers(layers []ocispec.Descriptor) []ocispec.Descriptor {
	out := make([]ocispec.Descriptor, len(layers))
	for i, l := range layers {
		switch l.MediaType {
		case ocispec.MediaTypeImageLayer:
			l.MediaType = imagewrite.MediaTypeDockerLayer
		case ocispec.MediaTypeImageLayerGzip:
			l.MediaType = imagewrite.MediaTypeDockerLayerGzip
		case ocispec.MediaTypeImageLayerZstd:
			l.MediaType = imagewrite.MediaTypeDockerLayerZstd
		}
		out[i] = l
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
