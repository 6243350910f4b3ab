package porcelain

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/diffah/diffah/lib/pack"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/spec"
)

// ExportOptions are diffah export's flags.
type ExportOptions struct {
	Pairs    []spec.Pair
	Platform string
	DryRun   bool
	Output   string
	// IntraLayer, Candidates and Workers are plan's and pack's options.
	IntraLayer string
	Candidates int
	Workers    int
	TempDir    string
	Logger     *slog.Logger
}

// Inputs turns pairs into fingerprint inputs, baseline then target.
func Inputs(pairs []spec.Pair) []fingerprint.Input {
	var in []fingerprint.Input
	for _, p := range pairs {
		in = append(in,
			fingerprint.Input{Name: p.Name, Role: record.RoleBaseline,
				Path: p.Baseline},
			fingerprint.Input{Name: p.Name, Role: record.RoleTarget,
				Path: p.Target})
	}
	return in
}

// Export writes the delta for opts.Pairs to opts.Output (or, with
// DryRun, only reports what would ship) and prints a summary on stdout.
func Export(ctx context.Context, opts ExportOptions, stdout io.Writer) error {
	if len(opts.Pairs) == 0 {
		return exit.Usagef("nothing to export: give --pair or --bundle")
	}
	if err := spec.CheckUnique(opts.Pairs); err != nil {
		return err
	}
	// A dry run stamps nothing, but the real run would refuse it.
	if err := pack.CheckSourceDateEpoch(); err != nil {
		return err
	}
	if !opts.DryRun {
		// Fail before the work, not after it; pack checks again.
		var inputs []string
		for _, p := range opts.Pairs {
			b, _ := image.SplitRef(p.Baseline)
			t, _ := image.SplitRef(p.Target)
			inputs = append(inputs, b, t)
		}
		if err := outpath.File(opts.Output, inputs...); err != nil {
			return err
		}
	}
	fpOpts := fingerprint.Options{Platform: opts.Platform,
		TempDir: opts.TempDir, Logger: opts.Logger}
	stages := []Stage{
		func(_ io.Reader, out io.Writer) error {
			return fingerprint.Run(ctx, Inputs(opts.Pairs), out, fpOpts)
		},
		func(in io.Reader, out io.Writer) error {
			return plan.Run(ctx, in, "fingerprint", out, plan.Options{
				IntraLayer: opts.IntraLayer, Candidates: opts.Candidates,
				Logger: opts.Logger})
		},
	}
	if !opts.DryRun {
		stages = append(stages, func(in io.Reader, out io.Writer) error {
			return pack.Run(ctx, in, "plan", opts.Output, out,
				pack.Options{Workers: opts.Workers, TempDir: opts.TempDir,
					Logger: opts.Logger})
		})
	}
	data, err := pipeline(stages...)
	if err != nil {
		return err
	}
	raws, err := records(data, "pipeline")
	if err != nil {
		return err
	}
	if opts.DryRun {
		return dryRunReport(raws, stdout)
	}
	return exportReport(raws, stdout)
}

func exportReport(raws []*record.Raw, stdout io.Writer) error {
	for _, raw := range raws {
		if raw.Kind != record.KindSummary {
			continue
		}
		var s record.Summary
		if err := raw.Decode("pack", &s); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d image(s), %d blob(s), %s "+
			"(targets %s, savings %s)\n", s.Output, s.Images, s.Blobs,
			bytesText(s.Size), bytesText(s.TargetBytes),
			savings(s.Size, s.TargetBytes))
		return nil
	}
	return fmt.Errorf("pack wrote no summary")
}

func dryRunReport(raws []*record.Raw, stdout io.Writer) error {
	var ship, have, target int64
	var nShip, nHave int
	for _, raw := range raws {
		switch raw.Kind {
		case record.KindImage:
			var img record.Image
			if err := raw.Decode("plan", &img); err != nil {
				return err
			}
			if img.Role == record.RoleTarget {
				target += img.ArchiveSize
			}
		case record.KindBlob:
			var b record.Blob
			if err := raw.Decode("plan", &b); err != nil {
				return err
			}
			if b.Decision == record.DecisionBaseline {
				nHave, have = nHave+1, have+b.Size
				continue
			}
			nShip, ship = nShip+1, ship+b.Size
			fmt.Fprintf(stdout, "%-5s  %s  %10d  %s\n", b.Decision,
				b.Digest, b.Size, b.Source.Member)
		}
	}
	fmt.Fprintf(stdout, "dry run: would ship %d blob(s) of %s at most "+
		"(patches, not yet encoded, can only make that smaller); the "+
		"baseline supplies %d blob(s), %s; targets %s (savings at least "+
		"%s); nothing written\n", nShip, bytesText(ship), nHave,
		bytesText(have), bytesText(target), savings(ship, target))
	return nil
}

func savings(shipped, total int64) string {
	if total <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*(1-float64(shipped)/float64(total)))
}

func bytesText(n int64) string {
	return fmt.Sprintf("%d bytes", n)
}
