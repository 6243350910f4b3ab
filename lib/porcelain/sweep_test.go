package porcelain_test

// The sweeps of issue #4: every byte of a small delta archive flipped in
// turn, the archive cut at every 512-byte boundary and inside members,
// and bytes of the baseline flipped. Each damaged input goes through
// porcelain.Import, which must either rebuild the exact target or fail
// with exit 4 (content), and leave nothing in OUTDIR or in its
// temporary folder either way.
//
// By default the sidecar is flipped byte for byte and the rest of the
// archive is sampled with a fixed seed, so that the run stays well under
// a minute on two shared cores. DIFFAH_LONG_SWEEP=1 flips every byte
// with two masks, in more formats. DIFFAH_SWEEP_TRACE=1 names each
// damaged input on stderr before it runs, to find the input behind a
// panic (a panic in a pipeline goroutine ends the test binary).

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/porcelain"
	"github.com/diffah/diffah/lib/spec"
)

// sweepSeed fixes every sample the sweeps take.
const sweepSeed = 4

// sweepMaxReported is how many broken runs a sweep reports in full.
var sweepMaxReported = 20

// sweepRunTimeout bounds one damaged import; past it the run counts as
// a hang.
const sweepRunTimeout = 30 * time.Second

// longSweep reports whether DIFFAH_LONG_SWEEP asks for the full sweep.
func longSweep() bool { return os.Getenv("DIFFAH_LONG_SWEEP") == "1" }

// sweepFixture is a baseline, a target, and the delta between them.
type sweepFixture struct {
	dir       string
	baseline  string
	target    string
	delta     string
	deltaData []byte
	targetSHA string // hex SHA-256 of the target file
}

// newSweepFixture writes Realistic(1) and Realistic(2) in format and
// exports the delta between them.
func newSweepFixture(t testing.TB, format string) *sweepFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &sweepFixture{dir: dir,
		baseline: filepath.Join(dir, "v1.tar"),
		target:   filepath.Join(dir, "v2.tar"),
		delta:    filepath.Join(dir, "delta.tar")}
	for path, version := range map[string]int{fx.baseline: 1,
		fx.target: 2} {
		err := imagebuild.WriteFile(path, imagebuild.Realistic(version),
			format)
		if err != nil {
			t.Fatalf("building %s: %v", path, err)
		}
	}
	err := porcelain.Export(context.Background(), porcelain.ExportOptions{
		Pairs: []spec.Pair{{Name: "app", Baseline: fx.baseline,
			Target: fx.target}},
		Output: fx.delta, TempDir: dir}, io.Discard)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if fx.deltaData, err = os.ReadFile(fx.delta); err != nil {
		t.Fatal(err)
	}
	fx.targetSHA = sweepFileSHA(t, fx.target)
	return fx
}

