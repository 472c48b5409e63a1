#!/usr/bin/env bash
# Fluent Forward through the binaries: Osprey's sender (the `forward_send` example, what
# `osprey trace -o forward:` runs, reading NDJSON from stdin) to `osprey receive -w FILE` on
# loopback, acks on, both on this machine. Timed from the sender's start to its last ack; the
# output's line count and distinct events are checked after each run.
#
#   bench/forward.sh [EVENTS]      (default 1000000)
#
# Runs: default limits (an unthrottled producer outruns the link: chunks go through the
# on-disk spool), the sender's memory raised to 2G (no spool), and a receiver killed (SIGKILL)
# 0.8 s into the stream and started again a second later on the same port (spool + resend).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
source bench/common.sh
cargo build --release --locked -p osprey-forward --example forward_send 2>/dev/null
SEND=./target/release/examples/forward_send
C=$OUT/forward-corpus-$N.json
corpus "$C" ""
PORT=$((24600 + RANDOM % 1000))

receiver() { # OUTFILE: starts `osprey receive` in the background, waits until it listens
  "$BIN" receive --listen "127.0.0.1:$PORT" -w "$1" 2>>"$OUT/forward-recv.log" &
  RECV=$!
  for _ in $(seq 100); do
    grep -q "listening on 127.0.0.1:$PORT" "$OUT/forward-recv.log" 2>/dev/null && return
    sleep 0.05
  done
}
stop_receiver() { kill -INT "$RECV"; wait "$RECV" || true; }
check() { # FILES...: every event, how many twice (a receiver killed after writing a chunk
  # but before its ack gets it again, and a restarted receiver has forgotten its ids), and the
  # lines a kill cut in the middle of a write
  python3 - "$N" "$@" <<'PY'
import json, sys
n, seen, lines, cut = int(sys.argv[1]), set(), 0, 0
for f in sys.argv[2:]:
    for line in open(f, 'rb'):
        lines += 1
        try:
            json.loads(line)
        except ValueError:
            cut += 1
            continue
        seen.add(line.rstrip(b'\n'))
print(f"  received: {lines} lines, {len(seen)} distinct events, {lines - cut - len(seen)} duplicates, {cut} cut lines (sent {n})")
sys.exit(0 if len(seen) == n else f"  LOST: {n - len(seen)} events")
PY
}
run() { # NAME QUERY
  : > "$OUT/forward-recv.log"
  rm -f "$OUT"/forward-out*.json
  sync # the previous run's gigabytes are not written back during this one
  receiver "$OUT/forward-out.json"
  local t0 t1
  t0=$(date +%s.%N)
  "$SEND" "tcp://127.0.0.1:$PORT?tag=tracee$2" < "$C" 2> "$OUT/forward-send.log"
  t1=$(date +%s.%N)
  stop_receiver
  python3 -c "import sys; w=$t1-$t0; print(f'$1: {w:.2f} s, {$N/w:,.0f} events/s')"
  grep -o "delivered.*" "$OUT/forward-send.log" | sed 's/^/  sender: /'
  check "$OUT/forward-out.json"
}

run "default limits, into a file" ""
run "memory=2G, into a file" "&memory=2G"

# the receiver killed mid-stream and started again
: > "$OUT/forward-recv.log"
rm -f "$OUT"/forward-out*.json
sync
receiver "$OUT/forward-out1.json"
t0=$(date +%s.%N)
"$SEND" "tcp://127.0.0.1:$PORT?tag=tracee" < "$C" 2> "$OUT/forward-send.log" &
SENDER=$!
sleep 0.8
kill -KILL "$RECV"; wait "$RECV" 2>/dev/null || true
sleep 1
receiver "$OUT/forward-out2.json"
wait "$SENDER"
t1=$(date +%s.%N)
stop_receiver
python3 -c "import sys; w=$t1-$t0; print(f'receiver killed at 0.8 s, back 1 s later: {w:.2f} s, {$N/w:,.0f} events/s (including the second)')"
grep -o "delivered.*" "$OUT/forward-send.log" | sed 's/^/  sender: /'
check "$OUT/forward-out1.json" "$OUT/forward-out2.json"
rm -f "$OUT"/forward-out*.json
