package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/diffah/diffah/lib/exit"
)

func TestParsePair(t *testing.T) {
	tests := []struct {
		arg     string
		want    Pair
		wantErr string // "" for success
	}{
		{"app=v1.tar,v2.tar", Pair{"app", "v1.tar", "v2.tar"}, ""},
		{"a-b_c.1=/abs/v1.tar,rel/v2.tar.gz",
			Pair{"a-b_c.1", "/abs/v1.tar", "rel/v2.tar.gz"}, ""},
		{"app=v1.tar@app:1.0,v2.tar@app:2.0",
			Pair{"app", "v1.tar@app:1.0", "v2.tar@app:2.0"}, ""},
		// Only the first "=" and "," split.
		{"app=a=b.tar,c,d.tar", Pair{"app", "a=b.tar", "c,d.tar"}, ""},
		{"app", Pair{}, "want NAME=BASELINE,TARGET"},
		{"app=v1.tar", Pair{}, "want NAME=BASELINE,TARGET"},
		{"app=,v2.tar", Pair{}, "want NAME=BASELINE,TARGET"},
		{"app=v1.tar,", Pair{}, "want NAME=BASELINE,TARGET"},
		{"", Pair{}, "want NAME=BASELINE,TARGET"},
		{"=v1.tar,v2.tar", Pair{}, `image name ""`},
		{"App=v1.tar,v2.tar", Pair{}, `image name "App"`},
		{"../x=v1.tar,v2.tar", Pair{}, `image name "../x"`},
		{"-app=v1.tar,v2.tar", Pair{}, `image name "-app"`},
		{"a/b=v1.tar,v2.tar", Pair{}, `image name "a/b"`},
		{"a b=v1.tar,v2.tar", Pair{}, `image name "a b"`},
		{"app=v1.tar,t\xff.tar", Pair{}, "not valid UTF-8"},
		{"app=v\xfe1.tar,v2.tar", Pair{}, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParsePair(tc.arg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want %+v", err, tc.want)
				}
				if got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			if code := exit.Code(err); code != exit.UsageErr {
				t.Fatalf("got exit %d (%v), want %d", code, err,
					exit.UsageErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) ||
				!strings.Contains(err.Error(), "--pair") {
				t.Errorf("got %q, want it to name --pair and contain %q",
					err, tc.wantErr)
			}
		})
	}
}

func TestParseBaseline(t *testing.T) {
	tests := []struct {
		arg       string
		wantName  string
		wantPath  string
		wantError bool
	}{
		{"app=v1.tar", "app", "v1.tar", false},
		{"app=v1.tar@app:1.0", "app", "v1.tar@app:1.0", false},
		{"app=a=b", "app", "a=b", false},
		{"app=", "", "", true},
		{"app", "", "", true},
		{"=v1.tar", "", "", true},
		{"APP=v1.tar", "", "", true},
		{".app=v1.tar", "", "", true},
		{"app=v\xff1.tar", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			name, path, err := ParseBaseline(tc.arg)
			if tc.wantError {
				if code := exit.Code(err); code != exit.UsageErr ||
					!strings.Contains(err.Error(), "--baseline") {
					t.Errorf("got exit %d (%v), want %d naming --baseline",
						code, err, exit.UsageErr)
				}
				return
			}
			if err != nil || name != tc.wantName || path != tc.wantPath {
				t.Errorf("got %q %q %v, want %q %q", name, path, err,
					tc.wantName, tc.wantPath)
			}
		})
	}
}

