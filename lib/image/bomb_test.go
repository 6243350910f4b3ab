package image

import (
	"bytes"
	"io"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

func TestExpansionLimit(t *testing.T) {
	tests := []struct {
		stored, want int64
	}{
		{-1, ExpansionMargin},
		{0, ExpansionMargin},
		{1000, 1000*MaxExpansion + ExpansionMargin},
		{1 << 40, MaxExpanded},
	}
	for _, tt := range tests {
		if got := ExpansionLimit(tt.stored); got != tt.want {
			t.Errorf("ExpansionLimit(%d) = %d, want %d", tt.stored, got,
				tt.want)
		}
	}
}

func TestLimitExpansion(t *testing.T) {
	data := bytes.Repeat([]byte{0}, 1000)
	tests := []struct {
		limit int64
		code  int
	}{
		{1000, exit.OK},
		{5000, exit.OK},
		{999, exit.Corrupt},
		{0, exit.Corrupt},
	}
	for _, tt := range tests {
		r := LimitExpansion(bytes.NewReader(data), "layer x", tt.limit)
		got, err := io.ReadAll(r)
		if c := exit.Code(err); c != tt.code {
			t.Errorf("limit %d: exit %d (%v), want %d", tt.limit, c, err,
				tt.code)
		}
		if err == nil && len(got) != len(data) {
			t.Errorf("limit %d: read %d bytes, want %d", tt.limit, len(got),
				len(data))
		}
	}
}
