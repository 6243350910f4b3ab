package delta

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// sample is a valid sidecar with the bytes of every stored blob.
type sample struct {
	sc    *Sidecar
	blobs map[digest.Digest][]byte
}

func desc(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer,
		Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// newSample makes a delta of two images, "app" (docker-archive, with a
// skeleton) and "db" (oci-dir), that share one stored layer.
func newSample() sample {
	s := sample{blobs: map[digest.Digest][]byte{}}
	store := func(b []byte) Blob {
		d := digest.FromBytes(b)
		s.blobs[d] = b
		return Blob{Digest: d, Size: int64(len(b)), Encoding: EncodingFull,
			Stored: d, StoredSize: int64(len(b))}
	}
	shared := store(bytes.Repeat([]byte("shared layer "), 100))
	appLayer := store([]byte("app layer bytes"))
	cfg := store([]byte(`{"config":"app"}`))
	skel := store([]byte("skeleton bytes"))
	dbCfg := store([]byte(`{"config":"db"}`))
	dbManifest := store([]byte(`{"manifest":"db"}`))
	empty := store(nil)
	base := desc([]byte("baseline layer"))
	baseCfg := desc([]byte("baseline config"))
	baseManifest := desc([]byte("baseline manifest"))

	s.sc = &Sidecar{Version: Version, Tool: "diffah", ToolVersion: "test",
		Platform: "linux/amd64",
		Images: []Image{{
			Name: "app",
			Target: Target{
				Manifest: desc([]byte("app manifest")),
				Config:   ocispec.Descriptor{Digest: cfg.Digest, Size: cfg.Size},
				Layers: []ocispec.Descriptor{desc([]byte("baseline layer")),
					{Digest: shared.Digest, Size: shared.Size},
					{Digest: appLayer.Digest, Size: appLayer.Size}},
				Format: "docker-archive", Compression: "none",
				Source: "v2.tar", ArchiveSize: 4096,
				ArchiveSHA256: digest.FromString("v2.tar"),
				Skeleton:      skel.Digest,
			},
			Baseline: Baseline{Manifest: baseManifest, Config: baseCfg,
				Source: "v1.tar",
				Blobs:  []digest.Digest{base.Digest}},
			Blobs: []digest.Digest{cfg.Digest, base.Digest, shared.Digest,
				appLayer.Digest, skel.Digest},
		}, {
			Name: "db",
			Target: Target{
				Manifest: ocispec.Descriptor{Digest: dbManifest.Digest},
				Config:   ocispec.Descriptor{Digest: dbCfg.Digest},
				Layers: []ocispec.Descriptor{{Digest: shared.Digest},
					{Digest: empty.Digest}},
				Format: "oci-dir", Compression: "none", Source: "db",
			},
			Baseline: Baseline{Manifest: baseManifest, Config: baseCfg,
				Source: "db-v1"},
			Blobs: []digest.Digest{dbManifest.Digest, dbCfg.Digest,
				shared.Digest, empty.Digest},
		}},
	}
	for _, b := range []Blob{shared, appLayer, cfg, skel, dbCfg, dbManifest,
		empty} {
		s.sc.Blobs = append(s.sc.Blobs, b)
	}
	return s
}

// members returns the blobs as Members, in the given digest order.
func (s sample) members() []Member {
	var out []Member
	for _, b := range s.sc.Blobs {
		data := s.blobs[b.Digest]
		out = append(out, Member{Digest: b.Digest, Size: b.Size,
			Open: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			}})
	}
	return out
}

func write(t testing.TB, s sample, members []Member) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "delta.tar")
	w, err := Write(path, s.sc, members, time.Unix(0, 0).UTC())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size != int64(len(data)) || w.SHA256 != digest.FromBytes(data) {
		t.Errorf("got Written %+v, want size %d sha256 %s", w, len(data),
			digest.FromBytes(data))
	}
	return path, data
}

