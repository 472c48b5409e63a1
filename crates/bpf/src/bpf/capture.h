/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Artifact capture (--capture): data in chunks on capture_rb, losses accounted by byte range,
 * held tasks for executed binaries and module files. ARCHITECTURE.md, "Capture", has the flow. */
#ifndef OSPREY_CAPTURE_H
#define OSPREY_CAPTURE_H

static __always_inline int cap_paused(void)
{
	__u32 zero = 0;
	__u32 *p = bpf_map_lookup_elem(&cap_ctl, &zero);
	return p && *p;
}

static __always_inline void cap_stat(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&cap_stats, &idx);
	if (c)
		*c += v;
}

/* Submit flags for capture data: no wakeup, unless the ring is filling (at most once a ms). */
static __always_inline __u64 cap_rb_flags(void)
{
	__u32 zero = 0;
	__u64 *last, now;
	if (!cap_wakeup_bytes || bpf_ringbuf_query(&capture_rb, BPF_RB_AVAIL_DATA) < cap_wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	last = bpf_map_lookup_elem(&cap_last_wakeup, &zero);
	now = bpf_ktime_get_boot_ns();
	if (last && now - *last > 1000000) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

/* The capture run of this CPU, cleared for a new run of the current task. */
static __always_inline struct cap_loop *cap_begin(void)
{
	__u32 zero = 0;
	struct cap_loop *l = bpf_map_lookup_elem(&cap_loops, &zero);
	if (l) {
		__builtin_memset(l, 0, sizeof(*l));
		l->runner = bpf_get_current_pid_tgid();
	}
	return l;
}

/* False once another task has taken this CPU's run (compat.h, "CPU pinning"). */
static __always_inline int cap_still_mine(struct cap_loop *l)
{
	return l->runner == bpf_get_current_pid_tgid();
}

static __always_inline struct cap_loop *cap_current(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&cap_loops, &zero);
}

static __always_inline void cap_chunk_hdr(struct cap_chunk *c, struct cap_loop *l)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__builtin_memset(&c->hdr, 0, sizeof(c->hdr));
	c->hdr.ts = bpf_ktime_get_boot_ns();
	c->hdr.pid = pid_tgid >> 32;
	c->hdr.tid = (__u32)pid_tgid;
	c->hdr.uid = (__u32)uid_gid;
	c->hdr.gid = uid_gid >> 32;
	c->hdr.cgroup_id = bpf_get_current_cgroup_id();
	c->hdr.cpu = bpf_get_smp_processor_id();
	c->hdr.kind = REC_CAP_CHUNK;
	c->hdr.syscall = -1;
	bpf_get_current_comm(c->hdr.comm, sizeof(c->hdr.comm));
	c->id[0] = l->id[0];
	c->id[1] = l->id[1];
	c->id[2] = l->id[2];
	c->offset = l->offset;
	c->what = l->what;
	c->flags = l->flags;
	c->lost_why = 0;
	c->fd = 0;
}

/* Reports [off, off + len) of the current run's artifact as lost: a record on the control
 * ring, or, when even that is full, a per-artifact aggregate userspace reads at the end. */
__noinline int cap_report_loss(__u64 off, __u64 len, __u32 why)
{
	struct cap_loop *l = cap_current();
	struct cap_chunk *c;
	struct cap_loss_key k = {};
	struct cap_loss_val *v;
	if (!l || !len)
		return 0;
	cap_stat(CS_LOST_BYTES, len);
	c = bpf_ringbuf_reserve(&cap_ctl_rb, sizeof(*c), 0);
	if (c) {
		__u64 save = l->offset;
		l->offset = off;
		cap_chunk_hdr(c, l);
		l->offset = save;
		c->flags = l->flags | CF_LOST;
		c->len = len > 0xffffffffULL ? 0xffffffff : (__u32)len;
		c->lost_why = why;
		bpf_ringbuf_submit(c, 0);
		return 0;
	}
	cap_stat(CS_LOST_UNSENT, 1);
	k.id[0] = l->id[0];
	k.id[1] = l->id[1];
	k.id[2] = l->id[2];
	k.what = l->what;
	v = bpf_map_lookup_elem(&cap_loss_agg, &k);
	if (!v) {
		struct cap_loss_val init = { .start = off, .end = off + len, .bytes = len };
		bpf_map_update_elem(&cap_loss_agg, &k, &init, BPF_NOEXIST);
		return 0;
	}
	if (off < v->start)
		v->start = off;
	if (off + len > v->end)
		v->end = off + len;
	__sync_fetch_and_add(&v->bytes, len);
	return 0;
}

