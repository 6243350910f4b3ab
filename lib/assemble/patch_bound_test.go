package assemble_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/porcelain"
	"github.com/diffah/diffah/lib/spec"
	digest "github.com/opencontainers/go-digest"
)

// hostilePatch is a patch in the format of lib/patch (see its package
// documentation) that declares a target of targetSize bytes and builds
// it by copying the whole reference again and again, each copy in its
// own stored chunk, then ends with a wrong SHA-256. A few bytes of it
// stand for a whole reference of output.
func hostilePatch(refSize, targetSize int64) []byte {
	p := []byte("DHPT\x01\x01")
	p = binary.AppendUvarint(p, uint64(refSize))
	p = binary.AppendUvarint(p, uint64(targetSize))
	for left := targetSize; left > 0; left -= refSize {
		op := []byte{0x02} // copy: zigzag delta 0, then the length
		op = binary.AppendUvarint(op, 0)
		op = binary.AppendUvarint(op, uint64(min(refSize, left)))
		p = append(p, 0x02) // a stored chunk of operations
		p = binary.AppendUvarint(p, uint64(len(op)))
		p = append(p, op...)
	}
	p = append(p, 0x00)
	return append(p, bytes.Repeat([]byte{0x11}, 32)...)
}

// TestPatchBoundedBySidecar imports a delta whose patch for a layer
// declares, and produces, 64 times the size the sidecar gives that
// layer. The rebuild must stop at the sidecar's size (exit 4, naming
// the blob) rather than spool what the patch declares, and leave
// nothing in the temp folder or the output folder.
func TestPatchBoundedBySidecar(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1.tar")
	v2 := filepath.Join(dir, "v2.tar")
	for path, version := range map[string]int{v1: 1, v2: 2} {
		err := imagebuild.WriteFile(path, imagebuild.Realistic(version),
			"docker-legacy")
		if err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.tar")
	err := porcelain.Export(ctx, porcelain.ExportOptions{
		Pairs:  []spec.Pair{{Name: "app", Baseline: v1, Target: v2}},
		Output: good, TempDir: dir}, io.Discard)
	if err != nil {
		t.Fatalf("export: %v", err)
	}

	// Swap the first patch for a hostile one, keeping every digest and
	// size the sidecar states consistent, so that only the patch lies.
	d, err := delta.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sc := d.Sidecar
	patched := -1
	for i, b := range sc.Blobs {
		if b.Encoding == delta.EncodingPatch {
			patched = i
			break
		}
	}
	if patched < 0 {
		t.Fatalf("the delta of Realistic(1) to (2) has no patch to swap")
	}
	b := sc.Blobs[patched]
	base, err := image.Open(ctx, v1, image.OpenOptions{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, refSize, closer, err := base.BlobReaderAt(b.PatchRef)
	if err != nil {
		t.Fatal(err)
	}
	closer.Close()
	base.Close()
	evil := hostilePatch(refSize, 64*b.Size)

	var members []delta.Member
	for _, s := range sc.Blobs {
		if s.Stored == b.Stored {
			continue
		}
		members = append(members, delta.Member{Digest: s.Stored,
			Size: s.StoredSize, Open: func() (io.ReadCloser, error) {
				return d.OpenStored(s.Stored)
			}})
	}
	sc.Blobs[patched].Stored = digest.FromBytes(evil)
	sc.Blobs[patched].StoredSize = int64(len(evil))
	members = append(members, delta.Member{Digest: digest.FromBytes(evil),
		Size: int64(len(evil)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(evil)), nil
		}})
	hostile := filepath.Join(dir, "hostile.tar")
	if _, err := delta.Write(hostile, sc, members, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}

	spool := filepath.Join(dir, "spool")
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	err = porcelain.Import(ctx, porcelain.ImportOptions{Archive: hostile,
		OutDir: out, Baselines: map[string]string{"app": v1},
		TempDir: spool}, io.Discard)
	if got := exit.Code(err); got != exit.Corrupt {
		t.Fatalf("import: got exit %d (%v), want %d", got, err,
			exit.Corrupt)
	}
	for _, want := range []string{string(b.Digest),
		"more bytes than the sidecar's size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("import: got %q, want it to contain %q", err, want)
		}
	}
	for _, folder := range []string{spool, out} {
		entries, _ := os.ReadDir(folder)
		for _, e := range entries {
			t.Errorf("%s: got %s left behind, want nothing", folder,
				e.Name())
		}
	}
}
