package patch

import (
	"bytes"
	"testing"
)

func TestListTar(t *testing.T) {
	files := []file{
		{"a.txt", []byte("hello")},
		{"dir/long/" + string(bytes.Repeat([]byte("n"), 150)),
			[]byte("long name")},
		{"empty", nil},
		{"b.bin", bytes.Repeat([]byte{7}, 1000)},
	}
	blob := makeTar(t, files)
	got := listTar(bytes.NewReader(blob), int64(len(blob)))
	var want []file
	for _, f := range files {
		if len(f.data) > 0 {
			want = append(want, f)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d files, want %d", len(got), len(want))
	}
	for i, f := range got {
		if f.name != want[i].name {
			t.Errorf("file %d: name %q, want %q", i, f.name, want[i].name)
		}
		content := blob[f.off : f.off+f.size]
		if !bytes.Equal(content, want[i].data) {
			t.Errorf("file %q: content at %d is %q, want %q", f.name,
				f.off, content, want[i].data)
		}
	}
	if got := listTar(bytes.NewReader([]byte("not a tar")), 9); got != nil {
		t.Errorf("listTar(not a tar) = %v, want nothing", got)
	}
}

func TestTarIndexBest(t *testing.T) {
	refs := newTarIndex([]tarFile{
		{name: "usr/lib/libz.so.1.2.13", size: 100},
		{name: "usr/bin/perl", size: 3000},
		{name: "usr/share/doc/perl/README", size: 40},
		{name: "etc/other/README", size: 50},
		{name: "big", size: 10000},
	})
	tests := []struct {
		name     string
		size     int64
		want     string
		how      string
		wantNone bool
	}{
		{"usr/bin/perl", 3100, "usr/bin/perl", "path", false},
		{"usr/lib/libz.so.1.3.1", 120, "usr/lib/libz.so.1.2.13", "masked",
			false},
		{"opt/README", 49, "etc/other/README", "base", false},
		{"new/file", 9000, "big", "size", false},
		{"new/tiny", 5, "", "", true},
	}
	for _, tt := range tests {
		g, how, ok := refs.best(tarFile{name: tt.name, size: tt.size})
		if ok == tt.wantNone || g.name != tt.want || how != tt.how {
			t.Errorf("best(%q) = %q by %q (ok %v), want %q by %q", tt.name,
				g.name, how, ok, tt.want, tt.how)
		}
	}
}

func TestMaskDigits(t *testing.T) {
	for in, want := range map[string]string{
		"libssl.so.3":      "libssl.so.#",
		"python3.11/os.py": "python#.#/os.py",
		"no digits":        "no digits",
		"go1.26.7/bin/go":  "go#.#.#/bin/go",
		"":                 "",
	} {
		if got := maskDigits(in); got != want {
			t.Errorf("maskDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAutoUsesDictionaries checks that on a tar pair whose files change
// every 16th byte (no run long enough for an anchor) Auto's patch is
// clearly smaller than the matcher's alone.
func TestAutoUsesDictionaries(t *testing.T) {
	var rf, tf []file
	for i := range 12 {
		data := randBytes(uint64(i), 20000)
		name := "lib/file" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		rf = append(rf, file{name, data})
		changed := append([]byte(nil), data...)
		for j := 0; j < len(changed); j += 16 {
			changed[j]++
		}
		tf = append(tf, file{name, changed})
	}
	ref, target := makeTar(t, rf), makeTar(t, tf)
	auto := len(encode(t, ref, target, Auto))
	match := len(encode(t, ref, target, Match))
	if auto*5 >= match*4 {
		t.Errorf("auto patch %d bytes, match patch %d: want auto at "+
			"least 20%% smaller", auto, match)
	}
}
