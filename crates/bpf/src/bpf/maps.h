/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Every map of the object. The loader sizes the ring buffers and leaves uncreated what a
 * kernel cannot have (task storage before 5.11: the *_by_tid hashes stand in). */
#ifndef OSPREY_MAPS_H
#define OSPREY_MAPS_H

/* One run of capture chunks: a user memory range, or a list of iovecs. */
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
	__u64 runner; /* pid_tgid of the task sending the run (see struct event_buf) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* the loader sets the real size */
} events SEC(".maps");

struct event_buf {
	struct record_hdr hdr;
	__u8 args[ARGS_SIZE * 2 + 512];
	/* pid_tgid of the task building the record, never sent: where a program can be preempted
	 * (tracing programs only disable migration) and the kernel cannot pin the CPU, a task
	 * that runs next on this CPU may take the buffer; submit() then sees another runner. */
	__u64 runner;
};

/* The record being built, per CPU and per context (SLOT_*). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCRATCH_SLOTS);
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

/* Where task storage is missing (before 5.11): the same values keyed by thread ID, checked
 * against the thread's start time and deleted at its exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct task_cache);
} task_cache_by_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct task_stash);
} task_stash_by_tid SEC(".maps");

/* A thread's comm before its last rename (exec's prev_comm), from task_rename to
 * sched_process_exec. A hash by thread ID, not task storage: the rename runs under the task's
 * lock, where 7.x kernels may refuse to create a task's storage. */
struct comm_buf {
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct comm_buf);
} prev_comms SEC(".maps");

/* A task's identity computed when it has no cache entry (storage full, or never created). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_cache);
} task_cache_tmp SEC(".maps");

/* Never written: the initial value of new hash entries. */
struct zero_buf {
	__u8 bytes[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zero_buf);
} zeroes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_CAUSES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Per MARK_* bit index: calls whose last copy the kernel skipped after an earlier copy had done
 * the work (the first copy of the task's next call finds the mark still set). The loader
 * subtracts them from the last copy's skips: the rest were lost (context.h, "Spare copies"). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} copies_covered SEC(".maps");

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

/* The capture run in progress on this CPU (task context only; capture never nests). Kept in a
 * map, not on the stack: the verifier allows 512 bytes of stack for a whole call chain. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cap_loop);
} cap_loops SEC(".maps");

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
	__u32 generation; /* with the inode pointer: a struct file and an inode of a deleted file
			   * can both be reused for a new file, whose meta record is then due */
	__u32 match;
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

#endif
