// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Osprey's kernel side: every event the tracer reports starts here. This file holds the entry
 * points; the headers beside it hold the rest, one concern each:
 *
 *   knobs.h      const volatile settings and kernel-feature knobs, set by the loader
 *   maps.h       every map
 *   compat.h     what differs between kernels (task storage, task pointer, loops, VMA lookup)
 *   context.h    the record header, the per-task identity cache, scope, submission
 *   args.h       argument writers, file and socket facts
 *   path.h       file paths (dentry/mount walk)
 *   sysnr.h      syscall numbers, kernel constants, syscall argument registers
 *   capture.h    artifact capture (--capture)
 *   syscalls.h   syscall events and the security_* events derived from them
 *   lifecycle.h  exec/fork/exit helpers
 *   net.h        socket owners and packets
 *
 * Hooks (the loader probes which load and picks per event):
 *   tp_btf/sys_enter, tp_btf/sys_exit          syscall events and the security_* events derived
 *   raw_tracepoint/sys_enter, sys_exit         from them; fallback when tp_btf is refused
 *   tp_btf/sched_process_{exec,fork,exit}      process lifecycle
 *   tp_btf/task_rename                         prev_comm of sched_process_exec
 *   fentry or kprobe/security_file_open        security_file_open, io_uring opens included
 *   fentry or kprobe/security_inode_unlink     inode of security_inode_unlink (any filesystem)
 *   tp_btf or raw_tracepoint/ext4_unlink_enter the same on ext4 only, where neither loads
 *   fentry or kprobe/security_socket_{connect,bind,accept}  io_uring's calls of them
 *   fentry or kprobe/rw_verify_area            io_uring's writes, for --capture write
 *   cgroup_skb/{ingress,egress}                packets for net_packet_* (cgroup v2 root)
 *   cgroup/{sock_create,connect4,connect6,sendmsg4,sendmsg6}  socket cookie -> owning process
 *
 * Programs keep their CPU while they build records where the kernel allows (PINNED, compat.h):
 * their buffers are per CPU. The syscall programs and fentry/security_file_open run in several
 * copies on kernels that can preempt them (context.h, "Spare copies").
 *
 * Every call chain keeps to the classic 512 bytes of stack (no private stacks): record buffers,
 * path buffers, the capture run and task identities live in per-CPU maps. Functions take at
 * most five arguments. Records go to one ring buffer, submitted without a wakeup; userspace
 * drains it on a short timer, and a forced wakeup is sent only when the buffer fills past a
 * threshold (performance.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "osprey.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "knobs.h"
#include "maps.h"

/* Keep the wire types in BTF so the skeleton exposes them to Rust. */
struct record_hdr _rec_hdr = {};
struct sys_cfg _sys_cfg = {};
struct sock_key_owner _sock_owner = {};
struct cap_chunk _cap_chunk = {};
struct cap_loss_key _cap_loss_key = {};
struct cap_loss_val _cap_loss_val = {};
struct exec_key _exec_key = {};

#include "compat.h"
#include "context.h"
#include "args.h"
#include "path.h"
#include "sysnr.h"
#include "capture.h"
#include "syscalls.h"
#include "lifecycle.h"
#include "net.h"

/* ---- syscalls ---- */

/* Each in six copies, attached in this order where the kernel can preempt a program (context.h,
 * "Spare copies"). */
#define SYSCALL_PROGRAMS(name, on, suffix, copy)                                               \
	SEC("tp_btf/sys_" #name)                                                               \
	int BPF_PROG(tp_sys_##name##suffix, struct pt_regs *regs, long arg)                    \
	{                                                                                      \
		if (!regs)                                                                     \
			return 0;                                                              \
		return on(regs, arg, copy);                                                    \
	}                                                                                      \
	SEC("raw_tracepoint/sys_" #name)                                                       \
	int raw_sys_##name##suffix(struct bpf_raw_tracepoint_args *ctx)                        \
	{                                                                                      \
		struct pt_regs *regs = (struct pt_regs *)ctx->args[0];                         \
		return on(regs, (long)ctx->args[1], copy);                                     \
	}

SYSCALL_PROGRAMS(exit, on_sys_exit, , 0)
SYSCALL_PROGRAMS(exit, on_sys_exit, _copy2, 1)
SYSCALL_PROGRAMS(exit, on_sys_exit, _copy3, 2)
SYSCALL_PROGRAMS(exit, on_sys_exit, _copy4, 3)
SYSCALL_PROGRAMS(exit, on_sys_exit, _copy5, 4)
SYSCALL_PROGRAMS(exit, on_sys_exit, _copy6, 5)
SYSCALL_PROGRAMS(enter, on_sys_enter, , 0)
SYSCALL_PROGRAMS(enter, on_sys_enter, _copy2, 1)
SYSCALL_PROGRAMS(enter, on_sys_enter, _copy3, 2)
SYSCALL_PROGRAMS(enter, on_sys_enter, _copy4, 3)
SYSCALL_PROGRAMS(enter, on_sys_enter, _copy5, 4)
SYSCALL_PROGRAMS(enter, on_sys_enter, _copy6, 5)

/* security_file_open at the LSM function, where a kernel allows it (the loader prefers fentry,
 * then kprobe, else derives the event at the syscall's exit). The file as a plain number, not
 * the BTF pointer the context types it as: put_path is a global function, and those take only
 * scalars. */
static __always_inline struct file *file_of(unsigned long long *ctx)
{
	__u64 file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &ctx[0]);
	return (struct file *)file;
}

#define FILE_OPEN_FENTRY(suffix, copy)                                                         \
	SEC("fentry/security_file_open")                                                       \
	int fentry_file_open##suffix(unsigned long long *ctx)                                  \
	{                                                                                      \
		return on_security_file_open(file_of(ctx), copy);                              \
	}

FILE_OPEN_FENTRY(, 0)
FILE_OPEN_FENTRY(_copy2, 1)
FILE_OPEN_FENTRY(_copy3, 2)
FILE_OPEN_FENTRY(_copy4, 3)
FILE_OPEN_FENTRY(_copy5, 4)
FILE_OPEN_FENTRY(_copy6, 5)

/* kprobes run with preemption off: never skipped for another task, no copies needed (the only
 * copy is the last one: it marks nothing) */
SEC("kprobe/security_file_open")
int BPF_KPROBE(kprobe_file_open, struct file *file)
{
	return on_security_file_open(file, MAX_COPIES - 1);
}

/* ---- process lifecycle ---- */

SEC("tp_btf/task_rename")
int BPF_PROG(tp_task_rename, struct task_struct *task, const char *comm)
{
	struct task_struct *t = current_task();
	struct comm_buf *old;
	__u32 tid = bpf_get_current_pid_tgid();
	if (!en_exec || !task || (__u64)task != (__u64)t)
		return 0;
	old = zero_value();
	if (!old)
		return 0;
	bpf_map_update_elem(&prev_comms, &tid, old, BPF_ANY);
	old = bpf_map_lookup_elem(&prev_comms, &tid);
	if (old)
		bpf_probe_read_kernel_str(old->comm, sizeof(old->comm),
					  __builtin_preserve_access_index(&task->comm));
	return 0;
}

/* The comm before the exec: task_rename's, else the one the execve's sys_enter kept. */
static __always_inline void put_prev_comm(struct event_buf *e, struct task_struct *t, __u32 tid)
{
	struct comm_buf *old = bpf_map_lookup_elem(&prev_comms, &tid);
	struct task_stash *s;
	if (old) {
		put_str(e, EXEC_PREV_COMM, old->comm, 0);
		bpf_map_delete_elem(&prev_comms, &tid);
		return;
	}
	s = task_stash_get(t, 0);
	if (s && (s->nr == NR_EXECVE + 1 || s->nr == NR_EXECVEAT + 1))
		put_str(e, EXEC_PREV_COMM, s->exec_comm, 0);
}

static __always_inline int on_process_exec(struct linux_binprm *bprm)
{
	struct task_struct *t = current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = pid_tgid;
	struct event_buf *e;
	struct file *f, *stdin_f, *interp;
	struct fs_struct *fs;
	struct mm_struct *mm;
	__s32 nr;
	__u32 flags;
	__u64 start, end;

	if (!bprm)
		return 0;
	invalidate_cache(t);
	flags = in_scope(t, bpf_get_current_pid_tgid());
	if (!flags) {
		bpf_map_delete_elem(&prev_comms, &tid); /* or it stays until the LRU evicts it */
		return 0;
	}
	if (flags & SCOPE_PENDING_EXEC) {
		__u32 in = SCOPE_IN;
		bpf_map_update_elem(&scope_pids, &tgid, &in, BPF_ANY);
	}
	nr = BPF_CORE_READ(task_regs(t), orig_ax);
	if (cap_exec)
		cap_exec_binary(t, BPF_CORE_READ(bprm, file), bprm, nr);
	if (!en_exec)
		return 0;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_EXEC, EV_SCHED_PROCESS_EXEC, nr);
	f = BPF_CORE_READ(bprm, file);
	mm = BPF_CORE_READ(t, mm);

	put_str(e, EXEC_CMDPATH, BPF_CORE_READ(bprm, filename), 0);
	put_path(EXEC_PATHNAME, (__u64)__builtin_preserve_access_index(&f->f_path));
	put_file_ids(e, f, EXEC_DEV, EXEC_INODE, EXEC_CTIME);
	put_int(e, EXEC_INODE_MODE, BPF_CORE_READ(f, f_inode, i_mode));
	interp = (struct file *)interp_file(t, mm);
	if (interp) {
		put_path(EXEC_INTERPRETER_PATHNAME,
			 (__u64)__builtin_preserve_access_index(&interp->f_path));
		put_file_ids(e, interp, EXEC_INTERPRETER_DEV, EXEC_INTERPRETER_INODE,
			     EXEC_INTERPRETER_CTIME);
	}
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	if (end > start)
		put_bytes(e, EXEC_ARGV, ARG_STRLIST | FROM_USER, (void *)start, end - start);
	put_str(e, EXEC_INTERP, BPF_CORE_READ(bprm, interp), 0);
	stdin_f = fd_file(t, 0);
	if (stdin_f) {
		put_int(e, EXEC_STDIN_TYPE, BPF_CORE_READ(stdin_f, f_inode, i_mode) & S_IFMT);
		put_path(EXEC_STDIN_PATH, (__u64)__builtin_preserve_access_index(&stdin_f->f_path));
	}
	put_int(e, EXEC_INVOKED_FROM_KERNEL,
		(BPF_CORE_READ(t, real_parent, flags) & 0x00200000) ? 1 : 0); /* PF_KTHREAD */
	put_prev_comm(e, t, tid);
	fs = BPF_CORE_READ(t, fs);
	put_path(EXEC_PWD, (__u64)__builtin_preserve_access_index(&fs->pwd));
	if (exec_env) {
		start = BPF_CORE_READ(mm, env_start);
		end = BPF_CORE_READ(mm, env_end);
		if (end > start)
			put_bytes(e, EXEC_ENV, ARG_STRLIST | FROM_USER, (void *)start,
				  end - start);
	}
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return PINNED(on_process_exec(bprm));
}

static __always_inline int on_process_fork(struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *t = current_task();
	struct event_buf *e;
	__u32 flags, ptgid, ctgid, cpid;
	unsigned int level;

	if (!parent || !child)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	cpid = BPF_CORE_READ(child, pid);
	flags = in_scope(t, bpf_get_current_pid_tgid());
	/* `follow`: a new process whose parent is in scope joins it */
	if (scope_follow && scope_pid_mode == 1 && flags && ctgid == cpid && ctgid != ptgid)
		bpf_map_update_elem(&scope_pids, &ctgid, &flags, BPF_ANY);
	if (!flags || (flags & SCOPE_PENDING_EXEC) || !en_fork)
		return 0;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_FORK, EV_SCHED_PROCESS_FORK, 56);
	e->hdr.ret = cpid;
	e->hdr.syscall = BPF_CORE_READ(task_regs(t), orig_ax);
	level = pid_level(BPF_CORE_READ(child, thread_pid));
	put_task_ids(e, FORK_PARENT_TID, parent, level);
	put_task_ids(e, FORK_CHILD_TID, child, level);
	put_task_ids(e, FORK_PARENT_PROCESS_TID, BPF_CORE_READ(child, real_parent), level);
	put_task_ids(e, FORK_LEADER_TID, BPF_CORE_READ(child, group_leader), level);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return PINNED(on_process_fork(parent, child));
}

static __always_inline int on_process_exit(void)
{
	struct task_struct *t = current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct event_buf *e;
	__u32 flags, code;
	int dead = group_dead(t);

	flags = in_scope(t, pid_tgid);
	if (flags && en_exit && !(flags & SCOPE_PENDING_EXEC)) {
		e = get_scratch(SLOT_TASK);
		if (e) {
			fill_hdr(e, t, REC_EXIT, EV_SCHED_PROCESS_EXIT, 60);
			code = BPF_CORE_READ(t, exit_code);
			e->hdr.syscall = BPF_CORE_READ(task_regs(t), orig_ax);
			put_int(e, EXIT_EXIT_CODE, (code >> 8) & 0xff);
			put_int(e, EXIT_SIGNAL_CODE, code & 0x7f);
			put_int(e, EXIT_PROCESS_GROUP_EXIT, dead ? 1 : 0);
			submit(e);
		}
	}
	if (dead && scope_pid_mode == 1 && scope_follow)
		bpf_map_delete_elem(&scope_pids, &tgid);
	task_forget(t);
	return 0;
}

/* The tracepoint's second argument (group_dead) exists only since 6.16: not declared here. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_sched_process_exit, struct task_struct *p)
{
	return PINNED(on_process_exit());
}

/* The inode an unlink removes, for security_inode_unlink (emitted at the syscall's exit): from
 * the LSM function on any filesystem (fentry, else kprobe), else from ext4's tracepoint (BTF, or
 * raw where the kernel has no BTF for modules, before 5.11, and ext4 is a module). */
static __always_inline int stash_unlinked(struct dentry *dentry)
{
	struct task_struct *t = current_task();
	struct task_stash *s;
	struct inode *ino;
	if (!dentry || !in_scope(t, bpf_get_current_pid_tgid()))
		return 0;
	s = task_stash_get(t, 1);
	if (!s)
		return 0;
	ino = BPF_CORE_READ(dentry, d_inode);
	s->unlink_ino = BPF_CORE_READ(ino, i_ino);
	s->unlink_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	s->unlink_ctime = inode_ctime(ino);
	s->unlink_valid = 1;
	return 0;
}

SEC("tp_btf/ext4_unlink_enter")
int BPF_PROG(tp_ext4_unlink_enter, struct inode *parent, struct dentry *dentry)
{
	return stash_unlinked(dentry);
}

SEC("raw_tracepoint/ext4_unlink_enter")
int raw_ext4_unlink_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return stash_unlinked((struct dentry *)ctx->args[1]);
}

