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
// stops the write with a content error (exit 4). Errors from the sink
// are environment errors (exit 3); a bad Image is a usage error (exit 2).
//
// The writers keep the image's manifest as it is: an OCI output of an
// image with a Docker schema2 manifest stores that manifest unchanged,
// under its own media type. ToOCI converts it, changing the manifest
// digest, which callers allow only behind --allow-convert.
package imagewrite
