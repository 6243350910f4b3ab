package imagewrite_test

import (
	"testing"

	"github.com/diffah/diffah/lib/imagebuild"
	digest "github.com/opencontainers/go-digest"
)

// BenchmarkWrite writes the realistic image, gzip layers, in every
// format; bytes/s counts the archive written. The check in the loop
// compares each archive's digest with the first one's.
func BenchmarkWrite(b *testing.B) {
	spec := imagebuild.Realistic(2)
	spec.Compress = "gzip"
	img, blobs, err := imagebuild.Build(spec)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range allFormats(zeroTime) {
		b.Run(f.name, func(b *testing.B) {
			h := digest.SHA256.Digester()
			if err := f.write(h.Hash(), img, blobs); err != nil {
				b.Fatal(err)
			}
			want := h.Digest()
			cw := &countWriter{}
			f.write(cw, img, blobs)
			b.SetBytes(cw.n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h := digest.SHA256.Digester()
				if err := f.write(h.Hash(), img, blobs); err != nil {
					b.Fatal(err)
				}
				if got := h.Digest(); got != want {
					b.Fatalf("archive %s, first was %s", got, want)
				}
			}
		})
	}
}
