/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Packets with process context: socket owners recorded by the cgroup sock hooks, packets from
 * cgroup_skb attributed to them (net_packet records, and --capture net=IFACE chunks). Packet
 * programs build records in their own scratch slots: ingress runs in softirq, which can
 * interrupt a syscall or an egress packet building its record on the same CPU. */
#ifndef OSPREY_NET_H
#define OSPREY_NET_H

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
	/* the plain task pointer: the BTF one came to these programs later still; without either,
	 * the owner's context is left invalid and userspace reads /proc */
	if (have_sock_task)
		compute_cache(&o.task, (struct task_struct *)bpf_get_current_task());
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
	c->fd = 0;
	cap_stat(CS_BYTES, n);
	cap_stat(CS_CHUNKS, 1);
	bpf_ringbuf_submit(c, cap_rb_flags());
}

static __always_inline int on_packet(struct __sk_buff *skb, int egress)
{
	__u64 cookie, runner;
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
	e = get_scratch(egress ? SLOT_EGRESS : SLOT_INGRESS);
	if (!e)
		return 1;
	/* the claim: a timestamp (cgroup_skb programs have no current task before 6.x) */
	runner = bpf_ktime_get_ns();
	e->runner = runner;
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
		submit_as(e, runner);
		return 1;
	}
	/* in [1, MAX_STR] in a form the verifier can see */
	cap = MASKED(cap - 1, MAX_STR - 1) + 1;
	if (bpf_skb_load_bytes(skb, 0, &e->args[MASKED(off + 6, ARGS_MASK)], cap))
		cap = 0;
	put_len_hdr(e, off, 3, ARG_BYTES, cap);
	e->hdr.args_size = off + 6 + cap;
	submit_as(e, runner);
	return 1;
}

#endif
