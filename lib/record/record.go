// Package record defines the JSON-lines contract between diffah's stages.
//
// A stream is one JSON object per line. The first line of every stream
// is a Header naming the schema; every line has a "kind". A stage reads
// the records it consumes and passes through, unchanged and in order, the
// ones it does not know. Records carry references (paths, tar member
// names, offsets and digests), never blob bytes. docs/pipeline.md lists
// every kind with an example.
package record

import (
	"github.com/diffah/diffah/lib/delta"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Schema is the version of the stream format this build reads and writes.
const Schema = "diffah.pipeline/v1"

// The record kinds.
const (
	KindHeader   = "header"
	KindImage    = "image"
	KindEntry    = "entry"
	KindLayer    = "layer"
	KindBlob     = "blob"
	KindStored   = "stored"
	KindSummary  = "summary"
	KindAssembly = "assembly"
	KindSkip     = "skip"
	KindResult   = "result"
)

// Roles of an image in a pair.
const (
	RoleBaseline = "baseline"
	RoleTarget   = "target"
)

// Decisions for a target blob.
const (
	DecisionBaseline = "baseline" // the consumer's baseline holds it
	DecisionFull     = "full"     // it ships whole
	DecisionPatch    = "patch"    // it ships as a patch (issue #3)
)

// Header opens every stream.
type Header struct {
	Kind   string `json:"kind"`
	Schema string `json:"schema"`
	Tool   string `json:"tool"`
}

// Member is a regular file with content in an image archive (a tar
// member, or a file below an OCI layout directory).
type Member struct {
	Name   string        `json:"name"`
	Offset int64         `json:"offset"`
	Size   int64         `json:"size"`
	Digest digest.Digest `json:"digest"`
}

// Image describes one image of a pair, written by diffah-fingerprint.
type Image struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Path     string `json:"path"`
	Selector string `json:"selector,omitempty"`
	Platform string `json:"platform,omitempty"`
	// Format is the archive's format; Compression its whole-file
	// compression ("none", "gzip", "zstd").
	Format      string `json:"format"`
	Compression string `json:"compression"`
	// ArchiveSize and ArchiveSHA256 describe the uncompressed tar: what
	// an auto import rebuilds. For a layout directory: the sum of its
	// files' sizes, and no SHA-256.
	ArchiveSize   int64                `json:"archiveSize,omitempty"`
	ArchiveSHA256 digest.Digest        `json:"archiveSHA256,omitempty"`
	Tags          []string             `json:"tags,omitempty"`
	Manifest      ocispec.Descriptor   `json:"manifest"`
	Config        ocispec.Descriptor   `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	// Members lists the archive's regular files with content, in file
	// order; only targets carry it.
	Members []Member `json:"members,omitempty"`
}

// Entry is one tar entry of a decompressed layer.
type Entry struct {
	Kind     string        `json:"kind"`
	Layer    digest.Digest `json:"layer"`
	Path     string        `json:"path"`
	Type     string        `json:"type"`
	Size     int64         `json:"size"`
	Digest   digest.Digest `json:"digest,omitempty"`
	Linkname string        `json:"linkname,omitempty"`
}

// Layer closes the entries of one layer with its totals.
type Layer struct {
	Kind      string        `json:"kind"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType,omitempty"`
	// Compression is what the bytes are, sniffed: "gzip", "zstd", "none".
	Compression string        `json:"compression"`
	DiffID      digest.Digest `json:"diffID"`
	// Tar is false when the decompressed bytes are not a tar stream.
	Tar     bool  `json:"tar"`
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// Source locates a blob's bytes: a file or layout directory and the
// member within it.
type Source struct {
	Path     string `json:"path"`
	Selector string `json:"selector,omitempty"`
	// Platform picks the image of a multi-platform index, as the
	// fingerprint stage picked it.
	Platform string `json:"platform,omitempty"`
	Member   string `json:"member,omitempty"`
	Offset   int64  `json:"offset,omitempty"`
}

// Blob is diffah-plan's decision for one target blob.
type Blob struct {
	Kind      string        `json:"kind"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType,omitempty"`
	Decision  string        `json:"decision"`
	Images    []string      `json:"images"`
	Source    *Source       `json:"source,omitempty"`
	// Candidates are the baseline layers a patch may be made against,
	// best first; set when Decision is DecisionPatch.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is a baseline blob ranked as a patch reference. Overlap is
// the bytes of tar-entry content it shares with the target layer.
type Candidate struct {
	Digest  digest.Digest `json:"digest"`
	Size    int64         `json:"size"`
	Overlap int64         `json:"overlap"`
	Source  Source        `json:"source"`
}

// Stored is written by diffah-pack for every member it stores.
type Stored struct {
	Kind       string        `json:"kind"`
	Digest     digest.Digest `json:"digest"`
	Encoding   string        `json:"encoding"`
	Stored     digest.Digest `json:"stored"`
	StoredSize int64         `json:"storedSize"`
}

// Summary closes diffah-pack's output.
type Summary struct {
	Kind        string        `json:"kind"`
	Output      string        `json:"output"`
	Size        int64         `json:"size"`
	SHA256      digest.Digest `json:"sha256"`
	Images      int           `json:"images"`
	Blobs       int           `json:"blobs"`
	TargetBytes int64         `json:"targetBytes"`
}

// Skip says an image of the delta will not be rebuilt, and why.
type Skip struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Result is diffah-assemble's record for one rebuilt image.
type Result struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	Output string        `json:"output"`
	Format string        `json:"format"`
	Size   int64         `json:"size,omitempty"`
	SHA256 digest.Digest `json:"sha256,omitempty"`
}

// Assembly tells diffah-assemble how to rebuild one image: the target
// as the sidecar describes it and where each of its blobs lies.
type Assembly struct {
	Kind     string         `json:"kind"`
	Name     string         `json:"name"`
	Delta    string         `json:"delta"`
	Baseline *Source        `json:"baseline,omitempty"`
	Target   delta.Target   `json:"target"`
	Blobs    []AssemblyBlob `json:"blobs"`
}

// Where an assembly blob comes from.
const (
	FromDelta    = "delta"
	FromBaseline = "baseline"
)

// AssemblyBlob locates one blob of an image being rebuilt.
type AssemblyBlob struct {
	Digest     digest.Digest `json:"digest"`
	Size       int64         `json:"size"`
	From       string        `json:"from"`
	Encoding   string        `json:"encoding,omitempty"`
	Codec      string        `json:"codec,omitempty"`
	PatchRef   digest.Digest `json:"patchRef,omitempty"`
	Stored     digest.Digest `json:"stored,omitempty"`
	Offset     int64         `json:"offset,omitempty"`
	StoredSize int64         `json:"storedSize,omitempty"`
}
