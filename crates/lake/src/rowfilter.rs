//! Late materialization: a query's constraints tested on the values of their (small,
//! dictionary-encoded) columns before the `event` column is decoded, so that only the rows
//! that may match are.
//!
//! Like the rest of the pruning, this is conservative: a row is dropped only when a column
//! value it holds fails a constraint every matching event meets, and every row kept still
//! goes through the whole display filter. A null (the field is absent) meets no constraint on
//! its column, as with statistics of only nulls. Columns of an unexpected type are not tested.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{ArrowError, DataType, TimeUnit};
use osprey_filter::Constraint;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, RowFilter};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::ParquetMetaData;

use crate::query::LakeQuery;
use crate::reader::{count, ScanCounters};

/// Up to this many texts in a set are compared one by one; more are binary-searched.
const LINEAR_SET: usize = 8;

/// What one column's values must meet: the intersection of the constraints on it.
#[derive(Debug)]
struct ColumnTest {
    name: &'static str,
    /// The integer range (inclusive) of the `Range` constraints, clamped to `i64`; `None`
    /// when a value can never meet them. The lake clamps timestamps past 2262 to `i64::MAX`,
    /// which therefore stands for "`i64::MAX` or more" (as in the statistics).
    range: Option<(i64, i64)>,
    /// Whether there are `Range` constraints at all.
    ranged: bool,
    /// The `OneOf` sets (each sorted, without duplicates): a text must be in every one.
    sets: Vec<Arc<[Box<[u8]>]>>,
}

impl ColumnTest {
    fn new(name: &'static str, constraints: &[&Constraint]) -> ColumnTest {
        let (mut lo, mut hi) = (i128::MIN, i128::MAX);
        let mut ranged = false;
        let mut sets = Vec::new();
        for c in constraints {
            match c {
                Constraint::Range { lo: l, hi: h } => {
                    ranged = true;
                    lo = lo.max(*l);
                    hi = hi.min(*h);
                }
                Constraint::OneOf(values) => sets.push(values.clone().into()),
            }
        }
        let clamp = |v: i128| v.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
        let range = (lo <= hi && hi >= i64::MIN.into()).then(|| (clamp(lo), clamp(hi)));
        ColumnTest {
            name,
            range,
            ranged,
            sets,
        }
    }

    /// True when `value` meets every set.
    fn admits_text(&self, value: &[u8]) -> bool {
        self.sets.iter().all(|set| {
            if set.len() <= LINEAR_SET {
                set.iter().any(|v| &v[..] == value)
            } else {
                set.binary_search_by(|v| v[..].cmp(value)).is_ok()
            }
        })
    }

    /// Which rows of `array` (this column's values) may match; `None` when the column's type
    /// is not one the test applies to (every row is kept).
    fn evaluate(&self, array: &dyn Array) -> Option<BooleanBuffer> {
        let n = array.len();
        // The null buffer taken once: `Array::is_valid` is a virtual call for every row.
        let nulls = array.nulls();
        let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
        match array.data_type() {
            DataType::Int64 | DataType::Timestamp(TimeUnit::Nanosecond, _) if self.ranged => {
                let values: &[i64] = match array.data_type() {
                    DataType::Int64 => array.as_primitive::<Int64Type>().values(),
                    _ => array.as_primitive::<TimestampNanosecondType>().values(),
                };
                Some(match self.range {
                    Some((lo, hi)) => BooleanBuffer::collect_bool(n, |i| {
                        valid(i) && (lo..=hi).contains(&values[i])
                    }),
                    None => BooleanBuffer::new_unset(n),
                })
            }
            DataType::Utf8 if !self.sets.is_empty() => {
                let texts = array.as_string::<i32>();
                Some(BooleanBuffer::collect_bool(n, |i| {
                    valid(i) && self.admits_text(texts.value(i).as_bytes())
                }))
            }
            DataType::LargeUtf8 if !self.sets.is_empty() => {
                let texts = array.as_string::<i64>();
                Some(BooleanBuffer::collect_bool(n, |i| {
                    valid(i) && self.admits_text(texts.value(i).as_bytes())
                }))
            }
            // Each distinct text tested once (the reader gives text columns as dictionaries).
            DataType::Dictionary(key, value)
                if !self.sets.is_empty()
                    && **key == DataType::Int32
                    && **value == DataType::Utf8 =>
            {
                let dict = array.as_dictionary::<Int32Type>();
                let texts = dict.values().as_string::<i32>();
                let admitted: Vec<bool> = (0..texts.len())
                    .map(|k| texts.is_valid(k) && self.admits_text(texts.value(k).as_bytes()))
                    .collect();
                let keys = dict.keys().values();
                Some(BooleanBuffer::collect_bool(n, |i| {
                    valid(i) && admitted.get(keys[i] as usize).copied().unwrap_or(false)
                }))
            }
            DataType::Utf8View if !self.sets.is_empty() => {
                let texts = array.as_string_view();
                Some(BooleanBuffer::collect_bool(n, |i| {
                    valid(i) && self.admits_text(texts.value(i).as_bytes())
                }))
            }
            _ => None,
        }
    }
}

