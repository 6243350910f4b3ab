package imagewrite

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/diffah/diffah/lib/exit"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// OCIOptions tunes the OCI writers. The zero value is the default.
type OCIOptions struct {
	// ModTime is the modification time of every tar member; the zero
	// value means the Unix epoch. WriteOCILayout ignores it.
	ModTime time.Time
}

// WriteOCIArchive writes img as an OCI archive to w: a tar holding
// "oci-layout", "index.json" and every blob under "blobs/sha256/", with
// the directories "blobs/" and "blobs/sha256/", all in sorted order.
// index.json lists the manifest with its own media type (a Docker
// schema2 manifest stays one) and, when img has tags, the first tag as
// the "org.opencontainers.image.ref.name" annotation. An image without a
// manifest is stored with the one DockerManifest builds. Each blob is
// stored once, however many layers use it. At most one OCIOptions is
// read. w is not closed.
func WriteOCIArchive(w io.Writer, img *Image, src BlobSource,
	opts ...OCIOptions) error {

	var o OCIOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	p, err := ociPlan(img)
	if err != nil {
		return fmt.Errorf("write oci archive: %w", err)
	}
	if err := p.writeTar(w, src, mtimeOr(o.ModTime)); err != nil {
		return fmt.Errorf("write oci archive: %w", err)
	}
	return nil
}

// WriteOCILayout writes img as an OCI image layout in dir, which must not
// exist or be an empty directory: the same files as WriteOCIArchive, with
// modes 0644 and 0755. The layout is built in a temporary directory next
// to dir and renamed into place, so dir never holds half a layout; on
// error the temporary directory is removed.
func WriteOCILayout(dir string, img *Image, src BlobSource) (err error) {
	p, err := ociPlan(img)
	if err != nil {
		return fmt.Errorf("write oci layout %s: %w", dir, err)
	}
	if err := checkEmptyDir(dir); err != nil {
		return err
	}

	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	if err := p.writeDir(tmp, src); err != nil {
		return fmt.Errorf("write oci layout %s: %w", dir, err)
	}

	// An empty directory given by the caller is replaced by the new one.
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	if err := os.Rename(tmp, dir); err != nil {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	return nil
}

// checkEmptyDir accepts a path that does not exist or is an empty
// directory.
func checkEmptyDir(dir string) error {
	f, err := os.Open(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	if !st.IsDir() {
		return exit.Usagef("write oci layout %s: exists and is not a "+
			"directory", dir)
	}
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return exit.IO(fmt.Errorf("write oci layout %s: %w", dir, err))
	}
	if len(names) > 0 {
		return exit.Usagef("write oci layout %s: directory not empty "+
			"(holds %s)", dir, names[0])
	}
	return nil
}

// ociLayoutFile is the content of "oci-layout".
var ociLayoutFile = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// ociPlan lists the members of an OCI layout of img.
func ociPlan(img *Image) (*plan, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	img, err := img.withManifest()
	if err != nil {
		return nil, err
	}

	desc := ocispec.Descriptor{
		MediaType: img.manifestMediaType(),
		Digest:    img.Manifest.Digest,
		Size:      img.Manifest.Size,
	}
	if len(img.Tags) > 0 {
		desc.Annotations = map[string]string{
			ocispec.AnnotationRefName: img.Tags[0],
		}
	}
	index, err := indexJSON([]ocispec.Descriptor{desc})
	if err != nil {
		return nil, err
	}

	p := &plan{}
	addBlobs(p, img, 0o644)
	p.file("index.json", 0o644, index)
	p.file(ocispec.ImageLayoutFile, 0o644, ociLayoutFile)
	p.sort()
	return p, nil
}

// addBlobs adds "blobs/", "blobs/sha256/" and the manifest, config and
// layer blobs of img to p.
func addBlobs(p *plan, img *Image, mode int64) {
	p.dir("blobs/", 0o755)
	p.dir("blobs/sha256/", 0o755)
	p.file(blobPath(img.Manifest.Digest), mode, img.ManifestBytes)
	p.file(blobPath(img.Config.Digest), mode, img.ConfigBytes)
	for _, l := range img.Layers {
		p.blob(blobPath(l.Digest), mode, l)
	}
}

// indexJSON returns an OCI image index listing manifests.
func indexJSON(manifests []ocispec.Descriptor) ([]byte, error) {
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests,
	}
	b, err := json.Marshal(index)
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return b, nil
}

// mtimeOr returns t, or the Unix epoch for the zero time.
func mtimeOr(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t
}