SEC("fentry/security_inode_unlink")
int fentry_inode_unlink(unsigned long long *ctx)
{
	__u64 dentry = 0;
	bpf_probe_read_kernel(&dentry, sizeof(dentry), &ctx[1]);
	return stash_unlinked((struct dentry *)dentry);
}

SEC("kprobe/security_inode_unlink")
int BPF_KPROBE(kprobe_inode_unlink, struct inode *dir, struct dentry *dentry)
{
	return stash_unlinked(dentry);
}

/* io_uring's connect/bind/accept at the LSM functions (syscalls.h, on_security_socket_*): the
 * fentry programs where the kernel allows them, else the kprobes. Arguments read as numbers, as
 * in file_of. */
static __always_inline __u64 ctx_arg(unsigned long long *ctx, int i)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

SEC("fentry/security_socket_connect")
int fentry_socket_connect(unsigned long long *ctx)
{
	return on_security_socket_connect(ctx_arg(ctx, 0), ctx_arg(ctx, 1), ctx_arg(ctx, 2));
}

SEC("fentry/security_socket_bind")
int fentry_socket_bind(unsigned long long *ctx)
{
	return on_security_socket_bind(ctx_arg(ctx, 1), ctx_arg(ctx, 2));
}

SEC("fentry/security_socket_accept")
int fentry_socket_accept(unsigned long long *ctx)
{
	return on_security_socket_accept(ctx_arg(ctx, 0));
}

