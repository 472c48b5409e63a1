// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel integrity: the kernel words the tracer compares with the kernel's own symbols
 * (crates/bpf/src/integrity.rs), for the hooked_syscall and hooked_proc_fops events.
 *
 * Nothing is attached: userspace runs the program with BPF_PROG_TEST_RUN, in its own task, and
 * reads the answer from a map. A raw tracepoint program, because those can be run so from 5.10
 * on and may read kernel memory; the two questions:
 *
 *   READ_TABLE      args[1] = address, args[2] = n: n words (at most 512) from the address
 *                   (the syscall table)
 *   READ_FILE_OPS   args[1] = fd: the directory operations (iterate_shared, and iterate where
 *                   the kernel still has it) of the file open at fd in the calling task
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define READ_TABLE 1
#define READ_FILE_OPS 2
#define MAX_WORDS 512

struct kernel_words {
	__u64 n; /* words read, 0 when the read failed */
	__u64 w[MAX_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kernel_words);
} kernel_words SEC(".maps");

/* `iterate`, removed in 6.6: read only where the running kernel has it */
struct file_operations___with_iterate {
	int (*iterate)(struct file *, struct dir_context *);
} __attribute__((preserve_access_index));

static __always_inline struct file *fd_file_of_current(__u64 fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void read_file_ops(struct kernel_words *out, __u64 fd)
{
	struct file *f = fd_file_of_current(fd);
	const struct file_operations *fops;
	if (!f)
		return;
	fops = BPF_CORE_READ(f, f_inode, i_fop);
	if (!fops)
		return;
	out->w[0] = (__u64)BPF_CORE_READ(fops, iterate_shared);
	out->w[1] = 0;
	if (bpf_core_field_exists(struct file_operations___with_iterate, iterate))
		out->w[1] = (__u64)BPF_CORE_READ((struct file_operations___with_iterate *)fops,
						 iterate);
	out->n = 2;
}

SEC("raw_tp")
int read_kernel_words(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct kernel_words *out = bpf_map_lookup_elem(&kernel_words, &zero);
	__u64 what = ctx->args[0], n = ctx->args[2];
	__u32 size;
	if (!out)
		return 0;
	out->n = 0;
	if (what == READ_TABLE) {
		if (n > MAX_WORDS)
			n = MAX_WORDS;
		size = n * sizeof(__u64);
		if (size > sizeof(out->w))
			return 0;
		if (bpf_probe_read_kernel(out->w, size, (const void *)ctx->args[1]) == 0)
			out->n = n;
	} else if (what == READ_FILE_OPS) {
		read_file_ops(out, ctx->args[1]);
	}
	return 0;
}
