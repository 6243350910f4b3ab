// Package fingerprint implements diffah-fingerprint: it opens image
// archives and describes them as records.
//
// For every input it writes one image record (manifest, config and
// layer descriptors; for a target, every regular member of the archive
// with its digest), then, for each distinct layer, one entry record per
// tar entry of the decompressed layer followed by a layer record with
// its totals. Layers are streamed: memory does not grow with their size.
package fingerprint

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/image"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tool names this stage in the records' header.
const Tool = "diffah-fingerprint"

// Input is one image to describe.
type Input struct {
	Name string // the pair's name, [a-z0-9][a-z0-9_.-]*
	Role string // record.RoleBaseline or record.RoleTarget
	Path string // an archive or layout, optionally PATH@SELECTOR
}

// Options tune Run.
type Options struct {
	Platform string
	TempDir  string
	Logger   *slog.Logger
}

// Run describes every input on out, header first.
func Run(ctx context.Context, inputs []Input, out io.Writer,
	opts Options) error {

	w, err := record.NewWriter(out, Tool)
	if err != nil {
		return err
	}
	return Write(ctx, inputs, w, opts)
}

// Write is Run on an existing record writer.
func Write(ctx context.Context, inputs []Input, w *record.Writer,
	opts Options) error {

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seen := map[digest.Digest]bool{}
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := describe(ctx, in, w, seen, opts, log); err != nil {
			return err
		}
	}
	return nil
}

func describe(ctx context.Context, in Input, w *record.Writer,
	seen map[digest.Digest]bool, opts Options, log *slog.Logger) error {

	path, selector := image.SplitRef(in.Path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return exit.IO(err)
	}
	// A path named on the command line that is not there is a usage
	// error, like a missing spec file.
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return exit.Usagef("%s of %q: %s: no such file or directory",
			in.Role, in.Name, path)
	}
	a, err := image.Open(ctx, abs, image.OpenOptions{
		Selector: selector, Platform: opts.Platform, TempDir: opts.TempDir})
	if err != nil {
		return fmt.Errorf("%s of %q: %w", in.Role, in.Name, err)
	}
	defer a.Close()
	img := a.Image()
	if opts.Platform != "" && !image.PlatformMatches(opts.Platform,
		img.Platform) {
		return exit.Usagef("%s of %q: %s is %s, not %s", in.Role, in.Name,
			path, img.Platform, opts.Platform)
	}

	rec := record.Image{
		Kind: record.KindImage, Name: in.Name, Role: in.Role,
		Path: abs, Selector: selector, Platform: img.Platform,
		Format: string(a.Format), Compression: a.Compression,
		Tags:     img.RepoTags,
		Manifest: img.Manifest, Config: img.Config, Layers: img.Layers,
	}
	if in.Role == record.RoleTarget {
		if err := describeMembers(a, &rec); err != nil {
			return err
		}
	}
	if err := w.Write(rec); err != nil {
		return err
	}
	log.Info("image", "name", in.Name, "role", in.Role, "path", abs,
		"format", a.Format, "layers", len(img.Layers))

	for _, l := range img.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		if err := describeLayer(ctx, a, l, w, log); err != nil {
			return err
		}
	}
	return nil
}

// describeMembers hashes the archive file and each of its regular
// members in one sequential read.
func describeMembers(a *image.Archive, rec *record.Image) error {
	var members []record.Member
	for _, e := range a.Entries() {
		if e.Typeflag == tar.TypeReg && e.Size > 0 {
			members = append(members, record.Member{
				Name: e.Name, Offset: e.Offset, Size: e.Size})
		}
	}
	if a.TarPath() == "" {
		return describeDir(a, members, rec)
	}

	f, err := os.Open(a.TarPath())
	if err != nil {
		return exit.IO(fmt.Errorf("hashing %s: %w", a.Path, err))
	}
	defer f.Close()
	sort.SliceStable(members, func(i, j int) bool {
		return members[i].Offset < members[j].Offset
	})
	hw := &rangeHasher{members: members}
	whole := sha256.New()
	n, err := io.Copy(io.MultiWriter(whole, hw), f)
	if err != nil {
		return exit.IO(fmt.Errorf("hashing %s: %w", a.Path, err))
	}
	if err := hw.finish(n); err != nil {
		return exit.Content(fmt.Errorf("%s: %w", a.Path, err))
	}
	rec.ArchiveSize = n
	rec.ArchiveSHA256 = digest.NewDigest(digest.SHA256, whole)
	rec.Members = members
	return nil
}

