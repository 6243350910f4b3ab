// Package patch encodes and decodes binary patches: a patch plus the
// reference blob it was made against rebuilds the target blob byte for
// byte. The codec is pure Go (klauspost/compress zstd); no external
// binary is needed on either side.
//
// # Designs
//
// Encode can build a patch in several ways (Options.Design); all of them
// write the same container format, so Decode reads every one:
//
//   - Auto (the default) runs a long-distance matcher of our own: a
//     rolling-hash index over the whole reference finds runs the target
//     shares with it, at any distance, and turns them into copy
//     operations. When both blobs are tar archives, a regular file of
//     the target that the matcher does not cover (nearly) completely is
//     "changed": it gets the most similar file of the reference (same
//     path; else same path with digits masked; else same base name;
//     else closest size), and neighbouring changed files are grouped
//     into one zstd frame, headers included, whose dictionary is the
//     reference range that holds their counterparts (or one frame per
//     file, whichever is smaller). When the blobs are not tars, the
//     target is cut into 8 MiB segments and a segment the matcher
//     covers only partly is compressed with the reference range at the
//     distance of its longest copy as dictionary. The rest
//     (unchanged runs, tar headers, new bytes) is copies and literals in
//     zstd frames without dictionary.
//   - Match is the matcher alone, without per-file dictionaries.
//   - Tar is the tar-aware design alone: an entry whose content equals
//     that of its reference entry is a copy, a changed entry is
//     compressed with the reference entry as dictionary, and headers and
//     padding are literals.
//   - DictWhole compresses the target with the whole reference as a raw
//     zstd dictionary. It is the known-weak baseline: the encoder's hash
//     tables do not reach far back into a large reference.
//
// docs/patch-codec.md has the measurements that chose Auto.
//
// # Format
//
// All integers are unsigned LEB128 varints unless said otherwise.
//
//	patch  = magic version codec refSize targetSize chunk* end
//	magic  = "DHPT"                      4 bytes
//	version = 0x01                       1 byte
//	codec  = 0x01 ("zstd-ops")           1 byte; future codecs get new values
//	chunk  = 0x01 dictOff dictLen frameLen frame
//	       | 0x02 opsLen ops             operations stored uncompressed
//	end    = 0x00 sha256(target)         33 bytes
//
// A frame is one zstd frame. When dictLen is not zero, the bytes
// ref[dictOff:dictOff+dictLen] are its raw dictionary (dictionary ID 1).
// Decompressed, a frame is a sequence of operations, each appending to
// the target:
//
//	0x01 n bytes[n]        literal: n bytes follow
//	0x02 delta n           copy n bytes of the reference, starting at
//	                       end of the previous copy in this frame (0 at
//	                       frame start) plus delta (zigzag varint)
//
// # Limits
//
// Decode refuses a patch whose reference size does not match, a
// dictionary longer than MaxDict, dictionaries longer in all than the
// reference plus four times the target plus MaxDict (so a small patch
// cannot make Decode read the reference over and over; Encode stays
// within that), a zstd window larger than MaxWindow,
// an operation outside the reference or past the target size, and a
// target whose SHA-256 differs from the one recorded; it never panics
// on a corrupt patch. Decode holds at most one dictionary (≤ MaxDict,
// 256 MiB) plus one zstd window (≤ MaxWindow, 512 MiB) plus small
// buffers; patches from Auto, Match and Tar use dictionaries of at most
// 64 MiB and windows of at most 128 MiB, so decoding them holds at most
// about 200 MiB, and in practice about twice the largest changed file.
// Encode holds the matcher's index (8 bytes per table slot, at most
// 2^24 slots: 128 MiB), one dictionary and the file it compresses (each
// ≤ 64 MiB), the zstd encoder's window and tables, and one compressed
// frame (≤ about 16 MiB); it reads the reference and target through
// io.ReaderAt and never loads them whole, except in design DictWhole.
package patch
