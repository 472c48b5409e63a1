/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the BPF programs write into the ring buffer, and the configuration userspace writes
 * into maps. This is the only definition: the Rust side takes these types from the skeleton
 * (osprey.bpf.c keeps one global of each so they reach BTF), never from a hand-written copy.
 *
 * A record is a `struct record_hdr` followed by `args_size` bytes of arguments. Each argument is
 *   u8 index, u8 kind, then the payload:
 *     ARG_INT:        8 bytes, little endian
 *     ARG_STR, ARG_BYTES, ARG_STRLIST, ARG_SOCKADDR, ARG_PATH:
 *                     u32 length, then that many bytes (no terminating NUL; a STRLIST holds
 *                     NUL-separated strings)
 * `index` names the argument within the record kind; userspace maps (record kind, index) to the
 * Tracee argument name and type, so a missing argument is never misread as another.
 */
#ifndef OSPREY_H
#define OSPREY_H

#define TASK_COMM_LEN 16
#define UTS_LEN 16

/* Size of the argument area of one record, and of the largest single string or blob. */
#define ARGS_SIZE 8192
#define ARGS_MASK (ARGS_SIZE - 1)
#define MAX_STR 4096
#define MAX_STR_MASK (MAX_STR - 1)
#define MAX_STRLIST_ELEMS 24
#define MAX_PATH_DEPTH 64
#define PATH_BUF 8192
#define PATH_HALF 4096
#define SYSCALL_SLOTS 512
/* Bounded loops of the compat object (kernels without bpf_loop, built with -DOSPREY_COMPAT):
 * path components walked, and chunk steps of one capture run (64 KiB each, so at most 8 MiB of
 * one write or region is captured there; the rest is reported lost as LOST_TOO_BIG). */
#define COMPAT_PATH_DEPTH 48
#define COMPAT_CAP_STEPS 128

/* Slots of the per-CPU `scratch` record buffer. Programs that can interrupt one another on a
 * CPU never share one: a packet arriving in softirq must not overwrite a record a syscall is
 * building, nor an ingress packet one of an egress packet. */
#define SLOT_TASK 0    /* tracepoints and socket hooks: task context */
#define SLOT_EGRESS 1  /* cgroup_skb/egress: task or softirq context */
#define SLOT_INGRESS 2 /* cgroup_skb/ingress: softirq context */
#define SCRATCH_SLOTS 3
#define EVENT_SLOTS 4096
#define MAX_SCOPE_UIDS 8

/* Argument kinds. */
#define ARG_INT 1
#define ARG_STR 2
#define ARG_BYTES 3
#define ARG_STRLIST 4
#define ARG_SOCKADDR 5
#define ARG_PATH 6

/* How sys_exit reads one syscall argument (struct sys_cfg.kind). */
#define SK_NONE 0
#define SK_INT 1         /* the register value */
#define SK_STR 2         /* a user string */
#define SK_SOCKADDR 3    /* a user sockaddr whose length is the next argument */
#define SK_SOCKADDR_LP 4 /* a user sockaddr whose length is at the user pointer in the next argument */
#define SK_STRARR 5      /* a user NULL-terminated array of strings */

/* Record kinds (record_hdr.kind). Event IDs are Tracee's; kinds say how to decode. */
#define REC_SYSCALL 1     /* a syscall event, arguments by sys_cfg */
#define REC_EXEC 2        /* sched_process_exec */
#define REC_FORK 3        /* sched_process_fork */
#define REC_EXIT 4        /* sched_process_exit */
#define REC_FILE_OPEN 5   /* security_file_open */
#define REC_MAGIC_WRITE 6 /* magic_write */
#define REC_UNLINK 7      /* security_inode_unlink */
#define REC_CONNECT 8     /* security_socket_connect */
#define REC_BIND 9        /* security_socket_bind */
#define REC_ACCEPT 10     /* security_socket_accept */
#define REC_MPROTECT 11   /* security_file_mprotect */
#define REC_MEM_ALERT 12  /* mem_prot_alert */
#define REC_MOUNT 13      /* security_sb_mount */
#define REC_PACKET 14     /* a packet from cgroup_skb, with its socket owner's context */

/*
 * Argument indices of the event records, named after the Tracee argument at that position of
 * the event (crates/trace/src/catalog.rs, which the decoder reads). A test of osprey-trace
 * (catalog::tests::record_argument_indices_match_the_catalog) checks every name here against
 * the catalog, so the two sides cannot drift.
 */
