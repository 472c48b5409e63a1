/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Syscall events and the events derived from them, at sys_exit (arguments read from the saved
 * registers, so no per-thread map is needed on the hot path) and, for the few that need it, at
 * sys_enter: a per-syscall table (`sys_cfgs`, written by the loader) says what to emit and how
 * to read each argument.
 */
#ifndef OSPREY_SYSCALLS_H
#define OSPREY_SYSCALLS_H

static __noinline int put_sys_arg(struct event_buf *e, __u8 idx, __u8 kind, __u64 v, __u64 next)
{
	__u32 len;
	if (!e)
		return 0;
	switch (kind) {
	case SK_INT:
		put_int(e, idx, v);
		break;
	case SK_STR:
		put_str(e, idx, (const void *)v, 1);
		break;
	case SK_SOCKADDR:
		len = next > 128 ? 128 : (__u32)next;
		put_bytes(e, idx, ARG_SOCKADDR | FROM_USER, (const void *)v, len);
		break;
	case SK_SOCKADDR_LP:
		len = 0;
		if (next)
			bpf_probe_read_user(&len, sizeof(len), (void *)next);
		if (len > 128)
			len = 128;
		put_bytes(e, idx, ARG_SOCKADDR | FROM_USER, (const void *)v, len);
		break;
	case SK_STRARR:
		put_strarr(e, idx, (const char *const *)v);
		break;
	}
	return 0;
}

static __always_inline void put_sys_args(struct event_buf *e, struct sys_cfg *cfg,
					 struct pt_regs *regs)
{
	__u64 a[6];
	for (int i = 0; i < 6; i++)
		a[i] = cfg->kind[i] ? reg_arg(regs, i) : 0;
	for (int i = 0; i < 6; i++) {
		if (!cfg->kind[i])
			continue;
		/* the length of a sockaddr is in the next register */
		__u64 next = i < 5 ? reg_arg(regs, i + 1) : 0;
		put_sys_arg(e, i, cfg->kind[i], a[i], next);
	}
}

/* The user path an open-family syscall was given (NULL for any other syscall). */
static __always_inline const char *open_upath(long nr, struct pt_regs *regs)
{
	if (nr == NR_OPENAT || nr == NR_OPENAT2)
		return (const char *)reg_arg(regs, 1);
	if (nr == NR_OPEN || nr == NR_CREAT)
		return (const char *)reg_arg(regs, 0);
	return NULL;
}

/* security_file_open, whichever hook saw it. The return value is 0 (the LSM check's), as in
 * Tracee, not the file descriptor that only the syscall's exit knows. */
static __noinline int put_file_open(struct task_struct *t, long nr, struct file *f,
				    const char *upath)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e || !f)
		return 0;
	fill_hdr(e, t, REC_FILE_OPEN, EV_SECURITY_FILE_OPEN, nr);
	put_path(FILE_OPEN_PATHNAME, (__u64)__builtin_preserve_access_index(&f->f_path));
	put_int(e, FILE_OPEN_FLAGS, BPF_CORE_READ(f, f_flags));
	put_file_ids(e, f, FILE_OPEN_DEV, FILE_OPEN_INODE, FILE_OPEN_CTIME);
	put_str(e, FILE_OPEN_SYSCALL_PATHNAME, upath, 1);
	submit(e);
	return 0;
}

/* security_file_open derived at an open-family syscall's exit, where the LSM function cannot be
 * hooked. O_PATH opens are left out: the kernel does not call security_file_open for them. */
static __noinline int emit_file_open(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct file *f;
	if (ret < 0)
		return 0;
	f = fd_file(t, ret);
	if (!f || (BPF_CORE_READ(f, f_mode) & FMODE_PATH_))
		return 0;
	return put_file_open(t, nr, f, open_upath(nr, regs));
}

