/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process lifecycle helpers: the ELF interpreter of a new image and the IDs of fork's tasks. */
#ifndef OSPREY_LIFECYCLE_H
#define OSPREY_LIFECYCLE_H

/* The ELF interpreter's file: the mapping at AT_BASE of the new image. */
static __noinline __u64 interp_file(struct task_struct *t, struct mm_struct *mm)
{
	struct vma_info c = {};
	__u64 base = 0;
	__u64 off = bpf_core_field_offset(struct mm_struct, saved_auxv);
	for (int i = 0; i < 28; i++) {
		__u64 pair[2] = {};
		if (bpf_probe_read_kernel(pair, sizeof(pair), (void *)mm + off + i * 16))
			break;
		if (pair[0] == 0)
			break;
		if (pair[0] == 7) { /* AT_BASE */
			base = pair[1];
			break;
		}
	}
	if (!base)
		return 0;
	vma_lookup(t, base, &c);
	return c.file;
}

/* tid, ns tid, pid, ns pid and start time of `t`, as arguments idx .. idx + 4. */
static __always_inline void put_task_ids(struct event_buf *e, __u8 idx, struct task_struct *t,
					 unsigned int level)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	put_int(e, idx, BPF_CORE_READ(t, pid));
	put_int(e, idx + 1, pid_nr_at(BPF_CORE_READ(t, thread_pid), level));
	put_int(e, idx + 2, BPF_CORE_READ(t, tgid));
	put_int(e, idx + 3, pid_nr_at(BPF_CORE_READ(leader, thread_pid), level));
	put_int(e, idx + 4, BPF_CORE_READ(t, start_boottime));
}

/* sched_process_exit has no group_dead argument before 6.16: the last thread of a group is the
 * one that took signal->live to zero, before the tracepoint fires. */
static __always_inline int group_dead(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, live.counter) == 0;
}

#endif
