#!/bin/sh
# mkpairs.sh builds the realistic reference/target pairs that the patch
# codec is measured on, in a cache folder outside the repository
# (default $HOME/.cache/diffah-bench; override with DIFFAH_BENCH_CACHE).
# Pairs that already exist are kept. Needs: debootstrap (apt-get install
# debootstrap), a Debian mirror, the Go module proxy, GNU tar, unzip.
#
# Each pair is two files, <name>.ref and <name>.target:
#   debian   Debian bookworm minbase root file system, then the same tree
#            after `apt-get upgrade` from bookworm-security/-updates
#   go       Go toolchain go1.26.7 and go1.26.8 (linux-amd64) trees
#   debian-big  the same with a JDK, clang/LLVM, g++, Python and Go
#            installed (over 1 GB)
#   random1m, random64m   random bytes, nothing shared
set -eu
cache=${DIFFAH_BENCH_CACHE:-$HOME/.cache/diffah-bench}
mkdir -p "$cache"
cd "$cache"

# dtar writes a deterministic tar of directory $1 (sorted, numeric owners,
# real modification times kept, as a container layer would have them).
dtar() {
	tar --sort=name --format=gnu --numeric-owner -C "$1" -cf "$2.tmp" .
	mv "$2.tmp" "$2"
}

random_pair() { # name bytes
	[ -f "$1.target" ] && return 0
	head -c "$2" /dev/urandom >"$1.ref"
	head -c "$2" /dev/urandom >"$1.target.tmp"
	mv "$1.target.tmp" "$1.target"
}

go_pair() {
	[ -f go.target ] && return 0
	for v in 1.26.7 1.26.8; do
		zip=$(cd /tmp && go mod download -json \
			"golang.org/toolchain@v0.0.1-go$v.linux-amd64" |
			sed -n 's/.*"Zip": "\(.*\)".*/\1/p')
		rm -rf "go-$v" "go-$v.zip" && mkdir -p "go-$v/usr/local"
		unzip -q "$zip" -d "go-$v.zip"
		# As an image would hold it: the tree at /usr/local/go.
		mv "go-$v.zip/golang.org/toolchain@v0.0.1-go$v.linux-amd64" \
			"go-$v/usr/local/go"
		rm -rf "go-$v.zip"
	done
	dtar go-1.26.7 go.ref
	dtar go-1.26.8 go.target
}

debian_pair() { # name [packages to include]
	name=$1
	[ -f "$name.target" ] && return 0
	mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
	rm -rf "$name-ref" "$name-target"
	debootstrap --variant=minbase ${2:+--include=$2} bookworm \
		"$name-ref" "$mirror"
	# As a container build would: no package cache, no apt lists.
	chroot "$name-ref" apt-get clean
	rm -rf "$name-ref"/var/lib/apt/lists/*
	dtar "$name-ref" "$name.ref"
	cp -a "$name-ref" "$name-target"
	cat >"$name-target/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
	# Some maintainer scripts (Java) need /proc.
	mount -t proc proc "$name-target/proc"
	trap 'umount "$cache/$name-target/proc" 2>/dev/null || :' EXIT
	chroot "$name-target" apt-get -q update
	chroot "$name-target" env DEBIAN_FRONTEND=noninteractive \
		apt-get -q -y upgrade
	umount "$name-target/proc"
	chroot "$name-target" apt-get clean
	rm -rf "$name-target"/var/lib/apt/lists/*
	dtar "$name-target" "$name.target"
}

for p in ${*:-random1m random64m go debian}; do
	case $p in
	random1m) random_pair random1m 1048576 ;;
	random64m) random_pair random64m 67108864 ;;
	go) go_pair ;;
	debian) debian_pair debian ;;
	debian-big) debian_pair debian-big \
		openjdk-17-jdk-headless,clang,llvm,g++,python3,golang-go ;;
	*) echo "mkpairs: unknown pair $p" >&2; exit 2 ;;
	esac
done
ls -l "$cache"/*.ref "$cache"/*.target
