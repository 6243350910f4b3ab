package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// randBytes returns n pseudo-random bytes from seed.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// textish returns n compressible bytes: words from a small vocabulary.
func textish(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	words := []string{"layer", "image", "delta", "patch", "zstd ",
		"tar ", "\n", "func ", "return ", "{ ", "} ", "0x1f ", "go "}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

// mutate returns a copy of b with a few insertions, deletions and
// substitutions.
func mutate(seed uint64, b []byte, edits int) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	out := append([]byte(nil), b...)
	for range edits {
		if len(out) == 0 {
			out = append(out, randBytes(seed, 10)...)
			continue
		}
		i := r.IntN(len(out))
		switch r.IntN(3) {
		case 0:
			ins := randBytes(r.Uint64(), 1+r.IntN(100))
			out = append(out[:i], append(ins, out[i:]...)...)
		case 1:
			j := min(len(out), i+1+r.IntN(100))
			out = append(out[:i], out[j:]...)
		default:
			out[i] ^= 0x5a
		}
	}
	return out
}

type file struct {
	name string
	data []byte
}

func makeTar(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644,
			Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarPair returns a reference tar and a target tar that changes,
// renames, adds and drops some files.
func tarPair(t testing.TB, nfiles, size int) (ref, target []byte) {
	var rf, tf []file
	for i := range nfiles {
		var data []byte
		if i%2 == 0 {
			data = textish(uint64(i), size+i*37)
		} else {
			data = randBytes(uint64(i), size+i*37)
		}
		name := fmt.Sprintf("usr/lib/pkg%d/lib%d.so.1.%d", i, i, i)
		rf = append(rf, file{name, data})
		switch i % 5 {
		case 0: // unchanged
			tf = append(tf, file{name, data})
		case 1: // changed
			tf = append(tf, file{name, mutate(uint64(i), data, 5)})
		case 2: // version bump in the name, changed content
			tf = append(tf, file{fmt.Sprintf(
				"usr/lib/pkg%d/lib%d.so.1.%d", i, i, i+1),
				mutate(uint64(i), data, 3)})
		case 3: // dropped; a new file instead
			tf = append(tf, file{fmt.Sprintf("new/%d", i),
				randBytes(uint64(1000+i), size/2)})
		case 4: // moved
			tf = append(tf, file{fmt.Sprintf("moved/%d", i), data})
		}
	}
	return makeTar(t, rf), makeTar(t, tf)
}

func roundTrip(t *testing.T, ref, target []byte, d Design) int {
	t.Helper()
	var p bytes.Buffer
	err := Encode(context.Background(), &p, bytes.NewReader(ref),
		int64(len(ref)), bytes.NewReader(target), int64(len(target)),
		Options{Design: d})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var got bytes.Buffer
	err = Decode(context.Background(), &got, bytes.NewReader(ref),
		int64(len(ref)), bytes.NewReader(p.Bytes()))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !bytes.Equal(got.Bytes(), target) {
		i := 0
		for i < min(got.Len(), len(target)) &&
			got.Bytes()[i] == target[i] {
			i++
		}
		t.Fatalf("decoded %d bytes, want %d; first difference at %d",
			got.Len(), len(target), i)
	}
	return p.Len()
}

func TestRoundTrip(t *testing.T) {
	text := textish(1, 100<<10)
	random := randBytes(2, 128<<10)
	tarRef, tarTarget := tarPair(t, 30, 2000)
	tests := []struct {
		name        string
		ref, target []byte
		// maxRatio bounds patch size / target size for Auto.
		maxRatio float64
	}{
		{"empty both", nil, nil, 1},
		{"empty ref", nil, text, 0.5},
		{"empty target", text, nil, 1},
		{"identical", random, random, 0.01},
		{"tiny", []byte("a"), []byte("b"), 100},
		{"short", []byte("hello, world"), []byte("hello, world!"), 10},
		{"random unrelated", random, randBytes(3, 64<<10), 1.01},
		{"random edited", random, mutate(4, random, 20), 0.05},
		{"text edited", text, mutate(5, text, 50), 0.1},
		{"prefix", random, random[:1000], 0.2},
		{"shifted", random, append(randBytes(6, 777), random...), 0.01},
		{"zeros", make([]byte, 1<<20), make([]byte, 1<<19), 0.01},
		{"tar pair", tarRef, tarTarget, 0.5},
		{"tar vs random", tarRef, random, 1.01},
		{"random vs tar", random, tarTarget, 1.01},
	}
	for _, tt := range tests {
		for _, d := range []Design{Auto, Match, Tar, DictWhole} {
			t.Run(tt.name+"/"+d.String(), func(t *testing.T) {
				n := roundTrip(t, tt.ref, tt.target, d)
				limit := tt.maxRatio*float64(len(tt.target)) + 100
				if d == Auto && float64(n) > limit {
					t.Errorf("patch of %d bytes for %d target bytes, "+
						"want at most %.0f", n, len(tt.target), limit)
				}
			})
		}
	}
}
