package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/diffah/diffah/lib/exit"
)

const hdr = `{"kind":"header","schema":"diffah.pipeline/v1","tool":"t"}`

// readAll reads every record of stream through r and returns them.
func readAll(r io.Reader) ([]*Raw, error) {
	rr := NewReader(r, "in.jsonl")
	var out []*Raw
	for {
		raw, err := rr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, raw)
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		wantCode int
		wantMsg  []string // substrings of the error
	}{
		{"empty stream", "", exit.Corrupt,
			[]string{"in.jsonl", "empty stream", `"header"`}},
		{"blank lines only", "\n\n  \n", exit.Corrupt,
			[]string{"empty stream"}},
		{"no header", `{"kind":"image"}` + "\n", exit.Corrupt,
			[]string{"line 1", `first record is "image"`}},
		{"header after blank lines missing", "\n" + `{"kind":"blob"}`,
			exit.Corrupt, []string{"line 2", `"blob"`}},
		{"unknown schema", `{"kind":"header","schema":"diffah.pipeline/v9"}`,
			exit.Corrupt,
			[]string{"line 1", `"diffah.pipeline/v9"`, Schema}},
		{"unknown schema on line 3", "\n\n" +
			`{"kind":"header","schema":"x"}`, exit.Corrupt,
			[]string{"line 3", `schema "x"`}},
		{"missing schema", `{"kind":"header"}`, exit.Corrupt,
			[]string{"line 1", `schema ""`}},
		{"header schema wrong type", `{"kind":"header","schema":1}`,
			exit.Corrupt, []string{"line 1", "header record"}},
		{"malformed first line", `{"kind":`, exit.Corrupt,
			[]string{"line 1", "malformed JSON"}},
		{"second header", hdr + "\n" + `{"kind":"image"}` + "\n" + hdr +
			"\n", exit.Corrupt, []string{"line 3", `second "header"`}},
		{"malformed line 3", hdr + "\n" + `{"kind":"a"}` + "\n" +
			`{"kind":"b",}` + "\n", exit.Corrupt,
			[]string{"in.jsonl: line 3", "malformed JSON"}},
		{"not an object", hdr + "\n[1,2]\n", exit.Corrupt,
			[]string{"line 2", "malformed JSON"}},
		{"missing kind", hdr + "\n" + `{"name":"x"}` + "\n", exit.Corrupt,
			[]string{"line 2", `no "kind"`}},
		{"empty kind", hdr + "\n" + `{"kind":""}` + "\n", exit.Corrupt,
			[]string{"line 2", `no "kind"`}},
		{"kind not a string", hdr + "\n" + `{"kind":7}` + "\n",
			exit.Corrupt, []string{"line 2", "malformed JSON"}},
		{"null kind", hdr + "\n" + `{"kind":null}` + "\n", exit.Corrupt,
			[]string{"line 2", `no "kind"`}},
		{"line over MaxLine", hdr + "\n" + `{"kind":"a","pad":"` +
			strings.Repeat("x", MaxLine) + `"}` + "\n", exit.Corrupt,
			[]string{"line 2", "longer than"}},
		{"line over MaxLine without newline", hdr + "\n" +
			strings.Repeat(" ", MaxLine+1), exit.Corrupt,
			[]string{"line 2", "longer than"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(strings.NewReader(tc.stream))
			if err == nil {
				t.Fatalf("got no error, want exit %d", tc.wantCode)
			}
			if got := exit.Code(err); got != tc.wantCode {
				t.Errorf("got exit %d (%v), want %d", got, err, tc.wantCode)
			}
			for _, s := range tc.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got error %q, want it to contain %q",
						err, s)
				}
			}
		})
	}
}

