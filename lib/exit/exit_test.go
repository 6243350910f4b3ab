package exit

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("x"), Internal},
		{"usage", Usagef("bad flag"), UsageErr},
		{"env", Env(os.ErrPermission), EnvErr},
		{"content wrapped", fmt.Errorf("reading a: %w", Contentf("bad")),
			Corrupt},
		{"io keeps code", IO(Contentf("bad")), Corrupt},
		{"io plain", IO(os.ErrNotExist), EnvErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
