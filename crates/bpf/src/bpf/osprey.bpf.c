// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Osprey's kernel side: every event the tracer reports starts here.
 *
 * Hooks (the loader probes which load and picks per event):
 *   tp_btf/sys_enter, tp_btf/sys_exit          syscall events and the security_* events derived
 *   raw_tracepoint/sys_enter, sys_exit         from them; fallback when tp_btf is refused
 *   tp_btf/sched_process_{exec,fork,exit}      process lifecycle
 *   tp_btf/task_rename                         prev_comm of sched_process_exec
 *   tp_btf/ext4_unlink_enter                   inode of security_inode_unlink (ext4 only)
 *   cgroup_skb/{ingress,egress}                packets for net_packet_* (cgroup v2 root)
 *   cgroup/{sock_create,connect4,connect6,sendmsg4,sendmsg6}  socket cookie -> owning process
 *
 * Records go to one ring buffer, submitted without a wakeup; userspace drains it on a short
 * timer, and a forced wakeup is sent only when the buffer fills past a threshold (performance.md).
 * Scope knobs are const volatile so the verifier prunes what a run does not use.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "osprey.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- knobs, set by the loader before load ---- */
const volatile __u32 self_tgid = 0;
const volatile __u8 scope_pid_mode = 0; /* 0 everyone, 1 only scope_pids, 2 all but scope_pids */
const volatile __u8 scope_follow = 0;   /* descendants of scope_pids join it */
const volatile __u8 scope_new = 0;      /* only processes started after new_after */
const volatile __u64 new_after = 0;
const volatile __u8 scope_uid_mode = 0; /* 0 any, 1 uid in scope_uids, 2 uid not in scope_uids */
const volatile __u32 scope_uids[MAX_SCOPE_UIDS] = {};
const volatile __u32 scope_nuids = 0;
const volatile __u8 en_exec = 0, en_fork = 0, en_exit = 0, en_packets = 0;
const volatile __u32 exec_env = 1;        /* capture env of sched_process_exec */
const volatile __u32 snaplen = 1024;      /* packet bytes kept */
const volatile __u64 wakeup_bytes = 0;    /* force a wakeup when this much data is pending */
const volatile __u32 magic_len = 32;      /* bytes of magic_write */

/* ---- artifact capture knobs (--capture), see osprey.h ---- */
const volatile __u8 cap_write = 0;   /* bytes of the write family */
const volatile __u8 cap_exec = 0;    /* executed binaries (exec and profile) */
const volatile __u8 cap_mem = 0;     /* W+X -> X regions */
const volatile __u8 cap_module = 0;  /* init_module / finit_module images */
const volatile __u8 cap_net = 0;     /* packets through cap_ifindex */
const volatile __u32 cap_ifindex = 0;
const volatile __u64 cap_netns = 0;  /* netns cookie of cap_ifindex (0: any) */
const volatile __u32 cap_snap = 65535;
const volatile __u32 cap_nfilters = 0;
const volatile char cap_filters[CAP_MAX_FILTERS][CAP_FILTER_LEN] = {};
const volatile __u32 cap_filter_len[CAP_MAX_FILTERS] = {};
const volatile __u64 cap_wakeup_bytes = 0;

/* ---- maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* the loader sets the real size */
} events SEC(".maps");

struct event_buf {
	struct record_hdr hdr;
	__u8 args[ARGS_SIZE * 2 + 512];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event_buf);
} scratch SEC(".maps");

struct path_buf {
	char buf[PATH_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} path_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, struct sys_cfg);
} sys_cfgs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} scope_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_cache);
} task_caches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_stash);
} task_stashes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_CAUSES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EVENT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lost_by_event SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wakeup SEC(".maps");

/* Who owns a socket: the task that created it or last connected or sent on it, with its whole
 * context (namespaced IDs, start times, namespaces, host name), taken while that task runs. A
 * packet can leave after its sender has exited, and /proc has nothing to say about it then. */
struct sock_key_owner {
	__u64 pid_tgid;
	__u64 uid_gid;
	__u64 cgroup_id;
	__u64 netns; /* network namespace cookie of the socket */
	char comm[TASK_COMM_LEN];
	struct task_cache task; /* valid == 0 when the task could not be read */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_key_owner);
} sock_owners SEC(".maps");

/* ---- artifact capture maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* the loader sets the real size */
} capture_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} cap_ctl_rb SEC(".maps");

/* [0]: nonzero once userspace paused capture (size budget reached). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cap_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} cap_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cap_last_wakeup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cap_loss_key);
	__type(value, struct cap_loss_val);
} cap_loss_agg SEC(".maps");

/* Binaries already held once for a copy: later execs run without a stop. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct exec_key);
	__type(value, __u32);
} exec_done SEC(".maps");

/* Per open file (struct file *): its inode when first seen, and whether the filters match. */
struct cap_file {
	__u64 inode;
	__u32 match;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cap_file);
} cap_files SEC(".maps");

/* Per stream inode (pipe, socket, character device): bytes written so far. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} cap_streams SEC(".maps");

/* The owner of a listening socket, kept in its socket storage: BPF_F_CLONE copies it to every
 * connection the listener accepts, so a traced server's accepted sockets (whose cookies no
 * hook of ours saw created) are attributed to it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sock_key_owner);
} sk_owners SEC(".maps");

/* Keep the wire types in BTF so the skeleton exposes them to Rust. */
struct record_hdr _rec_hdr = {};
struct sys_cfg _sys_cfg = {};
struct sock_key_owner _sock_owner = {};
struct cap_chunk _cap_chunk = {};
struct cap_loss_key _cap_loss_key = {};
struct cap_loss_val _cap_loss_val = {};
struct exec_key _exec_key = {};

/* ---- helpers ---- */

/* Masks an index in a way the compiler cannot drop, so the verifier sees the bound. */
#define MASKED(x, mask) ({ __u64 __p = (x); asm volatile("" : "+r"(__p)); __p & (mask); })

static __always_inline void count_drop(__u32 cause)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &cause);
	if (v)
		*v += 1;
}

