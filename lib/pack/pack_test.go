package pack

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

// makePlan builds Realistic(1) and Realistic(2) in format and returns
// the plan records between them.
func makePlan(t testing.TB, dir, format string) string {
	t.Helper()
	return pairPlan(t, dir, format, 1, 2)
}

// pairPlan builds Realistic(from) and Realistic(to) in format as
// v<from>.tar and v<to>.tar in dir and returns the plan of app between
// them.
func pairPlan(t testing.TB, dir, format string, from, to int) string {
	t.Helper()
	var inputs []fingerprint.Input
	for v, role := range map[int]string{from: record.RoleBaseline,
		to: record.RoleTarget} {
		path := filepath.Join(dir, fmt.Sprintf("v%d.tar", v))
		if err := imagebuild.WriteFile(path, imagebuild.Realistic(v),
			format); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, fingerprint.Input{Name: "app", Role: role,
			Path: path})
	}
	return planOf(t, inputs)
}

// planOf runs fingerprint and plan on inputs and returns the plan.
func planOf(t testing.TB, inputs []fingerprint.Input) string {
	t.Helper()
	var fp, pl bytes.Buffer
	ctx := context.Background()
	if err := fingerprint.Run(ctx, inputs, &fp,
		fingerprint.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := plan.Run(ctx, &fp, "fingerprint", &pl,
		plan.Options{}); err != nil {
		t.Fatal(err)
	}
	return pl.String()
}

// runPack packs the plan to output and returns the stage's records.
func runPack(t testing.TB, planText, output string) ([]*record.Raw,
	error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), strings.NewReader(planText), "plan",
		output, &out, Options{TempDir: t.TempDir()})
	if err != nil {
		return nil, err
	}
	r := record.NewReader(&out, "pack")
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

func TestDeterministic(t *testing.T) {
	// oci-archive is covered by the porcelain's determinism test.
	for _, format := range []string{"docker-modern", "oci-dir"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			pl := makePlan(t, dir, format)
			var sums []digest.Digest
			for _, name := range []string{"a.tar", "b.tar"} {
				out := filepath.Join(dir, name)
				if _, err := runPack(t, pl, out); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				sums = append(sums, digest.FromBytes(data))
			}
			if sums[0] != sums[1] {
				t.Errorf("got %s, then %s, want the same bytes", sums[0],
					sums[1])
			}
		})
	}
}

// headerTimes returns every member's mtime in a tar file.
func headerTimes(t testing.TB, path string) []time.Time {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var out []time.Time
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.ModTime)
	}
}

func TestSourceDateEpoch(t *testing.T) {
	dir := t.TempDir()
	pl := makePlan(t, dir, "docker-modern")
	plain := filepath.Join(dir, "plain.tar")
	if _, err := runPack(t, pl, plain); err != nil {
		t.Fatal(err)
	}

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var stamped []string
	for _, name := range []string{"e1.tar", "e2.tar"} {
		out := filepath.Join(dir, name)
		if _, err := runPack(t, pl, out); err != nil {
			t.Fatal(err)
		}
		stamped = append(stamped, out)
	}
	want := time.Unix(1700000000, 0)
	for _, tm := range headerTimes(t, stamped[0]) {
		if !tm.Equal(want) {
			t.Errorf("got header time %v, want %v", tm, want)
		}
	}
	for _, tm := range headerTimes(t, plain) {
		if tm.Unix() != 0 {
			t.Errorf("without SOURCE_DATE_EPOCH: got header time %v, "+
				"want the Unix epoch", tm)
		}
	}
	a, err := delta.Open(stamped[0])
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Sidecar.Created; got != "2023-11-14T22:13:20Z" {
		t.Errorf("got created %q, want 2023-11-14T22:13:20Z", got)
	}
	p, err := delta.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Sidecar.Created != "" {
		t.Errorf("without SOURCE_DATE_EPOCH: got created %q, want none",
			p.Sidecar.Created)
	}
	e1, _ := os.ReadFile(stamped[0])
	e2, _ := os.ReadFile(stamped[1])
	if !bytes.Equal(e1, e2) {
		t.Errorf("with SOURCE_DATE_EPOCH: got different bytes per run")
	}
}