/* security_file_open from the LSM function itself (fentry or kprobe, where a kernel allows
 * them): the opens of the open family, exactly as at their exit, and also the opens io_uring
 * makes (in io_uring_enter or its io-wq workers), which no syscall exit shows. Other opens
 * (exec's, the kernel's own) are left out, so that a kernel's choice of hook never changes the
 * events. */
static __always_inline int on_security_file_open(struct file *f, int copy)
{
	struct task_struct *t = current_task();
	struct pt_regs *regs;
	const char *upath;
	__u32 flags;
	long nr;
	if (!f)
		return 0;
	flags = in_scope(t, bpf_get_current_pid_tgid());
	if (!flags || (flags & SCOPE_PENDING_EXEC))
		return 0;
	if (handled_by_earlier_copy(t, MARK_FILE_OPEN, copy))
		return 0;
	if (BPF_CORE_READ(t, flags) & PF_IO_WORKER_)
		return PINNED(put_file_open(t, -1, f, NULL));
	regs = task_regs(t);
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == NR_IO_URING_ENTER)
		return PINNED(put_file_open(t, nr, f, NULL));
	upath = open_upath(nr, regs);
	return upath ? PINNED(put_file_open(t, nr, f, upath)) : 0;
}

static __noinline int emit_magic_write(struct task_struct *t, long nr, struct pt_regs *regs,
				       long ret)
{
	struct event_buf *e;
	struct file *f;
	struct inode *ino;
	__u64 pos;
	const void *buf;
	__u32 len;
	if (ret <= 0)
		return 0;
	f = fd_file(t, reg_arg(regs, 0));
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFREG)
		return 0;
	if (nr == NR_PWRITE64 || nr == NR_PWRITEV ||
	    (nr == NR_PWRITEV2 && (long)reg_arg(regs, 3) != -1))
		pos = reg_arg(regs, 3);
	else
		pos = BPF_CORE_READ(f, f_pos) - ret;
	if (pos != 0)
		return 0;
	buf = (const void *)reg_arg(regs, 1);
	if (nr == NR_WRITEV || nr == NR_PWRITEV || nr == NR_PWRITEV2) {
		struct iovec iov = {};
		bpf_probe_read_user(&iov, sizeof(iov), buf);
		buf = iov.iov_base;
		len = iov.iov_len < ret ? iov.iov_len : ret;
	} else {
		len = ret;
	}
	if (len > magic_len)
		len = magic_len;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_MAGIC_WRITE, EV_MAGIC_WRITE, nr);
	e->hdr.ret = ret;
	put_path(MAGIC_WRITE_PATHNAME, (__u64)__builtin_preserve_access_index(&f->f_path));
	put_bytes(e, MAGIC_WRITE_BYTES, ARG_BYTES | FROM_USER, buf, len & 255);
	put_file_ids(e, f, MAGIC_WRITE_DEV, MAGIC_WRITE_INODE, NO_ARG);
	submit(e);
	return 0;
}

static __noinline int emit_unlink(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e;
	struct task_stash *s = task_stash_get(t, 0);
	const char *upath;
	long dirfd;
	if (ret != 0) {
		if (s)
			s->unlink_valid = 0;
		return 0;
	}
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_UNLINK, EV_SECURITY_INODE_UNLINK, nr);
	e->hdr.ret = ret;
	if (nr == NR_UNLINKAT) {
		dirfd = (int)reg_arg(regs, 0); /* an int: AT_FDCWD is -100 in the low 32 bits */
		upath = (const char *)reg_arg(regs, 1);
	} else {
		dirfd = -100;
		upath = (const char *)reg_arg(regs, 0);
	}
	/* 0: the path as given; 1: the directory it is relative to (dirfd or cwd) */
	put_str(e, 0, upath, 1);
	if (dirfd == -100) {
		struct fs_struct *fs = BPF_CORE_READ(t, fs);
		put_path(1, (__u64)__builtin_preserve_access_index(&fs->pwd));
	} else {
		struct file *df = fd_file(t, dirfd);
		if (df)
			put_path(1, (__u64)__builtin_preserve_access_index(&df->f_path));
	}
	if (s && s->unlink_valid) {
		put_int(e, 2, s->unlink_ino);
		put_int(e, 3, s->unlink_dev);
		put_int(e, 4, s->unlink_ctime);
		s->unlink_valid = 0;
	}
	submit(e);
	return 0;
}

