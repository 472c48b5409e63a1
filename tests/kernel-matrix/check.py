#!/usr/bin/env python3
"""The host side of the kernel matrix (scripts/kernel-matrix.sh).

    check.py --print-events
        the events each guest traces (comma-separated, for `osprey trace -e`)
    check.py --results DIR [--ldd FILE] [--docs FILE] LABEL...
        checks what each guest sent back (DIR/LABEL/guest/), prints one table, kernel × event
        group, with the reason of every failure below it, optionally writes the docs page, and
        exits 1 when a cell fails

Per kernel and group, a cell is OK, FAIL or n/a. The expectations are derived from what the
scenario did, measured in the guest (stat and SHA-256 of the real files, the steps' exit codes),
never from an earlier run: every expected event present with its key arguments, every artifact
stored intact and equal to the real file, nothing lost, and the same normalised event set on
every kernel. An event that `osprey trace --list` reports unavailable on a kernel fails its
group with the tracer's reason, unless expected-na.conf accepts it for that kernel (then n/a).
"""

import argparse
import base64
import fnmatch
import json
import os
import re
import sys
from collections import Counter, OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))

# What each guest traces.
EVENTS = [
    "sched_process_exec", "sched_process_fork", "sched_process_exit", "execve",
    "security_file_open", "magic_write", "security_inode_unlink", "openat", "unlinkat",
    "memfd_create", "mem_prot_alert", "security_file_mprotect",
    "security_socket_bind", "security_socket_connect", "security_socket_accept",
    "bind", "connect", "listen", "accept", "accept4",
    "net_packet_dns_request", "net_packet_dns_response",
    "net_packet_http_request", "net_packet_http_response",
    "ptrace", "kill", "setuid", "init_module", "finit_module",
]

# Paths of the scenario (scenario.sh, init.sh).
W = "/mnt/ext4/work"
KM = "/opt/km"
WX_DUMP = "/results/wx-region.bin"


class Fail(Exception):
    pass