// TestArchiveContent checks the archive against the plan and the
// records pack writes.
func TestArchiveContent(t *testing.T) {
	dir := t.TempDir()
	pl := makePlan(t, dir, "oci-archive")
	out := filepath.Join(dir, "delta.tar")
	raws, err := runPack(t, pl, out)
	if err != nil {
		t.Fatal(err)
	}
	a, err := delta.Open(out)
	if err != nil {
		t.Fatalf("pack wrote an archive delta.Open refuses: %v", err)
	}
	defer a.Close()
	for _, b := range a.Sidecar.Blobs {
		if err := a.Verify(b.Stored); err != nil {
			t.Errorf("blob %s: %v", b.Digest, err)
		}
	}

	var stored []record.Stored
	var summary *record.Summary
	for _, raw := range raws {
		switch raw.Kind {
		case record.KindStored:
			var s record.Stored
			if err := raw.Decode("pack", &s); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, s)
		case record.KindSummary:
			summary = new(record.Summary)
			if err := raw.Decode("pack", summary); err != nil {
				t.Fatal(err)
			}
		case record.KindImage, record.KindEntry, record.KindLayer,
			record.KindBlob:
			t.Errorf("got a %s record, which pack consumes", raw.Kind)
		}
	}
	if len(stored) != len(a.Sidecar.Blobs) {
		t.Errorf("got %d stored records, want one per sidecar blob (%d)",
			len(stored), len(a.Sidecar.Blobs))
	}
	data, _ := os.ReadFile(out)
	if summary == nil || summary.Size != int64(len(data)) ||
		summary.SHA256 != digest.FromBytes(data) || summary.Images != 1 {
		t.Errorf("got summary %+v, want %d bytes, %s, 1 image", summary,
			len(data), digest.FromBytes(data))
	}

	// The baseline supplies its shared layers; the target's skeleton
	// is stored.
	img := a.Sidecar.Images[0]
	held := map[digest.Digest]bool{}
	for _, d := range img.Baseline.Blobs {
		held[d] = true
	}
	for i, want := range []bool{true, true, false} {
		if got := held[img.Target.Layers[i].Digest]; got != want {
			t.Errorf("layer %d from the baseline: got %v, want %v", i,
				got, want)
		}
	}
	if _, ok := a.Location(img.Target.Skeleton); !ok {
		t.Errorf("got no member for the skeleton %s", img.Target.Skeleton)
	}
}

// planLines splits a plan into its lines, header first.
func planLines(planText string) []string {
	return strings.Split(strings.TrimSuffix(planText, "\n"), "\n")
}

// editBlob changes the first blob record with the decision and returns
// the plan.
func editBlob(t testing.TB, lines []string, decision string,
	edit func(map[string]any)) string {
	t.Helper()
	out := append([]string(nil), lines...)
	for i, l := range out {
		var b map[string]any
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatal(err)
		}
		if b["kind"] != record.KindBlob || b["decision"] != decision {
			continue
		}
		edit(b)
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(data)
		return strings.Join(out, "\n") + "\n"
	}
	t.Fatalf("no %s blob in the plan", decision)
	return ""
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	pl := makePlan(t, dir, "docker-modern")
	lines := planLines(pl)

	// without drops the first blob record for which keep is false.
	without := func(drop func(string) bool) string {
		var out []string
		dropped := false
		for _, l := range lines {
			if !dropped && drop(l) {
				dropped = true
				continue
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n") + "\n"
	}
	replace := func(old, new string) string {
		return strings.Replace(pl, old, new, 1)
	}
	targetLine := slices.IndexFunc(lines, func(l string) bool {
		return strings.Contains(l, `"role":"target"`)
	}) + 1
	tests := []struct {
		name     string
		plan     string
		output   string
		wantCode int
		wantMsg  string
	}{
		{"no pairs", lines[0] + "\n", "", exit.UsageErr, "nothing to pack"},
		{"blob without a decision", without(func(l string) bool {
			return strings.Contains(l, `"kind":"blob"`)
		}), "", exit.Corrupt, "no decision"},
		{"unknown decision", replace(`"decision":"baseline"`,
			`"decision":"maybe"`), "", exit.Corrupt, `"maybe"`},
		{"full blob without source", editBlob(t, lines, "full",
			func(b map[string]any) { delete(b, "source") }), "",
			exit.Corrupt, "no source"},
		{"full blob without member", editBlob(t, lines, "full",
			func(b map[string]any) {
				b["source"].(map[string]any)["member"] = ""
			}), "", exit.Corrupt, "no source"},
		{"bad blob digest", replace(`{"kind":"blob","digest":"sha256:`,
			`{"kind":"blob","digest":"sha256:X`), "", exit.Corrupt,
			"blob digest"},
		{"missing source archive", strings.ReplaceAll(pl,
			filepath.Join(dir, "v2.tar"), filepath.Join(dir, "gone.tar")),
			"", exit.EnvErr, "gone.tar"},
		{"output folder missing", pl, filepath.Join(dir, "no", "d.tar"),
			exit.EnvErr, ""},
		{"malformed line", pl + "{\n", "", exit.Corrupt, "malformed"},
		{"path in target name", replace(
			`"name":"app","role":"target"`, `"name":"../x","role":"target"`),
			"", exit.Corrupt, fmt.Sprintf(`plan: line %d: image name `+
				`"../x": want [a-z0-9][a-z0-9_.-]*, at most 128 characters`,
				targetLine)},
		{"negative size", editBlob(t, lines, "full",
			func(b map[string]any) { b["size"] = -1 }), "", exit.Corrupt,
			"size -1, want 0 or more"},
		// Past USTAR's 8 GiB the member takes a PAX header; the source
		// member is then found shorter than the plan says.
		{"size larger than the member", editBlob(t, lines, "full",
			func(b map[string]any) { b["size"] = int64(1) << 60 }), "",
			exit.Corrupt, "want 1152921504606846976"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := tc.output
			if out == "" {
				out = filepath.Join(outDir, "delta.tar")
			}
			_, err := runPack(t, tc.plan, out)
			if got := exit.Code(err); got != tc.wantCode {
				t.Fatalf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("got %d files left behind, want none", len(ents))
			}
		})
	}
}

