#!/usr/bin/env python3
"""Generates a corpus of varied legacy Tracee events (formats.md 1.1), one JSON object per line,
compact and in Tracee's key order, for the analyzer benchmarks.

The mix follows what a host trace looks like: mostly file opens and syscalls, some process
lifecycle, network and security events, 20% of events in containers, 1% signatures. A process
(a host PID) keeps its name, start time and entity IDs across its events; 80% of events come
from 300 long-lived daemons (children of init), the rest (and every exec and exit) from
short-lived processes (children of a daemon that forks them) on 10,000 PIDs, a fifth of them
in a container; after a process exits, its PID goes to a new process.

usage: gen-corpus.py N OUT [SEED]

For a fleet (bench/lake.sh): HOSTS=K spreads the events over hosts node-00 .. node-K-1 in turn
(default one host, `buildhost`), and STEP_NS=S draws the time between events from 1 to S ns
(default 20000: a busy host; 172800000 spreads 2 M events over two days).
"""
import json
import os
import random
import sys

N = int(sys.argv[1])
OUT = sys.argv[2]
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)

COMMS = ["bash", "sshd", "nginx", "python3", "curl", "systemd", "containerd", "node", "postgres", "cron", "dockerd", "ls", "cat", "make", "cc1", "ld"]
PATHS = ["/etc/passwd", "/etc/hosts", "/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/proc/self/status",
         "/var/log/syslog", "/tmp/build/out.o", "/home/user/.bashrc", "/etc/nginx/nginx.conf", "/usr/bin/python3.11",
         "/var/lib/postgresql/15/main/base/16384/1259", "/dev/null", "/etc/ssl/certs/ca-certificates.crt", "/root/.ssh/authorized_keys"]
CONTAINER = "ae95a93ce0c2f1b824ac4b205e4d1a3c8f724d663626c1ad23576efec64318de"
DOMAINS = ["example.com", "api.github.com", "deb.debian.org", "registry-1.docker.io", "evil.example.net"]


# Each process keeps its identity from event to event, as in real output: its start time and
# Tracee's entity IDs (a hash of the host PID and the start time).
PROCESSES = {}


def identity(host_pid, ts):
    p = PROCESSES.get(host_pid)
    if p is None:
        start = ts - rnd.randrange(10**9, 10**12)
        p = (start, (host_pid * 2654435761 + start) % 2**32)
        PROCESSES[host_pid] = p
    return p


def parent_of(pid):
    """Daemons (PIDs below 1000) are children of init; the short-lived processes of a daemon."""
    return 1 if pid < 1000 else 100 + (pid - 1000) % 300


def ctx(ts, name, eid, comm, pid, in_container, syscall, ret=0):
    host_pid = pid + (100000 if in_container else 0)
    ppid = parent_of(pid)
    host_ppid = ppid + (100000 if in_container and ppid != 1 else 0)
    start, entity = identity(host_pid, ts)
    parent_start, parent_entity = identity(host_ppid, ts)
    return {
        "timestamp": ts, "threadStartTime": start, "processorId": rnd.randrange(2),
        "processId": pid, "cgroupId": 5000 + pid % 40, "threadId": pid, "parentProcessId": ppid,
        "hostProcessId": host_pid, "hostThreadId": host_pid, "hostParentProcessId": host_ppid,
        "userId": rnd.choice([0, 0, 1000, 33]), "mountNamespace": 4026531841 + (10 if in_container else 0),
        "pidNamespace": 4026531836 + (10 if in_container else 0), "processName": comm,
        "executable": {"path": "/usr/bin/" + comm}, "hostName": "buildhost", "containerId": CONTAINER if in_container else "",
        "container": {"id": CONTAINER, "name": "web", "image": "nginx:1.25", "imageDigest": "nginx@sha256:1"} if in_container else {},
        "kubernetes": {}, "eventId": str(eid), "eventName": name, "matchedPolicies": ["default"], "argsNum": 0,
        "returnValue": ret, "syscall": syscall, "stackAddresses": None,
        "contextFlags": {"containerStarted": in_container, "isCompat": False},
        "threadEntityId": entity, "processEntityId": entity, "parentEntityId": parent_entity,
        "args": [],
    }


def a(name, ty, value):
    return {"name": name, "type": ty, "value": value}


