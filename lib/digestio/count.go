package digestio

import (
	"io"

	"github.com/diffah/diffah/lib/exit"
)

// CountingWriter counts the bytes written through it to W and marks a
// failed write (a full disk, say) as an environment error (exit 3), so
// that it is not taken for bad input.
type CountingWriter struct {
	W io.Writer
	N int64
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, exit.IO(err)
}
