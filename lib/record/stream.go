package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
)

// MaxLine is the longest line a Reader accepts, in bytes.
const MaxLine = 16 << 20

// Raw is one line of a stream, undecoded.
type Raw struct {
	Kind string
	Line int
	Data []byte
}

// Decode unmarshals the line into v, naming the stream and line in errors.
func (r *Raw) Decode(name string, v any) error {
	if err := json.Unmarshal(r.Data, v); err != nil {
		return exit.Contentf("%s: line %d: %s record: %v",
			name, r.Line, r.Kind, jsonerr.Wrap(err))
	}
	return nil
}

// Require checks that the record's object has each of fields, at its
// top level and not null. A missing one is a content error naming the
// stream, line, kind and field: `plan.jsonl: line 2: assembly record: no
// "target" field`. Decoding into a struct cannot tell a missing field
// from a zero one; stages call Require for the fields they need.
func (r *Raw) Require(name string, fields ...string) error {
	var object map[string]json.RawMessage
	if err := json.Unmarshal(r.Data, &object); err != nil {
		return exit.Contentf("%s: line %d: %s record: %v",
			name, r.Line, r.Kind, jsonerr.Wrap(err))
	}
	for _, field := range fields {
		value, ok := object[field]
		if !ok || string(value) == "null" {
			return exit.Contentf("%s: line %d: %s record: no %q field",
				name, r.Line, r.Kind, field)
		}
	}
	return nil
}

// Reader reads records. It checks the header and refuses lines longer
// than MaxLine, malformed JSON and lines without a kind. CRLF line ends
// are accepted.
type Reader struct {
	name   string
	br     *bufio.Reader
	line   int
	header *Header
}

// NewReader reads a stream; name (a file name or "stdin") is used in
// errors.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10)}
}

// Header returns the stream's header once Next has read it.
func (r *Reader) Header() *Header { return r.header }

// Next returns the next record after the header, or io.EOF at the end.
// A stream without a header, or with a second one, is a content error.
//
// TODO(#4): a stream cut short at a line boundary (a stage killed
// mid-run, without pipefail) looks complete; a closing record with a
// count, required by every reader, would tell.
func (r *Reader) Next() (*Raw, error) {
	for {
		data, err := r.readLine()
		if err == io.EOF && r.header == nil {
			return nil, exit.Contentf("%s: empty stream, want a %q record "+
				"first", r.name, KindHeader)
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		raw, err := r.parse(data)
		if err != nil {
			return nil, err
		}
		if r.header == nil {
			if err := r.checkHeader(raw); err != nil {
				return nil, err
			}
			continue
		}
		if raw.Kind == KindHeader {
			return nil, exit.Contentf("%s: line %d: a second %q record, "+
				"want one at the top only (keep the first header when "+
				"joining streams)", r.name, raw.Line, KindHeader)
		}
		return raw, nil
	}
}

func (r *Reader) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLine {
			return nil, exit.Contentf("%s: line %d: longer than %d bytes",
				r.name, r.line+1, MaxLine)
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			err = nil
		}
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, exit.IO(fmt.Errorf("reading %s: %w", r.name, err))
		}
		r.line++
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		return bytes.TrimSuffix(buf, []byte("\r")), nil
	}
}

func (r *Reader) parse(data []byte) (*Raw, error) {
	var probe struct {
		Kind *string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, exit.Contentf("%s: line %d: malformed JSON: %v",
			r.name, r.line, err)
	}
	if probe.Kind == nil || *probe.Kind == "" {
		return nil, exit.Contentf("%s: line %d: record has no \"kind\"",
			r.name, r.line)
	}
	owned := append([]byte(nil), data...)
	return &Raw{Kind: *probe.Kind, Line: r.line, Data: owned}, nil
}

func (r *Reader) checkHeader(raw *Raw) error {
	if raw.Kind != KindHeader {
		return exit.Contentf("%s: line %d: first record is %q, want %q",
			r.name, raw.Line, raw.Kind, KindHeader)
	}
	var h Header
	if err := raw.Decode(r.name, &h); err != nil {
		return err
	}
	if h.Schema != Schema {
		return exit.Contentf("%s: line %d: schema %q, this diffah reads %q",
			r.name, raw.Line, h.Schema, Schema)
	}
	r.header = &h
	return nil
}

// Writer writes records, one per line, starting with a Header.
type Writer struct {
	w io.Writer
}

// NewWriter writes the header for tool and returns a Writer.
func NewWriter(w io.Writer, tool string) (*Writer, error) {
	rw := &Writer{w: w}
	h := Header{Kind: KindHeader, Schema: Schema, Tool: tool}
	return rw, rw.Write(h)
}

// Write marshals v as one line.
func (w *Writer) Write(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding record: %w", err)
	}
	return w.WriteRaw(data)
}

// WriteRaw writes an already encoded record (a passed-through line).
func (w *Writer) WriteRaw(data []byte) error {
	line := make([]byte, 0, len(data)+1)
	line = append(append(line, data...), '\n')
	if _, err := w.w.Write(line); err != nil {
		return exit.IO(fmt.Errorf("writing records: %w", err))
	}
	return nil
}
