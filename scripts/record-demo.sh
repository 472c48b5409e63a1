#!/usr/bin/env bash
# Re-records samples/demo.pcapng: `osprey trace` of samples/scenario.py (a download-and-run on
# loopback). Needs root. The environment is emptied first so that nothing of the recording
# machine's environment ends up in the committed sample.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin osprey
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  ./target/release/osprey trace --no-env \
  -e default,sched_process_fork,execve,chmod,connect,security_socket_bind,net_packet_dns,net_packet_http \
  -o pcapng:samples/demo.pcapng -- /usr/bin/python3 samples/scenario.py
