"""Counts rows of an Osprey Parquet lake with ClickHouse's embedded engine (chdb), one count
per SQL condition.

Usage: chdb_counts.py LAKE_DIR CONDITION... -- prints one count per line, in order. The lake
is read as ClickHouse reads any Hive-partitioned Parquet data set: every visible .parquet file
under the directory, with the dt/hour/host partition keys taken from the path.
"""

import sys

import chdb


def main():
    lake, conditions = sys.argv[1], sys.argv[2:]
    pattern = (lake.rstrip("/") + "/**/*.parquet").replace("'", "\\'")
    source = f"file('{pattern}', Parquet)"
    for condition in conditions:
        result = chdb.query(
            f"SELECT count() FROM {source} WHERE {condition} "
            "SETTINGS use_hive_partitioning = 1",
            "CSV",
        )
        print(int(str(result).strip()))


if __name__ == "__main__":
    main()