func TestWriteOpenRoundTrip(t *testing.T) {
	s := newSample()
	path, _ := write(t, s, s.members())

	a, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer a.Close()
	if !reflect.DeepEqual(a.Sidecar, s.sc) {
		t.Errorf("got sidecar %+v, want %+v", a.Sidecar, s.sc)
	}
	for d, want := range s.blobs {
		loc, ok := a.Location(d)
		if !ok || loc.Size != int64(len(want)) {
			t.Errorf("blob %s: got location %+v %v, want size %d", d, loc,
				ok, len(want))
		}
		rc, err := a.OpenStored(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s: got %q, %v; want %q", d, got, err, want)
		}
		if err := a.Verify(d); err != nil {
			t.Errorf("Verify %s: got %v, want nil", d, err)
		}
	}
	absent := digest.FromString("absent")
	if _, err := a.OpenStored(absent); exit.Code(err) != exit.Corrupt {
		t.Errorf("OpenStored of an absent blob: got %v, want exit 4", err)
	}

	// The archive is a plain tar: sidecar first, then blobs in digest
	// order, each once.
	f, _ := os.Open(path)
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) != len(s.blobs)+1 || names[0] != SidecarName {
		t.Fatalf("got members %v, want %s and %d blobs", names,
			SidecarName, len(s.blobs))
	}
	for i := 2; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("got member %s before %s, want digest order",
				names[i-1], names[i])
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	s := newSample()
	_, first := write(t, s, s.members())

	// Reversed and duplicated members give the same bytes.
	m := s.members()
	var shuffled []Member
	for i := len(m) - 1; i >= 0; i-- {
		shuffled = append(shuffled, m[i], m[i])
	}
	_, again := write(t, s, shuffled)
	if !bytes.Equal(first, again) {
		t.Errorf("got %s, want %s", digest.FromBytes(again),
			digest.FromBytes(first))
	}
	_, third := write(t, s, s.members())
	if !bytes.Equal(first, third) {
		t.Errorf("second run: got %s, want %s", digest.FromBytes(third),
			digest.FromBytes(first))
	}
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	s := newSample()
	members := s.members()
	d := members[0].Digest
	whole := func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(s.blobs[d])), nil
	}
	n := int64(len(s.blobs[d]))
	tests := []struct {
		name     string
		open     func() (io.ReadCloser, error)
		wantCode int
		size     int64 // the member's declared size, if not 0
	}{
		{"declared one byte short", whole, exit.Corrupt, n - 1},
		{"declared as the largest int64", whole, exit.Corrupt,
			math.MaxInt64},
		{"wrong bytes", func() (io.ReadCloser, error) {
			b := append([]byte(nil), s.blobs[d]...)
			b[0] ^= 1
			return io.NopCloser(bytes.NewReader(b)), nil
		}, exit.Corrupt, 0},
		{"short", func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(s.blobs[d][1:])), nil
		}, exit.Corrupt, 0},
		{"open fails", func() (io.ReadCloser, error) {
			return nil, exit.Envf("source gone")
		}, exit.EnvErr, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := s.members()
			m[0].Open = tc.open
			if tc.size != 0 {
				m[0].Size = tc.size
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "delta.tar")
			_, err := Write(path, s.sc, m, time.Unix(0, 0))
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("got %d files left in the folder, want none",
					len(ents))
			}
		})
	}
}

func TestMemberName(t *testing.T) {
	d := digest.FromString("x")
	if got, want := MemberName(d), "blobs/sha256/"+d.Encoded(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"app": true, "a": true, "0": true, "app-1.0_x": true,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		"": false, "App": false, "-app": false, ".app": false,
		"_app": false, "a/b": false, "..": false, "a b": false,
		"a:1": false, "app\n": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q): got %v, want %v", name, got, want)
		}
		if err := CheckName(name); (err == nil) != want {
			t.Errorf("CheckName(%q): got %v, want valid %v", name, err,
				want)
		}
	}
	err := CheckName("../x")
	want := `image name "../x": want [a-z0-9][a-z0-9_.-]*, at most 128 ` +
		`characters`
	if err == nil || err.Error() != want {
		t.Errorf("CheckName(\"../x\"): got %v, want %q", err, want)
	}
}

