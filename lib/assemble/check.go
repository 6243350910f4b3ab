package assemble

import (
	"fmt"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/record"
)

// assemblyFields are the fields every assembly record must have.
var assemblyFields = []string{"name", "delta", "target", "blobs"}

// checkAssembly checks, before any work, what rebuilding rec relies on:
// its required fields, the image name, the target, and for every blob
// its digest and where it comes from. An error is a content error naming
// the stream and line.
func checkAssembly(raw *record.Raw, rec *record.Assembly,
	inName string) error {

	if err := raw.Require(inName, assemblyFields...); err != nil {
		return err
	}
	bad := func(err error) error {
		return exit.Content(fmt.Errorf("%s: line %d: assembly record: %w",
			inName, raw.Line, err))
	}
	if err := delta.CheckName(rec.Name); err != nil {
		return bad(err)
	}
	if rec.Delta == "" {
		return bad(fmt.Errorf("no %q field", "delta"))
	}
	if err := rec.Target.Validate(); err != nil {
		return bad(err)
	}

	needBase := false
	for i, b := range rec.Blobs {
		field := fmt.Sprintf("blobs[%d]", i)
		if err := delta.CheckDigest(field+".digest", b.Digest); err != nil {
			return bad(err)
		}
		switch b.From {
		case record.FromBaseline:
			needBase = true
		case record.FromDelta:
			if err := checkDeltaBlob(field, b); err != nil {
				return bad(err)
			}
		case "":
			return bad(fmt.Errorf("no %q field", field+".from"))
		default:
			return bad(fmt.Errorf("%s.from %q, want %q or %q", field,
				b.From, record.FromDelta, record.FromBaseline))
		}
	}
	if needBase && (rec.Baseline == nil || rec.Baseline.Path == "") {
		return bad(fmt.Errorf("blobs come from the baseline, but there "+
			"is no %q field", "baseline.path"))
	}
	return nil
}

// checkDeltaBlob checks the fields of a blob stored in the delta.
func checkDeltaBlob(field string, b record.AssemblyBlob) error {
	if err := delta.CheckDigest(field+".stored", b.Stored); err != nil {
		return err
	}
	switch b.Encoding {
	case delta.EncodingFull:
		return nil
	case delta.EncodingPatch:
		return delta.CheckDigest(field+".patchRef", b.PatchRef)
	case "":
		return fmt.Errorf("no %q field", field+".encoding")
	}
	return fmt.Errorf("%s.encoding %q, want %q or %q", field, b.Encoding,
		delta.EncodingFull, delta.EncodingPatch)
}
