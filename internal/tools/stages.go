package tools

import (
	"github.com/diffah/diffah/lib/assemble"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/diffah/diffah/lib/pack"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/porcelain"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/spec"
	"github.com/diffah/diffah/lib/unpack"
)

// Fingerprint is diffah-fingerprint.
func Fingerprint(args []string) int {
	return Main("diffah-fingerprint", "Describe image archives as JSON "+
		"lines: manifests, configs, layers and every layer's tar entries.",
		&fingerprintCmd{}, args)
}

type fingerprintCmd struct {
	Pair     []string `name:"pair" sep:"none" placeholder:"NAME=BASELINE,TARGET" help:"An image pair (repeatable)."`
	Bundle   string   `name:"bundle" type:"existingfile" help:"A bundle spec file: {\"pairs\":[{\"name\",\"baseline\",\"target\"}]}."`
	Baseline []string `name:"baseline" sep:"none" placeholder:"NAME=PATH" help:"Describe only a baseline image (repeatable)."`
	Target   []string `name:"target" sep:"none" placeholder:"NAME=PATH" help:"Describe only a target image (repeatable)."`
	Platform string   `name:"platform" placeholder:"OS/ARCH[/VARIANT]" help:"Platform to pick from a multi-platform image."`
	LogFlags
}

func (c *fingerprintCmd) Run(env *Env) error {
	pairs, err := pairsFrom(c.Pair, c.Bundle)
	if err != nil {
		return err
	}
	inputs := porcelain.Inputs(pairs)
	for _, role := range []struct {
		name string
		args []string
	}{{record.RoleBaseline, c.Baseline}, {record.RoleTarget, c.Target}} {
		for _, arg := range role.args {
			name, path, err := spec.ParseBaseline(arg)
			if err != nil {
				return err
			}
			inputs = append(inputs, fingerprint.Input{Name: name,
				Role: role.name, Path: path})
		}
	}
	if len(inputs) == 0 {
		return exit.Usagef("nothing to describe: give --pair, --bundle, " +
			"--baseline or --target")
	}
	return fingerprint.Run(env.Ctx, inputs, env.Stdout, fingerprint.Options{
		Platform: c.Platform, TempDir: c.TempDir,
		Logger: c.Logger(env.Stderr)})
}

// pairsFrom gathers --pair flags and a --bundle file.
func pairsFrom(pairFlags []string, bundle string) ([]spec.Pair, error) {
	var pairs []spec.Pair
	for _, arg := range pairFlags {
		p, err := spec.ParsePair(arg)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	if bundle != "" {
		more, err := spec.ReadBundle(bundle)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, more...)
	}
	return pairs, spec.CheckUnique(pairs)
}

// Plan is diffah-plan.
func Plan(args []string) int {
	return Main("diffah-plan", "Decide, for every target blob, whether "+
		"the consumer's baseline has it or it ships.", &planCmd{}, args)
}

type planCmd struct {
	Input string `arg:"" optional:"" help:"Fingerprint records (default: stdin)."`
	patchFlags
	LogFlags
}

func (f *patchFlags) check() error {
	if f.Candidates < 1 {
		return exit.Usagef("--candidates %d: want 1 or more", f.Candidates)
	}
	return nil
}

// patchFlags choose intra-layer patches.
type patchFlags struct {
	IntraLayer string `name:"intra-layer" enum:"off,auto,required" default:"auto" help:"Patch changed layers against baseline layers: off, auto or required (the codec is built in, so auto and required both patch; a patch ships only when smaller than the layer)."`
	Candidates int    `name:"candidates" default:"3" help:"Baseline layers to try as patch references, best first."`
}

func (c *planCmd) Run(env *Env) error {
	if err := c.check(); err != nil {
		return err
	}
	in, name, done, err := openInput(env, c.Input)
	if err != nil {
		return err
	}
	defer done()
	return plan.Run(env.Ctx, in, name, env.Stdout, plan.Options{
		IntraLayer: c.IntraLayer, Candidates: c.Candidates,
		Logger: c.Logger(env.Stderr)})
}

// Pack is diffah-pack.
func Pack(args []string) int {
	return Main("diffah-pack", "Write the delta archive a plan describes.",
		&packCmd{}, args)
}