// mutate returns the sample's sidecar as JSON after f changed its
// generic form.
func mutate(t testing.TB, f func(doc map[string]any)) []byte {
	t.Helper()
	data, err := json.Marshal(newSample().sc)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func image0(doc map[string]any) map[string]any {
	return doc["images"].([]any)[0].(map[string]any)
}

func blob0(doc map[string]any) map[string]any {
	return doc["blobs"].([]any)[0].(map[string]any)
}

func sub(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func TestParseSidecarAccepts(t *testing.T) {
	want := newSample().sc
	tests := map[string]func(map[string]any){
		"as written": func(map[string]any) {},
		"unknown optional fields": func(doc map[string]any) {
			doc["futureField"] = map[string]any{"x": 1}
			image0(doc)["annotations"] = "later"
			blob0(doc)["compressionHint"] = 3
		},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSidecar(mutate(t, f))
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseSidecarRejects(t *testing.T) {
	hex := digest.FromString("x").Encoded()
	upper := "sha256:" + strings.ToUpper(hex)
	set := func(path func(map[string]any) map[string]any, key string,
		v any) func(map[string]any) {
		return func(doc map[string]any) { path(doc)[key] = v }
	}
	top := func(doc map[string]any) map[string]any { return doc }
	target := func(doc map[string]any) map[string]any {
		return sub(image0(doc), "target")
	}
	baseline := func(doc map[string]any) map[string]any {
		return sub(image0(doc), "baseline")
	}
	tests := []struct {
		name    string
		f       func(map[string]any)
		wantMsg string
	}{
		{"version 2", set(top, "version", 2), "version 2"},
		{"version 0", set(top, "version", 0), "version 0"},
		{"version string", set(top, "version", "1"),
			`diffah.json: field "version" is a JSON string, want an integer`},
		{"images an object", set(top, "images", map[string]any{}),
			`field "images" is a JSON object, want an array`},
		{"no version", func(doc map[string]any) {
			delete(doc, "version")
		}, `no "version"`},
		{"no tool", func(doc map[string]any) { delete(doc, "tool") },
			`"tool"`},
		{"no images", set(top, "images", []any{}), "no images"},
		{"null images", set(top, "images", nil), "no images"},
		{"duplicate image names", func(doc map[string]any) {
			doc["images"].([]any)[1].(map[string]any)["name"] = "app"
		}, `"app" used twice`},
		{"bad image name", set(image0, "name", "../app"), "name"},
		{"empty image name", set(image0, "name", ""), "name"},
		{"uppercase image name", set(image0, "name", "App"), "name"},
		{"no manifest digest", func(doc map[string]any) {
			delete(sub(target(doc), "manifest"), "digest")
		}, "target.manifest.digest"},
		{"no config digest", func(doc map[string]any) {
			delete(sub(target(doc), "config"), "digest")
		}, "target.config.digest"},
		{"no baseline config", func(doc map[string]any) {
			delete(sub(baseline(doc), "config"), "digest")
		}, "baseline.config.digest"},
		{"uppercase hex", func(doc map[string]any) {
			sub(target(doc), "manifest")["digest"] = upper
		}, "target.manifest.digest"},
		{"short hex", func(doc map[string]any) {
			sub(target(doc), "manifest")["digest"] = "sha256:" + hex[:63]
		}, "target.manifest.digest"},
		{"long hex", func(doc map[string]any) {
			sub(target(doc), "manifest")["digest"] = "sha256:" + hex + "0"
		}, "target.manifest.digest"},
		{"path traversal", func(doc map[string]any) {
			sub(target(doc), "config")["digest"] = "sha256:../../etc/passwd"
		}, "target.config.digest"},
		{"sha512", func(doc map[string]any) {
			sub(target(doc), "config")["digest"] = "sha512:" +
				hex + hex
		}, "want a sha256 digest"},
		{"unknown algorithm", func(doc map[string]any) {
			sub(target(doc), "config")["digest"] = "md5:" + hex[:32]
		}, "target.config.digest"},
		{"no algorithm", func(doc map[string]any) {
			sub(target(doc), "config")["digest"] = hex
		}, "target.config.digest"},
		{"bad layer digest", func(doc map[string]any) {
			target(doc)["layers"].([]any)[1].(map[string]any)["digest"] =
				"sha256:" + hex[:10]
		}, "target.layers[1]"},
		{"unknown format", set(target, "format", "zip"), `"zip" unknown`},
		{"no format", set(target, "format", ""), "format"},
		{"no archive sha256", set(target, "archiveSHA256", ""),
			"archiveSHA256"},
		{"no skeleton", set(target, "skeleton", ""), "skeleton"},
		{"skeleton not stored", set(target, "skeleton",
			digest.FromString("elsewhere").String()), "not among the blobs"},
		{"bad baseline blob", func(doc map[string]any) {
			baseline(doc)["blobs"].([]any)[0] = upper
		}, "baseline.blobs[0]"},
		{"image blob nowhere", func(doc map[string]any) {
			img := image0(doc)
			img["blobs"] = append(img["blobs"].([]any),
				digest.FromString("nowhere").String())
		}, "neither stored nor supplied"},
		{"bad image blob", func(doc map[string]any) {
			img := image0(doc)
			img["blobs"] = append(img["blobs"].([]any), "sha256:zz")
		}, "blobs[5]"},
		{"bad blob digest", set(blob0, "digest", upper), "blobs[0]"},
		{"bad stored digest", set(blob0, "stored", "sha256:../x"),
			"blobs[0]"},
		{"blob listed twice", func(doc map[string]any) {
			doc["blobs"] = append(doc["blobs"].([]any), blob0(doc))
		}, "listed twice"},
		{"negative size", func(doc map[string]any) {
			blob0(doc)["size"] = -1
			blob0(doc)["storedSize"] = -1
		}, "negative size"},
		{"full stored elsewhere", set(blob0, "stored",
			digest.FromString("other").String()), "stored as"},
		{"full size mismatch", set(blob0, "storedSize", 1), "stored as"},
		{"unknown encoding", set(blob0, "encoding", "xdelta"),
			`"xdelta"`},
		{"patch without codec", func(doc map[string]any) {
			b := blob0(doc)
			b["encoding"] = EncodingPatch
			b["patchRef"] = digest.FromString("ref").String()
		}, "codec"},
		{"patch without ref", func(doc map[string]any) {
			b := blob0(doc)
			b["encoding"] = EncodingPatch
			b["codec"] = "zstd-dict"
		}, "blobs[0]"},
		{"images not a list", set(top, "images", "app"), SidecarName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := parseNoPanic(t, mutate(t, tc.f))
			if err == nil {
				t.Fatalf("got %+v, want an error", sc)
			}
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), SidecarName+": ") {
				t.Errorf("got %q, want it to start with %s", err,
					SidecarName)
			}
		})
	}
	for _, data := range []string{"", "null", "[]", "{", `{"version":1}`} {
		if _, err := ParseSidecar([]byte(data)); exit.Code(err) !=
			exit.Corrupt {
			t.Errorf("ParseSidecar(%q): got %v, want exit 4", data, err)
		}
	}
}

// parseNoPanic is ParseSidecar turning a panic into a test failure, so
// one bad case does not hide the others.
func parseNoPanic(t *testing.T, data []byte) (sc *Sidecar, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("ParseSidecar panicked: %v; want an exit 4 error", p)
		}
	}()
	return ParseSidecar(data)
}