class NA(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# what a guest sent back


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def json_lines(path):
    out, bad = [], 0
    for line in read(path).splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            bad += 1
    return out, bad


def kdev(st_dev):
    """The kernel's s_dev encoding (major << 20 | minor) of a userspace st_dev."""
    major = (st_dev >> 8) & 0xFFF
    minor = (st_dev & 0xFF) | ((st_dev >> 12) & 0xFFF00)
    return (major << 20) | minor


def parse_list(text):
    """`osprey trace --list`: {event: (available, hook or reason)}, and the commented sections
    above the table ("# kernel features ...:", "# hooks on this kernel:"), each a list of
    (name, status)."""
    events, sections, current = {}, OrderedDict(), None
    for line in text.splitlines():
        m = re.match(r"^# (\S.*):$", line)
        if m:
            current = sections.setdefault(m.group(1), [])
            continue
        m = re.match(r"^#\s{2,}(\S.*?)\s{2,}(\S.*)$", line)
        if m and current is not None:
            current.append((m.group(1), m.group(2).strip()))
            continue
        m = re.match(r"^(\S+)\s+(-?\d+)\s+(\S+)\s+(yes|no)\s+(.*)$", line)
        if m:
            events[m.group(1)] = (m.group(4) == "yes", m.group(5).strip(), m.group(3).split(","))
    hooks = next((v for k, v in sections.items() if k.startswith("hooks")), [])
    features = next((v for k, v in sections.items() if k.startswith("kernel features")), [])
    return events, hooks, features


NOISE = re.compile(
    r"^(\d+: |; |R\d+(_[rwD]+)?=|frame\d+:|from \d+ to \d+|caller:|callee:|returning from"
    r"|to caller at|processed \d+ insns|verification time|stack depth|Func#\d+ .* is safe for"
    r"|Validating |mark_precise|last_idx|regs=|parent didn't have|func#\d+ @|\d+\.\.\.)")


def load_log_reason(lines):
    """The verifier's reason in one program's load log: the "Reason:" paragraph of newer
    kernels' summaries (with the "At:" place), else the last two lines that are neither
    instructions, register states nor statistics."""
    for i, line in enumerate(lines):
        if line.startswith("Reason:"):
            reason = []
            for more in lines[i + 1:]:
                if not more.strip():
                    break
                reason.append(more.strip())
            at = ""
            for j in range(i, len(lines)):
                if lines[j].startswith("At:") and j + 1 < len(lines):
                    at = f" (at {lines[j + 1].strip()})"
                    break
            return " ".join(reason) + at
    meaningful = [l.strip() for l in lines if l.strip() and not NOISE.match(l.strip())]
    return "; ".join(meaningful[-2:])


def verifier_reasons(text):
    """From libbpf's messages (OSPREY_BPF_DEBUG): why each program or map failed to load."""
    out = OrderedDict()
    prog, lines = None, []
    for raw in text.splitlines():
        line = re.sub(r"^(libbpf: )+", "", raw)
        m = re.match(r"prog '([^']+)': -- BEGIN PROG LOAD LOG --", line)
        if m:
            prog, lines = m.group(1), []
            continue
        if prog:
            if "-- END PROG LOAD LOG --" in line:
                why = load_log_reason(lines)
                if why:
                    out.setdefault(f"prog {prog}", why)
                prog = None
            else:
                lines.append(line)
            continue
        m = re.match(r"map '([^']+)': (failed .*)", line.strip())
        if m:
            out.setdefault(f"map {m.group(1)}", m.group(2))
    return out


class Guest:
    def __init__(self, results, label):
        self.label = label
        self.dir = os.path.join(results, label)
        g = os.path.join(self.dir, "guest")
        self.g = g
        self.error = read(os.path.join(self.dir, "error.txt")).strip()
        self.release = read(os.path.join(self.dir, "release.txt")).strip()
        self.packages = read(os.path.join(self.dir, "packages.txt")).split("\n")
        self.packages = [p for p in self.packages if p.strip()]
        self.boot_seconds = read(os.path.join(self.dir, "boot-seconds")).strip()
        self.accel = read(os.path.join(self.dir, "accel.txt")).strip()
        self.returned = os.path.exists(os.path.join(g, "trace.rc"))
        self.list_text = read(os.path.join(g, "list.txt"))
        self.list, self.hooks, self.features = parse_list(self.list_text)
        self.list_stderr = read(os.path.join(g, "list.stderr"))
        self.verifier = verifier_reasons(self.list_stderr)
        self.events, self.bad_event_lines = json_lines(os.path.join(g, "events.json"))
        self.artifacts, self.bad_artifact_lines = json_lines(os.path.join(g, "artifacts.jsonl"))
        self.trace_rc = read(os.path.join(g, "trace.rc")).strip()
        self.trace_seconds = read(os.path.join(g, "trace.seconds")).strip()
        self.list_seconds = read(os.path.join(g, "list.seconds")).strip()
        self.trace_stderr = read(os.path.join(g, "trace.stderr"))
        self.storm_events, _ = json_lines(os.path.join(g, "storm.json"))
        self.storm_stderr = read(os.path.join(g, "storm.stderr"))
        self.storm_rc = read(os.path.join(g, "storm.rc")).strip()
        self.steps = dict(
            line.split()[:2] for line in read(os.path.join(g, "steps.txt")).splitlines()
            if len(line.split()) >= 2
        )
        self.real = self._sha(os.path.join(g, "real.sha256"))
        self.captured = self._sha(os.path.join(g, "captured.sha256"))
        self.stat = {}
        for line in read(os.path.join(g, "stat.txt")).splitlines():
            parts = line.split("|")
            if len(parts) == 5:
                self.stat[parts[0]] = {
                    "inode": int(parts[1]), "dev": kdev(int(parts[2])), "size": int(parts[3]),
                    "mode": int(parts[4], 16),
                }

    @staticmethod
    def _sha(path):
        out = {}
        for line in read(path).splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2:
                out[parts[1].strip().lstrip("*")] = parts[0]
        return out

    def named(self, _event, **want):
        return [e for e in self.events if e.get("eventName") == _event and matches(e, want)]


def args(ev):
    return {a.get("name"): a.get("value") for a in ev.get("args", [])}


def arg(ev, name):
    return args(ev).get(name)


def matches(ev, want):
    a = args(ev)
    for k, v in want.items():
        if k == "processName":
            if ev.get("processName") != v:
                return False
        elif k == "returnValue":
            if not (v(ev.get("returnValue")) if callable(v) else ev.get("returnValue") == v):
                return False
        elif callable(v):
            if k not in a or not v(a[k]):
                return False
        elif a.get(k, object()) != v:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# the groups: what each must produce


def load_na():
    """expected-na.conf: (kernel glob, event or group, reason) the matrix accepts as n/a."""
    out = []
    for line in read(os.path.join(HERE, "expected-na.conf")).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            kernel, what, reason = (line.split(None, 2) + ["", ""])[:3]
            out.append((kernel, what, reason.strip()))
    return out


NA_RULES = load_na()


def accepted_na(g, what):
    for kernel, w, reason in NA_RULES:
        if w == what and (fnmatch.fnmatch(g.label, kernel) or fnmatch.fnmatch(g.release, kernel)):
            return reason
    return None


def need(g, *events):
    """Every event must be available on this kernel, per --list."""
    for ev in events:
        avail = g.list.get(ev)
        if avail is None:
            raise Fail(f"--list does not know {ev}")
        if not avail[0]:
            reason = accepted_na(g, ev)
            if reason:
                raise NA(f"{ev}: {reason} (--list: {avail[1]})")
            raise Fail(f"unavailable (--list): {avail[1]}")


def one(g, _event, _what, **want):
    found = g.named(_event, **want)
    if not found:
        seen = len(g.named(_event))
        raise Fail(f"no {_event} {_what} ({seen} {_event} events, none matching)")
    return found[0]


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def stat_of(g, path):
    st = g.stat.get(path)
    if st is None:
        raise Fail(f"the guest did not stat {path}")
    return st


def artifact(g, kind, original, event=None):
    found = [r for r in g.artifacts if r.get("kind") == kind and r.get("original_path") == original
             and (event is None or r.get("event") == event)]
    if not found:
        raise Fail(f"no {kind} artifact of {original or event}")
    return found[0]


def same_as_real(g, rec, real_path):
    want = g.real.get(real_path)
    if want is None:
        raise Fail(f"the guest did not hash {real_path}")
    expect(rec.get("sha256") == want,
           f"{rec.get('kind')} artifact of {real_path}: sha256 {str(rec.get('sha256'))[:12]}… "
           f"!= the real file's {want[:12]}…")
    expect(rec.get("complete") is True and not rec.get("lost"),
           f"{rec.get('kind')} artifact of {real_path} incomplete: {rec.get('lost')}")


def step_ok(g, *names):
    if not g.steps:
        raise Fail("the scenario did not run (see the run column)")
    for n in names:
        rc = g.steps.get(n)
        if rc != "0":
            raise Fail(f"scenario step {n} " + ("did not run" if rc is None else f"exited {rc}"))


# scenario.sh's steps, in order
STEPS = ["exec_binary", "exec_script", "files", "memfd", "mprotect", "sockets", "uring", "dns",
         "http", "ptrace", "kill", "setuid", "module", "proc_files"]

# scenario.sh's storm: children storm-0..N-1, each creating, writing and unlinking ROUNDS files
STORM_DIR, STORM_CHILDREN, STORM_ROUNDS = "/tmp/storm", 4, 300


def check_run(g):
    if g.error:
        raise Fail(g.error)
    if not g.returned:
        raise Fail("no results came back (boot timeout or panic: see console.log)")
    if not g.list:
        raise Fail("osprey trace --list printed no table: " + first_error(g.list_stderr))
    hung = read(os.path.join(g.g, "trace.timeout")).strip()
    if hung:
        stopped = [l for l in read(os.path.join(g.g, "hang-processes.txt")).splitlines()
                   if " t (" in l.lower() or "(stopped)" in l or "(tracing stop)" in l]
        last = list(g.steps)[-1] if g.steps else "none"
        raise Fail(f"the scenario hung: osprey trace stopped after {hung} s, in the step after "
                   f"{last}" + (f"; stopped processes: {'; '.join(stopped)}" if stopped else ""))
    missing = [n for n in STEPS if n not in g.steps]
    if g.steps and missing:
        raise Fail(f"the scenario did not finish: no result for {', '.join(missing)}")
    rc = g.trace_rc
    if rc != "0":
        why = first_error(g.trace_stderr)
        failed = [n for n, r in g.steps.items() if r != "0"]
        if failed:
            why = "failed steps: " + ", ".join(failed)
        raise Fail(f"osprey trace exited {rc}: {why}")
    expect(g.events, "no events written")
    expect(not g.bad_event_lines, f"{g.bad_event_lines} unreadable event lines")


def first_error(text):
    for line in text.splitlines():
        if "error" in line.lower() or "failed" in line.lower():
            return line.strip()[:200]
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:200] if lines else "(no message)"


def check_exec(g):
    need(g, "sched_process_exec", "execve")
    step_ok(g, "exec_binary", "exec_script")
    binary = f"{W}/km-hello"
    argv = [binary, "hello", "osprey", "matrix"]
    one(g, "execve", f"of {binary}", pathname=binary, argv=argv)
    ex = one(g, "sched_process_exec", f"of {binary}", pathname=binary, cmdpath=binary, argv=argv)
    st = stat_of(g, binary)
    expect(arg(ex, "inode") == st["inode"], f"exec inode {arg(ex, 'inode')} != {st['inode']}")
    expect(arg(ex, "dev") == st["dev"], f"exec dev {arg(ex, 'dev')} != {st['dev']}")
    expect(arg(ex, "inode_mode") == st["mode"], f"exec inode_mode {arg(ex, 'inode_mode')} != {st['mode']}")
    expect(ex.get("processName") == "km-hello", f"exec processName {ex.get('processName')}")
    same_as_real(g, artifact(g, "exec", binary), binary)
    script = f"{W}/hello.sh"
    one(g, "execve", f"of {script}", pathname=script, argv=[script, "one", "two"])
    one(g, "sched_process_exec", f"of the script {script} (cmdpath, interp /bin/sh, argv)",
        cmdpath=script, interp="/bin/sh", argv=["/bin/sh", script, "one", "two"],
        pathname="/bin/busybox")