static __always_inline void cap_flush_loss(struct cap_loop *l)
{
	if (l->lost_len) {
		cap_report_loss(l->lost_off, l->lost_len, l->lost_why);
		l->lost_len = 0;
	}
}

/* Adds [l->offset, l->offset + n) to the pending lost run (one record per contiguous run). */
static __always_inline void cap_lose(struct cap_loop *l, __u64 n, __u32 why)
{
	if (l->lost_len && (l->lost_off + l->lost_len != l->offset || l->lost_why != why))
		cap_flush_loss(l);
	if (!l->lost_len) {
		l->lost_off = l->offset;
		l->lost_why = why;
	}
	l->lost_len += n;
}

#define CAP_CLASS(SZ)                                                                          \
	do {                                                                                   \
		c = bpf_ringbuf_reserve(&capture_rb, sizeof(struct cap_chunk) + (SZ), 0);      \
		if (c)                                                                         \
			err = bpf_probe_read_user((void *)(c + 1), MASKED(n - 1, (SZ) - 1) + 1,   \
						  (const void *)l->uptr);                     \
	} while (0)

/* Emits the next n bytes (1 <= n <= CAP_DATA_MAX) of the current run, at l->uptr. Returns 1
 * when the read failed on a multi-page chunk (the caller retries page by page), else 0 (sent,
 * or counted lost). */
__noinline int cap_emit_user(__u32 n)
{
	struct cap_loop *l = cap_current();
	struct cap_chunk *c = NULL;
	long err = 0;
	if (!l || n == 0 || n > CAP_DATA_MAX)
		return 0;
	if (n <= 256)
		CAP_CLASS(256);
	else if (n <= 2048)
		CAP_CLASS(2048);
	else if (n <= 16384)
		CAP_CLASS(16384);
	else
		CAP_CLASS(CAP_DATA_MAX);
	if (!c) {
		cap_lose(l, n, LOST_RING_FULL);
		return 0;
	}
	if (err) {
		bpf_ringbuf_discard(c, BPF_RB_NO_WAKEUP);
		if (n > 4096 - (l->uptr & 4095) && !l->small)
			return 1;
		cap_lose(l, n, LOST_UNREADABLE);
		return 0;
	}
	cap_flush_loss(l);
	cap_chunk_hdr(c, l);
	c->len = n;
	/* after every read of the run: a chunk built from another task's run is never sent */
	if (!cap_still_mine(l)) {
		bpf_ringbuf_discard(c, BPF_RB_NO_WAKEUP);
		return 0;
	}
	cap_stat(CS_BYTES, n);
	cap_stat(CS_CHUNKS, 1);
	bpf_ringbuf_submit(c, cap_rb_flags());
	return 0;
}

static long cap_step(__u32 i, void *unused)
{
	struct cap_loop *l = cap_current();
	__u64 n;
	if (!l || l->left == 0 || !cap_still_mine(l))
		return 1;
	if (l->left_iov == 0) {
		struct iovec iov = {};
		if (!l->iov || !l->iov_left ||
		    bpf_probe_read_user(&iov, sizeof(iov), (const void *)l->iov)) {
			cap_lose(l, l->left, LOST_UNREADABLE);
			l->left = 0;
			return 1;
		}
		l->iov += sizeof(iov);
		l->iov_left -= 1;
		l->uptr = (__u64)iov.iov_base;
		l->left_iov = iov.iov_len < l->left ? iov.iov_len : l->left;
		return 0;
	}
	n = l->left_iov < CAP_DATA_MAX ? l->left_iov : CAP_DATA_MAX;
	if (l->small) {
		__u64 page_left = 4096 - (l->uptr & 4095);
		if (n > page_left)
			n = page_left;
	}
	if (cap_emit_user(n)) {
		l->small = 1;
		return 0;
	}
	l->uptr += n;
	l->left_iov -= n;
	l->left -= n;
	l->offset += n;
	return 0;
}