// tmember is one member of a hand-made archive.
type tmember struct {
	name     string
	body     []byte
	typeflag byte
	size     int64 // header size when not len(body), -1 for len(body)
	// sum overrides the sidecar's checksum record; "-" leaves it out.
	sum string
}

func makeTar(t testing.TB, members []tmember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typeflag, Mode: 0o644,
			Size: int64(len(m.body)), Format: tar.FormatUSTAR}
		if m.typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Typeflag == tar.TypeSymlink {
			h.Linkname = "/etc/passwd"
		}
		if m.name == SidecarName && m.sum != "-" {
			sum := m.sum
			if sum == "" {
				sum = digest.FromBytes(m.body).Encoded()
			}
			h.PAXRecords = map[string]string{PAXSidecarSHA256: sum}
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(m.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleMembers returns the sample as tar members: sidecar, then blobs.
func sampleMembers(t testing.TB, s sample) []tmember {
	sidecar, err := json.Marshal(s.sc)
	if err != nil {
		t.Fatal(err)
	}
	out := []tmember{{name: SidecarName, body: sidecar}}
	for _, b := range s.sc.Blobs {
		out = append(out, tmember{name: MemberName(b.Digest),
			body: s.blobs[b.Digest]})
	}
	return out
}

func openBytes(t testing.TB, data []byte) (*Archive, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "delta.tar")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Open(path)
	if err == nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, err
}

func TestOpenRejects(t *testing.T) {
	s := newSample()
	good := sampleMembers(t, s)
	if _, err := openBytes(t, makeTar(t, good)); err != nil {
		t.Fatalf("the well-formed archive: got %v, want no error", err)
	}
	for _, sum := range []string{"-", strings.Repeat("0", 64)} {
		ms := append([]tmember(nil), good...)
		ms[0].sum = sum
		_, err := openBytes(t, makeTar(t, ms))
		if exit.Code(err) != exit.Corrupt ||
			!strings.Contains(err.Error(), SidecarName) {
			t.Errorf("sidecar checksum %q: got %v, want exit 4 naming %s",
				sum, err, SidecarName)
		}
	}
	hex := s.sc.Blobs[0].Digest.Encoded()
	edit := func(f func(ms []tmember) []tmember) []byte {
		ms := append([]tmember(nil), good...)
		return makeTar(t, f(ms))
	}
	stranger := []byte("not listed")
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"empty file", nil, "not a tar"},
		{"not a tar", bytes.Repeat([]byte("junk"), 300), "not a tar"},
		{"first member not the sidecar", edit(func(ms []tmember) []tmember {
			ms[0], ms[1] = ms[1], ms[0]
			return ms
		}), "want diffah.json"},
		{"sidecar not first but present", edit(func(ms []tmember) []tmember {
			return append([]tmember{{name: "README", body: []byte("hi")}},
				ms...)
		}), `first member is "README"`},
		{"sidecar is a directory", edit(func(ms []tmember) []tmember {
			ms[0] = tmember{name: SidecarName, typeflag: tar.TypeDir}
			return ms
		}), SidecarName},
		{"bad sidecar", edit(func(ms []tmember) []tmember {
			ms[0].body = []byte(`{"version":7}`)
			return ms
		}), "version 7"},
		{"duplicate member", edit(func(ms []tmember) []tmember {
			return append(ms, ms[1])
		}), "appears twice"},
		{"member not in sidecar", edit(func(ms []tmember) []tmember {
			return append(ms, tmember{name: MemberName(
				digest.FromBytes(stranger)), body: stranger})
		}), "not listed"},
		{"sidecar entry without member", edit(func(ms []tmember) []tmember {
			return append(ms[:1], ms[2:]...)
		}), "has no member"},
		{"size mismatch", edit(func(ms []tmember) []tmember {
			ms[1].body = append(append([]byte(nil), ms[1].body...), 'x')
			return ms
		}), "says"},
		{"outside blobs", edit(func(ms []tmember) []tmember {
			ms[1].name = "../../etc/" + hex
			return ms
		}), "want a regular file blobs/sha256/<hex>"},
		{"absolute path", edit(func(ms []tmember) []tmember {
			ms[1].name = "/blobs/sha256/" + hex
			return ms
		}), "want a regular file"},
		{"traversal inside blobs", edit(func(ms []tmember) []tmember {
			ms[1].name = "blobs/sha256/../../../" + hex
			return ms
		}), "member"},
		{"other algorithm folder", edit(func(ms []tmember) []tmember {
			ms[1].name = "blobs/sha512/" + hex
			return ms
		}), "want a regular file"},
		{"uppercase hex name", edit(func(ms []tmember) []tmember {
			ms[1].name = "blobs/sha256/" + strings.ToUpper(hex)
			return ms
		}), "member"},
		{"nested below a digest", edit(func(ms []tmember) []tmember {
			ms[1].name = "blobs/sha256/" + hex + "/x"
			return ms
		}), "member"},
		{"symlink member", edit(func(ms []tmember) []tmember {
			ms[1] = tmember{name: ms[1].name, typeflag: tar.TypeSymlink}
			return ms
		}), "want a regular file"},
		{"hard link member", edit(func(ms []tmember) []tmember {
			ms[1] = tmember{name: ms[1].name, typeflag: tar.TypeLink}
			return ms
		}), "want a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := openBytes(t, tc.data)
			if err == nil {
				t.Fatalf("got archive with %d blobs, want an error",
					len(a.Sidecar.Blobs))
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

func TestOpenTooLargeSidecar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: SidecarName, Typeflag: tar.TypeReg,
		Size: MaxSidecar + 1, Mode: 0o644})
	// No body: the size alone must be refused before reading.
	_, err := openBytes(t, buf.Bytes())
	if got := exit.Code(err); got != exit.Corrupt ||
		!strings.Contains(fmt.Sprint(err), "limit") {
		t.Errorf("got exit %d (%v), want %d naming the limit", got, err,
			exit.Corrupt)
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "absent.tar"))
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("got exit %d (%v), want %d", got, err, exit.EnvErr)
	}
}

