package patch

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchPair is one reference/target pair for the benchmarks.
type benchPair struct {
	name        string
	ref, target io.ReaderAt
	refSize     int64
	targetSize  int64
}

// benchPairs returns generated pairs and, when DIFFAH_BENCH_CACHE names
// a folder (bench/mkpairs.sh fills $HOME/.cache/diffah-bench), the
// realistic pairs <name>.ref/<name>.target found there.
func benchPairs(b *testing.B) []benchPair {
	tarRef, tarTarget := tarPair(b, 200, 20000)
	random := randBytes(21, 4<<20)
	pairs := []benchPair{
		mem("tar-4MB", tarRef, tarTarget),
		mem("random-4MB", random, randBytes(22, 4<<20)),
		mem("edited-4MB", random, mutate(23, random, 200)),
	}
	dir := os.Getenv("DIFFAH_BENCH_CACHE")
	if dir == "" {
		b.Log("realistic pairs skipped: set DIFFAH_BENCH_CACHE to the " +
			"folder bench/mkpairs.sh fills")
		return pairs
	}
	refs, _ := filepath.Glob(filepath.Join(dir, "*.ref"))
	for _, r := range refs {
		name := filepath.Base(r[:len(r)-len(".ref")])
		ref, err := os.Open(r)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ref.Close() })
		target, err := os.Open(r[:len(r)-len(".ref")] + ".target")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { target.Close() })
		rs, _ := ref.Seek(0, io.SeekEnd)
		ts, _ := target.Seek(0, io.SeekEnd)
		pairs = append(pairs, benchPair{name, ref, target, rs, ts})
	}
	return pairs
}

func mem(name string, ref, target []byte) benchPair {
	return benchPair{name, bytes.NewReader(ref), bytes.NewReader(target),
		int64(len(ref)), int64(len(target))}
}

// sumWriter checks the decoded bytes against the target as they come.
type sumWriter struct {
	target io.ReaderAt
	off    int64
	buf    []byte
	bad    bool
}

func (w *sumWriter) Write(p []byte) (int, error) {
	if cap(w.buf) < len(p) {
		w.buf = make([]byte, len(p))
	}
	b := w.buf[:len(p)]
	if _, err := w.target.ReadAt(b, w.off); err != nil ||
		!bytes.Equal(b, p) {
		w.bad = true
	}
	w.off += int64(len(p))
	return len(p), nil
}

func BenchmarkEncode(b *testing.B) {
	for _, p := range benchPairs(b) {
		for _, d := range []Design{Auto, Match, Tar, DictWhole} {
			b.Run(p.name+"/"+d.String(), func(b *testing.B) {
				if d == DictWhole && p.refSize > MaxDict {
					b.Skip("reference larger than MaxDict")
				}
				b.SetBytes(p.targetSize)
				b.ReportAllocs()
				var patch bytes.Buffer
				for b.Loop() {
					patch.Reset()
					err := Encode(context.Background(), &patch, p.ref,
						p.refSize, p.target, p.targetSize,
						Options{Design: d})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(patch.Len()), "patch-bytes")
				w := &sumWriter{target: p.target}
				err := Decode(context.Background(), w, p.ref, p.refSize,
					bytes.NewReader(patch.Bytes()))
				if err != nil || w.bad || w.off != p.targetSize {
					b.Fatalf("decoding the patch: %v (mismatch %v, %d "+
						"bytes, want %d)", err, w.bad, w.off, p.targetSize)
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, p := range benchPairs(b) {
		b.Run(p.name, func(b *testing.B) {
			var patch bytes.Buffer
			err := Encode(context.Background(), &patch, p.ref, p.refSize,
				p.target, p.targetSize, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(p.targetSize)
			b.ReportAllocs()
			for b.Loop() {
				w := &sumWriter{target: p.target}
				err := Decode(context.Background(), w, p.ref, p.refSize,
					bytes.NewReader(patch.Bytes()))
				if err != nil || w.bad || w.off != p.targetSize {
					b.Fatalf("Decode: %v (mismatch %v, %d bytes, want "+
						"%d)", err, w.bad, w.off, p.targetSize)
				}
			}
		})
	}
}
