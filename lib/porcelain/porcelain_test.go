package porcelain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/assemble"
	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/spec"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// imageFormats are every format lib/imagebuild writes, whole-file
// compressed where that is possible.
func imageFormats() []string {
	var out []string
	for _, f := range imagebuild.Formats {
		out = append(out, f)
		if f != "oci-dir" {
			out = append(out, f+"+gzip", f+"+zstd")
		}
	}
	return out
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// plainSHA256 is the SHA-256 of a file after undoing a whole-file gzip
// or zstd compression.
func plainSHA256(t testing.TB, path, compression string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// dirFiles maps every regular file below dir to its SHA-256.
func dirFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fileSHA256(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// listDir returns the names in dir, sorted.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// imageName is the file name for a version in a format.
func imageName(version, format string) string {
	if format == "oci-dir" {
		return version
	}
	return version + ".tar"
}

type fixture struct {
	dir, v1, v2, delta string
}

// exportPair writes Realistic(1) and Realistic(2) in format and exports
// the delta between them.
func exportPair(t *testing.T, format string) fixture {
	t.Helper()
	dir := t.TempDir()
	fx := fixture{dir: dir, v1: filepath.Join(dir, imageName("v1", format)),
		v2:    filepath.Join(dir, imageName("v2", format)),
		delta: filepath.Join(dir, "delta.tar")}
	for path, v := range map[string]int{fx.v1: 1, fx.v2: 2} {
		if err := imagebuild.WriteFile(path, imagebuild.Realistic(v),
			format); err != nil {
			t.Fatalf("building %s: %v", path, err)
		}
	}
	var stdout bytes.Buffer
	err := Export(context.Background(), ExportOptions{
		Pairs:  []spec.Pair{{Name: "app", Baseline: fx.v1, Target: fx.v2}},
		Output: fx.delta, TempDir: dir}, &stdout)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if !strings.Contains(stdout.String(), "1 image(s)") {
		t.Errorf("got export report %q, want it to count 1 image",
			stdout.String())
	}
	return fx
}

func importTo(t *testing.T, fx fixture, format string,
	allow bool) (string, error) {
	t.Helper()
	out := filepath.Join(fx.dir, "out-"+format)
	var stdout bytes.Buffer
	err := Import(context.Background(), ImportOptions{Archive: fx.delta,
		OutDir: out, Baselines: map[string]string{"app": fx.v1},
		Format: format, AllowConvert: allow, TempDir: fx.dir}, &stdout)
	if err == nil && !strings.Contains(stdout.String(), "app: wrote") {
		t.Errorf("got import report %q, want \"app: wrote\"", stdout.String())
	}
	return out, err
}

// TestExportImportAuto checks, for every format, that an auto import
// rebuilds the target exactly: the same file (the uncompressed tar for
// a whole-compressed target, as the sidecar documents) or the same
// directory tree.
func TestExportImportAuto(t *testing.T) {
	for _, format := range imageFormats() {
		t.Run(format, func(t *testing.T) {
			fx := exportPair(t, format)
			out, err := importTo(t, fx, assemble.FormatAuto, false)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if format == "oci-dir" {
				got := dirFiles(t, filepath.Join(out, "app"))
				want := dirFiles(t, fx.v2)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got files %v, want %v", got, want)
				}
				return
			}
			_, compression, _ := strings.Cut(format, "+")
			want := plainSHA256(t, fx.v2, compression)
			got := fileSHA256(t, filepath.Join(out, "app.tar"))
			if got != want {
				t.Errorf("got sha256 %s, want %s (the target's)", got, want)
			}
			if compression == "" && got != fileSHA256(t, fx.v2) {
				t.Errorf("got sha256 %s, want the target file's", got)
			}
			if names := listDir(t, out); !reflect.DeepEqual(names,
				[]string{"app.tar"}) {
				t.Errorf("got %v in the output folder, want [app.tar]",
					names)
			}
		})
	}
}

// TestDeltaSmallerThanTarget checks that the layers shared with the
// baseline do not travel.
func TestDeltaSmallerThanTarget(t *testing.T) {
	fx := exportPair(t, "docker-modern")
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	img := a.Sidecar.Images[0]
	layers := img.Target.Layers
	stored := map[digest.Digest]bool{}
	for _, b := range a.Sidecar.Blobs {
		stored[b.Digest] = true
	}
	// Realistic 1 and 2 share the base and runtime layers.
	for i, want := range []bool{false, false, true} {
		if got := stored[layers[i].Digest]; got != want {
			t.Errorf("layer %d stored: got %v, want %v", i, got, want)
		}
	}
	st, _ := os.Stat(fx.delta)
	target, _ := os.Stat(fx.v2)
	t.Logf("target %d bytes, delta %d bytes", target.Size(), st.Size())
	if st.Size() >= target.Size()/2 {
		t.Errorf("got delta of %d bytes, want under half the target's %d",
			st.Size(), target.Size())
	}
}

// TestImportFormats imports every target format as every output format
// and checks the image inside: config and layers always, and the
// manifest digest when the format family does not change.
func TestImportFormats(t *testing.T) {
	for _, format := range []string{"docker-modern", "docker-skopeo",
		"oci-archive", "oci-dir", "docker-legacy+gzip"} {
		fx := exportPair(t, format)
		target := openImage(t, fx.v2)
		docker := strings.HasPrefix(format, "docker")
		for _, out := range []string{assemble.FormatDocker,
			assemble.FormatOCI, assemble.FormatDir} {
			t.Run(format+"/"+out, func(t *testing.T) {
				convert := docker != (out == assemble.FormatDocker)
				dir, err := importTo(t, fx, out, false)
				if convert {
					if code := exit.Code(err); code != exit.UsageErr {
						t.Fatalf("without AllowConvert: got exit %d (%v), "+
							"want %d", code, err, exit.UsageErr)
					}
					if names := listDir(t, dir); len(names) != 0 {
						t.Errorf("refused conversion left %v", names)
					}
					if dir, err = importTo(t, fx, out, true); err != nil {
						t.Fatalf("with AllowConvert: %v", err)
					}
				} else if err != nil {
					t.Fatalf("Import: %v", err)
				}
				path := filepath.Join(dir, "app.tar")
				if out == assemble.FormatDir {
					path = filepath.Join(dir, "app")
				}
				got := openImage(t, path)
				if got.Config.Digest != target.Config.Digest {
					t.Errorf("got config %s, want %s", got.Config.Digest,
						target.Config.Digest)
				}
				if !reflect.DeepEqual(digests(got), digests(target)) {
					t.Errorf("got layers %v, want %v", digests(got),
						digests(target))
				}
				if !convert && got.Manifest.Digest != target.Manifest.Digest {
					t.Errorf("got manifest %s, want %s", got.Manifest.Digest,
						target.Manifest.Digest)
				}
			})
		}
	}
}

func openImage(t testing.TB, path string) *image.Image {
	t.Helper()
	a, err := image.Open(context.Background(), path, image.OpenOptions{
		TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer a.Close()
	return a.Image()
}

func digests(img *image.Image) []digest.Digest {
	var out []digest.Digest
	for _, l := range img.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func TestExportDeterministic(t *testing.T) {
	fx := exportPair(t, "oci-archive")
	again := filepath.Join(fx.dir, "again.tar")
	err := Export(context.Background(), ExportOptions{
		Pairs: []spec.Pair{{Name: "app", Baseline: fx.v1,
			Target: fx.v2}}, Output: again}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fileSHA256(t, again), fileSHA256(t,
		fx.delta); got != want {
		t.Errorf("got %s on the second run, want %s", got, want)
	}
}

func TestExportDryRun(t *testing.T) {
	fx := exportPair(t, "docker-modern")
	out := filepath.Join(fx.dir, "dry.tar")
	var stdout bytes.Buffer
	err := Export(context.Background(), ExportOptions{
		Pairs: []spec.Pair{{Name: "app", Baseline: fx.v1,
			Target: fx.v2}}, Output: out, DryRun: true}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run: got %s written (%v), want nothing", out, err)
	}
	if !strings.Contains(stdout.String(), "nothing written") {
		t.Errorf("got %q, want a dry-run summary", stdout.String())
	}
}

func TestImportErrors(t *testing.T) {
	fx := exportPair(t, "docker-modern")
	v3 := filepath.Join(fx.dir, "v3.tar")
	if err := imagebuild.WriteFile(v3, imagebuild.Realistic(3),
		"docker-modern"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		baselines map[string]string
		strict    bool
		wantCode  int
		wantOut   string // in stdout on success
	}{
		{"wrong baseline", map[string]string{"app": v3}, false,
			exit.UsageErr, ""},
		{"unknown image", map[string]string{"web": fx.v1}, false,
			exit.UsageErr, ""},
		{"missing baseline skips", nil, false, exit.OK, "app: skipped"},
		{"missing baseline strict", nil, true, exit.UsageErr, ""},
		{"baseline file absent", map[string]string{
			"app": filepath.Join(fx.dir, "absent.tar")}, false,
			exit.UsageErr, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout bytes.Buffer
			err := Import(context.Background(), ImportOptions{
				Archive: fx.delta, OutDir: out, Baselines: tc.baselines,
				Strict: tc.strict}, &stdout)
			if got := exit.Code(err); got != tc.wantCode {
				t.Fatalf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("got stdout %q, want %q", stdout.String(),
					tc.wantOut)
			}
			if names := listDir(t, out); len(names) != 0 {
				t.Errorf("got %v in the output folder, want nothing", names)
			}
		})
	}
}

func TestImportDryRun(t *testing.T) {
	fx := exportPair(t, "oci-archive")
	out := filepath.Join(fx.dir, "out")
	var stdout bytes.Buffer
	err := Import(context.Background(), ImportOptions{Archive: fx.delta,
		OutDir: out, Baselines: map[string]string{"app": fx.v1},
		DryRun: true}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "app: ready") {
		t.Errorf("got %q, want \"app: ready\"", stdout.String())
	}
	if names := listDir(t, out); len(names) != 0 {
		t.Errorf("dry run: got %v written, want nothing", names)
	}
}

func TestInspect(t *testing.T) {
	fx := exportPair(t, "docker-modern")
	var text bytes.Buffer
	if err := Inspect(fx.delta, false, &text); err != nil {
		t.Fatal(err)
	}
	a, err := delta.Open(fx.delta)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	img := a.Sidecar.Images[0]
	for _, want := range []string{"archive:", "version:", "tool:",
		"tool version:", "platform:", "images:", "blobs:", "savings:",
		"image app", string(img.Target.Manifest.Digest),
		string(img.Baseline.Manifest.Digest), "v1.tar"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("inspect text lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := Inspect(fx.delta, true, &js); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatalf("inspect --json: %v", err)
	}
	st, _ := os.Stat(fx.delta)
	var full, patch int
	for _, b := range a.Sidecar.Blobs {
		switch b.Encoding {
		case delta.EncodingFull:
			full++
		case delta.EncodingPatch:
			patch++
		}
	}
	if rep.ArchiveBytes != st.Size() || rep.FullBlobs != full ||
		rep.PatchBlobs != patch || rep.Sidecar == nil ||
		len(rep.Sidecar.Images) != 1 {
		t.Errorf("got report %+v, want %d bytes, %d full and %d patch "+
			"blobs", rep, st.Size(), full, patch)
	}
}

// upstreamDir is the folder of archives written by another tool.
const upstreamDir = "../../../shared/fixtures/upstream-diffah"

// TestUpstreamFixtures round-trips every pair of the upstream archives
// to a file with the target's SHA-256.
func TestUpstreamFixtures(t *testing.T) {
	if _, err := os.Stat(filepath.Join(upstreamDir, "README.md")); err != nil {
		t.Skipf("no upstream fixtures at %s: %v", upstreamDir, err)
	}
	pairs := []struct{ baseline, target string }{
		{"v1", "v2"}, {"v2", "v3"}, {"v4_baseline", "v4_target"},
	}
	type pair struct{ name, baseline, target string }
	var all []pair
	for _, form := range []string{"_oci", "_s2"} {
		for _, p := range pairs {
			all = append(all, pair{p.baseline + "_to_" + p.target + form,
				p.baseline + form + ".tar", p.target + form + ".tar"})
		}
		// The unrelated image exists only as an OCI archive.
		all = append(all, pair{"unrelated" + form, "v1" + form + ".tar",
			"unrelated_oci.tar"})
	}
	for _, p := range all {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			baseline := filepath.Join(upstreamDir, p.baseline)
			target := filepath.Join(upstreamDir, p.target)
			deltaPath := filepath.Join(dir, "delta.tar")
			err := Export(context.Background(), ExportOptions{
				Pairs: []spec.Pair{{Name: "app", Baseline: baseline,
					Target: target}}, Output: deltaPath, TempDir: dir},
				io.Discard)
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			out := filepath.Join(dir, "out")
			err = Import(context.Background(), ImportOptions{
				Archive: deltaPath, OutDir: out, TempDir: dir,
				Baselines: map[string]string{"app": baseline}}, io.Discard)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			got := fileSHA256(t, filepath.Join(out, "app.tar"))
			want := fileSHA256(t, target)
			ts, _ := os.Stat(target)
			ds, _ := os.Stat(deltaPath)
			t.Logf("%s -> %s: target %d bytes, delta %d bytes, "+
				"sha256 match %v", p.baseline, p.target, ts.Size(),
				ds.Size(), got == want)
			if got != want {
				t.Errorf("got sha256 %s, want %s", got, want)
			}
		})
	}
}

// TestBundle exports two images whose targets share their app layer in
// one delta: the layer is stored once and both images rebuild exactly.
func TestBundle(t *testing.T) {
	docker := exportPair(t, "docker-modern")
	oci := exportPair(t, "oci-archive")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.tar")
	pairs := []spec.Pair{
		{Name: "app", Baseline: docker.v1, Target: docker.v2},
		{Name: "web", Baseline: oci.v1, Target: oci.v2},
	}
	err := Export(context.Background(), ExportOptions{Pairs: pairs,
		Output: bundle, TempDir: dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	a, err := delta.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	appLayer := a.Sidecar.Images[0].Target.Layers[2].Digest
	if a.Sidecar.Images[1].Target.Layers[2].Digest != appLayer {
		t.Fatalf("test images should share their app layer")
	}
	// One sidecar entry and one member for the shared layer, whether it
	// travels whole or as a patch.
	var entries []delta.Blob
	for _, b := range a.Sidecar.Blobs {
		if b.Digest == appLayer {
			entries = append(entries, b)
		}
	}
	if len(entries) != 1 {
		t.Fatalf("got %d sidecar entries for the shared app layer, "+
			"want 1", len(entries))
	}
	if _, ok := a.Location(entries[0].Stored); !ok {
		t.Errorf("got no member for the shared app layer %s", appLayer)
	}
	bs, _ := os.Stat(bundle)
	ds, _ := os.Stat(docker.delta)
	os_, _ := os.Stat(oci.delta)
	if bs.Size() >= ds.Size()+os_.Size() {
		t.Errorf("got bundle of %d bytes, want less than the two deltas "+
			"(%d + %d)", bs.Size(), ds.Size(), os_.Size())
	}

	out := filepath.Join(dir, "out")
	err = Import(context.Background(), ImportOptions{Archive: bundle,
		OutDir: out, TempDir: dir, Baselines: map[string]string{
			"app": docker.v1, "web": oci.v1}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"app": docker.v2,
		"web": oci.v2} {
		got := fileSHA256(t, filepath.Join(out, name+".tar"))
		if want := fileSHA256(t, target); got != want {
			t.Errorf("%s: got sha256 %s, want %s", name, got, want)
		}
	}
}

// TestBundleImportErrorCause checks that when assemble fails on the
// first image of a bundle, Import reports assemble's error (the cause),
// not the broken pipe unpack then meets writing the second record.
func TestBundleImportErrorCause(t *testing.T) {
	dir := t.TempDir()
	paths := map[string]string{}
	for _, v := range []string{"v1", "v2"} {
		paths[v] = filepath.Join(dir, v+".tar")
		n := 1
		if v == "v2" {
			n = 2
		}
		if err := imagebuild.WriteFile(paths[v], imagebuild.Realistic(n),
			"docker-modern"); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"app", "db", "web"}
	var pairs []spec.Pair
	baselines := map[string]string{}
	for _, name := range names {
		pairs = append(pairs, spec.Pair{Name: name, Baseline: paths["v1"],
			Target: paths["v2"]})
		baselines[name] = paths["v1"]
	}
	bundle := filepath.Join(dir, "bundle.tar")
	if err := Export(context.Background(), ExportOptions{Pairs: pairs,
		Output: bundle, TempDir: dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		out := filepath.Join(t.TempDir(), "out")
		err := Import(context.Background(), ImportOptions{Archive: bundle,
			OutDir: out, Baselines: baselines, TempDir: dir,
			Format: assemble.FormatOCI}, io.Discard)
		if got := exit.Code(err); got != exit.UsageErr ||
			!strings.Contains(err.Error(), "allow-convert") {
			t.Fatalf("run %d: got exit %d (%v), want %d naming "+
				"--allow-convert", i, got, err, exit.UsageErr)
		}
	}
}

func TestExportErrors(t *testing.T) {
	fx := exportPair(t, "oci-archive")
	absent := filepath.Join(fx.dir, "absent.tar")
	tests := []struct {
		name     string
		pairs    []spec.Pair
		wantCode int
	}{
		{"no pairs", nil, exit.UsageErr},
		{"duplicate names", []spec.Pair{
			{Name: "app", Baseline: fx.v1, Target: fx.v2},
			{Name: "app", Baseline: fx.v1, Target: fx.v2}}, exit.UsageErr},
		{"bad name", []spec.Pair{{Name: "App", Baseline: fx.v1,
			Target: fx.v2}}, exit.UsageErr},
		{"missing baseline", []spec.Pair{{Name: "app", Baseline: absent,
			Target: fx.v2}}, exit.UsageErr},
		{"missing target", []spec.Pair{{Name: "app", Baseline: fx.v1,
			Target: absent}}, exit.UsageErr},
		{"target not an image", []spec.Pair{{Name: "app",
			Baseline: fx.v1, Target: fx.delta}}, exit.Corrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "delta.tar")
			err := Export(context.Background(), ExportOptions{
				Pairs: tc.pairs, Output: out, TempDir: fx.dir}, io.Discard)
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			if names := listDir(t, dir); len(names) != 0 {
				t.Errorf("got %v written, want nothing", names)
			}
		})
	}
}

func TestInspectNotADelta(t *testing.T) {
	fx := exportPair(t, "oci-archive")
	err := Inspect(fx.v2, false, io.Discard)
	if got := exit.Code(err); got != exit.Corrupt {
		t.Errorf("got exit %d (%v), want %d", got, err, exit.Corrupt)
	}
}

// TestInspectEscapes checks that the sidecar's strings, which come from
// whoever made the delta, reach the terminal without control characters:
// here a baseline file name with an escape sequence and a newline.
func TestInspectEscapes(t *testing.T) {
	fx := exportPair(t, "oci-archive")
	odd := filepath.Join(fx.dir, "v1\x1b[31mred\nline.tar")
	if err := os.Rename(fx.v1, odd); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(fx.dir, "odd.tar")
	err := Export(context.Background(), ExportOptions{
		Pairs:  []spec.Pair{{Name: "app", Baseline: odd, Target: fx.v2}},
		Output: out, TempDir: fx.dir}, io.Discard)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	var text bytes.Buffer
	if err := Inspect(out, false, &text); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text.String(), "\x1b") {
		t.Errorf("inspect printed a raw escape:\n%q", text.String())
	}
	want := `baseline source:   "v1\x1b[31mred\nline.tar"`
	if !strings.Contains(text.String(), want) {
		t.Errorf("inspect text lacks %s:\n%s", want, text.String())
	}
}
