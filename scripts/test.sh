#!/usr/bin/env bash
# Sets up this machine (scripts/setup.sh) and runs every test of the repository.
# As root with OSPREY_REQUIRE_BPF=1 (what CI does), a BPF test that cannot load fails
# instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export CARGO_TERM_COLOR=never
cargo build --workspace --all-targets --locked
# OSPREY_EXTCAP_SYSTEM_TEST=1: tests/extcap.rs puts a wrapper into Wireshark's global extcap
# folder for one `tshark -i osprey` test (Wireshark 4.0 has no other) and removes it after.
OSPREY_EXTCAP_SYSTEM_TEST=1 cargo test --workspace --locked --no-fail-fast

# Fluent Forward interop with real peers (tests/forward/interop.mjs): osprey's sender (the
# forward_send example, and as root `osprey trace -o forward:`) into @fluent-org/logger's
# FluentServer; its FluentClient in all four modes and Python's fluent-logger into
# `osprey receive`; with and without a shared key and acks.
(cd tests/forward && OSPREY="$PWD/../../target/debug/osprey" \
  FORWARD_SEND="$PWD/../../target/debug/examples/forward_send" \
  PYTHON="$PWD/../../target/forward-venv/bin/python" node interop.mjs)

# The web UI in a real browser (ui/tests/browser.mjs): the release binary serving the fixtures
# and a generated recording of a million events, driven in Debian's chromium. setup.sh built
# ui/dist, which the binary embeds. Type-checked and linted first (`npm run lint`: ESLint with
# typescript-eslint's type-aware rules and the rule that the UI never renders data as HTML).
cargo build --release -p osprey --locked
(cd ui && npm run typecheck && npm run lint && OSPREY_BIN=../target/release/osprey node tests/browser.mjs)
# The artifacts browser, marks, notes and the report (ui/tests/artifacts.mjs) on two capture
# directories of real `osprey trace --capture` runs (as root, BPF loading).
(cd ui && OSPREY_BIN=../target/release/osprey node tests/artifacts.mjs)
# The timeline strip, the I/O graph and the pivots (ui/tests/timeline.mjs): counts checked
# against `osprey read -Y` and `-z` for the same filters.
(cd ui && OSPREY_BIN=../target/release/osprey node tests/timeline.mjs)
# The statistics windows, the process tree and page, the lineage breadcrumb (ui/tests/stats.mjs).
(cd ui && OSPREY_BIN=../target/release/osprey node tests/stats.mjs)
# `osprey view --live local` on a real trace (ui/tests/live.mjs): the list following the
# events of processes the test runs, a filter on the growing capture, Stop detaching the
# tracer. As root; with OSPREY_REQUIRE_BPF=1 a tracer that cannot load fails it.
(cd ui && OSPREY_BIN=../target/release/osprey node tests/live.mjs)
# `osprey view --live ssh://` against an OpenSSH server on loopback (ui/tests/live-ssh.mjs):
# Fetch output copies the remote output directory over SFTP while the capture goes on.
(cd ui && OSPREY_BIN=../target/release/osprey node tests/live-ssh.mjs)

# The ways older kernels are served (the compat object without bpf_loop, hashes instead of task
# storage, the plain task pointer, registers from the kernel stack), run on this kernel too.
# Four tests are left to the kernel matrix: they need the VMA holding an address, which the
# compat object finds in the red-black tree of kernels before 6.1, and this kernel has a maple
# tree (the compat object is never chosen on such a kernel).
OSPREY_BPF_COMPAT=1 cargo test -p osprey-trace --locked --no-fail-fast --tests -- \
  --skip exec_reports_argv_env_file_identity_and_prev_comm \
  --skip ptrace_mprotect_wx_to_x_memfd_exec_and_kill \
  --skip a_region_going_from_wx_to_x_is_captured_exactly \
  --skip trc104_writable_memory_made_executable

# The copies of the busiest programs that kernels preempting BPF programs get (7.x; context.h,
# "Spare copies"), attached here too: each event still written exactly once.
OSPREY_BPF_PREEMPTIBLE=1 cargo test -p osprey-trace --locked --no-fail-fast --test trace -- \
  file_open_magic_write_and_unlink syscall_storm_loses_nothing \
  exec_reports_argv_env_file_identity_and_prev_comm sockets_connect_bind_accept_over_ipv4_ipv6_and_unix

# The agent's container image (scripts/image.sh, docs/fleet.md): a static osprey in an image
# FROM scratch, built offline and run with no network, its output compared with the host
# binary's. As root (it starts Docker's engine for the build when none runs).
# OSPREY_SKIP_IMAGE=1 leaves it out.
if [ "$(id -u)" -eq 0 ] && [ "${OSPREY_SKIP_IMAGE:-0}" != 1 ]; then
  scripts/image.sh
fi

# The kernel matrix (docs/kernel-support.md): the release binary under Debian's kernels 5.10 to
# the newest, each booted in qemu, one scenario checked per kernel. The first run downloads about
# 600 MB of kernel packages into target/kernel-matrix/; later runs are offline. (Run alone,
# scripts/kernel-matrix.sh also regenerates docs/kernel-support.md; here the checkout is left
# as it is.) OSPREY_SKIP_KERNEL_MATRIX=1 leaves it out (a quicker local run).
if [ "${OSPREY_SKIP_KERNEL_MATRIX:-0}" != 1 ]; then
  scripts/kernel-matrix.sh --no-docs
fi
