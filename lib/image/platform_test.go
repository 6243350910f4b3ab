package image

import "testing"

func TestPlatformMatches(t *testing.T) {
	tests := []struct {
		want, have string
		match      bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/arm64", "linux/amd64", false},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64", false},
		{"linux/arm/v7", "linux/arm/v6", false},
		{"linux/amd64", "", true},
		{"windows/amd64", "linux/amd64", false},
		{"linux", "linux/amd64", false},
	}
	for _, tt := range tests {
		if got := PlatformMatches(tt.want, tt.have); got != tt.match {
			t.Errorf("PlatformMatches(%q, %q) = %v, want %v", tt.want,
				tt.have, got, tt.match)
		}
	}
}
