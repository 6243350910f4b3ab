package unpack

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/pack"
	planstage "github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

type fixture struct {
	dir   string
	paths map[int]string // Realistic(version) -> file
	delta string         // app: 1 -> 2
}

// newFixture builds versions 1 to 3 and the delta from 1 to 2.
func newFixture(t testing.TB, format string) fixture {
	t.Helper()
	dir := t.TempDir()
	fx := fixture{dir: dir, paths: map[int]string{},
		delta: filepath.Join(dir, "delta.tar")}
	for v := 1; v <= 3; v++ {
		fx.paths[v] = filepath.Join(dir, "v"+string(rune('0'+v))+".tar")
		if err := imagebuild.WriteFile(fx.paths[v], imagebuild.Realistic(v),
			format); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var fp, pl bytes.Buffer
	err := fingerprint.Run(ctx, []fingerprint.Input{
		{Name: "app", Role: record.RoleBaseline, Path: fx.paths[1]},
		{Name: "app", Role: record.RoleTarget, Path: fx.paths[2]},
	}, &fp, fingerprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := planstage.Run(ctx, &fp, "fp", &pl, planstage.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := pack.Run(ctx, &pl, "plan", fx.delta, io.Discard,
		pack.Options{TempDir: dir}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func run(t testing.TB, deltaPath string, opts Options) ([]*record.Raw,
	error) {
	t.Helper()
	var out bytes.Buffer
	if err := Run(context.Background(), deltaPath, &out, opts); err != nil {
		return nil, err
	}
	r := record.NewReader(&out, "unpack")
	var raws []*record.Raw
	for {
		raw, err := r.Next()
		if err == io.EOF {
			return raws, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
}

func manifestOf(t testing.TB, path string) digest.Digest {
	t.Helper()
	a, err := image.Open(context.Background(), path, image.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	return a.Image().Manifest.Digest
}

func TestAssemblyRecord(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	raws, err := run(t, fx.delta, Options{
		Baselines: map[string]string{"app": fx.paths[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 1 || raws[0].Kind != record.KindAssembly {
		t.Fatalf("got %d records, want one assembly record", len(raws))
	}
	var rec record.Assembly
	if err := raws[0].Decode("unpack", &rec); err != nil {
		t.Fatal(err)
	}
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	img := a.Sidecar.Images[0]
	if rec.Name != "app" || rec.Target.Manifest.Digest !=
		img.Target.Manifest.Digest || rec.Baseline == nil {
		t.Fatalf("got %+v, want app's target and a baseline", rec)
	}
	abs, _ := filepath.Abs(fx.paths[1])
	if rec.Baseline.Path != abs {
		t.Errorf("got baseline %q, want %q", rec.Baseline.Path, abs)
	}

	// Every blob the image needs is located once, in the delta or the
	// baseline, as the sidecar says.
	stored := map[digest.Digest]bool{}
	for _, b := range a.Sidecar.Blobs {
		stored[b.Digest] = true
	}
	got := map[digest.Digest]string{}
	for _, b := range rec.Blobs {
		if _, dup := got[b.Digest]; dup {
			t.Errorf("blob %s located twice", b.Digest)
		}
		got[b.Digest] = b.From
		if b.From == record.FromDelta {
			loc, ok := a.Location(b.Stored)
			if !ok || loc.Offset != b.Offset || loc.Size != b.StoredSize {
				t.Errorf("blob %s: got offset %d size %d, want %+v",
					b.Digest, b.Offset, b.StoredSize, loc)
			}
		}
	}
	for _, d := range img.Blobs {
		want := record.FromBaseline
		if stored[d] {
			want = record.FromDelta
		}
		if got[d] != want {
			t.Errorf("blob %s: got from %q, want %q", d, got[d], want)
		}
	}
	if got[img.Target.Layers[0].Digest] != record.FromBaseline {
		t.Errorf("the shared base layer: got from %q, want the baseline",
			got[img.Target.Layers[0].Digest])
	}
}

func TestBaselineErrors(t *testing.T) {
	fx := newFixture(t, "docker-modern")
	v1, v3 := manifestOf(t, fx.paths[1]), manifestOf(t, fx.paths[3])
	tests := []struct {
		name      string
		baselines map[string]string
		strict    bool
		wantCode  int
		wantMsg   []string
		wantKinds []string // on success
	}{
		{"wrong baseline", map[string]string{"app": fx.paths[3]}, false,
			exit.UsageErr, []string{"wrong baseline", `"app"`,
				string(v1), string(v3), "v3.tar"}, nil},
		{"missing baseline skips", nil, false, exit.OK, nil,
			[]string{record.KindSkip}},
		{"empty map skips", map[string]string{}, false, exit.OK, nil,
			[]string{record.KindSkip}},
		{"missing baseline strict", nil, true, exit.UsageErr,
			[]string{`"app"`, "no baseline", "v1.tar"}, nil},
		{"baseline for an unknown image", map[string]string{
			"app": fx.paths[1], "web": fx.paths[1]}, false, exit.UsageErr,
			[]string{`"web"`, `"app"`}, nil},
		{"baseline missing on disk", map[string]string{
			"app": filepath.Join(fx.dir, "absent.tar")}, false, exit.UsageErr,
			[]string{"absent.tar"}, nil},
		{"baseline not an image", map[string]string{"app": fx.delta},
			false, exit.Corrupt, []string{"baseline of \"app\""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raws, err := run(t, fx.delta, Options{Baselines: tc.baselines,
				Strict: tc.strict})
			if got := exit.Code(err); got != tc.wantCode {
				t.Fatalf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			for _, s := range tc.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got %q, want it to contain %q", err, s)
				}
			}
			var kinds []string
			for _, r := range raws {
				kinds = append(kinds, r.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tc.wantKinds, ",") {
				t.Errorf("got records %v, want %v", kinds, tc.wantKinds)
			}
		})
	}
}

func TestSkipRecord(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	raws, err := run(t, fx.delta, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s record.Skip
	if err := raws[0].Decode("unpack", &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "app" || s.Reason == "" {
		t.Errorf("got %+v, want a skip of app with a reason", s)
	}
}

// TestCorruptDelta flips one byte in each stored member in turn: unpack
// fails with exit 4 and writes no assembly record.
func TestCorruptDelta(t *testing.T) {
	fx := newFixture(t, "docker-modern")
	data, err := os.ReadFile(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	blobs := a.Sidecar.Blobs
	locs := map[digest.Digest]delta.Location{}
	for _, b := range blobs {
		locs[b.Digest], _ = a.Location(b.Stored)
	}
	a.Close()

	for _, b := range blobs {
		loc := locs[b.Digest]
		if loc.Size == 0 {
			continue
		}
		t.Run(b.Digest.Encoded()[:12], func(t *testing.T) {
			bad := append([]byte(nil), data...)
			bad[loc.Offset+loc.Size/2] ^= 0x01
			path := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := Run(context.Background(), path, &out, Options{
				Baselines: map[string]string{"app": fx.paths[1]}})
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			if strings.Contains(out.String(), `"kind":"assembly"`) {
				t.Errorf("got an assembly record for a corrupt delta")
			}
		})
	}
}

func TestNotADelta(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	_, err := run(t, fx.paths[2], Options{})
	if got := exit.Code(err); got != exit.Corrupt ||
		!strings.Contains(err.Error(), delta.SidecarName) {
		t.Errorf("got exit %d (%v), want %d naming %s", got, err,
			exit.Corrupt, delta.SidecarName)
	}
	_, err = run(t, filepath.Join(fx.dir, "absent.tar"), Options{})
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("absent delta: got exit %d (%v), want %d", got, err,
			exit.EnvErr)
	}
}