type packCmd struct {
	Output  string `arg:"" help:"The delta archive to write."`
	Input   string `short:"i" name:"input" help:"Plan records (default: stdin)."`
	Workers int    `name:"workers" default:"0" help:"Patches encoded at once (0: one per core)."`
	LogFlags
}

func (c *packCmd) Run(env *Env) error {
	if c.Workers < 0 {
		return exit.Usagef("--workers %d: want 0 or more", c.Workers)
	}
	if c.Input != "" && c.Input != "-" && outpath.Same(c.Input, c.Output) {
		return exit.Usagef("output %s would replace the input %s",
			c.Output, c.Input)
	}
	in, name, done, err := openInput(env, c.Input)
	if err != nil {
		return err
	}
	defer done()
	return pack.Run(env.Ctx, in, name, c.Output, env.Stdout,
		pack.Options{Workers: c.Workers, TempDir: c.TempDir,
			Logger: c.Logger(env.Stderr)})
}

// Unpack is diffah-unpack.
func Unpack(args []string) int {
	return Main("diffah-unpack", "Check a delta archive against the "+
		"baselines and describe how to rebuild each image.", &unpackCmd{},
		args)
}

type baselineFlags struct {
	Baseline     []string `name:"baseline" sep:"none" placeholder:"NAME=PATH" help:"The baseline of image NAME (repeatable)."`
	BaselineSpec string   `name:"baseline-spec" type:"existingfile" help:"A spec file: {\"baselines\":{\"NAME\":\"PATH\"}}."`
	Strict       bool     `name:"strict" help:"Fail when an image of the delta has no baseline (default: skip it with a warning)."`
	Platform     string   `name:"platform" placeholder:"OS/ARCH[/VARIANT]" help:"Platform to pick from a multi-platform baseline."`
}

func (f *baselineFlags) baselines() (map[string]string, error) {
	out := map[string]string{}
	if f.BaselineSpec != "" {
		m, err := spec.ReadBaselines(f.BaselineSpec)
		if err != nil {
			return nil, err
		}
		out = m
	}
	fromFlags := map[string]bool{}
	for _, arg := range f.Baseline {
		name, path, err := spec.ParseBaseline(arg)
		if err != nil {
			return nil, err
		}
		if fromFlags[name] {
			return nil, exit.Usagef("--baseline: image name %q given "+
				"twice", name)
		}
		if _, inSpec := out[name]; inSpec {
			return nil, exit.Usagef("--baseline: image name %q is also "+
				"in %s", name, f.BaselineSpec)
		}
		fromFlags[name] = true
		out[name] = path
	}
	return out, nil
}

type unpackCmd struct {
	Archive string `arg:"" type:"existingfile" help:"The delta archive."`
	baselineFlags
	LogFlags
}

func (c *unpackCmd) Run(env *Env) error {
	baselines, err := c.baselines()
	if err != nil {
		return err
	}
	return unpack.Run(env.Ctx, c.Archive, env.Stdout, unpack.Options{
		Baselines: baselines, Strict: c.Strict, Platform: c.Platform,
		TempDir: c.TempDir, Logger: c.Logger(env.Stderr)})
}

// Assemble is diffah-assemble.
func Assemble(args []string) int {
	return Main("diffah-assemble", "Rebuild and verify the images "+
		"described by assembly records.", &assembleCmd{}, args)
}

type outputFlags struct {
	OutputFormat string `name:"output-format" enum:"auto,docker-archive,oci-archive,dir" default:"auto" help:"auto (the producer's exact file), docker-archive, oci-archive or dir."`
	AllowConvert bool   `name:"allow-convert" help:"Allow an output format that changes the image's digests."`
}

type assembleCmd struct {
	OutDir string `arg:"" name:"outdir" help:"Folder for OUTDIR/<name>.tar or OUTDIR/<name>/."`
	Input  string `short:"i" name:"input" help:"Assembly records (default: stdin)."`
	outputFlags
	LogFlags
}

func (c *assembleCmd) Run(env *Env) error {
	in, name, done, err := openInput(env, c.Input)
	if err != nil {
		return err
	}
	defer done()
	return assemble.Run(env.Ctx, in, name, env.Stdout, assemble.Options{
		OutDir: c.OutDir, Format: c.OutputFormat,
		AllowConvert: c.AllowConvert, TempDir: c.TempDir,
		Logger: c.Logger(env.Stderr)})
}
