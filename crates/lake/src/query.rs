//! What a read of the lake may skip: a display filter's constraints on the fields that are
//! lake columns, tested against partition directories and row-group statistics.
//!
//! Pruning is only ever conservative: a partition, file or row group is skipped when no event
//! in it can meet the constraints, and every event read still goes through the whole filter.
//! Anything unknown (a directory name that does not parse, absent or truncated statistics, a
//! foreign column order) keeps the data.

use osprey_field::fields::{frame, tracee as t};
use osprey_field::FieldId;
use osprey_filter::{Constraint, Filter};
use parquet::basic::{ColumnOrder, SortOrder};
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::statistics::Statistics;

use crate::partition::encode_host;
use crate::schema::TIMESTAMP_COLUMN;

/// The column holding the event's host name (also the `host=` partition key, encoded).
const HOST_COLUMN: &str = "host_name";

/// Filter fields whose value in an event's frame is exactly the value of a lake column (see
/// `schema::RowBuilders::append` and the event dissector): each has one value per event, and
/// the string columns are null exactly where the field is absent (an empty container value).
/// The three times are all the event's timestamp.
const PUSHED: &[(FieldId, &str)] = &[
    (frame::TIME, TIMESTAMP_COLUMN),
    (frame::TIME_EPOCH, TIMESTAMP_COLUMN),
    (t::TIMESTAMP, TIMESTAMP_COLUMN),
    (t::HOST_NAME, HOST_COLUMN),
    (t::PROCESS_ID, "process_id"),
    (t::THREAD_ID, "thread_id"),
    (t::PARENT_PROCESS_ID, "parent_process_id"),
    (t::HOST_PROCESS_ID, "host_process_id"),
    (t::HOST_THREAD_ID, "host_thread_id"),
    (t::HOST_PARENT_PROCESS_ID, "host_parent_process_id"),
    (t::PROCESS_NAME, "process_name"),
    (t::CONTAINER_ID, "container_id"),
    (t::CONTAINER_NAME, "container_name"),
    (t::EVENT_NAME, "event_name"),
    (t::EVENT_ID, "event_id"),
];

/// One hour in nanoseconds: a `dt=…/hour=…` partition holds `[start, start + HOUR_NS)`.
const HOUR_NS: i128 = 3_600_000_000_000;

/// Conditions every wanted event meets, by lake column; the empty query reads everything.
#[derive(Clone, Debug, Default)]
pub struct LakeQuery {
    columns: Vec<(&'static str, Constraint)>,
}

impl LakeQuery {
    /// The query that skips nothing.
    pub fn all() -> LakeQuery {
        LakeQuery::default()
    }

    /// What `filter` lets a read skip: its constraints on the fields that are lake columns,
    /// combined per column (the three time fields all constrain `timestamp`).
    pub fn from_filter(filter: &Filter) -> LakeQuery {
        let mut query = LakeQuery::all();
        for &(field, column) in PUSHED {
            if let Some(c) = filter.constraint(field) {
                query.add(column, c);
            }
        }
        query
    }

    /// True when the query skips nothing.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// True when the rows the query keeps may be scattered through a file: it constrains a
    /// column other than the time (a file's rows come about in time order, so a time range
    /// keeps a run of them) and the host (one per file).
    pub(crate) fn may_scatter(&self) -> bool {
        (self.columns.iter()).any(|(name, _)| *name != TIMESTAMP_COLUMN && *name != HOST_COLUMN)
    }

    /// The query that wants what both `self` and `other` want.
    pub fn and(mut self, other: LakeQuery) -> LakeQuery {
        self.columns.extend(other.columns);
        self
    }

    fn add(&mut self, column: &'static str, c: Constraint) {
        self.columns.push((column, c));
    }

    /// The columns the query constrains, each once.
    pub(crate) fn column_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for (name, _) in &self.columns {
            if !names.contains(name) {
                names.push(name);
            }
        }
        names
    }

