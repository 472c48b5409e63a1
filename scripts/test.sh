#!/usr/bin/env bash
# Sets up this machine (scripts/setup.sh) and runs every test of the repository.
# As root with OSPREY_REQUIRE_BPF=1 (what CI does), a BPF test that cannot load fails
# instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export CARGO_TERM_COLOR=never
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --no-fail-fast
