//! `-z io,stat,INTERVAL[,COLUMN]...`: frames and bytes (or a function of a field) per interval,
//! per column, as tshark 4.0 computes them: intervals from the first frame of the run, times
//! rounded to microseconds, the run's duration from its first to its last frame, and the
//! table as long as that duration.

use osprey_field::{FieldId, FieldType, FieldValue};
use serde::Serialize;

use crate::process::ProcessModel;
use crate::spec::{Calc, Column, Interval, ViewSpec};
use crate::{Cx, Rec, Setup, Span, StatsError, View, ViewResult};

/// The kind of value a column's field has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Unsigned integers (and frames, bytes, counts).
    Unsigned,
    /// Signed integers.
    Signed,
    /// Floating point.
    Float,
}

/// One cell: the frames that matched in the interval and the column's value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct IoCell {
    /// Frames that matched the column's filter.
    pub frames: u64,
    /// Bytes (frames-and-bytes, `BYTES()`), the count of `COUNT()`, the result of `SUM`,
    /// `MIN`, `MAX` or `AVG`.
    pub value: f64,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IoColumnResult {
    /// The column as written; `None` for all frames.
    pub text: Option<String>,
    /// `FRAMES BYTES`, `FRAMES`, `BYTES`, `COUNT`, `SUM`, `MIN`, `MAX` or `AVG`.
    pub calc: String,
    /// The kind of the values.
    pub kind: ValueKind,
    /// One cell per interval.
    pub cells: Vec<IoCell>,
}

/// `-z io,stat`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IoStatResult {
    /// The `-z` argument.
    pub view: String,
    /// The interval asked for, µs (`None`: the whole recording).
    pub interval_us: Option<u64>,
    /// Decimal places of the interval as written.
    pub precision: u32,
    /// From the first to the last frame of the run, µs.
    pub duration_us: u64,
    /// Start of each interval, µs after the first frame.
    pub starts_us: Vec<u64>,
    /// The columns.
    pub columns: Vec<IoColumnResult>,
    /// Intervals after the first [`MAX_INTERVALS`] that are not in the table (and the frames
    /// in them, per column, in `omitted_frames`).
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_intervals: u64,
    /// Frames of each column in the intervals left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted_frames: Vec<u64>,
}

/// For serde: leaves out a count that is zero.
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Intervals a table keeps at most (`io,stat` and the timeline). A recording whose frames
/// span years (a clock gone wrong, a hostile timestamp, files merged from different days)
/// would otherwise ask for hundreds of millions of rows, which tshark tries to print; the rows
/// beyond are counted and reported instead.
pub const MAX_INTERVALS: usize = 1_000_000;

/// How tshark lays the table out in time: the effective interval and precision, the duration
/// rounded to that precision, and the widths that depend on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Interval, µs (the rounded duration when the whole recording is one interval).
    pub interval: u64,
    /// Duration rounded to the precision, µs.
    pub duration: u64,
    /// Duration before rounding, µs.
    pub duration_orig: u64,
    /// Decimal places shown.
    pub prec: u32,
    /// Digits of the duration's seconds, before and after rounding.
    pub dur_mag_orig: u32,
    /// See `dur_mag_orig`.
    pub dur_mag: u32,
    /// Digits of the interval's seconds.
    pub invl_mag: u32,
    /// True when the interval is the whole recording.
    pub whole: bool,
    /// Number of rows.
    pub rows: u64,
}

/// Digits of `val`, at least 1, at most `max`.
pub(crate) fn magnitude(mut val: u64, max: u32) -> u32 {
    let mut mag = 0;
    for _ in 0..max {
        mag += 1;
        val /= 10;
        if val == 0 {
            break;
        }
    }
    mag
}

