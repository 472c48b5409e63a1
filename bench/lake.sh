#!/usr/bin/env bash
# Lake benchmark: the write rate of `osprey read -w lake:DIR`, a query for one host and one
# hour read with the display filter pushed down (partitions and row groups pruned) against the
# same query reading every event, and a fleet-wide query on the event and process names that
# no partition or row group statistics can prune (late materialization: the `event` column is
# decoded only for the rows whose name columns match), as events scanned per second. The corpus is bench/gen-corpus.py's events spread over HOSTS
# hosts and about HOURS hours. Prints one line per run and the lake's scan statistics. Not a
# test: figures go to BENCHMARKS.md with the machine they were measured on.
#
# usage: bench/lake.sh [EVENTS [HOSTS [HOURS]]]      (default 10000000 8 48)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
HOSTS=${2:-8}
HOURS=${3:-48}
source bench/common.sh
CORPUS="$OUT/fleet-$N-$HOSTS-$HOURS.json"
# Twice the mean step between events: N events over HOURS hours.
STEP_NS=$((HOURS * 3600 * 1000000000 / N * 2))
corpus "$CORPUS" ", $HOSTS hosts, ~$HOURS hours" HOSTS="$HOSTS" STEP_NS="$STEP_NS"

run() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M' "$@" > /dev/null 2>/dev/null || true
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  local secs=${t% *} kb=${t#* }
  awk -v l="$label" -v s="$secs" -v kb="$kb" -v n="$N" 'BEGIN { printf "%-58s %7.2f s  %9.0f events/s  peak %5.0f MB\n", l, s, n / s, kb / 1024 }'
}

LAKE="$OUT/lake-$N-$HOSTS-$HOURS"
rm -rf "$LAKE"
run "read -w lake:DIR (write the lake)" $BIN read -q -r "$CORPUS" -w "lake:$LAKE"
echo "lake: $(du -sm "$LAKE" | cut -f1) MB, $(find "$LAKE" -name '*.parquet' | wc -l) files"

# One host and one hour in the middle of the corpus (it starts at 2023-11-14 22:13:20 UTC).
MID=$((1700000000 + HOURS * 1800))
HOUR=$((MID / 3600 * 3600))
ONE="tracee.hostName == \"node-03\" and frame.time_epoch >= $HOUR and frame.time_epoch < $((HOUR + 3600))"
# The same events, with a test on frame.number: frame numbers count every event read, so
# nothing is pruned (the full scan, through the same pipeline).
ALL="$ONE and frame.number >= 1"
echo "query: $ONE"
run "lake, -Y one host and hour, pushed down"   $BIN read -q -r "$LAKE" -Y "$ONE" -T ndjson
run "lake, the same events, full scan"          $BIN read -q -r "$LAKE" -Y "$ALL" -T ndjson
run "JSON corpus, the same filter"              $BIN read -q -r "$CORPUS" -Y "$ONE" -T ndjson
echo "events: $($BIN read -q -r "$LAKE" -Y "$ONE" -T ndjson | wc -l) pushed down, $($BIN read -q -r "$LAKE" -Y "$ALL" -T ndjson | wc -l) full scan, $($BIN read -q -r "$CORPUS" -Y "$ONE" -T ndjson | wc -l) from JSON"
$BIN read -q --scan-stats -r "$LAKE" -Y "$ONE" -T ndjson 2>&1 >/dev/null | sed 's/^/pushed down: /'
$BIN read -q --scan-stats -r "$LAKE" -Y "$ALL" -T ndjson 2>&1 >/dev/null | sed 's/^/full scan:   /'

# Fleet-wide: every partition and row group holds both names, so this is the whole lake's
# event_name and process_name columns, and the events of the ~0.6% of rows that match.
# OSPREY_BEFORE=path/to/osprey times another build on the same lake too (e.g. one without
# late materialization).
FLEET='tracee.eventName == "sched_process_exec" and tracee.processName == "curl"'
echo "query: $FLEET"
fleet() {
  local label=$1 bin=$2 tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M' $bin read -q -r "$LAKE" -Y "$FLEET" -T ndjson > /dev/null 2>/dev/null || true
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  awk -v l="$label" -v s="${t% *}" -v kb="${t#* }" -v n="$N" 'BEGIN { printf "%-58s %7.2f s  %9.0f events/s scanned  peak %5.0f MB\n", l, s, n / s, kb / 1024 }'
}
fleet "lake, -Y event and process name, fleet-wide" "$BIN"
[ -z "${OSPREY_BEFORE:-}" ] || fleet "the same, $OSPREY_BEFORE" "$OSPREY_BEFORE"
run "JSON corpus, the same filter"              $BIN read -q -r "$CORPUS" -Y "$FLEET" -T ndjson
echo "events: $($BIN read -q -r "$LAKE" -Y "$FLEET" -T ndjson | wc -l) from the lake, $($BIN read -q -r "$CORPUS" -Y "$FLEET" -T ndjson | wc -l) from JSON"
$BIN read -q --scan-stats -r "$LAKE" -Y "$FLEET" -T ndjson 2>&1 >/dev/null | sed 's/^/fleet-wide: /'

# DuckDB running the same two queries as SQL on the same files, if the test venv has it
# (scripts/setup.sh installs tests/lake/requirements.txt there).
PY=target/forward-venv/bin/python
if [ -x "$PY" ] && "$PY" -c 'import duckdb' 2>/dev/null; then
  "$PY" bench/lake-duckdb.py "$LAKE" "$HOUR"
fi