enum exec_arg { /* sched_process_exec */
	EXEC_CMDPATH, EXEC_PATHNAME, EXEC_DEV, EXEC_INODE, EXEC_CTIME, EXEC_INODE_MODE,
	EXEC_INTERPRETER_PATHNAME, EXEC_INTERPRETER_DEV, EXEC_INTERPRETER_INODE,
	EXEC_INTERPRETER_CTIME, EXEC_ARGV, EXEC_INTERP, EXEC_STDIN_TYPE, EXEC_STDIN_PATH,
	EXEC_INVOKED_FROM_KERNEL, EXEC_PREV_COMM, EXEC_ENV, EXEC_PWD,
};

enum fork_arg { /* sched_process_fork: four runs of tid, ns tid, pid, ns pid, start time */
	FORK_PARENT_TID = 0, FORK_CHILD_TID = 5, FORK_PARENT_PROCESS_TID = 10, FORK_LEADER_TID = 15,
};

enum exit_arg { /* sched_process_exit */
	EXIT_EXIT_CODE, EXIT_SIGNAL_CODE, EXIT_PROCESS_GROUP_EXIT,
};

enum file_open_arg { /* security_file_open */
	FILE_OPEN_PATHNAME, FILE_OPEN_FLAGS, FILE_OPEN_DEV, FILE_OPEN_INODE, FILE_OPEN_CTIME,
	FILE_OPEN_SYSCALL_PATHNAME,
};

enum magic_write_arg { /* magic_write */
	MAGIC_WRITE_PATHNAME, MAGIC_WRITE_BYTES, MAGIC_WRITE_DEV, MAGIC_WRITE_INODE,
};

enum connect_arg { /* security_socket_connect */
	CONNECT_SOCKFD, CONNECT_TYPE, CONNECT_REMOTE_ADDR,
};

enum bind_arg { /* security_socket_bind */
	BIND_SOCKFD, BIND_LOCAL_ADDR,
};

enum accept_arg { /* security_socket_accept */
	ACCEPT_SOCKFD, ACCEPT_LOCAL_ADDR,
};

enum mem_alert_arg { /* mem_prot_alert */
	MEM_ALERT_ALERT, MEM_ALERT_ADDR, MEM_ALERT_LEN, MEM_ALERT_PROT, MEM_ALERT_PREV_PROT,
	MEM_ALERT_PATHNAME, MEM_ALERT_DEV, MEM_ALERT_INODE, MEM_ALERT_CTIME,
};

enum mprotect_arg { /* security_file_mprotect */
	MPROTECT_PATHNAME, MPROTECT_PROT, MPROTECT_CTIME, MPROTECT_PREV_PROT, MPROTECT_ADDR,
	MPROTECT_LEN, MPROTECT_PKEY,
};

enum mount_arg { /* security_sb_mount */
	MOUNT_DEV_NAME, MOUNT_PATH, MOUNT_TYPE, MOUNT_FLAGS,
};

/* Not an argument: put_file_ids' "no such argument" (a file's ctime or dev and inode the event
 * does not have). */
#define NO_ARG 0xff

/* Tracee event IDs of the non-syscall events (Tracee v0.2x numbering). */
#define EV_SCHED_PROCESS_FORK 712
#define EV_SCHED_PROCESS_EXEC 713
#define EV_SCHED_PROCESS_EXIT 714
#define EV_MEM_PROT_ALERT 722
#define EV_MAGIC_WRITE 725
#define EV_SECURITY_FILE_OPEN 730
#define EV_SECURITY_INODE_UNLINK 731
#define EV_SECURITY_SOCKET_CONNECT 734
#define EV_SECURITY_SOCKET_ACCEPT 735
#define EV_SECURITY_SOCKET_BIND 736
#define EV_SECURITY_SB_MOUNT 738
#define EV_SECURITY_FILE_MPROTECT 746
#define EV_NET_PACKET 2000

/* Per-syscall derived events (struct sys_cfg.derive). */
#define DV_FILE_OPEN (1 << 0)
#define DV_MAGIC_WRITE (1 << 1)
#define DV_UNLINK (1 << 2)
#define DV_CONNECT (1 << 3)
#define DV_BIND (1 << 4)
#define DV_ACCEPT (1 << 5)
#define DV_MPROTECT (1 << 6)
#define DV_MEM_ALERT (1 << 7)
#define DV_MOUNT (1 << 8)
/* --capture write: data of the write family, O_TRUNC opens, ftruncate;
 * --capture mem: region bytes at mprotect W+X -> X;
 * --capture module: init_module image, finit_module file (at sys_enter) */
#define DV_CAP_WRITE (1 << 9)
#define DV_CAP_MEM (1 << 10)
#define DV_CAP_MODULE (1 << 11)

