package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/outpath"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Archive is an opened image source and the one image selected in it.
// Close releases its file and removes its spool file, if any.
type Archive struct {
	Path        string // as given to Open
	Format      Format
	Compression string // whole-archive compression: none, gzip, zstd

	tarPath string
	file    *os.File
	spool   string // temp file to remove on Close; "" if none
	root    *os.Root
	src     source
	entries []Entry
	image   *Image
	blobs   map[digest.Digest]blobRef

	// Work done while opening, to bound it and not repeat it.
	descriptorsSeen int
	indexCache      map[digest.Digest]*ocispec.Index
	layerCache      map[layerKey]ocispec.Descriptor
}

// layerKey identifies how a docker-archive layer's descriptor was made.
type layerKey struct {
	name, member string
	diffID       digest.Digest
}

// Open opens an image archive or an OCI layout directory and selects one
// image in it.
//
// A file must be a tar, possibly compressed as a whole with gzip or zstd
// (detected by magic bytes); a compressed one is decompressed once into
// a spool file under opts.TempDir, which Close removes. An archive with
// several images and no matching opts.Selector is a usage error (exit 2)
// listing the choices; so is a multi-platform image without a matching
// opts.Platform, listing the platforms. Corrupt or foreign input is a
// content error (exit 4) naming the file and member.
//
// The caller must Close the returned Archive.
func Open(ctx context.Context, path string, opts OpenOptions) (*Archive,
	error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, exit.IO(fmt.Errorf("open image: %w", err))
	}
	// A FIFO or a device would block the open or be read only once.
	if !st.IsDir() && !st.Mode().IsRegular() {
		return nil, exit.Usagef("%s: an image must be a regular file "+
			"(an archive) or a folder (an OCI layout), not %s", path,
			outpath.Kind(st.Mode()))
	}
	a := &Archive{Path: path, Compression: CompressionNone,
		blobs: map[digest.Digest]blobRef{}}
	if st.IsDir() {
		err = a.openDir(ctx, opts)
	} else {
		err = a.openTar(ctx, opts)
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Archive) openTar(ctx context.Context, opts OpenOptions) error {
	f, err := os.Open(a.Path)
	if err != nil {
		return exit.IO(fmt.Errorf("open image: %w", err))
	}
	a.file = f
	a.tarPath = a.Path

	head := make([]byte, 8)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return exit.IO(fmt.Errorf("read %s: %w", a.Path, err))
	}
	switch kind := sniffCompression(head[:n]).kind; kind {
	case CompressionGzip, CompressionZstd:
		if err := a.spoolDecompressed(ctx, opts); err != nil {
			return err
		}
	case CompressionNone:
	default:
		return exit.Contentf("%s: %s-compressed archive not supported, "+
			"want tar, gzip or zstd", a.Path, kind)
	}

	ix, err := indexTar(ctx, a.Path, a.file)
	if err != nil {
		return err
	}
	a.entries = ix.entries
	a.src = &tarSource{ix: ix, f: a.file}
	return a.load(ctx, opts, false)
}

