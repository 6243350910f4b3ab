// Package assemble implements diffah-assemble: it rebuilds each image
// that diffah-unpack described and writes it atomically.
//
// Formats:
//
//	auto            the producer's archive file, byte for byte, replayed
//	                from its skeleton (an OCI layout directory is written
//	                again as one); the whole file's SHA-256 is checked
//	docker-archive  written by diffah's own writer (Docker 25 layout)
//	oci-archive     written by diffah's own writer
//	dir             an OCI layout directory
//
// A docker-archive target written as OCI, or the reverse, changes the
// manifest digest and is refused unless AllowConvert is set. Archives go
// to OUTDIR/<name>.tar and directories to OUTDIR/<name>/. Every blob is
// checked against its digest as it streams. Each image is rebuilt under
// a temporary name in OUTDIR; only when every image of the stream is
// rebuilt and the stream has ended are they all moved into place, so a
// run that fails leaves OUTDIR as it was.
package assemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/digestio"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/imagewrite"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/diffah/diffah/lib/patch"
	"github.com/diffah/diffah/lib/record"
	"github.com/diffah/diffah/lib/skeleton"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tool names this stage in the records' header.
const Tool = "diffah-assemble"

// The output formats.
const (
	FormatAuto   = "auto"
	FormatDocker = "docker-archive"
	FormatOCI    = "oci-archive"
	FormatDir    = "dir"
)

// emptyBlob is the digest of zero bytes.
var emptyBlob = digest.FromBytes(nil)

// maxJSON bounds a manifest or config read into memory.
const maxJSON = 4 << 20

// Options tune Run.
type Options struct {
	OutDir       string
	Format       string
	AllowConvert bool
	TempDir      string
	Logger       *slog.Logger
}

// Run reads assembly records from in and writes a result record per
// rebuilt image to out. Skip records and unknown kinds pass through at
// once; the result records follow at the end of the stream, once every
// image is in place. Outputs appear only if the whole run succeeds. A
// record missing a required field, or a second record for a name, is a
// content error naming the line.
func Run(ctx context.Context, in io.Reader, inName string, out io.Writer,
	opts Options) (runErr error) {

	if opts.Format == "" {
		opts.Format = FormatAuto
	}
	if opts.OutDir == "" {
		return exit.Usagef("output folder: empty path")
	}
	switch opts.Format {
	case FormatAuto, FormatDocker, FormatOCI, FormatDir:
	default:
		return exit.Usagef("output format %q: want auto, docker-archive, "+
			"oci-archive or dir", opts.Format)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := record.NewWriter(out, Tool)
	if err != nil {
		return err
	}
	if opts.OutDir, err = filepath.Abs(opts.OutDir); err != nil {
		return exit.IO(err)
	}
	if err := outpath.Folder(opts.OutDir); err != nil {
		return err
	}

	// OUTDIR is made when the first image is written; a run that fails
	// removes it again if it made it and left it empty.
	if _, err := os.Stat(opts.OutDir); errors.Is(err, fs.ErrNotExist) {
		defer func() {
			if runErr != nil {
				os.Remove(opts.OutDir)
			}
		}()
	}

	// Rebuilt images wait under temporary names until the stream ends.
	var pending []*output
	defer func() {
		for _, p := range pending {
			p.discard()
		}
	}()
	// The line of each image's record: a second one for a name would
	// write OUTDIR/<name> again.
	lineOf := map[string]int{}
	r := record.NewReader(in, inName)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := r.Next()
		if err == io.EOF {
			return commit(pending, w, log)
		}
		if err != nil {
			return err
		}
		if raw.Kind != record.KindAssembly {
			if err := w.WriteRaw(raw.Data); err != nil {
				return err
			}
			continue
		}
		var rec record.Assembly
		if err := raw.Decode(inName, &rec); err != nil {
			return err
		}
		if err := checkAssembly(raw, &rec, inName); err != nil {
			return err
		}
		if first, ok := lineOf[rec.Name]; ok {
			return exit.Contentf("%s: line %d: a second assembly record "+
				"for image %q, want one per image (the first is on line "+
				"%d)", inName, raw.Line, rec.Name, first)
		}
		lineOf[rec.Name] = raw.Line
		o, err := rebuild(ctx, &rec, opts)
		if err != nil {
			return fmt.Errorf("image %q: %w", rec.Name, err)
		}
		pending = append(pending, o)
		log.Info("rebuilt", "image", rec.Name)
	}
}

