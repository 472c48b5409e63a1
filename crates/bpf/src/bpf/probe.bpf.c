// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tiny programs whose only job is to find out, at start, what this kernel accepts: BPF LSM, and
 * the helpers, kfuncs and map types the tracer has a fallback for (task storage, the BTF task
 * pointer, bpf_task_pt_regs, bpf_loop, bpf_find_vma, bpf_preempt_disable). Each is loaded alone, with only its own map
 * created; the results decide which object and which ways the tracer uses (compat.h) and what
 * `osprey trace --list` reports. None of them is ever attached. (fentry and kprobes are probed
 * with the real programs of osprey.bpf.c that use them.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} probe_tasks SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_task_btf)
{
	return bpf_get_current_task_btf() != 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_task_storage)
{
	__u64 *v = bpf_task_storage_get(&probe_tasks, bpf_get_current_task_btf(), 0,
					BPF_LOCAL_STORAGE_GET_F_CREATE);
	return v != 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_task_pt_regs)
{
	return bpf_task_pt_regs(bpf_get_current_task_btf()) != 0;
}

static long probe_step(__u32 i, void *ctx)
{
	return 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_loop)
{
	return bpf_loop(1, probe_step, NULL, 0);
}

static long probe_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_find_vma)
{
	return bpf_find_vma(bpf_get_current_task_btf(), 0, probe_vma, NULL, 0);
}

SEC("cgroup/sock_create")
int probe_sock_task(struct bpf_sock *sk)
{
	return bpf_get_current_task() != 0;
}

/* CPU pinning (compat.h): the kfuncs, and a global function called with preemption off, which
 * kernels before 6.14 refuse (the tracer's path walk is one). */
extern void bpf_preempt_disable(void) __weak __ksym;
extern void bpf_preempt_enable(void) __weak __ksym;

__noinline int probe_global(__u64 x)
{
	return x != 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_pin)
{
	int r;
	bpf_preempt_disable();
	r = probe_global(bpf_get_current_pid_tgid());
	bpf_preempt_enable();
	return r;
}

SEC("cgroup_skb/egress")
int probe_pin_skb(struct __sk_buff *skb)
{
	bpf_preempt_disable();
	probe_global(skb->len);
	bpf_preempt_enable();
	return 1;
}
