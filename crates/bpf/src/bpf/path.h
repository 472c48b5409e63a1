/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* File paths from a struct path: a dentry and mount walk (bpf_d_path is not allowed in the
 * hooks used), driven by bpf_loop, or a bounded loop in the compat object. */
#ifndef OSPREY_PATH_H
#define OSPREY_PATH_H

struct walk_ctx {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 off;
	__u32 done;
};

static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *c = arg;
	__u32 zero = 0;
	struct path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	struct dentry *d = c->dentry, *parent, *mnt_root;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt;
	struct qstr name;
	__u32 len;

	if (!pb || !d)
		return 1;
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (d == mnt_root && mnt != mp) {
			/* cross to the mount this one is mounted on */
			c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			c->mnt = mp;
			c->vfsmnt = __builtin_preserve_access_index(&mp->mnt);
			return 0;
		}
		if (d == mnt_root) {
			c->done = 1;
			return 1;
		}
		/* a pseudo or disconnected dentry (memfd:, anonymous shared memory): its own name is
		 * the whole path */
		c->done = 1;
	}
	name = BPF_CORE_READ(d, d_name);
	len = name.len & 255;
	if (len == 0) {
		c->dentry = parent;
		return c->done ? 1 : 0;
	}
	if (c->off < len + 2) {
		count_drop(DROP_PATH_TRUNC);
		c->done = 2;
		return 1;
	}
	/* masked (a no-op: the check above keeps it in range) so that the verifier keeps no
	 * per-iteration bounds: states of the bounded loop of the compat object then match across
	 * paths and are pruned, instead of growing past the 1M-instruction limit */
	c->off = MASKED(c->off - (len + 1), PATH_HALF - 1);
	pb->buf[MASKED(c->off, (PATH_HALF - 1))] = '/';
	bpf_probe_read_kernel(&pb->buf[MASKED(c->off + 1, (PATH_HALF - 1))], MASKED(len, 255),
			      name.name);
	c->dentry = parent;
	return c->done ? 1 : 0;
}

/* Writes the path of `path` (a struct path *) as argument `idx` of the task-context record
 * (paths are never written from packet programs). A global function, verified once rather than
 * at each of its many call sites; its arguments are scalars, as 5.10 requires of one. */
__noinline int put_path(__u32 idx, __u64 path_ptr)
{
	struct event_buf *e = get_scratch(SLOT_TASK);
	struct path *path = (struct path *)path_ptr;
	__u32 zero = 0;
	struct path_buf *pb;
	struct walk_ctx c = {};
	struct mount *final_mnt;
	__u32 off = e ? e->hdr.args_size : 0;
	__u32 len;

	if (!e || off + 6 >= ARGS_SIZE)
		return 0;
	pb = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!pb || !path) {
		put_len_hdr(e, off, idx, ARG_STR, 0);
		e->hdr.args_size = off + 6;
		return 0;
	}
	c.dentry = BPF_CORE_READ(path, dentry);
	c.vfsmnt = BPF_CORE_READ(path, mnt);
	c.mnt = (struct mount *)((void *)c.vfsmnt - bpf_core_field_offset(struct mount, mnt));
	c.off = PATH_HALF;
	if (!c.dentry || !c.vfsmnt) {
		put_len_hdr(e, off, idx, ARG_STR, 0);
		e->hdr.args_size = off + 6;
		return 0;
	}
	LOOP(MAX_PATH_DEPTH, COMPAT_PATH_DEPTH, walk_step, &c);
	final_mnt = c.mnt;
	if (c.off >= PATH_HALF) {
		c.off = PATH_HALF - 1;
		pb->buf[MASKED(c.off, (PATH_HALF - 1))] = '/';
	} else if (c.off < PATH_HALF - 8) {
		/* memfd files live on an internal mount (mnt_ns NULL or MNT_NS_INTERNAL, an error
		 * pointer): write them as "memfd:NAME", the form Tracee's rules look for */
		__u64 ns = (__u64)BPF_CORE_READ(final_mnt, mnt_ns);
		if ((!ns || ns >= (__u64)-4095) &&
		    pb->buf[MASKED(c.off + 1, PATH_HALF - 1)] == 'm' &&
		    pb->buf[MASKED(c.off + 2, PATH_HALF - 1)] == 'e' &&
		    pb->buf[MASKED(c.off + 3, PATH_HALF - 1)] == 'm' &&
		    pb->buf[MASKED(c.off + 4, PATH_HALF - 1)] == 'f' &&
		    pb->buf[MASKED(c.off + 5, PATH_HALF - 1)] == 'd' &&
		    pb->buf[MASKED(c.off + 6, PATH_HALF - 1)] == ':')
			c.off += 1;
	}
	len = (PATH_HALF - c.off) & (PATH_HALF - 1);
	if (len == 0)
		len = PATH_HALF - 1;
	bpf_probe_read_kernel(&e->args[MASKED(off + 6, ARGS_MASK)], MASKED(len, PATH_HALF - 1),
			      &pb->buf[MASKED(c.off, (PATH_HALF - 1))]);
	put_len_hdr(e, off, idx, ARG_STR, len);
	e->hdr.args_size = off + 6 + len;
	return 0;
}

#endif
