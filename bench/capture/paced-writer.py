#!/usr/bin/env python3
"""Writes SRC to DST in 1 MiB writes at RATE MB/s (for the capture benchmark)."""
import os, sys, time
src, dst, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
chunk = 1 << 20
data = open(src, 'rb').read()
fd = os.open(dst, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
start = time.monotonic()
for off in range(0, len(data), chunk):
    os.write(fd, data[off:off + chunk])
    due = start + (off + chunk) / (rate * 1e6)
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
os.close(fd)
secs = time.monotonic() - start
print('%d bytes in %.2f s, %.1f MB/s' % (len(data), secs, len(data) / secs / 1e6), file=sys.stderr)
