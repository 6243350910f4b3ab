package skeleton

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/record"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// entry is one member of a test tar.
type entry struct {
	hdr  tar.Header
	body []byte
}

// built is a test tar with its members' offsets and the blobs by digest.
type built struct {
	data    []byte
	members []record.Member
	blobs   map[digest.Digest][]byte
}

// buildTar writes entries with archive/tar, recording where each regular
// file's content starts, then appends trailer extra zero bytes.
func buildTar(t testing.TB, entries []entry, trailer int) built {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	b := built{blobs: map[digest.Digest][]byte{}}
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("header %s: %v", hdr.Name, err)
		}
		off := int64(buf.Len())
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg && len(e.body) > 0 {
			d := digest.FromBytes(e.body)
			b.members = append(b.members, record.Member{Name: hdr.Name,
				Offset: off, Size: int64(len(e.body)), Digest: d})
			b.blobs[d] = e.body
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.Write(make([]byte, trailer))
	b.data = buf.Bytes()
	return b
}

func reg(name string, body string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name,
		Mode: 0o644, ModTime: time.Unix(1700000000, 0)}, body: []byte(body)}
}

// cases are tars of the shapes image archives take.
func cases() map[string][]entry {
	long := strings.Repeat("very-long-directory-name/", 8) + "file.txt"
	pax := reg("pax/"+strings.Repeat("n", 150), "pax body")
	pax.hdr.PAXRecords = map[string]string{"user.note": "x"}
	pax.hdr.Format = tar.FormatPAX
	gnu := reg(strings.Repeat("g", 120), "gnu body\n")
	gnu.hdr.Format = tar.FormatGNU
	sub := reg("subsec", "nanoseconds force PAX")
	sub.hdr.ModTime = time.Unix(1700000000, 123456789)
	sub.hdr.Format = tar.FormatPAX
	same := strings.Repeat("shared content ", 40)
	return map[string][]entry{
		"docker legacy": {
			{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "abc/",
				Mode: 0o755}},
			reg("abc/VERSION", "1.0"),
			reg("abc/json", `{"id":"abc"}`),
			reg("abc/layer.tar", strings.Repeat("L", 3000)),
			{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "def/layer.tar",
				Linkname: "../abc/layer.tar"}},
			reg("manifest.json", `[{"Config":"c.json"}]`),
			reg("repositories", `{"app":{"1.0":"abc"}}`),
		},
		"long names and PAX": {
			reg(long, "long name split by ustar or PAX"),
			pax, gnu, sub,
			{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "hard",
				Linkname: long}},
		},
		"padding sizes": {
			reg("a", "x"),
			reg("b", strings.Repeat("y", 511)),
			reg("c", strings.Repeat("z", 512)),
			reg("d", strings.Repeat("w", 513)),
			reg("empty", ""),
			reg("e", strings.Repeat("v", 1025)),
		},
		"same content twice": {
			reg("blobs/sha256/one", same),
			reg("copy", same),
		},
		"no content at all": {
			{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d/"}},
			reg("empty", ""),
		},
	}
}

// opener serves blobs from a map, verifying each one's digest as the
// contract of Opener asks.
func opener(blobs map[digest.Digest][]byte) Opener {
	return func(d digest.Digest) (io.ReadCloser, error) {
		b, ok := blobs[d]
		if !ok {
			return nil, exit.Contentf("no blob %s", d)
		}
		return digestio.NewReader(io.NopCloser(bytes.NewReader(b)),
			"blob", d, int64(len(b))), nil
	}
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func capture(t testing.TB, b built) *Skeleton {
	t.Helper()
	sk, err := Capture(writeFile(t, b.data), b.members,
		int64(len(b.data)), digest.FromBytes(b.data))
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	return sk
}

func TestRoundTrip(t *testing.T) {
	for name, entries := range cases() {
		for _, trailer := range []int{0, 512, 10240 - 1024} {
			t.Run(fmt.Sprintf("%s/trailer %d", name, trailer),
				func(t *testing.T) {
					roundTrip(t, buildTar(t, entries, trailer))
				})
		}
	}
}

func roundTrip(t *testing.T, b built) {
	sk := capture(t, b)
	enc, err := sk.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Size != int64(len(b.data)) {
		t.Errorf("got size %d, want %d", got.Size, len(b.data))
	}

	// The skeleton holds no member content: its raw parts and blob
	// sizes add up to the file.
	var raw, ref int64
	for _, p := range got.Parts {
		raw += int64(len(p.Raw))
		ref += p.Size
	}
	var content int64
	for _, m := range b.members {
		content += m.Size
	}
	if ref != content || raw+ref != int64(len(b.data)) {
		t.Errorf("got %d raw + %d referenced bytes, want %d + %d",
			raw, ref, int64(len(b.data))-content, content)
	}

	var out bytes.Buffer
	if err := got.Replay(&out, opener(b.blobs)); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if !bytes.Equal(out.Bytes(), b.data) {
		t.Fatalf("got %d bytes (%s), want the original %d (%s)",
			out.Len(), digest.FromBytes(out.Bytes()), len(b.data),
			digest.FromBytes(b.data))
	}

	// Blobs come in file order, each once.
	byOffset := append([]record.Member(nil), b.members...)
	sort.Slice(byOffset, func(i, j int) bool {
		return byOffset[i].Offset < byOffset[j].Offset
	})
	var wantBlobs []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, m := range byOffset {
		if !seen[m.Digest] {
			seen[m.Digest] = true
			wantBlobs = append(wantBlobs, m.Digest)
		}
	}
	if gotBlobs := got.Blobs(); !reflect.DeepEqual(gotBlobs, wantBlobs) {
		t.Errorf("got blobs %v, want %v", gotBlobs, wantBlobs)
	}
}

// TestCaptureUnsorted checks that members given in any order are
// placed by offset.
func TestCaptureUnsorted(t *testing.T) {
	b := buildTar(t, cases()["padding sizes"], 0)
	for i, j := 0, len(b.members)-1; i < j; i, j = i+1, j-1 {
		b.members[i], b.members[j] = b.members[j], b.members[i]
	}
	roundTrip(t, b)
}

func TestEncodeDeterministic(t *testing.T) {
	b := buildTar(t, cases()["long names and PAX"], 1024)
	first, err := capture(t, b).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := capture(t, b).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, first) {
			t.Fatalf("run %d: got %s, want %s", i,
				digest.FromBytes(again), digest.FromBytes(first))
		}
	}
}

