/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What differs between kernels, in one place. Two ways decide:
 *
 * - Feature knobs (knobs.h), set by the loader from its probes: task storage, the BTF task
 *   pointer and bpf_task_pt_regs, with an older way for each (a hash by thread ID, the plain
 *   task pointer read with CO-RE, the registers at the top of the kernel stack).
 * - The compat object: this source built a second time with -DOSPREY_COMPAT for kernels
 *   without bpf_loop and bpf_find_vma (before 5.17). Before 5.13 a kernel rejects any program
 *   holding a callback function, even one never called, so that object has none: bounded loops
 *   instead of bpf_loop, and a walk of the VMA red-black tree instead of bpf_find_vma.
 */
#ifndef OSPREY_COMPAT_H
#define OSPREY_COMPAT_H

/* Masks an index in a way the compiler cannot drop, so the verifier sees the bound. */
#define MASKED(x, mask) ({ __u64 __p = (x); asm volatile("" : "+r"(__p)); __p & (mask); })

static __always_inline struct task_struct *current_task(void)
{
	if (have_task_btf)
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/* x86-64: the user registers sit at the top of the task's kernel stack (THREAD_SIZE 16 KiB,
 * no padding), which is what bpf_task_pt_regs returns where it exists. */
#define THREAD_SIZE_ (16384)

static __always_inline struct pt_regs *task_regs(struct task_struct *t)
{
	if (have_task_pt_regs)
		return (struct pt_regs *)bpf_task_pt_regs(t);
	return (struct pt_regs *)((__u64)BPF_CORE_READ(t, stack) + THREAD_SIZE_ -
				  sizeof(struct pt_regs));
}

/* A value for a new hash entry: never written, so all zero. */
static __always_inline void *zero_value(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&zeroes, &zero);
}

static __always_inline void *by_tid_get(void *map, struct task_struct *t, int create)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	void *v = bpf_map_lookup_elem(map, &tid);
	void *zero;
	if (v || !create)
		return v;
	zero = zero_value();
	if (!zero)
		return NULL;
	bpf_map_update_elem(map, &tid, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, &tid);
}

