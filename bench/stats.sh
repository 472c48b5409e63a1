#!/usr/bin/env bash
# Statistics benchmark (issue 12): the fourteen Tracee views of `osprey read -z` together, in one
# pass over the generated corpus (bench/gen-corpus.py, 1,000,000 events by default), against plain
# `osprey read -T text` over the same file; then the per-process view and timeline, and the
# network views. Each command runs REPS times (default 3), the text baseline and the views
# alternating; one line per run: wall time, events/s, peak RSS. Not a test: figures go to
# BENCHMARKS.md with the machine they were measured on.
#
# usage: [REPS=3] bench/stats.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
REPS=${REPS:-3}
source bench/common.sh
CORPUS="$OUT/corpus-$N.json"
corpus "$CORPUS" ""

TRACEE14=()
for c in "" ",container"; do
  TRACEE14+=(-z "tracee,event_counts$c" -z "tracee,file_types$c" -z "tracee,process_tree$c")
  for v in opened_files written_files network signatures; do
    TRACEE14+=(-z "tracee,process_tree,$v$c")
  done
done

run() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M %U %S' "$@" > /dev/null 2>/dev/null || true
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  read -r secs kb user sys <<< "$t"
  awk -v l="$label" -v s="$secs" -v kb="$kb" -v u="$user" -v y="$sys" -v n="$N" \
    'BEGIN { printf "%-52s %6.2f s  %9.0f events/s  peak %5.0f MB  cpu %5.2f s\n", l, s, n / s, kb / 1024, u + y }'
}

for _ in $(seq "$REPS"); do
  run "read -T text (baseline)"                $BIN read -q -r "$CORPUS" -T text
  run "the 14 Tracee views, one pass"          $BIN read -q -r "$CORPUS" "${TRACEE14[@]}"
done
run "the 14 Tracee views, JSON"                $BIN read -q -r "$CORPUS" "${TRACEE14[@]}" -T json
run "tracee,process,PID + tracee,timeline,1"   $BIN read -q -r "$CORPUS" -z tracee,process,12345 -z tracee,timeline,1
run "conv,ip conv,tcp endpoints,udp io,stat,1 io,phs dns,tree http,tree" \
  $BIN read -q -r "$CORPUS" -z conv,ip -z conv,tcp -z endpoints,udp -z io,stat,1 -z io,phs -z dns,tree -z http,tree