static __always_inline __u32 sock_type_of(struct file *f)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, type);
}

static __always_inline int is_socket_file(struct file *f)
{
	return f && (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFSOCK;
}

static __noinline int emit_connect_bind(struct task_struct *t, long nr, struct pt_regs *regs,
					long ret)
{
	struct event_buf *e;
	long fd = reg_arg(regs, 0);
	struct file *f = fd_file(t, fd);
	__u64 len = reg_arg(regs, 2);
	int connect = nr == NR_CONNECT;
	if (!is_socket_file(f))
		return 0;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, connect ? REC_CONNECT : REC_BIND,
		 connect ? EV_SECURITY_SOCKET_CONNECT : EV_SECURITY_SOCKET_BIND, nr);
	e->hdr.ret = ret;
	/* connect and bind share the layout but for bind's missing type */
	put_int(e, CONNECT_SOCKFD, fd);
	if (connect) {
		put_int(e, CONNECT_TYPE, sock_type_of(f));
		put_bytes(e, CONNECT_REMOTE_ADDR, ARG_SOCKADDR | FROM_USER,
			  (const void *)reg_arg(regs, 1), len > 128 ? 128 : len);
	} else {
		put_bytes(e, BIND_LOCAL_ADDR, ARG_SOCKADDR | FROM_USER,
			  (const void *)reg_arg(regs, 1), len > 128 ? 128 : len);
	}
	submit(e);
	return 0;
}

static __noinline int emit_accept(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e;
	long fd = reg_arg(regs, 0);
	struct file *f;
	struct socket *sock;
	if (ret < 0)
		return 0;
	f = fd_file(t, fd);
	if (!is_socket_file(f))
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_ACCEPT, EV_SECURITY_SOCKET_ACCEPT, nr);
	e->hdr.ret = ret;
	put_int(e, ACCEPT_SOCKFD, fd);
	put_sock_local(e, ACCEPT_LOCAL_ADDR, BPF_CORE_READ(sock, sk));
	submit(e);
	return 0;
}

/*
 * security_socket_connect/bind/accept at the LSM functions, where a kernel allows it: only the
 * calls io_uring makes (in io_uring_enter or its io-wq workers), which no syscall exit shows.
 * The syscalls' own calls are left to their exit (emit_connect_bind, emit_accept), which knows
 * the result, so that a kernel's choice of hook never changes those events. No file
 * descriptor names the socket there (io_uring's request holds the file): sockfd is -1.
 */
/* For a call made by io_uring on behalf of a task in scope: the syscall to report
 * (io_uring_enter, or -1 in an io-wq worker); else 0. */
static __always_inline long uring_call(struct task_struct *t)
{
	__u32 flags = in_scope(t, bpf_get_current_pid_tgid());
	long nr;
	if (!flags || (flags & SCOPE_PENDING_EXEC))
		return 0;
	if (BPF_CORE_READ(t, flags) & PF_IO_WORKER_)
		return -1;
	nr = BPF_CORE_READ(task_regs(t), orig_ax);
	return nr == NR_IO_URING_ENTER ? nr : 0;
}

static __always_inline long uring_socket_call(struct task_struct *t, __u32 syscall, __u16 derive)
{
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &syscall);
	if (!cfg || !(cfg->derive & derive))
		return 0; /* the event is not selected */
	return uring_call(t);
}

/* rw_verify_area(read_write, file, ppos, count): the writes io_uring makes, for --capture
 * write (capture.h, cap_uring_write). */
