"""Runs the SQL of docs/fleet.md against a lake: every DuckDB block with DuckDB, every
ClickHouse block with chdb (ClickHouse's embedded engine), the lake's path put in place of
/data/lake.

Usage: doc_queries.py DOC LAKE_DIR -- prints {"section": {"duckdb": rows, "clickhouse": rows}}
as JSON, rows normalised so the engines' answers compare (timestamps to the second, numbers as
numbers, everything else as text).
"""

import datetime
import json
import re
import sys

import chdb
import duckdb

BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


def norm(v):
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (int, float)):
        return v
    s = str(v)
    m = TIME.match(s)
    return m.group(0).replace("T", " ") if m else s


def main():
    doc, lake = sys.argv[1], sys.argv[2].rstrip("/")
    text = open(doc).read()
    out = {}
    duck = duckdb.connect()
    for section in re.split(r"\n### ", text)[1:]:
        title = section.splitlines()[0].strip()
        for block in BLOCK.findall(section):
            sql = block.replace("/data/lake", lake)
            if sql.startswith("-- DuckDB"):
                duck.execute(
                    "CREATE OR REPLACE VIEW events AS SELECT * FROM "
                    f"read_parquet('{lake}/**/*.parquet', hive_partitioning = true)"
                )
                rows = [[norm(v) for v in r] for r in duck.execute(sql).fetchall()]
                out.setdefault(title, {})["duckdb"] = rows
            elif sql.startswith("-- ClickHouse"):
                res = json.loads(str(chdb.query(sql, "JSONCompact")))
                rows = [[norm(v) for v in r] for r in res["data"]]
                out.setdefault(title, {})["clickhouse"] = rows
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
