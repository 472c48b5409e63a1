"""DuckDB running bench/lake.sh's queries as SQL on the same lake (the comparison issue 17 asks
for): the host-and-hour query with the Hive partitions pruned by DuckDB, and the fleet-wide one.
Each three times in one connection (the first one opens the files cold); prints rows and time.

usage: python bench/lake-duckdb.py LAKE HOUR_EPOCH [HOST]    (HOST: node-03 by default)
"""
import sys
import time

import duckdb

lake, hour = sys.argv[1], int(sys.argv[2])
host = sys.argv[3] if len(sys.argv) > 3 else "node-03"
files = f"read_parquet('{lake}/**/*.parquet', hive_partitioning = true)"
queries = {
    "one host and hour": f"""SELECT event FROM {files}
        WHERE host = '{host}' AND dt = strftime(to_timestamp({hour}), '%Y-%m-%d')
          AND hour = strftime(to_timestamp({hour}), '%H')
        ORDER BY timestamp""",
    "event and process name, fleet-wide": f"""SELECT event FROM {files}
        WHERE event_name = 'sched_process_exec' AND process_name = 'curl'
        ORDER BY timestamp""",
}
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
for name, sql in queries.items():
    times = []
    for _ in range(3):
        start = time.time()
        rows = con.execute(sql).fetchall()
        times.append(time.time() - start)
    print(f"duckdb {duckdb.__version__}, {name}: {len(rows)} rows, "
          + ", ".join(f"{t:.2f}" for t in times) + " s")
