// Package imagebuild builds small, realistic container images for tests,
// the demo and benchmarks.
//
// Layer and its helpers (File, Dir, Symlink, Hardlink, Whiteout, Opaque)
// make uncompressed layer tars; Gzip and Zstd compress them. Build turns a
// Spec (tags, platform, layers, layer compression) into an
// imagewrite.Image with its config and manifest, plus the Blobs that hold
// every blob; WriteFile and Write store it in any of the formats the
// project reads. Realistic gives the Spec of a small application image
// in several versions that share their lower layers.
//
// Everything is deterministic: the same arguments give the same bytes on
// every run and machine (with the same klauspost/compress version):
// mtimes are the Unix epoch, owners are 0, and the pseudo-random file
// contents come from a fixed generator seeded by name.
package imagebuild
