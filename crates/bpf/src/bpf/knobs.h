/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Knobs: `const volatile` globals the loader sets before load. The verifier sees them as
 * constants (frozen .rodata), so whatever a run or a kernel does not use is pruned unverified:
 * a helper this kernel lacks may sit behind a feature knob that is zero.
 */
#ifndef OSPREY_KNOBS_H
#define OSPREY_KNOBS_H

/* ---- scope and events ---- */
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

/* ---- kernel features, probed by the loader (`osprey_bpf::Features`) ---- */
const volatile __u8 have_task_storage = 0; /* task storage from tracing programs (5.11+) */
const volatile __u8 have_task_btf = 0;     /* bpf_get_current_task_btf (5.11+) */
const volatile __u8 have_task_pt_regs = 0; /* bpf_task_pt_regs (5.15+) */
const volatile __u8 have_sock_task = 0;    /* bpf_get_current_task in cgroup sock programs */
const volatile __u8 pin_cpu = 0;     /* bpf_preempt_disable in tracing programs (6.10+, and global
					calls allowed with preemption off: 6.14+) */
const volatile __u8 pin_cpu_skb = 0; /* the same in cgroup_skb programs */
const volatile __u32 nr_copies = 1;  /* copies of the busiest programs (context.h, "Spare copies") */

#endif