    /// The constraints on `column`.
    pub(crate) fn on<'a>(&'a self, column: &'a str) -> impl Iterator<Item = &'a Constraint> + 'a {
        self.columns
            .iter()
            .filter(move |(name, _)| *name == column)
            .map(|(_, c)| c)
    }

    /// True when the hour partition starting at `start_ns` may hold a wanted event.
    pub(crate) fn admits_hour(&self, start_ns: i128) -> bool {
        self.on(TIMESTAMP_COLUMN)
            .all(|c| c.admits_range(start_ns, start_ns + HOUR_NS - 1))
    }

    /// True when the host partition `host=ENCODED` may hold a wanted event.
    pub(crate) fn admits_host(&self, encoded: &str) -> bool {
        self.on(HOST_COLUMN).all(|c| match c {
            Constraint::OneOf(hosts) => hosts
                .iter()
                .any(|h| std::str::from_utf8(h).is_ok_and(|h| encode_host(h) == encoded)),
            Constraint::Range { .. } => true,
        })
    }

    /// The row groups of a file that may hold a wanted event, by their statistics.
    pub(crate) fn row_groups(&self, metadata: &ParquetMetaData) -> Vec<usize> {
        (0..metadata.num_row_groups())
            .filter(|&i| self.admits_row_group(metadata, metadata.row_group(i)))
            .collect()
    }

    fn admits_row_group(&self, metadata: &ParquetMetaData, group: &RowGroupMetaData) -> bool {
        let schema = metadata.file_metadata().schema_descr();
        self.columns.iter().all(|(name, c)| {
            let Some(j) =
                (0..schema.num_columns()).find(|&j| schema.column(j).path().string() == *name)
            else {
                return true;
            };
            let order = metadata.file_metadata().column_order(j);
            match group.column(j).statistics() {
                Some(stats) => admits_statistics(c, stats, group.num_rows(), order),
                None => true,
            }
        })
    }
}