static __always_inline struct event_buf *get_scratch(void)
{
	__u32 zero = 0;
	struct event_buf *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		count_drop(DROP_NO_SCRATCH);
	return e;
}

static __always_inline void submit(struct event_buf *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP, size;
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

/* Identity fields of a task that change only on exec, unshare, setns. */
static __always_inline void compute_cache(struct task_cache *c, struct task_struct *t)
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

/* Fills the context of a record for the current task. */
static __always_inline void fill_hdr(struct record_hdr *h, struct task_struct *t, __u16 kind,
				     __u32 event_id, __s32 nr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_cache *c = bpf_task_storage_get(&task_caches, t, 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);

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
	if (c) {
		if (!c->valid)
			compute_cache(c, t);
		else if (c->parent != (__u64)BPF_CORE_READ(t, real_parent)) {
			c->parent = (__u64)BPF_CORE_READ(t, real_parent);
			fill_parent(t, pid_level(BPF_CORE_READ(t, thread_pid)), &c->ppid,
				    &c->ns_ppid);
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
	} else {
		struct task_cache tmp = {};
		compute_cache(&tmp, t);
		h->start_time = tmp.start_time;
		h->leader_start_time = tmp.leader_start_time;
		h->ppid = tmp.ppid;
		h->ns_pid = tmp.ns_pid;
		h->ns_tid = tmp.ns_tid;
		h->ns_ppid = tmp.ns_ppid;
		h->mnt_ns = tmp.mnt_ns;
		h->pid_ns = tmp.pid_ns;
		__builtin_memcpy(h->uts_name, tmp.uts_name, sizeof(h->uts_name));
	}
}

static __always_inline void invalidate_cache(struct task_struct *t)
{
	struct task_cache *c = bpf_task_storage_get(&task_caches, t, 0, 0);
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

/* ---- argument writers (offsets masked so the verifier can bound every access) ---- */

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
	__u32 off = e->hdr.args_size;
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

/* `len` bytes of user (user=1) or kernel memory. */
static __noinline int put_bytes(struct event_buf *e, __u8 idx, __u8 kind, const void *ptr,
				__u32 len, int user)
{
	__u32 off = e->hdr.args_size;
	long err;
	if (!e || off + 6 >= ARGS_SIZE)
		return 0;
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
	__u32 start = e->hdr.args_size;
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

/* ---- path resolution: a dentry/mount walk driven by bpf_loop ---- */

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
	c->off -= len + 1;
	pb->buf[MASKED(c->off, (PATH_HALF - 1))] = '/';
	bpf_probe_read_kernel(&pb->buf[MASKED(c->off + 1, (PATH_HALF - 1))], MASKED(len, 255),
			      name.name);
	c->dentry = parent;
	return c->done ? 1 : 0;
}

/* Writes the path of `path` (a struct path *) as argument `idx`. */
static __noinline int put_path(struct event_buf *e, __u8 idx, struct path *path)
{
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
	bpf_loop(MAX_PATH_DEPTH, walk_step, &c, 0);
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

static __always_inline __u64 inode_ctime(struct inode *ino)
{
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		__u64 s = BPF_CORE_READ(ino, i_ctime_sec);
		/* bit 31 is I_CTIME_QUERIED on multigrain-timestamp kernels, not time */
		__u64 ns = BPF_CORE_READ(ino, i_ctime_nsec) & 0x3fffffff;
		return s * 1000000000ULL + ns;
	}
	return 0;
}

/* dev, inode, ctime and mode of a file, as arguments idx, idx+1, idx+2 (mode at idx+3 if asked). */
static __always_inline void put_file_ids(struct event_buf *e, struct file *f, __u8 idx_dev,
					 __u8 idx_ino, __u8 idx_ctime)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	put_int(e, idx_dev, BPF_CORE_READ(ino, i_sb, s_dev));
	put_int(e, idx_ino, BPF_CORE_READ(ino, i_ino));
	if (idx_ctime != 0xff)
		put_int(e, idx_ctime, inode_ctime(ino));
}

/* ---- syscall arguments ---- */

static __always_inline __u64 reg_arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return BPF_CORE_READ(regs, di);
	case 1: return BPF_CORE_READ(regs, si);
	case 2: return BPF_CORE_READ(regs, dx);
	case 3: return BPF_CORE_READ(regs, r10);
	case 4: return BPF_CORE_READ(regs, r8);
	default: return BPF_CORE_READ(regs, r9);
	}
}

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
		put_bytes(e, idx, ARG_SOCKADDR, (const void *)v, len, 1);
		break;
	case SK_SOCKADDR_LP:
		len = 0;
		if (next)
			bpf_probe_read_user(&len, sizeof(len), (void *)next);
		if (len > 128)
			len = 128;
		put_bytes(e, idx, ARG_SOCKADDR, (const void *)v, len, 1);
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

/* ---- derived (security_*) events at sys_exit ---- */

#define NR_READ 0
#define NR_WRITE 1
#define NR_OPEN 2
#define NR_PWRITE64 18
#define NR_WRITEV 20
#define NR_MMAP 9
#define NR_MPROTECT 10
#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_BIND 49
#define NR_CREAT 85
#define NR_UNLINK 87
#define NR_PWRITEV 296
#define NR_PWRITEV2 328
#define NR_OPENAT 257
#define NR_UNLINKAT 263
#define NR_ACCEPT4 288
#define NR_MOUNT 165
#define NR_UNSHARE 272
#define NR_SETNS 308
#define NR_PRCTL 157
#define NR_PKEY_MPROTECT 329
#define NR_OPENAT2 437
#define NR_EXECVE 59
#define NR_EXECVEAT 322

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define O_APPEND_ 02000
#define MAP_ANON_ 0x20
#define PROT_W 2
#define PROT_X 4
#define VM_READ_ 1
#define VM_WRITE_ 2
#define VM_EXEC_ 4

#define NR_FTRUNCATE 77
#define NR_INIT_MODULE 175
#define NR_FINIT_MODULE 313
#define O_TRUNC_ 01000
#define RWF_APPEND_ 0x10
#define RWF_NOAPPEND_ 0x20
#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define SIGSTOP_ 19
#define KDEV_NULL ((1 << 20) | 3) /* /dev/null in the kernel's dev_t encoding */

