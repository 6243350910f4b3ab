// Package spec parses what names images on diffah's command lines: the
// NAME=BASELINE,TARGET pairs and NAME=PATH baselines of flags, and the
// bundle and baseline spec files.
//
// A bundle file is {"pairs":[{"name":…,"baseline":…,"target":…}]} and a
// baseline spec file is {"baselines":{"NAME":"PATH"}}. Relative paths in
// a file are resolved against the file's folder. Names must match
// [a-z0-9][a-z0-9_.-]*. Every error is a usage error (exit 2).
package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/diffah/diffah/lib/delta"
	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/jsonerr"
)

// maxFile bounds a spec file.
const maxFile = 4 << 20

// Pair names a baseline and a target image.
type Pair struct {
	Name     string `json:"name"`
	Baseline string `json:"baseline"`
	Target   string `json:"target"`
}

// ParsePair parses NAME=BASELINE,TARGET.
func ParsePair(arg string) (Pair, error) {
	name, paths, ok := strings.Cut(arg, "=")
	baseline, target, ok2 := strings.Cut(paths, ",")
	if !ok || !ok2 || baseline == "" || target == "" {
		return Pair{}, exit.Usagef("--pair %q: want NAME=BASELINE,TARGET",
			arg)
	}
	p := Pair{Name: name, Baseline: baseline, Target: target}
	if err := checkPaths("--pair", baseline, target); err != nil {
		return Pair{}, err
	}
	return p, checkName("--pair", name)
}

// ParseBaseline parses NAME=PATH.
func ParseBaseline(arg string) (string, string, error) {
	name, path, ok := strings.Cut(arg, "=")
	if !ok || path == "" {
		return "", "", exit.Usagef("--baseline %q: want NAME=PATH", arg)
	}
	if err := checkPaths("--baseline", path); err != nil {
		return "", "", err
	}
	return name, path, checkName("--baseline", name)
}

// checkPaths refuses a path that is not valid UTF-8: the JSON records
// between the stages cannot carry it unchanged.
//
// BUG: such a file has to be renamed or linked to a UTF-8 name first.
func checkPaths(where string, paths ...string) error {
	for _, p := range paths {
		if !utf8.ValidString(p) {
			return exit.Usagef("%s: path %q is not valid UTF-8, which "+
				"diffah's JSON records cannot carry: link it under a "+
				"UTF-8 name", where, p)
		}
	}
	return nil
}

func checkName(where, name string) error {
	if err := delta.CheckName(name); err != nil {
		return exit.Usage(fmt.Errorf("%s: %w", where, err))
	}
	return nil
}

// ReadBundle reads a bundle file.
func ReadBundle(path string) ([]Pair, error) {
	var doc struct {
		Pairs []Pair `json:"pairs"`
	}
	if err := readJSON(path, &doc); err != nil {
		return nil, err
	}
	if len(doc.Pairs) == 0 {
		return nil, exit.Usagef("%s: no pairs", path)
	}
	dir := filepath.Dir(path)
	for i := range doc.Pairs {
		p := &doc.Pairs[i]
		where := fmt.Sprintf("%s: pairs[%d]", path, i)
		if err := checkName(where, p.Name); err != nil {
			return nil, err
		}
		if p.Baseline == "" || p.Target == "" {
			return nil, exit.Usagef("%s: want both baseline and target",
				where)
		}
		p.Baseline = resolve(dir, p.Baseline)
		p.Target = resolve(dir, p.Target)
	}
	return doc.Pairs, CheckUnique(doc.Pairs)
}

// CheckUnique refuses a name that is not valid, and two pairs with one
// name, as usage errors.
func CheckUnique(pairs []Pair) error {
	seen := map[string]bool{}
	for _, p := range pairs {
		if err := checkName("pair", p.Name); err != nil {
			return err
		}
		if seen[p.Name] {
			return exit.Usagef("image name %q given twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// ReadBaselines reads a baseline spec file.
func ReadBaselines(path string) (map[string]string, error) {
	var doc struct {
		Baselines map[string]string `json:"baselines"`
	}
	if err := readJSON(path, &doc); err != nil {
		return nil, err
	}
	if len(doc.Baselines) == 0 {
		return nil, exit.Usagef("%s: no baselines", path)
	}
	dir := filepath.Dir(path)
	names := make([]string, 0, len(doc.Baselines))
	for name := range doc.Baselines {
		names = append(names, name)
	}
	sort.Strings(names)
	out := map[string]string{}
	for _, name := range names {
		if err := checkName(path, name); err != nil {
			return nil, err
		}
		if doc.Baselines[name] == "" {
			return nil, exit.Usagef("%s: baseline %q has no path", path,
				name)
		}
		out[name] = resolve(dir, doc.Baselines[name])
	}
	return out, nil
}

func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return exit.Usage(fmt.Errorf("reading spec: %w", err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return exit.IO(fmt.Errorf("reading %s: %w", path, err))
	}
	if len(data) > maxFile {
		return exit.Usagef("%s: larger than %d bytes", path, maxFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return exit.Usagef("%s: %v", path, jsonerr.Wrap(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return exit.Usagef("%s: data after the JSON document", path)
	}
	// encoding/json keeps the last of two equal keys without a word; a
	// name given twice must not silently lose one of its paths.
	if key, ok := duplicateKey(data); ok {
		return exit.Usagef("%s: key %q appears twice in one object", path,
			key)
	}
	return nil
}

// duplicateKey returns the first key that appears twice in one object of
// the JSON document data, which has already decoded without error.
func duplicateKey(data []byte) (string, bool) {
	type level struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *level
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		delim, isDelim := tok.(json.Delim)
		switch {
		case isDelim && (delim == '}' || delim == ']'):
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 {
				stack[n-1].wantKey = true
			}
		case top != nil && top.keys != nil && top.wantKey:
			key, _ := tok.(string)
			if top.keys[key] {
				return key, true
			}
			top.keys[key] = true
			top.wantKey = false
		case isDelim:
			l := &level{wantKey: true}
			if delim == '{' {
				l.keys = map[string]bool{}
			}
			stack = append(stack, l)
		case top != nil:
			top.wantKey = true
		}
	}
}