/* struct sys_cfg.emit */
#define EMIT_EXIT 1  /* emit the syscall event at sys_exit */
#define EMIT_ENTER 2 /* emit it at sys_enter (execve, exit, ...: they do not return) */
#define STASH_ENTER 4 /* sys_enter must record state for a derived event */

/* Loss causes (index into the per-CPU `drops` map). */
#define DROP_RINGBUF_FULL 0 /* bpf_ringbuf_output failed: the consumer fell behind */
#define DROP_TOO_BIG 1      /* a record exceeded the scratch buffer (never expected) */
#define DROP_STR_FAULT 2    /* a user string could not be read (reported as empty) */
#define DROP_PATH_TRUNC 3   /* a path was deeper than MAX_PATH_DEPTH (reported truncated) */
#define DROP_NO_SCRATCH 4   /* the per-CPU scratch buffer lookup failed */
#define DROP_PREEMPTED 5    /* another task took this CPU's record buffer while one was built */
#define DROP_CAUSES 6

/*
 * ---- Artifact capture (--capture) ----
 *
 * Capture data travels on its own ring buffer (`capture_rb`), apart from events, so that a
 * burst of written bytes never costs an event and the reader can run on its own thread.
 * Control records that must not be lost behind a data burst (executed binaries and held tasks,
 * loss records) go to a small second ring (`cap_ctl_rb`).
 *
 * Two shapes share both rings, told apart by record_hdr.kind:
 *   - meta records (REC_CAP_WRITE, REC_CAP_EXEC, ...): a struct record_hdr with the full
 *     process context, then indexed arguments, exactly like events;
 *   - data records (REC_CAP_CHUNK): a struct cap_chunk (a record_hdr with ts, pid, tid and
 *     comm filled, then the artifact's identity and the offset), then `len` bytes. A chunk with
 *     CF_LOST carries no bytes: [offset, offset + len) of that artifact could not be captured.
 */
#define REC_CAP_CHUNK 20   /* data (struct cap_chunk) */
#define REC_CAP_WRITE 21   /* a file written to for the first time through one open file */
#define REC_CAP_EXEC 22    /* an executed binary (CF_HOLD: the task is stopped until released) */
#define REC_CAP_MEM 23     /* a memory region that went from W+X to X; CAP_MEM chunks follow */
#define REC_CAP_MODULE 24  /* init_module: the image follows as CAP_MODULE chunks */
#define REC_CAP_FMODULE 25 /* finit_module: the file is behind the fd; the task is held */

/* cap_chunk.what: which artifact the chunk belongs to, and what id[] holds. */
#define CAP_WRITE 1  /* id = dev, inode, i_generation; offset = file offset */
#define CAP_MEM 2    /* id = pid, meta ts, address; offset from the region start */
#define CAP_MODULE 3 /* id = pid, meta ts, 0; offset into the image */
#define CAP_PACKET 4 /* id = ifindex, wire length, 0; hdr has the socket owner's context */
#define CAP_TRUNC 5  /* id as CAP_WRITE; offset = the file's new size; no data */

/* record_hdr.flags of packet records (REC_PACKET, CAP_PACKET chunks): the header carries the
 * socket owner's whole context, read from its task when it used the socket. */
#define HDR_OWNER_CONTEXT (1 << 14)

/* cap_chunk.flags and REC_CAP_* record_hdr.flags */
#define CF_STREAM 1     /* pipe, socket, character device: offsets count the bytes written */
#define CF_LOST 2       /* no data: the range could not be captured (cap_chunk.lost_why) */
#define CF_EGRESS 4     /* packet leaving the host */
#define CF_HOLD 8       /* REC_CAP_EXEC/REC_CAP_FMODULE: the task was sent SIGSTOP */
#define CF_FROM_FILE 16 /* CAP_WRITE without data: the kernel copied [offset, offset + len)
			 * into the file (sendfile, splice, copy_file_range); userspace reads
			 * it back from the file (cap_chunk.fd of the writer) */
#define CF_LATER 32     /* with CF_FROM_FILE: sent before the write happened (io_uring's, at
			 * rw_verify_area), so userspace reads it back a little later */

/* Why a range was lost (cap_chunk.lost_why). */
#define LOST_RING_FULL 1  /* capture_rb had no room: the reader fell behind */
#define LOST_UNREADABLE 2 /* the user memory could not be read (not resident) */
#define LOST_TOO_BIG 3    /* beyond the per-artifact cap (memory region, module image) */
#define LOST_KERNEL_COPY 4 /* copied by the kernel into a pipe or socket: nothing to read back */
#define LOST_PREEMPTED 5  /* another task took this CPU's capture run while it was sent */

