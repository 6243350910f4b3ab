package image

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/diffah/diffah/lib/exit"
)

// TestOpenFIFO refuses a FIFO or a device at once (exit 2): an open
// for reading would block until a writer came, and a stream can be read
// only once.
func TestOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "v1.tar")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null"} {
		done := make(chan error, 1)
		go func() {
			_, err := Open(context.Background(), path, OpenOptions{})
			done <- err
		}()
		select {
		case err := <-done:
			if got := exit.Code(err); got != exit.UsageErr {
				t.Errorf("%s: got exit %d (%v), want %d", path, got, err,
					exit.UsageErr)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open blocked on %s", path)
		}
	}
}
