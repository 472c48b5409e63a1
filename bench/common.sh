# Sourced by the bench/*.sh scripts (from the repository root): GNU time installed, the release
# binary built ($BIN), $OUT for the corpora and outputs, and `corpus FILE WHAT [VAR=VALUE...]`,
# which generates FILE with bench/gen-corpus.py ($N events, the variables in its environment)
# unless it exists, prints what it is, and reads it once into the page cache so that the runs
# measure osprey, not the disk.
OUT=bench/out
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || { sudo_=$([ "$(id -u)" = 0 ] || echo sudo); $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
cargo build --release --locked --bin osprey 2>/dev/null
BIN=./target/release/osprey

corpus() {
  local file=$1 what=$2; shift 2
  [ -f "$file" ] || env "$@" python3 bench/gen-corpus.py "$N" "$file"
  local size; size=$(stat -c %s "$file")
  echo "corpus: $file, $N events$what, $((size / 1000000)) MB, machine: $(nproc) CPUs, $(uname -r)"
  cat "$file" > /dev/null
}