// spoolDecompressed decompresses a.file into a temp file and makes that
// the tar to read.
func (a *Archive) spoolDecompressed(ctx context.Context,
	opts OpenOptions) error {
	limit := opts.MaxSpoolSize
	if limit <= 0 {
		limit = DefaultMaxSpoolSize
		// No size is declared for a whole archive: bound it by how far
		// its compressed bytes may expand, as for a layer.
		if st, err := a.file.Stat(); err == nil {
			limit = min(limit, ExpansionLimit(st.Size()))
		}
	}
	dec, kind, err := Decompress(a.file)
	if err != nil {
		return fmt.Errorf("decompress %s: %w", a.Path, err)
	}
	defer dec.Close()
	a.Compression = kind

	tmp, err := os.CreateTemp(opts.TempDir, "diffah-spool-*.tar")
	if err != nil {
		return exit.IO(fmt.Errorf("spool %s: %w", a.Path, err))
	}
	a.spool = tmp.Name()
	compressed := a.file
	a.file = tmp
	a.tarPath = tmp.Name()

	src := &ctxReader{ctx: ctx, r: io.LimitReader(dec, limit+1)}
	written, err := io.Copy(tmp, src)
	compressed.Close()
	if err != nil {
		return exit.IO(fmt.Errorf("decompress %s: %w", a.Path, err))
	}
	if written > limit {
		return exit.Contentf("decompress %s: more than %d bytes",
			a.Path, limit)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return exit.IO(fmt.Errorf("spool %s: %w", a.Path, err))
	}
	return nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (a *Archive) openDir(ctx context.Context, opts OpenOptions) error {
	root, err := os.OpenRoot(a.Path)
	if err != nil {
		return exit.IO(fmt.Errorf("open image: %w", err))
	}
	a.root = root
	a.src = &dirSource{root: root}
	if !a.src.has("index.json") {
		return exit.Contentf("%s: directory without index.json: not an "+
			"OCI layout", a.Path)
	}

	err = filepath.WalkDir(a.Path, func(p string, d fs.DirEntry,
		err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(a.entries) >= MaxEntries {
			return exit.Contentf("%s: more than %d files", a.Path,
				MaxEntries)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(a.Path, p)
		if err != nil {
			return err
		}
		a.entries = append(a.entries, Entry{
			Name:     filepath.ToSlash(rel),
			Typeflag: tar.TypeReg,
			Size:     info.Size(),
		})
		return ctx.Err()
	})
	if err != nil {
		return exit.IO(fmt.Errorf("list %s: %w", a.Path, err))
	}
	sort.Slice(a.entries, func(i, j int) bool {
		return a.entries[i].Name < a.entries[j].Name
	})
	return a.load(ctx, opts, true)
}

// load detects the format from the members present and reads the image.
func (a *Archive) load(ctx context.Context, opts OpenOptions,
	dir bool) error {
	switch {
	case !dir && a.src.has("manifest.json"):
		a.Format = DockerArchive
		return a.loadDocker(ctx, opts)
	case a.src.has("index.json"):
		a.Format = OCIArchive
		if dir {
			a.Format = OCILayout
		}
		return a.loadOCI(ctx, opts)
	}
	return exit.Contentf("%s: neither manifest.json nor index.json: not "+
		"an image archive", a.Path)
}

// Close closes the archive and removes its spool file. It is safe to
// call more than once.
func (a *Archive) Close() error {
	var errs []error
	if a.file != nil {
		if err := a.file.Close(); err != nil {
			errs = append(errs, err)
		}
		a.file = nil
	}
	if a.root != nil {
		if err := a.root.Close(); err != nil {
			errs = append(errs, err)
		}
		a.root = nil
	}
	if a.spool != "" {
		err := os.Remove(a.spool)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		a.spool = ""
	}
	return exit.IO(errors.Join(errs...))
}

// Image returns the selected image. The caller must not modify it.
func (a *Archive) Image() *Image { return a.image }

// TarPath is the path of the uncompressed tar: the spool file of a
// compressed archive, else Path; "" for an OCI layout directory.
func (a *Archive) TarPath() string { return a.tarPath }

// Entries lists every tar header in file order, as archive/tar's Next
// returns them (so PAX headers are not entries). For a directory source
// it lists every regular file, sorted by name, with Offset 0. The caller
// must not modify the slice.
func (a *Archive) Entries() []Entry { return a.entries }

// OpenMember opens a regular file member by name. Symlinks and hard
// links are followed within the archive, at most MaxSymlinkHops hops and
// never out of its root; a leading "./" is ignored. A missing member is
// a content error wrapping fs.ErrNotExist. The reader also implements
// io.ReaderAt and io.Seeker over the member's bytes. The caller closes
// the reader.
func (a *Archive) OpenMember(name string) (io.ReadCloser, error) {
	rc, _, _, err := a.src.open(name)
	if err != nil {
		return nil, memberError(a.Path, name, err)
	}
	return rc, nil
}

// OpenBlob opens the blob with digest d if the image references it as
// its manifest, config or a layer. The reader verifies: at EOF its Read
// returns a content error (exit 4) instead of io.EOF if the bytes do not
// hash to d or their count differs from the descriptor's size. An
// unknown digest is an error wrapping ErrBlobNotFound. The caller closes
// the reader.
func (a *Archive) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	ref, ok := a.blobs[d]
	if !ok {
		return nil, exit.Content(fmt.Errorf("%s: %s: %w", a.Path, d,
			ErrBlobNotFound))
	}
	if ref.member == "" {
		what := fmt.Sprintf("%s: blob %s", a.Path, d)
		rc := io.NopCloser(bytes.NewReader(ref.data))
		return newVerifyingReader(rc, what, d, ref.size), nil
	}
	rc, _, _, err := a.src.open(ref.member)
	if err != nil {
		return nil, memberError(a.Path, ref.member, err)
	}
	what := fmt.Sprintf("%s: blob %s (member %s)", a.Path, d, ref.member)
	return newVerifyingReader(rc, what, d, ref.size), nil
}

// BlobMember returns the member name (after links) storing the blob d,
// or "" if the image does not reference d or holds it only in memory
// (the synthesized manifest of a docker-archive).
func (a *Archive) BlobMember(d digest.Digest) string {
	return a.blobs[d].member
}

// builtImage is an image as read from an archive, with where each of its
// blobs is stored.
type builtImage struct {
	tags           []string
	platform       string
	manifest       ocispec.Descriptor
	manifestBytes  []byte
	manifestMember string // "" for a synthesized manifest
	config         ocispec.Descriptor
	configBytes    []byte
	configMember   string
	layers         []ocispec.Descriptor
	layerMembers   []string
}

// setImage makes img the archive's image and records its blobs.
func (a *Archive) setImage(img *builtImage) {
	a.image = &Image{
		RepoTags:      img.tags,
		Platform:      img.platform,
		Manifest:      img.manifest,
		ManifestBytes: img.manifestBytes,
		Config:        img.config,
		ConfigBytes:   img.configBytes,
		Layers:        img.layers,
	}
	a.blobs[img.manifest.Digest] = blobRef{
		member: img.manifestMember,
		size:   img.manifest.Size,
		data:   img.manifestBytes,
	}
	a.blobs[img.config.Digest] = blobRef{member: img.configMember,
		size: img.config.Size}
	for i, l := range img.layers {
		a.blobs[l.Digest] = blobRef{member: img.layerMembers[i],
			size: l.Size}
	}
}