func TestCaptureErrors(t *testing.T) {
	b := buildTar(t, cases()["padding sizes"], 0)
	path := writeFile(t, b.data)
	size := int64(len(b.data))
	sum := digest.FromBytes(b.data)
	m0, m1 := b.members[0], b.members[1]
	tests := []struct {
		name     string
		path     string
		members  []record.Member
		wantCode int
	}{
		{"overlap", path, []record.Member{m0,
			{Name: "x", Offset: m0.Offset, Size: 1, Digest: m0.Digest}},
			exit.Corrupt},
		{"past the end", path, []record.Member{{Name: "x",
			Offset: size - 1, Size: 2, Digest: m1.Digest}}, exit.Corrupt},
		{"negative size", path, []record.Member{{Name: "x",
			Offset: 10, Size: -1, Digest: m1.Digest}}, exit.Corrupt},
		{"missing file", filepath.Join(t.TempDir(), "nope.tar"),
			[]record.Member{m0}, exit.EnvErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Capture(tc.path, tc.members, size, sum)
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
		})
	}
}

// encode compresses an arbitrary JSON document as Encode does.
func encode(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func TestDecodeRejects(t *testing.T) {
	blob := digest.FromString("blob")
	sum := digest.FromString("file")
	good := func() map[string]any {
		return map[string]any{"version": 1, "size": 15, "sha256": sum,
			"parts": []map[string]any{
				{"raw": []byte("hello")},
				{"blob": blob, "size": 10},
			}}
	}
	with := func(k string, v any) []byte {
		doc := good()
		doc[k] = v
		return encode(t, doc)
	}
	if _, err := Decode(encode(t, good())); err != nil {
		t.Fatalf("the well-formed document: got %v, want no error", err)
	}
	tests := []struct {
		name    string
		encoded []byte
		wantMsg string
	}{
		{"empty input", nil, "skeleton"},
		{"not zstd", []byte(`{"version":1}`), "decompressing"},
		{"not JSON", encode(t, "just a string"), "skeleton"},
		{"truncated zstd", encode(t, good())[:10], "skeleton"},
		{"version 0", with("version", 0), "version 0, want 1"},
		{"version 2", with("version", 2), "version 2, want 1"},
		{"no sha256", with("sha256", ""), "sha256"},
		{"bad sha256", with("sha256", "sha256:xyz"), "sha256"},
		{"parts short", with("size", 16), "add up to 15"},
		{"parts over", with("size", 14), "exceed"},
		{"negative size", with("size", -1), "exceed"},
		{"bad blob digest", with("parts", []map[string]any{
			{"raw": []byte("hello")},
			{"blob": "sha256:../../etc/passwd", "size": 10}}), "part 1"},
		{"uppercase blob digest", with("parts", []map[string]any{
			{"raw": []byte("hello")},
			{"blob": strings.ToUpper(string(blob)), "size": 10}}),
			"part 1"},
		{"blob without size", with("parts", []map[string]any{
			{"raw": []byte("hello")}, {"blob": blob}}), "part 1"},
		{"blob with negative size", with("parts", []map[string]any{
			{"raw": []byte("hello")}, {"blob": blob, "size": -10}}),
			"part 1"},
		{"raw and blob", with("parts", []map[string]any{
			{"raw": []byte("hello"), "blob": blob, "size": 10}}),
			"part 0"},
		{"empty part", with("parts", []map[string]any{{}}), "part 0"},
		{"raw with a size", with("parts", []map[string]any{
			{"raw": []byte("hello"), "size": 10}}), "part 0"},
		{"huge blob", with("parts", []map[string]any{
			{"blob": blob, "size": int64(1) << 62},
			{"blob": blob, "size": int64(1) << 62}}), "exceed"},
		{"too large", make([]byte, MaxEncoded+1), "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sk, err := Decode(tc.encoded)
			if err == nil {
				t.Fatalf("got skeleton %+v, want an error", sk)
			}
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestReplayFailures(t *testing.T) {
	b := buildTar(t, cases()["docker legacy"], 0)
	sk := capture(t, b)
	target := b.members[2] // abc/layer.tar, 3000 bytes
	body := b.blobs[target.Digest]

	flipped := append([]byte(nil), body...)
	flipped[100] ^= 1
	boom := errors.New("boom")
	tests := []struct {
		name     string
		replace  []byte // served for target's digest, without verifying
		openErr  error
		wantCode int
	}{
		{"same size, other bytes", flipped, nil, exit.Corrupt},
		{"short", body[:len(body)-1], nil, exit.Corrupt},
		{"long", append(append([]byte(nil), body...), 'x'), nil,
			exit.Corrupt},
		{"empty", []byte{}, nil, exit.Corrupt},
		{"open fails", nil, boom, exit.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := func(d digest.Digest) (io.ReadCloser, error) {
				if d != target.Digest {
					return opener(b.blobs)(d)
				}
				if tc.openErr != nil {
					return nil, tc.openErr
				}
				return io.NopCloser(bytes.NewReader(tc.replace)), nil
			}
			var out bytes.Buffer
			err := sk.Replay(&out, open)
			if err == nil {
				t.Fatalf("got no error, want exit %d", tc.wantCode)
			}
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			if tc.openErr != nil && !errors.Is(err, tc.openErr) {
				t.Errorf("got %v, want the opener's error", err)
			}
		})
	}

	// A verifying opener catches the flipped byte itself.
	bad := map[digest.Digest][]byte{}
	for d, v := range b.blobs {
		bad[d] = v
	}
	bad[target.Digest] = flipped
	err := sk.Replay(io.Discard, opener(bad))
	if got := exit.Code(err); got != exit.Corrupt {
		t.Errorf("verifying opener: got exit %d (%v), want %d", got, err,
			exit.Corrupt)
	}
}

func TestReplayWriteError(t *testing.T) {
	b := buildTar(t, cases()["padding sizes"], 0)
	sk := capture(t, b)
	err := sk.Replay(failWriter{}, opener(b.blobs))
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("got exit %d (%v), want %d", got, err, exit.EnvErr)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) {
	return 0, errors.New("disk full")
}

func FuzzDecode(f *testing.F) {
	b := buildTar(f, cases()["docker legacy"], 512)
	sk := capture(f, b)
	enc, err := sk.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(encode(f, map[string]any{"version": 1, "size": 1,
		"sha256": digest.FromString("x"), "parts": []map[string]any{
			{"raw": []byte("x")}}}))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, data []byte) {
		sk, err := Decode(data)
		if err != nil {
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			return
		}
		var total int64
		for _, p := range sk.Parts {
			total += int64(len(p.Raw)) + p.Size
		}
		if total != sk.Size {
			t.Fatalf("accepted parts adding up to %d, size %d", total,
				sk.Size)
		}
		again, err := sk.Encode()
		if err != nil {
			t.Fatal(err)
		}
		sk2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded skeleton: %v", err)
		}
		if !reflect.DeepEqual(sk, sk2) {
			t.Fatalf("got %+v after a round trip, want %+v", sk2, sk)
		}
	})
}