static __always_inline int on_rw_verify_area(__u64 rw, __u64 file, __u64 ppos, __u64 count)
{
	struct task_struct *t;
	long nr;
	if (!cap_write || rw != 1 /* WRITE */ || !file)
		return 0;
	t = current_task();
	nr = uring_call(t);
	if (!nr)
		return 0;
	return PINNED(cap_uring_write(t, nr, (struct file *)file, ppos, count));
}

static __noinline int put_uring_connect(struct task_struct *t, long nr, __u64 sock, __u64 addr,
					__u32 len)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_CONNECT, EV_SECURITY_SOCKET_CONNECT, nr);
	put_int(e, CONNECT_SOCKFD, -1);
	put_int(e, CONNECT_TYPE, BPF_CORE_READ((struct socket *)sock, type));
	put_bytes(e, CONNECT_REMOTE_ADDR, ARG_SOCKADDR, (const void *)addr, len > 128 ? 128 : len);
	submit(e);
	return 0;
}

static __noinline int put_uring_bind(struct task_struct *t, long nr, __u64 addr, __u32 len)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_BIND, EV_SECURITY_SOCKET_BIND, nr);
	put_int(e, BIND_SOCKFD, -1);
	put_bytes(e, BIND_LOCAL_ADDR, ARG_SOCKADDR, (const void *)addr, len > 128 ? 128 : len);
	submit(e);
	return 0;
}

static __always_inline int on_security_socket_connect(__u64 sock, __u64 addr, __u32 len)
{
	struct task_struct *t = current_task();
	long nr = uring_socket_call(t, NR_CONNECT, DV_CONNECT);
	if (!nr || !sock || !addr)
		return 0;
	return PINNED(put_uring_connect(t, nr, sock, addr, len));
}

static __always_inline int on_security_socket_bind(__u64 addr, __u32 len)
{
	struct task_struct *t = current_task();
	long nr = uring_socket_call(t, NR_BIND, DV_BIND);
	if (!nr || !addr)
		return 0;
	return PINNED(put_uring_bind(t, nr, addr, len));
}

static __noinline int put_uring_accept(struct task_struct *t, long nr, __u64 sock)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_ACCEPT, EV_SECURITY_SOCKET_ACCEPT, nr);
	put_int(e, ACCEPT_SOCKFD, -1);
	put_sock_local(e, ACCEPT_LOCAL_ADDR, BPF_CORE_READ((struct socket *)sock, sk));
	submit(e);
	return 0;
}

static __always_inline int on_security_socket_accept(__u64 sock)
{
	struct task_struct *t = current_task();
	long nr = uring_socket_call(t, NR_ACCEPT, DV_ACCEPT); /* accept4's config is the same */
	if (!nr || !sock)
		return 0;
	return PINNED(put_uring_accept(t, nr, sock));
}

static __always_inline __u32 vm_to_prot(__u64 flags)
{
	return (flags & VM_READ_ ? 1 : 0) | (flags & VM_WRITE_ ? PROT_W : 0) |
	       (flags & VM_EXEC_ ? PROT_X : 0);
}

/* mprotect at sys_enter: the region's protection before the change. */
static __noinline int stash_mprotect(struct task_struct *t, long nr, struct pt_regs *regs)
{
	struct task_stash *s = task_stash_get(t, 1);
	struct vma_info c = {};
	if (!s)
		return 0;
	s->nr = nr + 1;
	s->a0 = reg_arg(regs, 0);
	s->a1 = reg_arg(regs, 1);
	s->a2 = reg_arg(regs, 2);
	vma_lookup(t, s->a0, &c);
	s->prev_prot = c.found ? vm_to_prot(c.flags) : 0;
	s->file = c.file;
	return 0;
}

/* The comm before an exec: sched_process_exec's prev_comm when task_rename left no entry in
 * prev_comms (a map update can fail: 7.x hash maps take locks that give up rather than
 * deadlock; the matrix once saw an exec on 7.3 without the entry). */
