#!/bin/bash
# Decoder soak: hours of a busy host compressed into about a minute. The decoder-soak example
# (crates/trace/examples/decoder-soak.rs) feeds the decoder synthetic records of PROCESSES
# processes, each with its own PID, start time, executable and (four in five) container, four
# opened paths each, with a fake /proc kept as the kernel keeps the real one; it checks every
# event's executable path and container ID and prints, every 10% of the run, the events, the
# incomplete ones, RSS and what the decoder's caches hold. It fails (exit 1) when an event is
# incomplete or memory grows in the second half of the run.
#
# No root needed. usage: bench/tracer/decoder-soak.sh [PROCESSES]   (default 2000000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release --locked -q -p osprey-trace --example decoder-soak --manifest-path "$root/Cargo.toml"
echo "# machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
/usr/bin/time -f "# wall %e s, user %U s, sys %S s, peak RSS %M KiB" \
    "$target/release/examples/decoder-soak" "${1:-2000000}"
