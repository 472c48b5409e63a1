/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Argument writers: each appends one indexed argument to a record (offsets masked so the
 * verifier can bound every access), and the file and socket facts arguments are made of. */
#ifndef OSPREY_ARGS_H
#define OSPREY_ARGS_H

static __always_inline int arg_room(struct event_buf *e, __u32 need)
{
	return e->hdr.args_size + need <= ARGS_SIZE;
}

static __always_inline void put_int(struct event_buf *e, __u8 idx, __u64 v)
{
	__u32 off = e->hdr.args_size;
	if (!arg_room(e, 10))
		return;
	e->args[MASKED(off, ARGS_MASK)] = idx;
	e->args[MASKED(off + 1, ARGS_MASK)] = ARG_INT;
	__builtin_memcpy(&e->args[MASKED(off + 2, ARGS_MASK)], &v, 8);
	e->hdr.args_size = off + 10;
}

static __always_inline void put_len_hdr(struct event_buf *e, __u32 off, __u8 idx, __u8 kind,
					__u32 len)
{
	e->args[MASKED(off, ARGS_MASK)] = idx;
	e->args[MASKED(off + 1, ARGS_MASK)] = kind;
	__builtin_memcpy(&e->args[MASKED(off + 2, ARGS_MASK)], &len, 4);
}

/* A NUL-terminated string from user (user=1) or kernel memory. */
static __noinline int put_str(struct event_buf *e, __u8 idx, const void *ptr, int user)
{
	__u32 off = e ? e->hdr.args_size : 0;
	long n;
	if (!e || off + 6 >= ARGS_SIZE)
		return 0;
	if (!ptr) {
		n = 0;
	} else if (user) {
		n = bpf_probe_read_user_str(&e->args[MASKED(off + 6, ARGS_MASK)], MAX_STR, ptr);
	} else {
		n = bpf_probe_read_kernel_str(&e->args[MASKED(off + 6, ARGS_MASK)], MAX_STR, ptr);
	}
	if (n < 0) {
		count_drop(DROP_STR_FAULT);
		n = 0;
	} else if (n > 0) {
		n -= 1; /* drop the NUL */
	}
	n &= MAX_STR_MASK;
	put_len_hdr(e, off, idx, ARG_STR, n);
	e->hdr.args_size = off + 6 + n;
	return 0;
}

/* Or'ed into put_bytes' kind: the bytes are in user memory. */
#define FROM_USER 0x80

/* `len` bytes of kernel memory, or of user memory when `kind` has FROM_USER. (Five arguments at
 * most: BPF functions take no more, and 7.x kernels reject a sixth.) */
static __noinline int put_bytes(struct event_buf *e, __u8 idx, __u8 kind, const void *ptr,
				__u32 len)
{
	__u32 off = e ? e->hdr.args_size : 0;
	int user = kind & FROM_USER;
	long err;
	if (!e || off + 6 >= ARGS_SIZE)
		return 0;
	kind &= ~FROM_USER;
	if (len > MAX_STR)
		len = MAX_STR;
	if (!ptr || !len) {
		len = 0;
		err = 0;
	} else if (user) {
		err = bpf_probe_read_user(&e->args[MASKED(off + 6, ARGS_MASK)],
					  MASKED(len, MAX_STR * 2 - 1), ptr);
	} else {
		err = bpf_probe_read_kernel(&e->args[MASKED(off + 6, ARGS_MASK)],
					    MASKED(len, MAX_STR * 2 - 1), ptr);
	}
	if (err) {
		count_drop(DROP_STR_FAULT);
		len = 0;
	}
	put_len_hdr(e, off, idx, kind, len);
	e->hdr.args_size = off + 6 + len;
	return 0;
}