func describeDir(a *image.Archive, members []record.Member,
	rec *record.Image) error {

	for i := range members {
		rc, err := a.OpenMember(members[i].Name)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return exit.IO(fmt.Errorf("hashing %s: %s: %w", a.Path,
				members[i].Name, err))
		}
		members[i].Digest = digest.NewDigest(digest.SHA256, h)
		members[i].Offset = 0
		// No archive file: its size is what its files hold.
		rec.ArchiveSize += members[i].Size
	}
	rec.Members = members
	return nil
}

// rangeHasher hashes the byte ranges of members, which are sorted by
// offset and do not overlap, as the whole file streams through it.
type rangeHasher struct {
	members []record.Member
	next    int
	pos     int64
	cur     hash.Hash
}

func (r *rangeHasher) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && r.next < len(r.members) {
		m := &r.members[r.next]
		if r.pos < m.Offset {
			skip := min(int64(len(p)), m.Offset-r.pos)
			p, r.pos = p[skip:], r.pos+skip
			continue
		}
		if r.cur == nil {
			r.cur = sha256.New()
		}
		take := min(int64(len(p)), m.Offset+m.Size-r.pos)
		r.cur.Write(p[:take])
		p, r.pos = p[take:], r.pos+take
		if r.pos == m.Offset+m.Size {
			m.Digest = digest.NewDigest(digest.SHA256, r.cur)
			r.cur = nil
			r.next++
		}
	}
	r.pos += int64(len(p))
	return total, nil
}

func (r *rangeHasher) finish(size int64) error {
	if r.next < len(r.members) {
		m := r.members[r.next]
		return fmt.Errorf("member %s: data at %d+%d is past the end of "+
			"the file (%d bytes)", m.Name, m.Offset, m.Size, size)
	}
	return nil
}

// describeLayer streams one layer: an entry record per tar entry, then
// the layer record.
func describeLayer(ctx context.Context, a *image.Archive,
	l ocispec.Descriptor, w *record.Writer, log *slog.Logger) error {

	rc, err := a.OpenBlob(l.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()

	plain, kind, err := image.Decompress(rc)
	if err != nil {
		return fmt.Errorf("%s: layer %s: %w", a.Path, l.Digest, err)
	}
	defer plain.Close()
	diffID := sha256.New()
	what := fmt.Sprintf("%s: layer %s (%d bytes stored)", a.Path,
		l.Digest, l.Size)
	limited := image.LimitExpansion(plain, what,
		image.ExpansionLimit(l.Size))
	counted := &countingReader{r: io.TeeReader(limited, diffID)}

	lr := record.Layer{Kind: record.KindLayer, Digest: l.Digest,
		Size: l.Size, MediaType: l.MediaType, Compression: kind, Tar: true}
	tr := tar.NewReader(counted)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, tar.ErrHeader) || lr.Entries == 0 {
				// Not a tar: the layer is still a blob to ship.
				lr.Tar = false
				break
			}
			return layerError(a, l, err)
		}
		e, err := describeEntry(tr, hdr, l.Digest)
		if err != nil {
			return layerError(a, l, err)
		}
		if err := w.Write(e); err != nil {
			return err
		}
		lr.Entries++
	}

	// Drain to EOF so the blob's digest is verified and diffID is whole.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return layerError(a, l, err)
	}
	lr.Bytes = counted.n
	lr.DiffID = digest.NewDigest(digest.SHA256, diffID)
	log.Info("layer", "digest", l.Digest, "entries", lr.Entries,
		"bytes", lr.Bytes)
	return w.Write(lr)
}

func layerError(a *image.Archive, l ocispec.Descriptor, err error) error {
	if exit.Code(err) != exit.Internal {
		return fmt.Errorf("%s: layer %s: %w", a.Path, l.Digest, err)
	}
	return exit.Contentf("%s: layer %s: %v", a.Path, l.Digest, err)
}

func describeEntry(tr *tar.Reader, hdr *tar.Header,
	layer digest.Digest) (record.Entry, error) {

	e := record.Entry{Kind: record.KindEntry, Layer: layer,
		Path: hdr.Name, Type: entryType(hdr.Typeflag), Size: hdr.Size}
	switch hdr.Typeflag {
	case tar.TypeReg:
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return e, fmt.Errorf("entry %s: %w", hdr.Name, err)
		}
		e.Digest = digest.NewDigest(digest.SHA256, h)
	case tar.TypeSymlink, tar.TypeLink:
		e.Linkname = hdr.Linkname
	}
	return e, nil
}

func entryType(flag byte) string {
	switch flag {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	case tar.TypeFifo:
		return "fifo"
	}
	return "other"
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
