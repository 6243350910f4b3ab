package porcelain_test

// The crash test of issue #4: diffah export and import run as processes
// and are killed with SIGKILL at spread, seeded points of their run.
// After each kill the output path must hold nothing or the complete,
// verified output, and a re-run in the same folders, with whatever
// temporary files the killed run left, must succeed and remove them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/imagebuild"
	"github.com/diffah/diffah/lib/porcelain"
	"github.com/diffah/diffah/lib/spec"
)

// buildDiffah builds cmd/diffah into a folder of t and returns its path.
func buildDiffah(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "diffah")
	cmd := exec.Command(goTool, "build", "-o", bin,
		"github.com/diffah/diffah/cmd/diffah")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/diffah: %v\n%s", err, out)
	}
	return bin
}

// diffahRun is one finished or killed run of the binary.
type diffahRun struct {
	code    int // -1 when killed
	killed  bool
	stderr  string
	elapsed time.Duration
}

// runDiffah runs bin with args and TMPDIR set to tmp. With killAfter
// >= 0 it sends SIGKILL that long after the start, unless the run has
// ended by then.
func runDiffah(t testing.TB, bin, tmp string, killAfter time.Duration,
	args ...string) diffahRun {

	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var run diffahRun
	var err error
	if killAfter < 0 {
		err = <-done
	} else {
		timer := time.NewTimer(killAfter)
		select {
		case err = <-done:
			timer.Stop()
		case <-timer.C:
			cmd.Process.Kill() // SIGKILL
			err = <-done
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			run.killed = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	}
	run.elapsed = time.Since(start)
	run.stderr = stderr.String()
	run.code = cmd.ProcessState.ExitCode()
	if err != nil && run.code < 0 && !run.killed {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return run
}

// crashFixture is a pair whose target adds a large incompressible layer,
// so that export and import spend a good part of their run writing.
type crashFixture struct {
	dir, baseline, target string
	targetSHA             string
}

func newCrashFixture(t testing.TB) *crashFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &crashFixture{dir: dir,
		baseline: filepath.Join(dir, "v1.tar"),
		target:   filepath.Join(dir, "v2.tar")}
	noise := make([]byte, 2<<20)
	rand.NewChaCha8([32]byte{sweepSeed}).Read(noise)
	target := imagebuild.Realistic(2)
	target.Layers = append(target.Layers,
		imagebuild.Layer(imagebuild.File("data/noise.bin", noise)))
	target.History = append(target.History, "COPY noise.bin /data/")
	specs := map[string]imagebuild.Spec{fx.baseline: imagebuild.Realistic(1),
		fx.target: target}
	for path, spec := range specs {
		if err := imagebuild.WriteFile(path, spec, "oci-archive"); err != nil {
			t.Fatalf("building %s: %v", path, err)
		}
	}
	fx.targetSHA = sweepFileSHA(t, fx.target)
	return fx
}

// killPoints spreads n kill points over [0, 1.2) of a run's length: one
// in each of n equal slices, at a seeded place inside it. The caller
// scales them by the length of the last undisturbed run, which follows
// the load of a shared machine.
func killPoints(n int, rng *rand.Rand) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1.2 * (float64(i) + rng.Float64()) / float64(n)
	}
	return out
}

// scale is the point p of a run that lasts d.
func scale(p float64, d time.Duration) time.Duration {
	return time.Duration(p * float64(d))
}

// leftovers describes the files names in dir: how many, their bytes,
// and their names without the random digits.
func leftovers(t testing.TB, dir string, names []string) string {
	t.Helper()
	var size int64
	patterns := map[string]bool{}
	for _, n := range names {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
		patterns[strings.TrimRight(n, "0123456789")+"*"] = true
	}
	var list []string
	for p := range patterns {
		list = append(list, p)
	}
	sort.Strings(list)
	return fmt.Sprintf("%d file(s) of %d bytes %q", len(names), size, list)
}

