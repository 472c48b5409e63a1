#!/usr/bin/env bash
# Builds the agent's container image offline and checks it: a statically linked osprey (glibc's
# static libraries, `+crt-static`) in deploy/Dockerfile's image FROM scratch — no registry is
# needed. Runs `osprey --version` and `osprey read` of the bundled sample inside the image, with
# no network, and compares the read with the host binary's.
#
#   scripts/image.sh [TAG]          (default osprey:dev; as root, or with access to Docker)
#
# Needs a Docker engine (Debian's docker.io, scripts/setup.sh). When none runs, one is started
# for the build with its networking off (--bridge=none --iptables=false: the host's firewall is
# left as it is) and stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-osprey:dev}
TRIPLE=x86_64-unknown-linux-gnu

RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --target "$TRIPLE" -p osprey
bin=target/$TRIPLE/release/osprey
if readelf -l "$bin" | grep -q INTERP; then
  echo "image: $bin is dynamically linked; FROM scratch needs a static binary" >&2
  exit 1
fi

ctx=$(mktemp -d)
dockerd_pid=""
cleanup() {
  rm -rf "$ctx"
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
mkdir -p "$ctx/samples"
# The release profile keeps debug info (for perf and backtraces); the image needs none.
strip -o "$ctx/osprey" "$bin"
cp samples/demo.pcapng "$ctx/samples/"
cp deploy/Dockerfile "$ctx/"

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "image: no Docker engine (apt install docker.io)" >&2; exit 1; }
  dockerd --bridge=none --iptables=false >"$ctx/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { cat "$ctx/dockerd.log" >&2; exit 1; }
fi

docker build -q -t "$TAG" "$ctx" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$TAG")
echo "image: $TAG built FROM scratch, $((size / 1024 / 1024)) MiB"
docker run --rm --network none "$TAG" --version
# The same output inside the image as from the host binary.
inside=$(docker run --rm --network none "$TAG" read -r /usr/share/osprey/demo.pcapng -z tracee,event_counts -q)
outside=$("$bin" read -r samples/demo.pcapng -z tracee,event_counts -q)
if [ "$inside" != "$outside" ]; then
  echo "image: osprey read in the image differs from the host's" >&2
  diff <(echo "$outside") <(echo "$inside") >&2 || true
  exit 1
fi
echo "image: osprey read of the bundled sample in the image matches the host binary's"