func TestReaderAccepts(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		wantKinds []string
		wantLines []int
	}{
		{"header only", hdr + "\n", nil, nil},
		{"header without newline", hdr, nil, nil},
		{"unknown kinds pass", hdr + "\n" + `{"kind":"frobnicate","x":1}` +
			"\n" + `{"kind":"image"}` + "\n",
			[]string{"frobnicate", "image"}, []int{2, 3}},
		{"CRLF", hdr + "\r\n" + `{"kind":"a"}` + "\r\n" + `{"kind":"b"}` +
			"\r\n", []string{"a", "b"}, []int{2, 3}},
		{"blank lines count", "\n" + hdr + "\n\n" + `{"kind":"a"}` +
			"\n \t\n" + `{"kind":"b"}`, []string{"a", "b"}, []int{4, 6}},
		{"last line without newline", hdr + "\n" + `{"kind":"a"}`,
			[]string{"a"}, []int{2}},
		{"line at MaxLine", hdr + "\n" + `{"kind":"a","pad":"` +
			strings.Repeat("y", MaxLine-len(`{"kind":"a","pad":""}`)-1) +
			`"}` + "\n", []string{"a"}, []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raws, err := readAll(strings.NewReader(tc.stream))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			var kinds []string
			var lines []int
			for _, r := range raws {
				kinds = append(kinds, r.Kind)
				lines = append(lines, r.Line)
				if bytes.ContainsAny(r.Data, "\r\n") {
					t.Errorf("line %d: got data %q with a line end",
						r.Line, r.Data)
				}
			}
			if !reflect.DeepEqual(kinds, tc.wantKinds) {
				t.Errorf("got kinds %v, want %v", kinds, tc.wantKinds)
			}
			if !reflect.DeepEqual(lines, tc.wantLines) {
				t.Errorf("got lines %v, want %v", lines, tc.wantLines)
			}
		})
	}
}

// TestReaderPassThroughExact checks that Data is the line as it was,
// so a stage passes unknown records through unchanged.
func TestReaderPassThroughExact(t *testing.T) {
	line := `{ "kind" : "future",  "nested": {"a": [1, 2.50, "é"]} }`
	raws, err := readAll(strings.NewReader(hdr + "\n" + line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 1 {
		t.Fatalf("got %d records, want 1", len(raws))
	}
	if got := string(raws[0].Data); got != line {
		t.Errorf("got data %q, want %q", got, line)
	}
}

// TestReaderDataOwned checks that a record's Data survives later reads
// (the reader's buffer is reused).
func TestReaderDataOwned(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr + "\n")
	for i := 0; i < 5000; i++ {
		b.WriteString(`{"kind":"k","i":` + strings.Repeat("1", i%30+1) +
			"}\n")
	}
	raws, err := readAll(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range raws {
		want := `{"kind":"k","i":` + strings.Repeat("1", i%30+1) + "}"
		if string(r.Data) != want {
			t.Fatalf("record %d: got %q, want %q", i, r.Data, want)
		}
	}
}

func TestReaderChunked(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr + "\r\n\n")
	for i := 0; i < 200; i++ {
		b.WriteString(`{"kind":"k` + strings.Repeat("x", i%7) +
			`","v":"` + strings.Repeat("é", i) + "\"}\n")
	}
	stream := b.String()
	want, err := readAll(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 200 {
		t.Fatalf("got %d records, want 200", len(want))
	}
	readers := map[string]func() io.Reader{
		"one byte": func() io.Reader {
			return iotest.OneByteReader(strings.NewReader(stream))
		},
		"two bytes": func() io.Reader {
			return &chunkReader{r: strings.NewReader(stream), n: 2}
		},
		"half": func() io.Reader {
			return iotest.HalfReader(strings.NewReader(stream))
		},
		"data with EOF": func() io.Reader {
			return iotest.DataErrReader(strings.NewReader(stream))
		},
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(mk())
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %d records differing from the whole read "+
					"(%d records)", len(got), len(want))
			}
		})
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(hdr+"\n"+`{"kind":"a"`),
		iotest.ErrReader(boom))
	_, err := readAll(r)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("got exit %d, want %d", got, exit.EnvErr)
	}
}

