#!/usr/bin/env bash
# The kernel matrix: boots Debian's own kernels (5.10 to the newest in trixie-backports,
# tests/kernel-matrix/kernels.conf) in qemu, runs the release `osprey trace --capture ...` on one
# scripted scenario in each (tests/kernel-matrix/scenario.sh), loads a test module that hooks the
# syscall table and /proc under `osprey trace --signatures` (tests/kernel-matrix/km_hook.c, built
# here against the kernel's Debian headers; hook.sh), brings the events, the artifact
# index and the hashes back, and checks them on the host (tests/kernel-matrix/check.py). Prints
# one table, kernel × event group, regenerates docs/kernel-support.md, and exits non-zero when a
# cell fails.
#
#   scripts/kernel-matrix.sh [--kernels 5.10,6.1,...] [--offline] [--no-build] [--no-docs]
#
#   --kernels   only these labels of kernels.conf (5.10, 6.1, 6.12, 6.16, 6.18, newest)
#   --offline   no apt-get update or download: the cached lists and .debs only
#   --no-build  boot the release binary as it is (no cargo build)
#   --no-docs   leave docs/kernel-support.md as it is
#
# Needs root (apt-get install of qemu & co. when missing; BPF runs in the guests only).
# Everything downloaded or built stays under target/kernel-matrix/: the package lists of a
# private sources list, the kernel .debs (reruns are offline once they are cached), extracted
# kernels, initramfs images and each guest's results. The machine's apt configuration is never
# changed. Environment: KM_ACCEL=tcg|kvm (default: kvm only if a test boot works),
# KM_BOOT_TIMEOUT (seconds per boot, default 480), KM_LISTS_MAX_AGE (hours, default 24).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tests/kernel-matrix
WORK=$ROOT/target/kernel-matrix
OSPREY=$ROOT/target/release/osprey
BOOT_TIMEOUT=${KM_BOOT_TIMEOUT:-480}
LISTS_MAX_AGE=${KM_LISTS_MAX_AGE:-24}
CMDLINE="console=ttyS0 panic=-1 lsm=lockdown,capability,landlock,yama,apparmor,bpf loglevel=4"
# modules each guest loads (with their dependencies): ext4 for the file scenario and
# tp_btf/ext4_*, loop to mount the ext4 image
GUEST_MODULES=(ext4 loop)

ONLY=""
OFFLINE=0
BUILD=1
DOCS=1

log() { printf 'kernel-matrix [%d:%02d]: %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }
die() {
	log "$*"
	exit 2
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--kernels) ONLY=$2; shift ;;
		--offline) OFFLINE=1 ;;
		--no-build) BUILD=0 ;;
		--no-docs) DOCS=0 ;;
		-h | --help) usage 0 ;;
		*) log "unknown option $1"; usage 2 ;;
		esac
		shift
	done
}

# ---------------------------------------------------------------------------------------------
# host tools and the binaries that go into the guests

ensure_tools() {
	[ "$(id -u)" -eq 0 ] || die "run as root (apt-get install, qemu with /dev/kvm)"
	# scripts/setup.sh installs the build tools and the matrix's (qemu, busybox-static, cpio,
	# e2fsprogs, xz-utils, zstd), only when missing
	"$ROOT/scripts/setup.sh"
	local t
	for t in qemu-system-x86_64 busybox cpio mke2fs depmod dpkg-deb apt-get xz zstd gcc make python3; do
		command -v "$t" > /dev/null || die "$t is missing"
	done
	[ -x /bin/busybox ] && file_is_static /bin/busybox || die "/bin/busybox is not static (install busybox-static)"
}

file_is_static() {
	! ldd "$1" > /dev/null 2>&1
}

build_osprey() {
	if [ "$BUILD" -eq 1 ]; then
		log "building the release binary (cargo build --release --locked)"
		(cd "$ROOT" && cargo build --release --locked --bin osprey)
	fi
	[ -x "$OSPREY" ] || die "$OSPREY is missing (build it, or drop --no-build)"
	ldd "$OSPREY" > "$WORK/osprey.ldd" 2>&1 || true
}

build_helpers() {
	mkdir -p "$WORK/helpers"
	local p
	for p in km-actions km-true; do
		gcc -static -O2 -Wall -Wextra -Werror -o "$WORK/helpers/$p" "$SRC/$p.c"
	done
}

