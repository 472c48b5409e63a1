//! The Parquet event lake (docs/fleet.md).
//!
//! Events are written to Parquet files partitioned Hive-style by UTC date, hour and host
//! (`dt=YYYY-MM-DD/hour=HH/host=HOST/part-*.parquet`), with typed columns for the context an
//! analyst selects on and the full original JSON of each event, so that reading the lake back
//! gives the same bytes. Files are written under a hidden temporary name and renamed once
//! complete, so engines (DuckDB, ClickHouse, Spark) and `osprey read` never see a half-written
//! file; a receiver's events wait in a journal until their file is complete (`journal.rs`), so
//! a crash loses nothing it acknowledged. [`LakeWriter`] writes; [`LakeReader`] reads a lake
//! back as NDJSON in time order, for `osprey read`'s usual pipeline; given a [`LakeQuery`] (a display filter's constraints on
//! the columns), it skips the hour and host partitions and the row groups that cannot hold a
//! matching event, and counts what it skipped ([`LakeScan`]).

mod inputs;
mod journal;
mod partition;
mod query;
mod reader;
mod rowfilter;
mod schema;
mod shards;
mod writer;

pub use inputs::{open_inputs, Opened};
pub use journal::{Recovered, JOURNALS};
pub use partition::{encode_host, is_lake, partition_dir};
pub use query::LakeQuery;
pub use reader::{LakeReader, LakeScan, ScanCounters};
pub use schema::{lake_schema, Row};
pub use writer::{LakeSink, LakeWriter, RollPolicy};