def check_files(g):
    need(g, "security_file_open", "magic_write", "security_inode_unlink", "openat")
    step_ok(g, "files")
    f1 = f"{W}/f1"
    st = stat_of(g, f1)
    op = one(g, "security_file_open", "of ./f1 by cat", pathname=f1, syscall_pathname="./f1",
             processName="cat")
    expect(arg(op, "inode") == st["inode"], f"security_file_open inode {arg(op, 'inode')} != {st['inode']}")
    expect(arg(op, "dev") == st["dev"], f"security_file_open dev {arg(op, 'dev')} != {st['dev']}")
    expect(arg(op, "flags") & 3 == 0, "security_file_open flags are not O_RDONLY")
    one(g, "openat", "of ./f1", pathname="./f1", dirfd=-100, processName="cat")
    mws = g.named("magic_write", pathname=f1)
    expect(len(mws) == 1, f"{len(mws)} magic_write of f1 (want 1: the write at offset 0)")
    expect(arg(mws[0], "bytes") == base64.b64encode(b"ELF!").decode(),
           f"magic_write bytes {arg(mws[0], 'bytes')}")
    expect(arg(mws[0], "inode") == st["inode"], f"magic_write inode {arg(mws[0], 'inode')}")
    un = one(g, "security_inode_unlink", "of f1 by rm", pathname=f1, processName="rm")
    ext4 = [f"{h}: {s}" for h, s in g.hooks if "ext4_unlink" in h and s != "loads"]
    expect(arg(un, "inode") == st["inode"],
           f"security_inode_unlink inode {arg(un, 'inode')} != {st['inode']}"
           + (f" ({ext4[0]})" if ext4 else ""))
    expect(arg(un, "dev") == st["dev"], f"security_inode_unlink dev {arg(un, 'dev')} != {st['dev']}")
    expect((arg(un, "ctime") or 0) > 0, "security_inode_unlink ctime is 0")
    for p in (f1, f"{W}/kept.txt", f"{W}/hello.sh", f"{W}/fake.ko"):
        same_as_real(g, artifact(g, "write", p), p)


def check_sendfile(g):
    need(g, "sched_process_exec")
    step_ok(g, "exec_binary")
    p = f"{W}/km-hello"
    try:
        same_as_real(g, artifact(g, "write", p), p)
    except Fail as e:
        raise Fail(f"{e} (busybox cp writes it with sendfile)")


def check_memfd(g):
    need(g, "memfd_create", "sched_process_exec")
    step_ok(g, "memfd")
    one(g, "memfd_create", "named osprey-memfd", name="osprey-memfd", flags=1)
    one(g, "sched_process_exec", "of memfd:osprey-memfd", pathname="memfd:osprey-memfd",
        argv=["memfd-true"], cmdpath=lambda v: str(v).startswith("/proc/self/fd/"))
    same_as_real(g, artifact(g, "exec", "memfd:osprey-memfd"), f"{KM}/km-true")


def check_wx(g):
    need(g, "mem_prot_alert", "security_file_mprotect")
    step_ok(g, "mprotect")
    a4 = one(g, "mem_prot_alert", "alert 4 (W+X -> X)", alert=4, prot=5, prev_prot=7, len=8192)
    addr = arg(a4, "addr")
    one(g, "mem_prot_alert", "alert 1 (mmap W+X) at the same address", alert=1, prot=7, addr=addr)
    one(g, "security_file_mprotect", "of the region", addr=addr, prot=5, prev_prot=7)
    same_as_real(g, artifact(g, "mem", "", "mem_prot_alert"), WX_DUMP)


def sa4(port):
    return {"sa_family": "AF_INET", "sin_addr": "127.0.0.1", "sin_port": str(port)}


def sa6(port):
    return {"sa_family": "AF_INET6", "sin6_addr": "::1", "sin6_port": str(port),
            "sin6_flowinfo": "0", "sin6_scopeid": "0"}


def check_sockets(g):
    need(g, "security_socket_bind", "security_socket_connect", "security_socket_accept",
         "bind", "connect", "listen")
    step_ok(g, "sockets")
    for sa in (sa4(4242), sa6(4243)):
        who = f"{sa.get('sin_addr') or sa.get('sin6_addr')}:{sa.get('sin_port') or sa.get('sin6_port')}"
        one(g, "security_socket_bind", who, local_addr=sa, processName="km-actions")
        c = one(g, "security_socket_connect", who, remote_addr=sa, processName="km-actions")
        expect(arg(c, "type") == 1, f"security_socket_connect type {arg(c, 'type')} (want SOCK_STREAM)")
        expect(c.get("returnValue") == 0, f"connect to {who} returned {c.get('returnValue')}")
        one(g, "security_socket_accept", who, local_addr=sa, processName="km-actions")
        one(g, "connect", who, addr=sa)
        one(g, "bind", who, addr=sa)


def check_uring(g):
    need(g, "security_socket_connect", "security_socket_accept")
    step_ok(g, "uring")
    detail = g.list["security_socket_connect"][1]
    if "not io_uring's" in detail:
        reason = accepted_na(g, "uring")
        if reason:
            raise NA(f"{reason} (--list: {detail})")
        raise Fail(f"no hook for io_uring's calls (--list: {detail})")
    uring = {"processName": "km-actions", "sockfd": -1}
    a = one(g, "security_socket_accept", "by io_uring on 127.0.0.1:4250", local_addr=sa4(4250),
            **uring)
    c = one(g, "security_socket_connect", "by io_uring to 127.0.0.1:4251 (UDP)",
            remote_addr=sa4(4251), **uring)
    expect(arg(c, "type") == 2, f"io_uring's connect: type {arg(c, 'type')} (want SOCK_DGRAM)")
    for ev in (a, c):
        expect(ev.get("syscall") == "io_uring_enter",
               f"{ev['eventName']} by io_uring: syscall {ev.get('syscall')!r} (want io_uring_enter)")
    # its writes captured: read back from the file after io_uring made them
    path = "/mnt/ext4/work/uring.bin"
    expect(stat_of(g, path).get("size") == 8000, f"{path} is not 8000 bytes")
    same_as_real(g, artifact(g, "write", path), path)
    # the syscall's own call of the same step is still derived at its exit, and only there
    by_syscall = g.named("security_socket_connect", remote_addr=sa4(4250), processName="km-actions")
    expect(len(by_syscall) == 1 and by_syscall[0].get("syscall") == "connect",
           f"connect(2) to 127.0.0.1:4250: {len(by_syscall)} security_socket_connect events "
           f"(want one, at the syscall's exit)")