/* Sends everything the current run describes, then reports what could not be sent. */
static __noinline int cap_run(struct cap_loop *l)
{
	__u64 loops, id0, id1, id2, start, total;
	__u32 what;
	if (!l)
		return 0;
	/* who this run is for, should another task take the CPU's run meanwhile */
	id0 = l->id[0];
	id1 = l->id[1];
	id2 = l->id[2];
	what = l->what | (__u32)l->flags << 16;
	start = l->offset;
	total = l->left;
	loops = (l->left >> 12) + 2 * l->iov_left + 16;
	if (loops > (1 << 23))
		loops = 1 << 23;
	LOOP(loops, COMPAT_CAP_STEPS, cap_step, NULL);
	if (!cap_still_mine(l)) {
		/* the whole run is reported lost (some of it may have been sent) */
		count_drop(DROP_PREEMPTED);
		l = cap_begin();
		if (!l)
			return 0;
		l->id[0] = id0;
		l->id[1] = id1;
		l->id[2] = id2;
		l->what = what;
		l->flags = what >> 16;
		cap_report_loss(start, total, LOST_PREEMPTED);
		return 0;
	}
	if (l->left) {
		cap_lose(l, l->left, LOST_TOO_BIG);
		l->left = 0;
	}
	cap_flush_loss(l);
	return 0;
}

/* Output of a meta record (an event_buf) to one of the capture rings. */
#define CAP_OUTPUT(rb, e, flags)                                                               \
	(!still_mine(e) || (e)->hdr.args_size >= ARGS_SIZE * 2                                 \
		 ? -1                                                                          \
		 : bpf_ringbuf_output(rb, e,                                                   \
				      sizeof(struct record_hdr) +                              \
					      MASKED((e)->hdr.args_size, ARGS_SIZE * 2 - 1),   \
				      flags))

/* True when the path written as the record's first argument starts with one of the filters. */
static __noinline int cap_filter_match(struct event_buf *e)
{
	__u32 plen = 0;
	if (!e)
		return 1;
	__builtin_memcpy(&plen, &e->args[2], 4);
	for (int i = 0; i < CAP_MAX_FILTERS; i++) {
		__u32 flen;
		int ok = 1;
		if (i >= cap_nfilters)
			break;
		flen = cap_filter_len[i];
		if (flen > CAP_FILTER_LEN || flen > plen)
			continue;
		for (int j = 0; j < CAP_FILTER_LEN; j++) {
			if (j >= flen)
				break;
			if (e->args[6 + j] != cap_filters[i][j]) {
				ok = 0;
				break;
			}
		}
		if (ok)
			return 1;
	}
	return 0;
}

/* First write through an open file: its path and identity, and whether the filters match. */
static __noinline int cap_write_meta(struct task_struct *t, long nr, struct file *f, int stream)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	struct inode *ino;
	int match = 1;
	if (!e || !f)
		return 1;
	ino = BPF_CORE_READ(f, f_inode);
	fill_hdr(e, t, REC_CAP_WRITE, 0, nr);
	e->hdr.flags = stream ? CF_STREAM : 0;
	put_path(0, (__u64)__builtin_preserve_access_index(&f->f_path));
	put_int(e, 1, BPF_CORE_READ(ino, i_sb, s_dev));
	put_int(e, 2, BPF_CORE_READ(ino, i_ino));
	put_int(e, 3, BPF_CORE_READ(ino, i_generation));
	put_int(e, 4, inode_ctime(ino));
	put_int(e, 5, BPF_CORE_READ(ino, i_mode));
	put_int(e, 6, BPF_CORE_READ(ino, i_size));
	if (cap_nfilters)
		match = cap_filter_match(e);
	if (match && CAP_OUTPUT(&capture_rb, e, BPF_RB_NO_WAKEUP))
		cap_stat(CS_LOST_UNSENT, 1);
	return match;
}

/* Whether writes through `f` are captured: the first one sends the file's meta record and
 * decides (path filters), later ones find the decision in cap_files. */