/* ---- artifact capture (--capture): data in chunks, losses accounted by byte range ---- */

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

/* One run of chunks: a user memory range, or a list of iovecs. */
struct cap_loop {
	__u64 id[3];
	__u64 offset;   /* artifact offset of the next byte */
	__u64 uptr;     /* user address of the next byte */
	__u64 left_iov; /* bytes left at uptr */
	__u64 left;     /* bytes left in total */
	__u64 iov;      /* user address of the next iovec (0: not vectored) */
	__u64 iov_left; /* iovecs left */
	__u64 lost_off; /* a pending run of lost bytes, reported as one record */
	__u64 lost_len;
	__u32 lost_why;
	__u16 what;
	__u16 flags;
	__u32 small; /* a read failed: go page by page so that only unreadable pages are lost */
	__u32 _pad;
};

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
	c->_pad = 0;
}

/* Reports [off, off + len) of the loop's artifact as lost: a record on the control ring, or,
 * when even that is full, a per-artifact aggregate userspace reads at the end. */
__noinline int cap_report_loss(struct cap_loop *l, __u64 off, __u64 len, __u32 why)
{
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
		cap_report_loss(l, l->lost_off, l->lost_len, l->lost_why);
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

/* Emits the next n bytes (1 <= n <= CAP_DATA_MAX) at l->uptr. Returns 1 when the read failed
 * on a multi-page chunk (the caller retries page by page), else 0 (sent, or counted lost). */
__noinline int cap_emit_user(struct cap_loop *l, __u32 n)
{
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
	cap_stat(CS_BYTES, n);
	cap_stat(CS_CHUNKS, 1);
	bpf_ringbuf_submit(c, cap_rb_flags());
	return 0;
}

static long cap_step(__u32 i, void *arg)
{
	struct cap_loop *l = arg;
	__u64 n;
	if (l->left == 0)
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
	if (cap_emit_user(l, n)) {
		l->small = 1;
		return 0;
	}
	l->uptr += n;
	l->left_iov -= n;
	l->left -= n;
	l->offset += n;
	return 0;
}

/* Sends everything the loop describes, then reports what could not be sent. */
static __noinline int cap_run(struct cap_loop *l)
{
	__u64 loops;
	if (!l)
		return 0;
	loops = (l->left >> 12) + 2 * l->iov_left + 16;
	if (loops > (1 << 23))
		loops = 1 << 23;
	bpf_loop(loops, cap_step, l, 0);
	if (l->left) {
		cap_lose(l, l->left, LOST_TOO_BIG);
		l->left = 0;
	}
	cap_flush_loss(l);
	return 0;
}

/* Output of a meta record (an event_buf) to one of the capture rings. */
#define CAP_OUTPUT(rb, e, flags)                                                               \
	((e)->hdr.args_size >= ARGS_SIZE * 2                                                   \
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
	struct event_buf *e = get_scratch();
	struct inode *ino;
	int match = 1;
	if (!e || !f)
		return 1;
	ino = BPF_CORE_READ(f, f_inode);
	fill_hdr(&e->hdr, t, REC_CAP_WRITE, 0, nr);
	e->hdr.flags = stream ? CF_STREAM : 0;
	put_path(e, 0, __builtin_preserve_access_index(&f->f_path));
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

/* The bytes of a successful write, pwrite64, writev, pwritev or pwritev2, at their offset. */
static __noinline int cap_write_data(struct task_struct *t, long nr, struct pt_regs *regs,
				     long ret)
{
	struct cap_loop l = {};
	struct cap_file *cf;
	struct file *f;
	struct inode *ino;
	__u64 fkey, pos;
	__u32 mode, fflags;
	__u64 rwf = 0;
	int stream, append, vectored;
	if (ret <= 0 || cap_paused())
		return 0;
	f = fd_file(t, reg_arg(regs, 0));
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	mode = BPF_CORE_READ(ino, i_mode) & S_IFMT;
	/* /dev/null keeps nothing: neither do we */
	if (mode == S_IFCHR_ && BPF_CORE_READ(ino, i_rdev) == KDEV_NULL)
		return 0;
	stream = !(mode == S_IFREG || mode == S_IFBLK_);
	fkey = (__u64)f;
	cf = bpf_map_lookup_elem(&cap_files, &fkey);
	if (!cf || cf->inode != (__u64)ino) {
		struct cap_file v = {};
		v.inode = (__u64)ino;
		v.match = cap_write_meta(t, nr, f, stream);
		bpf_map_update_elem(&cap_files, &fkey, &v, BPF_ANY);
		if (!v.match)
			return 0;
	} else if (!cf->match) {
		return 0;
	}
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
		pos = p ? __sync_fetch_and_add(p, ret) : 0;
	} else if (append) {
		pos = BPF_CORE_READ(ino, i_size) - ret;
	} else if (nr == NR_PWRITE64 || nr == NR_PWRITEV ||
		   (nr == NR_PWRITEV2 && (long)reg_arg(regs, 3) != -1)) {
		pos = reg_arg(regs, 3);
	} else {
		pos = BPF_CORE_READ(f, f_pos) - ret;
	}
	l.id[0] = BPF_CORE_READ(ino, i_sb, s_dev);
	l.id[1] = BPF_CORE_READ(ino, i_ino);
	l.id[2] = BPF_CORE_READ(ino, i_generation);
	l.offset = pos;
	l.left = ret;
	l.what = CAP_WRITE;
	l.flags = stream ? CF_STREAM : 0;
	if (vectored) {
		l.iov = reg_arg(regs, 1);
		l.iov_left = reg_arg(regs, 2);
		if (l.iov_left > 1024)
			l.iov_left = 1024;
	} else {
		l.uptr = reg_arg(regs, 1);
		l.left_iov = ret;
	}
	return cap_run(&l);
}

/* A regular file truncated (O_TRUNC open, ftruncate): its capture must shrink too. */
static __noinline int cap_truncate(struct task_struct *t, struct file *f, __u64 size)
{
	struct cap_loop l = {};
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
	l.id[0] = BPF_CORE_READ(ino, i_sb, s_dev);
	l.id[1] = BPF_CORE_READ(ino, i_ino);
	l.id[2] = BPF_CORE_READ(ino, i_generation);
	l.offset = size;
	l.what = CAP_TRUNC;
	cap_chunk_hdr(c, &l);
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
	struct cap_loop l = {};
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
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_CAP_MEM, EV_MEM_PROT_ALERT, nr);
	put_int(e, 0, addr);
	put_int(e, 1, len);
	put_int(e, 2, prot);
	put_int(e, 3, prev);
	if (f) {
		put_path(e, 4, __builtin_preserve_access_index(&f->f_path));
		put_file_ids(e, f, 5, 6, 7);
	}
	l.id[0] = e->hdr.pid;
	l.id[1] = e->hdr.ts;
	l.id[2] = addr;
	if (CAP_OUTPUT(&capture_rb, e, BPF_RB_NO_WAKEUP))
		cap_stat(CS_LOST_UNSENT, 1);
	l.what = CAP_MEM;
	l.uptr = addr;
	l.left = len < CAP_REGION_MAX ? len : CAP_REGION_MAX;
	l.left_iov = l.left;
	cap_run(&l);
	if (len > CAP_REGION_MAX) {
		l.offset = CAP_REGION_MAX;
		cap_report_loss(&l, CAP_REGION_MAX, len - CAP_REGION_MAX, LOST_TOO_BIG);
	}
	return 0;
}

