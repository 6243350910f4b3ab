package imagebuild

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
)

// Realistic returns the Spec of a small application image, version
// version (values below 1 count as 1), tagged "app:<version>.0", with
// uncompressed layers (set Compress to change that):
//
//  1. base: a merged-/usr root file system of about 440 KiB: /etc files
//     (one of them mode 0640), a sticky /tmp, /bin a symlink to usr/bin,
//     usr/bin/busybox (256 KiB of binary-like bytes) with usr/bin/sh a
//     symlink and usr/bin/ls a hard link to it, usr/lib/libc.so.6, and
//     two documentation files whose paths pass 100 bytes: one that
//     USTAR can split into prefix and name, one whose name alone is
//     longer, so its header is PAX.
//  2. runtime: usr/lib/libruntime.so.1 (96 KiB) with a symlink to it and
//     etc/ld.so.cache. From version 3 on, 16 bytes of the library
//     differ per version; versions 1 and 2 share this layer.
//  3. app: app/server (128 KiB) whose bytes differ from one version to
//     the next in a few places, and app/static files equal in every
//     version. From version 2 on it also deletes etc/motd (a whiteout)
//     and replaces usr/share/doc (an opaque directory) with a README.
//
// Versions 1 and 2 share their base and runtime layers byte for byte and
// differ in the app layer; every version shares the base layer.
func Realistic(version int) Spec {
	if version < 1 {
		version = 1
	}
	return Spec{
		Tags:   []string{fmt.Sprintf("app:%d.0", version)},
		Layers: [][]byte{baseLayer(), runtimeLayer(version), appLayer(version)},
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		},
		Cmd:        []string{"/app/server", "--config", "/app/config.yaml"},
		WorkingDir: "/app",
		History: []string{
			"ADD rootfs.tar /",
			"COPY runtime/ /",
			fmt.Sprintf("COPY app-%d/ /", version),
		},
	}
}

// Long paths in the base layer: the first splits into a USTAR prefix
// and name, the second has a single 120-byte name that forces PAX.
var (
	longSplitPath = "usr/share/doc/libexample-common-runtime-support/" +
		"examples/configuration/reference-configuration-for-" +
		"production-deployments.conf"
	longPAXPath = "usr/share/doc/" + strings.Repeat("long-file-name-", 8) +
		".txt"
)

func baseLayer() []byte {
	return Layer(
		Symlink("bin", "usr/bin"),
		Dir("etc"),
		File("etc/group", []byte("root:x:0:\nnobody:x:65534:\n")),
		File("etc/hostname", []byte("app\n")),
		File("etc/hosts", []byte("127.0.0.1\tlocalhost\n"+
			"::1\tlocalhost ip6-localhost ip6-loopback\n")),
		File("etc/motd", []byte("Welcome to the diffah test image.\n")),
		File("etc/os-release", []byte("NAME=\"Example Linux\"\n"+
			"ID=example\nVERSION_ID=1.0\n")),
		File("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"+
			"nobody:x:65534:65534:nobody:/:/sbin/nologin\n")),
		Entry{Path: "etc/shadow", Body: []byte("root:*::0:::::\n"),
			Mode: 0o640},
		Entry{Path: "tmp", Type: tar.TypeDir, Mode: 0o1777},
		Dir("usr"),
		Dir("usr/bin"),
		Exec("usr/bin/busybox", pseudoBinary("busybox", 256<<10)),
		Hardlink("usr/bin/ls", "usr/bin/busybox"),
		Symlink("usr/bin/sh", "busybox"),
		Dir("usr/lib"),
		Exec("usr/lib/libc.so.6", pseudoBinary("libc", 160<<10)),
		Dir("usr/share"),
		Dir("usr/share/doc"),
		File(longPAXPath, []byte("A file whose name is long.\n")),
		Dir("usr/share/doc/libexample-common-runtime-support"),
		Dir("usr/share/doc/libexample-common-runtime-support/examples"),
		Dir("usr/share/doc/libexample-common-runtime-support/examples/"+
			"configuration"),
		File(longSplitPath, pseudoText("reference-conf", 6<<10)),
	)
}

func runtimeLayer(version int) []byte {
	lib := pseudoBinary("libruntime", 96<<10)
	if version >= 3 {
		stamp := fmt.Sprintf("runtime-build-%02d", version%100)
		copy(lib[40<<10:], stamp)
	}
	return Layer(
		Dir("etc"),
		File("etc/ld.so.cache", pseudoBinary("ld.so.cache", 4<<10)),
		Dir("usr"),
		Dir("usr/lib"),
		Symlink("usr/lib/libruntime.so", "libruntime.so.1"),
		Exec("usr/lib/libruntime.so.1", lib),
	)
}

func appLayer(version int) []byte {
	server := pseudoBinary("server", 128<<10)
	for i, at := range []int{1 << 10, 37 << 10, 90 << 10} {
		copy(server[at:], fmt.Sprintf("app-version-%d.%d", version, i))
	}
	entries := []Entry{
		Dir("app"),
		File("app/config.yaml", []byte("listen: :8080\nlog: info\n")),
		Exec("app/server", server),
		Dir("app/static"),
		File("app/static/app.js", pseudoText("app.js", 16<<10)),
		File("app/static/index.html", []byte("<!doctype html>\n"+
			"<title>app</title>\n<script src=app.js></script>\n")),
	}
	if version >= 2 {
		entries = append(entries,
			Dir("etc"),
			Whiteout("etc/motd"),
			Dir("usr"),
			Dir("usr/share"),
			Dir("usr/share/doc"),
			Opaque("usr/share/doc"),
			File("usr/share/doc/README", []byte("Documentation moved to "+
				"https://example.invalid/docs\n")),
		)
	}
	return Layer(entries...)
}

// rng is splitmix64: small, fast, and fixed forever, unlike math/rand's
// generators, so the bytes it makes never change between Go versions.
type rng uint64

func newRNG(seed string) *rng {
	h := fnv.New64a()
	h.Write([]byte(seed))
	r := rng(h.Sum64())
	return &r
}

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// pseudoBinary returns n bytes that compress about as well as a program
// does: runs of "instructions" drawn from a small vocabulary, zero
// padding and random constants, seeded by name.
func pseudoBinary(name string, n int) []byte {
	r := newRNG("binary:" + name)
	vocab := make([][]byte, 64)
	for i := range vocab {
		word := make([]byte, 4+r.intn(9))
		for j := range word {
			word[j] = byte(r.next())
		}
		vocab[i] = word
	}
	out := make([]byte, 0, n+64)
	var scratch [8]byte
	for len(out) < n {
		switch k := r.intn(100); {
		case k < 70:
			out = append(out, vocab[r.intn(len(vocab))]...)
		case k < 85:
			out = append(out, make([]byte, 4+r.intn(28))...)
		default:
			binary.LittleEndian.PutUint64(scratch[:], r.next())
			out = append(out, scratch[:]...)
		}
	}
	return out[:n]
}

// pseudoText returns n bytes of lowercase words and lines, seeded by
// name.
func pseudoText(name string, n int) []byte {
	r := newRNG("text:" + name)
	words := []string{"config", "value", "server", "client", "request",
		"timeout", "enable", "default", "path", "cache", "return",
		"function", "const", "let", "if", "else", "true", "false"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.intn(len(words))])
		if r.intn(8) == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return []byte(b.String()[:n])
}