static __always_inline int cap_file_wanted(struct task_struct *t, long nr, struct file *f,
					   int stream)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	__u64 fkey = (__u64)f, ino = (__u64)inode;
	__u32 gen = BPF_CORE_READ(inode, i_generation);
	struct cap_file *cf = bpf_map_lookup_elem(&cap_files, &fkey);
	struct cap_file v = {};
	int match;
	if (cf && cf->inode == ino && cf->generation == gen)
		return cf->match;
	match = cap_write_meta(t, nr, f, stream);
	v.inode = ino;
	v.generation = gen;
	v.match = match;
	bpf_map_update_elem(&cap_files, &fkey, &v, BPF_ANY);
	return match;
}

/* `f` when writes to it are captured (not /dev/null, which keeps nothing; the path filters),
 * and whether it is a stream (offsets count the bytes written). */
static __always_inline struct file *cap_file_target(struct task_struct *t, long nr,
						    struct file *f, int *stream)
{
	struct inode *ino;
	__u32 mode;
	if (!f)
		return NULL;
	ino = BPF_CORE_READ(f, f_inode);
	mode = BPF_CORE_READ(ino, i_mode) & S_IFMT;
	if (mode == S_IFCHR_ && BPF_CORE_READ(ino, i_rdev) == KDEV_NULL)
		return NULL;
	*stream = !(mode == S_IFREG || mode == S_IFBLK_);
	return cap_file_wanted(t, nr, f, *stream) ? f : NULL;
}

/* The same for the file behind `fd`. */
static __always_inline struct file *cap_write_target(struct task_struct *t, long nr, long fd,
						     int *stream)
{
	return cap_file_target(t, nr, fd_file(t, fd), stream);
}

/* A written file's identity in the run: device, inode, generation. */
static __always_inline void cap_file_id(struct cap_loop *l, struct inode *ino)
{
	l->id[0] = BPF_CORE_READ(ino, i_sb, s_dev);
	l->id[1] = BPF_CORE_READ(ino, i_ino);
	l->id[2] = BPF_CORE_READ(ino, i_generation);
}

/* The bytes of a successful write, pwrite64, writev, pwritev or pwritev2, at their offset. */
static __noinline int cap_write_data(struct task_struct *t, long nr, struct pt_regs *regs,
				     long ret)
{
	struct cap_loop *l;
	struct file *f;
	struct inode *ino;
	__u64 pos;
	__u32 fflags;
	__u64 rwf = 0;
	int stream, append, vectored;
	if (ret <= 0 || cap_paused())
		return 0;
	f = cap_write_target(t, nr, reg_arg(regs, 0), &stream);
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	vectored = nr == NR_WRITEV || nr == NR_PWRITEV || nr == NR_PWRITEV2;
	if (nr == NR_PWRITEV2)
		rwf = reg_arg(regs, 5);
	fflags = BPF_CORE_READ(f, f_flags);
	append = ((fflags & O_APPEND_) && !(rwf & RWF_NOAPPEND_)) || (rwf & RWF_APPEND_);
	if (stream) {
		__u64 ikey = (__u64)ino, zero = 0, *p;
		p = bpf_map_lookup_elem(&cap_streams, &ikey);
		if (!p) {
			bpf_map_update_elem(&cap_streams, &ikey, &zero, BPF_NOEXIST);
			p = bpf_map_lookup_elem(&cap_streams, &ikey);
		}
		pos = p ? FETCH_ADD(p, ret) : 0;
	} else if (append) {
		pos = BPF_CORE_READ(ino, i_size) - ret;
	} else if (nr == NR_PWRITE64 || nr == NR_PWRITEV ||
		   (nr == NR_PWRITEV2 && (long)reg_arg(regs, 3) != -1)) {
		pos = reg_arg(regs, 3);
	} else {
		pos = BPF_CORE_READ(f, f_pos) - ret;
	}
	l = cap_begin();
	if (!l)
		return 0;
	cap_file_id(l, ino);
	l->offset = pos;
	l->left = ret;
	l->what = CAP_WRITE;
	l->flags = stream ? CF_STREAM : 0;
	if (vectored) {
		l->iov = reg_arg(regs, 1);
		l->iov_left = reg_arg(regs, 2);
		if (l->iov_left > 1024)
			l->iov_left = 1024;
	} else {
		l->uptr = reg_arg(regs, 1);
		l->left_iov = ret;
	}
	return cap_run(l);
}

