// Package porcelain implements the diffah command's verbs, export,
// import and inspect, by running the same stage functions as the
// single-purpose tools, joined in one process by the same JSON-lines
// stream.
package porcelain

import (
	"bytes"
	"errors"
	"io"

	"github.com/diffah/diffah/lib/record"
)

// Stage is one step of a pipeline: it reads records from in (nil for the
// first stage) and writes records to out.
type Stage func(in io.Reader, out io.Writer) error

// pipeline runs the stages concurrently, each one's output feeding the
// next through a pipe, and returns the last stage's output. When stages
// fail, the error of the earliest one is returned: it is the cause, the
// later ones only saw their input end; a stage that failed only because
// the next one stopped reading does not count.
func pipeline(stages ...Stage) ([]byte, error) {
	errs := make([]error, len(stages))
	done := make(chan int, len(stages))
	var last bytes.Buffer
	var in io.Reader
	for i, stage := range stages {
		var out io.Writer = &last
		var pw *io.PipeWriter
		var pr *io.PipeReader
		if i < len(stages)-1 {
			pr, pw = io.Pipe()
			out = pw
		}
		prevIn := in
		go func(i int, stage Stage, in io.Reader, out io.Writer) {
			err := stage(in, out)
			errs[i] = err
			if pw != nil {
				pw.CloseWithError(err)
			}
			// Unblock the stage before us if we stopped reading early.
			if r, ok := in.(*io.PipeReader); ok {
				if err == nil {
					io.Copy(io.Discard, r)
				}
				r.CloseWithError(io.ErrClosedPipe)
			}
			done <- i
		}(i, stage, prevIn, out)
		if pr != nil {
			in = pr
		}
	}
	for range stages {
		<-done
	}
	// A stage whose reader stopped early makes the stage before it fail
	// with io.ErrClosedPipe; the cause is the later stage's error.
	var closed error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, io.ErrClosedPipe):
			if closed == nil {
				closed = err
			}
		default:
			return nil, err
		}
	}
	if closed != nil {
		return nil, closed
	}
	return last.Bytes(), nil
}

// records decodes a stage's output.
func records(data []byte, name string) ([]*record.Raw, error) {
	r := record.NewReader(bytes.NewReader(data), name)
	var out []*record.Raw
	for {
		raw, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
}
