/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The context every record starts with (record_hdr), the per-task identity cache behind it, the
 * scope decided in the kernel, and the submission of a finished record. */
#ifndef OSPREY_CONTEXT_H
#define OSPREY_CONTEXT_H

static __always_inline void count_drop(__u32 cause)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &cause);
	if (v)
		*v += 1;
}

/* The record buffer of a context (SLOT_*). */
static __always_inline struct event_buf *get_scratch(__u32 slot)
{
	struct event_buf *e = bpf_map_lookup_elem(&scratch, &slot);
	if (!e)
		count_drop(DROP_NO_SCRATCH);
	return e;
}

/* False when another program took the buffer while this one built its record (compat.h, "CPU
 * pinning"): the record is counted lost instead of sent. `runner`: what this program wrote in
 * e->runner when it started the record. */
static __always_inline int still_mine_as(struct event_buf *e, __u64 runner)
{
	if (e->runner == runner)
		return 1;
	count_drop(DROP_PREEMPTED);
	return 0;
}

/* The same for a record of the current task (fill_hdr claims it with the task's pid_tgid). */
static __always_inline int still_mine(struct event_buf *e)
{
	return still_mine_as(e, bpf_get_current_pid_tgid());
}

static __always_inline void submit_as(struct event_buf *e, __u64 runner)
{
	__u64 flags = BPF_RB_NO_WAKEUP, size;
	if (!still_mine_as(e, runner))
		return;
	if (e->hdr.args_size >= ARGS_SIZE * 2) {
		count_drop(DROP_TOO_BIG);
		return;
	}
	/* bounded by the mask: at most sizeof(hdr) + 2 * ARGS_SIZE - 1 < sizeof(*e) */
	size = sizeof(struct record_hdr) + MASKED(e->hdr.args_size, ARGS_SIZE * 2 - 1);
	/* Wakeups cost microseconds on the producing CPU: the reader drains on a timer, and is
	 * woken early only when the ring is filling, at most once a millisecond per CPU. */
	if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		__u32 zero = 0;
		__u64 *last = bpf_map_lookup_elem(&last_wakeup, &zero);
		if (last && e->hdr.ts - *last > 1000000) {
			*last = e->hdr.ts;
			flags = BPF_RB_FORCE_WAKEUP;
		}
	}
	if (bpf_ringbuf_output(&events, e, size, flags)) {
		__u32 id = e->hdr.event_id & (EVENT_SLOTS - 1);
		__u64 *v;
		count_drop(DROP_RINGBUF_FULL);
		v = bpf_map_lookup_elem(&lost_by_event, &id);
		if (v)
			*v += 1;
	}
}

static __always_inline void submit(struct event_buf *e)
{
	submit_as(e, bpf_get_current_pid_tgid());
}

/* PID numbers of `pid` as seen from PID-namespace level `level`, 0 when not visible there. */
static __always_inline __u32 pid_nr_at(struct pid *pid, unsigned int level)
{
	struct upid up = {};
	unsigned int plevel;
	if (!pid)
		return 0;
	plevel = BPF_CORE_READ(pid, level);
	if (level > plevel)
		return 0;
	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	return up.nr;
}

static __always_inline unsigned int pid_level(struct pid *pid)
{
	return BPF_CORE_READ(pid, level);
}

static __always_inline __u32 pid_ns_inum(struct pid *pid)
{
	struct upid up = {};
	unsigned int level = BPF_CORE_READ(pid, level);
	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	return BPF_CORE_READ(up.ns, ns.inum);
}

static __always_inline void fill_parent(struct task_struct *t, unsigned int level, __u32 *ppid,
					__u32 *ns_ppid)
{
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);
	struct task_struct *pleader = BPF_CORE_READ(parent, group_leader);
	*ppid = BPF_CORE_READ(parent, tgid);
	*ns_ppid = pid_nr_at(BPF_CORE_READ(pleader, thread_pid), level);
}

/* Identity fields of a task that change only on exec, unshare, setns. Not inlined, like
 * fill_hdr: its temporaries would otherwise sit in every caller's stack frame. */
static __noinline void compute_cache(struct task_cache *c, struct task_struct *t)
{
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct pid *lp = BPF_CORE_READ(leader, thread_pid);
	unsigned int level = pid_level(tp);

	c->start_time = BPF_CORE_READ(t, start_boottime);
	c->leader_start_time = BPF_CORE_READ(leader, start_boottime);
	c->ns_tid = pid_nr_at(tp, level);
	c->ns_pid = pid_nr_at(lp, level);
	c->pid_ns = pid_ns_inum(tp);
	c->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	bpf_probe_read_kernel_str(c->uts_name, sizeof(c->uts_name),
				  BPF_CORE_READ(t, nsproxy, uts_ns, name.nodename));
	c->parent = (__u64)BPF_CORE_READ(t, real_parent);
	fill_parent(t, level, &c->ppid, &c->ns_ppid);
	c->valid = 1;
}

/* The task's cached identity, computed when missing or stale; a per-CPU copy when there is
 * no cache entry to keep it in. */
