package pack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/fingerprint"
	"github.com/diffah/diffah/lib/pack"
	"github.com/diffah/diffah/lib/plan"
	"github.com/diffah/diffah/lib/record"
	digest "github.com/opencontainers/go-digest"
)

// upstreamFixtures is ../shared/fixtures/upstream-diffah beside the repo.
func upstreamFixtures(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../shared/fixtures/upstream-diffah")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("upstream fixtures not found at %s", dir)
	}
	return dir
}

// TestFixturePatchReferences packs the upstream pairs whose layers share
// content with other baseline layers and checks that every changed layer
// travels as a patch against the baseline layer sharing the most content
// (in v4, never the size-closest layer that shares nothing).
func TestFixturePatchReferences(t *testing.T) {
	dir := upstreamFixtures(t)
	// In v2->v3 no file is shared byte for byte (one byte flipped), so
	// the rank falls back to the closest size and the patches are tiny;
	// in v4 each target layer shares files with one baseline layer.
	pairs := []struct {
		baseline, target string
		shares           bool
	}{
		{"v2_oci.tar", "v3_oci.tar", false},
		{"v2_s2.tar", "v3_s2.tar", false},
		{"v4_baseline_oci.tar", "v4_target_oci.tar", true},
		{"v4_baseline_s2.tar", "v4_target_s2.tar", true},
	}
	for _, p := range pairs {
		t.Run(p.target, func(t *testing.T) {
			ctx := context.Background()
			var fp, planned bytes.Buffer
			inputs := []fingerprint.Input{
				{Name: "app", Role: record.RoleBaseline,
					Path: filepath.Join(dir, p.baseline)},
				{Name: "app", Role: record.RoleTarget,
					Path: filepath.Join(dir, p.target)},
			}
			if err := fingerprint.Run(ctx, inputs, &fp,
				fingerprint.Options{}); err != nil {
				t.Fatal(err)
			}
			if err := plan.Run(ctx, bytes.NewReader(fp.Bytes()), "fp",
				&planned, plan.Options{}); err != nil {
				t.Fatal(err)
			}
			best := topCandidates(t, planned.Bytes(), p.shares)

			out := filepath.Join(t.TempDir(), "delta.tar")
			if err := pack.Run(ctx, bytes.NewReader(planned.Bytes()),
				"plan", out, &bytes.Buffer{}, pack.Options{}); err != nil {
				t.Fatal(err)
			}
			a, err := delta.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()

			patched := map[digest.Digest]digest.Digest{}
			for _, b := range a.Sidecar.Blobs {
				if b.Encoding != delta.EncodingPatch {
					continue
				}
				patched[b.Digest] = b.PatchRef
				if !p.shares && b.StoredSize*10 > b.Size {
					t.Errorf("layer %s: patch of %d bytes for %d, want "+
						"under a tenth", b.Digest, b.StoredSize, b.Size)
				}
			}
			if len(best) == 0 {
				t.Fatal("the plan has no patch decisions")
			}
			for layer, want := range best {
				got, ok := patched[layer]
				if !ok {
					t.Errorf("layer %s ships whole, want a patch against "+
						"%s", layer, want.Digest)
					continue
				}
				if got != want.Digest {
					t.Errorf("layer %s patched against %s, want %s (which "+
						"shares %d bytes)", layer, got, want.Digest,
						want.Overlap)
				}
			}
		})
	}
}

// topCandidates returns the first candidate of each patch decision.
// With shares, it checks that the first shares content and is not the
// size-closest candidate when that one shares nothing (v4's trap).
func topCandidates(t *testing.T, planned []byte,
	shares bool) map[digest.Digest]record.Candidate {
	t.Helper()
	r := record.NewReader(bytes.NewReader(planned), "plan")
	out := map[digest.Digest]record.Candidate{}
	for {
		raw, err := r.Next()
		if err != nil {
			break
		}
		if raw.Kind != record.KindBlob {
			continue
		}
		var b record.Blob
		if err := raw.Decode("plan", &b); err != nil {
			t.Fatal(err)
		}
		if b.Decision != record.DecisionPatch {
			continue
		}
		top := b.Candidates[0]
		out[b.Digest] = top
		if !shares {
			continue
		}
		if top.Overlap == 0 {
			t.Errorf("layer %s: best candidate %s shares nothing", b.Digest,
				top.Digest)
		}
		closest := top
		for _, c := range b.Candidates[1:] {
			if c.Overlap > top.Overlap {
				t.Errorf("layer %s: candidates not ranked by overlap",
					b.Digest)
			}
			if distance(c.Size, b.Size) < distance(closest.Size, b.Size) {
				closest = c
			}
		}
		if closest.Digest != top.Digest && closest.Overlap == top.Overlap {
			t.Errorf("layer %s: the size-closest candidate %s ranks "+
				"first", b.Digest, closest.Digest)
		}
	}
	return out
}

func distance(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
