#!/usr/bin/env bash
# The fleet-sized lake of issue 17: EVENTS synthetic events over HOSTS hosts and DAYS days
# (default 100 M, 100, 30: 72,000 host-hour partitions), streamed by the fleet_events example
# (crates/lake/examples/fleet_events.rs) into `osprey read -r - -w lake:DIR` without storing
# their JSON (100 M events are ~100 GB of it). Then a query for one host and one hour (pushed
# down), and the fleet-wide `eventName == "sched_process_exec" and processName == "curl"`
# (which every partition and row group may hold: 0.31% of the events) as events scanned per
# second; and DuckDB running both as SQL on the same files (bench/lake-duckdb.py), if the test
# venv has it. Not a test: figures go to BENCHMARKS.md with the machine they were measured on.
# The lake needs about 275 bytes per event of disk (27.5 GB for 100 M).
#
# usage: bench/lake-fleet.sh [EVENTS [HOSTS [DAYS]]]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000000}
HOSTS=${2:-100}
DAYS=${3:-30}
source bench/common.sh
cargo build --release --locked -p osprey-lake --example fleet_events 2>/dev/null
GEN=./target/release/examples/fleet_events
LAKE="$OUT/fleet-lake-$N-$HOSTS-$DAYS"
rm -rf "$LAKE"
echo "fleet: $N events, $HOSTS hosts, $DAYS days; machine: $(nproc) CPUs, $(uname -r); disk free: $(df -h --output=avail "$OUT" | tail -1)"

timed() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M %U %S' "$@" > /dev/null 2>/dev/null || true
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  awk -v l="$label" -v t="$t" -v n="$N" 'BEGIN { split(t, a, " "); printf "%-52s %8.2f s  %10.0f events/s  peak %5.0f MB  CPU %.1f s\n", l, a[1], n / a[1], a[2] / 1024, a[3] + a[4] }'
}

timed "the generator alone (to /dev/null)" "$GEN" "$N" "$HOSTS" "$DAYS"
timed "generator | read -r - -w lake:DIR (write the lake)" sh -c "$GEN $N $HOSTS $DAYS | $BIN read -q -r - -w lake:$LAKE"
echo "lake: $(du -sm "$LAKE" | cut -f1) MB, $(find "$LAKE" -name '*.parquet' | wc -l) files"

# One host and one hour in the middle of the span (it starts at 2023-11-14 22:13:20 UTC).
MID=$((1700000000 + DAYS * 43200))
HOUR=$((MID / 3600 * 3600))
HOST=node-$(printf %02d $((HOSTS / 2)))
ONE="tracee.hostName == \"$HOST\" and frame.time_epoch >= $HOUR and frame.time_epoch < $((HOUR + 3600))"
FLEET='tracee.eventName == "sched_process_exec" and tracee.processName == "curl"'
for q in ONE FLEET; do
  echo "query: ${!q}"
  for i in 1 2 3; do
    timed "lake, -Y $q (run $i; rate: the lake's events)" $BIN read -q -r "$LAKE" -Y "${!q}" -T ndjson
  done
  echo "events: $($BIN read -q -r "$LAKE" -Y "${!q}" -T ndjson | wc -l)"
  $BIN read -q --scan-stats -r "$LAKE" -Y "${!q}" -T ndjson 2>&1 >/dev/null | sed "s/^/$q: /"
done

PY=target/forward-venv/bin/python
if [ -x "$PY" ] && "$PY" -c 'import duckdb' 2>/dev/null; then
  "$PY" bench/lake-duckdb.py "$LAKE" "$HOUR" "$HOST"
fi