def event(ts):
    r = rnd.random()
    # Most events come from 300 long-lived daemons, the rest from short-lived processes.
    pid = rnd.randrange(100, 400) if rnd.random() < 0.8 else rnd.randrange(1000, 11000)
    comm = COMMS[pid % len(COMMS)]
    cont = rnd.random() < 0.2
    path = rnd.choice(PATHS)
    if r < 0.25:
        e = ctx(ts, "security_file_open", 730, comm, pid, cont, "openat")
        e["args"] = [a("pathname", "const char*", path), a("flags", "string", rnd.choice(["O_RDONLY|O_LARGEFILE", "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE"])),
                     a("dev", "dev_t", 271581185), a("inode", "unsigned long", rnd.randrange(10**7)), a("ctime", "unsigned long", ts - 10**12),
                     a("syscall_pathname", "const char*", path)]
    elif r < 0.45:
        sc = rnd.choice(["openat", "close", "read", "write", "mmap", "fstat"])
        e = ctx(ts, sc, {"openat": 257, "close": 3, "read": 0, "write": 1, "mmap": 9, "fstat": 5}[sc], comm, pid, cont, sc, rnd.randrange(-2, 4096))
        if sc == "openat":
            e["args"] = [a("dirfd", "int", -100), a("pathname", "const char*", path), a("flags", "string", "O_RDONLY|O_CLOEXEC"), a("mode", "mode_t", 0)]
        elif sc == "mmap":
            e["args"] = [a("addr", "void*", "0x0"), a("length", "size_t", 4096 * rnd.randrange(1, 64)), a("prot", "int", 3), a("flags", "int", 34), a("fd", "int", -1), a("off", "off_t", 0)]
        else:
            e["args"] = [a("fd", "int", rnd.randrange(3, 64))] + ([a("buf", "void*", hex(rnd.randrange(2**47))), a("count", "size_t", 4096)] if sc in ("read", "write") else [])
    elif r < 0.50:
        # Short-lived processes exec; daemons do not.
        pid = rnd.randrange(1000, 11000)
        comm = COMMS[pid % len(COMMS)]
        e = ctx(ts, "sched_process_exec", 710, comm, pid, cont, "execve")
        argv = [comm] + rnd.sample(["-l", "-a", "--color=auto", "/tmp", "-c", "echo hi", "install", "-j2"], rnd.randrange(0, 4))
        e["args"] = [a("cmdpath", "const char*", "/usr/bin/" + comm), a("pathname", "const char*", "/usr/bin/" + comm), a("dev", "dev_t", 271581185),
                     a("inode", "unsigned long", rnd.randrange(10**7)), a("ctime", "unsigned long", ts - 10**13), a("inode_mode", "umode_t", 33261),
                     a("interpreter_pathname", "const char*", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), a("interpreter_dev", "dev_t", 271581185),
                     a("interpreter_inode", "unsigned long", 3644), a("interpreter_ctime", "unsigned long", ts - 10**13), a("argv", "const char**", argv),
                     a("interp", "const char*", "/usr/bin/" + comm), a("stdin_type", "string", "S_IFCHR"), a("stdin_path", "char*", "/dev/pts/1"),
                     a("invoked_from_kernel", "int", 0), a("env", "const char**", ["PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8"])]
    elif r < 0.55:
        # Daemons fork the short-lived processes.
        pid = rnd.randrange(100, 400)
        comm = COMMS[pid % len(COMMS)]
        e = ctx(ts, "sched_process_fork", 711, comm, pid, cont, "clone")
        child = 1000 + (pid - 100) + 300 * rnd.randrange(34)
        e["args"] = [a("parent_tid", "int", pid), a("parent_ns_tid", "int", pid), a("parent_pid", "int", pid), a("parent_ns_pid", "int", pid),
                     a("child_tid", "int", child), a("child_ns_tid", "int", child), a("child_pid", "int", child), a("child_ns_pid", "int", child),
                     a("start_time", "unsigned long", identity(child + (100000 if cont else 0), ts)[0])]
    elif r < 0.60:
        # Short-lived processes exit, and their PID is later reused by a new process.
        pid = rnd.randrange(1000, 11000)
        comm = COMMS[pid % len(COMMS)]
        e = ctx(ts, "sched_process_exit", 712, comm, pid, cont, "exit_group")
        e["args"] = [a("exit_code", "long", 0), a("process_group_exit", "bool", True)]
        PROCESSES.pop(pid + (100000 if cont else 0), None)
    elif r < 0.66:
        e = ctx(ts, "security_socket_connect", 731, comm, pid, cont, "connect")
        if rnd.random() < 0.3:
            sa = {"sa_family": "AF_UNIX", "sun_path": "/var/run/nscd/socket"}
        else:
            sa = {"sa_family": "AF_INET", "sin_port": str(rnd.choice([53, 80, 443, 5432])), "sin_addr": "10.0.%d.%d" % (rnd.randrange(256), rnd.randrange(256))}
        e["args"] = [a("sockfd", "int", rnd.randrange(3, 30)), a("type", "string", "SOCK_STREAM"), a("remote_addr", "struct sockaddr*", sa)]
    elif r < 0.68:
        e = ctx(ts, "security_socket_bind", 733, comm, pid, cont, "bind")
        e["args"] = [a("sockfd", "int", 5), a("local_addr", "struct sockaddr*", {"sa_family": "AF_INET", "sin_port": "8080", "sin_addr": "0.0.0.0"})]
    elif r < 0.73:
        q = rnd.choice(DOMAINS)
        meta = {"src_ip": "10.0.0.5", "dst_ip": "10.0.0.2", "src_port": rnd.randrange(30000, 60000), "dst_port": 53, "protocol": 17, "packet_len": 68, "iface": "eth0"}
        if rnd.random() < 0.5:
            e = ctx(ts, "net_packet_dns_request", 2007, comm, pid, cont, "sendto")
            e["args"] = [a("metadata", "trace.PktMeta", meta), a("dns_questions", "[]trace.DnsQueryData", [{"query": q, "query_type": "A", "query_class": "IN"}])]
        else:
            e = ctx(ts, "net_packet_dns_response", 2008, comm, pid, cont, "recvfrom")
            e["args"] = [a("metadata", "trace.PktMeta", meta), a("dns_response", "[]trace.DnsResponseData",
                          [{"query_data": {"query": q, "query_type": "A", "query_class": "IN"}, "dns_answer": [{"answer_type": "A", "ttl": 60, "answer": "93.184.216.34"}]}])]
    elif r < 0.75:
        e = ctx(ts, "net_packet_http_request", 2010, comm, pid, cont, "sendto")
        e["args"] = [a("metadata", "trace.PktMeta", {"src_ip": "10.0.0.5", "dst_ip": "93.184.216.34", "src_port": 40000, "dst_port": 80, "protocol": 6, "packet_len": 140, "iface": "eth0"}),
                     a("http_request", "trace.ProtoHTTPRequest", {"method": "GET", "protocol": "HTTP/1.1", "host": rnd.choice(DOMAINS), "uri_path": "/index.html", "headers": {"Accept": ["*/*"], "User-Agent": ["curl/8.3.0"]}, "content_length": 0})]
    elif r < 0.78:
        e = ctx(ts, "magic_write", 717, comm, pid, cont, "write")
        e["args"] = [a("pathname", "const char*", "/tmp/dropped." + rnd.choice(["bin", "sh", "txt"])), a("bytes", "bytes", rnd.choice(["f0VMRgIBAQAAAAAAAAAAAA==", "IyEvYmluL3NoCmVjaG8gaGkK", "aGVsbG8gd29ybGQK"])),
                     a("dev", "dev_t", 271581185), a("inode", "unsigned long", rnd.randrange(10**7))]
    elif r < 0.81:
        e = ctx(ts, "security_inode_unlink", 733, comm, pid, cont, "unlinkat")
        e["args"] = [a("pathname", "const char*", "/tmp/tmp%06d" % rnd.randrange(10**6)), a("inode", "unsigned long", rnd.randrange(10**7)), a("dev", "dev_t", 271581185), a("ctime", "unsigned long", ts)]
    elif r < 0.83:
        e = ctx(ts, "kill", 62, comm, pid, cont, "kill")
        e["args"] = [a("pid", "int", rnd.randrange(2, 60000)), a("sig", "int", rnd.choice([9, 15, 0]))]
    elif r < 0.84:
        e = ctx(ts, "ptrace", 101, comm, pid, cont, "ptrace")
        e["args"] = [a("request", "long", rnd.choice([0, 16, 4, 7])), a("pid", "pid_t", rnd.randrange(2, 60000)), a("addr", "void*", "0x0"), a("data", "void*", "0x0")]
    elif r < 0.85:
        e = ctx(ts, "memfd_create", 319, comm, pid, cont, "memfd_create")
        e["args"] = [a("name", "const char*", "jit"), a("flags", "unsigned int", 1)]
    elif r < 0.86:
        e = ctx(ts, "dropped_executable", 6022, comm, pid, cont, "")
        e["args"] = [a("path", "const char*", "/tmp/x.bin")]
        e["metadata"] = {"Version": "1", "Description": "An Executable file was dropped in the system during runtime.", "Tags": None,
                         "Properties": {"Category": "defense-evasion", "Kubernetes_Technique": "", "Severity": 2, "Technique": "Masquerading",
                                        "external_id": "T1036", "id": "attack-pattern--42e8de7b-37b2-4258-905a-6897815e58e0", "signatureID": "TRC-1022", "signatureName": "New executable dropped"}}
    else:
        sc = rnd.choice(["getdents64", "newfstatat", "futex", "epoll_wait", "recvmsg"])
        e = ctx(ts, sc, 217, comm, pid, cont, sc, rnd.randrange(0, 100))
        e["args"] = [a("fd", "int", rnd.randrange(3, 64)), a("count", "unsigned int", 32768)]
    e["argsNum"] = len(e["args"])
    return e


HOSTS = int(os.environ.get("HOSTS", "1"))
STEP_NS = int(os.environ.get("STEP_NS", "20000"))

with open(OUT, "w") as out:
    ts = 1_700_000_000_000_000_000
    for i in range(N):
        ts += rnd.randrange(1, STEP_NS)
        e = event(ts)
        if HOSTS > 1:
            e["hostName"] = "node-%02d" % (i % HOSTS)
        out.write(json.dumps(e, separators=(",", ":")))
        out.write("\n")