// TestWorkersDeterministic checks that the worker count does not change
// the archive, and that every patch kept is smaller than its blob.
func TestWorkersDeterministic(t *testing.T) {
	dir := t.TempDir()
	pl := realisticPlan(t, dir)
	ctx := context.Background()
	var first digest.Digest
	for _, workers := range []int{1, 2, 5} {
		out := filepath.Join(dir, "delta.tar")
		err := Run(ctx, strings.NewReader(pl), "plan", out,
			io.Discard, Options{Workers: workers, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		if first == "" {
			first = digest.FromBytes(data)
		} else if got := digest.FromBytes(data); got != first {
			t.Errorf("workers %d: got %s, want %s", workers, got, first)
		}
	}

	a, err := delta.Open(filepath.Join(dir, "delta.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	patches := 0
	for _, b := range a.Sidecar.Blobs {
		if b.Encoding != delta.EncodingPatch {
			continue
		}
		patches++
		if b.StoredSize >= b.Size {
			t.Errorf("patch of %s: got %d bytes for a %d-byte blob, want "+
				"smaller (else it ships whole)", b.Digest, b.StoredSize,
				b.Size)
		}
	}
	// Realistic 1 -> 3 changes a few bytes in two layers.
	if patches != 2 {
		t.Errorf("got %d patches, want 2", patches)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("got %d files in the folder, want v1, v3 and the delta "+
			"(no spooled patches)", len(ents))
	}
}

// makeBundlePlan builds Realistic(1), (2) and (3) in format and returns
// the plan of a bundle: app from v1 to v2 and web from v3 to v2. Both
// targets use every blob of v2; its runtime layer is a layer of v1, not
// of v3.
func makeBundlePlan(t testing.TB, dir, format string) string {
	t.Helper()
	path := func(v int) string {
		return filepath.Join(dir, fmt.Sprintf("v%d.tar", v))
	}
	for v := 1; v <= 3; v++ {
		if err := imagebuild.WriteFile(path(v), imagebuild.Realistic(v),
			format); err != nil {
			t.Fatal(err)
		}
	}
	inputs := []fingerprint.Input{
		{Name: "app", Role: record.RoleBaseline, Path: path(1)},
		{Name: "app", Role: record.RoleTarget, Path: path(2)},
		{Name: "web", Role: record.RoleBaseline, Path: path(3)},
		{Name: "web", Role: record.RoleTarget, Path: path(2)},
	}
	return planOf(t, inputs)
}

// planImages returns the image records of a plan by name and role
// ("app/baseline").
func planImages(t testing.TB, lines []string) map[string]record.Image {
	t.Helper()
	out := map[string]record.Image{}
	for _, l := range lines {
		var img record.Image
		if err := json.Unmarshal([]byte(l), &img); err != nil {
			t.Fatal(err)
		}
		if img.Kind == record.KindImage {
			out[img.Name+"/"+img.Role] = img
		}
	}
	return out
}

// editMatching changes the first blob record for which match is true
// and returns the plan, the number of the line changed and the blob.
func editMatching(t testing.TB, lines []string,
	match func(record.Blob) bool,
	edit func(map[string]any)) (string, int, digest.Digest) {
	t.Helper()
	for i, l := range lines {
		var b record.Blob
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatal(err)
		}
		if b.Kind != record.KindBlob || !match(b) {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out := append([]string(nil), lines...)
		out[i] = string(data)
		return strings.Join(out, "\n") + "\n", i + 1, b.Digest
	}
	t.Fatal("no blob record matches")
	return "", 0, ""
}

// setCandidates points every candidate of a patch decision at digest d
// in the archive at path.
func setCandidates(d digest.Digest, path string) func(map[string]any) {
	return func(doc map[string]any) {
		for _, c := range doc["candidates"].([]any) {
			c := c.(map[string]any)
			c["digest"] = string(d)
			c["source"].(map[string]any)["path"] = path
		}
	}
}

// TestDecisionsAgainstBaseline edits plans so that a decision asks the
// consumer's baseline for a blob it does not hold: pack refuses them
// (exit 4, naming the plan, the line, the blob and the image), and
// writes nothing.
func TestDecisionsAgainstBaseline(t *testing.T) {
	dir := t.TempDir()
	pair := planLines(makePlan(t, dir, "oci-archive"))
	pairImages := planImages(t, pair)
	bundleDir := t.TempDir()
	bundle := planLines(makeBundlePlan(t, bundleDir, "oci-archive"))
	bundleImages := planImages(t, bundle)
	// v2's runtime layer, held by app's baseline (v1) but not web's (v3).
	runtime := bundleImages["app/target"].Layers[1].Digest
	if runtime != bundleImages["app/baseline"].Layers[1].Digest {
		t.Fatal("v1 and v2 do not share their runtime layer")
	}

	isFull := func(b record.Blob) bool {
		return b.Decision == record.DecisionFull
	}
	isPatch := func(b record.Blob) bool {
		return b.Decision == record.DecisionPatch
	}
	isRuntime := func(b record.Blob) bool { return b.Digest == runtime }
	toBaseline := func(doc map[string]any) {
		doc["decision"] = record.DecisionBaseline
		delete(doc, "candidates")
	}
	tests := []struct {
		name    string
		lines   []string
		match   func(record.Blob) bool
		edit    func(map[string]any)
		image   string
		wantMsg string // after "blob <digest>: "
	}{
		{"a shipped blob decided baseline", pair, isFull, toBaseline,
			"app", `decision "baseline", but it is not the manifest`},
		{"a patch against the target's own layer", pair, isPatch,
			func(doc map[string]any) {
				d := digest.Digest(doc["digest"].(string))
				setCandidates(d, filepath.Join(dir, "v2.tar"))(doc)
			}, "app", "patch candidate sha256:"},
		{"a patch against the baseline's config", pair, isPatch,
			setCandidates(pairImages["app/baseline"].Config.Digest,
				filepath.Join(dir, "v1.tar")), "app",
			"patch candidate " +
				string(pairImages["app/baseline"].Config.Digest) +
				" is not a layer"},
		{"bundle: a shared layer one baseline lacks decided baseline",
			bundle, isRuntime, toBaseline, "web",
			`decision "baseline", but it is not the manifest`},
		{"bundle: a patch against a layer one baseline lacks", bundle,
			isRuntime, func(doc map[string]any) {
				doc["decision"] = record.DecisionPatch
				doc["candidates"] = []any{map[string]any{
					"digest": string(runtime), "size": 1, "overlap": 0,
					"source": map[string]any{
						"path": filepath.Join(bundleDir, "v1.tar")}}}
			}, "web", "patch candidate " + string(runtime)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, line, d := editMatching(t, tc.lines, tc.match, tc.edit)
			outDir := t.TempDir()
			_, err := runPack(t, pl, filepath.Join(outDir, "delta.tar"))
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err,
					exit.Corrupt)
			}
			want := fmt.Sprintf("plan: line %d: blob %s: %s", line, d,
				tc.wantMsg)
			if msg := err.Error(); !strings.Contains(msg, want) ||
				!strings.Contains(msg, fmt.Sprintf("of %q", tc.image)) {
				t.Errorf("got %q, want it to contain %q and name image %q",
					msg, want, tc.image)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("got %d files left behind, want none", len(ents))
			}
		})
	}

	// The planner's own bundle plan passes: the shared runtime layer is
	// not decided baseline, and its patch candidates are in both
	// baselines.
	t.Run("bundle as planned", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "delta.tar")
		if _, err := runPack(t, strings.Join(bundle, "\n")+"\n",
			out); err != nil {
			t.Fatalf("got %v, want the planner's bundle packed", err)
		}
	})
}

