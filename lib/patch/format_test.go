package patch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/klauspost/compress/zstd"
)

// handPatch builds a patch from a header and raw chunk bytes, ending
// with the digest of want.
func handPatch(refSize, targetSize int64, chunks []byte, want []byte) []byte {
	p := header{refSize: refSize, targetSize: targetSize}.append(nil)
	p = append(p, chunks...)
	sum := sha256.Sum256(want)
	return append(append(p, chunkEnd), sum[:]...)
}

// stored returns a stored chunk holding ops.
func stored(ops ...[]byte) []byte {
	body := bytes.Join(ops, nil)
	return append(binary.AppendUvarint([]byte{chunkStored},
		uint64(len(body))), body...)
}

func lit(b string) []byte {
	return append(binary.AppendUvarint([]byte{opLiteral},
		uint64(len(b))), b...)
}

func cp(delta int64, n uint64) []byte {
	op := binary.AppendUvarint([]byte{opCopy}, zigzag(delta))
	return binary.AppendUvarint(op, n)
}

func TestDecodeHandMade(t *testing.T) {
	ref := []byte("0123456789abcdef")
	tests := []struct {
		name   string
		target int64
		chunks []byte
		want   string // decoded target, or the error it must contain
		fails  bool
	}{
		{"literal and copies", 9, stored(lit("xy"), cp(3, 4), cp(-7, 3)),
			"xy3456012", false},
		{"two chunks", 6, append(stored(lit("ab")), stored(cp(12, 4))...),
			"abcdef", false},
		{"copy past reference", 4, stored(cp(14, 4)),
			"outside reference", true},
		{"copy before reference", 4, stored(cp(-1, 4)),
			"outside reference", true},
		{"literal past target", 2, stored(lit("abc")),
			"past target size", true},
		{"short target", 4, stored(lit("abc")), "rebuilt 3 bytes", true},
		{"unknown op", 1, stored([]byte{0x09}), "tag 0x9", true},
		{"truncated op", 3, stored(lit("abc")[:3]), "unexpected EOF", true},
		{"dictionary too big", 1, binary.AppendUvarint(
			binary.AppendUvarint([]byte{chunkFrame}, 0), MaxDict+1),
			"exceeds limit", true},
		{"dictionary outside reference", 1, binary.AppendUvarint(
			binary.AppendUvarint([]byte{chunkFrame}, 10), 10),
			"outside reference", true},
		{"not zstd", 1, append(binary.AppendUvarint(
			[]byte{chunkFrame, 0, 0}, 4), "junk"...), "chunk 0", true},
		{"huge varint", 1, append([]byte{chunkStored},
			bytes.Repeat([]byte{0xff}, 11)...), "patch: chunk 0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := []byte(tt.want)
			if tt.fails {
				want = nil
			}
			p := handPatch(int64(len(ref)), tt.target, tt.chunks, want)
			got, err := decode(ref, p, nil)
			if !tt.fails {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err,
					tt.want)
			}
			if exit.Code(err) != exit.Corrupt {
				t.Errorf("exit code %d, want %d", exit.Code(err),
					exit.Corrupt)
			}
		})
	}
}

func TestZigzag(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 1 << 40, -(1 << 40),
		1<<63 - 1, -1 << 63} {
		if got := unzigzag(zigzag(v)); got != v {
			t.Errorf("unzigzag(zigzag(%d)) = %d, want %d", v, got, v)
		}
	}
}

func TestEncodeDeterministic(t *testing.T) {
	ref, target := tarPair(t, 10, 2000)
	for _, d := range []Design{Auto, Match, Tar, DictWhole} {
		a := encode(t, ref, target, d)
		b := encode(t, ref, target, d)
		if !bytes.Equal(a, b) {
			t.Errorf("%v: two encodes differ (%d and %d bytes)", d,
				len(a), len(b))
		}
	}
}

func TestEncodeRefusesBadOptions(t *testing.T) {
	err := Encode(t.Context(), &bytes.Buffer{}, bytes.NewReader(nil), 0,
		bytes.NewReader(nil), 0, Options{Design: Design(9)})
	if exit.Code(err) != exit.UsageErr {
		t.Errorf("got %v (exit %d), want exit %d", err, exit.Code(err),
			exit.UsageErr)
	}
	if _, err := ParseDesign("best"); err == nil {
		t.Error("ParseDesign(best): got no error")
	}
	for _, d := range []Design{Auto, Match, Tar, DictWhole} {
		got, err := ParseDesign(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDesign(%q) = %v, %v; want %v", d, got, err, d)
		}
	}
}

func TestEncodeCanceled(t *testing.T) {
	ref, target := tarPair(t, 4, 1000)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Encode(ctx, io.Discard, bytes.NewReader(ref), int64(len(ref)),
		bytes.NewReader(target), int64(len(target)), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// eofReaderAt returns io.EOF with the last bytes, as io.ReaderAt allows.
type eofReaderAt struct{ b []byte }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off > int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if off+int64(n) == int64(len(r.b)) {
		return n, io.EOF
	}
	return n, nil
}

func TestReaderAtEOFAtEnd(t *testing.T) {
	ref, target := tarPair(t, 6, 1500)
	for _, d := range []Design{Auto, Match, Tar, DictWhole} {
		var p bytes.Buffer
		err := Encode(t.Context(), &p, eofReaderAt{ref}, int64(len(ref)),
			eofReaderAt{target}, int64(len(target)), Options{Design: d})
		if err != nil {
			t.Fatalf("%v: Encode: %v", d, err)
		}
		var out bytes.Buffer
		err = Decode(t.Context(), &out, eofReaderAt{ref}, int64(len(ref)),
			&p)
		if err != nil || !bytes.Equal(out.Bytes(), target) {
			t.Fatalf("%v: Decode: %v (%d bytes, want %d)", d, err,
				out.Len(), len(target))
		}
	}
}

// TestDecodeDictionaryBudget refuses a patch whose frames name more
// dictionary bytes in all than dictBudget allows.
func TestDecodeDictionaryBudget(t *testing.T) {
	ref := randBytes(9, 1<<20)
	zw, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true))
	if err != nil {
		t.Fatal(err)
	}
	empty := zw.EncodeAll(nil, nil)
	var chunks []byte
	frames := int(dictBudget(int64(len(ref)), 0)/int64(len(ref))) + 1
	for range frames {
		c := binary.AppendUvarint([]byte{chunkFrame}, 0)
		c = binary.AppendUvarint(c, uint64(len(ref)))
		c = binary.AppendUvarint(c, uint64(len(empty)))
		chunks = append(append(chunks, c...), empty...)
	}
	p := handPatch(int64(len(ref)), 0, chunks, nil)
	_, err = decode(ref, p, nil)
	if err == nil || !strings.Contains(err.Error(), "dictionaries of") {
		t.Fatalf("got %v, want the dictionary budget error", err)
	}
	if exit.Code(err) != exit.Corrupt {
		t.Errorf("exit code %d, want %d", exit.Code(err), exit.Corrupt)
	}

	// One frame less stays within the budget and decodes.
	p = handPatch(int64(len(ref)), 0,
		chunks[:len(chunks)/frames*(frames-1)], nil)
	if _, err := decode(ref, p, nil); err != nil {
		t.Errorf("within the budget: %v", err)
	}
}