static __noinline int stash_exec_comm(struct task_struct *t, long nr)
{
	struct task_stash *s = task_stash_get(t, 1);
	if (!s)
		return 0;
	s->nr = nr + 1;
	bpf_get_current_comm(s->exec_comm, sizeof(s->exec_comm));
	return 0;
}

static __always_inline void put_file_path_ids(struct event_buf *e, struct file *f, __u8 ipath,
					      __u8 idev, __u8 iino, __u8 ictime)
{
	if (f) {
		put_path(ipath, (__u64)__builtin_preserve_access_index(&f->f_path));
		put_file_ids(e, f, idev, iino, ictime);
	}
}

static __noinline int emit_mprotect(struct task_struct *t, long nr, struct pt_regs *regs,
				    long ret, __u16 derive)
{
	struct task_stash *s = task_stash_get(t, 0);
	struct event_buf *e;
	struct file *f;
	__u32 prot, prev, alert = 0;
	if (!s || s->nr != nr + 1)
		return 0;
	s->nr = 0;
	if (ret != 0)
		return 0;
	prot = s->a2;
	prev = s->prev_prot;
	f = (struct file *)s->file;
	if (cap_mem && (derive & DV_CAP_MEM) && (prev & PROT_W) && (prev & PROT_X) &&
	    (prot & PROT_X) && !(prot & PROT_W))
		cap_mem_region(t, nr, s, f);
	if (derive & DV_MPROTECT) {
		e = get_scratch(SLOT_TASK);
		if (!e)
			return 0;
		fill_hdr(e, t, REC_MPROTECT, EV_SECURITY_FILE_MPROTECT, nr);
		put_file_path_ids(e, f, MPROTECT_PATHNAME, NO_ARG, NO_ARG, MPROTECT_CTIME);
		put_int(e, MPROTECT_PROT, prot);
		put_int(e, MPROTECT_PREV_PROT, prev);
		put_int(e, MPROTECT_ADDR, s->a0);
		put_int(e, MPROTECT_LEN, s->a1);
		put_int(e, MPROTECT_PKEY, nr == NR_PKEY_MPROTECT ? reg_arg(regs, 3) : (__u64)-1);
		submit(e);
	}
	if (derive & DV_MEM_ALERT) {
		if ((prot & PROT_X) && !(prot & PROT_W) && (prev & PROT_W))
			alert = 4; /* from W (or W+X) to X */
		else if ((prot & PROT_X) && !(prev & PROT_X))
			alert = 2; /* made executable */
		else if ((prev & PROT_X) && !(prev & PROT_W) && (prot & PROT_X) && (prot & PROT_W))
			alert = 3; /* from X to W+X */
		if (!alert)
			return 0;
		e = get_scratch(SLOT_TASK);
		if (!e)
			return 0;
		fill_hdr(e, t, REC_MEM_ALERT, EV_MEM_PROT_ALERT, nr);
		put_int(e, MEM_ALERT_ALERT, alert);
		put_int(e, MEM_ALERT_ADDR, s->a0);
		put_int(e, MEM_ALERT_LEN, s->a1);
		put_int(e, MEM_ALERT_PROT, prot);
		put_int(e, MEM_ALERT_PREV_PROT, prev);
		put_file_path_ids(e, f, MEM_ALERT_PATHNAME, MEM_ALERT_DEV, MEM_ALERT_INODE,
				  MEM_ALERT_CTIME);
		submit(e);
	}
	return 0;
}