// TestWorkerErrorWins checks that when one patch job fails and cancels
// the others, pack reports that failure, not the others' cancellation
// (which the tools would print as an interrupt).
func TestWorkerErrorWins(t *testing.T) {
	dir := t.TempDir()
	pl := realisticPlan(t, dir)
	ctx := context.Background()

	// The second patch job's target cannot be opened: it fails at once,
	// while the first is still encoding.
	missing := filepath.Join(dir, "missing.tar")
	lines := strings.Split(strings.TrimSpace(pl), "\n")
	patches := 0
	for i, line := range lines {
		if !strings.Contains(line, `"decision":"patch"`) {
			continue
		}
		if patches++; patches != 2 {
			continue
		}
		var b record.Blob
		if err := json.Unmarshal([]byte(line), &b); err != nil {
			t.Fatal(err)
		}
		b.Source.Path = missing
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = string(data)
	}
	if patches != 2 {
		t.Fatalf("got %d patch decisions, want 2", patches)
	}

	for range 5 {
		err := Run(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"),
			"plan", filepath.Join(dir, "delta.tar"), io.Discard,
			Options{Workers: 2, TempDir: dir})
		if err == nil || errors.Is(err, context.Canceled) ||
			!strings.Contains(err.Error(), "missing.tar") {
			t.Fatalf("got %v, want the error opening %s", err, missing)
		}
	}
}

