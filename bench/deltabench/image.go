package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/imagewrite"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fileLayer is an imagewrite.BlobSource holding one blob: a layer tar
// on disk, opened afresh for every read so that it is streamed and never
// loaded whole.
type fileLayer struct {
	path   string
	digest digest.Digest
}

// OpenBlob opens the layer file if d is its digest. The writer checks
// the digest of what it reads.
func (l fileLayer) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	if d != l.digest {
		return nil, fmt.Errorf("blob %s: only %s (%s) is here", d,
			l.digest, l.path)
	}
	return os.Open(l.path)
}

// wrapLayer writes image, an uncompressed archive in format (one of
// imagebuild.Formats) whose one layer is the tar at layerPath, unless
// image already exists and is newer than the layer (and rebuild is
// false). The image is tagged tag and written atomically.
func wrapLayer(layerPath, image, tag, format string, rebuild bool) error {
	if !rebuild && newer(image, layerPath) {
		return nil
	}
	layerDigest, size, err := hashFile(layerPath)
	if err != nil {
		return err
	}
	img, err := singleLayerImage(layerDigest, size, tag,
		"deltabench "+layerPath)
	if err != nil {
		return fmt.Errorf("wrap %s: %w", layerPath, err)
	}
	src := fileLayer{path: layerPath, digest: layerDigest}
	if err := imagebuild.WriteImageFile(image, img, src,
		format); err != nil {
		return fmt.Errorf("wrap %s: %w", layerPath, err)
	}
	return nil
}

// singleLayerImage describes an image of one uncompressed layer: a
// Docker config at the Unix epoch whose rootfs.diff_ids is the layer's
// digest, and a Docker schema2 manifest (the legacy docker-archive
// layout does not store it; the others do).
func singleLayerImage(layer digest.Digest, size int64, tag,
	createdBy string) (*imagewrite.Image, error) {

	epoch := time.Unix(0, 0).UTC()
	config := ocispec.Image{
		Created: &epoch,
		Platform: ocispec.Platform{
			Architecture: "amd64",
			OS:           "linux",
		},
		RootFS: ocispec.RootFS{
			Type:    "layers",
			DiffIDs: []digest.Digest{layer},
		},
		History: []ocispec.History{{Created: &epoch,
			CreatedBy: createdBy}},
	}
	configBytes, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img := &imagewrite.Image{
		Tags: []string{tag},
		Config: ocispec.Descriptor{
			MediaType: imagewrite.MediaTypeDockerConfig,
			Digest:    digest.FromBytes(configBytes),
			Size:      int64(len(configBytes)),
		},
		ConfigBytes: configBytes,
		Layers: []ocispec.Descriptor{{
			MediaType: imagewrite.MediaTypeDockerLayer,
			Digest:    layer,
			Size:      size,
		}},
	}
	return imagewrite.DockerManifest(img)
}

// newer reports whether the file a exists and was modified after b.
func newer(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	if err != nil {
		return false
	}
	return ai.ModTime().After(bi.ModTime())
}

// hashFile returns the SHA-256 digest and the size of a file.
func hashFile(path string) (digest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return digest.NewDigest(digest.SHA256, h), n, nil
}