def check_integrity(g):
    need(g, "hooked_syscall", "hooked_proc_fops")
    detail = g.list["hooked_syscall"][1]
    m = re.search(r"sys_call_table, (\d+) entries, (\d+) the kernel's syscall handlers "
                  r"\((\d+) named like their syscall\), (\d+) outside kernel text", detail)
    expect(m, f"--list does not say what the syscall table check read: {detail}")
    n, handlers, own, hooked = map(int, m.groups())
    expect(n >= 300, f"only {n} syscall table entries read")
    expect(handlers == n and own >= 300,
           f"{n} entries, {handlers} of them syscall handlers, {own} named like their syscall: "
           "the words read are not the table")
    expect(hooked == 0, f"{hooked} entries outside kernel text on a clean kernel")
    found = [e for e in g.events if e.get("eventName") in
             ("hooked_syscall", "hooked_proc_fops", "syscall_hooking")]
    expect(not found, f"a clean kernel reported hooks: {found[:2]}")


# the detections the scenario's steps must set off live (default signatures), and what sets
# each off
FINDINGS = {
    "TRC-102": "ptrace",              # PTRACE_TRACEME (ptrace step)
    "TRC-104": "mem_prot_alert",      # W+X then X (mprotect step)
    "TRC-105": "sched_process_exec",  # exec of a memfd (memfd step)
    "TRC-1017": "init_module",        # and finit_module (module step)
    "TRC-1021": "security_file_open",  # /proc/kcore (proc_files step)
    "TRC-1031": "security_file_open",  # /proc/sysrq-trigger (proc_files step)
}


def check_detections(g):
    step_ok(g, "ptrace", "mprotect", "memfd", "module", "proc_files")
    found = {}
    for e in g.events:
        props = (e.get("metadata") or {}).get("Properties") or {}
        if "signatureID" in props:
            trigger = (arg(e, "triggeredBy") or {}).get("name")
            found.setdefault(props["signatureID"], set()).add(trigger)
    for sig, trigger in FINDINGS.items():
        expect(sig in found, f"no {sig} finding ({trigger})")
        expect(trigger in found[sig], f"{sig} set off by {sorted(found[sig])}, not {trigger}")
    unexpected = sorted(set(found) - set(FINDINGS))
    expect(not unexpected, f"findings nothing in the scenario does: {unexpected}")


# The test module of the hooks group (km_hook.c): its name, the syscall table entry it takes
# over (tuxcall, 184), its two replacement functions.
HOOK_MODULE = "km_hook"
HOOK_SYSCALL = "tuxcall"


def hook_file(g, name):
    return read(os.path.join(g.g, name)).strip()


def is_finding(e):
    return "signatureID" in ((e.get("metadata") or {}).get("Properties") or {})


def findings_of(events):
    out = {}
    for e in events:
        props = (e.get("metadata") or {}).get("Properties") or {}
        if "signatureID" in props:
            out.setdefault(props["signatureID"], []).append(e)
    return out


def check_hooks(g):
    built = read(os.path.join(g.dir, "hook-build.txt")).strip()
    if not built.startswith("built"):
        raise NA(built or "the test module was not built")
    avail = g.list.get("hooked_syscall")
    if avail is not None and not avail[0] and "CONFIG_KALLSYMS_ALL" in avail[1]:
        raise NA(f"hooked_syscall: {avail[1]}")
    need(g, "hooked_syscall", "hooked_proc_fops")
    expect(os.path.exists(os.path.join(g.g, "hook.rc")), "the hooks trace did not run")
    timeout = hook_file(g, "hook.timeout")
    expect(not timeout, f"the hooks trace hung: stopped after {timeout} s")
    expect(hook_file(g, "hook-insmod.rc") == "0",
           f"insmod km_hook.ko failed: {hook_file(g, 'hook-insmod.txt') or '(no message)'}")
    rc = hook_file(g, "hook.rc")
    expect(rc == "0", f"osprey trace (hooks) exited {rc}: {first_error(hook_file(g, 'hook.stderr'))}")
    dmesg = hook_file(g, "hook-dmesg.txt")
    m = re.search(r"km_hook: sys_call_table\[184\] ([0-9a-f]+) -> ([0-9a-f]+), "
                  r"/proc iterate_shared ([0-9a-fx]+) -> ([0-9a-fx]+)", dmesg)
    expect(m, f"the module did not say what it hooked: {dmesg[:300]!r}")
    original, hooked = m.group(1), m.group(2)
    expect(HOOK_MODULE in hook_file(g, "hook-modules.txt"), "km_hook is not in /proc/modules")
    syms = hook_file(g, "hook-kallsyms.txt")
    hooked_fn = next((l.split()[0] for l in syms.splitlines()
                      if l.split()[2:3] == ["km_hook_syscall"]), None)
    expect(hooked_fn and int(hooked_fn, 16) == int(hooked, 16),
           f"sys_call_table[184] was set to {hooked}, km_hook_syscall is at {hooked_fn}")

    events, bad = json_lines(os.path.join(g.g, "hook.json"))
    expect(bad == 0, f"{bad} damaged lines in hook.json")
    # the events themselves; findings (TRC-1020's is named hooked_proc_fops too) apart
    raw = [e for e in events if not is_finding(e)]
    hs = [e for e in raw if e.get("eventName") == "hooked_syscall"]
    expect(len(hs) == 1, f"{len(hs)} hooked_syscall events (want one): {[args(e) for e in hs[:3]]}")
    a = args(hs[0])
    want = {"syscall": HOOK_SYSCALL, "address": hooked, "function": "km_hook_syscall",
            "owner": HOOK_MODULE}
    expect(a == want, f"hooked_syscall {a} (want {want})")
    pf = [e for e in raw if e.get("eventName") == "hooked_proc_fops"]
    expect(len(pf) == 1, f"{len(pf)} hooked_proc_fops events (want one): {[args(e) for e in pf[:3]]}")
    pointers = arg(pf[0], "hooked_fops_pointers")
    want_p = [{"SymbolName": "iterate_shared", "ModuleOwner": HOOK_MODULE}]
    expect(pointers == want_p, f"hooked_proc_fops {pointers} (want {want_p})")
    found = findings_of(events)
    for sig, trigger in (("TRC-1030", "hooked_syscall"), ("TRC-1020", "hooked_proc_fops")):
        fs = found.get(sig, [])
        expect(len(fs) == 1, f"{len(fs)} {sig} findings (want one)")
        t = arg(fs[0], "triggeredBy") or {}
        expect(t.get("name") == trigger, f"{sig} set off by {t.get('name')}, not {trigger}")
        expect(HOOK_MODULE in json.dumps(t), f"{sig}'s trigger does not name {HOOK_MODULE}: {t}")
    others = sorted(set(found) - {"TRC-1030", "TRC-1020"})
    expect(not others, f"other findings: {others}")

    # unloaded: the pointers back as they were, and a new trace reports nothing
    expect(hook_file(g, "hook-rmmod.rc") == "0",
           f"rmmod km_hook failed: {hook_file(g, 'hook-rmmod.txt') or '(no message)'}")
    r = re.search(r"km_hook: restored: sys_call_table\[184\] ([0-9a-f]+), /proc iterate_shared "
                  r"([0-9a-fx]+)", dmesg)
    expect(r and r.group(1) == original and r.group(2) == m.group(3),
           f"the module did not put the pointers back: {dmesg[-300:]!r}")
    rc = hook_file(g, "hook-after.rc")
    expect(rc == "0", f"osprey trace after the unload exited {rc}: "
           f"{first_error(hook_file(g, 'hook-after.stderr'))}")
    expect(not hook_file(g, "hook-after.timeout"), "the trace after the unload hung")
    after, _ = json_lines(os.path.join(g.g, "hook-after.json"))
    expect(os.path.exists(os.path.join(g.g, "hook-after.json")), "no output of the trace after the unload")
    reported = [e.get("eventName") for e in after
                if e.get("eventName") in ("hooked_syscall", "hooked_proc_fops", "syscall_hooking")]
    expect(not reported, f"reported after the unload: {reported}")
    expect(not findings_of(after), f"findings after the unload: {sorted(findings_of(after))}")


