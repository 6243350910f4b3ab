package porcelain

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/diffah/diffah/lib/assemble"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/unpack"
)

// ImportOptions are diffah import's flags.
type ImportOptions struct {
	Archive      string
	OutDir       string
	Baselines    map[string]string
	Format       string
	AllowConvert bool
	Strict       bool
	DryRun       bool
	Platform     string
	TempDir      string
	Logger       *slog.Logger
}

// Import rebuilds the images of a delta archive into opts.OutDir (with
// DryRun, only checks that everything needed is reachable) and prints
// a line per image on stdout.
func Import(ctx context.Context, opts ImportOptions, stdout io.Writer) error {
	stages := []Stage{
		func(_ io.Reader, out io.Writer) error {
			return unpack.Run(ctx, opts.Archive, out, unpack.Options{
				Baselines: opts.Baselines, Strict: opts.Strict,
				Platform: opts.Platform, TempDir: opts.TempDir,
				Logger: opts.Logger})
		},
	}
	if !opts.DryRun {
		stages = append(stages, func(in io.Reader, out io.Writer) error {
			return assemble.Run(ctx, in, "unpack", out, assemble.Options{
				OutDir: opts.OutDir, Format: opts.Format,
				AllowConvert: opts.AllowConvert, TempDir: opts.TempDir,
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
	return importReport(raws, stdout)
}

func importReport(raws []*record.Raw, stdout io.Writer) error {
	for _, raw := range raws {
		switch raw.Kind {
		case record.KindSkip:
			var s record.Skip
			if err := raw.Decode("unpack", &s); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: skipped: %s\n", s.Name, s.Reason)
		case record.KindAssembly:
			var a record.Assembly
			if err := raw.Decode("unpack", &a); err != nil {
				return err
			}
			var fromDelta, fromBase int
			for _, b := range a.Blobs {
				if b.From == record.FromBaseline {
					fromBase++
				} else {
					fromDelta++
				}
			}
			fmt.Fprintf(stdout, "%s: ready: %d blob(s) from the delta, "+
				"%d from %s; dry run, nothing written\n", a.Name,
				fromDelta, fromBase, a.Baseline.Path)
		case record.KindResult:
			var r record.Result
			if err := raw.Decode("assemble", &r); err != nil {
				return err
			}
			line := fmt.Sprintf("%s: wrote %s (%s", r.Name, r.Output,
				r.Format)
			if r.SHA256 != "" {
				line += ", " + string(r.SHA256) + " verified"
			}
			fmt.Fprintln(stdout, line+")")
		}
	}
	return nil
}