/* A run for a write the tracer sees without its bytes (the kernel's copies, io_uring's writes)
 * to `f`, which writes are captured through. A stream keeps nothing to read back: its offset
 * moves on by `len` and the range is reported lost, and there is no run (NULL). */
static __always_inline struct cap_loop *cap_begin_unseen(struct file *f, int stream, __u64 len)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct cap_loop *l = cap_begin();
	if (!l)
		return NULL;
	cap_file_id(l, ino);
	l->what = CAP_WRITE;
	l->flags = stream ? CF_STREAM : 0;
	if (stream) {
		__u64 ikey = (__u64)ino, *p = bpf_map_lookup_elem(&cap_streams, &ikey);
		l->offset = p ? FETCH_ADD(p, len) : 0;
		cap_report_loss(l->offset, len, LOST_KERNEL_COPY);
		return NULL;
	}
	return l;
}

/* Asks userspace to read [l->offset, + len) back from the file (CF_FROM_FILE, with `flags`
 * such as CF_LATER), through the writer's `fd` when there is one. */
static __always_inline void cap_send_read_back(struct cap_loop *l, __u64 len, long fd, __u16 flags)
{
	struct cap_chunk *c = bpf_ringbuf_reserve(&capture_rb, sizeof(*c), 0);
	if (!c) {
		cap_report_loss(l->offset, len, LOST_RING_FULL);
		return;
	}
	cap_chunk_hdr(c, l);
	c->len = len;
	c->flags |= CF_FROM_FILE | flags;
	c->fd = fd;
	cap_stat(CS_CHUNKS, 1);
	bpf_ringbuf_submit(c, cap_rb_flags());
}

/* Bytes the kernel copied into a file from another file or a pipe (sendfile, splice,
 * copy_file_range): they were never in this task's memory, so a chunk without data says which
 * range to read back from the file (CF_FROM_FILE). A pipe or socket as the destination keeps
 * nothing to read back: that range is reported lost. */
static __noinline int cap_write_copied(struct task_struct *t, long nr, struct pt_regs *regs,
				       long ret)
{
	long fd = nr == NR_SENDFILE ? reg_arg(regs, 0) : reg_arg(regs, 2);
	__u64 off_out = nr == NR_SENDFILE ? 0 : reg_arg(regs, 3);
	struct cap_loop *l;
	struct file *f;
	__u64 end = 0;
	int stream;
	if (ret <= 0 || cap_paused())
		return 0;
	f = cap_write_target(t, nr, fd, &stream);
	if (!f)
		return 0;
	l = cap_begin_unseen(f, stream, ret);
	if (!l)
		return 0;
	/* the end of the copy: *off_out when given (the kernel updated it), else the position */
	if (!off_out || bpf_probe_read_user(&end, sizeof(end), (const void *)off_out))
		end = BPF_CORE_READ(f, f_pos);
	l->offset = end - ret;
	cap_send_read_back(l, ret, fd, 0);
	return 0;
}

/* A write io_uring makes (in io_uring_enter or an io-wq worker), which no syscall exit shows,
 * seen at rw_verify_area just before it happens: its file, position (`ppos`, NULL for
 * streams) and length, not its buffer. The range is read back from the file, as for the
 * kernel's own copies (CF_FROM_FILE, by path: io_uring's request holds no fd); a stream keeps
 * nothing to read back, so that range is reported lost. */
static __noinline int cap_uring_write(struct task_struct *t, long nr, struct file *f, __u64 ppos,
				      __u64 count)
{
	struct cap_loop *l;
	__u64 pos = 0;
	int stream;
	if (!count || cap_paused())
		return 0;
	f = cap_file_target(t, nr, f, &stream);
	if (!f)
		return 0;
	l = cap_begin_unseen(f, stream, count);
	if (!l)
		return 0;
	/* an appending write lands at the end, whatever the position says */
	if (BPF_CORE_READ(f, f_flags) & O_APPEND_)
		pos = BPF_CORE_READ(f, f_inode, i_size);
	else if (!ppos || bpf_probe_read_kernel(&pos, sizeof(pos), (const void *)ppos))
		pos = BPF_CORE_READ(f, f_pos);
	l->offset = pos;
	cap_send_read_back(l, count, -1, CF_LATER);
	return 0;
}

