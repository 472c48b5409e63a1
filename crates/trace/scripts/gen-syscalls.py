#!/usr/bin/env python3
"""Regenerates src/data/syscalls_x86_64.txt from this machine's headers and tracefs.

Needs tracefs mounted (mount -t tracefs nodev /sys/kernel/tracing) and linux-libc-dev. Syscalls
the kernel has no tracefs format for keep their previous line from the existing file.
"""
import os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "src", "data", "syscalls_x86_64.txt")
old = {}
header = []
for line in open(data):
    if line.startswith("#"):
        header.append(line.rstrip("\n"))
        continue
    parts = line.rstrip("\n").split(" ", 2)
    old[parts[1]] = parts[2] if len(parts) > 2 else ""
nrs = {}
for line in open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"):
    m = re.match(r"#define __NR_(\w+) (\d+)", line)
    if m:
        nrs[m.group(1)] = int(m.group(2))
base = "/sys/kernel/tracing/events/syscalls"
out = header[:]
for name, nr in sorted(nrs.items(), key=lambda x: x[1]):
    fmt = f"{base}/sys_enter_{name}/format"
    if not os.path.exists(fmt):
        out.append(f"{nr} {name} {old.get(name, '')}".rstrip())
        continue
    args = []
    for line in open(fmt):
        m = re.match(r"\s*field:(.+?)\s*;\s*offset:(\d+)", line)
        if m and int(m.group(2)) >= 16:
            decl = m.group(1).strip()
            mm = re.match(r"(.*?)([A-Za-z_0-9]+)$", decl)
            ty = mm.group(1).strip().replace(" *", "*").replace("* ", "*")
            args.append(f"{mm.group(2)}:{ty}")
    out.append(f"{nr} {name} " + "|".join(args))
open(data, "w").write("\n".join(out) + "\n")
print(f"wrote {len(out) - len(header)} syscalls to {data}", file=sys.stderr)