/// The row filter testing `query`'s constraints on the values of the file's columns, or
/// `None` when it has none to test (the empty query, or no constrained column in the file).
/// Rows it drops are counted in `rows_skipped`.
pub(crate) fn row_filter(
    query: &LakeQuery,
    metadata: &ParquetMetaData,
    counters: &ScanCounters,
) -> Option<RowFilter> {
    if query.is_empty() {
        return None;
    }
    let schema = metadata.file_metadata().schema_descr();
    let mut leaves = Vec::new();
    let mut tests = Vec::new();
    for name in query.column_names() {
        let Some(j) = (0..schema.num_columns()).find(|&j| schema.column(j).path().string() == name)
        else {
            continue;
        };
        // Only top-level columns: a nested one would be a foreign file, not tested.
        if schema.column(j).path().parts().len() != 1 {
            continue;
        }
        let constraints: Vec<&Constraint> = query.on(name).collect();
        leaves.push(j);
        tests.push(ColumnTest::new(name, &constraints));
    }
    if tests.is_empty() {
        return None;
    }
    let counters = counters.clone();
    let predicate = move |batch: RecordBatch| -> Result<BooleanArray, ArrowError> {
        let n = batch.num_rows();
        let mut keep: Option<BooleanBuffer> = None;
        for test in &tests {
            let Some(column) = batch.column_by_name(test.name) else {
                continue;
            };
            if let Some(rows) = test.evaluate(column.as_ref()) {
                keep = Some(match keep {
                    Some(k) => &k & &rows,
                    None => rows,
                });
            }
        }
        let keep = keep.unwrap_or_else(|| BooleanBuffer::new_set(n));
        let skipped = (n - keep.count_set_bits()) as u64;
        count(&counters, |c| c.rows_skipped += skipped);
        Ok(BooleanArray::new(keep, None))
    };
    let mask = ProjectionMask::leaves(schema, leaves);
    Some(RowFilter::new(vec![Box::new(ArrowPredicateFn::new(
        mask, predicate,
    ))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray, TimestampNanosecondArray};

    fn texts(values: &[&str]) -> Constraint {
        let mut v: Vec<Box<[u8]>> = values.iter().map(|t| t.as_bytes().into()).collect();
        v.sort();
        Constraint::OneOf(v)
    }

    fn bits(b: Option<BooleanBuffer>) -> Vec<bool> {
        b.expect("tested").iter().collect()
    }

    #[test]
    fn texts_in_every_set_and_nulls_in_none() {
        let column = StringArray::from(vec![Some("curl"), None, Some("bash"), Some("")]);
        let one = texts(&["curl", "ls"]);
        let test = ColumnTest::new("process_name", &[&one]);
        assert_eq!(bits(test.evaluate(&column)), [true, false, false, false]);
        // Two sets on one column: both hold.
        let other = texts(&["bash", "curl"]);
        let test = ColumnTest::new("process_name", &[&one, &other]);
        assert_eq!(bits(test.evaluate(&column)), [true, false, false, false]);
        // Binary search past LINEAR_SET values.
        let many: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
        let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
        names.push("bash");
        let test = ColumnTest::new("process_name", &[&texts(&names)]);
        assert_eq!(bits(test.evaluate(&column)), [false, false, true, false]);
        // A range says nothing of a text column; a set nothing of an integer one.
        let range = Constraint::Range { lo: 0, hi: 1 };
        assert!(ColumnTest::new("x", &[&range]).evaluate(&column).is_none());
        let ints = Int64Array::from(vec![1, 2]);
        assert!(ColumnTest::new("x", &[&one]).evaluate(&ints).is_none());
        // As the reader gives text columns: dictionaries, each distinct text tested once, a
        // null key or a null value meeting nothing.
        let dict: arrow_array::DictionaryArray<Int32Type> =
            vec![Some("curl"), None, Some("bash"), Some("curl"), Some("")]
                .into_iter()
                .collect();
        let test = ColumnTest::new("process_name", &[&one]);
        assert_eq!(
            bits(test.evaluate(&dict)),
            [true, false, false, true, false]
        );
        let null_value = arrow_array::DictionaryArray::<Int32Type>::try_new(
            arrow_array::Int32Array::from(vec![0, 1]),
            Arc::new(StringArray::from(vec![None, Some("curl")])),
        )
        .unwrap();
        assert_eq!(bits(test.evaluate(&null_value)), [false, true]);
    }

    #[test]
    fn ranges_are_inclusive_and_clamped_like_the_statistics() {
        let range = |lo: i128, hi: i128| Constraint::Range { lo, hi };
        let ints = Int64Array::from(vec![Some(i64::MIN), Some(5), None, Some(9), Some(i64::MAX)]);
        let test = |c: &[&Constraint]| bits(ColumnTest::new("event_id", c).evaluate(&ints));
        assert_eq!(test(&[&range(5, 9)]), [false, true, false, true, false]);
        // Two ranges intersect.
        assert_eq!(
            test(&[&range(0, 100), &range(6, i128::MAX)]),
            [false, false, false, true, false]
        );
        // Past the largest value: only i64::MAX, which stands for it and anything above.
        let past = i128::from(i64::MAX) + 10;
        assert_eq!(
            test(&[&range(past, i128::MAX)]),
            [false, false, false, false, true]
        );
        assert_eq!(
            test(&[&range(i128::MIN, i128::from(i64::MIN) - 1)]),
            [false; 5]
        );
        assert_eq!(test(&[&range(3, 2)]), [false; 5]);
        let times = TimestampNanosecondArray::from(vec![1, 2, 3]).with_timezone("UTC");
        let t = ColumnTest::new("timestamp", &[&range(2, 2)]);
        assert_eq!(bits(t.evaluate(&times)), [false, true, false]);
    }
}
