package porcelain

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
)

// Report is what inspect tells about a delta archive; --json prints it.
type Report struct {
	Archive      string  `json:"archive"`
	ArchiveBytes int64   `json:"archiveBytes"`
	TargetBytes  int64   `json:"targetBytes"`
	Savings      float64 `json:"savings"`
	FullBlobs    int     `json:"fullBlobs"`
	PatchBlobs   int     `json:"patchBlobs"`
	// PatchRatio is the mean of patch size over blob size; PatchSaved
	// the bytes patches save over shipping those blobs whole.
	PatchRatio float64        `json:"patchRatio"`
	PatchSaved int64          `json:"patchSavedBytes"`
	Sidecar    *delta.Sidecar `json:"sidecar"`
}

// Inspect describes the delta archive at path on stdout, as text or, with
// asJSON, as one JSON document.
func Inspect(path string, asJSON bool, stdout io.Writer) error {
	a, err := delta.Open(path)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.Stat()
	if err != nil {
		return exit.IO(err)
	}

	rep := Report{Archive: path, ArchiveBytes: st.Size(),
		Sidecar: a.Sidecar}
	for _, img := range a.Sidecar.Images {
		rep.TargetBytes += img.Target.ArchiveSize
	}
	for _, b := range a.Sidecar.Blobs {
		if b.Encoding == delta.EncodingPatch {
			rep.PatchBlobs++
			rep.PatchSaved += b.Size - b.StoredSize
			if b.Size > 0 {
				rep.PatchRatio += float64(b.StoredSize) / float64(b.Size)
			}
		} else {
			rep.FullBlobs++
		}
	}
	if rep.PatchBlobs > 0 {
		rep.PatchRatio /= float64(rep.PatchBlobs)
	}
	if rep.TargetBytes > 0 {
		rep.Savings = 1 - float64(rep.ArchiveBytes)/float64(rep.TargetBytes)
	}

	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return inspectText(&rep, stdout)
}

func inspectText(rep *Report, stdout io.Writer) error {
	sc := rep.Sidecar
	platform := sc.Platform
	if platform == "" {
		platform = "(mixed or unknown)"
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "archive:\t%s\n", filepath.Base(rep.Archive))
	fmt.Fprintf(tw, "version:\t%d\n", sc.Version)
	fmt.Fprintf(tw, "tool:\t%s\n", shown(sc.Tool))
	fmt.Fprintf(tw, "tool version:\t%s\n", shown(sc.ToolVersion))
	fmt.Fprintf(tw, "platform:\t%s\n", shown(platform))
	fmt.Fprintf(tw, "images:\t%d\n", len(sc.Images))
	fmt.Fprintf(tw, "blobs:\t%d (full %d, patch %d)\n", len(sc.Blobs),
		rep.FullBlobs, rep.PatchBlobs)
	if rep.PatchBlobs > 0 {
		fmt.Fprintf(tw, "patch ratio:\t%.1f%% on average\n",
			100*rep.PatchRatio)
		fmt.Fprintf(tw, "saved by patches:\t%d bytes\n", rep.PatchSaved)
	}
	fmt.Fprintf(tw, "archive bytes:\t%d\n", rep.ArchiveBytes)
	fmt.Fprintf(tw, "target bytes:\t%d\n", rep.TargetBytes)
	fmt.Fprintf(tw, "savings:\t%s\n", savings(rep.ArchiveBytes,
		rep.TargetBytes))
	for _, img := range sc.Images {
		fmt.Fprintf(tw, "\nimage %s\n", img.Name)
		fmt.Fprintf(tw, "  target manifest:\t%s\n", img.Target.Manifest.Digest)
		fmt.Fprintf(tw, "  target media type:\t%s\n",
			shown(img.Target.Manifest.MediaType))
		fmt.Fprintf(tw, "  target format:\t%s (%s)\n",
			shown(img.Target.Format), shown(img.Target.Source))
		fmt.Fprintf(tw, "  baseline manifest:\t%s\n",
			img.Baseline.Manifest.Digest)
		fmt.Fprintf(tw, "  baseline source:\t%s\n",
			shown(img.Baseline.Source))
	}
	if err := tw.Flush(); err != nil {
		return exit.IO(err)
	}
	return nil
}

// shown returns s as it is when every rune is printable, else quoted
// with Go escapes: the sidecar's strings come from whoever made the
// delta, and a control character must not reach the terminal.
func shown(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r)
	}) < 0 {
		return s
	}
	return strconv.Quote(s)
}
