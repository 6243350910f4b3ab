package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// stream encodes records as a JSON-lines stream with a header.
func stream(t testing.TB, recs ...any) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := record.NewWriter(&buf, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if s, ok := r.(string); ok {
			if err := w.WriteRaw([]byte(s)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

// runPlan runs the stage and returns its raw output and blob records.
func runPlan(t testing.TB, in string) (string, []record.Blob, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), strings.NewReader(in), "in.jsonl",
		&out, Options{})
	if err != nil {
		return "", nil, err
	}
	r := record.NewReader(bytes.NewReader(out.Bytes()), "plan")
	var blobs []record.Blob
	for {
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if raw.Kind == record.KindBlob {
			var b record.Blob
			if err := raw.Decode("plan", &b); err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
	}
	if r.Header().Tool != Tool {
		t.Errorf("got header tool %q, want %q", r.Header().Tool, Tool)
	}
	return out.String(), blobs, nil
}

func d(s string) digest.Digest { return digest.FromString(s) }

func desc(s string) ocispec.Descriptor {
	return ocispec.Descriptor{Digest: d(s), Size: int64(len(s)),
		MediaType: "type/" + s}
}

// img makes an image record; a target gets a member per blob named.
func img(name, role string, manifest, config string,
	layers ...string) record.Image {
	r := record.Image{Kind: record.KindImage, Name: name, Role: role,
		Path:   "/images/" + name + "-" + role + ".tar",
		Format: "oci-archive", Manifest: desc(manifest),
		Config: desc(config)}
	for _, l := range layers {
		r.Layers = append(r.Layers, desc(l))
	}
	if role == record.RoleTarget {
		off := int64(512)
		for _, s := range append([]string{manifest, config}, layers...) {
			r.Members = append(r.Members, record.Member{
				Name: "blobs/sha256/" + d(s).Encoded(), Offset: off,
				Size: int64(len(s)), Digest: d(s)})
			off += 1024
		}
	}
	return r
}

type decision struct {
	blob     string
	decision string
	images   []string
}

func decisions(blobs []record.Blob, names map[digest.Digest]string) []decision {
	var out []decision
	for _, b := range blobs {
		out = append(out, decision{names[b.Digest], b.Decision, b.Images})
	}
	return out
}

// decide reads the records into pairs and decides every target blob.
// Decide gives whole-blob decisions; Run may then turn shipped layers
// into patches (issue #3).
func decide(t testing.TB, in string) []record.Blob {
	t.Helper()
	pairs, err := ReadPairs(context.Background(),
		record.NewReader(strings.NewReader(in), "in.jsonl"), "in.jsonl",
		nil)
	if err != nil {
		t.Fatal(err)
	}
	return Decide(pairs)
}

func TestDecisions(t *testing.T) {
	names := map[digest.Digest]string{}
	for _, s := range []string{"m1", "c1", "base", "run", "app1", "m2",
		"c2", "app2", "mb1", "cb1", "mb2", "cb2", "shared", "only-a",
		"only-b", "ma", "ca", "mb", "cb"} {
		names[d(s)] = s
	}
	const B, T = record.RoleBaseline, record.RoleTarget
	full, base := record.DecisionFull, record.DecisionBaseline
	tests := []struct {
		name string
		recs []any
		want []decision
	}{
		{"shared layers stay, changed ship",
			[]any{img("app", B, "m1", "c1", "base", "run", "app1"),
				img("app", T, "m2", "c2", "base", "run", "app2")},
			[]decision{{"m2", full, []string{"app"}},
				{"c2", full, []string{"app"}},
				{"base", base, []string{"app"}},
				{"run", base, []string{"app"}},
				{"app2", full, []string{"app"}}}},
		{"identical images ship nothing",
			[]any{img("app", B, "m1", "c1", "base"),
				img("app", T, "m1", "c1", "base")},
			[]decision{{"m1", base, []string{"app"}},
				{"c1", base, []string{"app"}},
				{"base", base, []string{"app"}}}},
		{"bundle: a blob both targets need ships once",
			[]any{img("b", B, "mb1", "cb1"),
				img("b", T, "mb", "cb", "shared", "only-b"),
				img("a", B, "ma", "ca"),
				img("a", T, "m1", "c1", "only-a", "shared")},
			// Pairs by name: a first, then b's new blobs.
			[]decision{{"m1", full, []string{"a"}},
				{"c1", full, []string{"a"}},
				{"only-a", full, []string{"a"}},
				{"shared", full, []string{"a", "b"}},
				{"mb", full, []string{"b"}},
				{"cb", full, []string{"b"}},
				{"only-b", full, []string{"b"}}}},
		{"bundle: one baseline lacks a shared blob, it ships",
			[]any{img("a", B, "ma", "ca", "shared"),
				img("a", T, "m1", "c1", "shared"),
				img("b", B, "mb", "cb"),
				img("b", T, "m2", "c2", "shared")},
			[]decision{{"m1", full, []string{"a"}},
				{"c1", full, []string{"a"}},
				{"shared", full, []string{"a", "b"}},
				{"m2", full, []string{"b"}},
				{"c2", full, []string{"b"}}}},
		{"bundle: every baseline has it, it stays",
			[]any{img("a", B, "ma", "ca", "shared"),
				img("a", T, "m1", "c1", "shared"),
				img("b", B, "mb", "cb", "shared"),
				img("b", T, "m2", "c2", "shared")},
			[]decision{{"m1", full, []string{"a"}},
				{"c1", full, []string{"a"}},
				{"shared", base, []string{"a", "b"}},
				{"m2", full, []string{"b"}},
				{"c2", full, []string{"b"}}}},
		{"baseline manifest and config count as held",
			[]any{img("app", B, "m1", "c1", "base"),
				img("app", T, "m2", "c1", "base", "m1")},
			[]decision{{"m2", full, []string{"app"}},
				{"c1", base, []string{"app"}},
				{"base", base, []string{"app"}},
				{"m1", base, []string{"app"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blobs := decide(t, stream(t, tc.recs...))
			got := decisions(blobs, names)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			// Each blob once; a shipped blob says where its bytes are.
			seen := map[digest.Digest]bool{}
			for _, b := range blobs {
				if seen[b.Digest] {
					t.Errorf("blob %s decided twice", names[b.Digest])
				}
				seen[b.Digest] = true
				if b.Source == nil || b.Source.Member == "" ||
					b.Source.Path == "" {
					t.Errorf("blob %s: got source %+v, want a path and "+
						"member", names[b.Digest], b.Source)
				}
				if b.MediaType != "type/"+names[b.Digest] {
					t.Errorf("blob %s: got media type %q", names[b.Digest],
						b.MediaType)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	const B, T = record.RoleBaseline, record.RoleTarget
	noPath := img("app", T, "m2", "c2")
	noPath.Path = ""
	badRole := img("app", T, "m2", "c2")
	badRole.Role = "source"
	tests := []struct {
		name    string
		in      string
		wantMsg []string
	}{
		{"missing baseline record", stream(t,
			img("web", B, "m1", "c1"), img("web", T, "m2", "c2"),
			img("app", T, "m2", "c2")),
			[]string{`image "app"`, "no baseline record"}},
		{"missing target record", stream(t, img("app", B, "m1", "c1")),
			[]string{`image "app"`, "no target record"}},
		{"second target", stream(t, img("app", B, "m1", "c1"),
			img("app", T, "m2", "c2"), img("app", T, "m3", "c3")),
			[]string{"line 4", "second target", `"app"`}},
		{"image without path", stream(t, img("app", B, "m1", "c1"),
			noPath), []string{"line 3", "needs name, path"}},
		{"unknown role", stream(t, img("app", B, "m1", "c1"), badRole),
			[]string{"line 3", `role "source"`}},
		{"path in target name", stream(t, img("app", B, "m1", "c1"),
			img("../x", T, "m2", "c2")), []string{`in.jsonl: line 3: image ` +
			`name "../x": want [a-z0-9][a-z0-9_.-]*, at most 128 characters`}},
		{"long baseline name", stream(t,
			img(strings.Repeat("a", 129), B, "m1", "c1")),
			[]string{"line 2", "at most 128 characters"}},
		{"malformed image", stream(t, `{"kind":"image","name":5}`),
			[]string{"line 2", "image record"}},
		{"malformed line", stream(t, img("app", B, "m1", "c1")) + "{\n",
			[]string{"line 3", "malformed"}},
		{"foreign schema", `{"kind":"header","schema":"other/v2"}` + "\n",
			[]string{"line 1", "other/v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPlan(t, tc.in)
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
			}
			for _, s := range tc.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

// TestPassThrough checks that every input record but the header comes
// out unchanged and in order, before the decisions.
func TestPassThrough(t *testing.T) {
	const B, T = record.RoleBaseline, record.RoleTarget
	custom := `{"kind":"x-note","text":"kept as is",  "n":1.50}`
	in := stream(t, custom, img("app", B, "m1", "c1"),
		img("app", T, "m2", "c2"), custom)
	out, blobs, err := runPlan(t, in)
	if err != nil {
		t.Fatal(err)
	}
	inLines := strings.Split(strings.TrimSpace(in), "\n")
	outLines := strings.Split(strings.TrimSpace(out), "\n")
	if got, want := len(outLines), len(inLines)+len(blobs); got != want {
		t.Fatalf("got %d lines, want %d", got, want)
	}
	for i := 1; i < len(inLines); i++ {
		if outLines[i] != inLines[i] {
			t.Errorf("line %d: got %s, want %s", i+1, outLines[i],
				inLines[i])
		}
	}
}

// TestReplay checks that planning a saved stream again, or the same
// pairs in another input order, gives the same decisions.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	paths := map[int]string{}
	for _, v := range []int{1, 2} {
		paths[v] = filepath.Join(dir, "v"+string(rune('0'+v))+".tar")
		if err := imagebuild.WriteFile(paths[v], imagebuild.Realistic(v),
			"docker-legacy"); err != nil {
			t.Fatal(err)
		}
	}
	var fp bytes.Buffer
	err := fingerprint.Run(context.Background(), []fingerprint.Input{
		{Name: "app", Role: record.RoleBaseline, Path: paths[1]},
		{Name: "app", Role: record.RoleTarget, Path: paths[2]},
	}, &fp, fingerprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, blobs, err := runPlan(t, fp.String())
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := runPlan(t, fp.String())
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Errorf("got different output on replay")
	}

	// The realistic pair: base and runtime layers stay, the app layer,
	// config and small members ship.
	var target record.Image
	for _, line := range strings.Split(fp.String(), "\n") {
		if strings.Contains(line, `"role":"target"`) {
			if err := json.Unmarshal([]byte(line), &target); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[digest.Digest]string{}
	for _, b := range blobs {
		got[b.Digest] = b.Decision
	}
	ships := []string{record.DecisionFull, record.DecisionPatch}
	want := map[digest.Digest][]string{
		target.Layers[0].Digest: {record.DecisionBaseline},
		target.Layers[1].Digest: {record.DecisionBaseline},
		target.Layers[2].Digest: ships,
		target.Config.Digest:    {record.DecisionFull},
	}
	for dg, w := range want {
		if !slices.Contains(w, got[dg]) {
			t.Errorf("blob %s: got %q, want one of %q", dg, got[dg], w)
		}
	}
	if len(blobs) != len(uniqueMembers(target.Members)) {
		t.Errorf("got %d blob records, want one per distinct member (%d)",
			len(blobs), len(uniqueMembers(target.Members)))
	}
}

func uniqueMembers(ms []record.Member) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	for _, m := range ms {
		out[m.Digest] = true
	}
	return out
}

func FuzzRun(f *testing.F) {
	const B, T = record.RoleBaseline, record.RoleTarget
	f.Add(stream(f, img("app", B, "m1", "c1", "l"),
		img("app", T, "m2", "c2", "l")))
	f.Add(stream(f, img("app", B, "m1", "c1")))
	f.Fuzz(func(t *testing.T, in string) {
		err := Run(context.Background(), strings.NewReader(in), "fuzz",
			io.Discard, Options{})
		if err != nil && exit.Code(err) != exit.Corrupt {
			t.Fatalf("got exit %d (%v), want 0 or %d", exit.Code(err), err,
				exit.Corrupt)
		}
	})
}

// fingerprintPair fingerprints baseline and target and returns the
// stream and, per layer, its file contents (digest -> size).
func fingerprintPair(t testing.TB, baseline, target string) (string,
	map[digest.Digest]map[digest.Digest]int64, record.Image,
	record.Image) {
	t.Helper()
	var fp bytes.Buffer
	err := fingerprint.Run(context.Background(), []fingerprint.Input{
		{Name: "app", Role: record.RoleBaseline, Path: baseline},
		{Name: "app", Role: record.RoleTarget, Path: target},
	}, &fp, fingerprint.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	files := map[digest.Digest]map[digest.Digest]int64{}
	var base, tgt record.Image
	r := record.NewReader(bytes.NewReader(fp.Bytes()), "fp")
	for {
		raw, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch raw.Kind {
		case record.KindEntry:
			var e record.Entry
			raw.Decode("fp", &e)
			if files[e.Layer] == nil {
				files[e.Layer] = map[digest.Digest]int64{}
			}
			if e.Digest != "" {
				files[e.Layer][e.Digest] = e.Size
			}
		case record.KindImage:
			var img record.Image
			raw.Decode("fp", &img)
			if img.Role == record.RoleBaseline {
				base = img
			} else {
				tgt = img
			}
		}
	}
	return fp.String(), files, base, tgt
}

// shared is the bytes of file content two layers have in common.
func shared(files map[digest.Digest]map[digest.Digest]int64, a,
	b digest.Digest) int64 {
	var n int64
	for d, size := range files[a] {
		if _, ok := files[b][d]; ok {
			n += size
		}
	}
	return n
}

func TestIntraLayer(t *testing.T) {
	dir := t.TempDir()
	paths := map[int]string{}
	for _, v := range []int{1, 3} {
		paths[v] = filepath.Join(dir, "v"+string(rune('0'+v))+".tar")
		if err := imagebuild.WriteFile(paths[v], imagebuild.Realistic(v),
			"oci-archive"); err != nil {
			t.Fatal(err)
		}
	}
	fp, files, base, target := fingerprintPair(t, paths[1], paths[3])
	changed := map[digest.Digest]bool{target.Layers[1].Digest: true,
		target.Layers[2].Digest: true}

	for _, mode := range []string{IntraOff, IntraAuto, ""} {
		t.Run("mode "+mode, func(t *testing.T) {
			_, blobs, _ := runPlanOpts(t, fp, Options{IntraLayer: mode})
			seen := 0
			for _, b := range blobs {
				if changed[b.Digest] {
					seen++
				}
			}
			if seen != len(changed) {
				t.Fatalf("got %d of the %d changed layers in the plan",
					seen, len(changed))
			}
			for _, b := range blobs {
				if !changed[b.Digest] {
					if b.Decision == record.DecisionPatch {
						t.Errorf("blob %s: got a patch for a non-layer "+
							"or shared blob", b.Digest)
					}
					continue
				}
				if mode == IntraOff {
					if b.Decision != record.DecisionFull ||
						len(b.Candidates) != 0 {
						t.Errorf("layer %s: got %s with %d candidates, "+
							"want full", b.Digest, b.Decision,
							len(b.Candidates))
					}
					continue
				}
				if b.Decision != record.DecisionPatch ||
					len(b.Candidates) == 0 {
					t.Fatalf("layer %s: got %s, want a patch", b.Digest,
						b.Decision)
				}
				// The first candidate shares the most content.
				best := b.Candidates[0]
				for _, l := range base.Layers {
					if shared(files, b.Digest, l.Digest) >
						shared(files, b.Digest, best.Digest) {
						t.Errorf("layer %s: got candidate %s sharing %d "+
							"bytes, %s shares %d", b.Digest, best.Digest,
							shared(files, b.Digest, best.Digest), l.Digest,
							shared(files, b.Digest, l.Digest))
					}
				}
				if best.Overlap != shared(files, b.Digest, best.Digest) {
					t.Errorf("layer %s: got overlap %d, counted %d",
						b.Digest, best.Overlap,
						shared(files, b.Digest, best.Digest))
				}
				if best.Source.Path != base.Path {
					t.Errorf("candidate source %q, want the baseline %q",
						best.Source.Path, base.Path)
				}
			}
		})
	}

	for _, opts := range []Options{{IntraLayer: "sometimes"},
		{Candidates: -1}} {
		err := Run(context.Background(), strings.NewReader(fp), "fp",
			io.Discard, opts)
		if got := exit.Code(err); got != exit.UsageErr {
			t.Errorf("options %+v: got exit %d (%v), want %d", opts, got,
				err, exit.UsageErr)
		}
	}
}

func runPlanOpts(t testing.TB, in string, opts Options) (string,
	[]record.Blob, error) {
	t.Helper()
	var out bytes.Buffer
	if err := Run(context.Background(), strings.NewReader(in), "in",
		&out, opts); err != nil {
		t.Fatal(err)
	}
	var blobs []record.Blob
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, `"kind":"blob"`) {
			var b record.Blob
			if err := json.Unmarshal([]byte(line), &b); err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
		}
	}
	return out.String(), blobs, nil
}

// TestUpstreamV4Ranking checks the trap of the upstream v4 fixtures:
// each target layer's first candidate is the baseline layer that shares
// its files, even where another is closer in size.
func TestUpstreamV4Ranking(t *testing.T) {
	const dir = "../../../shared/fixtures/upstream-diffah"
	for _, form := range []string{"_oci", "_s2"} {
		t.Run(form, func(t *testing.T) {
			baseline := filepath.Join(dir, "v4_baseline"+form+".tar")
			target := filepath.Join(dir, "v4_target"+form+".tar")
			if _, err := os.Stat(target); err != nil {
				t.Skipf("no upstream fixtures: %v", err)
			}
			fp, files, base, _ := fingerprintPair(t, baseline, target)
			_, blobs, _ := runPlanOpts(t, fp, Options{})
			trap := 0
			for _, b := range blobs {
				if b.Decision != record.DecisionPatch {
					continue
				}
				var bestShared int64
				var closest ocispec.Descriptor
				for _, l := range base.Layers {
					bestShared = max(bestShared,
						shared(files, b.Digest, l.Digest))
					if closest.Digest == "" || abs(l.Size-b.Size) <
						abs(closest.Size-b.Size) {
						closest = l
					}
				}
				got := b.Candidates[0].Digest
				if shared(files, b.Digest, got) != bestShared {
					t.Errorf("layer %s: got candidate %s sharing %d "+
						"bytes, want one sharing %d", b.Digest, got,
						shared(files, b.Digest, got), bestShared)
				}
				if closest.Digest != got {
					trap++
				}
			}
			if trap == 0 {
				t.Errorf("got no layer whose size-closest baseline layer " +
					"differs from its best candidate; the fixture's trap " +
					"was not exercised")
			}
		})
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
