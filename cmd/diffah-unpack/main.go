// Command diffah-unpack is one stage of diffah's pipeline; run it with
// --help for its flags. docs/pipeline.md describes the records it reads
// and writes; the exit codes are 0 success, 1 internal error, 2 usage,
// 3 environment (I/O, disk), 4 content (corrupt or foreign input).
package main

import (
	"os"

	"github.com/diffah/diffah/internal/tools"
)

func main() { os.Exit(tools.Unpack(os.Args[1:])) }