SEC("kprobe/security_socket_connect")
int BPF_KPROBE(kprobe_socket_connect, struct socket *sock, struct sockaddr *addr, int len)
{
	return on_security_socket_connect((__u64)sock, (__u64)addr, len);
}

SEC("kprobe/security_socket_bind")
int BPF_KPROBE(kprobe_socket_bind, struct socket *sock, struct sockaddr *addr, int len)
{
	return on_security_socket_bind((__u64)addr, len);
}

SEC("kprobe/security_socket_accept")
int BPF_KPROBE(kprobe_socket_accept, struct socket *sock)
{
	return on_security_socket_accept((__u64)sock);
}

/* io_uring's writes, for --capture write (syscalls.h, on_rw_verify_area) */
SEC("fentry/rw_verify_area")
int fentry_rw_verify_area(unsigned long long *ctx)
{
	return on_rw_verify_area(ctx_arg(ctx, 0) & 0xffffffff, ctx_arg(ctx, 1), ctx_arg(ctx, 2),
				 ctx_arg(ctx, 3));
}

SEC("kprobe/rw_verify_area")
int BPF_KPROBE(kprobe_rw_verify_area, int rw, struct file *file, const loff_t *ppos, size_t count)
{
	return on_rw_verify_area(rw, (__u64)file, (__u64)ppos, count);
}

/* ---- packets with process context ---- */

SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk)
{
	if (en_packets || cap_net)
		remember_owner(sk, bpf_get_socket_cookie(sk));
	return 1;
}

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	if (en_packets || cap_net)
		remember_owner(ctx, bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx)
{
	if (en_packets || cap_net)
		remember_owner(ctx, bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup/sendmsg4")
int cg_sendmsg4(struct bpf_sock_addr *ctx)
{
	if (en_packets || cap_net)
		remember_owner(ctx, bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup/sendmsg6")
int cg_sendmsg6(struct bpf_sock_addr *ctx)
{
	if (en_packets || cap_net)
		remember_owner(ctx, bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup_skb/ingress")
int cg_skb_ingress(struct __sk_buff *skb)
{
	return PINNED_SKB(on_packet(skb, 0));
}

SEC("cgroup_skb/egress")
int cg_skb_egress(struct __sk_buff *skb)
{
	return PINNED_SKB(on_packet(skb, 1));
}
