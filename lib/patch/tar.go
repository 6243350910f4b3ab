package patch

import (
	"archive/tar"
	"io"
	"path"
	"sort"
	"strings"
)

// tarFile is a regular file inside a tar blob: its name and where its
// content lies in the blob.
type tarFile struct {
	name      string
	off, size int64
}

// listTar returns the regular files of a tar blob in order. It stops at
// the first header it cannot read and reports whether any file was
// found; a blob that is not a tar yields nothing.
func listTar(r io.ReaderAt, size int64) []tarFile {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	var files []tarFile
	for {
		hdr, err := tr.Next()
		if err != nil {
			return files
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size <= 0 {
			continue
		}
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil || off+hdr.Size > size {
			return files
		}
		files = append(files, tarFile{name: path.Clean(hdr.Name),
			off: off, size: hdr.Size})
	}
}

// tarIndex finds, for a target file, the reference file most likely to
// share its content.
type tarIndex struct {
	files    []tarFile
	byName   map[string][]int
	byMasked map[string][]int
	byBase   map[string][]int
	bySize   []int // indexes of files sorted by size
}

func newTarIndex(files []tarFile) *tarIndex {
	x := &tarIndex{files: files, byName: map[string][]int{},
		byMasked: map[string][]int{}, byBase: map[string][]int{}}
	for i, f := range files {
		x.byName[f.name] = append(x.byName[f.name], i)
		m := maskDigits(f.name)
		x.byMasked[m] = append(x.byMasked[m], i)
		b := path.Base(f.name)
		x.byBase[b] = append(x.byBase[b], i)
		x.bySize = append(x.bySize, i)
	}
	sort.SliceStable(x.bySize, func(a, b int) bool {
		return files[x.bySize[a]].size < files[x.bySize[b]].size
	})
	return x
}

// maskDigits replaces every run of digits by one '#', so that
// libfoo.so.1.2.3 and libfoo.so.1.2.4 get the same key.
func maskDigits(s string) string {
	var b strings.Builder
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}

// best returns the reference file for target file f, and how it was
// found: by path, by path with digits masked, by base name, or by
// closest size (only within a factor of two). ok is false when nothing
// qualifies.
func (x *tarIndex) best(f tarFile) (tarFile, string, bool) {
	for _, c := range []struct {
		how  string
		cand []int
	}{
		{"path", x.byName[f.name]},
		{"masked", x.byMasked[maskDigits(f.name)]},
		{"base", x.byBase[path.Base(f.name)]},
	} {
		if len(c.cand) > 0 {
			return x.closest(c.cand, f.size), c.how, true
		}
	}
	if len(x.bySize) == 0 {
		return tarFile{}, "", false
	}
	i := sort.Search(len(x.bySize), func(i int) bool {
		return x.files[x.bySize[i]].size >= f.size
	})
	var cand []int
	if i < len(x.bySize) {
		cand = append(cand, x.bySize[i])
	}
	if i > 0 {
		cand = append(cand, x.bySize[i-1])
	}
	g := x.closest(cand, f.size)
	if g.size > 2*f.size || 2*g.size < f.size {
		return tarFile{}, "", false
	}
	return g, "size", true
}

func (x *tarIndex) closest(cand []int, size int64) tarFile {
	best := x.files[cand[0]]
	for _, i := range cand[1:] {
		if absDiff(x.files[i].size, size) < absDiff(best.size, size) {
			best = x.files[i]
		}
	}
	return best
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