func writeSpec(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadBundle(t *testing.T) {
	dir := t.TempDir()
	path := writeSpec(t, dir, "specs/bundle.json", `{"pairs":[
		{"name":"app","baseline":"v1.tar","target":"../images/v2.tar"},
		{"name":"db","baseline":"/abs/db1.tar","target":"sub/db2.tar@db:2"}
	]}`)
	got, err := ReadBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	specs := filepath.Join(dir, "specs")
	want := []Pair{
		{"app", filepath.Join(specs, "v1.tar"),
			filepath.Join(dir, "images", "v2.tar")},
		{"db", "/abs/db1.tar", filepath.Join(specs, "sub", "db2.tar@db:2")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestReadBundleRelativeSpec checks a spec file named by a relative
// path: its pairs resolve against the file's folder, still relative to
// the working folder.
func TestReadBundleRelativeSpec(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, "s/b.json",
		`{"pairs":[{"name":"app","baseline":"v1.tar","target":"v2.tar"}]}`)
	t.Chdir(dir)
	got, err := ReadBundle(filepath.Join("s", "b.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{"app", filepath.Join("s", "v1.tar"),
		filepath.Join("s", "v2.tar")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestDuplicateKey finds a key given twice in one object at any depth,
// and only there.
func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		doc, want string
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"x":{"y":[1,{"k":1,"k":2}]}}`, "k"},
		{`{"x":{"a":1},"y":{"a":{"b":[]},"c":1},"x":2}`, "x"},
		{`[{"a":1},{"a":1}]`, ""},
		{`{"s":"a","t":"a"}`, ""},
	}
	for _, tt := range tests {
		got, _ := duplicateKey([]byte(tt.doc))
		if got != tt.want {
			t.Errorf("duplicateKey(%s) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestReadBundleErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"no pairs", `{"pairs":[]}`, "no pairs"},
		{"empty object", `{}`, "no pairs"},
		{"unknown top field", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c"}],"extra":1}`, `unknown field "extra"`},
		{"unknown pair field", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c","platform":"linux/amd64"}]}`,
			`unknown field "platform"`},
		{"misspelled field", `{"pairs":[{"name":"a","baseline":"b",` +
			`"targte":"c"}]}`, `unknown field "targte"`},
		{"bad name", `{"pairs":[{"name":"My App","baseline":"b",` +
			`"target":"c"}]}`, `pairs[0]: image name "My App"`},
		{"bad second name", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c"},{"name":"","baseline":"b","target":"c"}]}`,
			"pairs[1]"},
		{"no target", `{"pairs":[{"name":"a","baseline":"b"}]}`,
			"want both baseline and target"},
		{"no baseline", `{"pairs":[{"name":"a","target":"b"}]}`,
			"want both baseline and target"},
		{"duplicate names", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c"},{"name":"a","baseline":"d","target":"e"}]}`,
			`"a" given twice`},
		{"field twice in a pair", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c","target":"d"}]}`, `key "target" appears twice`},
		{"not JSON", `pairs: []`, "bundle.json"},
		{"trailing document", `{"pairs":[{"name":"a","baseline":"b",` +
			`"target":"c"}]} {"pairs":[]}`, "bundle.json"},
		{"wrong type", `{"pairs":{"name":"a"}}`, "bundle.json"},
		{"too large", `{"pairs":[` + strings.Repeat(" ", maxFile) + `]}`,
			"larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeSpec(t, t.TempDir(), "bundle.json", tc.body)
			_, err := ReadBundle(path)
			if code := exit.Code(err); code != exit.UsageErr {
				t.Fatalf("got exit %d (%v), want %d", code, err,
					exit.UsageErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
	_, err := ReadBundle(filepath.Join(t.TempDir(), "absent.json"))
	if code := exit.Code(err); code != exit.UsageErr {
		t.Errorf("missing file: got exit %d (%v), want %d", code, err,
			exit.UsageErr)
	}
}

func TestReadBaselines(t *testing.T) {
	dir := t.TempDir()
	path := writeSpec(t, dir, "conf/baselines.json", `{"baselines":{
		"app":"images/v1.tar","db":"/srv/db.tar@db:1","web":"../w.tar"}}`)
	got, err := ReadBaselines(path)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "conf")
	want := map[string]string{
		"app": filepath.Join(conf, "images", "v1.tar"),
		"db":  "/srv/db.tar@db:1",
		"web": filepath.Join(dir, "w.tar"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestReadBaselinesErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"empty", `{"baselines":{}}`, "no baselines"},
		{"missing", `{}`, "no baselines"},
		{"unknown field", `{"baselines":{"a":"b"},"strict":true}`,
			`unknown field "strict"`},
		{"pairs in a baseline spec", `{"pairs":[]}`, `unknown field "pairs"`},
		{"bad name", `{"baselines":{"A":"b"}}`, `image name "A"`},
		// The first bad name in sorted order is reported, every run.
		{"two bad names", `{"baselines":{"Z":"b","B":"c","ok":"d"}}`,
			`image name "B"`},
		{"empty path", `{"baselines":{"a":""}}`, `"a" has no path`},
		{"path not a string", `{"baselines":{"a":1}}`, "baselines.json"},
		{"list instead of map", `{"baselines":["a"]}`, "baselines.json"},
		{"name twice", `{"baselines":{"app":"x.tar","app":"v1.tar"}}`,
			`key "app" appears twice`},
		{"field twice", `{"baselines":{"a":"b"},"baselines":{"c":"d"}}`,
			`key "baselines" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeSpec(t, t.TempDir(), "baselines.json", tc.body)
			_, err := ReadBaselines(path)
			if code := exit.Code(err); code != exit.UsageErr {
				t.Fatalf("got exit %d (%v), want %d", code, err,
					exit.UsageErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestCheckUnique(t *testing.T) {
	ok := []Pair{{Name: "a"}, {Name: "b"}}
	if err := CheckUnique(ok); err != nil {
		t.Errorf("got %v, want nil", err)
	}
	err := CheckUnique(append(ok, Pair{Name: "a"}))
	if code := exit.Code(err); code != exit.UsageErr ||
		!strings.Contains(err.Error(), `"a"`) {
		t.Errorf("got exit %d (%v), want %d naming \"a\"", code, err,
			exit.UsageErr)
	}
}

func FuzzReadBundle(f *testing.F) {
	f.Add([]byte(`{"pairs":[{"name":"a","baseline":"b","target":"c"}]}`))
	f.Add([]byte(`{"baselines":{"a":"b"}}`))
	f.Add([]byte(`{"pairs":null}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "spec.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pairs, err := ReadBundle(path)
		if err != nil {
			if code := exit.Code(err); code != exit.UsageErr {
				t.Fatalf("got exit %d (%v), want %d", code, err,
					exit.UsageErr)
			}
		}
		for _, p := range pairs {
			if p.Baseline == "" || p.Target == "" {
				t.Fatalf("accepted pair %+v without paths", p)
			}
		}
		if _, err := ReadBaselines(path); err != nil {
			if code := exit.Code(err); code != exit.UsageErr {
				t.Fatalf("baselines: got exit %d (%v), want %d", code,
					err, exit.UsageErr)
			}
		}
	})
}