// output is a rebuilt, verified image waiting in OUTDIR under a
// temporary name.
type output struct {
	result  *record.Result
	move    func() error // moves it to result.Output
	discard func()       // removes what is left: it, or what it replaced
}

// commit moves every rebuilt image into place, in stream order, and
// writes their result records. Run's discards then remove what the
// moves replaced, only once every image is in place: the moves follow
// one another as closely as they can.
//
// BUG: a rename that fails part way (a folder replaced under us) leaves
// the images before it in place; renames within one folder do not fail
// for want of space.
func commit(pending []*output, w *record.Writer, log *slog.Logger) error {
	for _, p := range pending {
		if err := p.move(); err != nil {
			return err
		}
		log.Info("wrote", "image", p.result.Name, "output", p.result.Output)
	}
	for _, p := range pending {
		if err := w.Write(p.result); err != nil {
			return err
		}
	}
	return nil
}

// source serves the blobs of one image from the delta and the baseline.
type source struct {
	ctx     context.Context
	tempDir string
	delta   *delta.Archive
	base    *image.Archive
	blobs   map[digest.Digest]record.AssemblyBlob
}

func (s *source) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	b, ok := s.blobs[d]
	if !ok && d == emptyBlob {
		// A zero-byte layer has no content member to ship or find.
		return io.NopCloser(strings.NewReader("")), nil
	}
	if !ok {
		return nil, exit.Contentf("blob %s is not part of the image", d)
	}
	switch {
	case b.From == record.FromDelta && b.Encoding == delta.EncodingFull:
		return s.delta.OpenStored(b.Stored)
	case b.From == record.FromBaseline && s.base != nil:
		rc, err := s.base.OpenBlob(d)
		if err != nil {
			return nil, err
		}
		return digestio.NewReader(rc, "baseline blob "+string(d), d,
			b.Size), nil
	case b.From == record.FromDelta && b.Encoding == delta.EncodingPatch:
		return s.decodePatch(b)
	}
	return nil, exit.Contentf("blob %s: cannot read %s blob encoded %q",
		d, b.From, b.Encoding)
}

// decodePatch rebuilds a patched blob into a spool file, checks its
// digest, and returns a reader of it that removes the file on Close.
func (s *source) decodePatch(b record.AssemblyBlob) (io.ReadCloser, error) {
	if b.Codec != delta.CodecPatchV1 {
		return nil, exit.Contentf("blob %s: codec %q, this diffah reads %q",
			b.Digest, b.Codec, delta.CodecPatchV1)
	}
	if s.base == nil {
		return nil, exit.Contentf("blob %s: a patch needs the baseline",
			b.Digest)
	}
	ref, refSize, closer, err := s.base.BlobReaderAt(b.PatchRef)
	if err != nil {
		return nil, fmt.Errorf("patch reference of %s: %w", b.Digest, err)
	}
	defer closer.Close()
	patchBytes, err := s.delta.OpenStored(b.Stored)
	if err != nil {
		return nil, err
	}
	defer patchBytes.Close()

	f, err := os.CreateTemp(s.tempDir, "diffah-blob-*")
	if err != nil {
		return nil, exit.IO(fmt.Errorf("spooling blob %s: %w", b.Digest,
			err))
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// The sidecar's size bounds what the patch may write, whatever the
	// patch itself declares.
	verifier := b.Digest.Verifier()
	out := &boundedWriter{w: io.MultiWriter(f, verifier), left: b.Size,
		what: "blob " + string(b.Digest)}
	err = patch.Decode(s.ctx, out, ref, refSize, patchBytes)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", b.Digest, err)
	}
	// Read the patch member to its end so its own digest is checked.
	if _, err := io.Copy(io.Discard, patchBytes); err != nil {
		return nil, err
	}
	if !verifier.Verified() {
		return nil, exit.Contentf("blob %s: the patch rebuilds other "+
			"content", b.Digest)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, exit.IO(err)
	}
	keep = true
	return &spoolFile{File: f}, nil
}

