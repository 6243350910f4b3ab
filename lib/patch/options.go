package patch

import "fmt"

// Design selects how Encode looks for what the target shares with the
// reference. Every design writes the same format; Decode reads them all.
type Design int

// The designs; see the package documentation.
const (
	Auto Design = iota
	Match
	Tar
	DictWhole
)

var designNames = [...]string{"auto", "match", "tar", "dict-whole"}

func (d Design) String() string {
	if d < 0 || int(d) >= len(designNames) {
		return fmt.Sprintf("design(%d)", int(d))
	}
	return designNames[d]
}

// ParseDesign returns the design with the given name.
func ParseDesign(name string) (Design, error) {
	for i, n := range designNames {
		if n == name {
			return Design(i), nil
		}
	}
	return 0, fmt.Errorf("patch design %q unknown, want one of %v",
		name, designNames)
}

// Options tune Encode. The zero value is the recommended setting.
type Options struct {
	// Design picks the encoder; the default is Auto.
	Design Design
}
