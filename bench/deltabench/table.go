package main

import (
	"fmt"
	"strings"
	"time"
)

const mib = 1 << 20

func printHeader() {
	fmt.Println("| pair | target bytes | zstd patch bytes | zstd s (cpu) " +
		"| zstd MiB | diffah layer as | diffah layer bytes " +
		"| diffah patch bytes | delta bytes | export s (cpu) " +
		"| export MiB | import s (cpu) | import MiB | rebuilt |")
	fmt.Println("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|" +
		"---:|---:|---:|---|")
}

func printRow(r row) {
	zBytes, zTime, zMem := "-", "-", "-"
	if r.zstdBytes >= 0 {
		zBytes = fmt.Sprint(r.zstdBytes)
		zTime = seconds(r.zstd)
		zMem = fmt.Sprint(r.zstd.maxRSS / mib)
	}
	rebuilt := "sha256 equal"
	if !r.exact {
		rebuilt = "DIFFERS"
	}
	cells := []string{r.pair, fmt.Sprint(r.targetBytes), zBytes, zTime,
		zMem, r.layerAs, fmt.Sprint(r.layerBytes),
		fmt.Sprint(r.patchBytes), fmt.Sprint(r.deltaBytes),
		seconds(r.export), fmt.Sprint(r.export.maxRSS / mib),
		seconds(r.imp), fmt.Sprint(r.imp.maxRSS / mib), rebuilt}
	fmt.Println("| " + strings.Join(cells, " | ") + " |")
}

// seconds formats wall time and CPU time.
func seconds(u usage) string {
	return fmt.Sprintf("%.1f (%.1f)", u.wall.Seconds(), u.cpu.Seconds())
}

// printRatios prints the two "Done when" ratios of issue #3 from the
// total row: bytes of diffah against the zstd CLI, and export time
// against the CLI's time.
func printRatios(rows []row, t row, withZstd bool) {
	if !withZstd || t.zstdBytes <= 0 {
		fmt.Println("ratios: not computed (zstd was not measured)")
		return
	}
	ratio := func(a, b int64) string {
		return fmt.Sprintf("%.4f", float64(a)/float64(b))
	}
	fmt.Printf("diffah delta bytes / zstd patch bytes, all pairs: "+
		"%d / %d = %s\n", t.deltaBytes, t.zstdBytes,
		ratio(t.deltaBytes, t.zstdBytes))
	fmt.Printf("diffah layer bytes (patch or whole, as stored) / zstd "+
		"patch bytes: %d / %d = %s\n", t.layerBytes, t.zstdBytes,
		ratio(t.layerBytes, t.zstdBytes))

	// Patches alone, on the pairs where diffah shipped a patch.
	var patched []string
	var patchBytes, zstdBytes int64
	for _, r := range rows {
		if r.layerAs == "patch" {
			patched = append(patched, r.pair)
			patchBytes += r.patchBytes
			zstdBytes += r.zstdBytes
		}
	}
	if zstdBytes > 0 {
		fmt.Printf("diffah patch bytes / zstd patch bytes, pairs diffah "+
			"patched (%s): %d / %d = %s\n", strings.Join(patched, ", "),
			patchBytes, zstdBytes, ratio(patchBytes, zstdBytes))
	}

	fmt.Printf("diffah export time / zstd time: wall %.1f / %.1f s = "+
		"%.2f, cpu %.1f / %.1f s = %.2f\n", t.export.wall.Seconds(),
		t.zstd.wall.Seconds(), over(t.export.wall, t.zstd.wall),
		t.export.cpu.Seconds(), t.zstd.cpu.Seconds(),
		over(t.export.cpu, t.zstd.cpu))

	fmt.Println("per pair, diffah over zstd: layer bytes; export wall; " +
		"export cpu")
	for _, r := range rows {
		if r.zstdBytes <= 0 {
			continue
		}
		fmt.Printf("  %s: %s; %.2f; %.2f\n", r.pair,
			ratio(r.layerBytes, r.zstdBytes), over(r.export.wall,
				r.zstd.wall), over(r.export.cpu, r.zstd.cpu))
	}
}

// over divides two durations.
func over(a, b time.Duration) float64 {
	return a.Seconds() / max(b.Seconds(), 1e-9)
}
