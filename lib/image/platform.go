package image

import "strings"

// PlatformMatches reports whether an image of platform have (as in
// Image.Platform, "os/arch[/variant]") is what want asks for: the same
// os and arch, and the same variant when want names one. An image whose
// platform is unknown ("") matches anything.
func PlatformMatches(want, have string) bool {
	if have == "" || want == "" {
		return true
	}
	w := strings.Split(want, "/")
	h := strings.Split(have, "/")
	if len(w) < 2 || len(h) < 2 || w[0] != h[0] || w[1] != h[1] {
		return false
	}
	return len(w) < 3 || (len(h) >= 3 && w[2] == h[2])
}