def check_dns(g):
    need(g, "net_packet_dns_request", "net_packet_dns_response")
    step_ok(g, "dns")
    q = {"query": "osprey-test.example", "query_type": "A", "query_class": "IN"}
    req = one(g, "net_packet_dns_request", "for osprey-test.example A",
              dns_questions=lambda v: isinstance(v, list) and q in v)
    meta = arg(req, "metadata") or {}
    expect(meta.get("dst_ip") == "127.0.0.1" and meta.get("dst_port") == 53
           and meta.get("protocol") == 17, f"DNS request metadata {meta}")
    expect(req.get("processName") == "km-actions", f"DNS request by {req.get('processName')}")

    def answered(v):
        return isinstance(v, list) and any(
            r.get("query_data") == q and {"answer_type": "A", "ttl": 60, "answer": "10.1.2.3"}
            in (r.get("dns_answer") or []) for r in v)

    one(g, "net_packet_dns_response", "with A 10.1.2.3 TTL 60", dns_response=answered)


def check_http(g):
    need(g, "net_packet_http_request", "net_packet_http_response")
    step_ok(g, "http")
    body = g.stat.get(f"{KM}/www/osprey-test.txt", {}).get("size")
    req = one(g, "net_packet_http_request", "GET /osprey-test.txt",
              http_request=lambda r: r.get("method") == "GET" and r.get("uri_path") == "/osprey-test.txt"
              and r.get("host") == "127.0.0.1:8080" and r.get("protocol") == "HTTP/1.1")
    expect(req.get("processName") == "wget", f"HTTP request by {req.get('processName')}")
    meta = arg(req, "metadata") or {}
    expect(meta.get("dst_port") == 8080 and meta.get("protocol") == 6, f"HTTP request metadata {meta}")
    one(g, "net_packet_http_response", f"200 with Content-Length {body}",
        http_response=lambda r: r.get("status_code") == 200 and r.get("content_length") == body)
    p = f"{W}/download.txt"
    same_as_real(g, artifact(g, "write", p), p)


def check_ptrace(g):
    need(g, "ptrace")
    step_ok(g, "ptrace")
    one(g, "ptrace", "PTRACE_TRACEME returning 0", request=0, returnValue=0)
    cont = one(g, "ptrace", "PTRACE_CONT returning 0", request=7, returnValue=0)
    expect((arg(cont, "pid") or 0) > 0, f"PTRACE_CONT pid {arg(cont, 'pid')}")


def check_kill(g):
    need(g, "kill", "sched_process_exit")
    step_ok(g, "kill")
    k = one(g, "kill", "SIGTERM by km-actions", sig=15, processName="km-actions", returnValue=0)
    pid = arg(k, "pid")
    ex = [e for e in g.named("sched_process_exit") if e.get("hostProcessId") == pid]
    expect(ex, f"no sched_process_exit of the killed pid {pid}")
    expect(arg(ex[0], "signal_code") == 15, f"the killed process exited with signal {arg(ex[0], 'signal_code')}")


def check_setuid(g):
    need(g, "setuid")
    step_ok(g, "setuid")
    one(g, "setuid", "uid 65534 returning 0", uid=65534, returnValue=0, processName="km-actions")


def check_module(g):
    need(g, "init_module", "finit_module")
    step_ok(g, "module")
    p = f"{W}/fake.ko"
    size = stat_of(g, p)["size"]
    one(g, "init_module", f"of {size} bytes, failing", len=size, returnValue=lambda r: r is not None and r < 0)
    one(g, "finit_module", "failing", returnValue=lambda r: r is not None and r < 0)
    same_as_real(g, artifact(g, "module", p, "finit_module"), p)
    same_as_real(g, artifact(g, "module", "", "init_module"), p)


def check_preempt(g):
    """The storm (init.sh's run_storm, a trace of its own): every record whole — the path it
    names is its own task's (child K, named storm-K, only touches cK-*) — and each event once
    per file. Where events are missing, the tracer must have counted at least as many lost
    (the kernel skipping every copy of a program, or a record another task took): then the cell
    is n/a with the count, a limit of the kernel under this load; missing more than counted is a
    silent loss, and fails."""
    need(g, "openat", "security_file_open", "magic_write", "security_inode_unlink")
    expect(g.storm_rc == "0", f"the storm's trace exited {g.storm_rc or '(did not run)'}")
    name_re = re.compile(re.escape(STORM_DIR) + r"/c(\d+)-(\d+)$")
    seen = Counter()
    for ev in g.storm_events:
        path = arg(ev, "pathname")
        if not isinstance(path, str) or not path.startswith(STORM_DIR + "/"):
            continue
        m = name_re.match(path)
        expect(m is not None, f"{ev.get('eventName')} names a path no task used: {path!r}")
        k, i = int(m.group(1)), int(m.group(2))
        expect(ev.get("processName") == f"storm-{k}",
               f"{ev.get('eventName')} of {path} by {ev.get('processName')!r} "
               f"(pid {ev.get('processId')}): a record mixed from two tasks")
        expect(k < STORM_CHILDREN and i < STORM_ROUNDS, f"{path}: no such storm file")
        seen[(ev.get("eventName"), k, i)] += 1
    missing = 0
    for name in ("openat", "security_file_open", "magic_write", "security_inode_unlink"):
        for k in range(STORM_CHILDREN):
            got = [seen[(name, k, i)] for i in range(STORM_ROUNDS)]
            twice = [i for i, n in enumerate(got) if n > 1]
            expect(not twice, f"{name} of c{k}-{twice[0] if twice else 0}: written twice")
            missing += sum(1 for n in got if n == 0)
    m = re.search(r"osprey: (\d+) events emitted, (\d+) lost(?:, at most (\d+) more)?",
                  g.storm_stderr)
    expect(m is not None, "no summary on the storm's stderr")
    counted = int(m.group(2)) + int(m.group(3) or 0)
    expect(missing <= counted,
           f"{missing} events missing, {counted} counted lost: a loss nobody reported")
    if missing:
        why = [l.strip() for l in g.storm_stderr.splitlines()
               if re.match(r"\s+(lost|possibly lost)", l)]
        raise NA(f"{missing} of {4 * STORM_CHILDREN * STORM_ROUNDS} events lost and counted "
                 f"(more tasks preempted inside the programs than copies): {'; '.join(why)}")