/* A regular file truncated (O_TRUNC open, ftruncate): its capture must shrink too. */
static __noinline int cap_truncate(struct task_struct *t, struct file *f, __u64 size)
{
	struct cap_loop *l;
	struct cap_chunk *c;
	struct inode *ino;
	if (!f || cap_paused())
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFREG)
		return 0;
	c = bpf_ringbuf_reserve(&capture_rb, sizeof(*c), 0);
	if (!c) {
		cap_stat(CS_LOST_UNSENT, 1);
		return 0;
	}
	l = cap_begin();
	if (!l) {
		bpf_ringbuf_discard(c, BPF_RB_NO_WAKEUP);
		return 0;
	}
	cap_file_id(l, ino);
	l->offset = size;
	l->what = CAP_TRUNC;
	cap_chunk_hdr(c, l);
	c->len = 0;
	bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
	return 0;
}

static __noinline int cap_open_trunc(struct task_struct *t, long nr, struct pt_regs *regs,
				     long ret)
{
	__u64 flags = 0;
	if (ret < 0)
		return 0;
	if (nr == NR_OPENAT)
		flags = reg_arg(regs, 2);
	else if (nr == NR_OPEN)
		flags = reg_arg(regs, 1);
	else if (nr == NR_CREAT)
		flags = O_TRUNC_;
	else if (nr == NR_OPENAT2)
		bpf_probe_read_user(&flags, sizeof(flags), (const void *)reg_arg(regs, 2));
	if (!(flags & O_TRUNC_))
		return 0;
	return cap_truncate(t, fd_file(t, ret), 0);
}

/* mprotect from W+X to X: the region's bytes at that moment. */
static __noinline int cap_mem_region(struct task_struct *t, long nr, struct task_stash *s,
				     struct file *f)
{
	struct cap_loop *l;
	struct event_buf *e;
	__u64 addr, len;
	__u32 prot, prev;
	if (!s || cap_paused())
		return 0;
	addr = s->a0;
	len = s->a1;
	prot = s->a2;
	prev = s->prev_prot;
	if (!len)
		return 0;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	fill_hdr(e, t, REC_CAP_MEM, EV_MEM_PROT_ALERT, nr);
	put_int(e, 0, addr);
	put_int(e, 1, len);
	put_int(e, 2, prot);
	put_int(e, 3, prev);
	if (f) {
		put_path(4, (__u64)__builtin_preserve_access_index(&f->f_path));
		put_file_ids(e, f, 5, 6, 7);
	}
	l = cap_begin();
	if (!l)
		return 0;
	l->id[0] = e->hdr.pid;
	l->id[1] = e->hdr.ts;
	l->id[2] = addr;
	if (CAP_OUTPUT(&capture_rb, e, BPF_RB_NO_WAKEUP))
		cap_stat(CS_LOST_UNSENT, 1);
	l->what = CAP_MEM;
	l->uptr = addr;
	l->left = len < CAP_REGION_MAX ? len : CAP_REGION_MAX;
	l->left_iov = l->left;
	cap_run(l);
	if (len > CAP_REGION_MAX) {
		l->offset = CAP_REGION_MAX;
		cap_report_loss(CAP_REGION_MAX, len - CAP_REGION_MAX, LOST_TOO_BIG);
	}
	return 0;
}

/* init_module: the image from the caller's buffer. finit_module: the file behind the fd; the
 * task is stopped on its way back to user space so userspace can read the file through
 * /proc/<pid>/fd/<fd> before the fd goes away. Both at sys_enter: on a kernel without module
 * support the call fails, but the image is still captured. */