// FuzzDecodeJSON fuzzes the JSON inside the compression, which random
// bytes rarely reach through FuzzDecode.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"version":1,"size":1,"sha256":"` +
		string(digest.FromString("x")) + `","parts":[{"raw":"eA=="}]}`))
	f.Add([]byte(`{"version":1,"size":3,"sha256":"` +
		string(digest.FromString("x")) + `","parts":[{"blob":"` +
		string(digest.FromString("b")) + `","size":3}]}`))
	f.Add([]byte(`{"version":1,"size":-1,"parts":null}`))
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		sk, err := Decode(enc.EncodeAll(doc, nil))
		if err != nil {
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			return
		}
		var total int64
		for _, p := range sk.Parts {
			if (p.Blob == "") == (len(p.Raw) == 0) {
				t.Fatalf("accepted part %+v: want raw bytes or a blob", p)
			}
			if p.Blob != "" && (p.Size <= 0 || p.Blob.Validate() != nil) {
				t.Fatalf("accepted blob part %+v", p)
			}
			total += int64(len(p.Raw)) + p.Size
		}
		if total != sk.Size || sk.Size < 0 {
			t.Fatalf("accepted parts adding up to %d, size %d", total,
				sk.Size)
		}
		// Replay never reads past what the skeleton promises.
		open := func(d digest.Digest) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		if sk.Size < 1<<20 {
			_ = sk.Replay(io.Discard, open)
		}
	})
}