def check_artifacts(g):
    expect(g.artifacts, "no artifact index")
    expect(not g.bad_artifact_lines, f"{g.bad_artifact_lines} unreadable index lines")
    for r in g.artifacts:
        path = r.get("path")
        what = f"{r.get('kind')} artifact {path or r.get('original_path')}"
        expect(path, f"{what} was not stored: {r.get('note', '')}")
        stored = g.captured.get("./" + path)
        expect(stored is not None, f"{what}: no such file in the capture directory")
        expect(stored == r.get("sha256"), f"{what}: stored file's sha256 != the index's")
        expect(r.get("complete") is True and not r.get("lost"), f"{what} incomplete: {r.get('lost')}")
        orig = r.get("original_path")
        expect(orig or r.get("kind") not in ("write", "exec"),
               f"{what}: no original path ({r.get('note') or 'no note'})")
        if orig and orig in g.real and r.get("kind") in ("write", "exec", "module"):
            expect(g.real[orig] == r.get("sha256"), f"{what}: sha256 != the real {orig}'s")
    pcaps = [r for r in g.artifacts if r.get("kind") == "pcap"]
    expect(pcaps and all(r.get("size", 0) > 0 for r in pcaps), "no packet capture (net=lo)")


def check_loss(g):
    # "possibly lost" lines (runs the kernel skipped with no copy of the program to take them)
    # are upper bounds that count out-of-scope tasks' calls too: whether the scenario lost an
    # event through them is what the event groups and the "same" column check
    m = re.search(r"osprey: (\d+) events emitted, (\d+) lost", g.trace_stderr)
    expect(m, "no loss summary on stderr")
    expect(m.group(2) == "0", f"{m.group(2)} events lost")
    lost = [l.strip() for l in g.trace_stderr.splitlines()
            if re.match(r"\s+(lost|degraded|undecodable)", l)]
    expect(not lost, "; ".join(lost))
    markers = g.named("lost_events")
    expect(not markers, f"{len(markers)} lost_events markers")
    cut = [r.get("path") for r in g.artifacts if r.get("lost")]
    expect(not cut, f"bytes lost in {cut}")


GROUPS = [
    ("run", "the guest booted, `osprey trace` ran the scenario and exited with its status 0", check_run),
    ("exec", "exec of a binary and of a script on ext4 (execve, sched_process_exec: paths, argv, inode, dev; the binary captured)", check_exec),
    ("files", "open, first write, unlink on ext4 (security_file_open, magic_write, security_inode_unlink with inode/dev; written files captured)", check_files),
    ("sendfile", "a file written with sendfile (busybox cp) captured", check_sendfile),
    ("memfd", "exec of a memfd (memfd_create, sched_process_exec memfd:NAME; the bytes captured)", check_memfd),
    ("wx", "mmap W+X then mprotect to X (mem_prot_alert 1 and 4, security_file_mprotect; the region captured)", check_wx),
    ("sockets", "bind/listen/connect/accept on 127.0.0.1 and ::1 (security_socket_*, syscalls)", check_sockets),
    ("uring", "an accept, a UDP connect and two file writes through io_uring (security_socket_accept/connect at the LSM functions, sockfd -1; the file captured, read back after rw_verify_area)", check_uring),
    ("integrity", "the syscall table and /proc's directory operations read in the kernel and checked against kallsyms (hooked_syscall, hooked_proc_fops): each entry the kernel's own handler, nothing reported", check_integrity),
    ("dns", "a DNS query to a local server (net_packet_dns_request/response)", check_dns),
    ("http", "busybox wget from busybox httpd (net_packet_http_request/response; the download captured)", check_http),
    ("ptrace", "PTRACE_TRACEME and PTRACE_CONT", check_ptrace),
    ("kill", "kill(SIGTERM) of a child, and its exit by that signal", check_kill),
    ("setuid", "setuid(65534) in a child", check_setuid),
    ("module", "init_module and finit_module of a non-module (both fail; the image captured twice)", check_module),
    ("detections", "the signatures the scenario sets off, live: TRC-102, 104, 105, 1017, 1021, 1031 (and no other)", check_detections),
    ("hooks", "a test module (km_hook.c, built against the kernel's Debian headers) points sys_call_table[tuxcall] and /proc's iterate_shared at its own code: one hooked_syscall and one hooked_proc_fops naming it, one TRC-1030 and one TRC-1020; unloaded, a new trace reports nothing (n/a where it cannot be built, with why)", check_hooks),
    ("preempt", "4 tasks on 2 CPUs creating, writing and unlinking files at once, under a trace of their own: every record whole and written once; events the kernel kept the tracer from seeing all counted (n/a with the count)", check_preempt),
    ("artifacts", "every artifact stored, complete, its SHA-256 equal to the index's and the real file's; packets captured", check_artifacts),
    ("loss", "nothing lost (exit summary, lost_events, artifact ranges)", check_loss),
]


def run_group(g, name, fn):
    if name != "run":
        if g.error or not g.returned:
            return ("FAIL", "no results (see the run column)")
    reason = accepted_na(g, name)
    try:
        fn(g)
    except NA as e:
        return ("n/a", str(e))
    except Fail as e:
        if reason:
            return ("n/a", f"{reason} ({e})")
        return ("FAIL", str(e))
    except Exception as e:  # a checker bug or damaged results: a failure, with the cause
        return ("FAIL", f"checker error: {type(e).__name__}: {e}")
    return ("OK", "")


# ---------------------------------------------------------------------------------------------
# the normalised event set, compared across kernels

