// Package imagewrite writes container images as docker-archive files
// (three layouts), OCI archives and OCI layout directories.
//
// Every writer is deterministic: the same Image and the same blob bytes
// give a byte-identical result on every run. Tar members carry uid and
// gid 0, no user or group names, and a fixed modification time (the Unix
// epoch unless an option says otherwise). Members are written in sorted
// order wherever the format leaves the order free. archive/tar picks the
// header format: USTAR when the header fits it, PAX otherwise (a name too
// long to split, a size of 8 GiB or more).
//
// Small JSON members (manifests, configs, index.json, manifest.json,
// repositories) are built in memory. Layer blobs are streamed from a
// BlobSource with io.Copy and never held whole: each is hashed while it is
// copied, and a blob whose size or digest differs from its descriptor
// stops the write with a content error (exit 4), as does an Image whose
// config or manifest bytes do not match their descriptors. A malformed
// Image (no config, a digest that is not sha256, a tag with a digest or
// spaces) is a usage error (exit 2), found before anything is written.
// Errors of the output and of the BlobSource's reads are environment
// errors (exit 3) unless they already carry a code.
//
// The archive writers write to an io.Writer and leave atomicity to the
// caller (write to a temporary name, then rename); WriteOCILayout builds
// its directory beside the target and renames it into place.
//
// The writers keep the image's manifest as it is: an OCI output of an
// image with a Docker schema2 manifest stores that manifest unchanged,
// under its own media type. ToOCI converts it, changing the manifest
// digest, which callers allow only behind --allow-convert.
package imagewrite
