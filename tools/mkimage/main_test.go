package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffah/diffah/lib/exit"
	"github.com/diffah/diffah/lib/imagebuild"
)

// TestRun checks that the command writes what imagebuild writes for the
// same settings, and refuses bad flags with exit status 2.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args   []string
		spec   func() imagebuild.Spec
		format string
		code   int
	}{
		{[]string{"-version", "2", "-format", "docker-legacy"},
			func() imagebuild.Spec { return imagebuild.Realistic(2) },
			"docker-legacy", exit.OK},
		{[]string{"-format", "oci-archive", "-compress", "zstd",
			"-tag", "a:1", "-tag", "b:2"},
			func() imagebuild.Spec {
				s := imagebuild.Realistic(1)
				s.Compress, s.Tags = "gzip", []string{"a:1", "b:2"}
				return s
			}, "oci-archive+zstd", exit.OK},
		{[]string{"-format", "docker-modern", "-layers", "zstd",
			"-manifest", "docker"},
			func() imagebuild.Spec {
				s := imagebuild.Realistic(1)
				s.Compress, s.Manifest = "zstd", "docker"
				return s
			}, "docker-modern", exit.OK},
		{[]string{"-empty", "-dup", "-format", "docker-skopeo"},
			func() imagebuild.Spec {
				s := imagebuild.Realistic(1)
				s.Compress = "gzip"
				s.Layers = append(s.Layers, imagebuild.EmptyTar(), []byte{},
					s.Layers[2])
				return s
			}, "docker-skopeo", exit.OK},
		{[]string{"-version", "0"}, nil, "", exit.UsageErr},
		{[]string{"-format", "zip"}, nil, "", exit.UsageErr},
		{[]string{"-compress", "xz"}, nil, "", exit.UsageErr},
		{[]string{"-layers", "xz"}, nil, "", exit.UsageErr},
		{[]string{"-nope"}, nil, "", exit.UsageErr},
		{[]string{"extra"}, nil, "", exit.UsageErr},
	}
	for i, tt := range tests {
		out := filepath.Join(dir, "out"+string(rune('a'+i)))
		err := run(append(tt.args, "-o", out))
		if got := exit.Code(err); got != tt.code {
			t.Errorf("%q: exit code %d, want %d (%v)", tt.args, got,
				tt.code, err)
			continue
		}
		if tt.code != exit.OK {
			continue
		}
		want := filepath.Join(dir, "want"+string(rune('a'+i)))
		if err := imagebuild.WriteFile(want, tt.spec(), tt.format); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(out)
		b, _ := os.ReadFile(want)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%q: %d bytes, differ from imagebuild's %d", tt.args,
				len(a), len(b))
		}
	}
	if err := run([]string{"-version", "1"}); exit.Code(err) != exit.UsageErr {
		t.Errorf("no -o: got %v, want a usage error", err)
	}
}
