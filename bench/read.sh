#!/usr/bin/env bash
# Analyzer benchmark: events/s and peak memory of `osprey read` over a generated corpus of
# 1,000,000 varied legacy events (bench/gen-corpus.py): the text summary, conversion to PcapNG,
# and the display filters of issue 3. Prints one line per run. Not a test: figures go to
# BENCHMARKS.md with the machine they were measured on.
#
# usage: bench/read.sh [EVENTS]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
source bench/common.sh
CORPUS="$OUT/corpus-$N.json"
corpus "$CORPUS" ""

run() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -o "$tf" -f '%e %M' "$@" > /dev/null 2>/dev/null || true
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  local secs=${t% *} kb=${t#* }
  awk -v l="$label" -v s="$secs" -v kb="$kb" -v n="$N" 'BEGIN { printf "%-62s %6.2f s  %9.0f events/s  peak %5.0f MB\n", l, s, n / s, kb / 1024 }'
}

run "read -T text"                                   $BIN read -q -r "$CORPUS" -T text
rm -f "$OUT/corpus.pcapng"
run "read -w corpus.pcapng (convert, file on disk)"  $BIN read -q -r "$CORPUS" -w "$OUT/corpus.pcapng"
if [ -d /dev/shm ]; then
  # the same conversion into memory (tmpfs): Osprey's own cost, without the disk's
  run "read -w /dev/shm/corpus.pcapng (convert, tmpfs)" $BIN read -q -r "$CORPUS" -w /dev/shm/osprey-bench.pcapng
  run "  the same again"                                $BIN read -q -r "$CORPUS" -w /dev/shm/osprey-bench.pcapng
  rm -f /dev/shm/osprey-bench.pcapng
fi
# and without any file system: the conversion's own CPU cost (PcapNG framing and all)
run "read -w /dev/null (convert, nothing stored)"   $BIN read -q -r "$CORPUS" -w /dev/null
run "read -T ndjson"                                 $BIN read -q -r "$CORPUS" -T ndjson
run "-Y eventName == sched_process_exec -e frame.number" $BIN read -q -r "$CORPUS" -Y 'tracee.eventName == "sched_process_exec"' -T fields -e frame.number
run "-Y \${important} -e frame.number"               $BIN read -q -r "$CORPUS" -Y '${important}' -T fields -e frame.number
run "-Y pathname contains /etc/ -e frame.number"     $BIN read -q -r "$CORPUS" -Y 'tracee.args.security_file_open.pathname contains "/etc/"' -T fields -e frame.number
run "read the PcapNG back -T text"                   $BIN read -q -r "$OUT/corpus.pcapng" -T text