static __noinline int cap_module_enter(struct task_struct *t, long nr, struct pt_regs *regs)
{
	struct cap_loop *l;
	struct event_buf *e;
	if (cap_paused())
		return 0;
	e = get_scratch(SLOT_TASK);
	if (!e)
		return 0;
	if (nr == NR_INIT_MODULE) {
		__u64 len = reg_arg(regs, 1);
		fill_hdr(e, t, REC_CAP_MODULE, NR_INIT_MODULE, nr);
		put_int(e, 0, len);
		put_str(e, 1, (const void *)reg_arg(regs, 2), 1);
		put_int(e, 2, reg_arg(regs, 0));
		l = cap_begin();
		if (!l)
			return 0;
		l->id[0] = e->hdr.pid;
		l->id[1] = e->hdr.ts;
		if (CAP_OUTPUT(&capture_rb, e, BPF_RB_NO_WAKEUP))
			cap_stat(CS_LOST_UNSENT, 1);
		l->what = CAP_MODULE;
		l->uptr = reg_arg(regs, 0);
		l->left = len < CAP_REGION_MAX ? len : CAP_REGION_MAX;
		l->left_iov = l->left;
		cap_run(l);
		if (len > CAP_REGION_MAX)
			cap_report_loss(CAP_REGION_MAX, len - CAP_REGION_MAX, LOST_TOO_BIG);
		return 0;
	}
	{
		long fd = (int)reg_arg(regs, 0);
		struct file *f = fd_file(t, fd);
		fill_hdr(e, t, REC_CAP_FMODULE, NR_FINIT_MODULE, nr);
		e->hdr.flags = CF_HOLD;
		put_int(e, 0, fd);
		if (f) {
			put_path(1, (__u64)__builtin_preserve_access_index(&f->f_path));
			put_file_ids(e, f, 2, 3, 4);
			put_int(e, 5, BPF_CORE_READ(f, f_inode, i_size));
		}
		put_str(e, 6, (const void *)reg_arg(regs, 1), 1);
		put_int(e, 7, reg_arg(regs, 2));
		/* stop first, then tell userspace: its SIGCONT must come after the stop, or the
		 * stop would land after it and hold the task for good */
		bpf_send_signal(SIGSTOP_);
		if (CAP_OUTPUT(&cap_ctl_rb, e, BPF_RB_FORCE_WAKEUP)) {
			bpf_send_signal(SIGCONT_); /* cancels the pending stop */
			cap_stat(CS_LOST_UNSENT, 1);
			return 0;
		}
		cap_stat(CS_HOLDS, 1);
	}
	return 0;
}

/*
 * An executed binary. The first exec of each binary (device, inode, ctime) stops the task
 * (SIGSTOP, delivered before its first user instruction) and tells userspace, which opens
 * /proc/<pid>/exe — which works for deleted files and memfds too — and lets it go on. Later
 * execs of the same binary only count (the runtime profile).
 */
static __noinline int cap_exec_binary(struct task_struct *t, struct file *f,
				      struct linux_binprm *bprm, long nr)
{
	struct exec_key k = {};
	struct event_buf *e;
	struct inode *ino;
	__u32 one = 1;
	int hold = 0;
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	k.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	k.ino = BPF_CORE_READ(ino, i_ino);
	k.ctime = inode_ctime(ino);
	if (!bpf_map_lookup_elem(&exec_done, &k) && !cap_paused())
		hold = bpf_map_update_elem(&exec_done, &k, &one, BPF_NOEXIST) == 0;
	e = get_scratch(SLOT_TASK);
	if (!e) {
		if (hold)
			bpf_map_delete_elem(&exec_done, &k);
		return 0;
	}
	fill_hdr(e, t, REC_CAP_EXEC, EV_SCHED_PROCESS_EXEC, nr);
	e->hdr.flags = hold ? CF_HOLD : 0;
	put_path(0, (__u64)__builtin_preserve_access_index(&f->f_path));
	put_int(e, 1, k.dev);
	put_int(e, 2, k.ino);
	put_int(e, 3, k.ctime);
	put_int(e, 4, BPF_CORE_READ(ino, i_size));
	put_int(e, 5, BPF_CORE_READ(ino, __i_nlink));
	put_str(e, 6, BPF_CORE_READ(bprm, filename), 0);
	/* stop first, then tell userspace: its SIGCONT must come after the stop, or the stop
	 * would land after it and hold the task for good */
	if (hold)
		bpf_send_signal(SIGSTOP_);
	if (CAP_OUTPUT(&cap_ctl_rb, e, hold ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP)) {
		/* no stop without a record saying so (SIGCONT cancels the pending one); a later
		 * exec tries again */
		if (hold) {
			bpf_send_signal(SIGCONT_);
			bpf_map_delete_elem(&exec_done, &k);
		}
		cap_stat(CS_LOST_UNSENT, 1);
		return 0;
	}
	if (hold)
		cap_stat(CS_HOLDS, 1);
	return 0;
}

#endif
