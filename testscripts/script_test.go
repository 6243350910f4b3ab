// Package testscripts runs diffah's end-to-end scripts: every file
// testscripts/*.txtar is one behaviour of one tool, run by testscript
// with the six tools on $PATH and the commands below.
//
// Commands added to testscript's own:
//
//	mkimage [flags] OUT       write a test image built by lib/imagebuild
//	exitcode N CMD [ARGS...]  run CMD; fail unless its exit status is N
//	sha256eq A B              the two files have the same SHA-256
//	treeeq A B                two folders hold the same paths and bytes
//	lsdir DIR [NAMES...]      DIR holds exactly NAMES (missing = empty)
//	corrupt FILE [MEMBER]     flip one byte inside a tar member's data
//	truncate FILE N           cut FILE to N bytes (N may be "half")
//	skopeo-same FMT A B       skopeo sees the same config and layers
//	untar TAR MEMBER OUT      copy one member of a tar to the file OUT
//	decompress IN OUT         undo whole-file gzip or zstd compression
//	tarsed TAR MEMBER OLD NEW replace text in one member, rewriting TAR
//	tarhas TAR MEMBER         TAR has a member named MEMBER (! negates)
//
// Conditions: [upstream] holds when the shared fixtures exist; their
// absolute path is then in $UPSTREAM.
package testscripts

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/diffah/diffah/internal/tools"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers the six tools as commands the scripts run with
// exec: testscript re-executes this test binary as each of them.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"diffah":             func() { os.Exit(tools.Diffah(os.Args[1:])) },
		"diffah-fingerprint": func() { os.Exit(tools.Fingerprint(os.Args[1:])) },
		"diffah-plan":        func() { os.Exit(tools.Plan(os.Args[1:])) },
		"diffah-pack":        func() { os.Exit(tools.Pack(os.Args[1:])) },
		"diffah-unpack":      func() { os.Exit(tools.Unpack(os.Args[1:])) },
		"diffah-assemble":    func() { os.Exit(tools.Assemble(os.Args[1:])) },
	})
}

// upstreamDir is the shared folder of archives written by another tool,
// relative to this package (the repository root's sibling "shared").
// $DIFFAH_UPSTREAM_FIXTURES names another folder instead.
const upstreamDir = "../../shared/fixtures/upstream-diffah"

func TestScripts(t *testing.T) {
	dir := upstreamDir
	if env := os.Getenv("DIFFAH_UPSTREAM_FIXTURES"); env != "" {
		dir = env
	}
	upstream, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("upstream fixtures: %v", err)
	}
	_, statErr := os.Stat(filepath.Join(upstream, "SHA256SUMS"))
	haveUpstream := statErr == nil

	testscript.Run(t, testscript.Params{
		Dir: ".",
		Setup: func(env *testscript.Env) error {
			env.Setenv("UPSTREAM", upstream)
			// skopeo wants a home for its configuration.
			env.Setenv("HOME", filepath.Join(env.WorkDir, ".home"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "upstream" {
				return haveUpstream, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"mkimage":     cmdMkimage,
			"exitcode":    cmdExitcode,
			"sha256eq":    cmdSHA256Eq,
			"treeeq":      cmdTreeEq,
			"lsdir":       cmdLsdir,
			"corrupt":     cmdCorrupt,
			"truncate":    cmdTruncate,
			"skopeo-same": cmdSkopeoSame,
			"untar":       cmdUntar,
			"decompress":  cmdDecompress,
			"tarsed":      cmdTarsed,
			"tarhas":      cmdTarhas,
		},
	})
}

// cmdExitcode runs a program as exec does, keeping its stdout and
// stderr for the next commands, and asserts its exact exit status.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("exitcode: no ! form; give the status wanted")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: status %q: want a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			ts.Fatalf("exitcode: run %s: %v", args[1], err)
		}
		got = exitErr.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s: exit status %d, want %d", args[1], got, want)
	}
}

// cmdSHA256Eq asserts that two files have equal (or, with !, different)
// SHA-256 digests.
func cmdSHA256Eq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sha256eq FILE1 FILE2")
	}
	a, b := fileSHA256(ts, args[0]), fileSHA256(ts, args[1])
	switch {
	case !neg && a != b:
		ts.Fatalf("sha256 of %s is %s, of %s is %s; want equal",
			args[0], a, args[1], b)
	case neg && a == b:
		ts.Fatalf("sha256 of %s and %s are both %s; want different",
			args[0], args[1], a)
	}
}

func fileSHA256(ts *testscript.TestScript, name string) string {
	f, err := os.Open(ts.MkAbs(name))
	ts.Check(err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	ts.Check(err)
	return hex.EncodeToString(h.Sum(nil))
}

// cmdTreeEq asserts that two folders hold the same relative paths, file
// types and file bytes.
func cmdTreeEq(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: treeeq DIR1 DIR2")
	}
	a, b := treeDigest(ts, args[0]), treeDigest(ts, args[1])
	for _, p := range sortedKeys(a, b) {
		if a[p] != b[p] {
			ts.Fatalf("%s: %q in %s, %q in %s", p, a[p], args[0],
				b[p], args[1])
		}
	}
}

