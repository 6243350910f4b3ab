// Command deltabench measures diffah end to end against the zstd CLI on
// the layer pairs that bench/mkpairs.sh builds; `make bench` runs it.
//
// Usage:
//
//	deltabench [-cache DIR] [-pairs a,b] [-diffah bin/diffah]
//	    [-work DIR] [-format docker-legacy] [-zstd=false] [-rebuild]
//
// For every pair NAME.ref / NAME.target (uncompressed layer tars) in the
// cache folder ($DIFFAH_BENCH_CACHE, else $HOME/.cache/diffah-bench) it
//
//  1. wraps each tar into a single-layer image archive (format, default
//     docker-legacy, uncompressed) in the work folder (default
//     CACHE/deltabench), streaming the layer from its file; an image
//     newer than its tar is reused unless -rebuild is given;
//  2. runs `zstd -q -f -19 --long=31 --patch-from=NAME.ref NAME.target
//     -o PATCH` (the CLI's other defaults, threads included) when zstd
//     is on PATH;
//  3. runs `diffah export --pair NAME=REF.tar,TARGET.tar DELTA`, then
//     `diffah inspect --json DELTA` for the stored size and encoding of
//     the layer blob, then `diffah import --baseline NAME=REF.tar DELTA
//     OUT` and checks that OUT/NAME.tar has the SHA-256 of TARGET.tar.
//
// Pairs run one after another, each command in its own child process;
// the wall time, the CPU time (user plus system) and the peak RSS of
// every child come from wait4. Stdout gets one Markdown table (a row per
// pair as soon as it is measured, then a total row) and the ratios the
// issue's "Done when" asks for; progress goes to stderr. Patches, deltas
// and rebuilt images are removed after each pair; the wrapped images are
// kept for the next run.
//
// Exit status: 0 when every measured pair was rebuilt exactly, 1
// otherwise or on any error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// knownPairs is the order bench/mkpairs.sh builds the pairs in; other
// pairs found in the cache come after them, sorted.
var knownPairs = []string{"random1m", "random64m", "go", "debian",
	"debian-big"}

type options struct {
	cache, work, diffah, format string
	pairs                       []string // empty: all in the cache
	zstd, rebuild               bool
}

func main() {
	var o options
	cache := os.Getenv("DIFFAH_BENCH_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "diffah-bench")
	}
	flag.StringVar(&o.cache, "cache", cache,
		"folder holding NAME.ref and NAME.target")
	pairs := flag.String("pairs", "",
		"comma-separated pairs (default: every pair in the cache)")
	flag.StringVar(&o.diffah, "diffah", filepath.Join("bin", "diffah"),
		"the diffah binary to measure")
	flag.StringVar(&o.work, "work", "",
		"folder for images, patches and deltas (default CACHE/deltabench)")
	flag.StringVar(&o.format, "format", "docker-legacy",
		"image archive format: docker-legacy, docker-modern, docker-skopeo")
	flag.BoolVar(&o.zstd, "zstd", true, "measure the zstd CLI too")
	flag.BoolVar(&o.rebuild, "rebuild", false,
		"rewrite the wrapped images even when they are newer than the pairs")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "deltabench: unexpected arguments:",
			strings.Join(flag.Args(), " "))
		os.Exit(2)
	}
	for p := range strings.SplitSeq(*pairs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.pairs = append(o.pairs, p)
		}
	}
	if o.work == "" {
		o.work = filepath.Join(o.cache, "deltabench")
	}

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "deltabench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if !strings.HasPrefix(o.format, "docker-") {
		return fmt.Errorf("-format %s: want docker-legacy, docker-modern "+
			"or docker-skopeo", o.format)
	}
	if _, err := os.Stat(o.diffah); err != nil {
		return fmt.Errorf("diffah binary: %w (run make build)", err)
	}
	if o.zstd {
		if _, err := exec.LookPath("zstd"); err != nil {
			fmt.Fprintln(os.Stderr, "deltabench: zstd not on PATH; "+
				"measuring diffah alone (apt-get install zstd)")
			o.zstd = false
		}
	}
	pairs, skipped, err := selectPairs(o.cache, o.pairs)
	if err != nil {
		return err
	}
	for _, p := range skipped {
		fmt.Fprintf(os.Stderr, "deltabench: skipping %s: no %s.ref and "+
			"%s.target in %s (build them with bench/mkpairs.sh %s)\n",
			p, p, p, o.cache, p)
	}
	if len(pairs) == 0 {
		return fmt.Errorf("no pairs in %s: build them with "+
			"bench/mkpairs.sh", o.cache)
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}

	fmt.Printf("load average before: %s\n\n", loadAverage())
	printHeader()
	var rows []row
	var failed []string
	for _, p := range pairs {
		r, err := measurePair(o, p)
		if err != nil {
			return fmt.Errorf("pair %s: %w", p, err)
		}
		if !r.exact {
			failed = append(failed, p)
		}
		printRow(r)
		rows = append(rows, r)
	}
	total := sum(rows)
	printRow(total)
	fmt.Println()
	printRatios(rows, total, o.zstd)
	fmt.Printf("load average after: %s\n", loadAverage())
	if len(skipped) > 0 {
		fmt.Printf("skipped (not in the cache; build with "+
			"bench/mkpairs.sh): %s\n", strings.Join(skipped, ", "))
	}
	if len(failed) > 0 {
		return fmt.Errorf("rebuilt image differs from the target: %s",
			strings.Join(failed, ", "))
	}
	return nil
}

// selectPairs returns the wanted pairs present in cache, in order, and
// the wanted ones missing from it. No wanted pairs means every pair
// present.
func selectPairs(cache string, want []string) (present, missing []string,
	err error) {

	have := func(p string) bool {
		for _, ext := range []string{".ref", ".target"} {
			fi, err := os.Stat(filepath.Join(cache, p+ext))
			if err != nil || !fi.Mode().IsRegular() {
				return false
			}
		}
		return true
	}
	if len(want) > 0 {
		for _, p := range want {
			if have(p) {
				present = append(present, p)
			} else {
				missing = append(missing, p)
			}
		}
		return present, missing, nil
	}

	entries, err := os.ReadDir(cache)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	var others []string
	for _, e := range entries {
		p, ok := strings.CutSuffix(e.Name(), ".ref")
		if ok && have(p) && !slices.Contains(knownPairs, p) {
			others = append(others, p)
		}
	}
	slices.Sort(others)
	for _, p := range knownPairs {
		if have(p) {
			present = append(present, p)
		} else {
			missing = append(missing, p)
		}
	}
	return append(present, others...), missing, nil
}

// loadAverage returns the three load averages of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