static __noinline int emit_mmap_alert(struct task_struct *t, long nr, struct pt_regs *regs,
				      long ret)
{
	struct event_buf *e;
	__u64 prot = reg_arg(regs, 2), flags = reg_arg(regs, 3);
	struct file *f = NULL;
	if (ret < 0 && ret > -4096)
		return 0;
	if ((prot & (PROT_W | PROT_X)) != (PROT_W | PROT_X))
		return 0;
	if (!(flags & MAP_ANON_))
		f = fd_file(t, reg_arg(regs, 4));
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_MEM_ALERT, EV_MEM_PROT_ALERT, nr);
	put_int(e, MEM_ALERT_ALERT, 1); /* a W+X mapping */
	put_int(e, MEM_ALERT_ADDR, ret);
	put_int(e, MEM_ALERT_LEN, reg_arg(regs, 1));
	put_int(e, MEM_ALERT_PROT, prot);
	put_int(e, MEM_ALERT_PREV_PROT, 0);
	put_file_path_ids(e, f, MEM_ALERT_PATHNAME, MEM_ALERT_DEV, MEM_ALERT_INODE,
			  MEM_ALERT_CTIME);
	submit(e);
	return 0;
}

static __noinline int emit_mount(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_MOUNT, EV_SECURITY_SB_MOUNT, nr);
	e->hdr.ret = ret;
	put_str(e, MOUNT_DEV_NAME, (const char *)reg_arg(regs, 0), 1);
	put_str(e, MOUNT_PATH, (const char *)reg_arg(regs, 1), 1);
	put_str(e, MOUNT_TYPE, (const char *)reg_arg(regs, 2), 1);
	put_int(e, MOUNT_FLAGS, reg_arg(regs, 3));
	submit(e);
	return 0;
}

static __noinline int emit_syscall(struct task_struct *t, long nr, struct sys_cfg *cfg,
				   struct pt_regs *regs, long ret)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	if (!e || !cfg)
		return 0;
	fill_hdr(e, t, REC_SYSCALL, nr, nr);
	e->hdr.ret = ret;
	put_sys_args(e, cfg, regs);
	submit(e);
	return 0;
}

static __always_inline int sys_exit_work(struct task_struct *t, __u32 nr, struct sys_cfg *cfg,
					 struct pt_regs *regs, long ret);

/* `copy`: a constant, which copy of the program this is, from 0 (context.h, "Spare copies").
 * The checks before the work run unpinned: most calls end there, in every copy. */
static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, int copy)
{
	struct task_struct *t;
	struct sys_cfg *cfg;
	__u64 pid_tgid;
	__u32 nr, flags;

	nr = (__u32)BPF_CORE_READ(regs, orig_ax);
	if (nr >= SYSCALL_SLOTS)
		return 0;
	cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !(cfg->emit | cfg->derive))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	t = current_task();
	flags = in_scope(t, pid_tgid);
	if (!flags || (flags & SCOPE_PENDING_EXEC))
		return 0;
	if (handled_by_earlier_copy(t, MARK_SYS_EXIT, copy))
		return 0;
	return PINNED(sys_exit_work(t, nr, cfg, regs, ret));
}

