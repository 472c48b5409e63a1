#!/usr/bin/env bash
# Installs what building and testing Osprey needs on Debian 12 (bookworm): the BPF toolchain,
# tshark/mergecap for interop tests, and the tools the tests run. Safe to run again.
set -euo pipefail

APT_PACKAGES=(
  # building: libbpf-sys vendors libbpf (needs libelf, zlib, pkg-config); BPF C needs clang
  clang llvm libelf-dev zlib1g-dev pkg-config make gcc
  # interop tests: tshark, dumpcap, mergecap
  tshark wireshark-common
  # tests: network namespaces, process tools, BPF inspection, gzip
  iproute2 procps util-linux bpftool gzip python3 curl
  # Fluent Forward interop (tests/forward/): Python's fluent-logger in a venv, test certificates
  python3-venv openssl
  # osprey trace --remote is tested against Debian's OpenSSH server on loopback (tests/remote.rs)
  openssh-server openssh-client
  # capture tests and benchmark: test programs built with cc (gcc above), bc and time for the figures
  bc time
  # the kernel matrix (scripts/kernel-matrix.sh): qemu, a static busybox for the guests, static
  # helpers (libc6-dev), initramfs and ext4 images, Debian's kernel packages (xz/zstd modules,
  # depmod)
  qemu-system-x86 busybox-static libc6-dev cpio e2fsprogs xz-utils zstd kmod
  # the agent's container image (scripts/image.sh): Debian's Docker engine builds it FROM scratch,
  # offline
  docker.io
  # the web UI's browser test (ui/tests/browser.mjs) drives Debian's chromium through
  # playwright-core (no browser download)
  chromium
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

# Node and npm build the web UI (ui/, Vite): Debian's, unless a Node with npm is there already
# (a NodeSource nodejs bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  # tshark's package asks whether non-root users may capture; answer "no" without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || {
  echo "setup: cargo not found; install the Rust toolchain (stable, 1.85 or later)" >&2
  exit 1
}

# The web UI's assets, embedded in the osprey binary at build time (crates/view/build.rs):
# end users need no Node, but building does. PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the tests use
# Debian's chromium.
(cd "$(dirname "$0")/../ui" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null)

# Fluent Forward interop peers (tests/forward/, run by scripts/test.sh): the npm
# @fluent-org/logger client and FluentServer (package-lock.json), and Python's fluent-logger in a
# venv under target/ (tests/forward/requirements.txt); the same venv holds DuckDB for the Parquet
# lake's interop test (tests/lake.rs runs tests/lake/duckdb_counts.py; tests/lake/requirements.txt),
# prometheus-client, whose parser reads `osprey trace --metrics` (tests/metrics.rs), and
# kubernetes-validate, which checks deploy/kubernetes/ against Kubernetes' schemas (tests/deploy.rs).
(cd "$(dirname "$0")/../tests/forward" && npm ci --no-audit --no-fund >/dev/null)
(cd "$(dirname "$0")/.." && { [ -x target/forward-venv/bin/python ] || python3 -m venv target/forward-venv; } \
  && target/forward-venv/bin/pip install -q -r tests/forward/requirements.txt -r tests/lake/requirements.txt \
     -r tests/metrics/requirements.txt -r tests/deploy/requirements.txt)
