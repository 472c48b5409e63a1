#!/bin/bash
# Artifact-capture benchmark: `dd` 1 GiB into a captured path.
#
# For each case the same 1 GiB source (random bytes, generated once and kept in the page
# cache) is written with `dd bs=1M`:
#   1. untraced;
#   2. under `osprey trace --capture write=<dir>/* -- dd ...` (default buffers).
# then a rate-limited writer (bench/capture/paced-writer.py) writes 1 GiB at 200 MB/s, traced
# the same way: the "200 MB/s with zero loss at default buffers" goal.
# Each case runs with and without conv=fdatasync (page-cache speed and disk speed).
#
# Reported per run: dd's throughput, wall time, CPU (user+sys of osprey and dd together, from
# bash `time`; the untraced run gives dd's own share), bytes lost (from the capture's
# artifacts.jsonl), and whether the capture's SHA-256 equals the written file's.
#
# Needs root. usage: bench/capture/capture-dd.sh [osprey binary]   (REPS=3 by default)
# Scratch files go to bench/out/capture (git-ignored); 3 GiB of free space is needed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
osprey="${1:-$target/release/osprey}"
reps="${REPS:-3}"
mb="${MB:-1024}"
out="$root/bench/out/capture"
[ -x "$osprey" ] || { echo "no osprey binary at $osprey (cargo build --release)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "the capture benchmark needs root" >&2; exit 2; }
mkdir -p "$out/work" "$out/cap"
src="$out/source.bin"
if [ ! -f "$src" ] || [ "$(stat -c %s "$src")" != $((mb << 20)) ]; then
    head -c $((mb << 20)) /dev/urandom > "$src"
fi
cat "$src" > /dev/null # into the page cache
dst="$out/work/target.bin"
echo "# machine: $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# filesystem of $out: $(df -T "$out" | awk 'NR==2{print $2}')"
echo "# osprey: $osprey; $mb MiB per run; $reps runs per case"
TIMEFORMAT='%R %U %S'

dd_rate() { # dd's stderr -> MB/s
    grep -Eo '[0-9.,]+ [kMG]B/s' "$1" | tail -1 | awk '{v=$1; gsub(",",".",v); if ($2=="GB/s") v*=1000; if ($2=="kB/s") v/=1000; print v}'
}

check_capture() { # prints "lost=<bytes> sha=<ok|MISMATCH>"
    local idx="$out/cap/out/artifacts.jsonl"
    python3 - "$idx" "$dst" <<'PY'
import hashlib, json, sys
idx, dst = sys.argv[1], sys.argv[2]
want = hashlib.sha256(open(dst, 'rb').read()).hexdigest()
recs = [json.loads(l) for l in open(idx)]
r = [x for x in recs if x['original_path'] == dst]
if not r:
    print('lost=all sha=MISSING'); sys.exit()
r = r[0]
lost = sum(l['end'] - l['start'] for l in r['lost'])
print('lost=%d sha=%s' % (lost, 'ok' if r['sha256'] == want else 'MISMATCH'))
PY
}

run_case() { # $1 label, $2 traced(0/1), $3 dd extra flags, $4 writer (dd|paced)
    local label=$1 traced=$2 flags=$3 writer=$4
    for i in $(seq "$reps"); do
        rm -f "$dst"; rm -rf "$out/cap/out"; sync
        local cmd
        if [ "$writer" = dd ]; then
            cmd=(dd if="$src" of="$dst" bs=1M $flags)
        else
            cmd=(python3 "$here/paced-writer.py" "$src" "$dst" 200)
        fi
        if [ "$traced" = 1 ]; then
            cmd=("$osprey" trace -q -e sched_process_exit -o json:/dev/null
                 --capture "write=$out/work/*" --capture "dir:$out/cap" -- "${cmd[@]}")
        fi
        local t
        t=$( { time "${cmd[@]}" 2> "$out/stderr.txt" > /dev/null; } 2>&1 )
        local rate
        if [ "$writer" = dd ]; then rate="$(dd_rate "$out/stderr.txt") MB/s"; else rate="$(grep -Eo '[0-9.]+ MB/s' "$out/stderr.txt" | tail -1)"; fi
        local res=""
        [ "$traced" = 1 ] && res=$(check_capture)
        read -r wall user sys <<< "$t"
        printf '%-34s run %d: %10s  wall %6.2f s  cpu %6.2f s  %s\n' "$label" "$i" "$rate" "$wall" "$(echo "$user + $sys" | bc)" "$res"
        grep -E "^osprey: capture.*lost|^  lost" "$out/stderr.txt" | sed 's/^/      /' || true
    done
}

run_case "dd untraced (page cache)" 0 "" dd
run_case "dd captured (page cache)" 1 "" dd
run_case "dd untraced (conv=fdatasync)" 0 "conv=fdatasync" dd
run_case "dd captured (conv=fdatasync)" 1 "conv=fdatasync" dd
run_case "200 MB/s writer untraced" 0 "" paced
run_case "200 MB/s writer captured" 1 "" paced
rm -f "$dst"; rm -rf "$out/cap/out"
