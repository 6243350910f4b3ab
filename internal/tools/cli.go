// Package tools holds the command lines of diffah's binaries. Each tool
// is a function from arguments to an exit status, so that the binaries in
// cmd/ and the testscript suite run the same code.
package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"github.com/diffah/diffah/lib/exit"
)

// Env is what a command runs with.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// LogFlags are shared by every tool.
type LogFlags struct {
	Verbose   bool   `short:"v" help:"Log one line per image or layer on stderr."`
	LogFormat string `name:"log-format" enum:"text,json" default:"text" help:"Log format: text or json."`
	TempDir   string `name:"temp-dir" type:"existingdir" help:"Folder for spool files (default: the system's)."`
}

// Logger returns the logger the flags ask for: warnings only, or one
// line per image or layer with -v. Times are left out.
func (f *LogFlags) Logger(stderr io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
	if f.Verbose {
		opts.Level = slog.LevelInfo
	}
	if f.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}

// logFlagsHolder is a command that embeds LogFlags.
type logFlagsHolder interface{ logFlags() *LogFlags }

func (f *LogFlags) logFlags() *LogFlags { return f }

// logFlags returns the LogFlags of the command kctx selected, or of the
// grammar itself for a tool without subcommands; nil if it has none.
func logFlags(kctx *kong.Context, grammar any) *LogFlags {
	if sel := kctx.Selected(); sel != nil && sel.Target.CanAddr() {
		if h, ok := sel.Target.Addr().Interface().(logFlagsHolder); ok {
			return h.logFlags()
		}
	}
	if h, ok := grammar.(logFlagsHolder); ok {
		return h.logFlags()
	}
	return nil
}

// Main parses args for the tool called name and runs it, printing any
// error once on stderr as "name: message". It returns the exit status.
func Main(name, description string, grammar any, args []string) int {
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	parser, err := kong.New(grammar, kong.Name(name),
		kong.Description(description), kong.UsageOnError(),
		kong.Writers(os.Stdout, os.Stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Exit(func(code int) {
			if code != 0 {
				code = exit.UsageErr
			}
			os.Exit(code)
		}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return exit.Internal
	}
	// Paths, names and selectors all travel in JSON records, which
	// cannot carry bytes that are not UTF-8 unchanged.
	for _, arg := range args {
		if !utf8.ValidString(arg) {
			fmt.Fprintf(os.Stderr, "%s: argument %s is not valid UTF-8, "+
				"which diffah's JSON records cannot carry: link the file "+
				"under a UTF-8 name\n", name, printable(arg))
			return exit.UsageErr
		}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s (see %s --help)\n", name,
			printable(err.Error()), name)
		return exit.UsageErr
	}

	// Spool files go to a folder of this run's, inside --temp-dir when
	// one is given, so the next run can remove what a killed one left.
	flags := logFlags(kctx, grammar)
	base := ""
	if flags != nil {
		base = flags.TempDir
	}
	dir, cleanup, err := runTempDir(base)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable(err.Error()))
		return exit.EnvErr
	}
	defer cleanup()
	if flags != nil && flags.TempDir != "" {
		flags.TempDir = dir
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()
	env.Ctx = ctx
	err = kctx.Run(env)
	if err == nil {
		return exit.OK
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "%s: interrupted\n", name)
		return exit.EnvErr
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable(err.Error()))
	return exit.Code(err)
}

// printable escapes what a terminal would act on (control characters
// and invalid UTF-8, as a damaged archive's member names may hold), so
// that an error stays one readable line.
func printable(msg string) string {
	var b strings.Builder
	for i, r := range msg {
		switch {
		case r == utf8.RuneError && len(msg[i:]) > 0 &&
			!strings.HasPrefix(msg[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, "\\x%02x", msg[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// openInput returns stdin for "" or "-", else the named file.
func openInput(env *Env, path string) (io.Reader, string, func(), error) {
	if path == "" || path == "-" {
		return env.Stdin, "stdin", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, exit.Usage(fmt.Errorf("input: %w", err))
	}
	return f, path, func() { f.Close() }, nil
}
