// Command patchbench measures lib/patch against the zstd CLI on the
// pairs that bench/mkpairs.sh builds.
//
// Usage:
//
//	go run ./bench/patchbench [-cache DIR] [-pairs a,b] [-designs a,b]
//	    [-cli=false]
//
// For every pair <name>.ref/<name>.target in the cache folder (default
// $HOME/.cache/diffah-bench) it runs `zstd -19 --long=31
// --patch-from=REF TARGET` and each lib/patch design in a child
// process, decodes every patch again, checks the result byte for byte,
// and prints one Markdown table: patch size, encode and decode wall
// time, and the peak resident memory of each child. Patches are written
// to the cache folder and removed after each measurement.
//
// The children are this program with a first argument "encode" or
// "decode"; they are not meant to be called by hand.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/diffah/diffah/lib/patch"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "encode" || os.Args[1] == "decode") {
		if err := child(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "patchbench:", err)
			os.Exit(1)
		}
		return
	}
	home, _ := os.UserHomeDir()
	cache := flag.String("cache", filepath.Join(home, ".cache",
		"diffah-bench"), "folder with <pair>.ref and <pair>.target")
	pairs := flag.String("pairs", "random1m,random64m,debian,go",
		"pairs to measure")
	designs := flag.String("designs", "auto,match,tar,dict-whole",
		"lib/patch designs to measure")
	cli := flag.Bool("cli", true, "measure the zstd CLI too")
	flag.Parse()
	if err := run(*cache, strings.Split(*pairs, ","),
		strings.Split(*designs, ","), *cli); err != nil {
		fmt.Fprintln(os.Stderr, "patchbench:", err)
		os.Exit(1)
	}
}

// child encodes or decodes one patch.
func child(mode string, args []string) error {
	ctx := context.Background()
	if mode == "encode" { // design ref target out
		d, err := patch.ParseDesign(args[0])
		if err != nil {
			return err
		}
		ref, refSize, err := open(args[1])
		if err != nil {
			return err
		}
		target, targetSize, err := open(args[2])
		if err != nil {
			return err
		}
		out, err := os.Create(args[3])
		if err != nil {
			return err
		}
		err = patch.Encode(ctx, out, ref, refSize, target, targetSize,
			patch.Options{Design: d})
		if err != nil {
			return err
		}
		return out.Close()
	}
	// decode: ref patch out
	ref, refSize, err := open(args[0])
	if err != nil {
		return err
	}
	p, err := os.Open(args[1])
	if err != nil {
		return err
	}
	out, err := os.Create(args[2])
	if err != nil {
		return err
	}
	if err := patch.Decode(ctx, out, ref, refSize, p); err != nil {
		return err
	}
	return out.Close()
}

func open(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// measure runs a command and returns its wall time, its CPU time (user
// plus system) and its peak RSS in MiB.
func measure(name string, args ...string) (time.Duration, time.Duration,
	int64, error) {

	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s %s: %w: %s", name,
			strings.Join(args, " "), err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return wall, cpu, ru.Maxrss / 1024, nil
}

type result struct {
	name           string
	size           int64
	enc, dec       time.Duration
	encCPU, decCPU time.Duration
	encMem, decMem int64
}

func run(cache string, pairs, designs []string, cli bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	totals := map[string]int64{}
	encTotals := map[string]time.Duration{}
	cpuTotals := map[string]time.Duration{}
	var order []string
	fmt.Println("| pair | target bytes | codec | patch bytes | ratio | " +
		"encode s (cpu) | decode s (cpu) | encode MiB | decode MiB |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, pair := range pairs {
		ref := filepath.Join(cache, pair+".ref")
		target := filepath.Join(cache, pair+".target")
		fi, err := os.Stat(target)
		if err != nil {
			fmt.Fprintf(os.Stderr, "patchbench: skipping %s: %v "+
				"(build it with bench/mkpairs.sh)\n", pair, err)
			continue
		}
		want, err := fileSum(target)
		if err != nil {
			return err
		}
		p := filepath.Join(cache, pair+".patch")
		dec := filepath.Join(cache, pair+".decoded")
		var rows []result
		if cli {
			r := result{name: "zstd CLI"}
			r.enc, r.encCPU, r.encMem, err = measure("zstd", "-q", "-f", "-19",
				"--long=31", "--patch-from="+ref, target, "-o", p)
			if err != nil {
				return err
			}
			r.dec, r.decCPU, r.decMem, err = measure("zstd", "-q", "-f", "-d",
				"--long=31", "--memory=2048MB", "--patch-from="+ref, p,
				"-o", dec)
			if err != nil {
				return err
			}
			if rows, err = check(rows, r, p, dec, want); err != nil {
				return err
			}
		}
		for _, d := range designs {
			r := result{name: d}
			r.enc, r.encCPU, r.encMem, err = measure(self, "encode", d, ref,
				target, p)
			if err != nil {
				fmt.Fprintf(os.Stderr, "patchbench: %s %s: %v\n", pair,
					d, err)
				continue
			}
			r.dec, r.decCPU, r.decMem, err = measure(self, "decode", ref, p, dec)
			if err != nil {
				return err
			}
			if rows, err = check(rows, r, p, dec, want); err != nil {
				return err
			}
		}
		for _, r := range rows {
			if _, ok := totals[r.name]; !ok {
				order = append(order, r.name)
			}
			totals[r.name] += r.size
			encTotals[r.name] += r.enc
			cpuTotals[r.name] += r.encCPU
			fmt.Printf("| %s | %d | %s | %d | %.4f | %.1f (%.1f) | "+
				"%.2f (%.2f) | %d | %d |\n", pair, fi.Size(), r.name,
				r.size, float64(r.size)/float64(max(fi.Size(), 1)),
				r.enc.Seconds(), r.encCPU.Seconds(), r.dec.Seconds(),
				r.decCPU.Seconds(), r.encMem, r.decMem)
		}
		os.Remove(p)
		os.Remove(dec)
	}
	fmt.Println()
	for _, n := range order {
		fmt.Printf("total %s: %d bytes, encode %.1f s (cpu %.1f s)\n", n,
			totals[n], encTotals[n].Seconds(), cpuTotals[n].Seconds())
	}
	return nil
}

// check verifies the decoded file and records the patch size.
func check(rows []result, r result, p, dec string,
	want []byte) ([]result, error) {

	got, err := fileSum(dec)
	if err != nil {
		return rows, err
	}
	if !bytes.Equal(got, want) {
		return rows, fmt.Errorf("%s: decoded sha256 %x, want %x",
			r.name, got, want)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return rows, err
	}
	r.size = fi.Size()
	return append(rows, r), nil
}

func fileSum(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