// TestOpenTruncated cuts a real archive at every 512-byte boundary: Open
// fails with exit 4 or, when only whole members remain, succeeds and
// every listed blob still verifies.
func TestOpenTruncated(t *testing.T) {
	s := newSample()
	_, data := write(t, s, s.members())
	clean := 0
	for cut := 0; cut < len(data); cut += 512 {
		a, err := openBytes(t, data[:cut])
		if err != nil {
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("cut at %d: got exit %d (%v), want %d", cut, got,
					err, exit.Corrupt)
			}
			continue
		}
		clean++
		for _, b := range a.Sidecar.Blobs {
			if err := a.Verify(b.Stored); err != nil {
				t.Errorf("cut at %d: opened, but blob %s: %v", cut,
					b.Digest, err)
			}
		}
	}
	// Every cut loses at least part of the end-of-archive marker.
	if clean > 0 {
		t.Errorf("got %d cuts that open cleanly, want none", clean)
	}
}

// TestOpenEndOfArchive cuts a real archive where archive/tar alone would
// see a clean end: right after the last member's data, after one zero
// block, inside the second. Each must fail with exit 4 naming the file;
// the whole archive, and one with more zero blocks after the marker (a
// tar padded to a record size), must open.
func TestOpenEndOfArchive(t *testing.T) {
	s := newSample()
	_, data := write(t, s, s.members())
	end := len(data) - 2*512
	if !bytes.Equal(data[end:], make([]byte, 2*512)) {
		t.Fatalf("the written archive does not end in two zero blocks")
	}
	padded := append(append([]byte(nil), data...), make([]byte, 8*512)...)
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"whole", data, true},
		{"padded to a record", padded, true},
		{"after the last member's data", data[:end], false},
		{"after one zero block", data[:end+512], false},
		{"inside the second zero block", data[:end+512+100], false},
		{"one byte short", data[:len(data)-1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.tar")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := Open(path)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				a.Close()
				return
			}
			if err == nil {
				a.Close()
				t.Fatalf("got an archive, want exit %d", exit.Corrupt)
			}
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			if msg := err.Error(); !strings.Contains(msg, path) ||
				!strings.Contains(msg, "no end-of-archive marker") {
				t.Errorf("got %q, want it to name %s and the missing "+
					"end-of-archive marker", msg, path)
			}
		})
	}
}