static __always_inline struct task_cache *task_identity(struct task_struct *t)
{
	__u32 zero = 0;
	struct task_cache *c = task_cache_get(t, 1);
	if (!c) {
		c = bpf_map_lookup_elem(&task_cache_tmp, &zero);
		if (!c)
			return NULL;
		c->valid = 0;
	} else if (!have_task_storage && c->valid &&
		   c->start_time != BPF_CORE_READ(t, start_boottime)) {
		c->valid = 0; /* a thread ID reused since the entry was made */
	}
	if (!c->valid) {
		compute_cache(c, t);
	} else if (c->parent != (__u64)BPF_CORE_READ(t, real_parent)) {
		/* reparented: its parent exited */
		c->parent = (__u64)BPF_CORE_READ(t, real_parent);
		fill_parent(t, pid_level(BPF_CORE_READ(t, thread_pid)), &c->ppid, &c->ns_ppid);
	}
	return c;
}

/* Starts a record for the current task: its context, and the buffer claimed (runner). */
static __noinline void fill_hdr(struct event_buf *e, struct task_struct *t, __u16 kind,
				__u32 event_id, __s32 nr)
{
	struct record_hdr *h = &e->hdr;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_cache *c = task_identity(t);

	e->runner = pid_tgid;
	h->ts = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->ret = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->event_id = event_id;
	h->syscall = nr;
	h->cpu = bpf_get_smp_processor_id();
	h->args_size = 0;
	h->kind = kind;
	h->flags = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	if (!c) {
		h->start_time = h->leader_start_time = 0;
		h->ppid = h->ns_pid = h->ns_tid = h->ns_ppid = h->mnt_ns = h->pid_ns = 0;
		h->uts_name[0] = 0;
		return;
	}
	h->start_time = c->start_time;
	h->leader_start_time = c->leader_start_time;
	h->ppid = c->ppid;
	h->ns_pid = c->ns_pid;
	h->ns_tid = c->ns_tid;
	h->ns_ppid = c->ns_ppid;
	h->mnt_ns = c->mnt_ns;
	h->pid_ns = c->pid_ns;
	__builtin_memcpy(h->uts_name, c->uts_name, sizeof(h->uts_name));
}

static __always_inline void invalidate_cache(struct task_struct *t)
{
	struct task_cache *c = task_cache_get(t, 0);
	if (c)
		c->valid = 0;
}

/*
 * Scope decided in the kernel: the tracer itself, PIDs (with their descendants under `follow`),
 * `new`, and uid. Returns 0 to drop, else the scope flags (SCOPE_IN, SCOPE_PENDING_EXEC).
 */
static __always_inline __u32 in_scope_tgid(__u32 tgid, __u32 uid)
{
	__u32 flags = SCOPE_IN;
	if (tgid == self_tgid)
		return 0;
	if (scope_pid_mode) {
		__u32 *f = bpf_map_lookup_elem(&scope_pids, &tgid);
		if (scope_pid_mode == 1) {
			if (!f)
				return 0;
			flags = *f;
		} else if (f) {
			return 0;
		}
	}
	if (scope_uid_mode) {
		int hit = 0;
		for (int i = 0; i < MAX_SCOPE_UIDS; i++) {
			if (i < scope_nuids && scope_uids[i] == uid)
				hit = 1;
		}
		if ((scope_uid_mode == 1) != hit)
			return 0;
	}
	return flags;
}

/*
 * Spare copies. The kernel runs a tracing program at most once per CPU at a time: when a task is
 * preempted inside it (tracepoints and fentry run with only migration disabled on kernels with
 * full or lazy preemption, Debian's 7.x among them), every other task on that CPU skips the
 * program until the first one is back, and the kernel only counts the misses. So on such
 * kernels the busiest programs are loaded `nr_copies` times (knobs.h) and attached to the same
 * hook so that they run in order for each call: the first copy marks the task and does the
 * work; a later copy does the work only where no earlier copy did (no mark) and marks it, and the
 * last one clears the mark. Only a task that finds every copy busy loses its event: the loader
 * counts those as the last copy's skips less the calls an earlier copy had done (copies_covered).
 * Each copy costs a program run per syscall (about 70 ns on the project's VM, BENCHMARKS.md), so
 * kernels that never preempt a program get none. (A copy cannot return at once by looking
 * whether the copy before it is busy on this CPU: the task may have moved to another CPU
 * between two programs of one tracepoint; the mark lives with the task.)
 */
static __always_inline int handled_by_earlier_copy(struct task_struct *t, __u32 mark, int copy)
{
	int last = copy >= nr_copies - 1;
	struct task_stash *s;
	if (nr_copies <= 1)
		return 0;
	s = task_stash_get(t, !last);
	if (!s)
		return 0;
	if (copy == 0) {
		if (s->handled & mark) {
			/* the last copy of the previous call was skipped, after the work was done */
			__u32 i = MARK_INDEX(mark);
			__u64 *n = bpf_map_lookup_elem(&copies_covered, &i);
			if (n)
				*n += 1;
		}
		s->handled |= mark;
		return 0;
	}
	if (s->handled & mark) {
		if (last)
			s->handled &= ~mark;
		return 1;
	}
	if (!last)
		s->handled |= mark;
	return 0;
}

static __always_inline __u32 in_scope(struct task_struct *t, __u64 pid_tgid)
{
	__u32 flags = in_scope_tgid(pid_tgid >> 32, (__u32)bpf_get_current_uid_gid());
	if (flags && scope_new) {
		struct task_struct *leader = BPF_CORE_READ(t, group_leader);
		if (BPF_CORE_READ(leader, start_boottime) < new_after)
			return 0;
	}
	return flags;
}

#endif
