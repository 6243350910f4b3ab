package tools

import (
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/diffah/diffah/lib/porcelain"
)

// Diffah is the diffah porcelain.
func Diffah(args []string) int {
	return Main("diffah", "Move container images across air gaps as "+
		"small deltas.", &diffahCmd{}, args)
}

type diffahCmd struct {
	Export  exportCmd  `cmd:"" help:"Write a delta archive from baseline and target images."`
	Import  importCmd  `cmd:"" help:"Rebuild target images from a delta archive and baselines."`
	Inspect inspectCmd `cmd:"" help:"Describe a delta archive."`
}

type exportCmd struct {
	Pair     []string `name:"pair" sep:"none" placeholder:"NAME=BASELINE,TARGET" help:"An image pair (repeatable)."`
	Bundle   string   `name:"bundle" type:"existingfile" help:"A bundle spec file: {\"pairs\":[{\"name\",\"baseline\",\"target\"}]}."`
	Platform string   `name:"platform" placeholder:"OS/ARCH[/VARIANT]" help:"Platform to pick from multi-platform images."`
	DryRun   bool     `name:"dry-run" help:"Print what would ship and the savings; write nothing."`
	Output   string   `arg:"" help:"The delta archive to write."`
	patchFlags
	Workers int `name:"workers" default:"0" help:"Patches encoded at once (0: one per core)."`
	LogFlags
}

func (c *exportCmd) Run(env *Env) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.Workers < 0 {
		return exit.Usagef("--workers %d: want 0 or more", c.Workers)
	}
	pairs, err := pairsFrom(c.Pair, c.Bundle)
	if err != nil {
		return err
	}
	if c.Bundle != "" && outpath.Same(c.Bundle, c.Output) {
		return exit.Usagef("output %s would replace the input %s",
			c.Output, c.Bundle)
	}
	return porcelain.Export(env.Ctx, porcelain.ExportOptions{
		Pairs: pairs, Platform: c.Platform, DryRun: c.DryRun,
		Output: c.Output, IntraLayer: c.IntraLayer,
		Candidates: c.Candidates, Workers: c.Workers, TempDir: c.TempDir,
		Logger: c.Logger(env.Stderr)}, env.Stdout)
}

type importCmd struct {
	Archive string `arg:"" type:"existingfile" help:"The delta archive."`
	OutDir  string `arg:"" name:"outdir" help:"Folder for OUTDIR/<name>.tar or OUTDIR/<name>/."`
	baselineFlags
	outputFlags
	DryRun bool `name:"dry-run" help:"Check that every needed blob is reachable; write nothing."`
	LogFlags
}

func (c *importCmd) Run(env *Env) error {
	baselines, err := c.baselines()
	if err != nil {
		return err
	}
	return porcelain.Import(env.Ctx, porcelain.ImportOptions{
		Archive: c.Archive, OutDir: c.OutDir, Baselines: baselines,
		Format: c.OutputFormat, AllowConvert: c.AllowConvert,
		Strict: c.Strict, DryRun: c.DryRun, Platform: c.Platform,
		TempDir: c.TempDir, Logger: c.Logger(env.Stderr)}, env.Stdout)
}

type inspectCmd struct {
	Archive string `arg:"" type:"existingfile" help:"The delta archive."`
	JSON    bool   `name:"json" help:"Print one JSON document."`
}

func (c *inspectCmd) Run(env *Env) error {
	return porcelain.Inspect(c.Archive, c.JSON, env.Stdout)
}