func sweepFileSHA(t testing.TB, path string) string {
	t.Helper()
	sum, err := fileSHA(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// fileSHA returns the hex SHA-256 of the file at path.
func fileSHA(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dirNames lists dir; a missing dir is empty.
func dirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// tarMember is where one member of a tar file lies.
type tarMember struct {
	name      string
	header    int64 // offset of its first header block
	data      int64 // offset of its content
	size      int64
	paddedEnd int64 // offset after its content padding
}

// tarLayout returns the members of the tar in data and the offset where
// the end-of-archive blocks start.
func tarLayout(t testing.TB, data []byte) ([]tarMember, int64) {
	t.Helper()
	cr := &sweepCounter{r: bytes.NewReader(data)}
	tr := tar.NewReader(cr)
	var members []tarMember
	var next int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return members, next
		}
		if err != nil {
			t.Fatalf("reading the tar at %d: %v", next, err)
		}
		m := tarMember{name: hdr.Name, header: next, data: cr.n,
			size: hdr.Size}
		m.paddedEnd = m.data + (m.size+511)/512*512
		members = append(members, m)
		next = m.paddedEnd
	}
}

type sweepCounter struct {
	r io.Reader
	n int64
}

func (c *sweepCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// mutation is one damaged copy of an input.
type mutation struct {
	name  string
	apply func(orig []byte) []byte
}

func flip(offset int, mask byte) mutation {
	return mutation{name: fmt.Sprintf("flip byte %d ^%#02x", offset, mask),
		apply: func(orig []byte) []byte {
			out := bytes.Clone(orig)
			out[offset] ^= mask
			return out
		}}
}

func truncate(n int) mutation {
	return mutation{name: fmt.Sprintf("cut to %d bytes", n),
		apply: func(orig []byte) []byte { return bytes.Clone(orig[:n]) }}
}

// bitMask returns a single-bit mask.
func bitMask(rng *rand.Rand) byte { return 1 << rng.IntN(8) }

// flipMutations flips every byte in [0, size) that keep selects, with
// one seeded single-bit mask, and, in the long sweep, also with 0xff.
func flipMutations(size int, keep func(off int) bool,
	rng *rand.Rand) []mutation {

	var out []mutation
	for off := 0; off < size; off++ {
		mask := bitMask(rng)
		if !keep(off) {
			continue
		}
		out = append(out, flip(off, mask))
		if longSweep() {
			out = append(out, flip(off, 0xff))
		}
	}
	return out
}

// inRanges reports whether off lies in one of the [start, end) ranges.
func inRanges(off int, ranges ...[2]int64) bool {
	for _, r := range ranges {
		if int64(off) >= r[0] && int64(off) < r[1] {
			return true
		}
	}
	return false
}

// sampler keeps every offset inside the ranges given and one in every
// `every` of the others, chosen by a seeded generator.
func sampler(every int, rng *rand.Rand, ranges ...[2]int64) func(int) bool {
	return func(off int) bool {
		return inRanges(off, ranges...) || every <= 1 ||
			rng.IntN(every) == 0
	}
}

// truncations cuts data at every 512-byte boundary below its length,
// one byte short of the end, and inside each member's header and
// content.
func truncations(data []byte, members []tarMember) []mutation {
	cuts := map[int]bool{len(data) - 1: true}
	for n := 0; n < len(data); n += 512 {
		cuts[n] = true
	}
	for _, m := range members {
		for _, n := range []int64{m.header + 1, m.header + 257,
			m.data + 1, m.data + m.size/2, m.data + m.size - 1} {
			if n > 0 && n < int64(len(data)) {
				cuts[int(n)] = true
			}
		}
	}
	var sorted []int
	for n := range cuts {
		sorted = append(sorted, n)
	}
	sort.Ints(sorted)
	var out []mutation
	for _, n := range sorted {
		out = append(out, truncate(n))
	}
	return out
}

// sweepResult is what one damaged import did.
type sweepResult struct {
	mutation string
	code     int
	err      error
	problem  string // empty when the contract held
}

// sweepInput names which input a sweep damages.
type sweepInput int

const (
	damageDelta sweepInput = iota
	damageBaseline
)

// runSweep imports the fixture's delta once per mutation, damaging the
// delta or the baseline, and returns every run whose outcome broke the
// contract, plus a count per exit code.
func runSweep(t *testing.T, fx *sweepFixture, input sweepInput,
	muts []mutation) ([]sweepResult, map[int]int) {

	t.Helper()
	orig := fx.deltaData
	if input == damageBaseline {
		var err error
		if orig, err = os.ReadFile(fx.baseline); err != nil {
			t.Fatal(err)
		}
	}
	trace := os.Getenv("DIFFAH_SWEEP_TRACE") == "1"

	jobs := make(chan mutation)
	results := make(chan sweepResult)
	var wg sync.WaitGroup
	// Two workers per core: a run that succeeds waits on fsync.
	for w := range 2 * runtime.GOMAXPROCS(0) {
		work := filepath.Join(t.TempDir(), fmt.Sprint("worker", w))
		if err := os.MkdirAll(filepath.Join(work, "tmp"), 0o755); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				if trace {
					fmt.Fprintf(os.Stderr, "sweep %s: %s\n", t.Name(),
						m.name)
				}
				res := sweepOne(fx, input, orig, m, work)
				results <- res
			}
		}()
	}
	go func() {
		for _, m := range muts {
			jobs <- m
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	codes := map[int]int{}
	var bad []sweepResult
	for res := range results {
		codes[res.code]++
		if res.problem != "" {
			bad = append(bad, res)
		}
	}
	sort.Slice(bad, func(i, j int) bool {
		return bad[i].mutation < bad[j].mutation
	})
	return bad, codes
}

// sweepOne writes the damaged input into work, imports, checks the
// contract and cleans up for the next run.
func sweepOne(fx *sweepFixture, input sweepInput, orig []byte, m mutation,
	work string) sweepResult {

	res := sweepResult{mutation: m.name}
	archive, baseline := fx.delta, fx.baseline
	damaged := filepath.Join(work, "damaged.tar")
	if input == damageDelta {
		archive = damaged
	} else {
		baseline = damaged
	}
	if err := os.WriteFile(damaged, m.apply(orig), 0o644); err != nil {
		res.problem = err.Error()
		return res
	}
	outDir := filepath.Join(work, "out")
	tempDir := filepath.Join(work, "tmp")
	defer os.RemoveAll(outDir)

	ctx, cancel := context.WithTimeout(context.Background(),
		sweepRunTimeout)
	defer cancel()
	start := time.Now()
	res.err = porcelain.Import(ctx, porcelain.ImportOptions{
		Archive: archive, OutDir: outDir,
		Baselines: map[string]string{"app": baseline},
		TempDir:   tempDir}, io.Discard)
	res.code = exit.Code(res.err)
	res.problem = checkSweepOutcome(fx, res, outDir, tempDir)
	if ctx.Err() != nil {
		res.problem = fmt.Sprintf("still running after %v",
			time.Since(start).Round(time.Millisecond))
	}

	// Leave nothing behind for the next run, whatever happened.
	if names, _ := dirNames(tempDir); len(names) > 0 {
		for _, n := range names {
			os.RemoveAll(filepath.Join(tempDir, n))
		}
	}
	return res
}

// sidecarOf parses the first member of a delta archive.
func sidecarOf(archive []byte) (*delta.Sidecar, error) {
	tr := tar.NewReader(bytes.NewReader(archive))
	hdr, err := tr.Next()
	if err != nil {
		return nil, err
	}
	if hdr.Name != delta.SidecarName {
		return nil, fmt.Errorf("first member %q", hdr.Name)
	}
	data, err := io.ReadAll(io.LimitReader(tr, delta.MaxSidecar))
	if err != nil {
		return nil, err
	}
	return delta.ParseSidecar(data)
}

// checkSweepOutcome returns what broke the contract, or "". Damage to
// either input is exit 4: the sidecar carries its own SHA-256, so a
// changed sidecar cannot pass for a delta made against another baseline
// (exit 2); and every member of a baseline is named by its digest or
// checked against one, so a changed baseline cannot pass for another
// image.
func checkSweepOutcome(fx *sweepFixture, res sweepResult, outDir,
	tempDir string) string {

	var problems []string
	outNames, err := dirNames(outDir)
	if err != nil {
		return err.Error()
	}
	tempNames, err := dirNames(tempDir)
	if err != nil {
		return err.Error()
	}
	if len(tempNames) > 0 {
		problems = append(problems, fmt.Sprintf("temporary folder "+
			"holds %q", tempNames))
	}

	if res.code == exit.OK {
		if strings.Join(outNames, ",") != "app.tar" {
			problems = append(problems, fmt.Sprintf("got OUTDIR %q, "+
				"want [app.tar]", outNames))
			return strings.Join(problems, "; ")
		}
		got, err := fileSHA(filepath.Join(outDir, "app.tar"))
		if err != nil {
			return err.Error()
		}
		if got != fx.targetSHA {
			problems = append(problems, fmt.Sprintf("exit 0 with "+
				"sha256 %s, want the target's %s", got, fx.targetSHA))
		}
		return strings.Join(problems, "; ")
	}

	if res.code != exit.Corrupt {
		problems = append(problems, fmt.Sprintf("got exit %d, want 0 "+
			"with the exact target or 4", res.code))
	}
	if len(outNames) > 0 {
		problems = append(problems, fmt.Sprintf("failed run left "+
			"OUTDIR %q", outNames))
	}
	if msg := res.err.Error(); strings.Contains(msg, "\n") {
		problems = append(problems, "error is not one line")
	}
	return strings.Join(problems, "; ")
}

// reportSweep fails t for the first broken runs and logs the counts.
func reportSweep(t *testing.T, what string, n int, bad []sweepResult,
	codes map[int]int, start time.Time) {

	t.Helper()
	t.Logf("%s: %d runs in %v, exit codes %v", what, n,
		time.Since(start).Round(time.Millisecond), codes)
	for i, res := range bad {
		if i == sweepMaxReported {
			t.Errorf("... and %d more", len(bad)-i)
			break
		}
		t.Errorf("%s: %s (error: %v)", res.mutation, res.problem, res.err)
	}
}

// sweepFormats are the image formats swept: the delta of an oci-archive
// pair is the smallest and fastest; the long sweep adds the Docker
// layouts, whose skeletons have more parts.
func sweepFormats() []string {
	if longSweep() {
		return []string{"oci-archive", "docker-legacy", "docker-modern"}
	}
	return []string{"oci-archive", "docker-legacy"}
}

// TestSweepDeltaFlips flips bytes of the delta archive: every byte of
// the sidecar, and a seeded sample of the tar headers, stored blobs and
// end-of-archive blocks (all of them with DIFFAH_LONG_SWEEP=1).
func TestSweepDeltaFlips(t *testing.T) {
	for i, format := range sweepFormats() {
		t.Run(format, func(t *testing.T) {
			fx := newSweepFixture(t, format)
			members, _ := tarLayout(t, fx.deltaData)
			sidecar := [2]int64{members[0].data,
				members[0].data + members[0].size}
			every := 8
			if i > 0 {
				// A second format adds less: sample its sidecar too.
				sidecar = [2]int64{}
			}
			if longSweep() {
				every = 1
			}
			rng := rand.New(rand.NewPCG(sweepSeed, uint64(i)))
			muts := flipMutations(len(fx.deltaData),
				sampler(every, rng, sidecar), rng)

			start := time.Now()
			bad, codes := runSweep(t, fx, damageDelta, muts)
			reportSweep(t, fmt.Sprintf("%d-byte delta", len(fx.deltaData)),
				len(muts), bad, codes, start)
			if codes[exit.Corrupt] == 0 {
				t.Errorf("got no run with exit 4, want the flips to be " +
					"caught")
			}
		})
	}
}

// TestSweepDeltaTruncations cuts the delta archive at every 512-byte
// boundary, one byte before its end, and inside every member.
func TestSweepDeltaTruncations(t *testing.T) {
	for _, format := range sweepFormats() {
		t.Run(format, func(t *testing.T) {
			fx := newSweepFixture(t, format)
			members, _ := tarLayout(t, fx.deltaData)
			muts := truncations(fx.deltaData, members)

			start := time.Now()
			bad, codes := runSweep(t, fx, damageDelta, muts)
			reportSweep(t, fmt.Sprintf("%d-byte delta, %d members",
				len(fx.deltaData), len(members)), len(muts), bad, codes,
				start)

			// Cutting into the last member's content can never leave a
			// whole archive: that run must fail.
			last := members[len(members)-1]
			cut := truncate(int(last.data + last.size/2))
			work := t.TempDir()
			if err := os.Mkdir(filepath.Join(work, "tmp"), 0o755); err != nil {
				t.Fatal(err)
			}
			res := sweepOne(fx, damageDelta, fx.deltaData, cut, work)
			if res.code != exit.Corrupt || res.problem != "" {
				t.Errorf("%s (into %s): got exit %d (%v) %s, want exit 4",
					cut.name, last.name, res.code, res.err, res.problem)
			}
		})
	}
}

// TestSweepBaselineFlips flips bytes of the baseline archive: a seeded
// sample of its tar headers and small members (manifests, configs,
// indexes) and of its layers. A damaged baseline is corrupt content
// (exit 4), never a "wrong baseline" (exit 2): every member of these
// archives is named by its digest, or, for the legacy Docker layout,
// checked against the config's diff_ids, so a flipped byte makes the
// baseline contradict itself before it can pass for another image.
func TestSweepBaselineFlips(t *testing.T) {
	for i, format := range []string{"oci-archive", "docker-legacy"} {
		t.Run(format, func(t *testing.T) {
			fx := newSweepFixture(t, format)
			base, err := os.ReadFile(fx.baseline)
			if err != nil {
				t.Fatal(err)
			}
			members, end := tarLayout(t, base)

			// Header blocks and small members, sampled one byte in 12;
			// layer content one in 4096 (all bytes one in 4 and 64 in
			// the long sweep).
			var small [][2]int64
			for _, m := range members {
				small = append(small, [2]int64{m.header, m.data})
				if m.size < 8<<10 {
					small = append(small, [2]int64{m.data, m.paddedEnd})
				}
			}
			small = append(small, [2]int64{end, int64(len(base))})
			rng := rand.New(rand.NewPCG(sweepSeed, 100+uint64(i)))
			keep := func(off int) bool {
				if inRanges(off, small...) {
					return rng.IntN(12) == 0 ||
						longSweep() && rng.IntN(4) == 0
				}
				return rng.IntN(4096) == 0 ||
					longSweep() && rng.IntN(64) == 0
			}
			muts := flipMutations(len(base), keep, rng)

			start := time.Now()
			bad, codes := runSweep(t, fx, damageBaseline, muts)
			reportSweep(t, fmt.Sprintf("%d-byte baseline, %d members",
				len(base), len(members)), len(muts), bad, codes, start)
		})
	}
}

// memberWithDigest returns the member of the tar in data whose content
// has the digest d.
func memberWithDigest(t testing.TB, data []byte, d string) tarMember {
	t.Helper()
	members, _ := tarLayout(t, data)
	for _, m := range members {
		sum := sha256.Sum256(data[m.data : m.data+m.size])
		if "sha256:"+hex.EncodeToString(sum[:]) == d {
			return m
		}
	}
	t.Fatalf("no member holds %s", d)
	return tarMember{}
}

// indexAfter returns the offset of needle in data[from:to], after the
// first occurrence of anchor there.
func indexAfter(t testing.TB, data []byte, from, to int64, anchor,
	needle string) int {

	t.Helper()
	region := data[from:to]
	a := bytes.Index(region, []byte(anchor))
	if a < 0 {
		t.Fatalf("no %q in [%d, %d)", anchor, from, to)
	}
	n := bytes.Index(region[a:], []byte(needle))
	if n < 0 {
		t.Fatalf("no %q after %q", needle, anchor)
	}
	return int(from) + a + n
}

// otherHex is a different hexadecimal digit than c.
func otherHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

// TestDamageCases are single, chosen changes of the sweeps, each with
// the one exit code it must give. Changes that keep JSON valid and
// digests well formed get past the parsers, so only the checks of
// meaning can catch them.
func TestDamageCases(t *testing.T) {
	for _, format := range []string{"oci-archive", "docker-legacy"} {
		t.Run(format, func(t *testing.T) {
			fx := newSweepFixture(t, format)
			sc, err := sidecarOf(fx.deltaData)
			if err != nil {
				t.Fatal(err)
			}
			img := sc.Images[0]
			var patchRef string
			for _, b := range sc.Blobs {
				if b.Encoding == delta.EncodingPatch {
					patchRef = string(b.PatchRef)
				}
			}
			if patchRef == "" {
				t.Fatal("the delta stores no patch; want one")
			}
			var fromBaseline string // the largest blob the baseline gives
			base, err := os.ReadFile(fx.baseline)
			if err != nil {
				t.Fatal(err)
			}
			var biggest int64
			for _, d := range img.Baseline.Blobs {
				if m := memberWithDigest(t, base, string(d)); m.size > biggest {
					biggest, fromBaseline = m.size, string(d)
				}
			}
			members, _ := tarLayout(t, fx.deltaData)
			sidecar := members[0]
			cfgHex := img.Baseline.Config.Digest.Encoded()
			cfg := memberWithDigest(t, base,
				string(img.Baseline.Config.Digest))

			setByte := func(input sweepInput, off int,
				to func(byte) byte) mutation {
				return mutation{name: fmt.Sprintf("byte %d", off),
					apply: func(orig []byte) []byte {
						out := bytes.Clone(orig)
						out[off] = to(out[off])
						return out
					}}
			}
			middle := func(d string) int {
				m := memberWithDigest(t, base, d)
				return int(m.data + m.size/2)
			}
			tests := []struct {
				name  string
				input sweepInput
				m     mutation
				want  int
			}{
				{"sidecar: baseline config digest, same manifest",
					damageDelta, setByte(damageDelta,
						indexAfter(t, fx.deltaData, sidecar.data,
							sidecar.data+sidecar.size, `"baseline"`,
							cfgHex)+10, otherHex), exit.Corrupt},
				{"baseline: config text, valid JSON", damageBaseline,
					setByte(damageBaseline, indexAfter(t, base, cfg.data,
						cfg.data+cfg.size, `"created_by"`, "ADD"),
						func(byte) byte { return 'B' }), exit.Corrupt},
				{"baseline: a layer it supplies", damageBaseline,
					setByte(damageBaseline, middle(fromBaseline),
						func(c byte) byte { return c ^ 1 }), exit.Corrupt},
				{"baseline: the patch reference", damageBaseline,
					setByte(damageBaseline, middle(patchRef),
						func(c byte) byte { return c ^ 1 }), exit.Corrupt},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					orig := fx.deltaData
					if tt.input == damageBaseline {
						orig = base
					}
					work := t.TempDir()
					err := os.Mkdir(filepath.Join(work, "tmp"), 0o755)
					if err != nil {
						t.Fatal(err)
					}
					res := sweepOne(fx, tt.input, orig, tt.m, work)
					if res.code != tt.want {
						t.Errorf("%s: got exit %d (%v), want %d",
							tt.m.name, res.code, res.err, tt.want)
					}
					if res.problem != "" && res.code == tt.want {
						t.Errorf("%s: %s", tt.m.name, res.problem)
					}
				})
			}
		})
	}
}
