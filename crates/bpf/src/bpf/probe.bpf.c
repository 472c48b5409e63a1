// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tiny programs whose only job is to find out, at start, whether this kernel accepts the hook
 * types Osprey would prefer (fentry/fexit, BPF LSM, kprobes, classic tracepoints). Each is loaded
 * alone; the result decides what `osprey trace --list` reports. None of them is ever attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("fentry/security_file_open")
int BPF_PROG(probe_fentry, struct file *file)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(probe_kprobe)
{
	return 0;
}
