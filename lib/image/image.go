package image

import (
	"errors"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is the shape of an image source, detected from its bytes.
type Format string

// The formats Open recognises.
const (
	// DockerArchive is a `docker save` tar, legacy or Docker 25+ layout.
	DockerArchive Format = "docker-archive"
	// OCIArchive is a tar holding index.json, oci-layout and blobs/.
	OCIArchive Format = "oci-archive"
	// OCILayout is a directory holding an OCI image layout.
	OCILayout Format = "oci-dir"
)

// Limits on untrusted input; see the package documentation.
const (
	MaxJSONSize         = 4 << 20
	MaxIndexDepth       = 4
	MaxSymlinkHops      = 8
	MaxEntries          = 1 << 16
	MaxZstdWindow       = 1 << 27
	DefaultMaxSpoolSize = 1 << 40
)

// Media types of the Docker image format.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution." +
		"manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution." +
		"manifest.list.v2+json"
	MediaTypeDockerConfig    = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer     = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerLayerGzip = MediaTypeDockerLayer + ".gzip"
	MediaTypeDockerLayerZstd = MediaTypeDockerLayer + ".zstd"
)

// ErrBlobNotFound is wrapped by OpenBlob when the image does not
// reference the digest asked for.
var ErrBlobNotFound = errors.New("blob not found")

// OpenOptions tune Open. The zero value opens an archive holding one
// single-platform image.
type OpenOptions struct {
	// Selector picks one image in an archive holding several: a RepoTag
	// ("app:1.0", also matching "docker.io/library/app:1.0"), an OCI ref
	// name annotation (its full value or the part after the last ':'),
	// or a manifest or config digest.
	Selector string
	// Platform is "os/arch[/variant]"; it picks one image of a
	// multi-platform index.
	Platform string
	// TempDir is where a whole-compressed archive is spooled;
	// "" means os.TempDir().
	TempDir string
	// MaxSpoolSize bounds the decompressed size of a whole-compressed
	// archive; 0 means DefaultMaxSpoolSize.
	MaxSpoolSize int64
}

// Entry is one tar header of an archive, in file order.
type Entry struct {
	Name     string // as in the header, without a leading "./"
	Typeflag byte
	Linkname string
	Offset   int64 // byte offset of the entry's data in TarPath()
	Size     int64 // hdr.Size
}

// Image describes the one image an Archive was opened on.
//
// A layer descriptor's digest is the SHA-256 of the member's bytes as
// stored (compressed if stored compressed). For a docker-archive it comes
// from a digest-shaped member name (blobs/sha256/<hex>, <hex>.tar), else
// from the config's diff_id when the member is not compressed, else from
// hashing the member; OpenBlob verifies it in every case. Layer media
// types are the manifest's for OCI sources; for a docker-archive they are
// the Docker types, chosen by sniffing the member's first bytes.
type Image struct {
	// RepoTags are the docker RepoTags or the OCI ref names; may be empty.
	RepoTags []string
	// Platform is "os/arch[/variant]" from the config, "" if unknown.
	Platform string
	// Manifest describes ManifestBytes.
	Manifest ocispec.Descriptor
	// ManifestBytes is the image manifest. A docker-archive stores none,
	// so for it this is the Docker schema2 manifest built by
	// SynthesizeDockerManifest: the same archive content gives the same
	// bytes on every run.
	ManifestBytes []byte
	Config        ocispec.Descriptor
	ConfigBytes   []byte
	// Layers are in order, base first; a digest may repeat.
	Layers []ocispec.Descriptor
}

// SplitRef splits "v1.tar@app:1.0" into path and selector. If arg names
// an existing file or directory as it is, the selector is "". Otherwise
// arg is split at its last '@'.
func SplitRef(arg string) (path, selector string) {
	if _, err := os.Stat(arg); err == nil {
		return arg, ""
	}
	i := strings.LastIndex(arg, "@")
	if i < 0 {
		return arg, ""
	}
	return arg[:i], arg[i+1:]
}