// crashNames lists dir, leaving out the names in keep.
func crashNames(t testing.TB, dir string, keep ...string) []string {
	t.Helper()
	names, err := dirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		skip := false
		for _, k := range keep {
			skip = skip || n == k
		}
		if !skip {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// checkNoLeftovers checks, after the re-run that follows kill i, that
// outDir holds nothing but output and tmp holds nothing: the re-run
// removed the pending file and the spool folder the killed run left.
func checkNoLeftovers(t testing.TB, i int, outDir, output, tmp string) {
	t.Helper()
	stray := crashNames(t, outDir, output)
	spool := spoolNames(t, tmp)
	if len(stray) > 0 || len(spool) > 0 {
		t.Errorf("kill %d: after the re-run got %q beside the output "+
			"and %q in TMPDIR, want nothing", i, stray, spool)
	}
}

// spoolNames lists the run folders in tmp, leaving out those of runs
// killed while preparing theirs (.diffah-prep-*): those hold no spool
// and are removed by age, a minute on.
func spoolNames(t testing.TB, tmp string) []string {
	var out []string
	for _, n := range crashNames(t, tmp) {
		if !strings.HasPrefix(n, ".diffah-prep-") {
			out = append(out, n)
		}
	}
	return out
}

// crashKills scales a number of kills up for the long sweep.
func crashKills(n int) int {
	if longSweep() {
		return 5 * n
	}
	return n
}

// TestCrashExport kills diffah export at spread points, once with
// patches (most of the run encodes them) and once without (most of the
// run reads and writes). After each kill the delta's path holds nothing
// or the same bytes as an undisturbed run (export is deterministic, and
// that archive imports to the exact target), and a re-run succeeds
// beside the killed run's leftovers.
func TestCrashExport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/diffah and runs it many times")
	}
	bin := buildDiffah(t)
	fx := newCrashFixture(t)
	tests := []struct {
		name  string
		flags []string
		kills int
	}{
		{"patches", nil, 12},
		{"whole layers", []string{"--intra-layer", "off"}, 40},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crashExport(t, bin, fx, tt.flags, crashKills(tt.kills),
				rand.New(rand.NewPCG(sweepSeed, uint64(10+i))))
		})
	}
}

func crashExport(t *testing.T, bin string, fx *crashFixture,
	flags []string, nKill int, rng *rand.Rand) {

	work := t.TempDir()
	outDir := filepath.Join(work, "out")
	tmp := filepath.Join(work, "tmp")
	for _, d := range []string{outDir, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	output := filepath.Join(outDir, "delta.tar")
	args := append([]string{"export", "--pair",
		"app=" + fx.baseline + "," + fx.target}, flags...)
	args = append(args, output)

	// An undisturbed run gives the reference bytes and the duration.
	ref := runDiffah(t, bin, tmp, -1, args...)
	if ref.code != 0 {
		t.Fatalf("export: got exit %d (%s), want 0", ref.code, ref.stderr)
	}
	want, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	checkCrashDelta(t, fx, output)
	if err := os.Remove(output); err != nil {
		t.Fatal(err)
	}
	t.Logf("export of a %d-byte delta took %v", len(want), ref.elapsed)

	var killed, whole int
	length := ref.elapsed
	for i, point := range killPoints(nKill, rng) {
		delay := scale(point, length)
		run := runDiffah(t, bin, tmp, delay, args...)
		if !run.killed && run.code != 0 {
			t.Fatalf("kill %d: unkilled export: got exit %d (%s), want 0",
				i, run.code, run.stderr)
		}
		if run.killed {
			killed++
		}
		got, err := os.ReadFile(output)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, want):
			t.Errorf("kill %d after %v: %s holds %d bytes that differ "+
				"from an undisturbed run's %d", i, delay, output,
				len(got), len(want))
		default:
			whole++
		}

		// Re-run beside the leftovers: it succeeds, writes the same
		// bytes, and adds no file but the output.
		rerun := runDiffah(t, bin, tmp, -1, args...)
		length = rerun.elapsed
		if rerun.code != 0 {
			t.Fatalf("kill %d: re-run: got exit %d (%s), want 0", i,
				rerun.code, rerun.stderr)
		}
		if got, err := os.ReadFile(output); err != nil ||
			!bytes.Equal(got, want) {
			t.Errorf("kill %d: re-run wrote other bytes (%v)", i, err)
		}
		checkNoLeftovers(t, i, outDir, "delta.tar", tmp)
		if err := os.Remove(output); err != nil {
			t.Fatal(err)
		}
	}
	stray := crashNames(t, outDir)
	spool := spoolNames(t, tmp)
	t.Logf("%d kills (%d before the end), %d left a whole delta; left "+
		"behind: %s beside the output, %s in TMPDIR", nKill, killed,
		whole, leftovers(t, outDir, stray), leftovers(t, tmp, spool))
	if len(stray) > 0 || len(spool) > 0 {
		t.Errorf("got %q beside the output and %q in TMPDIR, want "+
			"nothing", stray, spool)
	}
}