/* init_module: the image from the caller's buffer. finit_module: the file behind the fd; the
 * task is stopped on its way back to user space so userspace can read the file through
 * /proc/<pid>/fd/<fd> before the fd goes away. Both at sys_enter: on a kernel without module
 * support the call fails, but the image is still captured. */
static __noinline int cap_module_enter(struct task_struct *t, long nr, struct pt_regs *regs)
{
	struct cap_loop l = {};
	struct event_buf *e;
	if (cap_paused())
		return 0;
	e = get_scratch();
	if (!e)
		return 0;
	if (nr == NR_INIT_MODULE) {
		__u64 len = reg_arg(regs, 1);
		fill_hdr(&e->hdr, t, REC_CAP_MODULE, NR_INIT_MODULE, nr);
		put_int(e, 0, len);
		put_str(e, 1, (const void *)reg_arg(regs, 2), 1);
		put_int(e, 2, reg_arg(regs, 0));
		l.id[0] = e->hdr.pid;
		l.id[1] = e->hdr.ts;
		if (CAP_OUTPUT(&capture_rb, e, BPF_RB_NO_WAKEUP))
			cap_stat(CS_LOST_UNSENT, 1);
		l.what = CAP_MODULE;
		l.uptr = reg_arg(regs, 0);
		l.left = len < CAP_REGION_MAX ? len : CAP_REGION_MAX;
		l.left_iov = l.left;
		cap_run(&l);
		if (len > CAP_REGION_MAX)
			cap_report_loss(&l, CAP_REGION_MAX, len - CAP_REGION_MAX, LOST_TOO_BIG);
		return 0;
	}
	{
		long fd = (int)reg_arg(regs, 0);
		struct file *f = fd_file(t, fd);
		fill_hdr(&e->hdr, t, REC_CAP_FMODULE, NR_FINIT_MODULE, nr);
		e->hdr.flags = CF_HOLD;
		put_int(e, 0, fd);
		if (f) {
			put_path(e, 1, __builtin_preserve_access_index(&f->f_path));
			put_file_ids(e, f, 2, 3, 4);
			put_int(e, 5, BPF_CORE_READ(f, f_inode, i_size));
		}
		put_str(e, 6, (const void *)reg_arg(regs, 1), 1);
		put_int(e, 7, reg_arg(regs, 2));
		if (CAP_OUTPUT(&cap_ctl_rb, e, BPF_RB_FORCE_WAKEUP)) {
			cap_stat(CS_LOST_UNSENT, 1);
			return 0;
		}
		bpf_send_signal(SIGSTOP_);
		cap_stat(CS_HOLDS, 1);
	}
	return 0;
}

static __noinline int emit_file_open(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e;
	struct file *f;
	const char *upath;
	if (ret < 0)
		return 0;
	f = fd_file(t, ret);
	if (!f)
		return 0;
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_FILE_OPEN, EV_SECURITY_FILE_OPEN, nr);
	e->hdr.ret = ret;
	upath = (const char *)((nr == NR_OPENAT || nr == NR_OPENAT2) ? reg_arg(regs, 1)
								      : reg_arg(regs, 0));
	put_path(e, 0, __builtin_preserve_access_index(&f->f_path));
	put_int(e, 1, BPF_CORE_READ(f, f_flags));
	put_file_ids(e, f, 2, 3, 4);
	put_str(e, 5, upath, 1);
	submit(e);
	return 0;
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
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_MAGIC_WRITE, EV_MAGIC_WRITE, nr);
	e->hdr.ret = ret;
	put_path(e, 0, __builtin_preserve_access_index(&f->f_path));
	put_bytes(e, 1, ARG_BYTES, buf, len & 255, 1);
	put_file_ids(e, f, 2, 3, 0xff);
	submit(e);
	return 0;
}

static __noinline int emit_unlink(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e;
	struct task_stash *s = bpf_task_storage_get(&task_stashes, t, 0, 0);
	const char *upath;
	long dirfd;
	if (ret != 0) {
		if (s)
			s->unlink_valid = 0;
		return 0;
	}
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_UNLINK, EV_SECURITY_INODE_UNLINK, nr);
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
		put_path(e, 1, __builtin_preserve_access_index(&t->fs->pwd));
	} else {
		struct file *df = fd_file(t, dirfd);
		if (df)
			put_path(e, 1, __builtin_preserve_access_index(&df->f_path));
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
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, connect ? REC_CONNECT : REC_BIND,
		 connect ? EV_SECURITY_SOCKET_CONNECT : EV_SECURITY_SOCKET_BIND, nr);
	e->hdr.ret = ret;
	put_int(e, 0, fd);
	put_int(e, 1, sock_type_of(f));
	put_bytes(e, 2, ARG_SOCKADDR, (const void *)reg_arg(regs, 1), len > 128 ? 128 : len, 1);
	submit(e);
	return 0;
}