func treeDigest(ts *testscript.TestScript, dir string) map[string]string {
	root := ts.MkAbs(dir)
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry,
		err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir():
			out[rel] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "symlink " + target
			return err
		default:
			out[rel] = "file " + fileSHA256(ts, p)
		}
		return nil
	})
	ts.Check(err)
	return out
}

func sortedKeys(maps ...map[string]string) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// cmdLsdir asserts that a folder holds exactly the names given, hidden
// ones included; a missing folder holds nothing. It catches temporary
// files a failed or dry run leaves behind.
func cmdLsdir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: lsdir DIR [NAMES...]")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		ts.Fatalf("lsdir: %v", err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := slices.Clone(args[1:])
	slices.Sort(want)
	if !slices.Equal(got, want) {
		ts.Fatalf("%s holds %q, want %q", args[0], got, want)
	}
}

// cmdCorrupt flips one byte in the middle of a tar member's data, in
// place: the member named, or else the largest one under "blobs/".
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: corrupt FILE [MEMBER]")
	}
	path := ts.MkAbs(args[0])
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	ts.Check(err)
	defer f.Close()

	// Find the member and the offset of its data.
	var name string
	var offset, size int64
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		ts.Check(err)
		pos, err := f.Seek(0, io.SeekCurrent)
		ts.Check(err)
		// archive/tar reads whole 512-byte blocks, so pos is where the
		// data starts.
		if len(args) == 2 && hdr.Name == args[1] ||
			len(args) == 1 && strings.HasPrefix(hdr.Name, "blobs/") &&
				hdr.Size > size {
			name, offset, size = hdr.Name, pos, hdr.Size
		}
	}
	if size == 0 {
		ts.Fatalf("corrupt: no member with data to flip in %s", args[0])
	}

	at := offset + size/2
	b := make([]byte, 1)
	_, err = f.ReadAt(b, at)
	ts.Check(err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, at)
	ts.Check(err)
	ts.Logf("corrupt: flipped byte %d of member %s", size/2, name)
}

// cmdTruncate cuts a file to N bytes, to half its size, or, with -N, by
// N bytes from its end.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N|-N|half")
	}
	path := ts.MkAbs(args[0])
	st, err := os.Stat(path)
	ts.Check(err)
	n := st.Size() / 2
	if args[1] != "half" {
		n, err = strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
	}
	if n < 0 {
		n += st.Size()
	}
	if n < 0 {
		ts.Fatalf("truncate: %s has %d bytes, fewer than %s", args[0],
			st.Size(), args[1][1:])
	}
	ts.Check(os.Truncate(path, n))
}

// cmdSkopeoSame checks two images with skopeo. It copies each to a
// scratch OCI layout, which makes skopeo read and verify every blob, and
// compares what "skopeo inspect --raw" shows: the config digests always;
// the layer digests when both images use the same kind of transport
// (skopeo shows a docker-archive's layers by their uncompressed digests,
// an OCI image's as stored); the manifest digests when both are OCI.
// FMT is the transport of both (docker-archive, oci-archive or oci); an
// argument written TRANSPORT:PATH uses its own.
func cmdSkopeoSame(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: skopeo-same FORMAT IMAGE1 IMAGE2")
	}
	a := skopeoInspect(ts, args[0], args[1])
	b := skopeoInspect(ts, args[0], args[2])
	if a.config != b.config {
		ts.Fatalf("config: %s in %s, %s in %s", a.config, args[1],
			b.config, args[2])
	}
	if a.oci == b.oci && !slices.Equal(a.layers, b.layers) {
		ts.Fatalf("layers: %s in %s, %s in %s", a.layers, args[1],
			b.layers, args[2])
	}
	if a.oci && b.oci && a.manifest != b.manifest {
		ts.Fatalf("manifest: %s in %s, %s in %s", a.manifest, args[1],
			b.manifest, args[2])
	}
	ts.Logf("skopeo: same config %s, %d layers", a.config, len(a.layers))
}

type skopeoView struct {
	oci      bool
	manifest string
	config   string
	layers   []string
}

// skopeoRuns numbers the scratch layouts of skopeoInspect.
var skopeoRuns atomic.Int64