/* A user NULL-terminated array of strings (argv, envp) as NUL-separated strings. */
static __noinline int put_strarr(struct event_buf *e, __u8 idx, const char *const *arr)
{
	__u32 start = e ? e->hdr.args_size : 0;
	__u32 off, total = 0;
	if (!e || start + 6 >= ARGS_SIZE)
		return 0;
	off = start + 6;
	for (int i = 0; i < MAX_STRLIST_ELEMS; i++) {
		const char *p = NULL;
		long n;
		if (!arr || bpf_probe_read_user(&p, sizeof(p), &arr[i]) || !p)
			break;
		if (total >= MAX_STR - 256)
			break;
		n = bpf_probe_read_user_str(&e->args[MASKED(off + total, (ARGS_SIZE * 2 - 1))], 256, p);
		if (n <= 0)
			break;
		total += n;
	}
	total &= (MAX_STR - 1);
	put_len_hdr(e, start, idx, ARG_STRLIST, total);
	e->hdr.args_size = start + 6 + total;
	return 0;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct file **fds;
	struct file *f = NULL;
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xfffff]);
	return f;
}

/* The inode's ctime has had three layouts: i_ctime (before 6.6), __i_ctime (6.6 to 6.10),
 * i_ctime_sec and i_ctime_nsec (6.11 on). */
struct inode___ctime_ts {
	struct timespec64 i_ctime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_ctime(struct inode *ino)
{
	struct inode___ctime_ts *old = (void *)ino;
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		__u64 s = BPF_CORE_READ(ino, i_ctime_sec);
		/* bit 31 is I_CTIME_QUERIED on multigrain-timestamp kernels, not time */
		__u64 ns = BPF_CORE_READ(ino, i_ctime_nsec) & 0x3fffffff;
		return s * 1000000000ULL + ns;
	}
	if (bpf_core_field_exists(old->__i_ctime))
		return BPF_CORE_READ(old, __i_ctime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(old, __i_ctime.tv_nsec);
	if (bpf_core_field_exists(old->i_ctime))
		return BPF_CORE_READ(old, i_ctime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(old, i_ctime.tv_nsec);
	return 0;
}

/* dev, inode and ctime of a file as arguments idx_dev, idx_ino, idx_ctime (NO_ARG: left out). */
static __always_inline void put_file_ids(struct event_buf *e, struct file *f, __u8 idx_dev,
					 __u8 idx_ino, __u8 idx_ctime)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if (idx_dev != NO_ARG)
		put_int(e, idx_dev, BPF_CORE_READ(ino, i_sb, s_dev));
	if (idx_ino != NO_ARG)
		put_int(e, idx_ino, BPF_CORE_READ(ino, i_ino));
	if (idx_ctime != NO_ARG)
		put_int(e, idx_ctime, inode_ctime(ino));
}

/* The local address of a socket, built from its struct sock, as a raw sockaddr. */
static __noinline int put_sock_local(struct event_buf *e, __u8 idx, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u32 off = e ? e->hdr.args_size : 0, len = 0;
	__u8 *sa;
	if (!e || off + 6 >= ARGS_SIZE)
		return 0;
	sa = &e->args[MASKED(off + 6, ARGS_MASK)];
	__builtin_memset(sa, 0, 32);
	__builtin_memcpy(sa, &family, 2);
	if (family == 2) { /* AF_INET: sockaddr_in */
		__u32 addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		sa[2] = port >> 8;
		sa[3] = port & 0xff;
		__builtin_memcpy(&sa[4], &addr, 4);
		len = 16;
	} else if (family == 10) { /* AF_INET6: sockaddr_in6 */
		sa[2] = port >> 8;
		sa[3] = port & 0xff;
		bpf_core_read(&sa[8], 16, &sk->__sk_common.skc_v6_rcv_saddr);
		len = 28;
	} else if (family == 1) { /* AF_UNIX: the bound sockaddr_un, family included */
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_address *ua = BPF_CORE_READ(us, addr);
		int alen = ua ? BPF_CORE_READ(ua, len) : 0;
		if (alen > 110)
			alen = 110;
		if (alen > 0)
			bpf_probe_read_kernel(sa, alen & 127,
					      __builtin_preserve_access_index(&ua->name));
		len = alen > 2 ? alen : 2;
	}
	put_len_hdr(e, off, idx, ARG_SOCKADDR, len);
	e->hdr.args_size = off + 6 + (len & 127);
	return 0;
}

#endif
