package tools

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain message: ok", "plain message: ok"},
		{"member \x1b[2Jname", `member \u001b[2Jname`},
		{"bad \xca byte", `bad \xca byte`},
		{"line\nbreak", `line\u000abreak`},
		{"ünïcode", "ünïcode"},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNonUTF8Argument checks that an argument JSON records could not
// carry unchanged is a usage error before anything runs. The files
// exist and are no archives, so a run that went on would fail with a
// content error instead.
func TestNonUTF8Argument(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "d\xff.tar")
	plain := filepath.Join(dir, "plain.tar")
	for _, p := range []string{odd, plain} {
		if err := os.WriteFile(p, []byte("not a tar"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	tests := []struct {
		tool func([]string) int
		args []string
	}{
		{Diffah, []string{"inspect", odd}},
		{Diffah, []string{"import", "--baseline", "app=" + odd, plain,
			out}},
		{Unpack, []string{"--baseline", "app=" + plain, odd}},
	}
	for _, tc := range tests {
		if got := tc.tool(tc.args); got != exit.UsageErr {
			t.Errorf("%q: got exit %d, want %d", tc.args, got,
				exit.UsageErr)
		}
	}
}
