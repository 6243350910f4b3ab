// Package image opens container image archives and describes the image
// inside: its manifest, config and layers, and where each blob is stored.
//
// Open recognises every shape diffah reads, from the bytes and never from
// the file name:
//
//   - docker-archive, legacy layout (manifest.json, repositories and a
//     <id>/ folder per layer whose layer.tar may be a symlink to another
//     member), layers stored plain or gzip-compressed;
//   - docker-archive, Docker 25+ layout (manifest.json pointing into
//     blobs/sha256/, plus index.json and oci-layout, which must agree);
//   - OCI archive (index.json, oci-layout and blobs/), including indexes
//     nested in the index and multi-platform images;
//   - an OCI layout directory;
//   - any of these tars compressed as a whole with gzip or zstd, which
//     Open decompresses once into a temporary spool file.
//
// Compression is recognised, and gzip and zstd are opened, through
// mholt/archives; xz and bzip2 are recognised only to be refused by name.
//
// A tar is indexed in one pass: every header is recorded with the offset
// of its data, so members are later read with ReadAt and never by
// scanning the archive again.
//
// # Limits
//
// Every JSON document read into memory (manifest.json, index.json,
// manifests, configs) is at most MaxJSONSize bytes; indexes nest at most
// MaxIndexDepth deep; symlinks are followed at most MaxSymlinkHops times
// and never outside the archive root; an archive holds at most
// MaxEntries tar headers; a whole-compressed archive decompresses to at
// most OpenOptions.MaxSpoolSize bytes (DefaultMaxSpoolSize if zero). The
// zstd decoder uses a window of at most MaxZstdWindow bytes.
//
// # Errors
//
// Errors carry exit codes from package lib/exit: bad input (corrupt or
// foreign archives, unsafe member names, digest mismatches) is a content
// error (4); a selector or platform that does not pick exactly one image
// is a usage error (2); file system failures are environment errors (3).
//
// An *Archive is safe for concurrent use by several goroutines once Open
// has returned, until Close.
package image
