// Command mkimage writes the realistic test images of package imagebuild.
//
// Usage:
//
//	mkimage [-version N] [-format F] [-compress C] [-layers L]
//	        [-manifest M] [-tag REF]... [-empty] [-dup] -o PATH
//
// It writes imagebuild.Realistic(N) to PATH ("-" for stdout, not for
// oci-dir). Flags:
//
//	-version N    image version, 1 or more (default 1); versions 1 and 2
//	              share their lower layers and differ in the top one
//	-format F     docker-legacy (default), docker-modern, docker-skopeo,
//	              oci-archive or oci-dir
//	-compress C   whole-file compression: none (default), gzip or zstd
//	-layers L     layer compression: auto (default: gzip for
//	              docker-skopeo, oci-archive and oci-dir, none for the
//	              Docker layouts, as the tools that make them do), none,
//	              gzip or zstd
//	-manifest M   oci (default), docker or none: the manifest the image
//	              carries (docker-legacy and docker-skopeo store none)
//	-tag REF      tag instead of "app:<N>.0"; repeat for more tags
//	-empty        add two empty layers on top: one holding only the
//	              end-of-archive marker, one of zero bytes
//	-dup          repeat the app layer on top (one digest used twice)
//	-o PATH       where to write
//
// The output is deterministic: the same flags give the same bytes. A
// file is written under a temporary name and renamed into place.
//
// Exit status: 0 success, 2 bad flags, 3 the output cannot be written,
// 1 anything else.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(exit.Code(err))
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	version := fs.Int("version", 1, "image version, 1 or more")
	format := fs.String("format", "docker-legacy", "output format")
	compress := fs.String("compress", "none",
		"whole-file compression: none, gzip, zstd")
	layers := fs.String("layers", "auto",
		"layer compression: auto, none, gzip, zstd")
	manifest := fs.String("manifest", "oci",
		"manifest kind: oci, docker, none")
	out := fs.String("o", "", "output path, - for stdout")
	empty := fs.Bool("empty", false, "add two empty layers")
	dup := fs.Bool("dup", false, "repeat the app layer on top")
	var tags []string
	fs.Func("tag", "tag (repeatable)", func(s string) error {
		tags = append(tags, s)
		return nil
	})
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: flag printed the usage on stderr
	}
	if err != nil {
		return exit.Usage(err)
	}

	switch {
	case fs.NArg() > 0:
		return exit.Usagef("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return exit.Usagef("-o: an output path is required")
	case *version < 1:
		return exit.Usagef("-version %d: want 1 or more", *version)
	}

	spec := imagebuild.Realistic(*version)
	if len(tags) > 0 {
		spec.Tags = tags
	}
	if *empty {
		spec.Layers = append(spec.Layers, imagebuild.EmptyTar(), []byte{})
	}
	if *dup {
		spec.Layers = append(spec.Layers, spec.Layers[2])
	}
	spec.Manifest = *manifest
	spec.Compress = *layers
	if *layers == "auto" {
		spec.Compress = "none"
		switch *format {
		case "docker-skopeo", "oci-archive", "oci-dir":
			spec.Compress = "gzip"
		}
	}
	full := *format
	switch *compress {
	case "none", "":
	case "gzip", "zstd":
		full += "+" + *compress
	default:
		return exit.Usagef("-compress %q: want none, gzip or zstd",
			*compress)
	}

	if *out != "-" {
		return imagebuild.WriteFile(*out, spec, full)
	}
	bw := bufio.NewWriterSize(os.Stdout, 1<<16)
	if err := imagebuild.Write(bw, spec, full); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return exit.IO(fmt.Errorf("write stdout: %w", err))
	}
	return nil
}
