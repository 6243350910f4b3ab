// Command diffah moves container images across air gaps as small
// deltas:
//
//	diffah export --pair app=v1.tar,v2.tar app_v1_to_v2.tar
//	diffah import --baseline app=v1.tar app_v1_to_v2.tar ./out/
//	diffah inspect app_v1_to_v2.tar
//
// Exit codes: 0 success, 1 internal error, 2 usage (bad flags, spec or
// wrong baseline), 3 environment (I/O, permissions, disk full), 4 content
// (corrupt or foreign archive, digest mismatch). See README.md.
package main

import (
	"os"

	"github.com/diffah/diffah/internal/tools"
)

func main() { os.Exit(tools.Diffah(os.Args[1:])) }