/* The local address of a socket, built from its struct sock, as a raw sockaddr. */
static __noinline int put_sock_local(struct event_buf *e, __u8 idx, struct sock *sk)
{
	__u8 buf[128] = {};
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u32 len = 0;
	if (!e)
		return 0;
	__builtin_memcpy(buf, &family, 2);
	if (family == 2) { /* AF_INET */
		__u32 addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		buf[2] = port >> 8;
		buf[3] = port & 0xff;
		__builtin_memcpy(&buf[4], &addr, 4);
		len = 16;
	} else if (family == 10) { /* AF_INET6 */
		buf[2] = port >> 8;
		buf[3] = port & 0xff;
		bpf_core_read(&buf[8], 16, &sk->__sk_common.skc_v6_rcv_saddr);
		len = 28;
	} else if (family == 1) { /* AF_UNIX */
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_address *ua = BPF_CORE_READ(us, addr);
		if (ua) {
			int alen = BPF_CORE_READ(ua, len);
			if (alen > 110)
				alen = 110;
			if (alen > 0)
				bpf_probe_read_kernel(buf, alen & 127,
						      __builtin_preserve_access_index(&ua->name));
			len = alen > 2 ? alen : 2;
		} else {
			len = 2;
		}
	}
	{
		__u32 off = e->hdr.args_size;
		if (off + 6 >= ARGS_SIZE)
			return 0;
		put_len_hdr(e, off, idx, ARG_SOCKADDR, len);
		__builtin_memcpy(&e->args[MASKED(off + 6, ARGS_MASK)], buf, sizeof(buf));
		e->hdr.args_size = off + 6 + (len & 127);
	}
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
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_ACCEPT, EV_SECURITY_SOCKET_ACCEPT, nr);
	e->hdr.ret = ret;
	put_int(e, 0, fd);
	put_sock_local(e, 1, BPF_CORE_READ(sock, sk));
	submit(e);
	return 0;
}

static __always_inline __u32 vm_to_prot(__u64 flags)
{
	return (flags & VM_READ_ ? 1 : 0) | (flags & VM_WRITE_ ? PROT_W : 0) |
	       (flags & VM_EXEC_ ? PROT_X : 0);
}

struct vma_ctx {
	__u64 flags;
	__u64 file;
	__u64 found;
};

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_ctx *c = data;
	c->flags = BPF_CORE_READ(vma, vm_flags);
	c->file = (__u64)BPF_CORE_READ(vma, vm_file);
	c->found = 1;
	return 0;
}

/* mprotect at sys_enter: the region's protection before the change. */
static __noinline int stash_mprotect(struct task_struct *t, long nr, struct pt_regs *regs)
{
	struct task_stash *s = bpf_task_storage_get(&task_stashes, t, 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct vma_ctx c = {};
	if (!s)
		return 0;
	s->nr = nr + 1;
	s->a0 = reg_arg(regs, 0);
	s->a1 = reg_arg(regs, 1);
	s->a2 = reg_arg(regs, 2);
	bpf_find_vma(t, s->a0, vma_cb, &c, 0);
	s->prev_prot = c.found ? vm_to_prot(c.flags) : 0;
	s->file = c.file;
	return 0;
}

static __always_inline void put_file_path_ids(struct event_buf *e, struct file *f, __u8 ipath,
					      __u8 idev, __u8 iino, __u8 ictime)
{
	if (f) {
		put_path(e, ipath, __builtin_preserve_access_index(&f->f_path));
		put_file_ids(e, f, idev, iino, ictime);
	}
}

static __noinline int emit_mprotect(struct task_struct *t, long nr, struct pt_regs *regs,
				    long ret, __u16 derive)
{
	struct task_stash *s = bpf_task_storage_get(&task_stashes, t, 0, 0);
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
	if ((derive & DV_CAP_MEM) && (prev & PROT_W) && (prev & PROT_X) && (prot & PROT_X) &&
	    !(prot & PROT_W))
		cap_mem_region(t, nr, s, f);
	if (derive & DV_MPROTECT) {
		e = get_scratch();
		if (!e)
			return 0;
		fill_hdr(&e->hdr, t, REC_MPROTECT, EV_SECURITY_FILE_MPROTECT, nr);
		put_file_path_ids(e, f, 0, 0xfe, 0xfe, 2);
		put_int(e, 1, prot);
		put_int(e, 3, prev);
		put_int(e, 4, s->a0);
		put_int(e, 5, s->a1);
		put_int(e, 6, nr == NR_PKEY_MPROTECT ? reg_arg(regs, 3) : (__u64)-1);
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
		e = get_scratch();
		if (!e)
			return 0;
		fill_hdr(&e->hdr, t, REC_MEM_ALERT, EV_MEM_PROT_ALERT, nr);
		put_int(e, 0, alert);
		put_int(e, 1, s->a0);
		put_int(e, 2, s->a1);
		put_int(e, 3, prot);
		put_int(e, 4, prev);
		put_file_path_ids(e, f, 5, 6, 7, 8);
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
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_MEM_ALERT, EV_MEM_PROT_ALERT, nr);
	put_int(e, 0, 1);
	put_int(e, 1, ret);
	put_int(e, 2, reg_arg(regs, 1));
	put_int(e, 3, prot);
	put_int(e, 4, 0);
	put_file_path_ids(e, f, 5, 6, 7, 8);
	submit(e);
	return 0;
}

static __noinline int emit_mount(struct task_struct *t, long nr, struct pt_regs *regs, long ret)
{
	struct event_buf *e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_MOUNT, EV_SECURITY_SB_MOUNT, nr);
	e->hdr.ret = ret;
	put_str(e, 0, (const char *)reg_arg(regs, 0), 1);
	put_str(e, 1, (const char *)reg_arg(regs, 1), 1);
	put_str(e, 2, (const char *)reg_arg(regs, 2), 1);
	put_int(e, 3, reg_arg(regs, 3));
	submit(e);
	return 0;
}