# The ext4 image every guest mounts (the same bytes for every kernel): a work directory for the
# scenario's files. Fixed UUID and hash seed, so that inode allocation is the same everywhere.
build_ext4_image() {
	local d=$WORK/ext4-root
	rm -rf "$d" "$WORK/ext4.img"
	mkdir -p "$d/work"
	chmod 1777 "$d/work"
	mke2fs -q -t ext4 -L km-ext4 -U 6f737072-6579-4b4d-8000-000000000001 \
		-E hash_seed=6f737072-6579-4b4d-8000-000000000002,root_owner=0:0 \
		-d "$d" "$WORK/ext4.img" 32M > /dev/null
}

# ---------------------------------------------------------------------------------------------
# Debian's kernel packages, from a private sources list

APT=()

setup_apt() {
	local a=$WORK/apt
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$WORK/debs"
	: > "$a/status"
	APT=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o "Dir::State::status=$a/status"
		-o APT::Sandbox::User=root -o Acquire::Languages=none
		-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
		-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
		-o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
		-o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false)
	write_sources_list > "$a/sources.list"
}

# The archive and security URIs this machine uses (its debian.sources), with the suites of the
# matrix's kernels.
write_sources_list() {
	local main="" security="" f=/etc/apt/sources.list.d/debian.sources
	if [ -r "$f" ]; then
		main=$(awk '/^URIs:/ {u=$2} /^Suites:/ && !/-security/ {print u; exit}' "$f")
		security=$(awk '/^URIs:/ {u=$2} /^Suites:/ && /-security/ {print u; exit}' "$f")
	fi
	main=${main:-http://deb.debian.org/debian}
	security=${security:-http://deb.debian.org/debian-security}
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "deb [signed-by=$key] $main bullseye main"
	echo "deb [signed-by=$key] $security bullseye-security main"
	echo "deb [signed-by=$key] $main bookworm main"
	echo "deb [signed-by=$key] $security bookworm-security main"
	echo "deb [signed-by=$key] $main bookworm-backports main"
	echo "deb [signed-by=$key] $main trixie-backports main"
}

refresh_lists() {
	local stamp=$WORK/apt/lists.stamp
	if [ "$OFFLINE" -eq 1 ]; then
		log "offline: using the cached package lists and .debs"
		return
	fi
	if [ -n "$(find "$stamp" -mmin -$((LISTS_MAX_AGE * 60)) 2> /dev/null)" ]; then
		return
	fi
	log "updating the private package lists"
	# apt-get update exits 0 when an index could not be fetched (a "W:" line): that is a failure
	# here too, so that the next run tries again
	if timeout 600 apt-get "${APT[@]}" -q update > "$WORK/apt/update.log" 2>&1 &&
		! grep -q '^[WE]: ' "$WORK/apt/update.log"; then
		touch "$stamp"
	else
		log "apt-get update failed (see $WORK/apt/update.log); using the lists and .debs cached"
	fi
}

# The newest kernel ABI (e.g. 6.12.57+deb12-amd64) matching a kernels.conf pattern.
newest_abi() {
	apt-cache "${APT[@]}" pkgnames linux- 2> /dev/null |
		sed -n -E 's/^linux-(image|binary)-([0-9].*-amd64)(-unsigned)?$/\2/p' |
		grep -E "$1" | sort -uV | tail -n 1
}

have_pkg() {
	apt-cache "${APT[@]}" pkgnames "$1" 2> /dev/null | grep -qx -- "$1"
}

# The packages holding a kernel ABI's image and modules: the -unsigned image where Debian ships
# one, linux-binary + linux-modules since 6.19, else the signed image (which carries both).
packages_of() {
	local abi=$1
	if have_pkg "linux-image-$abi-unsigned"; then
		echo "linux-image-$abi-unsigned"
	elif have_pkg "linux-binary-$abi"; then
		echo "linux-binary-$abi linux-modules-$abi"
	else
		echo "linux-image-$abi"
	fi
}

# Prints the cached .deb of PKG at the version the lists name, downloading it when missing.
download() {
	local pkg=$1 ver deb
	ver=$(pkg_version "$pkg")
	[ -n "$ver" ] || return 1
	deb=$(cached_deb "$pkg" "$ver")
	if [ -z "$deb" ]; then
		[ "$OFFLINE" -eq 0 ] || return 1
		log "downloading $pkg $ver"
		(cd "$WORK/debs" && timeout 1200 apt-get "${APT[@]}" -q download "$pkg=$ver" > /dev/null) ||
			return 1
		deb=$(cached_deb "$pkg" "$ver")
	fi
	[ -n "$deb" ] && echo "$deb"
}

# The cached .deb of PKG at VERSION (amd64, or all for the architecture-independent headers).
cached_deb() {
	local a f
	for a in amd64 all; do
		f=$WORK/debs/${1}_${2//:/%3a}_$a.deb
		[ -f "$f" ] && echo "$f" && return 0
	done
	return 0
}

pkg_version() {
	apt-cache "${APT[@]}" show --no-all-versions "$1" 2> /dev/null | sed -n 's/^Version: //p' | head -n 1
}

# Resolves LABEL's kernel and fetches its .debs; writes kernels/LABEL/debs (one path a line).
# When the lists or the network fail, the last .debs fetched for LABEL are used.
fetch_kernel() {
	local label=$1 pattern=$2 dir=$WORK/kernels/$1 abi pkgs p deb debs=()
	mkdir -p "$dir"
	abi=$(newest_abi "$pattern" || true)
	if [ -z "$abi" ]; then
		log "$label: no package in the lists matches '$pattern'"
	else
		pkgs=$(packages_of "$abi")
		for p in $pkgs; do
			if deb=$(download "$p"); then
				debs+=("$deb")
			else
				log "$label: $p could not be downloaded"
				debs=()
				break
			fi
		done
	fi
	if [ ${#debs[@]} -gt 0 ]; then
		printf '%s\n' "${debs[@]}" > "$dir/debs"
	elif [ -s "$dir/debs" ] && all_exist < "$dir/debs"; then
		log "$label: using the cached $(xargs -n1 basename < "$dir/debs" | tr '\n' ' ')"
	else
		log "$label: and no earlier download is cached"
		return 1
	fi
}

all_exist() {
	local f
	while read -r f; do [ -f "$f" ] || return 1; done
}

# Extracts LABEL's .debs (once per set of .debs) and finds the kernel image and modules.
extract_kernel() {
	local dir=$WORK/kernels/$1 key
	key=$(xargs -n1 basename < "$dir/debs" | sort | tr '\n' ' ')
	if [ "$(cat "$dir/extracted" 2> /dev/null)" != "$key" ]; then
		log "$1: extracting $key"
		rm -rf "$dir/root" "$dir/extracted"
		mkdir -p "$dir/root"
		while read -r deb; do dpkg-deb -x "$deb" "$dir/root"; done < "$dir/debs"
		echo "$key" > "$dir/extracted"
	fi
	VMLINUZ=$(ls "$dir"/root/boot/vmlinuz-* "$dir"/root/usr/lib/modules/*/vmlinuz \
		"$dir"/root/lib/modules/*/vmlinuz 2> /dev/null | head -n 1)
	MODDIR=$(ls -d "$dir"/root/usr/lib/modules/*/ "$dir"/root/lib/modules/*/ 2> /dev/null |
		head -n 1)
	MODDIR=${MODDIR%/}
	RELEASE=$(basename "$MODDIR")
	[ -f "$MODDIR/modules.dep" ] || run_depmod "$dir" "$MODDIR"
	[ -n "$VMLINUZ" ] && [ -f "$MODDIR/modules.dep" ] ||
		{ log "$1: no vmlinuz or modules.dep in $(cat "$dir/debs")"; return 1; }
	xargs -n1 basename < "$dir/debs" | sed 's/_amd64\.deb$//; s/_/ /' > "$dir/packages.txt"
}

# Debian's packages leave modules.dep to depmod at install time: run it on the extracted tree
# (depmod -b wants BASE/lib/modules/RELEASE; the tree may be under usr/lib/modules).
run_depmod() {
	local base=$1/depmod-base
	rm -rf "$base"
	mkdir -p "$base/lib"
	ln -s "$(dirname "$2")" "$base/lib/modules"
	depmod -b "$base" "$(basename "$2")"
}

# ---------------------------------------------------------------------------------------------
# the hooks group's test module

# The packages to build modules for kernel RELEASE: linux-headers-RELEASE and the headers and
# kbuild packages it depends on (linux-headers-*-common, linux-kbuild-*). One name a line.
header_packages() {
	local pkg=linux-headers-$1
	have_pkg "$pkg" || return 1
	echo "$pkg"
	apt-cache "${APT[@]}" depends "$pkg" 2> /dev/null |
		sed -n -E 's/^ *\|?Depends: (linux-(headers|kbuild)-[^ ]+)$/\1/p' | sort -u
}

# Fetches and extracts LABEL's headers (kernels/LABEL/header-debs; the last set fetched is used
# when the lists no longer name them) and builds km_hook.ko against them with this machine's
# gcc. kernels/LABEL/hook-build.txt says "built ..." or why not (the hooks group is then n/a).
build_hook_module() {
	local label=$1 dir=$WORK/kernels/$1 pkgs p deb debs=() why="" key hdr
	local out=$WORK/kernels/$1/hook status=$WORK/kernels/$1/hook-build.txt
	rm -rf "$out" "$status"
	if pkgs=$(header_packages "$RELEASE"); then
		for p in $pkgs; do
			if deb=$(download "$p"); then
				debs+=("$deb")
			else
				why="$p could not be downloaded"
				[ "$OFFLINE" -eq 0 ] || why="$why (--offline, and it is not cached)"
				debs=()
				break
			fi
		done
	else
		why="linux-headers-$RELEASE is not in the package lists"
	fi
	if [ ${#debs[@]} -gt 0 ]; then
		printf '%s\n' "${debs[@]}" > "$dir/header-debs"
	elif [ -s "$dir/header-debs" ] && all_exist < "$dir/header-debs"; then
		log "$label: $why; using the headers cached"
	else
		echo "no headers to build the test module against: $why" > "$status"
		log "$label: $(cat "$status")"
		return 0
	fi
	key=$(xargs -n1 basename < "$dir/header-debs" | sort | tr '\n' ' ')
	if [ "$(cat "$dir/headers-extracted" 2> /dev/null)" != "$key" ]; then
		rm -rf "$dir/headers" "$dir/headers-extracted"
		mkdir -p "$dir/headers"
		while read -r deb; do dpkg-deb -x "$deb" "$dir/headers"; done < "$dir/header-debs"
		# the headers' Makefile includes the -common tree by its installed, absolute path
		sed -i "s|/usr/src/|$dir/headers/usr/src/|g" \
			"$dir/headers/usr/src/linux-headers-$RELEASE/Makefile"
		echo "$key" > "$dir/headers-extracted"
	fi
	hdr=$dir/headers/usr/src/linux-headers-$RELEASE
	mkdir -p "$out"
	cp "$SRC/km_hook.c" "$out/"
	echo 'obj-m := km_hook.o' > "$out/Kbuild"
	# this machine's gcc, not the gcc-N the headers name; no BTF for the module (no pahole)
	if make -C "$hdr" M="$out" CC=gcc CONFIG_DEBUG_INFO_BTF_MODULES= modules \
		> "$out/build.log" 2>&1 && [ -f "$out/km_hook.ko" ]; then
		echo "built against $(xargs -n1 basename < "$dir/header-debs" | sed 's/_amd64\.deb$//; s/_all\.deb$//' | tr '\n' ' ')with gcc $(gcc -dumpfullversion)" > "$status"
	else
		echo "km_hook.c does not build against linux-headers-$RELEASE with gcc $(gcc -dumpfullversion): $(grep -m1 -E 'error|Error' "$out/build.log" | sed 's/^ *//' | cut -c1-200)" > "$status"
	fi
	log "$label: test module: $(cat "$status")"
}

# ---------------------------------------------------------------------------------------------
# the initramfs

# Copies FILE to the same path under DEST, following symlinks.
copy_abs() {
	mkdir -p "$2$(dirname "$1")"
	cp -L "$1" "$2$1"
}

stage_libraries() {
	local dest=$1 lib
	for lib in $(ldd "$OSPREY" | grep -o '/[^ ]*'); do
		copy_abs "$lib" "$dest"
	done
}

stage_modules() {
	local dest=$1/km/modules ko name n=0
	mkdir -p "$dest"
	: > "$dest/order"
	python3 "$SRC/modules.py" "$MODDIR" "${GUEST_MODULES[@]}" > "$WORK/modules.list"
	while read -r ko; do
		n=$((n + 1))
		name=$(printf '%02d-%s' "$n" "$(basename "$ko" | sed -E 's/\.(xz|zst|gz)$//')")
		case $ko in
		*.xz) xz -dc "$MODDIR/$ko" > "$dest/$name" ;;
		*.zst) zstd -q -dc "$MODDIR/$ko" > "$dest/$name" ;;
		*.gz) gzip -dc "$MODDIR/$ko" > "$dest/$name" ;;
		*) cp "$MODDIR/$ko" "$dest/$name" ;;
		esac
		echo "$name" >> "$dest/order"
	done < "$WORK/modules.list"
}

stage_helpers() {
	local km=$1/opt/km
	mkdir -p "$km/www"
	cp "$WORK/helpers/km-actions" "$WORK/helpers/km-true" "$km/"
	install -m 755 "$SRC/scenario.sh" "$km/scenario.sh"
	install -m 755 "$SRC/hook.sh" "$km/hook.sh"
	[ ! -f "$2/hook/km_hook.ko" ] || cp "$2/hook/km_hook.ko" "$km/km_hook.ko"
	cp "$WORK/ext4.img" "$km/ext4.img"
	python3 "$SRC/check.py" --print-events > "$km/events"
	printf 'osprey kernel matrix: the body of an HTTP response\n' > "$km/www/osprey-test.txt"
}

build_initramfs() {
	local label=$1 stage=$WORK/kernels/$1/initramfs
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/usr/local/bin" "$stage/dev"
	cp /bin/busybox "$stage/bin/busybox"
	install -m 755 "$SRC/init.sh" "$stage/init"
	cp "$OSPREY" "$stage/usr/local/bin/osprey"
	stage_libraries "$stage"
	stage_modules "$stage"
	stage_helpers "$stage" "$WORK/kernels/$label"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) \
		> "$WORK/kernels/$label/initramfs.cpio"
}

# ---------------------------------------------------------------------------------------------
# booting

ACCEL=()

# KVM only when a guest really boots with it: /dev/kvm on some VMs is a paravirtual KVM that
# hangs stock kernels. Tested once per host boot with a tiny initramfs.
choose_accel() {
	local want=${KM_ACCEL:-auto} probe=$WORK/kvm-probe boot_id
	boot_id=$(cat /proc/sys/kernel/random/boot_id)
	if [ "$want" = auto ] && [ -e /dev/kvm ]; then
		if [ "$(head -n 1 "$probe" 2> /dev/null)" != "$boot_id" ]; then
			{ echo "$boot_id"; kvm_boots && echo kvm || echo tcg; } > "$probe"
		fi
		want=$(sed -n 2p "$probe")
	fi
	[ "$want" = auto ] && want=tcg
	if [ "$want" = kvm ]; then
		ACCEL=(-accel kvm -cpu host)
	else
		# one host thread for both vCPUs: with multi-threaded TCG, a guest patching its own code
		# (static keys, BPF trampolines: text_poke with int3) sometimes hit a stale int3 on the
		# other vCPU ("Oops: int3" in syscall_trace_enter, kernel panic; 1 boot in 3 of 6.18)
		ACCEL=(-accel tcg,thread=single -cpu max)
	fi
	log "accelerator: ${ACCEL[*]}"
}

kvm_boots() {
	local d=$WORK/kvm-test
	rm -rf "$d"
	mkdir -p "$d/root/bin"
	cp /bin/busybox "$d/root/bin/"
	printf '#!/bin/busybox sh\n/bin/busybox echo KM-KVM-OK\n/bin/busybox poweroff -f\n' > "$d/root/init"
	chmod 755 "$d/root/init"
	(cd "$d/root" && find . | cpio -o -H newc -R 0:0 --quiet) > "$d/initramfs.cpio"
	timeout 40 qemu-system-x86_64 -accel kvm -cpu host -m 256M -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$d/initramfs.cpio" -append "console=ttyS0 panic=-1" \
		-monitor none -nic none < /dev/null > "$d/console.log" 2>&1 || true
	grep -q KM-KVM-OK "$d/console.log"
}

# Boots LABEL's kernel; the guest's results land in results/LABEL/.
boot() {
	local label=$1 out=$WORK/results/$1 start rc=0
	rm -rf "$out"
	mkdir -p "$out"
	cp "$WORK/kernels/$label/packages.txt" "$out/packages.txt"
	cp "$WORK/kernels/$label/hook-build.txt" "$out/hook-build.txt" 2> /dev/null || true
	echo "$RELEASE" > "$out/release.txt"
	echo "${ACCEL[*]}" > "$out/accel.txt"
	log "$label: booting $RELEASE (${ACCEL[*]})"
	start=$(date +%s)
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 "${ACCEL[@]}" -m 1G -smp 2 -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$WORK/kernels/$label/initramfs.cpio" -append "$CMDLINE" \
		-serial "file:$out/console.log" -serial "file:$out/serial1.txt" -monitor none -nic none \
		< /dev/null > "$out/qemu.log" 2>&1 || rc=$?
	echo "$(($(date +%s) - start))" > "$out/boot-seconds"
	echo "$rc" > "$out/qemu.rc"
	[ "$rc" -eq 124 ] && log "$label: timed out after $BOOT_TIMEOUT s"
	unpack_results "$out"
	log "$label: boot took $(cat "$out/boot-seconds") s"
}

unpack_results() {
	local out=$1
	mkdir -p "$out/guest"
	sed -n '/KM-RESULTS-BEGIN/,/KM-RESULTS-END/p' "$out/serial1.txt" | tr -d '\r' |
		sed '1d; $d' | base64 -d 2> /dev/null | tar -xz -C "$out/guest" 2> /dev/null ||
		log "$(basename "$out"): no results came back (see $out/console.log)"
}

# ---------------------------------------------------------------------------------------------

# One row of the matrix. A kernel that cannot be fetched, extracted or packed is a failed row
# (results/LABEL/error.txt says why), not the end of the run.
run_kernel() {
	local label=$1 pattern=$2
	VMLINUZ="" MODDIR="" RELEASE=""
	if ! fetch_kernel "$label" "$pattern"; then
		kernel_error "$label" "no kernel package could be fetched for '$pattern'"
	elif ! extract_kernel "$label"; then
		kernel_error "$label" "the kernel package could not be extracted ($(cat "$WORK/kernels/$label/debs"))"
	else
		[ ${#ACCEL[@]} -gt 0 ] || choose_accel
		build_hook_module "$label"
		if build_initramfs "$label"; then
			boot "$label"
		else
			kernel_error "$label" "the initramfs could not be built"
		fi
	fi
}

kernel_error() {
	log "$1: $2"
	mkdir -p "$WORK/results/$1"
	echo "$2" > "$WORK/results/$1/error.txt"
}

# .debs no kernel of the matrix uses any more (an older build of the same series)
prune_debs() {
	local deb
	for deb in "$WORK"/debs/*.deb; do
		[ -e "$deb" ] || continue
		grep -qxF "$deb" "$WORK"/kernels/*/debs "$WORK"/kernels/*/header-debs 2> /dev/null ||
			rm -f "$deb"
	done
}

main() {
	parse_args "$@"
	mkdir -p "$WORK"
	ensure_tools
	build_osprey
	build_helpers
	build_ext4_image
	setup_apt
	refresh_lists
	local labels=() label pattern start
	start=$(date +%s)
	rm -rf "$WORK/results"
	# The list on descriptor 3, and nothing else in the loop reading it: a qemu with -nographic
	# takes its standard input as the guest's serial port and ate the next line's first bytes.
	while read -r label pattern _ <&3; do
		case $label in '' | '#'*) continue ;; esac
		if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$label,"* ]]; then continue; fi
		labels+=("$label")
		run_kernel "$label" "$pattern" < /dev/null
	done 3< "$SRC/kernels.conf"
	echo "$(($(date +%s) - start))" > "$WORK/results/total-seconds"
	[ -n "$ONLY" ] || prune_debs
	local docs=()
	[ "$DOCS" -eq 1 ] && docs=(--docs "$ROOT/docs/kernel-support.md"
		--revision "$(git -C "$ROOT" describe --always --dirty 2> /dev/null || echo unknown)")
	python3 "$SRC/check.py" --results "$WORK/results" --ldd "$WORK/osprey.ldd" \
		"${docs[@]}" "${labels[@]}"
}

main "$@"