/* What a syscall's exit emits, on one CPU throughout where the kernel allows (PINNED). */
static __always_inline int sys_exit_work(struct task_struct *t, __u32 nr, struct sys_cfg *cfg,
					 struct pt_regs *regs, long ret)
{
	/* the task's identity changed: recompute its cached context */
	if (nr == NR_UNSHARE || nr == NR_SETNS || nr == NR_PRCTL)
		invalidate_cache(t);
	if (cfg->emit & EMIT_EXIT)
		emit_syscall(t, nr, cfg, regs, ret);
	if (!cfg->derive)
		return 0;
	switch (nr) {
	case NR_OPEN:
	case NR_OPENAT:
	case NR_OPENAT2:
	case NR_CREAT:
		if (cfg->derive & DV_FILE_OPEN)
			emit_file_open(t, nr, regs, ret);
		if (cap_write && (cfg->derive & DV_CAP_WRITE))
			cap_open_trunc(t, nr, regs, ret);
		break;
	case NR_WRITE:
	case NR_PWRITE64:
	case NR_WRITEV:
	case NR_PWRITEV:
	case NR_PWRITEV2:
		if (cfg->derive & DV_MAGIC_WRITE)
			emit_magic_write(t, nr, regs, ret);
		if (cap_write && (cfg->derive & DV_CAP_WRITE))
			cap_write_data(t, nr, regs, ret);
		break;
	case NR_SENDFILE:
	case NR_SPLICE:
	case NR_COPY_FILE_RANGE:
		if (cap_write && (cfg->derive & DV_CAP_WRITE))
			cap_write_copied(t, nr, regs, ret);
		break;
	case NR_FTRUNCATE:
		if (cap_write && (cfg->derive & DV_CAP_WRITE) && ret == 0)
			cap_truncate(t, fd_file(t, reg_arg(regs, 0)), reg_arg(regs, 1));
		break;
	case NR_UNLINK:
	case NR_UNLINKAT:
		if (cfg->derive & DV_UNLINK)
			emit_unlink(t, nr, regs, ret);
		break;
	case NR_CONNECT:
	case NR_BIND:
		if (cfg->derive & (DV_CONNECT | DV_BIND))
			emit_connect_bind(t, nr, regs, ret);
		break;
	case NR_ACCEPT:
	case NR_ACCEPT4:
		if (cfg->derive & DV_ACCEPT)
			emit_accept(t, nr, regs, ret);
		break;
	case NR_MPROTECT:
	case NR_PKEY_MPROTECT:
		emit_mprotect(t, nr, regs, ret, cfg->derive);
		break;
	case NR_MMAP:
		if (cfg->derive & DV_MEM_ALERT)
			emit_mmap_alert(t, nr, regs, ret);
		break;
	case NR_MOUNT:
		if (cfg->derive & DV_MOUNT)
			emit_mount(t, nr, regs, ret);
		break;
	}
	return 0;
}

/* What a syscall's entry emits or keeps for its exit, pinned like sys_exit_work. */
static __always_inline int sys_enter_work(struct task_struct *t, __u32 nr, struct sys_cfg *cfg,
					  struct pt_regs *regs)
{
	if (cfg->emit & EMIT_ENTER)
		emit_syscall(t, nr, cfg, regs, 0);
	if (cap_module && (cfg->derive & DV_CAP_MODULE) &&
	    (nr == NR_INIT_MODULE || nr == NR_FINIT_MODULE))
		cap_module_enter(t, nr, regs);
	if ((cfg->emit & STASH_ENTER) && (nr == NR_MPROTECT || nr == NR_PKEY_MPROTECT))
		stash_mprotect(t, nr, regs);
	if ((cfg->emit & STASH_ENTER) && (nr == NR_EXECVE || nr == NR_EXECVEAT))
		stash_exec_comm(t, nr);
	return 0;
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long id, int copy)
{
	struct task_struct *t;
	struct sys_cfg *cfg;
	__u64 pid_tgid;
	__u32 nr = (__u32)id, flags;

	if (nr >= SYSCALL_SLOTS)
		return 0;
	cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !(cfg->emit & (EMIT_ENTER | STASH_ENTER)))
		return 0;
	t = current_task();
	pid_tgid = bpf_get_current_pid_tgid();
	flags = in_scope(t, pid_tgid);
	if (!flags)
		return 0;
	if (handled_by_earlier_copy(t, MARK_SYS_ENTER, copy))
		return 0;
	if (flags & SCOPE_PENDING_EXEC) {
		/* a command held by `osprey trace -- CMD` becomes visible at its exec */
		__u32 tgid = pid_tgid >> 32, in = SCOPE_IN;
		if (nr != NR_EXECVE && nr != NR_EXECVEAT)
			return 0;
		bpf_map_update_elem(&scope_pids, &tgid, &in, BPF_ANY);
	}
	return PINNED(sys_enter_work(t, nr, cfg, regs));
}

#endif