static __noinline int emit_syscall(struct task_struct *t, long nr, struct sys_cfg *cfg,
				   struct pt_regs *regs, long ret)
{
	struct event_buf *e = get_scratch();
	if (!e || !cfg)
		return 0;
	fill_hdr(&e->hdr, t, REC_SYSCALL, nr, nr);
	e->hdr.ret = ret;
	put_sys_args(e, cfg, regs);
	submit(e);
	return 0;
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret)
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
	t = bpf_get_current_task_btf();
	flags = in_scope(t, pid_tgid);
	if (!flags || (flags & SCOPE_PENDING_EXEC))
		return 0;
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
		if (cfg->derive & DV_CAP_WRITE)
			cap_open_trunc(t, nr, regs, ret);
		break;
	case NR_WRITE:
	case NR_PWRITE64:
	case NR_WRITEV:
	case NR_PWRITEV:
	case NR_PWRITEV2:
		if (cfg->derive & DV_MAGIC_WRITE)
			emit_magic_write(t, nr, regs, ret);
		if (cfg->derive & DV_CAP_WRITE)
			cap_write_data(t, nr, regs, ret);
		break;
	case NR_FTRUNCATE:
		if ((cfg->derive & DV_CAP_WRITE) && ret == 0)
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

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
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
	t = bpf_get_current_task_btf();
	pid_tgid = bpf_get_current_pid_tgid();
	flags = in_scope(t, pid_tgid);
	if (!flags)
		return 0;
	if (flags & SCOPE_PENDING_EXEC) {
		/* a command held by `osprey trace -- CMD` becomes visible at its exec */
		__u32 tgid = pid_tgid >> 32, in = SCOPE_IN;
		if (nr != NR_EXECVE && nr != NR_EXECVEAT)
			return 0;
		bpf_map_update_elem(&scope_pids, &tgid, &in, BPF_ANY);
	}
	if (cfg->emit & EMIT_ENTER)
		emit_syscall(t, nr, cfg, regs, 0);
	if ((cfg->derive & DV_CAP_MODULE) && (nr == NR_INIT_MODULE || nr == NR_FINIT_MODULE))
		cap_module_enter(t, nr, regs);
	if ((cfg->emit & STASH_ENTER) && (nr == NR_MPROTECT || nr == NR_PKEY_MPROTECT))
		stash_mprotect(t, nr, regs);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_sys_exit, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_sys_enter, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("raw_tracepoint/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sys_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

SEC("raw_tracepoint/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return on_sys_enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

/* ---- process lifecycle ---- */

struct auxv_ctx {
	__u64 file;
	__u64 found;
};

static long interp_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct auxv_ctx *c = data;
	c->file = (__u64)BPF_CORE_READ(vma, vm_file);
	c->found = 1;
	return 0;
}

/* The ELF interpreter's file: the mapping at AT_BASE of the new image. */
static __noinline __u64 interp_file(struct task_struct *t, struct mm_struct *mm)
{
	struct auxv_ctx c = {};
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
	bpf_find_vma(t, base, interp_vma_cb, &c, 0);
	return c.file;
}

SEC("tp_btf/task_rename")
int BPF_PROG(tp_task_rename, struct task_struct *task, const char *comm)
{
	struct task_cache *c;
	if (!en_exec)
		return 0;
	if ((__u64)task != (__u64)bpf_get_current_task_btf())
		return 0;
	c = bpf_task_storage_get(&task_caches, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c)
		bpf_probe_read_kernel_str(c->prev_comm, sizeof(c->prev_comm), task->comm);
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
	e = get_scratch();
	if (!e) {
		if (hold)
			bpf_map_delete_elem(&exec_done, &k);
		return 0;
	}
	fill_hdr(&e->hdr, t, REC_CAP_EXEC, EV_SCHED_PROCESS_EXEC, nr);
	e->hdr.flags = hold ? CF_HOLD : 0;
	put_path(e, 0, __builtin_preserve_access_index(&f->f_path));
	put_int(e, 1, k.dev);
	put_int(e, 2, k.ino);
	put_int(e, 3, k.ctime);
	put_int(e, 4, BPF_CORE_READ(ino, i_size));
	put_int(e, 5, BPF_CORE_READ(ino, __i_nlink));
	put_str(e, 6, BPF_CORE_READ(bprm, filename), 0);
	if (CAP_OUTPUT(&cap_ctl_rb, e, hold ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP)) {
		/* no stop without a record saying so; a later exec tries again */
		if (hold)
			bpf_map_delete_elem(&exec_done, &k);
		cap_stat(CS_LOST_UNSENT, 1);
		return 0;
	}
	if (hold) {
		bpf_send_signal(SIGSTOP_);
		cap_stat(CS_HOLDS, 1);
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct event_buf *e;
	struct task_cache *c;
	struct file *f, *stdin_f, *interp;
	struct mm_struct *mm;
	struct pt_regs *regs;
	__u32 flags, *sf;
	__u64 start, end;

	invalidate_cache(t);
	flags = in_scope(t, bpf_get_current_pid_tgid());
	if (!flags)
		return 0;
	if (flags & SCOPE_PENDING_EXEC) {
		__u32 in = SCOPE_IN;
		bpf_map_update_elem(&scope_pids, &tgid, &in, BPF_ANY);
	}
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (cap_exec)
		cap_exec_binary(t, BPF_CORE_READ(bprm, file), bprm, BPF_CORE_READ(regs, orig_ax));
	if (!en_exec)
		return 0;
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_EXEC, EV_SCHED_PROCESS_EXEC, BPF_CORE_READ(regs, orig_ax));
	f = BPF_CORE_READ(bprm, file);
	mm = BPF_CORE_READ(t, mm);

	put_str(e, 0, BPF_CORE_READ(bprm, filename), 0);                   /* cmdpath */
	put_path(e, 1, __builtin_preserve_access_index(&f->f_path));       /* pathname */
	put_file_ids(e, f, 2, 3, 4);                                       /* dev inode ctime */
	put_int(e, 5, BPF_CORE_READ(f, f_inode, i_mode));                  /* inode_mode */
	interp = (struct file *)interp_file(t, mm);
	if (interp) {
		put_path(e, 6, __builtin_preserve_access_index(&interp->f_path));
		put_file_ids(e, interp, 7, 8, 9);
	}
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	if (end > start)
		put_bytes(e, 10, ARG_STRLIST, (void *)start, end - start, 1); /* argv */
	put_str(e, 11, BPF_CORE_READ(bprm, interp), 0);                    /* interp */
	stdin_f = fd_file(t, 0);
	if (stdin_f) {
		put_int(e, 12, BPF_CORE_READ(stdin_f, f_inode, i_mode) & S_IFMT);
		put_path(e, 13, __builtin_preserve_access_index(&stdin_f->f_path));
	}
	put_int(e, 14, (BPF_CORE_READ(t, real_parent, flags) & 0x00200000) ? 1 : 0); /* PF_KTHREAD */
	c = bpf_task_storage_get(&task_caches, t, 0, 0);
	if (c)
		put_str(e, 15, c->prev_comm, 0);
	put_path(e, 17, __builtin_preserve_access_index(&t->fs->pwd));
	if (exec_env) {
		start = BPF_CORE_READ(mm, env_start);
		end = BPF_CORE_READ(mm, env_end);
		if (end > start)
			put_bytes(e, 16, ARG_STRLIST, (void *)start, end - start, 1);
	}
	submit(e);
	return 0;
}

static __always_inline void put_task_ids(struct event_buf *e, __u8 idx, struct task_struct *t,
					 unsigned int level)
{
	/* tid, ns tid, pid, ns pid, start time */
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	put_int(e, idx, BPF_CORE_READ(t, pid));
	put_int(e, idx + 1, pid_nr_at(BPF_CORE_READ(t, thread_pid), level));
	put_int(e, idx + 2, BPF_CORE_READ(t, tgid));
	put_int(e, idx + 3, pid_nr_at(BPF_CORE_READ(leader, thread_pid), level));
	put_int(e, idx + 4, BPF_CORE_READ(t, start_boottime));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	struct event_buf *e;
	__u32 flags;
	unsigned int level;

	flags = in_scope(t, bpf_get_current_pid_tgid());
	/* `follow`: a new process whose parent is in scope joins it */
	if (scope_follow && scope_pid_mode == 1 && flags && ctgid == cpid && ctgid != ptgid)
		bpf_map_update_elem(&scope_pids, &ctgid, &flags, BPF_ANY);
	if (!flags || (flags & SCOPE_PENDING_EXEC) || !en_fork)
		return 0;
	e = get_scratch();
	if (!e)
		return 0;
	fill_hdr(&e->hdr, t, REC_FORK, EV_SCHED_PROCESS_FORK, 56);
	e->hdr.ret = BPF_CORE_READ(child, pid);
	{
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
		e->hdr.syscall = BPF_CORE_READ(regs, orig_ax);
	}
	level = pid_level(BPF_CORE_READ(child, thread_pid));
	put_task_ids(e, 0, parent, level);                                /* parent_* */
	put_task_ids(e, 5, child, level);                                 /* child_*, start_time */
	put_task_ids(e, 10, BPF_CORE_READ(child, real_parent), level);    /* parent_process_* */
	put_task_ids(e, 15, BPF_CORE_READ(child, group_leader), level);   /* leader_* */
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_sched_process_exit, struct task_struct *p, bool group_dead)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct event_buf *e;
	__u32 flags, code;

	flags = in_scope(t, pid_tgid);
	if (flags && en_exit && !(flags & SCOPE_PENDING_EXEC)) {
		e = get_scratch();
		if (e) {
			fill_hdr(&e->hdr, t, REC_EXIT, EV_SCHED_PROCESS_EXIT, 60);
			code = BPF_CORE_READ(t, exit_code);
			{
				struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
				e->hdr.syscall = BPF_CORE_READ(regs, orig_ax);
			}
			put_int(e, 0, (code >> 8) & 0xff);
			put_int(e, 1, code & 0x7f);
			put_int(e, 2, group_dead ? 1 : 0);
			submit(e);
		}
	}
	if (group_dead && scope_pid_mode == 1 && scope_follow)
		bpf_map_delete_elem(&scope_pids, &tgid);
	return 0;
}

