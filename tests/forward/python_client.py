"""Sends Tracee NDJSON from standard input to a Forward receiver with Python's fluent-logger
(FluentSender: Message mode, EventTime with nanoseconds, Tracee's {"event": json} layout).

    python_client.py PORT < events.json
"""

import json
import sys

from fluent import sender


def main() -> int:
    port = int(sys.argv[1])
    s = sender.FluentSender("tracee", host="127.0.0.1", port=port, nanosecond_precision=True)
    ok = True
    for line in sys.stdin.read().split("\n"):
        if not line:
            continue
        ns = json.loads(line)["timestamp"]
        t = sender.EventTime.from_unix_nano(ns)
        if not s.emit_with_time(None, t, {"event": line}):
            print(f"emit failed: {s.last_error}", file=sys.stderr)
            ok = False
    s.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
