package imagebuild

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

// TestRealisticVersions checks which layers versions share.
func TestRealisticVersions(t *testing.T) {
	v1, v2, v3 := Realistic(1), Realistic(2), Realistic(3)
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"base v1 v2", v1.Layers[0], v2.Layers[0], true},
		{"base v2 v3", v2.Layers[0], v3.Layers[0], true},
		{"runtime v1 v2", v1.Layers[1], v2.Layers[1], true},
		{"runtime v2 v3", v2.Layers[1], v3.Layers[1], false},
		{"app v1 v2", v1.Layers[2], v2.Layers[2], false},
		{"app v2 v3", v2.Layers[2], v3.Layers[2], false},
	}
	for _, tt := range tests {
		if got := bytes.Equal(tt.a, tt.b); got != tt.same {
			t.Errorf("%s: equal %v, want %v", tt.name, got, tt.same)
		}
	}
	if !bytes.Equal(Realistic(0).Layers[2], v1.Layers[2]) {
		t.Errorf("Realistic(0) differs from Realistic(1)")
	}
	if v1.Tags[0] != "app:1.0" || v2.Tags[0] != "app:2.0" {
		t.Errorf("tags: got %q and %q", v1.Tags, v2.Tags)
	}
}

// TestRealisticContent checks that the base layer holds every kind of
// entry the brief asks for, and the later app layers the deletions.
func TestRealisticContent(t *testing.T) {
	v1, v2 := Realistic(1), Realistic(2)
	base := readLayer(t, v1.Layers[0])
	var total int
	kinds := map[string]bool{}
	for _, e := range base {
		h := e.hdr
		total += len(e.body)
		switch {
		case h.Typeflag == tar.TypeLink && h.Linkname == "usr/bin/busybox":
			kinds["hard link"] = true
		case h.Typeflag == tar.TypeSymlink:
			kinds["symlink"] = true
		case h.Typeflag == tar.TypeDir && h.Mode&0o1000 != 0:
			kinds["sticky dir"] = true
		}
		if len(h.Name) > 100 && h.Format == tar.FormatPAX {
			kinds["long name, PAX"] = true
		}
		if len(h.Name) > 100 && h.Format != tar.FormatPAX {
			kinds["long name, USTAR prefix"] = true
		}
	}
	for _, k := range []string{"hard link", "symlink", "sticky dir",
		"long name, PAX", "long name, USTAR prefix"} {
		if !kinds[k] {
			t.Errorf("base layer: no %s", k)
		}
	}
	if total < 300<<10 || total > 700<<10 {
		t.Errorf("base layer: %d bytes of files, want a few hundred KiB",
			total)
	}

	names := func(layer []byte) map[string]bool {
		m := map[string]bool{}
		for _, e := range readLayer(t, layer) {
			m[e.hdr.Name] = true
		}
		return m
	}
	app1, app2 := names(v1.Layers[2]), names(v2.Layers[2])
	for _, n := range []string{"etc/.wh.motd", "usr/share/doc/.wh..wh..opq"} {
		if app1[n] || !app2[n] {
			t.Errorf("%s: in v1 %v, in v2 %v; want only in v2", n, app1[n],
				app2[n])
		}
	}
}

// TestRealisticSmallChange checks that app/server changes in a few
// bytes only from v1 to v2, so a patch between them is small.
func TestRealisticSmallChange(t *testing.T) {
	file := func(layer []byte, name string) []byte {
		for _, e := range readLayer(t, layer) {
			if e.hdr.Name == name {
				return e.body
			}
		}
		t.Fatalf("%s: missing", name)
		return nil
	}
	a := file(Realistic(1).Layers[2], "app/server")
	b := file(Realistic(2).Layers[2], "app/server")
	if len(a) != len(b) {
		t.Fatalf("app/server: %d and %d bytes", len(a), len(b))
	}
	diff := 0
	for i := range a {
		if a[i] != b[i] {
			diff++
		}
	}
	if diff == 0 || diff > 64 {
		t.Errorf("app/server: %d bytes differ, want 1 to 64", diff)
	}
	if !strings.Contains(string(b), "app-version-2.0") {
		t.Errorf("app/server v2 lacks its version stamp")
	}
}