// checkCrashDelta imports the delta at path in-process and checks that
// it rebuilds the target.
func checkCrashDelta(t testing.TB, fx *crashFixture, path string) {
	t.Helper()
	out := t.TempDir()
	err := porcelain.Import(context.Background(), porcelain.ImportOptions{
		Archive: path, OutDir: out,
		Baselines: map[string]string{"app": fx.baseline},
		TempDir:   t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatalf("importing %s: %v", path, err)
	}
	if got := sweepFileSHA(t, filepath.Join(out, "app.tar")); got !=
		fx.targetSHA {
		t.Fatalf("%s imports to sha256 %s, want the target's %s", path,
			got, fx.targetSHA)
	}
}

// TestCrashImport kills diffah import at spread points. After each kill
// OUTDIR/app.tar is missing or is the exact target, and a re-run
// succeeds beside the killed run's leftovers.
func TestCrashImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/diffah and runs it many times")
	}
	bin := buildDiffah(t)
	fx, deltaPath, outDir, tmp := newCrashImport(t)
	output := filepath.Join(outDir, "app.tar")
	args := []string{"import", "--baseline", "app=" + fx.baseline,
		deltaPath, outDir}

	ref := runDiffah(t, bin, tmp, -1, args...)
	if ref.code != 0 {
		t.Fatalf("import: got exit %d (%s), want 0", ref.code, ref.stderr)
	}
	if got := sweepFileSHA(t, output); got != fx.targetSHA {
		t.Fatalf("import wrote sha256 %s, want %s", got, fx.targetSHA)
	}
	if err := os.Remove(output); err != nil {
		t.Fatal(err)
	}
	t.Logf("import took %v", ref.elapsed)

	nKill := crashKills(60)
	rng := rand.New(rand.NewPCG(sweepSeed, 2))
	var killed, whole int
	length := ref.elapsed
	for i, point := range killPoints(nKill, rng) {
		delay := scale(point, length)
		run := runDiffah(t, bin, tmp, delay, args...)
		if !run.killed && run.code != 0 {
			t.Fatalf("kill %d: unkilled import: got exit %d (%s), want 0",
				i, run.code, run.stderr)
		}
		if run.killed {
			killed++
		}
		if sum, err := fileSHA(output); err == nil {
			whole++
			if sum != fx.targetSHA {
				t.Errorf("kill %d after %v: %s has sha256 %s, want "+
					"nothing or the target's %s", i, delay, output, sum,
					fx.targetSHA)
			}
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}

		rerun := runDiffah(t, bin, tmp, -1, args...)
		length = rerun.elapsed
		if rerun.code != 0 {
			t.Fatalf("kill %d: re-run: got exit %d (%s), want 0", i,
				rerun.code, rerun.stderr)
		}
		if got := sweepFileSHA(t, output); got != fx.targetSHA {
			t.Errorf("kill %d: re-run wrote sha256 %s, want %s", i, got,
				fx.targetSHA)
		}
		checkNoLeftovers(t, i, outDir, "app.tar", tmp)
		if err := os.Remove(output); err != nil {
			t.Fatal(err)
		}
	}
	stray := crashNames(t, outDir)
	spool := spoolNames(t, tmp)
	t.Logf("%d kills (%d before the end), %d left a whole image; left "+
		"behind: %s in OUTDIR, %s in TMPDIR", nKill, killed, whole,
		leftovers(t, outDir, stray), leftovers(t, tmp, spool))
	if len(stray) > 0 || len(spool) > 0 {
		t.Errorf("got %q in OUTDIR and %q in TMPDIR, want nothing",
			stray, spool)
	}
}

