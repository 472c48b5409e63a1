"""Parses Prometheus' text exposition format with the reference client's parser.

Usage: parse.py < metrics.txt -- prints {"family": {"type": T, "samples": [[name, labels,
value], ...]}} as JSON. A text the parser rejects exits non-zero with its error.
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    out = {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        out[family.name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
