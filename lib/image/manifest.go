package image

import (
	"encoding/json"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerManifest is a Docker image manifest, schema 2, with its fields in
// the order Docker writes them.
type dockerManifest struct {
	SchemaVersion int                `json:"schemaVersion"`
	MediaType     string             `json:"mediaType"`
	Config        dockerDescriptor   `json:"config"`
	Layers        []dockerDescriptor `json:"layers"`
}

type dockerDescriptor struct {
	MediaType string   `json:"mediaType"`
	Size      int64    `json:"size"`
	Digest    string   `json:"digest"`
	URLs      []string `json:"urls,omitempty"`
}

// SynthesizeDockerManifest returns a Docker schema2 manifest
// (MediaTypeDockerManifest) for a config and its layers, as compact JSON
// with fields in a fixed order: the same descriptors always give the same
// bytes. A config without a media type gets MediaTypeDockerConfig; every
// layer must carry a media type. Only media type, size, digest and URLs
// of each descriptor are kept. Digests must be valid lowercase sha256.
func SynthesizeDockerManifest(config ocispec.Descriptor,
	layers []ocispec.Descriptor) ([]byte, error) {
	m := dockerManifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeDockerManifest,
		Layers:        make([]dockerDescriptor, 0, len(layers)),
	}
	if config.MediaType == "" {
		config.MediaType = MediaTypeDockerConfig
	}
	cd, err := toDockerDescriptor(config)
	if err != nil {
		return nil, fmt.Errorf("synthesize manifest: config: %w", err)
	}
	m.Config = cd
	for i, l := range layers {
		if l.MediaType == "" {
			return nil, fmt.Errorf("synthesize manifest: layer %d: "+
				"no media type", i)
		}
		ld, err := toDockerDescriptor(l)
		if err != nil {
			return nil, fmt.Errorf("synthesize manifest: layer %d: %w",
				i, err)
		}
		m.Layers = append(m.Layers, ld)
	}
	return json.Marshal(m)
}

func toDockerDescriptor(d ocispec.Descriptor) (dockerDescriptor, error) {
	if err := validateDigest(d.Digest); err != nil {
		return dockerDescriptor{}, err
	}
	if d.Size < 0 {
		return dockerDescriptor{}, fmt.Errorf("negative size %d", d.Size)
	}
	return dockerDescriptor{
		MediaType: d.MediaType,
		Size:      d.Size,
		Digest:    d.Digest.String(),
		URLs:      d.URLs,
	}, nil
}