// TestSourceDateEpochBounds checks that SOURCE_DATE_EPOCH outside what a
// tar header holds is a usage error before any work, and that the
// latest one it holds is accepted.
func TestSourceDateEpochBounds(t *testing.T) {
	dir := t.TempDir()
	pl := makePlan(t, dir, "oci-archive")
	for _, tc := range []struct {
		epoch string
		code  int
	}{
		{"-1", exit.UsageErr},
		{"8589934592", exit.UsageErr},
		{"x", exit.UsageErr},
		{"8589934591", exit.OK},
	} {
		t.Setenv("SOURCE_DATE_EPOCH", tc.epoch)
		out := filepath.Join(dir, "d.tar")
		os.Remove(out)
		_, err := runPack(t, pl, out)
		if got := exit.Code(err); got != tc.code {
			t.Errorf("SOURCE_DATE_EPOCH=%s: got exit %d (%v), want %d",
				tc.epoch, got, err, tc.code)
		}
	}
}

// TestPatchSizeFromPlan checks that a patch decision whose size is not
// the blob's is refused: the sidecar would record the wrong size.
func TestPatchSizeFromPlan(t *testing.T) {
	dir := t.TempDir()
	pl := realisticPlan(t, dir)
	for _, delta := range []int64{-1, 1} {
		lines := strings.Split(strings.TrimSpace(pl), "\n")
		for i, line := range lines {
			if !strings.Contains(line, `"decision":"patch"`) {
				continue
			}
			var b record.Blob
			if err := json.Unmarshal([]byte(line), &b); err != nil {
				t.Fatal(err)
			}
			b.Size += delta
			data, _ := json.Marshal(b)
			lines[i] = string(data)
			break
		}
		_, err := runPack(t, strings.Join(lines, "\n")+"\n",
			filepath.Join(dir, "d.tar"))
		if got := exit.Code(err); got != exit.Corrupt {
			t.Errorf("size %+d: got exit %d (%v), want %d", delta, got,
				err, exit.Corrupt)
		}
	}
}

// realisticPlan writes Realistic(1) and (3) as OCI archives v1.tar and
// v3.tar in dir and returns the plan of app from v1 to v3: two of its
// layers change by a few bytes and travel as patches.
func realisticPlan(t testing.TB, dir string) string {
	t.Helper()
	return pairPlan(t, dir, "oci-archive", 1, 3)
}