SEC("tp_btf/ext4_unlink_enter")
int BPF_PROG(tp_ext4_unlink_enter, struct inode *parent, struct dentry *dentry)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_stash *s;
	struct inode *ino;
	if (!in_scope(t, bpf_get_current_pid_tgid()))
		return 0;
	s = bpf_task_storage_get(&task_stashes, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	ino = BPF_CORE_READ(dentry, d_inode);
	s->unlink_ino = BPF_CORE_READ(ino, i_ino);
	s->unlink_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	s->unlink_ctime = inode_ctime(ino);
	s->unlink_valid = 1;
	return 0;
}

/* ---- packets with process context ---- */

static __always_inline void remember_owner(void *ctx, __u64 cookie)
{
	struct sock_key_owner o = {};
	o.pid_tgid = bpf_get_current_pid_tgid();
	if ((o.pid_tgid >> 32) == self_tgid)
		return;
	o.uid_gid = bpf_get_current_uid_gid();
	o.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	/* sendmsg runs this for every datagram: when the same task, with the same identity,
	 * already owns the socket, there is nothing to read or write again */
	struct sock_key_owner *cur = bpf_map_lookup_elem(&sock_owners, &cookie);
	if (cur && cur->task.valid && cur->pid_tgid == o.pid_tgid && cur->uid_gid == o.uid_gid &&
	    cur->cgroup_id == o.cgroup_id &&
	    ((__u64 *)cur->comm)[0] == ((__u64 *)o.comm)[0] &&
	    ((__u64 *)cur->comm)[1] == ((__u64 *)o.comm)[1])
		return;
	o.netns = bpf_get_netns_cookie(ctx);
	compute_cache(&o.task, bpf_get_current_task_btf());
	bpf_map_update_elem(&sock_owners, &cookie, &o, BPF_ANY);
}

