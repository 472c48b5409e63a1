#!/usr/bin/env bash
# Sets up this machine, builds Osprey, and reads the bundled sample recording.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked --bin osprey
exec ./target/release/osprey read -r samples/demo.pcapng --color "$@"
