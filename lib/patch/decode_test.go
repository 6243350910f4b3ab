package patch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/diffah/diffah/lib/exit"
)

func encode(t testing.TB, ref, target []byte, d Design) []byte {
	t.Helper()
	var p bytes.Buffer
	err := Encode(context.Background(), &p, bytes.NewReader(ref),
		int64(len(ref)), bytes.NewReader(target), int64(len(target)),
		Options{Design: d})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return p.Bytes()
}

func decode(ref, patch []byte, r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	if r == nil {
		r = bytes.NewReader(patch)
	}
	err := Decode(context.Background(), &out, bytes.NewReader(ref),
		int64(len(ref)), r)
	return out.Bytes(), err
}

// TestDecodeSmallReads feeds the patch one and two bytes at a time.
func TestDecodeSmallReads(t *testing.T) {
	ref, target := tarPair(t, 10, 2000)
	for _, d := range []Design{Auto, Tar, DictWhole} {
		p := encode(t, ref, target, d)
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(p)),
			"half":     iotest.HalfReader(bytes.NewReader(p)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(p)),
		} {
			got, err := decode(ref, nil, r)
			if err != nil {
				t.Fatalf("%v %s: Decode: %v", d, name, err)
			}
			if !bytes.Equal(got, target) {
				t.Errorf("%v %s: got %d bytes, want the %d target bytes",
					d, name, len(got), len(target))
			}
		}
	}
}

// TestDecodeRefuses checks that bad patches and wrong references get a
// content error (exit 4) naming the problem.
func TestDecodeRefuses(t *testing.T) {
	ref, target := tarPair(t, 10, 2000)
	p := encode(t, ref, target, Auto)
	otherRef := append([]byte(nil), ref...)
	otherRef[len(otherRef)/2] ^= 1
	edit := func(f func([]byte) []byte) []byte {
		return f(append([]byte(nil), p...))
	}
	tests := []struct {
		name  string
		ref   []byte
		patch []byte
		want  string
	}{
		{"empty", ref, nil, "truncated"},
		{"magic", ref, edit(func(b []byte) []byte {
			b[0] = 'X'
			return b
		}), "magic"},
		{"version", ref, edit(func(b []byte) []byte {
			b[4] = 9
			return b
		}), "format version 9"},
		{"codec", ref, edit(func(b []byte) []byte {
			b[5] = 7
			return b
		}), "codec 7 unknown"},
		{"ref size", ref[:len(ref)-1], p, "reference of"},
		{"ref content", otherRef, p, "sha256"},
		{"truncated", ref, p[:len(p)-10], "truncated"},
		{"no end", ref, p[:len(p)-33], "truncated"},
		{"digest", ref, edit(func(b []byte) []byte {
			b[len(b)-1] ^= 1
			return b
		}), "patch says sha256"},
		{"bad chunk tag", ref, edit(func(b []byte) []byte {
			b[len(b)-33] = 7
			return b
		}), "tag 0x7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.ref, tt.patch, nil)
			if err == nil {
				t.Fatalf("Decode: got no error, want one with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: got %q, want it to contain %q", err,
					tt.want)
			}
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("exit code: got %d, want %d (%v)", got,
					exit.Corrupt, err)
			}
		})
	}
}

// TestDecodeCorrupt flips bytes and truncates a valid patch at many
// places: Decode must return a content error or, if the damage does not
// matter, the exact target; never panic.
func TestDecodeCorrupt(t *testing.T) {
	ref, target := tarPair(t, 8, 1500)
	for _, d := range []Design{Auto, DictWhole} {
		p := encode(t, ref, target, d)
		step := max(1, len(p)/150)
		for i := 0; i < len(p); i += step {
			for _, bad := range [][]byte{
				flip(p, i, 0x01), flip(p, i, 0xff), p[:i],
			} {
				got, err := decode(ref, bad, nil)
				if err == nil && !bytes.Equal(got, target) {
					t.Fatalf("%v: byte %d damaged: no error and wrong "+
						"output", d, i)
				}
				if err != nil && exit.Code(err) != exit.Corrupt {
					t.Fatalf("%v: byte %d damaged: exit code %d, want "+
						"%d: %v", d, i, exit.Code(err), exit.Corrupt, err)
				}
			}
		}
	}
}

func flip(p []byte, i int, mask byte) []byte {
	b := append([]byte(nil), p...)
	b[i] ^= mask
	return b
}

// TestDecodeWriteError reports the writer's error as environment (3).
func TestDecodeWriteError(t *testing.T) {
	ref, target := tarPair(t, 4, 1000)
	p := encode(t, ref, target, Auto)
	err := Decode(context.Background(), failWriter{}, bytes.NewReader(ref),
		int64(len(ref)), bytes.NewReader(p))
	if exit.Code(err) != exit.EnvErr {
		t.Errorf("got %v (exit %d), want exit %d", err, exit.Code(err),
			exit.EnvErr)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) {
	return 0, errors.New("disk full")
}

// TestDecodeCanceled stops at a canceled context.
func TestDecodeCanceled(t *testing.T) {
	ref, target := tarPair(t, 4, 1000)
	p := encode(t, ref, target, Auto)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Decode(ctx, io.Discard, bytes.NewReader(ref), int64(len(ref)),
		bytes.NewReader(p))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// limitWriter fails after n bytes so fuzzed patches that declare huge
// targets stay cheap.
type limitWriter struct{ n int }

func (w *limitWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		return 0, errors.New("fuzz output limit")
	}
	w.n -= len(b)
	return len(b), nil
}

func FuzzDecode(f *testing.F) {
	ref, target := tarPair(f, 6, 800)
	for _, d := range []Design{Auto, Match, Tar, DictWhole} {
		f.Add(encode(f, ref, target, d))
	}
	f.Add(encode(f, ref, nil, Auto))
	f.Add(encode(f, ref, ref, Auto))
	f.Add(encode(f, ref, []byte("x"), Match))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, p []byte) {
		err := Decode(context.Background(), &limitWriter{n: 8 << 20},
			bytes.NewReader(ref), int64(len(ref)), bytes.NewReader(p))
		if err != nil && exit.Code(err) == exit.Internal {
			t.Errorf("uncoded error %v", err)
		}
	})
}