pub(crate) fn geometry(duration_us: u64, interval: Option<u64>, user_prec: u32) -> Geometry {
    let whole = interval.is_none_or(|i| i > duration_us);
    let mut interval = if whole {
        duration_us
    } else {
        interval.unwrap_or(0)
    };
    let dur_secs = duration_us / 1_000_000;
    let dur_mag_orig = magnitude(dur_secs, 5);
    let mut dur_mag = dur_mag_orig;
    let invl_mag = magnitude(interval / 1_000_000, 5);
    let prec = if whole {
        match dur_mag {
            m if m >= 2 => 1,
            1 => 3,
            _ => 6,
        }
    } else {
        user_prec
    };
    let dv = 10u64.pow(6 - prec.min(6));
    let mut duration = duration_us;
    if duration % dv > 5 * (dv / 10) {
        duration += 5 * (dv / 10);
        duration = (duration / dv) * dv;
        dur_mag = magnitude(duration / 1_000_000, 5);
    }
    if whole {
        interval = duration;
    }
    let rows = if interval == 0 || duration == 0 {
        0
    } else {
        duration / interval + u64::from(duration % interval > 0)
    };
    Geometry {
        interval,
        duration,
        duration_orig: duration_us,
        prec,
        dur_mag_orig,
        dur_mag,
        invl_mag,
        whole,
        rows,
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    frames: u64,
    counter: i128,
    float: f64,
    num: u64,
}

struct Col {
    column: Column,
    bit: Option<u8>,
    field: Option<FieldId>,
    kind: ValueKind,
    cells: Vec<Cell>,
    /// Frames beyond [`MAX_INTERVALS`].
    late: u64,
}

/// `io,stat`.
pub(crate) struct IoStat {
    spec: ViewSpec,
    interval: Interval,
    cols: Vec<Col>,
}

impl IoStat {
    pub(crate) fn new(
        spec: &ViewSpec,
        interval: Interval,
        columns: &[Column],
        s: &mut Setup<'_>,
    ) -> Result<IoStat, StatsError> {
        let mut cols = Vec::new();
        for c in columns {
            let bit = s.filter(c.filter.as_deref())?;
            let (field, kind) = match &c.field {
                None => (None, ValueKind::Unsigned),
                Some(name) => {
                    let id = s.field(name)?;
                    let ty = osprey_field::registry().info(id).ty;
                    let kind = match ty {
                        FieldType::UInt | FieldType::Dynamic => ValueKind::Unsigned,
                        FieldType::Int => ValueKind::Signed,
                        FieldType::Double => ValueKind::Float,
                        _ if c.calc == Calc::Count => ValueKind::Unsigned,
                        FieldType::RelTime => {
                            return Err(s.error(format!(
                                "io,stat: {name} is a relative-time field; Osprey's io,stat computes {}() only on numbers",
                                c.calc.name()
                            )))
                        }
                        _ => {
                            return Err(s.error(format!(
                                "io,stat: {name} doesn't have integral values, so {}(*) calculations are not supported on it",
                                c.calc.name()
                            )))
                        }
                    };
                    (
                        Some(id),
                        if c.calc == Calc::Count {
                            ValueKind::Unsigned
                        } else {
                            kind
                        },
                    )
                }
            };
            cols.push(Col {
                column: c.clone(),
                bit,
                field,
                kind,
                cells: Vec::new(),
                late: 0,
            });
        }
        Ok(IoStat {
            spec: spec.clone(),
            interval,
            cols,
        })
    }
}

/// A value as a number: integers exactly, floats as they are.
fn number(v: &FieldValue<'_>) -> Option<(i128, f64)> {
    match v {
        FieldValue::UInt(u) => Some((*u as i128, *u as f64)),
        FieldValue::Int(i) => Some((*i as i128, *i as f64)),
        FieldValue::Bool(b) => Some((*b as i128, *b as u8 as f64)),
        FieldValue::Double(d) => Some((*d as i128, *d)),
        _ => None,
    }
}

impl View for IoStat {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.meta.passes {
            return;
        }
        // tshark's `relative_time`: µs, rounded.
        let rel_us = (cx.rel_ns + 500) / 1000;
        let index = match self.interval.us {
            Some(i) => (rel_us / i) as usize,
            None => 0,
        };
        for col in &mut self.cols {
            if !rec.counts(col.bit) {
                continue;
            }
            if index >= MAX_INTERVALS {
                col.late += 1;
                continue;
            }
            if col.cells.len() <= index {
                col.cells.resize(index + 1, Cell::default());
            }
            let cell = &mut col.cells[index];
            cell.frames += 1;
            let float = col.kind == ValueKind::Float;
            match col.column.calc {
                Calc::FramesAndBytes | Calc::Frames | Calc::Bytes => {
                    cell.counter += rec.meta.len as i128;
                }
                Calc::Count => {
                    if let Some(f) = col.field {
                        cell.counter += rec.values(f).count() as i128;
                    }
                }
                calc => {
                    let Some(f) = col.field else { continue };
                    for (i, v) in rec.values(f).filter_map(|v| number(&v)).enumerate() {
                        match calc {
                            Calc::Sum => {
                                cell.counter += v.0;
                                cell.float += v.1;
                            }
                            Calc::Avg => {
                                cell.num += 1;
                                cell.counter += v.0;
                                cell.float += v.1;
                            }
                            Calc::Min => {
                                // As tshark: the first value of the interval's first frame
                                // starts the minimum.
                                let first = cell.frames == 1 && i == 0;
                                if float {
                                    if first || v.1 < cell.float {
                                        cell.float = v.1;
                                    }
                                } else if first || v.0 < cell.counter {
                                    cell.counter = v.0;
                                }
                            }
                            Calc::Max => {
                                if float {
                                    if v.1 > cell.float {
                                        cell.float = v.1;
                                    }
                                } else if v.0 > cell.counter {
                                    cell.counter = v.0;
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, span: &Span) -> ViewResult {
        let duration_us = (span.duration_ns + 500) / 1000;
        let g = geometry(duration_us, self.interval.us, self.interval.precision);
        let rows = (g.rows as usize).min(MAX_INTERVALS);
        let starts_us: Vec<u64> = (0..rows as u64).map(|i| i * g.interval).collect();
        let columns = self
            .cols
            .iter()
            .map(|c| {
                let cells = (0..rows)
                    .map(|i| {
                        let cell = c.cells.get(i).copied().unwrap_or_default();
                        let float = c.kind == ValueKind::Float;
                        let value = match c.column.calc {
                            Calc::Avg => {
                                let num = cell.num.max(1);
                                if float {
                                    cell.float / num as f64
                                } else {
                                    (cell.counter / num as i128) as f64
                                }
                            }
                            Calc::Sum | Calc::Min | Calc::Max if float => cell.float,
                            _ => cell.counter as f64,
                        };
                        IoCell {
                            frames: cell.frames,
                            value,
                        }
                    })
                    .collect();
                IoColumnResult {
                    text: c.column.text.clone(),
                    calc: c.column.calc.name().to_string(),
                    kind: c.kind,
                    cells,
                }
            })
            .collect();
        ViewResult::IoStat(IoStatResult {
            view: self.spec.text.clone(),
            interval_us: self.interval.us,
            precision: self.interval.precision,
            duration_us,
            starts_us,
            columns,
            omitted_intervals: g.rows - rows as u64,
            omitted_frames: if g.rows > rows as u64 {
                self.cols.iter().map(|c| c.late).collect()
            } else {
                Vec::new()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_follows_tshark() {
        // 0.314 s with a 1 s interval: the whole recording, 3 decimals.
        let g = geometry(314_000, Some(1_000_000), 0);
        assert!(g.whole);
        assert_eq!((g.prec, g.interval, g.rows), (3, 314_000, 1));
        // 0.314 s in 0.1 s intervals: 4 rows, the last one ending at the duration.
        let g = geometry(314_000, Some(100_000), 1);
        assert_eq!((g.prec, g.duration, g.rows), (1, 314_000, 4));
        let g = geometry(356_000, Some(100_000), 1);
        assert_eq!((g.duration, g.rows), (400_000, 4));
        assert_eq!(magnitude(0, 5), 1);
        assert_eq!(magnitude(12345, 5), 5);
        assert_eq!(magnitude(123456, 5), 5);
    }
}
