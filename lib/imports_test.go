// Package lib_test guards the layout of the library: lib/ never depends
// on the command lines (cmd/) or on the flag parser, so every stage stays
// callable as a plain Go function.
package lib_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestLibraryDoesNotImportCommands(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test",
		"-f", "{{.ImportPath}}: {{join .Imports \" \"}}",
		"github.com/diffah/diffah/lib/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"github.com/diffah/diffah/cmd",
		"github.com/diffah/diffah/internal",
		"github.com/alecthomas/kong"}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, imports, ok := strings.Cut(line, ": ")
		if !ok || !strings.HasPrefix(pkg, "github.com/diffah/diffah/lib") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			for _, bad := range forbidden {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s: lib/ must not depend on %s",
						pkg, imp, bad)
				}
			}
		}
	}
}
