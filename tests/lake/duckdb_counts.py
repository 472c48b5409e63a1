"""Counts rows of an Osprey Parquet lake with DuckDB, one count per SQL condition.

Usage: duckdb_counts.py LAKE_DIR CONDITION... -- prints one count per line, in order. The
lake is read as an engine would read it: every visible .parquet file under the directory,
with the dt/hour/host partition keys from the Hive-style path.
"""

import sys

import duckdb


def main():
    lake, conditions = sys.argv[1], sys.argv[2:]
    con = duckdb.connect()
    pattern = (lake.rstrip("/") + "/**/*.parquet").replace("'", "''")
    con.execute(
        "CREATE VIEW events AS SELECT * FROM "
        f"read_parquet('{pattern}', hive_partitioning = true)"
    )
    for condition in conditions:
        (count,) = con.execute(f"SELECT count(*) FROM events WHERE {condition}").fetchone()
        print(count)


if __name__ == "__main__":
    main()
