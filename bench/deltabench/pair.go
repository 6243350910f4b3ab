package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
)

// row is what one pair measured.
type row struct {
	pair        string
	targetBytes int64 // the target layer tar

	zstdBytes int64 // the CLI's patch; -1 when not measured
	zstd      usage

	layerAs     string // "patch", "full", or "+" in the total row
	layerBytes  int64  // the target layer as stored in the delta
	patchBytes  int64  // every patch blob of the delta
	deltaBytes  int64  // the whole delta archive
	export, imp usage
	exact       bool // the rebuilt image has the target's SHA-256
}

// measurePair wraps one pair into images and measures the zstd CLI and
// diffah on it. It returns an error when a command fails; a rebuilt
// image that differs from the target is reported in the row.
func measurePair(o options, pair string) (row, error) {
	r := row{pair: pair, zstdBytes: -1}
	refLayer := filepath.Join(o.cache, pair+".ref")
	targetLayer := filepath.Join(o.cache, pair+".target")
	refImage := filepath.Join(o.work, pair+".ref."+o.format+".tar")
	targetImage := filepath.Join(o.work, pair+".target."+o.format+".tar")
	patch := filepath.Join(o.work, pair+".zst-patch")
	deltaFile := filepath.Join(o.work, pair+".delta.tar")
	out := filepath.Join(o.work, pair+".out")
	defer func() {
		os.Remove(patch)
		os.Remove(deltaFile)
		os.RemoveAll(out)
	}()

	fi, err := os.Stat(targetLayer)
	if err != nil {
		return r, err
	}
	r.targetBytes = fi.Size()

	// The images: one layer each, the pair's tars as they are.
	for _, w := range []struct{ layer, image, tag string }{
		{refLayer, refImage, pair + ":ref"},
		{targetLayer, targetImage, pair + ":target"},
	} {
		if !o.rebuild && newer(w.image, w.layer) {
			progress(pair, "reusing %s (newer than %s)", w.image,
				filepath.Base(w.layer))
		} else {
			progress(pair, "wrapping %s into %s", w.layer, w.image)
		}
		if err := wrapLayer(w.layer, w.image, w.tag, o.format,
			o.rebuild); err != nil {
			return r, err
		}
	}
	wantSum, _, err := hashFile(targetImage)
	if err != nil {
		return r, err
	}

	// The zstd CLI on the layer tars.
	if o.zstd {
		progress(pair, "zstd --patch-from")
		r.zstd, _, err = measure("zstd", "-q", "-f", "-19", "--long=31",
			"--patch-from="+refLayer, targetLayer, "-o", patch)
		if err != nil {
			return r, err
		}
		if r.zstdBytes, err = fileSize(patch); err != nil {
			return r, err
		}
		os.Remove(patch)
	}

	// diffah export, inspect, import on the images.
	os.Remove(deltaFile)
	progress(pair, "diffah export")
	r.export, _, err = measure(o.diffah, "export", "--pair",
		pair+"="+refImage+","+targetImage, deltaFile)
	if err != nil {
		return r, err
	}
	if r.deltaBytes, err = fileSize(deltaFile); err != nil {
		return r, err
	}
	_, report, err := measure(o.diffah, "inspect", "--json", deltaFile)
	if err != nil {
		return r, err
	}
	if err := r.readReport(report); err != nil {
		return r, fmt.Errorf("diffah inspect --json %s: %w", deltaFile,
			err)
	}

	os.RemoveAll(out)
	progress(pair, "diffah import")
	r.imp, _, err = measure(o.diffah, "import", "--baseline",
		pair+"="+refImage, deltaFile, out)
	if err != nil {
		return r, err
	}
	gotSum, _, err := hashFile(filepath.Join(out, pair+".tar"))
	if err != nil {
		return r, err
	}
	r.exact = gotSum == wantSum
	if !r.exact {
		progress(pair, "rebuilt %s.tar has %s, want %s", pair, gotSum,
			wantSum)
	}
	return r, nil
}

// inspectReport is the part of `diffah inspect --json` deltabench reads.
type inspectReport struct {
	Sidecar struct {
		Images []struct {
			Target struct {
				Layers []struct {
					Digest digest.Digest `json:"digest"`
				} `json:"layers"`
			} `json:"target"`
		} `json:"images"`
		Blobs []struct {
			Digest     digest.Digest `json:"digest"`
			Encoding   string        `json:"encoding"`
			StoredSize int64         `json:"storedSize"`
		} `json:"blobs"`
	} `json:"sidecar"`
}

// readReport fills the patch bytes and the stored size and encoding of
// the target's one layer from an inspect report.
func (r *row) readReport(report []byte) error {
	var rep inspectReport
	if err := json.Unmarshal(report, &rep); err != nil {
		return err
	}
	sc := rep.Sidecar
	if len(sc.Images) != 1 || len(sc.Images[0].Target.Layers) != 1 {
		return fmt.Errorf("want one image of one layer, got %d images",
			len(sc.Images))
	}
	layer := sc.Images[0].Target.Layers[0].Digest
	r.layerAs = ""
	for _, b := range sc.Blobs {
		if b.Encoding == "patch" {
			r.patchBytes += b.StoredSize
		}
		if b.Digest == layer {
			r.layerAs = b.Encoding
			r.layerBytes = b.StoredSize
		}
	}
	if r.layerAs == "" {
		return fmt.Errorf("layer %s not stored in the delta", layer)
	}
	return nil
}

// sum is the total row: sizes and times added, the largest peak RSS,
// exact when every pair was.
func sum(rows []row) row {
	t := row{pair: "total", layerAs: "+", exact: true}
	allZstd := len(rows) > 0
	for _, r := range rows {
		t.targetBytes += r.targetBytes
		t.zstdBytes += r.zstdBytes
		allZstd = allZstd && r.zstdBytes >= 0
		t.zstd = t.zstd.add(r.zstd)
		t.layerBytes += r.layerBytes
		t.patchBytes += r.patchBytes
		t.deltaBytes += r.deltaBytes
		t.export = t.export.add(r.export)
		t.imp = t.imp.add(r.imp)
		t.exact = t.exact && r.exact
	}
	if !allZstd {
		t.zstdBytes = -1
	}
	return t
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// progress tells stderr what is being done to a pair.
func progress(pair, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "deltabench: %s: %s\n", pair,
		fmt.Sprintf(format, a...))
}