/* The header of a record about a packet: its owner's context, marked complete when the owner's
 * task could be read (HDR_OWNER_CONTEXT). */
static __always_inline void owner_hdr(struct record_hdr *h, struct sock_key_owner *o, __u16 kind,
				      __u32 event_id)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->ts = bpf_ktime_get_boot_ns();
	h->pid = o->pid_tgid >> 32;
	h->tid = (__u32)o->pid_tgid;
	h->uid = (__u32)o->uid_gid;
	h->gid = o->uid_gid >> 32;
	h->cgroup_id = o->cgroup_id;
	h->event_id = event_id;
	h->kind = kind;
	h->syscall = -1;
	h->cpu = bpf_get_smp_processor_id();
	__builtin_memcpy(h->comm, o->comm, sizeof(h->comm));
	if (o->task.valid) {
		h->flags = HDR_OWNER_CONTEXT;
		h->start_time = o->task.start_time;
		h->leader_start_time = o->task.leader_start_time;
		h->ppid = o->task.ppid;
		h->ns_pid = o->task.ns_pid;
		h->ns_tid = o->task.ns_tid;
		h->ns_ppid = o->task.ns_ppid;
		h->mnt_ns = o->task.mnt_ns;
		h->pid_ns = o->task.pid_ns;
		__builtin_memcpy(h->uts_name, o->task.uts_name, sizeof(h->uts_name));
	}
}

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

#define CAP_PKT_CLASS(SZ)                                                                      \
	do {                                                                                   \
		c = bpf_ringbuf_reserve(&capture_rb, sizeof(struct cap_chunk) + (SZ), 0);      \
		if (c)                                                                         \
			err = bpf_skb_load_bytes(skb, 0, (void *)(c + 1),                      \
						 MASKED(n - 1, (SZ) - 1) + 1);                 \
	} while (0)

/* --capture net=IFACE: the packet, up to the capture snap length, with its owner. */
static __always_inline void cap_packet(struct __sk_buff *skb, struct sock_key_owner *o,
				       int egress)
{
	struct cap_chunk *c = NULL;
	__u32 ifindex = egress ? skb->ifindex : skb->ingress_ifindex;
	__u32 len = skb->len, n;
	long err = 0;
	if (!ifindex)
		ifindex = skb->ifindex;
	if (ifindex != cap_ifindex)
		return;
	if (cap_netns && o->netns && o->netns != cap_netns)
		return;
	n = len < cap_snap ? len : cap_snap;
	if (n > CAP_DATA_MAX)
		n = CAP_DATA_MAX;
	if (n == 0)
		return;
	if (n <= 256)
		CAP_PKT_CLASS(256);
	else if (n <= 2048)
		CAP_PKT_CLASS(2048);
	else if (n <= 16384)
		CAP_PKT_CLASS(16384);
	else
		CAP_PKT_CLASS(CAP_DATA_MAX);
	if (!c) {
		cap_stat(CS_LOST_BYTES, n);
		return;
	}
	if (err) {
		bpf_ringbuf_discard(c, BPF_RB_NO_WAKEUP);
		cap_stat(CS_LOST_BYTES, n);
		return;
	}
	owner_hdr(&c->hdr, o, REC_CAP_CHUNK, 0);
	c->id[0] = ifindex;
	c->id[1] = len;
	c->id[2] = 0;
	c->offset = 0;
	c->len = n;
	c->what = CAP_PACKET;
	c->flags = egress ? CF_EGRESS : 0;
	c->lost_why = 0;
	c->_pad = 0;
	cap_stat(CS_BYTES, n);
	cap_stat(CS_CHUNKS, 1);
	bpf_ringbuf_submit(c, cap_rb_flags());
}

static __always_inline int on_packet(struct __sk_buff *skb, int egress)
{
	__u64 cookie;
	struct sock_key_owner *o;
	struct bpf_sock *sk;
	struct event_buf *e;
	__u32 len, cap, off;
	if (!(en_packets || cap_net))
		return 1;
	cookie = bpf_get_socket_cookie(skb);
	o = bpf_map_lookup_elem(&sock_owners, &cookie);
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!o) {
		/* an accepted connection inherits its listener's owner (BPF_F_CLONE) */
		if (!sk)
			return 1;
		o = bpf_sk_storage_get(&sk_owners, sk, 0, 0);
		if (!o)
			return 1;
	} else if (sk && sk->state == 10 /* TCP_LISTEN */) {
		bpf_sk_storage_get(&sk_owners, sk, o, BPF_SK_STORAGE_GET_F_CREATE);
	}
	if (!in_scope_tgid(o->pid_tgid >> 32, (__u32)o->uid_gid))
		return 1;
	if (cap_net && !cap_paused())
		cap_packet(skb, o, egress);
	if (!en_packets)
		return 1;
	e = get_scratch();
	if (!e)
		return 1;
	owner_hdr(&e->hdr, o, REC_PACKET, EV_NET_PACKET);
	put_int(e, 0, egress);
	put_int(e, 1, skb->ifindex);
	put_int(e, 2, skb->len);
	len = skb->len;
	cap = snaplen < len ? snaplen : len;
	if (cap > MAX_STR)
		cap = MAX_STR;
	off = e->hdr.args_size;
	if (cap == 0 || off + 6 >= ARGS_SIZE) {
		submit(e);
		return 1;
	}
	/* in [1, MAX_STR] in a form the verifier can see */
	cap = MASKED(cap - 1, MAX_STR - 1) + 1;
	if (bpf_skb_load_bytes(skb, 0, &e->args[MASKED(off + 6, ARGS_MASK)], cap))
		cap = 0;
	put_len_hdr(e, off, 3, ARG_BYTES, cap);
	e->hdr.args_size = off + 6 + cap;
	submit(e);
	return 1;
}

SEC("cgroup_skb/ingress")
int cg_skb_ingress(struct __sk_buff *skb)
{
	return on_packet(skb, 0);
}

SEC("cgroup_skb/egress")
int cg_skb_egress(struct __sk_buff *skb)
{
	return on_packet(skb, 1);
}