func TestVerifyFlippedByte(t *testing.T) {
	s := newSample()
	path, data := write(t, s, s.members())
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var target Blob
	for _, b := range s.sc.Blobs {
		if b.Size > 100 {
			target = b
		}
	}
	loc, _ := a.Location(target.Stored)
	a.Close()

	for _, at := range []int64{0, loc.Size / 2, loc.Size - 1} {
		t.Run(fmt.Sprint("byte ", at), func(t *testing.T) {
			bad := append([]byte(nil), data...)
			bad[loc.Offset+at] ^= 0x20
			a, err := openBytes(t, bad)
			if err != nil {
				t.Fatalf("Open reads headers only: got %v, want nil", err)
			}
			err = a.Verify(target.Stored)
			if got := exit.Code(err); got != exit.Corrupt {
				t.Errorf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			rc, _ := a.OpenStored(target.Stored)
			_, err = io.ReadAll(rc)
			if exit.Code(err) != exit.Corrupt {
				t.Errorf("OpenStored: got %v, want exit 4 at EOF", err)
			}
			for _, b := range s.sc.Blobs {
				if b.Digest != target.Digest {
					if err := a.Verify(b.Stored); err != nil {
						t.Errorf("untouched blob %s: %v", b.Digest, err)
					}
				}
			}
		})
	}
}

func FuzzParseSidecar(f *testing.F) {
	good, _ := json.Marshal(newSample().sc)
	f.Add(good)
	f.Add(mutate(f, func(doc map[string]any) { doc["version"] = 2 }))
	f.Add([]byte(`{"version":1,"tool":"x","images":[{}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := parseNoPanic(t, data)
		if err != nil {
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			return
		}
		// Whatever is accepted names only safe members and files.
		for _, b := range sc.Blobs {
			for _, d := range []digest.Digest{b.Digest, b.Stored} {
				name := MemberName(d)
				if strings.Contains(name, "..") || len(d.Encoded()) != 64 {
					t.Fatalf("accepted unsafe digest %q", d)
				}
			}
		}
		for _, img := range sc.Images {
			if !ValidName(img.Name) {
				t.Fatalf("accepted image name %q", img.Name)
			}
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("accepted sidecar fails Validate: %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	s := newSample()
	good := makeTar(f, sampleMembers(f, s))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(makeTar(f, sampleMembers(f, s)[:2]))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.tar")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Open(path)
		if err != nil {
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			return
		}
		defer a.Close()
		for _, b := range a.Sidecar.Blobs {
			loc, ok := a.Location(b.Stored)
			if !ok || loc.Size != b.StoredSize || loc.Offset < 0 {
				t.Fatalf("blob %s: got location %+v %v, want size %d",
					b.Digest, loc, ok, b.StoredSize)
			}
			err := a.Verify(b.Stored)
			if err != nil && exit.Code(err) != exit.Corrupt &&
				!errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Verify: got %v, want nil or exit 4", err)
			}
		}
	})
}

// TestOpenFIFO refuses a FIFO at once (exit 2): opening one for reading
// would block until a writer came.
func TestOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "delta.tar")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if got := exit.Code(err); got != exit.UsageErr {
			t.Errorf("got exit %d (%v), want %d", got, err, exit.UsageErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}
