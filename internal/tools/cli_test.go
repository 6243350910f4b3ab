package tools

import "testing"

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
