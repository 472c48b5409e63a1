#!/usr/bin/env bash
# The receiver into a lake: Osprey's Fluent Forward sender (the `forward_send` example, acks on,
# memory raised to 2G so nothing is spooled) streams bench/gen-corpus.py's events of HOSTS hosts
# over about HOURS hours to `osprey receive -w lake:DIR` on loopback; then the same into an
# NDJSON file, the receiver's own cost without the lake. Prints the time from the sender's start
# to its last acknowledgment, to the receiver's exit (its files completed), and the receiver's
# CPU and peak memory; checks that the lake gives back every event. Not a test: figures go to
# BENCHMARKS.md with the machine they were measured on.
#
# usage: [REPS=3] bench/lake-receive.sh [EVENTS [HOSTS [HOURS]]]      (default 1000000 8 24)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
HOSTS=${2:-8}
HOURS=${3:-24}
REPS=${REPS:-3}
source bench/common.sh
cargo build --release --locked -p osprey-forward --example forward_send 2>/dev/null
SEND=./target/release/examples/forward_send
CORPUS="$OUT/fleet-$N-$HOSTS-$HOURS.json"
STEP_NS=$((HOURS * 3600 * 1000000000 / N * 2))
corpus "$CORPUS" ", $HOSTS hosts, ~$HOURS hours" HOSTS="$HOSTS" STEP_NS="$STEP_NS"
LAKE="$OUT/receive-lake"
LOG="$OUT/receive.log"

run() { # LABEL TARGET: one receiver run writing TARGET (-w)
  local port=$((24600 + RANDOM % 1000)) tf; tf=$(mktemp)
  rm -rf "$LAKE" "$OUT/receive.json"; : > "$LOG"
  sync
  /usr/bin/time -o "$tf" -f '%U %S %M' "$BIN" receive --listen "127.0.0.1:$port" -w "$2" 2>>"$LOG" &
  local recv=$!
  for _ in $(seq 200); do grep -q "listening on" "$LOG" && break; sleep 0.05; done
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$SEND" "tcp://127.0.0.1:$port?tag=tracee&memory=2G" < "$CORPUS" 2>/dev/null
  t1=$(date +%s.%N)
  pkill -INT -f "receive --listen 127.0.0.1:$port" || true
  wait "$recv" || true
  t2=$(date +%s.%N)
  read -r user sys kb < "$tf"; rm -f "$tf"
  awk -v l="$1" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v n="$N" -v u="$user" -v s="$sys" -v kb="$kb" \
    'BEGIN { printf "%-28s acked %6.2f s (%7.0f events/s), done %6.2f s, receiver cpu %5.2f s, peak %4.0f MB\n", l, t1 - t0, n / (t1 - t0), t2 - t0, u + s, kb / 1024 }'
}

for _ in $(seq "$REPS"); do
  run "receive -w lake:DIR" "lake:$LAKE"
  run "receive -w FILE (NDJSON)" "$OUT/receive.json"
done
run "receive -w lake:DIR (check)" "lake:$LAKE"
got=$("$BIN" read -q -r "$LAKE" -T ndjson | sort | md5sum)
want=$(sort "$CORPUS" | md5sum)
[ "$got" = "$want" ] && echo "the lake gives back the corpus's $N events" || { echo "MISMATCH: the lake does not give back the corpus"; exit 1; }