KEY_ARGS = {
    "execve": ["pathname", "argv"],
    "sched_process_exec": ["cmdpath", "pathname", "argv", "interp", "inode_mode", "prev_comm"],
    "sched_process_fork": [],
    "sched_process_exit": ["exit_code", "signal_code", "process_group_exit"],
    "security_file_open": ["pathname", "syscall_pathname", "flags"],
    "openat": ["dirfd", "pathname", "flags", "mode"],
    "magic_write": ["pathname", "bytes"],
    "security_inode_unlink": ["pathname"],
    "unlinkat": ["dirfd", "pathname", "flag"],
    "memfd_create": ["name", "flags"],
    "mem_prot_alert": ["alert", "len", "prot", "prev_prot", "pathname"],
    "security_file_mprotect": ["pathname", "prot", "prev_prot", "len"],
    "security_socket_bind": ["local_addr"],
    "security_socket_connect": ["type", "remote_addr"],
    "security_socket_accept": ["local_addr"],
    "bind": ["addr"],
    "connect": ["addr"],
    "listen": ["backlog"],
    "accept": ["addr"],
    "accept4": ["addr", "flags"],
    "net_packet_dns_request": ["metadata", "dns_questions"],
    "net_packet_dns_response": ["metadata", "dns_response"],
    "net_packet_http_request": ["metadata", "http_request"],
    "net_packet_http_response": ["metadata", "http_response"],
    "ptrace": ["request"],
    "kill": ["sig"],
    "setuid": ["uid"],
    "init_module": ["len", "param_values"],
    "finit_module": ["param_values", "flags"],
}

VOLATILE = {"src_port", "dst_port", "Date", "headers"}


def norm_value(v, key=None):
    if isinstance(v, str):
        v = re.sub(r"/proc/\d+", "/proc/N", v)
        if key in ("sin_port", "sin6_port") and v.isdigit() and int(v) >= 32768:
            return "*"
        return v
    if isinstance(v, dict):
        out = {}
        for k, x in sorted(v.items()):
            if k in ("src_port", "dst_port") and isinstance(x, int) and x >= 32768:
                x = "*"
            elif k in VOLATILE:
                continue
            out[k] = norm_value(x, k)
        return out
    if isinstance(v, list):
        return [norm_value(x) for x in v]
    return v


def normalise(ev):
    name = ev.get("eventName")
    keys = KEY_ARGS.get(name, [])
    a = args(ev)
    rv = ev.get("returnValue")
    rv = rv if isinstance(rv, int) and rv < 0 else "ok"
    parts = {k: norm_value(a.get(k), k) for k in keys if k in a}
    return json.dumps([name, ev.get("processName"), rv, parts], sort_keys=True)


def io_uring_race(ev, events):
    """io_uring's worker threads (iou-wrk-TID) come and go with the kernel's support for
    non-blocking I/O on each operation, not the tracer's doing: their events are left out, and
    so is the exit of a process that had one (whether its main thread or its worker exits last,
    which process_group_exit says, is a race between them)."""
    def worker(e):
        return str(e.get("processName", "")).startswith("iou-wrk-")
    if worker(ev):
        return True
    return ev.get("eventName") == "sched_process_exit" and any(
        worker(e) and e.get("hostProcessId") == ev.get("hostProcessId") for e in events)


def compare_sets(guests):
    """Per kernel: (missing, extra) normalised events against the majority of the kernels that
    can produce each event."""
    sets = {g.label: {normalise(e) for e in g.events if not io_uring_race(e, g.events)}
            for g in guests if g.events}
    out = {}
    every = Counter()
    for s in sets.values():
        every.update(s)
    for g in guests:
        if g.label not in sets:
            continue
        missing, extra = [], []
        for item, n in every.items():
            ev = json.loads(item)[0]
            eligible = [h for h in guests if h.label in sets and h.list.get(ev, (False,))[0]]
            if not eligible or not g.list.get(ev, (False,))[0]:
                continue
            have = sum(1 for h in eligible if item in sets[h.label])
            majority = have * 2 > len(eligible)
            if majority and item not in sets[g.label]:
                missing.append(item)
            elif not majority and item in sets[g.label]:
                extra.append(item)
        out[g.label] = (sorted(missing), sorted(extra))
    return out


def check_same(g, diffs):
    if g.error or not g.returned:
        return ("FAIL", "no results (see the run column)")
    if not g.events:
        return ("FAIL", "no events to compare")
    missing, extra = diffs.get(g.label, ([], []))
    if not missing and not extra:
        return ("OK", "")

    def short(items):
        return "; ".join(items[:4]) + (f"; … ({len(items)} in all)" if len(items) > 4 else "")

    why = []
    if missing:
        why.append(f"missing what most kernels have: {short(missing)}")
    if extra:
        why.append(f"not on most kernels: {short(extra)}")
    return ("FAIL", " | ".join(why))


# ---------------------------------------------------------------------------------------------
# the table, the notes and the docs page


def kernel_name(g):
    return f"{g.label} ({g.release})" if g.release and not g.release.startswith(g.label) else (g.release or g.label)


def build(guests):
    diffs = compare_sets(guests)
    cols = [name for name, _, _ in GROUPS] + ["same"]
    rows, notes = [], OrderedDict()
    for g in guests:
        cells = [run_group(g, name, fn) for name, _, fn in GROUPS]
        cells.append(check_same(g, diffs))
        row = []
        for status, why in cells:
            if why:
                n = notes.setdefault(why, len(notes) + 1)
                row.append(f"{status} [{n}]")
            else:
                row.append(status)
        rows.append((g, row))
    return cols, rows, notes


def table(cols, rows, md=False):
    head = ["kernel"] + cols + ["boot s"]
    body = [[kernel_name(g)] + row + [g.boot_seconds or "-"] for g, row in rows]
    if md:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*head), fmt.format(*["-" * w for w in widths])]
                     + [fmt.format(*r) for r in body])


def hook_notes(g):
    """What --list reports missing on this kernel (features and the fallback taken, hooks that
    do not load), with the loader's reason for each program or map that failed."""
    out = []
    for name, status in g.features:
        if not status.startswith("yes"):
            out.append(f"feature {name}: {status}")
    for hook, status in g.hooks:
        if status != "loads":
            out.append(f"hook {hook}: {status}")
    for what, why in g.verifier.items():
        probe = " (a feature probe: the fallback above is taken)" if what.startswith("prog probe_") else ""
        out.append(f"  {what}: {why}{probe}")
    return out


def failed(rows):
    return any(cell.startswith("FAIL") for _, row in rows for cell in row)


def print_report(guests, cols, rows, notes, ldd):
    print()
    print("Kernel matrix: osprey trace --capture on Debian kernels (scripts/kernel-matrix.sh)")
    print()
    print(table(cols, rows))
    print()
    for why, n in notes.items():
        print(f"[{n}] {why}")
    print()
    for g in guests:
        hn = hook_notes(g)
        if hn:
            print(f"{kernel_name(g)}: missing features (fallback taken), hooks that do not load, why:")
            for line in hn:
                print(f"    {line}")
    print(static_note(ldd))
    total = sum(int(g.boot_seconds) for g in guests if g.boot_seconds.isdigit())
    print(f"{len(guests)} kernels, {total} s of boots ({guests[0].accel if guests else ''})")
    print("RESULT:", "FAIL" if failed(rows) else "OK")


def static_note(ldd):
    if not ldd:
        return ""
    libs = [l.split()[0] for l in ldd.splitlines() if l.strip()]
    glibc = re.compile(r"(linux-vdso|ld-linux|libc\.so|libm\.so|libgcc_s|libpthread|libdl|librt)")
    other = [l for l in libs if not glibc.search(l)]
    if other:
        return f"The release binary links more than glibc: {' '.join(other)}"
    return f"The release binary needs only glibc (ldd: {' '.join(sorted(set(libs)))})"