func TestRawDecode(t *testing.T) {
	raws, err := readAll(strings.NewReader(hdr + "\n" +
		`{"kind":"skip","name":7}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var s Skip
	err = raws[0].Decode("plan.jsonl", &s)
	if got := exit.Code(err); got != exit.Corrupt {
		t.Fatalf("got exit %d (%v), want %d", got, err, exit.Corrupt)
	}
	for _, want := range []string{"plan.jsonl", "line 2", "skip record"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
}

func TestRawRequire(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		wantErr string // "" when every field is there
	}{
		{"all there", `{"kind":"skip","name":"app","reason":""}`, ""},
		{"zero values count", `{"kind":"skip","name":"","reason":0}`, ""},
		{"missing", `{"kind":"skip","name":"app"}`,
			`in.jsonl: line 2: skip record: no "reason" field`},
		{"null", `{"kind":"skip","name":null,"reason":"x"}`,
			`in.jsonl: line 2: skip record: no "name" field`},
		{"nested only", `{"kind":"skip","x":{"name":1,"reason":2}}`,
			`in.jsonl: line 2: skip record: no "name" field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raws, err := readAll(strings.NewReader(hdr + "\n" + tt.line +
				"\n"))
			if err != nil {
				t.Fatal(err)
			}
			err = raws[0].Require("in.jsonl", "name", "reason")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if got := exit.Code(err); got != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", got, err,
					exit.Corrupt)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("got %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "diffah-test")
	if err != nil {
		t.Fatal(err)
	}
	recs := []any{
		Skip{Kind: KindSkip, Name: "app", Reason: "no baseline"},
		Result{Kind: KindResult, Name: "app", Output: "/o/app.tar",
			Format: "auto", Size: 10},
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteRaw([]byte(`{"kind":"x-custom"}`)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != 4 {
		t.Errorf("got %d lines, want 4", got)
	}

	rr := NewReader(&buf, "out")
	var kinds []string
	var skip Skip
	for {
		raw, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, raw.Kind)
		if raw.Kind == KindSkip {
			if err := raw.Decode("out", &skip); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := rr.Header()
	if h == nil || h.Tool != "diffah-test" || h.Schema != Schema {
		t.Errorf("got header %+v, want tool diffah-test schema %s", h,
			Schema)
	}
	want := []string{KindSkip, KindResult, "x-custom"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("got kinds %v, want %v", kinds, want)
	}
	if skip != recs[0] {
		t.Errorf("got %+v, want %+v", skip, recs[0])
	}
}

func TestWriterError(t *testing.T) {
	_, err := NewWriter(failWriter{}, "t")
	if got := exit.Code(err); got != exit.EnvErr {
		t.Errorf("got exit %d (%v), want %d", got, err, exit.EnvErr)
	}
	w := &Writer{w: io.Discard}
	err = w.Write(map[string]any{"kind": "x", "bad": make(chan int)})
	if err == nil {
		t.Errorf("got no error for an unencodable record, want one")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) {
	return 0, errors.New("disk full")
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(hdr + "\n" + `{"kind":"a"}` + "\n"))
	f.Add([]byte(hdr + "\r\n\r\n" + `{"kind":"image","name":"x"}`))
	f.Add([]byte(`{"kind":"header","schema":"v0"}`))
	f.Add([]byte("\n\n{"))
	f.Add([]byte(hdr + "\n[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, errWhole := readAll(bytes.NewReader(data))
		if errWhole != nil {
			code := exit.Code(errWhole)
			if code != exit.Corrupt {
				t.Fatalf("got exit %d (%v), want %d", code, errWhole,
					exit.Corrupt)
			}
		}
		for _, r := range whole {
			if r.Kind == "" || !json.Valid(r.Data) || r.Line < 2 {
				t.Fatalf("got record %+v, want a kind, valid JSON and "+
					"a line after the header", r)
			}
		}
		// The same input in one-byte reads gives the same result.
		bytewise, errByte := readAll(iotest.OneByteReader(
			bytes.NewReader(data)))
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("got %d records bytewise, want %d", len(bytewise),
				len(whole))
		}
		if (errWhole == nil) != (errByte == nil) {
			t.Fatalf("got error %v bytewise, %v whole", errByte, errWhole)
		}
	})
}
