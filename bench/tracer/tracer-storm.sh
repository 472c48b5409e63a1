#!/bin/bash
# Tracer benchmark: workload slowdown, events/s delivered and events lost.
#
#  1. syscall storm: N getppid() calls (bench/tracer/storm.c), untraced, then traced with
#     `osprey trace -e getppid -- storm` writing JSON (to /dev/null and to a file), default
#     buffer size. Reports ns/call, the slowdown, events/s delivered and events lost.
#  2. build workload: compiling a generated C project (bench/tracer/gen-c-project.sh) with
#     `make -j2`, untraced and with a system-wide `osprey trace` of the default event set
#     running; reports the median wall time of each and the slowdown.
#
# Needs root, gcc, make and bc. usage: bench/tracer/tracer-storm.sh [osprey binary] [calls]
# The binary defaults to target/release/osprey, else the tracer-only example
# (cargo build --release -p osprey-trace --example osprey-trace). Either way its `trace`
# subcommand is used (the example takes the same options without it).
# Results go to stdout; scratch files to bench/out/tracer (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
osprey="${1:-}"
if [ -z "$osprey" ]; then
    if [ -x "$target/release/osprey" ]; then osprey="$target/release/osprey"; else osprey="$target/release/examples/osprey-trace"; fi
fi
# `osprey trace ...` or `osprey-trace ...`
if [ "$(basename "$osprey")" = osprey ]; then trace=("$osprey" trace); else trace=("$osprey"); fi
calls="${2:-2000000}"
reps="${REPS:-5}"
out="$root/bench/out/tracer"
mkdir -p "$out"
[ -x "$osprey" ] || { echo "no osprey binary at $osprey (cargo build --release)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "the tracer benchmark needs root" >&2; exit 2; }

cc -O2 -pthread -o "$out/storm" "$here/storm.c"
echo "# machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# osprey: $osprey"

if [ "${PART:-all}" != build ]; then
echo "## syscall storm: $calls getppid calls"
for i in 1 2 3; do "$out/storm" "$calls"; done | tee "$out/untraced.txt"
untraced=$(awk '{print $(NF-3)}' "$out/untraced.txt" | sort -n | sed -n 2p)

storm_traced() { # $1: output spec, $2: label
    for i in 1 2 3; do
        "${trace[@]}" -e getppid -o "$1" -- "$out/storm" "$calls" 2> "$out/summary.txt" | grep storm
        grep -E "events emitted|lost|delivered" "$out/summary.txt" | head -4 | sed 's/^/    /'
    done | tee "$out/traced-$2.txt"
    local ns
    ns=$(grep '^storm' "$out/traced-$2.txt" | awk '{print $(NF-3)}' | sort -n | sed -n 2p)
    local emitted lost
    emitted=$(grep -m1 'events emitted' "$out/traced-$2.txt" | awk '{print $2}')
    lost=$(grep 'events emitted' "$out/traced-$2.txt" | awk '{s+=$5} END {print s}')
    local rate
    rate=$(grep 'delivered over' "$out/traced-$2.txt" | awk '{print $(NF-1)}' | sort -n | sed -n 2p)
    echo "storm $2: untraced ${untraced} ns/call, traced ${ns} ns/call (x$(echo "scale=2; $ns / $untraced" | bc))," \
         "median delivery ${rate} events/s (first to last event written), lost in 3 runs: $lost"
}
storm_traced "json:/dev/null" "json-devnull"
storm_traced "json:$out/storm.json" "json-file"
rm -f "$out/storm.json"
fi

echo "## build workload: make -j2 of a generated C project, default event set traced system-wide"
rm -rf "$out/cproj"
"$here/gen-c-project.sh" "$out/cproj" "${UNITS:-120}" > /dev/null
# prints "wall_ms cpu_ms": wall time, and user+sys CPU time of make and the compilers (the BPF
# programs run in the traced syscalls, so their cost is in the sys time; other processes on a
# shared machine are not)
build() {
    make -s -C "$out/cproj" clean > /dev/null
    sync
    /usr/bin/time -f "%e %U %S" -o "$out/time.txt" make -s -C "$out/cproj" -j2 > /dev/null
    awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' "$out/time.txt"
}
build > /dev/null # warm the page cache
pw=(); pc=(); tw=(); tc=()
for i in $(seq "$reps"); do
    read -r w c < <(build); pw+=("$w"); pc+=("$c")
    "${trace[@]}" -o "json:$out/build.json" 2> "$out/build-summary.txt" &
    tracer=$!
    sleep 1.5 # let it load and attach
    read -r w c < <(build); tw+=("$w"); tc+=("$c")
    kill -INT "$tracer"; wait "$tracer" || true
    echo "  run $i: untraced ${pw[-1]} ms wall ${pc[-1]} ms cpu, traced ${tw[-1]} ms wall ${tc[-1]} ms cpu" \
         "($(head -1 "$out/build-summary.txt" | sed 's/osprey: //'))"
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
pct() { echo "scale=1; ($2 - $1) * 100 / $1" | bc; }
echo "build wall: untraced median $(median "${pw[@]}") ms, traced median $(median "${tw[@]}") ms," \
     "slowdown $(pct "$(median "${pw[@]}")" "$(median "${tw[@]}")")%"
echo "build cpu (user+sys): untraced median $(median "${pc[@]}") ms, traced median $(median "${tc[@]}") ms," \
     "slowdown $(pct "$(median "${pc[@]}")" "$(median "${tc[@]}")")%"
rm -f "$out/build.json"
