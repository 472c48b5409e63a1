#!/bin/sh
# Regenerates the committed vmlinux.h for this machine's architecture from the running kernel's
# BTF. CO-RE relocations adapt the compiled programs to other kernels, so the header only needs
# regenerating to use a kernel type or field that the committed one lacks.
#
# usage: crates/bpf/scripts/gen-vmlinux.sh [BTF file, default /sys/kernel/btf/vmlinux]
set -eu
btf="${1:-/sys/kernel/btf/vmlinux}"
arch="$(uname -m)"
case "$arch" in
    aarch64) arch=arm64 ;;
esac
dir="$(cd "$(dirname "$0")/.." && pwd)/src/bpf/vmlinux/$arch"
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux.h.tmp"
mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
echo "wrote $dir/vmlinux.h ($(wc -l < "$dir/vmlinux.h") lines) from $btf"
