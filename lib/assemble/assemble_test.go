package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/pack"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/unpack"
	digest "github.com/opencontainers/go-digest"
)

type fixture struct {
	dir, v1, v2, delta string
	assembly           string // unpack's records for the delta
}

// newFixture builds Realistic 1 and 2 in format, the delta between them
// and the assembly records that unpack writes for it.
func newFixture(t testing.TB, format string) fixture {
	t.Helper()
	dir := t.TempDir()
	name := func(v string) string {
		if format == "oci-dir" {
			return filepath.Join(dir, v)
		}
		return filepath.Join(dir, v+".tar")
	}
	fx := fixture{dir: dir, v1: name("v1"), v2: name("v2"),
		delta: filepath.Join(dir, "delta.tar")}
	for path, v := range map[string]int{fx.v1: 1, fx.v2: 2} {
		if err := imagebuild.WriteFile(path, imagebuild.Realistic(v),
			format); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var fp, pl, asm bytes.Buffer
	err := fingerprint.Run(ctx, []fingerprint.Input{
		{Name: "app", Role: record.RoleBaseline, Path: fx.v1},
		{Name: "app", Role: record.RoleTarget, Path: fx.v2},
	}, &fp, fingerprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Run(ctx, &fp, "fp", &pl, plan.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := pack.Run(ctx, &pl, "plan", fx.delta, io.Discard,
		pack.Options{TempDir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := unpack.Run(ctx, fx.delta, &asm, unpack.Options{
		Baselines: map[string]string{"app": fx.v1}}); err != nil {
		t.Fatal(err)
	}
	fx.assembly = asm.String()
	return fx
}

func run(t testing.TB, in string, opts Options) ([]record.Result,
	[]string, error) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	var out bytes.Buffer
	err := Run(context.Background(), strings.NewReader(in), "asm", &out,
		opts)
	if err != nil {
		return nil, nil, err
	}
	r := record.NewReader(&out, "assemble")
	var results []record.Result
	var kinds []string
	for {
		raw, err := r.Next()
		if err == io.EOF {
			return results, kinds, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, raw.Kind)
		if raw.Kind == record.KindResult {
			var res record.Result
			if err := raw.Decode("assemble", &res); err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
	}
}

// listDir returns every path below dir, hidden temporary files too.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestAutoExact(t *testing.T) {
	for _, format := range []string{"docker-legacy", "docker-skopeo",
		"oci-archive"} {
		t.Run(format, func(t *testing.T) {
			fx := newFixture(t, format)
			out := filepath.Join(fx.dir, "out")
			results, _, err := run(t, fx.assembly, Options{OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(fx.v2)
			got, err := os.ReadFile(filepath.Join(out, "app.tar"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %s, want the target's %s",
					digest.FromBytes(got), digest.FromBytes(want))
			}
			if len(results) != 1 || results[0].SHA256 !=
				digest.FromBytes(want) || results[0].Size !=
				int64(len(want)) || results[0].Format != FormatAuto {
				t.Errorf("got results %+v, want one with %d bytes %s",
					results, len(want), digest.FromBytes(want))
			}
			if names := listDir(t, out); len(names) != 1 {
				t.Errorf("got %v in the output, want only app.tar", names)
			}
		})
	}
}

func TestConvertRefused(t *testing.T) {
	docker := newFixture(t, "docker-modern")
	oci := newFixture(t, "oci-archive")
	tests := []struct {
		name    string
		fx      fixture
		format  string
		refused bool
	}{
		{"docker as oci-archive", docker, FormatOCI, true},
		{"docker as dir", docker, FormatDir, true},
		{"docker as docker-archive", docker, FormatDocker, false},
		{"oci as docker-archive", oci, FormatDocker, true},
		{"oci as oci-archive", oci, FormatOCI, false},
		{"oci as dir", oci, FormatDir, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, _, err := run(t, tc.fx.assembly, Options{OutDir: out,
				Format: tc.format})
			if !tc.refused {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if got := exit.Code(err); got != exit.UsageErr {
				t.Fatalf("got exit %d (%v), want %d", got, err,
					exit.UsageErr)
			}
			if !strings.Contains(err.Error(), "allow-convert") {
				t.Errorf("got %q, want it to name --allow-convert", err)
			}
			if names := listDir(t, out); len(names) != 0 {
				t.Errorf("got %v written, want nothing", names)
			}
			results, _, err := run(t, tc.fx.assembly, Options{OutDir: out,
				Format: tc.format, AllowConvert: true})
			if err != nil || len(results) != 1 {
				t.Fatalf("with AllowConvert: got %v, %v; want one result",
					results, err)
			}
		})
	}
}

// TestCorruptDelta corrupts one stored member after unpack checked the
// delta: assemble must fail with exit 4 and leave nothing behind, in
// every output format.
func TestCorruptDelta(t *testing.T) {
	fx := newFixture(t, "docker-modern")
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	targets := a.Sidecar.Blobs
	img := a.Sidecar.Images[0].Target
	needed := map[digest.Digest]bool{img.Config.Digest: true}
	for _, l := range img.Layers {
		needed[l.Digest] = true
	}
	locs := map[digest.Digest]delta.Location{}
	for _, b := range targets {
		locs[b.Digest], _ = a.Location(b.Stored)
	}
	a.Close()
	clean, err := os.ReadFile(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(fx.delta, clean, 0o644)

	for _, b := range targets {
		loc := locs[b.Digest]
		for _, format := range []string{FormatAuto, FormatDocker,
			FormatDir} {
			t.Run(b.Digest.Encoded()[:12]+"/"+format, func(t *testing.T) {
				bad := append([]byte(nil), clean...)
				bad[loc.Offset+loc.Size-1] ^= 0x80
				if err := os.WriteFile(fx.delta, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "out")
				_, _, err := run(t, fx.assembly, Options{OutDir: out,
					Format: format, AllowConvert: true})
				if err == nil {
					// Our own writers read only the config and the
					// layers; other members are not needed.
					if format == FormatAuto || needed[b.Digest] {
						t.Fatalf("got no error, want exit 4")
					}
					return
				}
				if got := exit.Code(err); got != exit.Corrupt {
					t.Errorf("got exit %d (%v), want %d", got, err,
						exit.Corrupt)
				}
				if names := listDir(t, out); len(names) != 0 {
					t.Errorf("got %v left in the output, want nothing",
						names)
				}
			})
		}
	}
}

func TestPassThroughAndErrors(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	skip := `{"kind":"skip","name":"db","reason":"no baseline given"}`
	note := `{"kind":"x-note","n":1}`
	lines := strings.Split(strings.TrimSpace(fx.assembly), "\n")
	with := func(extra ...string) string {
		return strings.Join(append(lines[:1:1], append(extra,
			lines[1:]...)...), "\n") + "\n"
	}

	// Unknown kinds and skip records pass through, in order.
	results, kinds, err := run(t, with(skip, note),
		Options{OutDir: filepath.Join(fx.dir, "ok")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds, ","); got != "skip,x-note,result" ||
		len(results) != 1 {
		t.Errorf("got kinds %s, want skip,x-note,result", got)
	}

	edit := func(f func(map[string]any)) string {
		var c map[string]any
		json.Unmarshal([]byte(lines[1]), &c)
		f(c)
		data, _ := json.Marshal(c)
		return lines[0] + "\n" + string(data) + "\n"
	}
	tests := []struct {
		name     string
		in       string
		format   string
		wantCode int
		wantMsg  string
	}{
		{"unknown format", fx.assembly, "zip", exit.UsageErr, `"zip"`},
		{"path in name", edit(func(c map[string]any) {
			c["name"] = "../escape"
		}), "", exit.Corrupt, `"../escape"`},
		{"bad blob digest", edit(func(c map[string]any) {
			c["blobs"].([]any)[0].(map[string]any)["digest"] = "sha256:../x"
		}), "", exit.Corrupt, "digest"},
		{"missing delta", edit(func(c map[string]any) {
			c["delta"] = filepath.Join(fx.dir, "gone.tar")
		}), "", exit.EnvErr, "gone.tar"},
		{"no baseline named", edit(func(c map[string]any) {
			delete(c, "baseline")
		}), "", exit.Corrupt, "baseline"},
		{"malformed record", lines[0] + "\n" +
			`{"kind":"assembly","blobs":7}` + "\n", "", exit.Corrupt,
			"line 2"},
	}

	// A missing required field is named with the stream and line.
	noField := func(field string, f func(c map[string]any)) {
		name := "no " + field
		if strings.Contains(edit(f), `"`+field+`":null`) {
			name = field + " null"
		}
		tests = append(tests, struct {
			name     string
			in       string
			format   string
			wantCode int
			wantMsg  string
		}{name, edit(f), "", exit.Corrupt,
			`asm: line 2: assembly record: no "` + field + `" field`})
	}
	for _, field := range []string{"name", "delta", "target", "blobs"} {
		noField(field, func(c map[string]any) { delete(c, field) })
	}
	noField("target", func(c map[string]any) { c["target"] = nil })
	target := func(c map[string]any) map[string]any {
		return c["target"].(map[string]any)
	}
	noField("target.config.digest", func(c map[string]any) {
		delete(target(c)["config"].(map[string]any), "digest")
	})
	noField("target.format", func(c map[string]any) {
		delete(target(c), "format")
	})
	noField("target.skeleton", func(c map[string]any) {
		delete(target(c), "skeleton")
	})
	blob := func(c map[string]any, i int) map[string]any {
		return c["blobs"].([]any)[i].(map[string]any)
	}
	noField("blobs[0].digest", func(c map[string]any) {
		delete(blob(c, 0), "digest")
	})
	noField("blobs[1].from", func(c map[string]any) {
		delete(blob(c, 1), "from")
	})
	var fixtureRec record.Assembly
	json.Unmarshal([]byte(lines[1]), &fixtureRec)
	deltaAt := slices.IndexFunc(fixtureRec.Blobs,
		func(b record.AssemblyBlob) bool { return b.From == record.FromDelta })
	if deltaAt < 0 {
		t.Fatal("no blob of the fixture comes from the delta")
	}
	for _, field := range []string{"stored", "encoding"} {
		noField(fmt.Sprintf("blobs[%d].%s", deltaAt, field),
			func(c map[string]any) { delete(blob(c, deltaAt), field) })
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, _, err := run(t, tc.in, Options{OutDir: out,
				Format: tc.format})
			if got := exit.Code(err); got != tc.wantCode {
				t.Fatalf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
			if names := listDir(t, out); len(names) != 0 {
				t.Errorf("got %v written, want nothing", names)
			}
			// Nor beside it (a name with "../" must not escape).
			for _, n := range listDir(t, filepath.Dir(out)) {
				if n != "out" {
					t.Errorf("got %s written beside the output", n)
				}
			}
		})
	}
}

// TestDuplicateName checks that a second assembly record for an image
// is refused rather than written over the first one's output.
func TestDuplicateName(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	lines := strings.Split(strings.TrimSpace(fx.assembly), "\n")
	skip := `{"kind":"skip","name":"db","reason":"no baseline given"}`
	in := strings.Join([]string{lines[0], lines[1], skip, lines[1]},
		"\n") + "\n"

	out := filepath.Join(t.TempDir(), "out")
	_, _, err := run(t, in, Options{OutDir: out})
	if got := exit.Code(err); got != exit.Corrupt {
		t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
	}
	want := `asm: line 4: a second assembly record for image "app", ` +
		`want one per image (the first is on line 2)`
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	// The first record was rebuilt before the second was read, but a
	// failed run puts nothing in place.
	if got := listDir(t, out); len(got) > 0 {
		t.Errorf("got %v in the output folder, want nothing", got)
	}
}

// TestFailedRunKeepsPreviousOutput checks that a failed rebuild leaves
// an earlier output in place, as a rename-into-place writer does.
func TestFailedRunKeepsPreviousOutput(t *testing.T) {
	fx := newFixture(t, "oci-archive")
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt the app layer, which the writers read after the config,
	// while they write.
	app := a.Sidecar.Images[0].Target.Layers[2].Digest
	var loc delta.Location
	ok := false
	for _, b := range a.Sidecar.Blobs {
		if b.Digest == app {
			loc, ok = a.Location(b.Stored)
		}
	}
	a.Close()
	if !ok {
		t.Fatalf("the app layer %s should travel in the delta", app)
	}
	clean, _ := os.ReadFile(fx.delta)
	for _, format := range []string{FormatAuto, FormatOCI, FormatDir} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if _, _, err := run(t, fx.assembly, Options{OutDir: out,
				Format: format}); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, out)

			bad := append([]byte(nil), clean...)
			bad[loc.Offset+loc.Size/2] ^= 0x01
			os.WriteFile(fx.delta, bad, 0o644)
			defer os.WriteFile(fx.delta, clean, 0o644)
			_, _, err := run(t, fx.assembly, Options{OutDir: out,
				Format: format})
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			after := listDir(t, out)
			if strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("got %v after the failed run, want the earlier "+
					"output %v", after, before)
			}
		})
	}
}