func skopeoInspect(ts *testscript.TestScript, format,
	arg string) skopeoView {
	transport, path := format, arg
	for _, t := range []string{"docker-archive", "oci-archive", "oci"} {
		if rest, ok := strings.CutPrefix(arg, t+":"); ok {
			transport, path = t, rest
		}
	}
	ref := transport + ":" + ts.MkAbs(path)
	scratch := filepath.Join(ts.Getenv("WORK"), ".skopeo",
		strconv.FormatInt(skopeoRuns.Add(1), 10))
	ts.Check(os.MkdirAll(scratch, 0o755))
	raw := runSkopeo(ts, "inspect", "--raw", ref)
	runSkopeo(ts, "--insecure-policy", "copy", "--quiet", ref,
		"oci:"+scratch)

	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		ts.Fatalf("skopeo manifest of %s: %v", arg, err)
	}
	sum := sha256.Sum256(raw)
	v := skopeoView{
		oci:      transport != "docker-archive",
		manifest: "sha256:" + hex.EncodeToString(sum[:]),
		config:   m.Config.Digest,
	}
	for _, l := range m.Layers {
		v.layers = append(v.layers, l.Digest)
	}
	if v.config == "" || len(v.layers) == 0 {
		ts.Fatalf("skopeo manifest of %s: no config or no layers: %s",
			arg, raw)
	}
	return v
}

func runSkopeo(ts *testscript.TestScript, args ...string) []byte {
	cmd := exec.Command("skopeo", args...)
	cmd.Env = append(os.Environ(), "HOME="+ts.Getenv("HOME"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err,
			stderr.Bytes())
	}
	return out
}

// cmdMkimage writes a test image with lib/imagebuild. See mkimageUsage.
func cmdMkimage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("mkimage: no ! form")
	}
	fset := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var o mkimageOptions
	fset.IntVar(&o.version, "version", 1, "")
	fset.StringVar(&o.format, "format", "docker-legacy", "")
	fset.StringVar(&o.layers, "layers", "auto", "")
	fset.StringVar(&o.manifest, "manifest", "oci", "")
	fset.StringVar(&o.repoTags, "repotags", "", "")
	fset.BoolVar(&o.empty, "empty", false, "")
	fset.BoolVar(&o.dup, "dup", false, "")
	fset.Func("tag", "", func(s string) error {
		o.tags = append(o.tags, s)
		return nil
	})
	fset.Func("image", "", func(s string) error {
		o.images = append(o.images, s)
		return nil
	})
	fset.Func("platform", "", func(s string) error {
		o.platforms = append(o.platforms, s)
		return nil
	})
	fset.SetOutput(io.Discard)
	if err := fset.Parse(args); err != nil || fset.NArg() != 1 {
		ts.Fatalf("mkimage: %v\n%s", err, mkimageUsage)
	}
	if err := writeImage(ts.MkAbs(fset.Arg(0)), o); err != nil {
		ts.Fatalf("mkimage %s: %v", fset.Arg(0), err)
	}
}

// cmdUntar copies one member of a tar file to a file, so that scripts
// can grep a member rather than a whole binary archive.
func cmdUntar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: untar TAR MEMBER OUT")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			ts.Fatalf("untar: %s has no member %s", args[0], args[1])
		}
		ts.Check(err)
		if hdr.Name == args[1] {
			data, err := io.ReadAll(tr)
			ts.Check(err)
			ts.Check(os.WriteFile(ts.MkAbs(args[2]), data, 0o644))
			return
		}
	}
}

// cmdDecompress undoes the whole-file gzip or zstd compression of IN,
// detected by its magic bytes, writing OUT.
func cmdDecompress(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: decompress IN OUT")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var r io.Reader
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		ts.Check(err)
		r = zr
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(bytes.NewReader(data))
		ts.Check(err)
		defer zr.Close()
		r = zr
	default:
		ts.Fatalf("decompress: %s is neither gzip nor zstd", args[0])
	}
	out, err := io.ReadAll(r)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), out, 0o644))
}

// cmdTarsed replaces every OLD with NEW in one member of a tar file and
// rewrites the tar with that member's new size, keeping every other
// header and byte.
func cmdTarsed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: tarsed TAR MEMBER OLD NEW")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	members, err := readTar(data)
	ts.Check(err)
	found := false
	for i, m := range members {
		if m.hdr.Name != args[1] {
			continue
		}
		if !bytes.Contains(m.data, []byte(args[2])) {
			ts.Fatalf("tarsed: member %s holds no %q", args[1], args[2])
		}
		members[i].data = bytes.ReplaceAll(m.data, []byte(args[2]),
			[]byte(args[3]))
		found = true
	}
	if !found {
		ts.Fatalf("tarsed: %s has no member %s", args[0], args[1])
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		m.hdr.Size = int64(len(m.data))
		ts.Check(tw.WriteHeader(m.hdr))
		_, err := tw.Write(m.data)
		ts.Check(err)
	}
	ts.Check(tw.Close())
	ts.Check(os.WriteFile(path, buf.Bytes(), 0o644))
}

// cmdTarhas asserts that a tar holds (or, with !, lacks) a member.
func cmdTarhas(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: tarhas TAR MEMBER")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	tr := tar.NewReader(f)
	found := false
	for !found {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		ts.Check(err)
		found = hdr.Name == args[1]
	}
	switch {
	case found && neg:
		ts.Fatalf("%s has member %s", args[0], args[1])
	case !found && !neg:
		ts.Fatalf("%s has no member %s", args[0], args[1])
	}
}