/* The task's cached identity (context.h), created when `create`. */
static __always_inline struct task_cache *task_cache_get(struct task_struct *t, int create)
{
	if (have_task_storage)
		return bpf_task_storage_get(&task_caches, t, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	return by_tid_get(&task_cache_by_tid, t, create);
}

/* State a syscall's entry leaves for its exit. */
static __always_inline struct task_stash *task_stash_get(struct task_struct *t, int create)
{
	if (have_task_storage)
		return bpf_task_storage_get(&task_stashes, t, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	return by_tid_get(&task_stash_by_tid, t, create);
}

/* A thread is gone: its hash entries go too (task storage frees itself). */
static __always_inline void task_forget(struct task_struct *t)
{
	__u32 tid;
	if (have_task_storage)
		return;
	tid = BPF_CORE_READ(t, pid);
	bpf_map_delete_elem(&task_cache_by_tid, &tid);
	bpf_map_delete_elem(&task_stash_by_tid, &tid);
}

/* Runs fn(i, ctx) for i = 0.. until it returns nonzero: up to n times with bpf_loop, up to
 * compat_max times in the compat object. */
#ifdef OSPREY_COMPAT
#define LOOP(n, compat_max, fn, ctx)                                                           \
	do {                                                                                   \
		__u64 __n = (n);                                                               \
		for (__u32 __i = 0; __i < (compat_max); __i++) {                               \
			if (__i >= __n || fn(__i, ctx))                                        \
				break;                                                         \
		}                                                                              \
	} while (0)
#else
#define LOOP(n, compat_max, fn, ctx) bpf_loop((n), fn, (ctx), 0)
#endif

/* Adds v to *p and returns the old value. Atomic fetch-and-add came with 5.12; before it (the
 * compat object), the value is read first and added without a fetch, so two CPUs writing one
 * stream at the same instant may be given the same offset there. */
#ifdef OSPREY_COMPAT
#define FETCH_ADD(p, v) ({ __u64 __old = *(p); __sync_fetch_and_add((p), (v)); __old; })
#else
#define FETCH_ADD(p, v) __sync_fetch_and_add((p), (v))
#endif

/* The VMA holding `addr` in the task's address space: its vm_flags and vm_file. */
struct vma_info {
	__u64 flags;
	__u64 file;
	__u64 found;
};

#ifdef OSPREY_COMPAT
/* Kernels before 6.1 keep VMAs in a red-black tree (mm_rb, vm_rb): the walk find_vma does. */
struct vm_area_struct___rb {
	unsigned long vm_start;
	unsigned long vm_end;
	struct rb_node vm_rb;
	unsigned long vm_flags;
	struct file *vm_file;
} __attribute__((preserve_access_index));

struct mm_struct___rb {
	struct rb_root mm_rb;
} __attribute__((preserve_access_index));

static __noinline int vma_lookup(struct task_struct *t, __u64 addr, struct vma_info *out)
{
	struct mm_struct___rb *mm = (void *)BPF_CORE_READ(t, mm);
	struct rb_node *node;
	__u64 off;
	if (!out || !bpf_core_field_exists(mm->mm_rb))
		return 0;
	node = BPF_CORE_READ(mm, mm_rb.rb_node);
	off = bpf_core_field_offset(struct vm_area_struct___rb, vm_rb);
	for (int i = 0; i < 48 && node; i++) {
		struct vm_area_struct___rb *vma = (void *)node - off;
		if (BPF_CORE_READ(vma, vm_end) > addr) {
			if (BPF_CORE_READ(vma, vm_start) <= addr) {
				out->flags = BPF_CORE_READ(vma, vm_flags);
				out->file = (__u64)BPF_CORE_READ(vma, vm_file);
				out->found = 1;
				return 1;
			}
			node = BPF_CORE_READ(node, rb_left);
		} else {
			node = BPF_CORE_READ(node, rb_right);
		}
	}
	return 0;
}
#else
static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_info *c = data;
	c->flags = BPF_CORE_READ(vma, vm_flags);
	c->file = (__u64)BPF_CORE_READ(vma, vm_file);
	c->found = 1;
	return 0;
}

static __always_inline int vma_lookup(struct task_struct *t, __u64 addr, struct vma_info *out)
{
	bpf_find_vma(t, addr, vma_found, out, 0);
	return out->found;
}
#endif

/*
 * CPU pinning. Records, path walks and capture runs are built in per-CPU buffers. Tracing and
 * cgroup programs run with migration disabled but, on kernels with full or lazy preemption
 * (Debian's 7.x), may be preempted: the task that runs next on the CPU can take the buffer
 * half-way. Where the kernel has bpf_preempt_disable (6.10+) and lets global functions be
 * called with preemption off (6.14+), the loader sets pin_cpu and a program keeps its CPU while
 * it builds and sends its records (the checks before that need no buffer and run unpinned).
 * Elsewhere each buffer names its runner, and a record or capture run that changed hands is
 * dropped and counted (DROP_PREEMPTED, LOST_PREEMPTED), never sent half-overwritten.
 */
#ifndef OSPREY_COMPAT
extern void bpf_preempt_disable(void) __weak __ksym;
extern void bpf_preempt_enable(void) __weak __ksym;
#define PINNED_IF(knob, call)                                                                  \
	({                                                                                     \
		int __ret;                                                                     \
		if ((knob) && bpf_ksym_exists(bpf_preempt_disable))                            \
			bpf_preempt_disable();                                                 \
		__ret = (call);                                                                \
		if ((knob) && bpf_ksym_exists(bpf_preempt_disable))                            \
			bpf_preempt_enable();                                                  \
		__ret;                                                                         \
	})
#else
/* before 5.17 (the compat object): no kfunc to pin with */
#define PINNED_IF(knob, call) (call)
#endif
/* A program body run on one CPU throughout, where the kernel allows. */
#define PINNED(call) PINNED_IF(pin_cpu, call)
#define PINNED_SKB(call) PINNED_IF(pin_cpu_skb, call)

#endif