/// True when a column chunk with these statistics may hold a value meeting `c`.
fn admits_statistics(c: &Constraint, stats: &Statistics, rows: i64, order: ColumnOrder) -> bool {
    // Only nulls: the field is absent from every event of the group, and a constraint holds
    // only for a value.
    if rows > 0 && stats.null_count_opt() == Some(rows as u64) {
        return false;
    }
    match stats {
        Statistics::Int64(s) => match (s.min_opt(), s.max_opt()) {
            // Timestamps past 2262 are stored as i64::MAX (writer): that maximum bounds nothing.
            (Some(&min), Some(&max)) => {
                let max = if max == i64::MAX {
                    i128::MAX
                } else {
                    max.into()
                };
                c.admits_range(min.into(), max)
            }
            _ => true,
        },
        Statistics::ByteArray(s) => {
            // Text is ordered byte by byte only under the type-defined (unsigned) order;
            // truncated bounds are not used.
            if order != ColumnOrder::TYPE_DEFINED_ORDER(SortOrder::UNSIGNED) {
                return true;
            }
            let min = s.min_opt().filter(|_| s.min_is_exact()).map(|v| v.data());
            let max = s.max_opt().filter(|_| s.max_is_exact()).map(|v| v.data());
            c.admits_text_range(min, max)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_filter::Macros;

    fn query(text: &str) -> LakeQuery {
        LakeQuery::from_filter(&Filter::compile(text, &Macros::new()).unwrap())
    }

    /// 2026-12-06T07:00:00Z
    const T7: i128 = 1_796_540_400_000_000_000;

    #[test]
    fn hours_by_any_time_field() {
        for text in [
            r#"frame.time >= "2026-12-06 07:00:00" and frame.time < "2026-12-06 08:00:00""#,
            "frame.time_epoch >= 1796540400 and frame.time_epoch < 1796544000",
            r#"tracee.timestamp in {"2026-12-06 07:00:00".."2026-12-06 07:59:59"}"#,
            // Two fields, one column: both hold.
            r#"frame.time >= "2026-12-06 07:00:00" and tracee.timestamp < "2026-12-06 08:00:00""#,
        ] {
            let q = query(text);
            assert!(q.admits_hour(T7), "{text}");
            assert!(!q.admits_hour(T7 - HOUR_NS), "{text}");
            assert!(!q.admits_hour(T7 + HOUR_NS), "{text}");
        }
        assert!(query("").is_empty());
        assert!(query(r#"not frame.time >= "2026-12-06 07:00:00""#).admits_hour(T7 + HOUR_NS));
    }

    #[test]
    fn only_constraints_past_time_and_host_scatter_the_rows_kept() {
        let hour = r#"frame.time >= "2026-12-06 07:00:00" and frame.time < "2026-12-06 08:00:00""#;
        assert!(!query(hour).may_scatter());
        assert!(!query(&format!(r#"{hour} and tracee.hostName == "n""#)).may_scatter());
        assert!(!query("tracee.processName contains \"x\"").may_scatter());
        assert!(query(r#"tracee.eventName == "execve""#).may_scatter());
        assert!(query(&format!(r#"{hour} and tracee.processId == 7"#)).may_scatter());
    }

    #[test]
    fn hosts_compare_encoded() {
        let q = query(r#"tracee.hostName in {"a/b", "node-1"}"#);
        assert!(q.admits_host("node-1") && q.admits_host("a%2Fb"));
        assert!(!q.admits_host("node-2") && !q.admits_host("a/b"));
        assert!(query(r#"tracee.hostName contains "node""#).admits_host("x"));
    }

    #[test]
    fn statistics_rule_out_only_what_they_bound_for_certain() {
        use parquet::data_type::ByteArray;
        use parquet::file::statistics::ValueStatistics;

        let unsigned = ColumnOrder::TYPE_DEFINED_ORDER(SortOrder::UNSIGNED);
        let text = |min: &str, max: &str| {
            ValueStatistics::new(
                Some(ByteArray::from(min)),
                Some(ByteArray::from(max)),
                None,
                Some(0),
                false,
            )
        };
        let host = |h: &str| Constraint::OneOf(vec![h.as_bytes().into()]);
        let admits = |c: &Constraint, s: ValueStatistics<ByteArray>, order| {
            admits_statistics(c, &Statistics::ByteArray(s), 10, order)
        };
        assert!(!admits(&host("node-9"), text("node-1", "node-3"), unsigned));
        assert!(admits(&host("node-2"), text("node-1", "node-3"), unsigned));
        // A truncated maximum ("node-" for "node-3") bounds nothing; nor does a minimum.
        let truncated_max = text("node-1", "node-").with_max_is_exact(false);
        assert!(admits(&host("node-2"), truncated_max, unsigned));
        let truncated_min = text("nodf", "node-3").with_min_is_exact(false);
        assert!(admits(&host("node-2"), truncated_min, unsigned));
        // Legacy (signed) or unknown order: not used.
        assert!(admits(
            &host("node-9"),
            text("node-1", "node-3"),
            ColumnOrder::UNDEFINED
        ));
        // No minimum and maximum at all.
        let none = ValueStatistics::<ByteArray>::new(None, None, None, Some(0), false);
        assert!(admits(&host("node-9"), none, unsigned));
        // Only nulls: no value meets a constraint, whatever it is.
        let nulls = ValueStatistics::<ByteArray>::new(None, None, None, Some(10), false);
        assert!(!admits(&host("node-9"), nulls, unsigned));
        let some_nulls = ValueStatistics::<ByteArray>::new(None, None, None, Some(9), false);
        assert!(admits(&host("node-9"), some_nulls, unsigned));

        // Integers; i64::MAX is where timestamps past 2262 are clamped.
        let ints = |min: i64, max: i64| {
            Statistics::Int64(ValueStatistics::new(
                Some(min),
                Some(max),
                None,
                Some(0),
                false,
            ))
        };
        let from = |lo: i128| Constraint::Range { lo, hi: i128::MAX };
        assert!(!admits_statistics(&from(21), &ints(10, 20), 10, unsigned));
        assert!(admits_statistics(&from(20), &ints(10, 20), 10, unsigned));
        let past_2262 = from(i128::from(i64::MAX) + 1);
        assert!(admits_statistics(
            &past_2262,
            &ints(10, i64::MAX),
            10,
            unsigned
        ));
        assert!(!admits_statistics(&past_2262, &ints(10, 20), 10, unsigned));
    }
}
