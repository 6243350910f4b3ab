package porcelain_test

// The environment cases of issue #4, run through the diffah binary for
// their exact exit codes: an output folder that cannot be written, an
// output path that is one of the inputs, and a full disk. Each must fail
// with its documented code, a one-line error, and nothing half-written.
//
// Read-only and full folders are tmpfs mounts, so these cases need root
// (permission bits do not stop root). They skip where mounting is not
// possible, except when CI is "true": there they must run.

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
)

// mountTmpfs mounts an empty tmpfs on dir until the test ends: read-only
// with readOnly, else limited to size (as in "256k").
func mountTmpfs(t *testing.T, dir, size string, readOnly bool) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	if os.Geteuid() != 0 && !ci {
		t.Skip("mounting a tmpfs needs root; CI=true makes this a failure")
	}
	var flags uintptr = syscall.MS_NOSUID | syscall.MS_NODEV
	data := "mode=0755"
	if readOnly {
		flags |= syscall.MS_RDONLY
	} else {
		data += ",size=" + size
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		if ci {
			t.Fatalf("mounting a tmpfs on %s: %v (CI=true: these cases "+
				"must run)", dir, err)
		}
		t.Skipf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// treeSums maps every file and symlink below root (or root itself, if
// it is a file) to the SHA-256 of its content or target.
func treeSums(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			sum := sha256.Sum256([]byte(target))
			out[rel] = "link " + hex.EncodeToString(sum[:])
			return err
		}
		sum, err := fileSHA(p)
		out[rel] = sum
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSums(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// envCase is one command that must fail with want and leave the folders
// in empty as they were: missing or empty, and the inputs in keep with
// the same content.
type envCase struct {
	name  string
	args  []string
	want  int
	empty []string
	keep  []string
}

// runEnvCase runs c with TMPDIR set to an empty folder of its own, which
// must stay empty too.
func runEnvCase(t *testing.T, bin string, c envCase) {
	t.Helper()
	before := map[string]map[string]string{}
	for _, p := range c.keep {
		before[p] = treeSums(t, p)
	}
	tmp := t.TempDir()
	run := runDiffah(t, bin, tmp, -1, c.args...)
	if run.code != c.want {
		t.Errorf("got exit %d (%q), want %d", run.code, run.stderr, c.want)
	}
	msg := strings.TrimSuffix(run.stderr, "\n")
	if !strings.HasPrefix(msg, "diffah: ") || strings.Contains(msg, "\n") {
		t.Errorf("got stderr %q, want one line \"diffah: …\"", run.stderr)
	}
	for _, dir := range append(c.empty, tmp) {
		names, err := dirNames(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) > 0 {
			t.Errorf("%s holds %q after the failed run, want nothing",
				dir, names)
		}
	}
	for _, p := range c.keep {
		if !sameSums(before[p], treeSums(t, p)) {
			t.Errorf("input %s changed", p)
		}
	}
}

// envFixture holds the pairs and deltas the cases use: the crash
// fixture's oci-archive pair, whose delta and target are megabytes, and
// an OCI layout directory pair.
type envFixture struct {
	*crashFixture
	delta string

	// A layout pair, the baseline at layoutOutDir/app.
	dirBase, dirTarget, dirDelta string
	layoutOutDir                 string

	// Copies of the baseline and of the delta named app.tar, in the
	// folders given as OUTDIR.
	baselineAsOutput, baselineOutDir string
	deltaAsOutput, deltaOutDir       string
}

func newEnvFixture(t *testing.T, bin string) *envFixture {
	t.Helper()
	fx := &envFixture{crashFixture: newCrashFixture(t)}
	dir := fx.dir
	fx.delta = filepath.Join(dir, "delta.tar")
	exportOK(t, bin, fx.baseline, fx.target, fx.delta)

	// A layout-directory pair; auto imports it as OUTDIR/app/.
	fx.layoutOutDir = filepath.Join(dir, "layouts")
	fx.dirBase = filepath.Join(fx.layoutOutDir, "app")
	fx.dirTarget = filepath.Join(dir, "v2-layout")
	if err := os.Mkdir(fx.layoutOutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, v := range map[string]int{fx.dirBase: 1, fx.dirTarget: 2} {
		err := imagebuild.WriteFile(path, imagebuild.Realistic(v), "oci-dir")
		if err != nil {
			t.Fatalf("building %s: %v", path, err)
		}
	}
	fx.dirDelta = filepath.Join(dir, "layout-delta.tar")
	exportOK(t, bin, fx.dirBase, fx.dirTarget, fx.dirDelta)

	// The baseline, and the delta, where the import's output would go.
	fx.baselineOutDir = filepath.Join(dir, "base-out")
	fx.baselineAsOutput = filepath.Join(fx.baselineOutDir, "app.tar")
	fx.deltaOutDir = filepath.Join(dir, "delta-out")
	fx.deltaAsOutput = filepath.Join(fx.deltaOutDir, "app.tar")
	copies := map[string]string{fx.baselineAsOutput: fx.baseline,
		fx.deltaAsOutput: fx.delta}
	for to, from := range copies {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func exportOK(t *testing.T, bin, baseline, target, output string) {
	t.Helper()
	run := runDiffah(t, bin, t.TempDir(), -1, "export", "--pair",
		"app="+baseline+","+target, output)
	if run.code != 0 {
		t.Fatalf("export %s: got exit %d (%s), want 0", output, run.code,
			run.stderr)
	}
}

// TestEnvironment checks the exit code of diffah export and import in a
// folder that cannot be written, with an output path that is an input,
// and on a full disk, and that each leaves nothing behind.
func TestEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/diffah")
	}
	bin := buildDiffah(t)
	fx := newEnvFixture(t, bin)
	pair := "app=" + fx.baseline + "," + fx.target
	base := "app=" + fx.baseline

	t.Run("output is an input", func(t *testing.T) {
		// The same file spelled another way is still the same file.
		respelled := filepath.Join(fx.dir, "sub", "..",
			filepath.Base(fx.target))
		tests := []envCase{
			{name: "export over the baseline",
				args: []string{"export", "--pair", pair, fx.baseline},
				want: exit.UsageErr, keep: []string{fx.baseline}},
			{name: "export over the target, respelled",
				args: []string{"export", "--pair", pair, respelled},
				want: exit.UsageErr, keep: []string{fx.target}},
			{name: "export over a layout baseline",
				args: []string{"export", "--pair", "app=" + fx.dirBase +
					"," + fx.dirTarget, fx.dirBase},
				want: exit.UsageErr, keep: []string{fx.dirBase}},
			{name: "import over the baseline",
				args: []string{"import", "--baseline",
					"app=" + fx.baselineAsOutput, fx.delta,
					fx.baselineOutDir},
				want: exit.UsageErr, keep: []string{fx.baselineOutDir}},
			{name: "import over the delta",
				args: []string{"import", "--baseline", base,
					fx.deltaAsOutput, fx.deltaOutDir},
				want: exit.UsageErr, keep: []string{fx.deltaOutDir}},
			{name: "import over a layout baseline",
				args: []string{"import", "--baseline", "app=" + fx.dirBase,
					fx.dirDelta, fx.layoutOutDir},
				want: exit.UsageErr, keep: []string{fx.layoutOutDir}},
		}
		for _, c := range tests {
			t.Run(c.name, func(t *testing.T) { runEnvCase(t, bin, c) })
		}
	})

	t.Run("read-only folder", func(t *testing.T) {
		ro := t.TempDir()
		mountTmpfs(t, ro, "", true)
		out := t.TempDir()
		tests := []envCase{
			{name: "export into it",
				args: []string{"export", "--pair", pair,
					filepath.Join(ro, "delta.tar")},
				want: exit.EnvErr},
			{name: "export spooling into it",
				args: []string{"export", "--temp-dir", ro, "--pair", pair,
					filepath.Join(out, "delta.tar")},
				want: exit.EnvErr, empty: []string{out}},
			{name: "import into it",
				args: []string{"import", "--baseline", base, fx.delta, ro},
				want: exit.EnvErr},
			{name: "import into a new folder in it",
				args: []string{"import", "--baseline", base, fx.delta,
					filepath.Join(ro, "new")},
				want: exit.EnvErr},
			{name: "import spooling into it",
				args: []string{"import", "--temp-dir", ro, "--baseline",
					base, fx.delta, out},
				want: exit.EnvErr, empty: []string{out}},
		}
		for _, c := range tests {
			t.Run(c.name, func(t *testing.T) {
				c.keep = append(c.keep, fx.baseline, fx.target, fx.delta)
				runEnvCase(t, bin, c)
			})
		}
	})

	t.Run("full disk", func(t *testing.T) {
		// Each case gets a fresh 256 KiB tmpfs: the delta and the
		// target are megabytes, so every write runs out of space.
		tests := []struct {
			name string
			args func(full, out string) []string
		}{
			{"export into it", func(full, _ string) []string {
				return []string{"export", "--pair", pair,
					filepath.Join(full, "delta.tar")}
			}},
			{"export spooling into it", func(full, out string) []string {
				return []string{"export", "--temp-dir", full, "--pair",
					pair, filepath.Join(out, "delta.tar")}
			}},
			{"import into it", func(full, _ string) []string {
				return []string{"import", "--baseline", base, fx.delta,
					full}
			}},
			{"import into it as a layout", func(full, _ string) []string {
				return []string{"import", "--output-format", "dir",
					"--baseline", base, fx.delta, full}
			}},
			{"import into it as docker-archive", func(full,
				_ string) []string {
				return []string{"import", "--output-format",
					"docker-archive", "--allow-convert", "--baseline", base,
					fx.delta, full}
			}},
			{"import into it as oci-archive", func(full,
				_ string) []string {
				return []string{"import", "--output-format", "oci-archive",
					"--baseline", base, fx.delta, full}
			}},
			{"import spooling into it", func(full, out string) []string {
				return []string{"import", "--temp-dir", full, "--baseline",
					base, fx.delta, out}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				full, out := t.TempDir(), t.TempDir()
				size := "256k"
				if strings.Contains(tt.name, "spooling") {
					// The spool of one patched layer is about 150 KiB.
					size = "64k"
				}
				mountTmpfs(t, full, size, false)
				runEnvCase(t, bin, envCase{args: tt.args(full, out),
					want:  exit.EnvErr,
					empty: []string{full, out},
					keep:  []string{fx.baseline, fx.target, fx.delta}})
			})
		}
	})
}