#define CAP_DATA_MAX 65536 /* largest chunk */
#define CAP_MAX_FILTERS 3
#define CAP_FILTER_LEN 64 /* a path prefix of at most 50 characters, NUL padded */
#define CAP_REGION_MAX (256 << 20) /* most bytes captured of one memory region or module image */

/* Indexes of the per-CPU `cap_stats` counters. */
#define CS_BYTES 0       /* data bytes submitted */
#define CS_CHUNKS 1      /* data records submitted */
#define CS_LOST_BYTES 2  /* bytes lost (all causes) */
#define CS_LOST_UNSENT 3 /* loss records that could not be sent either (kept in cap_loss_agg) */
#define CS_HOLDS 4       /* tasks stopped for a copy */
#define CS_COUNT 5

/* Scope flags (scope_pids values). */
#define SCOPE_IN 1
#define SCOPE_PENDING_EXEC 2 /* seeded but not yet exec'd: only sched_process_exec reported */

/* Record flags. */
#define RF_COMPAT 1

struct record_hdr {
	__u64 ts;              /* bpf_ktime_get_boot_ns() */
	__u64 start_time;      /* thread start, boot-clock ns */
	__u64 leader_start_time;
	__u64 cgroup_id;
	__s64 ret;
	__u32 pid, tid, ppid;          /* host PID namespace */
	__u32 ns_pid, ns_tid, ns_ppid; /* the task's own PID namespace */
	__u32 uid, gid;
	__u32 mnt_ns, pid_ns;
	__u32 event_id;
	__s32 syscall;
	__u32 cpu;
	__u32 args_size;
	__u16 kind;
	__u16 flags;
	__u32 _pad;
	char comm[TASK_COMM_LEN];
	char uts_name[UTS_LEN];
};

/* Per-syscall configuration, indexed by syscall number. */
struct sys_cfg {
	__u16 emit;
	__u16 derive;
	__u8 kind[6];
	__u16 _pad;
};

/* Process identity cached per task (task storage), refreshed on exec, unshare and setns. */
struct task_cache {
	__u64 start_time;
	__u64 leader_start_time;
	__u64 parent;          /* task pointer the parent fields were computed for */
	__u32 ns_pid, ns_tid, ns_ppid, ppid;
	__u32 mnt_ns, pid_ns;
	__u32 valid;
	__u32 _pad;
	char uts_name[UTS_LEN];
};

/* State carried from a syscall's entry to its exit, per task. */
struct task_stash {
	__u64 nr;          /* syscall the stash belongs to, +1 (0: empty) */
	__u64 a0, a1, a2;  /* mprotect: addr, len, prot */
	__u64 prev_prot;
	__u64 file;        /* struct file * of the VMA */
	__u64 unlink_ino;  /* from security_inode_unlink or ext4_unlink_enter */
	__u64 unlink_ctime;
	__u32 unlink_dev;
	__u32 unlink_valid;
	__u32 handled;     /* MARK_*: a copy of a program ran for the current call */
	__u32 _pad;
	char exec_comm[TASK_COMM_LEN]; /* execve/execveat: the comm before the exec (prev_comm
					* when task_rename left nothing) */
};

/* Copies of the busiest programs where the kernel can preempt them (context.h, "Spare copies"):
 * sys_enter, sys_exit (tp_btf and raw), fentry/security_file_open. */
#define MAX_COPIES 6

/* struct task_stash.handled (context.h, "Spare copies") */
#define MARK_SYS_ENTER 1
#define MARK_SYS_EXIT 2
#define MARK_FILE_OPEN 4
/* index of a mark in copies_covered */
#define MARK_INDEX(mark) ((mark) >> 1)


/* ---- capture wire structs (see "Artifact capture" above) ---- */

struct cap_chunk {
	struct record_hdr hdr; /* kind REC_CAP_CHUNK; ts, pid, tid, uid, cgroup_id, comm */
	__u64 id[3];
	__u64 offset;
	__u32 len;     /* bytes of data that follow, or bytes lost with CF_LOST */
	__u16 what;    /* CAP_* */
	__u16 flags;   /* CF_* */
	__u32 lost_why;
	__s32 fd; /* CF_FROM_FILE: the writer's file descriptor */
};

/* Where losses that could not even be reported go: one entry per artifact. */
struct cap_loss_key {
	__u64 id[3];
	__u32 what;
	__u32 _pad;
};

struct cap_loss_val {
	__u64 start; /* lowest lost offset */
	__u64 end;   /* highest lost end */
	__u64 bytes;
};

/* An executed binary, once captured (key of `exec_done`). */
struct exec_key {
	__u64 dev, ino, ctime;
};

#endif /* OSPREY_H */