// newCrashImport exports the crash fixture's delta and returns it with
// the OUTDIR to import into and an empty folder for TMPDIR.
func newCrashImport(t *testing.T) (fx *crashFixture, deltaPath, outDir,
	tmp string) {

	t.Helper()
	fx = newCrashFixture(t)
	deltaPath = filepath.Join(fx.dir, "delta.tar")
	err := porcelain.Export(context.Background(), porcelain.ExportOptions{
		Pairs: crashPairs(fx), Output: deltaPath, TempDir: t.TempDir()},
		io.Discard)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	work := t.TempDir()
	outDir = filepath.Join(work, "out")
	tmp = filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return fx, deltaPath, outDir, tmp
}

func crashPairs(fx *crashFixture) []spec.Pair {
	return []spec.Pair{{Name: "app", Baseline: fx.baseline,
		Target: fx.target}}
}

// TestCrashImportDir kills diffah import --output-format dir at spread
// points. After each kill OUTDIR/app/ is absent or the complete layout
// an undisturbed run writes; the re-run succeeds and leaves nothing but
// app/ (a killed run's staging folder is removed).
func TestCrashImportDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/diffah and runs it many times")
	}
	bin := buildDiffah(t)
	fx, deltaPath, outDir, tmp := newCrashImport(t)
	output := filepath.Join(outDir, "app")
	args := []string{"import", "--output-format", "dir", "--baseline",
		"app=" + fx.baseline, deltaPath, outDir}

	ref := runDiffah(t, bin, tmp, -1, args...)
	if ref.code != 0 {
		t.Fatalf("import: got exit %d (%s), want 0", ref.code, ref.stderr)
	}
	want := treeSHA(t, output)

	nKill := crashKills(20)
	rng := rand.New(rand.NewPCG(sweepSeed, 3))
	length := ref.elapsed
	for i, point := range killPoints(nKill, rng) {
		// An earlier output stays in place, or is replaced whole.
		run := runDiffah(t, bin, tmp, scale(point, length), args...)
		if !run.killed && run.code != 0 {
			t.Fatalf("kill %d: unkilled import: got exit %d (%s), want 0",
				i, run.code, run.stderr)
		}
		if got := treeSHA(t, output); got != want {
			t.Errorf("kill %d: %s holds a layout that differs from an "+
				"undisturbed run's", i, output)
		}
		rerun := runDiffah(t, bin, tmp, -1, args...)
		length = rerun.elapsed
		if rerun.code != 0 {
			t.Fatalf("kill %d: re-run: got exit %d (%s), want 0", i,
				rerun.code, rerun.stderr)
		}
		if got := treeSHA(t, output); got != want {
			t.Errorf("kill %d: re-run wrote another layout", i)
		}
		checkNoLeftovers(t, i, outDir, "app", tmp)
	}
}

// treeSHA hashes the names, modes and contents of the files under dir.
func treeSHA(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s %v\n", rel, info.Mode())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
