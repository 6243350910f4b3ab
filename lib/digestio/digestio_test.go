package digestio

import (
	"io"
	"math"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	digest "github.com/opencontainers/go-digest"
)

func TestReader(t *testing.T) {
	body := "hello, layer"
	good := digest.FromString(body)
	tests := []struct {
		name string
		body string
		want digest.Digest
		size int64
		code int
	}{
		{"match", body, good, int64(len(body)), exit.OK},
		{"no size", body, good, -1, exit.OK},
		{"flipped", "hello, lazer", good, int64(len(body)), exit.Corrupt},
		{"short", body[:5], good, int64(len(body)), exit.Corrupt},
		{"long", body + "x", good, int64(len(body)), exit.Corrupt},
		{"largest size", body, good, math.MaxInt64, exit.Corrupt},
		{"bad digest", body, "md5:abc", -1, exit.Corrupt},
		{"empty digest", body, "", -1, exit.Corrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.body), "x", tt.want, tt.size)
			got, err := io.ReadAll(r)
			if c := exit.Code(err); c != tt.code {
				t.Fatalf("exit code %d (%v), want %d", c, err, tt.code)
			}
			if err == nil && string(got) != tt.body {
				t.Errorf("got %q, want %q", got, tt.body)
			}
		})
	}
}
