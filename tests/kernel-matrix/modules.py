#!/usr/bin/env python3
"""Which kernel modules a kernel-matrix guest must load, in load order.

    modules.py MODULES_DIR NAME...

MODULES_DIR is an extracted Debian kernel's lib/modules/<release>. Each NAME (ext4, loop, ...)
is resolved through modules.alias, skipped when modules.builtin has it, and expanded with its
dependencies (modules.dep) and soft dependencies (modules.softdep, e.g. ext4's crc32c) into a
list of .ko paths relative to MODULES_DIR, every dependency before its users. Names that the
kernel neither builds in nor ships are reported on stderr and skipped (the guest says so too).
"""

import fnmatch
import os
import sys


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f]
    except FileNotFoundError:
        return []


def norm(name):
    return name.replace("-", "_")


def module_name(path):
    base = os.path.basename(path)
    return norm(base.split(".ko")[0])


class Modules:
    def __init__(self, d):
        self.deps = {}  # module name -> (path, [dep names])
        for line in read_lines(os.path.join(d, "modules.dep")):
            if ":" not in line:
                continue
            path, deps = line.split(":", 1)
            self.deps[module_name(path)] = (path, [module_name(p) for p in deps.split()])
        self.builtin = {module_name(p) for p in read_lines(os.path.join(d, "modules.builtin"))}
        self.softdeps = {}
        for line in read_lines(os.path.join(d, "modules.softdep")):
            parts = line.split()
            if len(parts) < 3 or parts[0] != "softdep":
                continue
            pre = []
            mode = None
            for p in parts[2:]:
                if p in ("pre:", "post:"):
                    mode = p
                elif mode == "pre:":
                    pre.append(p)
            self.softdeps[norm(parts[1])] = pre
        self.aliases = []
        for line in read_lines(os.path.join(d, "modules.alias")):
            parts = line.split()
            if len(parts) == 3 and parts[0] == "alias":
                self.aliases.append((parts[1], norm(parts[2])))

    def resolve(self, name):
        """Module names that NAME stands for (itself, or what an alias points at)."""
        n = norm(name)
        if n in self.deps or n in self.builtin:
            return [n]
        return sorted({m for pat, m in self.aliases if fnmatch.fnmatchcase(name, pat)})

    def order(self, names):
        out, seen = [], set()

        def visit(n, chain):
            if n in seen or n in chain:
                return
            chain = chain | {n}
            for s in self.softdeps.get(n, []):
                for m in self.resolve(s):
                    visit(m, chain)
            if n in self.builtin or n not in self.deps:
                seen.add(n)
                return
            path, deps = self.deps[n]
            for dep in deps:
                visit(dep, chain)
            seen.add(n)
            out.append(path)

        for name in names:
            found = self.resolve(name)
            if not found:
                print(f"modules.py: {name}: neither built in nor a module here", file=sys.stderr)
            for m in found:
                visit(m, frozenset())
        return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    for path in Modules(sys.argv[1]).order(sys.argv[2:]):
        print(path)


if __name__ == "__main__":
    main()
