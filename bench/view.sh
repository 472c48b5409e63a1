#!/usr/bin/env bash
# `osprey view` benchmark: index pass time and bytes per event, window fetch latency at the
# start and deep in the file, filter view time, server memory, over the generated corpus of
# bench/read.sh (1,000,000 varied legacy events, about 1 GB). Not a test: figures go to
# BENCHMARKS.md with the machine they were measured on.
#
# usage: bench/view.sh [EVENTS]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OUT=bench/out
mkdir -p "$OUT"
cargo build --release --locked --bin osprey 2>/dev/null
BIN=./target/release/osprey
CORPUS="$OUT/corpus-$N.json"
[ -f "$CORPUS" ] || python3 bench/gen-corpus.py "$N" "$CORPUS"
SIZE=$(stat -c %s "$CORPUS")
echo "corpus: $CORPUS, $N events, $((SIZE / 1000000)) MB, machine: $(nproc) CPUs, $(uname -r)"
cat "$CORPUS" > /dev/null   # page cache: measure the index pass, not the disk

"$BIN" view --no-browser --port 0 "$CORPUS" > "$OUT/view.url" 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$OUT/view.url" ] && break; sleep 0.05; done
PRINTED=$(head -1 "$OUT/view.url")
URL=${PRINTED%%\?token=*}
TOKEN=${PRINTED##*token=}
# Every request carries the server's token (docs/view-api.md).
curl() { command curl -H "X-Osprey-Token: $TOKEN" "$@"; }

# Index pass: from the server's own clock (the pass starts when the inputs are opened). The
# polls are kept cheap (no interpreter started per poll), not to take CPU from the pass.
while :; do
  S=$(curl -s "${URL}api/status")
  grep -q '"done":true' <<< "$S" && break
  sleep 0.1
done
python3 - "$S" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["index"]
print(f"index pass: {s['frames']} frames in {s['elapsed_ms'] / 1000:.2f} s; "
      f"index {s['index_bytes'] / 1e6:.1f} MB = {s['index_bytes'] / s['frames']:.1f} B/frame; "
      f"store {s['store_bytes'] / 1e6:.0f} MB (temporary file)")
PY
# The server's resident memory now and its peak since the last call (the peak is reset after
# each: clear_refs 5), so that each step's peak is its own.
memory() {
  echo "server memory $1: $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' /proc/$PID/status) resident, peak $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' /proc/$PID/status)"
  echo 5 > /proc/$PID/clear_refs 2>/dev/null || true
}
memory "after the pass"

# The Statistics windows' views, which the index pass counts (docs/view-api.md): the time from
# the index's completion until their results are there, and the memory they hold.
RUN=$(curl -s -X POST -H 'content-type: application/json' \
  --data '{"views": ["tracee,event_counts"], "filter": ""}' "${URL}api/stats")
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$RUN")
while :; do
  R=$(curl -s "${URL}api/stats/$ID")
  grep -q '"done":true' <<< "$R" && break
  sleep 0.02
done
python3 - "$R" "$S" <<'PY'
import json, sys
r, s = json.loads(sys.argv[1])["state"], json.loads(sys.argv[2])["index"]
how = "counted by the index pass" if r["in_index_pass"] else "a run of their own"
print(f"statistics windows' views ({how}): done {r['elapsed_ms'] / 1000:.2f} s after the pass started "
      f"(the index: {s['elapsed_ms'] / 1000:.2f} s)")
PY
memory "with the windows' results"

# Windows of 50 rows (the columns rendered), 20 requests each, median latency.
window() {
  local offset=$1
  for _ in $(seq 1 20); do
    curl -s -o /dev/null -w '%{time_total}\n' "${URL}api/rows?offset=$offset&limit=50"
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}
for offset in 0 450000 900000 $((N - 50)); do
  echo "window of 50 rows at offset $offset: median $(window "$offset") ms"
done

# Filter views: created, then polled until done; the time is the server's.
view() {
  local filter=$1
  local q; q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$filter")
  curl -s -o /dev/null -X POST -H 'content-type: application/json' \
    --data "$(python3 -c 'import json, sys; print(json.dumps({"filter": sys.argv[1]}))' "$filter")" "${URL}api/views"
  while :; do
    V=$(curl -s "${URL}api/views?filter=$q")
    python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["done"] else 1)' "$V" && break
    sleep 0.05
  done
  python3 - "$filter" "$V" <<'PY'
import json, sys
v = json.loads(sys.argv[2])
print(f"filter view {sys.argv[1]!r}: {v['matched']} of {v['scanned']} frames in {v['elapsed_ms'] / 1000:.2f} s")
PY
  echo "  first window of the view: $(curl -s -o /dev/null -w '%{time_total}' "${URL}api/rows?offset=0&limit=50&filter=$q" | awk '{printf "%.1f ms", $1 * 1000}')"
}
view '${important}'
view 'tracee.eventName == "security_file_open"'
view 'tracee.processName contains "py"'
memory "after the filter views"

# A jump inside a filtered view (Go to frame: /api/find, then the window there), median of 20.
q=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("${important}"))')
jump() {
  for _ in $(seq 1 20); do
    curl -s -o /dev/null -w '%{time_total}\n' "${URL}api/find?frame=$1&filter=$q"
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}
echo "jump to frame $((N / 2)) in the \${important} view (find): median $(jump $((N / 2))) ms"

# Sorting a view by a column: the first window sorted (the order computed), then another.
sorted() {
  curl -s -o /dev/null -w '%{time_total}' "${URL}api/rows?offset=$2&limit=50&sort=$1&filter=$q" | awk '{printf "%.2f s", $1}'
}
echo "sort the \${important} view by Process Name (column 6): first window $(sorted 6 0), a later window $(sorted 6 100000)"
memory "after that sort"
echo "sort every frame by Info (column 12): first window $(curl -s -o /dev/null -w '%{time_total}' "${URL}api/rows?offset=0&limit=50&sort=12" | awk '{printf "%.2f s", $1}')"
memory "after the sort by Info"
