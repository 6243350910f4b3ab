package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

// pairUpstream is the shared folder of archives written by another tool.
const pairUpstream = "../../../shared/fixtures/upstream-diffah"

// upstreamPairs are (reference, target) layers of the upstream fixtures
// that diffah-pack ships as patches; testdata/fuzz/FuzzDecodePair holds
// committed copies of the small ones with their patches.
var upstreamPairs = []struct{ refArchive, ref, targetArchive, target string }{
	{"v1_oci.tar", "436177174c310a41e6bedc14e40a36b031e8fd58e9224da8be" +
		"189d8c40e65cd7", "v2_oci.tar", "a58c8ca747213430787aff0e7b10fb38" +
		"32afce641b650220e90009f2b410bc77"},
	{"v4_baseline_oci.tar", "0636cddeebebf88a25d8d4fd3e2cbee43a55e5f8f3e7" +
		"44f01a0cbd3907a84c00", "v4_target_oci.tar", "f10429785789c46d4b1b" +
		"53a92e75bf2b0290e1b4952f8e8e9564b56673013b38"},
}

// pairBlob returns the blob hex of an upstream OCI archive, or nil.
func pairBlob(archive, hex string) []byte {
	f, err := os.Open(filepath.Join(pairUpstream, archive))
	if err != nil {
		return nil
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil
		}
		if hdr.Name == "blobs/sha256/"+hex {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil
			}
			return b
		}
	}
}

// FuzzDecodePair fuzzes the reference as well as the patch, which
// FuzzDecode keeps fixed: dictionaries and copies then point into
// references of every size. Decode must never panic, must give a coded
// error, and when it succeeds its output must hash to the SHA-256 the
// patch records.
func FuzzDecodePair(f *testing.F) {
	add := func(ref, target []byte, d Design) {
		var p bytes.Buffer
		err := Encode(context.Background(), &p, bytes.NewReader(ref),
			int64(len(ref)), bytes.NewReader(target), int64(len(target)),
			Options{Design: d})
		if err != nil {
			f.Fatalf("encode seed: %v", err)
		}
		f.Add(ref, p.Bytes())
	}
	ref, target := []byte("the quick brown fox jumps over the lazy dog"),
		[]byte("the quick brown cat jumps over the lazy dog!")
	for _, d := range []Design{Auto, Match, Tar, DictWhole} {
		add(ref, target, d)
	}
	add(nil, target, Auto)
	add(ref, nil, Auto)
	for _, p := range upstreamPairs {
		r := pairBlob(p.refArchive, p.ref)
		t := pairBlob(p.targetArchive, p.target)
		if r != nil && t != nil {
			add(r, t, Auto)
			add(r, t, Tar)
		}
	}

	f.Fuzz(func(t *testing.T, ref, p []byte) {
		var out bytes.Buffer
		w := io.MultiWriter(&out, &limitWriter{n: 8 << 20})
		err := Decode(context.Background(), w, bytes.NewReader(ref),
			int64(len(ref)), bytes.NewReader(p))
		if err != nil {
			if exit.Code(err) == exit.Internal {
				t.Fatalf("got an error without exit code: %v", err)
			}
			return
		}
		// The end marker is a zero tag and the target's SHA-256; Decode
		// stops reading there.
		sum := sha256.Sum256(out.Bytes())
		if !bytes.Contains(p, append([]byte{chunkEnd}, sum[:]...)) {
			t.Fatalf("decoded %d bytes whose SHA-256 is not in the patch",
				out.Len())
		}
	})
}