def md_cell(text):
    return text.replace("|", "\\|")


def section_table(guests, what, rows_of):
    """NAME × kernel for one commented section of --list (features or hooks)."""
    names = []
    for g in guests:
        for name, _ in rows_of(g):
            if name not in names:
                names.append(name)
    head = [what] + [kernel_name(g) for g in guests]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        cells = [md_cell(dict(rows_of(g)).get(name, "-")) for g in guests]
        lines.append("| " + " | ".join([f"`{name}`"] + cells) + " |")
    return "\n".join(lines)


def by_value(guests, value_of):
    """Kernels grouped by a value: "all: V", or "5.10: V1; 6.1, 6.12: V2"."""
    groups = OrderedDict()
    for g in guests:
        groups.setdefault(value_of(g), []).append(g.label)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{', '.join(labels)}: {v}" for v, labels in groups.items())


def hook_table(guests):
    """Event → the hook --list names on each kernel (or why the event is unavailable); every
    event but the plain syscalls, which are summed up in one row."""
    def value(ev):
        def of(g):
            st = g.list.get(ev)
            if st is None:
                return "-"
            return md_cell(st[1]) if st[0] else "**unavailable**: " + md_cell(st[1])
        return of

    names, syscalls = [], []
    for g in guests:
        for ev, st in g.list.items():
            bucket = syscalls if "syscalls" in st[2] else names
            if ev not in bucket:
                bucket.append(ev)
    lines = ["| event | hook (the same on every kernel unless the kernels are named) |", "|---|---|"]
    for ev in names:
        lines.append(f"| `{ev}` | {by_value(guests, value(ev))} |")
    if syscalls:
        def sys_hooks(g):
            vals = sorted({(g.list[e][0], re.sub(r" \(sys_(enter|exit)\)$", "", g.list[e][1]))
                           for e in syscalls if e in g.list})
            return "; ".join(md_cell(h) if ok else "**unavailable**: " + md_cell(h) for ok, h in vals)
        lines.append(f"| the {len(syscalls)} syscall events | {by_value(guests, sys_hooks)} "
                     "(at sys_enter for those that do not return, else at sys_exit) |")
    return "\n".join(lines)


def write_docs(path, guests, cols, rows, notes, ldd, revision=""):
    out = []
    out.append("# Kernel support")
    out.append("")
    out.append("<!-- generated by scripts/kernel-matrix.sh (tests/kernel-matrix/check.py): do not edit -->")
    out.append("")
    out.append(
        "Osprey's tracer is checked on Debian's own kernels, each booted in qemu with the release "
        "binary: one scripted scenario (tests/kernel-matrix/scenario.sh) runs under "
        "`osprey trace --capture exec --capture write=/mnt/ext4/* --capture mem --capture module "
        "--capture net=lo`, and the host checks every expected event and its key arguments, every "
        "artifact's SHA-256 against the real file's, that nothing was lost, and that the "
        "normalised event set is the same on every kernel. `bash scripts/kernel-matrix.sh` runs it "
        "(`--kernels 5.10,6.1` for some; `--offline` once the packages are cached); "
        "`scripts/test.sh` runs it after the cargo tests. What broke on which kernel and how it "
        "was fixed: [kernel-breakage.md](kernel-breakage.md).")
    out.append("")
    out.append("## The matrix")
    out.append("")
    if revision:
        out.append(f"Last run: osprey `{revision}`.")
        out.append("")
    out.append(table(cols, rows, md=True))
    out.append("")
    for why, n in notes.items():
        out.append(f"{n}. {why.replace('|', '/')}")
    out.append("")
    out.append("Columns:")
    out.append("")
    for name, title, _ in GROUPS:
        out.append(f"- **{name}**: {title}")
    out.append("- **same**: the normalised event set (event, process, key arguments; no times, "
               "pids, inodes or ephemeral ports) equals what most kernels that can produce each "
               "event produced")
    out.append("")
    out.append("## Kernels")
    out.append("")
    out.append("| kernel | Debian packages | boot, all of it (s) | `--list` (s) | `trace` (s) |")
    out.append("|---|---|---|---|---|")
    for g in guests:
        pk = ", ".join(f"`{p}`" for p in g.packages) or "-"
        out.append(f"| {kernel_name(g)} | {pk} | {g.boot_seconds or '-'} | "
                   f"{g.list_seconds or '-'} | {g.trace_seconds or '-'} |")
    out.append("")
    accel = guests[0].accel if guests else ""
    total = sum(int(g.boot_seconds) for g in guests if g.boot_seconds.isdigit())
    out.append(f"Boots under `qemu-system-x86_64 {accel} -m 1G -smp 2` on the machine that ran the "
               f"matrix: {total} s in all for {len(guests)} kernels (downloads and initramfs "
               f"images not counted). {static_note(ldd)}.")
    out.append("")
    out.append("## Kernel features and the fallback taken (`osprey trace --list`)")
    out.append("")
    out.append(section_table(guests, "feature", lambda g: g.features))
    out.append("")
    out.append("## Hooks (`osprey trace --list`)")
    out.append("")
    out.append(section_table(guests, "hook", lambda g: g.hooks))
    out.append("")
    out.append("Why a program or map did not load (libbpf's messages with `OSPREY_BPF_DEBUG=1`, "
               "the verifier's reason):")
    out.append("")
    for g in guests:
        if g.verifier:
            out.append(f"- {kernel_name(g)}:")
            for what, why in g.verifier.items():
                probe = " (a feature probe)" if what.startswith("prog probe_") else ""
                out.append(f"    - `{what}`: {md_cell(why)}{probe}")
    if not any(g.verifier for g in guests):
        out.append("- none")
    out.append("")
    out.append("## Hook per event per kernel (`osprey trace --list`)")
    out.append("")
    out.append(hook_table(guests))
    out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--print-events", action="store_true")
    p.add_argument("--results")
    p.add_argument("--ldd")
    p.add_argument("--docs")
    p.add_argument("--revision", default="", help="what was tested (git describe), for the docs")
    p.add_argument("labels", nargs="*")
    a = p.parse_args()
    if a.print_events:
        print(",".join(EVENTS))
        return 0
    if not a.results or not a.labels:
        p.error("--results and at least one kernel label are needed")
    guests = [Guest(a.results, label) for label in a.labels]
    ldd = read(a.ldd) if a.ldd else ""
    cols, rows, notes = build(guests)
    print_report(guests, cols, rows, notes, ldd)
    if a.docs:
        write_docs(a.docs, guests, cols, rows, notes, ldd, a.revision)
    bad_binary = "links more than glibc" in static_note(ldd)
    return 1 if failed(rows) or bad_binary else 0


if __name__ == "__main__":
    sys.exit(main())