// boundedWriter refuses to write more than left bytes.
type boundedWriter struct {
	w    io.Writer
	left int64
	what string
}

func (b *boundedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		return 0, exit.Contentf("%s: the patch rebuilds more bytes than "+
			"the sidecar's size", b.what)
	}
	n, err := b.w.Write(p)
	b.left -= int64(n)
	return n, exit.IO(err)
}

// spoolFile is a temporary file removed when it is closed.
type spoolFile struct{ *os.File }

func (f *spoolFile) Close() error {
	err := f.File.Close()
	os.Remove(f.Name())
	return err
}

func (s *source) close() {
	if s.delta != nil {
		s.delta.Close()
	}
	if s.base != nil {
		s.base.Close()
	}
}

// open opens the delta and, if a blob comes from it, the baseline of a
// record that passed checkAssembly.
func open(ctx context.Context, rec *record.Assembly,
	opts Options) (*source, error) {

	s := &source{ctx: ctx, tempDir: opts.TempDir,
		blobs: map[digest.Digest]record.AssemblyBlob{}}
	needBase := false
	for _, b := range rec.Blobs {
		s.blobs[b.Digest] = b
		needBase = needBase || b.From == record.FromBaseline
	}
	var err error
	if s.delta, err = delta.Open(rec.Delta); err != nil {
		return nil, err
	}
	if needBase {
		s.base, err = image.Open(ctx, rec.Baseline.Path, image.OpenOptions{
			Selector: rec.Baseline.Selector,
			Platform: rec.Baseline.Platform, TempDir: opts.TempDir})
		if err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func rebuild(ctx context.Context, rec *record.Assembly,
	opts Options) (*output, error) {

	if err := checkOutput(rec, opts.OutDir, opts.Format); err != nil {
		return nil, err
	}
	src, err := open(ctx, rec, opts)
	if err != nil {
		return nil, err
	}
	defer src.close()
	// OUTDIR appears only once there is something to write into it.
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, exit.IO(fmt.Errorf("output folder: %w", err))
	}

	t := rec.Target
	format := opts.Format
	if format == FormatAuto {
		if t.Format == string(image.OCILayout) {
			format = FormatDir
		} else {
			return replay(rec, src, opts)
		}
	}
	if err := checkConvert(t.Format, format, opts.AllowConvert); err != nil {
		return nil, err
	}
	img, err := targetImage(t, src, format)
	if err != nil {
		return nil, err
	}
	if format == FormatDir {
		dir := filepath.Join(opts.OutDir, rec.Name)
		o, err := writeDir(dir, img, src)
		if err != nil {
			return nil, err
		}
		o.result = &record.Result{Kind: record.KindResult, Name: rec.Name,
			Output: dir, Format: format}
		return o, nil
	}
	return writeFile(rec.Name, format, opts, func(w io.Writer) error {
		if format == FormatDocker {
			return imagewrite.WriteDockerArchive(w, img, src,
				imagewrite.DockerOptions{})
		}
		return imagewrite.WriteOCIArchive(w, img, src)
	})
}

// writeDir writes the layout in a staging folder beside dir; the
// output's move swaps it in, so a failed run leaves an earlier dir as it
// was.
func writeDir(dir string, img *imagewrite.Image,
	src *source) (*output, error) {

	staging, err := outpath.NewStaging(dir)
	if err != nil {
		return nil, err
	}
	if err := imagewrite.WriteOCILayout(staging.Path, img, src); err != nil {
		staging.Close()
		return nil, err
	}
	// The old output, swapped into the staging folder, is removed with
	// it by discard, once every image of the run is in place.
	return &output{move: staging.Replace, discard: staging.Close}, nil
}

// checkOutput refuses, before any work, an output path that is one of
// the inputs or is not a plain file (or, for dir, a layout) of ours.
func checkOutput(rec *record.Assembly, outDir, format string) error {
	inputs := []string{rec.Delta}
	if rec.Baseline != nil {
		inputs = append(inputs, rec.Baseline.Path)
	}
	if format == FormatDir || (format == FormatAuto &&
		rec.Target.Format == string(image.OCILayout)) {
		return outpath.Dir(filepath.Join(outDir, rec.Name), inputs...)
	}
	return outpath.File(filepath.Join(outDir, rec.Name+".tar"), inputs...)
}

// checkConvert refuses, without allow, a change between the Docker and
// OCI families, which changes the manifest digest.
func checkConvert(from, to string, allow bool) error {
	docker := func(f string) bool { return f == FormatDocker }
	if docker(from) == docker(to) || allow {
		return nil
	}
	return exit.Usagef("writing the %s target as %s changes its manifest "+
		"digest: add --allow-convert to accept that", from, to)
}

// targetImage gathers what the writers need: the manifest (OCI targets
// store one; a docker-archive has none) and the config.
func targetImage(t delta.Target, src *source,
	format string) (*imagewrite.Image, error) {

	img := &imagewrite.Image{Tags: t.Tags, Config: t.Config,
		Layers: t.Layers}
	var err error
	if img.ConfigBytes, err = readLimited(src, t.Config.Digest, maxJSON); err != nil {
		return nil, err
	}
	if _, ok := src.blobs[t.Manifest.Digest]; ok {
		img.Manifest = t.Manifest
		if img.ManifestBytes, err = readLimited(src,
			t.Manifest.Digest, maxJSON); err != nil {
			return nil, err
		}
	}
	docker := t.Format == FormatDocker
	switch {
	case docker && format != FormatDocker:
		return imagewrite.ToOCI(img)
	case !docker && format == FormatDocker:
		img.Manifest, img.ManifestBytes = ocispec.Descriptor{}, nil
	}
	return img, nil
}

// replay rebuilds the producer's archive file from its skeleton.
func replay(rec *record.Assembly, src *source,
	opts Options) (*output, error) {

	encoded, err := readLimited(src, rec.Target.Skeleton,
		skeleton.MaxEncoded)
	if err != nil {
		return nil, err
	}
	sk, err := skeleton.Decode(encoded)
	if err != nil {
		return nil, err
	}
	if sk.SHA256 != rec.Target.ArchiveSHA256 {
		return nil, exit.Contentf("skeleton rebuilds %s, sidecar says %s",
			sk.SHA256, rec.Target.ArchiveSHA256)
	}
	o, err := writeFile(rec.Name, FormatAuto, opts, func(w io.Writer) error {
		return sk.Replay(w, src.OpenBlob)
	})
	if err != nil {
		return nil, err
	}
	o.result.SHA256 = sk.SHA256
	return o, nil
}

func readLimited(src *source, d digest.Digest, limit int64) ([]byte, error) {
	rc, err := src.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, exit.Contentf("blob %s: larger than %d bytes", d, limit)
	}
	return data, nil
}

// writeFile writes OUTDIR/<name>.tar into a pending file beside it; the
// output's move renames it into place, so the path holds a whole
// verified archive or what it held before.
func writeFile(name, format string, opts Options,
	write func(io.Writer) error) (*output, error) {

	path := filepath.Join(opts.OutDir, name+".tar")
	tmp, err := outpath.Pending(path)
	if err != nil {
		return nil, err
	}
	counter := &digestio.CountingWriter{W: tmp}
	if err := write(counter); err != nil {
		tmp.Cleanup()
		return nil, err
	}
	// Synced now, so the moves at the end follow one another closely.
	if err := tmp.Sync(); err != nil {
		tmp.Cleanup()
		return nil, exit.IO(fmt.Errorf("writing %s: %w", path, err))
	}
	move := func() error {
		if err := tmp.CloseAtomicallyReplace(); err != nil {
			return exit.IO(fmt.Errorf("writing %s: %w", path, err))
		}
		return nil
	}
	return &output{
		result: &record.Result{Kind: record.KindResult, Name: name,
			Output: path, Format: format, Size: counter.N},
		move:    move,
		discard: func() { tmp.Cleanup() },
	}, nil
}
