//! Text renderers: each view result as tshark prints it (`tshark -q -z ...`), and the Tracee
//! views in the stats-tree layout tshark gives Traceeshark's. Padding counts bytes, as
//! `printf` does.

use std::fmt::Write as _;

use osprey_field::{FieldDef, FieldType, FieldValue};

use crate::conv::{ConversationsResult, EndpointsResult};
use crate::iostat::{geometry, magnitude, Geometry, IoStatResult, ValueKind};
use crate::phs::{PhsNode, PhsResult};
use crate::process_view::ProcessReport;
use crate::stats_tree::{Number, StatNode, StatsTreeResult};
use crate::timeline::TimelineResult;
use crate::ViewResult;

/// Appends `s`, then spaces up to `width` bytes (`%-*s`).
fn pad_right(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    spaces(out, width.saturating_sub(s.len()));
}

/// Spaces up to `width` bytes, then `s` (`%*s`).
fn pad_left(out: &mut String, s: &str, width: usize) {
    spaces(out, width.saturating_sub(s.len()));
    out.push_str(s);
}

fn spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn repeat(out: &mut String, c: char, n: usize) {
    out.extend(std::iter::repeat_n(c, n));
}

/// Writes `n` in decimal, with leading zeros up to `width` digits.
fn uint(out: &mut String, n: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// Writes `v` with `decimals` digits after the point, exactly as `{v:.N}` does (the decimal
/// nearest the binary value), without the formatting machinery for the usual case: a value
/// below 10^9 whose scaled fraction is not within a hair of one half rounds the same scaled
/// in floating point (one rounding, relative error 2^-53) as exactly.
fn fixed(out: &mut String, v: f64, decimals: usize) {
    const SCALE: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    if decimals < SCALE.len() && v.is_finite() && v.is_sign_positive() && v < 1e9 {
        let x = v * SCALE[decimals];
        let frac = x - x.floor();
        if (frac - 0.5).abs() > 1e-6 {
            let r = x.round() as u64;
            let unit = SCALE[decimals] as u64;
            uint(out, r / unit, 1);
            if decimals > 0 {
                out.push('.');
                uint(out, r % unit, decimals);
            }
            return;
        }
    }
    let _ = write!(out, "{v:.decimals$}");
}

/// Writes what `write` appends, then spaces up to `width` bytes (`%-*s` without a
/// temporary string).
fn cell(out: &mut String, width: usize, write: impl FnOnce(&mut String)) {
    let start = out.len();
    write(out);
    let len = out.len() - start;
    spaces(out, width.saturating_sub(len));
}

/// Writes one view result as text to `w`, a piece at a time (a process tree of a large
/// recording prints hundreds of megabytes: it is never all in memory).
pub fn write(result: &ViewResult, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = String::new();
    match result {
        ViewResult::StatsTree(r) => stats_tree_to(r, &mut out, &mut |out: &mut String| {
            let r = w.write_all(out.as_bytes());
            out.clear();
            r
        }),
        _ => {
            render(result, &mut out);
            w.write_all(out.as_bytes())
        }
    }
}

/// Renders one view result as text.
pub fn render(result: &ViewResult, out: &mut String) {
    match result {
        ViewResult::StatsTree(r) => stats_tree(r, out),
        ViewResult::Conversations(r) => conversations(r, out),
        ViewResult::Endpoints(r) => endpoints(r, out),
        ViewResult::IoStat(r) => io_stat(r, out),
        ViewResult::ProtocolHierarchy(r) => phs(r, out),
        ViewResult::Process(r) => process(r, out),
        ViewResult::Timeline(r) => timeline(r, out),
    }
}

// ---- stats trees ----

/// Width of the value columns (tshark's `stats_tree_get_column_size`).
const COLUMN: usize = 12;
const INDENT_MAX: usize = 32;
const HEADINGS: [&str; 8] = [
    "Count",
    "Average",
    "Min Val",
    "Max Val",
    "Rate (ms)",
    "Percent",
    "Burst Rate",
    "Burst Start",
];

/// The width of the name column: the longest name plus its indentation (without recursion:
/// a process tree may be thousands of levels deep).
fn max_name_len(nodes: &[StatNode], indent: usize) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&StatNode, usize)> = nodes.iter().rev().map(|n| (n, indent)).collect();
    while let Some((n, i)) = stack.pop() {
        let i = i.min(INDENT_MAX);
        max = max.max(n.name.len() + i);
        stack.extend(n.children.iter().rev().map(|c| (c, i + 1)));
    }
    max
}

fn number(out: &mut String, n: &Number) {
    match n {
        Number::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Number::Float(f) => fixed(out, *f, 6),
    }
}

fn stat_row(out: &mut String, n: &StatNode, indent: usize, width: usize, top: bool) {
    spaces(out, indent);
    pad_right(out, &n.name, width.saturating_sub(indent));
    // Each value left-aligned in its column, written in place.
    let w = COLUMN + 1;
    out.push(' ');
    cell(out, w, |o| uint(o, n.count, 1));
    let dash = |o: &mut String| o.push('-');
    for i in 0..3 {
        out.push(' ');
        cell(out, w, |o| match &n.values {
            None => {}
            Some(v) => match v.average {
                None => dash(o),
                Some(a) => match i {
                    0 => {
                        fixed(o, a, 2);
                    }
                    1 => v.min.iter().for_each(|m| number(o, m)),
                    _ => v.max.iter().for_each(|m| number(o, m)),
                },
            },
        });
    }
    out.push(' ');
    cell(out, w, |o| {
        if let Some(r) = n.rate {
            fixed(o, r, 4);
        }
    });
    out.push(' ');
    cell(out, w, |o| {
        if top {
            o.push_str("100%");
        } else if let Some(p) = n.percent {
            fixed(o, p, 2);
            o.push('%');
        }
    });
    out.push(' ');
    cell(out, w, |o| match n.burst.and_then(|b| b.rate) {
        Some(r) => {
            fixed(o, r, 4);
        }
        None if n.burst.is_some() => dash(o),
        None => {}
    });
    out.push(' ');
    cell(out, w, |o| match n.burst.and_then(|b| b.start) {
        Some(s) => {
            fixed(o, s, 3);
        }
        None if n.burst.is_some() => dash(o),
        None => {}
    });
    out.push('\n');
}

/// Every node of a tree, depth first, with its depth (without recursion).
fn rows(nodes: &[StatNode]) -> impl Iterator<Item = (&StatNode, usize)> {
    let mut stack: Vec<(&StatNode, usize)> = nodes.iter().rev().map(|n| (n, 0)).collect();
    std::iter::from_fn(move || {
        let (n, d) = stack.pop()?;
        stack.extend(n.children.iter().rev().map(|c| (c, d + 1)));
        Some((n, d))
    })
}

/// A stats tree in tshark's plain layout.
pub fn stats_tree(r: &StatsTreeResult, out: &mut String) {
    let _ = stats_tree_to(r, out, &mut |_: &mut String| {
        Ok::<(), std::convert::Infallible>(())
    });
}

/// [`stats_tree`], handing `out` to `flush` whenever it holds a megabyte or more.
fn stats_tree_to<E>(
    r: &StatsTreeResult,
    out: &mut String,
    flush: &mut dyn FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    let width = max_name_len(&r.nodes, 1);
    let sep = width + HEADINGS.len() * (COLUMN + 2);
    out.push('\n');
    repeat(out, '=', sep);
    let _ = writeln!(out, "\n{}:", r.title);
    if let Some(f) = &r.filter {
        let _ = writeln!(out, "Filter: {f}");
    }
    pad_right(out, &r.first_column, width);
    for h in HEADINGS {
        out.push(' ');
        pad_right(out, h, COLUMN + 1);
    }
    out.push('\n');
    repeat(out, '-', sep);
    out.push('\n');
    for (n, depth) in rows(&r.nodes) {
        stat_row(out, n, depth.min(INDENT_MAX), width, depth == 0);
        if out.len() >= 1 << 20 {
            flush(out)?;
        }
    }
    out.push('\n');
    repeat(out, '-', sep);
    out.push('\n');
    flush(out)
}

// ---- conversations and endpoints ----

/// Bytes as tshark's `format_size` shows them: `826 bytes`, `12 kB`, `15 MB`.
pub fn format_size(size: u64) -> String {
    let p = 1000u64;
    if size / p / p / p / p >= 10 {
        format!("{} TB", size / p / p / p / p)
    } else if size / p / p / p >= 10 {
        format!("{} GB", size / p / p / p)
    } else if size / p / p >= 10 {
        format!("{} MB", size / p / p)
    } else if size / p >= 10 {
        format!("{} kB", size / p)
    } else {
        format!("{size} bytes")
    }
}

fn filter_line(out: &mut String, filter: &Option<String>) {
    let _ = writeln!(out, "Filter:{}", filter.as_deref().unwrap_or("<No Filter>"));
}

const BORDER: &str =
    "================================================================================";

/// `-z conv,TYPE` as tshark prints it.
pub fn conversations(r: &ConversationsResult, out: &mut String) {
    let ports = r.conversations.first().is_some_and(|c| c.port_a.is_some())
        || matches!(r.layer.as_str(), "TCP" | "UDP");
    let _ = writeln!(out, "{BORDER}");
    let _ = writeln!(out, "{} Conversations", r.layer);
    filter_line(out, &r.filter);
    let pre = if ports { "            " } else { "" };
    let _ = writeln!(out, "{pre}                                               |       <-      | |       ->      | |     Total     |    Relative    |   Duration   |");
    let _ = writeln!(out, "{pre}                                               | Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |");
    let w = if ports { 26 } else { 20 };
    for c in &r.conversations {
        let (a, b) = match (c.port_a, c.port_b) {
            (Some(pa), Some(pb)) => (
                format!("{}:{pa}", c.address_a),
                format!("{}:{pb}", c.address_b),
            ),
            _ => (c.address_a.clone(), c.address_b.clone()),
        };
        pad_right(out, &a, w);
        out.push_str(" <-> ");
        pad_right(out, &b, w);
        for (frames, bytes) in [
            (c.frames_b_to_a, c.bytes_b_to_a),
            (c.frames_a_to_b, c.bytes_a_to_b),
            (
                c.frames_a_to_b + c.frames_b_to_a,
                c.bytes_a_to_b + c.bytes_b_to_a,
            ),
        ] {
            out.push_str("  ");
            pad_left(out, &frames.to_string(), 6);
            out.push(' ');
            pad_right(out, &format_size(bytes), 9);
        }
        out.push_str("  ");
        let start = c.rel_start_ns as f64 / 1e9;
        let duration = c.duration_ns as f64 / 1e9;
        pad_left(out, &format!("{start:.9}"), 14);
        out.push_str("   ");
        pad_left(out, &format!("{duration:.4}"), 12);
        out.push('\n');
    }
    let _ = writeln!(out, "{BORDER}");
}

/// `-z endpoints,TYPE` as tshark prints it.
pub fn endpoints(r: &EndpointsResult, out: &mut String) {
    let ports = matches!(r.layer.as_str(), "TCP" | "UDP");
    let _ = writeln!(out, "{BORDER}");
    let _ = writeln!(out, "{} Endpoints", r.layer);
    filter_line(out, &r.filter);
    let _ = writeln!(
        out,
        "                       |  {}Packets  | |  Bytes  | | Tx Packets | | Tx Bytes | | Rx Packets | | Rx Bytes |",
        if ports { "Port  ||  " } else { "" }
    );
    for e in &r.endpoints {
        pad_right(out, &e.address, 20);
        out.push_str("      ");
        if let Some(p) = e.port {
            pad_left(out, &p.to_string(), 5);
            out.push_str("     ");
        }
        let cols: [(u64, usize, &str); 6] = [
            (e.tx_frames + e.rx_frames, 6, "     "),
            (e.tx_bytes + e.rx_bytes, 9, "     "),
            (e.tx_frames, 6, "       "),
            (e.tx_bytes, 9, "      "),
            (e.rx_frames, 6, "       "),
            (e.rx_bytes, 9, "   \n"),
        ];
        for (v, w, after) in cols {
            pad_left(out, &v.to_string(), w);
            out.push_str(after);
        }
    }
    let _ = writeln!(out, "{BORDER}");
}

// ---- io,stat and the timeline ----

/// A column of an I/O table: its heading text and how its cells print.
struct IoCol<'a> {
    /// `None`: "Frames and bytes".
    text: Option<&'a str>,
    calc: &'a str,
    kind: ValueKind,
    frames: Vec<u64>,
    values: Vec<f64>,
}

/// `printcenter`: a label centred in a column of `lenval` characters (tshark's quirks kept).
fn printcenter(out: &mut String, label: &str, lenval: usize) {
    let lenlab = label.len() as i64;
    let lenval = lenval as i64;
    let len = 6 - ((lenval - lenlab) / 2 + 1);
    if len > 0 && len < 6 {
        let n = (6 - len) as usize;
        if (lenval - lenlab) % 2 == 0 {
            spaces(out, n);
            out.push_str(label);
            spaces(out, n);
        } else {
            spaces(out, n + 1);
            out.push_str(label);
            spaces(out, n);
        }
        out.push('|');
    } else if len > 0 && len <= 15 {
        out.push_str(label);
        out.push('|');
    }
}

/// The interval cell text of a row.
fn interval_cell(out: &mut String, g: &Geometry, t: u64, last: bool) {
    let dm = g.dur_mag_orig as usize;
    let dv = 10u64.pow(6 - g.prec.min(6));
    if g.prec == 0 {
        let lead = if g.dur_mag == 1 { "|  " } else { "| " };
        out.push_str(lead);
        pad_left(out, &(t / 1_000_000).to_string(), dm);
        out.push_str(" <> ");
        if last {
            let maxw = if g.dur_mag >= 3 {
                g.dur_mag as usize + 1
            } else {
                3
            };
            pad_right(out, "Dur", maxw);
            out.push('|');
        } else {
            let end = t + g.interval;
            pad_left(out, &(end / 1_000_000).to_string(), dm);
            out.push_str(if g.dur_mag == 1 { "  |" } else { " |" });
        }
    } else {
        let end = if last { g.duration } else { t + g.interval };
        let p = g.prec as usize;
        out.push_str("| ");
        pad_left(out, &(t / 1_000_000).to_string(), dm);
        let _ = write!(out, ".{:0p$}", (t % 1_000_000) / dv);
        out.push_str(" <> ");
        pad_left(out, &(end / 1_000_000).to_string(), dm);
        let _ = write!(out, ".{:0p$} |", (end % 1_000_000) / dv);
    }
}

/// An I/O table of `shown` intervals (fewer than the geometry's when the recording spans
/// more than [`crate::iostat::MAX_INTERVALS`]: `omitted` says how many more, and how many
/// frames they hold).
fn io_table(
    out: &mut String,
    title: &str,
    g: &Geometry,
    cols: &[IoCol<'_>],
    shown: usize,
    omitted: Option<(u64, u64)>,
) {
    // Widths of the interval column and of each stat column.
    let invl_col_w = if g.prec == 0 {
        2 * g.dur_mag as usize + 8
    } else {
        2 * g.dur_mag as usize + 2 * g.prec as usize + 10
    }
    .max(12);
    let mut borderlen = if g.whole {
        30 + g.dur_mag_orig as usize + if g.prec == 0 { 0 } else { g.prec as usize + 1 }
    } else {
        25 + g.invl_mag.max(g.dur_mag_orig) as usize
            + if g.prec == 0 { 0 } else { g.prec as usize + 1 }
    };
    borderlen = borderlen.max(invl_col_w);
    let mut tabrow_w = invl_col_w;
    // (frames width, value width) per column
    let mut widths: Vec<(usize, usize)> = Vec::new();
    for c in cols {
        let max_frames = c.frames.iter().copied().max().unwrap_or(0);
        let max_val = c
            .values
            .iter()
            .map(|v| {
                if c.kind == ValueKind::Float {
                    (v + 0.5) as u64
                } else {
                    *v as u64
                }
            })
            .max()
            .unwrap_or(0);
        let (fr, val) = match c.calc {
            "FRAMES BYTES" => {
                let fr = magnitude(max_frames, 15).max(6) as usize;
                let val = magnitude(max_val, 15).max(5) as usize;
                tabrow_w += fr + 3 + val + 3;
                (fr, val)
            }
            "FRAMES" => {
                let fr = magnitude(max_frames, 15).max(6) as usize;
                tabrow_w += fr + 3;
                (fr, 0)
            }
            "BYTES" | "COUNT" => {
                let val = magnitude(max_val, 15).max(5) as usize;
                tabrow_w += val + 3;
                (0, val)
            }
            name => {
                let val = if c.kind == ValueKind::Float {
                    magnitude(max_val, 15) as usize + 7
                } else {
                    (magnitude(max_val, 15) as usize).max(name.len())
                };
                tabrow_w += val + 3;
                (0, val)
            }
        };
        widths.push((fr, val));
    }
    borderlen = borderlen.max(tabrow_w);
    let maxfltr_w = cols
        .iter()
        .map(|c| c.text.map_or(26, |t| t.len() + 11))
        .max()
        .unwrap_or(0);
    if maxfltr_w > borderlen && borderlen < 102 {
        borderlen = maxfltr_w.min(102);
    }
    if borderlen == tabrow_w + 1 {
        borderlen += 1;
    }
    let dm = g.dur_mag_orig as usize;
    let dv = 10u64.pow(6 - g.prec.min(6));
    let line_end = |out: &mut String, used: usize| {
        spaces(out, borderlen.saturating_sub(used + 1));
        out.push_str("|\n");
    };
    out.push('\n');
    repeat(out, '=', borderlen);
    out.push('\n');
    let head = format!("| {title}");
    out.push_str(&head);
    line_end(out, head.len());
    out.push('|');
    line_end(out, 1);
    if g.prec == 0 {
        let mut s = String::from("| Duration: ");
        pad_left(&mut s, &(g.duration_orig / 1_000_000).to_string(), dm);
        let _ = write!(s, ".{:6} secs", g.duration_orig % 1_000_000);
        out.push_str(&s);
        spaces(out, borderlen.saturating_sub(25 + g.dur_mag as usize));
        out.push_str("|\n");
        let mut s = String::from("| Interval: ");
        pad_left(&mut s, &(g.interval / 1_000_000).to_string(), dm);
        s.push_str(" secs");
        out.push_str(&s);
        spaces(out, borderlen.saturating_sub(18 + g.dur_mag as usize));
        out.push_str("|\n");
    } else {
        let p = g.prec as usize;
        for (label, v) in [("Duration", g.duration), ("Interval", g.interval)] {
            let mut s = format!("| {label}: ");
            pad_left(&mut s, &(v / 1_000_000).to_string(), dm);
            let _ = write!(s, ".{:0p$} secs", (v % 1_000_000) / dv);
            out.push_str(&s);
            spaces(out, borderlen.saturating_sub(19 + g.dur_mag as usize + p));
            out.push_str("|\n");
        }
    }
    out.push('|');
    line_end(out, 1);
    out.push_str("| Col");
    for (j, c) in cols.iter().enumerate() {
        if j == 0 {
            let _ = write!(out, "{:2}: ", j + 1);
        } else {
            let _ = write!(out, "|    {:2}: ", j + 1);
        }
        match c.text {
            None => {
                out.push_str("Frames and bytes");
                spaces(out, borderlen.saturating_sub(26));
                out.push_str("|\n");
            }
            Some(filter) => {
                let mut f = filter;
                let max_w = borderlen.saturating_sub(11);
                if f.len() + 11 <= borderlen {
                    out.push_str(f);
                    spaces(out, borderlen.saturating_sub(f.len() + 10));
                    out.push_str("|\n");
                } else {
                    loop {
                        if f.len() > max_w {
                            let cut = &f[..floor_char(f, max_w)];
                            let (len, next) = match cut.rfind(' ') {
                                Some(p) => (p, p + 1),
                                None => (cut.len(), cut.len()),
                            };
                            out.push_str(&f[..len]);
                            spaces(out, borderlen.saturating_sub(len + 10));
                            out.push_str("|\n|        ");
                            f = &f[next..];
                        } else {
                            out.push_str(f);
                            spaces(out, borderlen.saturating_sub(f.len() + 10));
                            out.push_str("|\n");
                            break;
                        }
                    }
                }
            }
        }
    }
    out.push_str("|-");
    repeat(out, '-', borderlen.saturating_sub(3));
    out.push_str("|\n");
    out.push('|');
    spaces(out, invl_col_w - 2);
    out.push('|');
    for (j, (c, (fr, val))) in cols.iter().zip(&widths).enumerate() {
        let pad = match c.calc {
            "FRAMES BYTES" => fr + val + 3,
            "FRAMES" => *fr,
            _ => *val,
        };
        let num = format!("{}", j + 1);
        pad_right(out, &num, 2);
        spaces(out, pad.saturating_sub(0));
        out.push('|');
    }
    let filler = borderlen.saturating_sub(tabrow_w + 1);
    if tabrow_w < borderlen {
        spaces(out, filler);
        out.push('|');
    }
    out.push_str("\n| Interval");
    spaces(out, invl_col_w.saturating_sub(11));
    out.push('|');
    for (c, (fr, val)) in cols.iter().zip(&widths) {
        match c.calc {
            "FRAMES BYTES" => {
                printcenter(out, "Frames", *fr);
                printcenter(out, "Bytes", *val);
            }
            "FRAMES" => printcenter(out, "FRAMES", *fr),
            name => printcenter(out, name, *val),
        }
    }
    if tabrow_w < borderlen {
        spaces(out, filler);
        out.push('|');
    }
    out.push_str("\n|-");
    repeat(out, '-', tabrow_w.saturating_sub(3));
    out.push('|');
    if tabrow_w < borderlen {
        spaces(out, filler);
        out.push('|');
    }
    out.push('\n');
    for row in 0..shown.min(g.rows as usize) {
        let t = row as u64 * g.interval;
        interval_cell(out, g, t, row + 1 == g.rows as usize);
        for (c, (fr, val)) in cols.iter().zip(&widths) {
            let frames = c.frames.get(row).copied().unwrap_or(0);
            let v = c.values.get(row).copied().unwrap_or(0.0);
            let value = match c.kind {
                ValueKind::Float => format!("{v:.6}"),
                ValueKind::Signed => (v as i64).to_string(),
                ValueKind::Unsigned => (v as u64).to_string(),
            };
            match c.calc {
                "FRAMES BYTES" => {
                    out.push(' ');
                    pad_left(out, &frames.to_string(), *fr);
                    out.push_str(" | ");
                    pad_left(out, &value, *val);
                    out.push_str(" |");
                }
                "FRAMES" => {
                    out.push(' ');
                    pad_left(out, &frames.to_string(), *fr);
                    out.push_str(" |");
                }
                _ => {
                    out.push(' ');
                    let w = if c.kind == ValueKind::Float {
                        val - 7
                    } else {
                        *val
                    };
                    pad_left(out, &value, w);
                    out.push_str(" |");
                }
            }
        }
        if tabrow_w < borderlen {
            spaces(out, filler);
            out.push('|');
        }
        out.push('\n');
    }
    repeat(out, '=', borderlen);
    out.push('\n');
    if let Some((intervals, frames)) = omitted {
        let _ = writeln!(
            out,
            "{intervals} later intervals ({frames} frames) are not shown: a table keeps {} intervals at most; choose a longer interval",
            crate::iostat::MAX_INTERVALS
        );
    }
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `-z io,stat` as tshark prints it.
pub fn io_stat(r: &IoStatResult, out: &mut String) {
    let g = geometry(r.duration_us, r.interval_us, r.precision);
    let cols: Vec<IoCol<'_>> = r
        .columns
        .iter()
        .map(|c| IoCol {
            text: c.text.as_deref(),
            calc: &c.calc,
            kind: c.kind,
            frames: c.cells.iter().map(|x| x.frames).collect(),
            values: c.cells.iter().map(|x| x.value).collect(),
        })
        .collect();
    let omitted =
        (r.omitted_intervals > 0).then(|| (r.omitted_intervals, r.omitted_frames.iter().sum()));
    io_table(out, "IO Statistics", &g, &cols, r.starts_us.len(), omitted);
}

/// `-z tracee,timeline` in `io,stat`'s layout, a column of frames per group.
pub fn timeline(r: &TimelineResult, out: &mut String) {
    let g = geometry(r.duration_us, r.interval_us, r.precision);
    let cols: Vec<IoCol<'_>> = r
        .groups
        .iter()
        .map(|gr| IoCol {
            text: Some(&gr.name),
            calc: "FRAMES",
            kind: ValueKind::Unsigned,
            frames: gr.counts.clone(),
            values: Vec::new(),
        })
        .collect();
    let title = match &r.filter {
        Some(f) => format!("Tracee Timeline ({f})"),
        None => "Tracee Timeline".to_string(),
    };
    let omitted = (r.omitted_intervals > 0).then_some((r.omitted_intervals, r.omitted_frames));
    io_table(out, &title, &g, &cols, r.starts_us.len(), omitted);
}

// ---- protocol hierarchy ----

fn phs_nodes(out: &mut String, nodes: &[PhsNode], indent: usize) {
    for n in nodes {
        let mut name = String::new();
        for i in 0..indent {
            if i > 15 {
                name.push_str("...");
                break;
            }
            name.push_str("  ");
        }
        name.push_str(&n.protocol);
        // tshark builds the name in an 80-byte buffer.
        name.truncate(floor_char(&name, 79));
        pad_right(out, &name, 40);
        let _ = writeln!(out, " frames:{} bytes:{}", n.frames, n.bytes);
        phs_nodes(out, &n.children, indent + 1);
    }
}

/// `-z io,phs` as tshark prints it.
pub fn phs(r: &PhsResult, out: &mut String) {
    const LINE: &str = "===================================================================";
    let _ = writeln!(out, "\n{LINE}");
    let _ = writeln!(out, "Protocol Hierarchy Statistics");
    let _ = writeln!(out, "Filter: {}\n", r.filter.as_deref().unwrap_or(""));
    phs_nodes(out, &r.nodes, 0);
    let _ = writeln!(out, "{LINE}");
}

// ---- the per-process view ----

fn time(ns: u64) -> String {
    let def = FieldDef::new("frame.time", "Time", FieldType::AbsTime);
    let mut s = String::new();
    FieldValue::AbsTime(ns).write_plain(&def, &mut s);
    s
}

/// `-z tracee,process,ID`.
pub fn process(r: &ProcessReport, out: &mut String) {
    const LINE: &str = "===================================================================";
    let _ = writeln!(out, "\n{LINE}");
    let _ = writeln!(out, "Tracee Process: {}", r.target);
    filter_line(out, &r.filter);
    if r.processes.is_empty() {
        let _ = writeln!(out, "\nNo process with host PID or entity ID {}.", r.target);
    }
    for p in &r.processes {
        let i = &p.process;
        let _ = writeln!(out, "\nProcess: {}", p.label);
        let _ = write!(out, "  Host PID: {}, PID: {}", i.host_pid, i.pid);
        if let Some(e) = i.entity_id {
            let _ = write!(out, ", entity ID: {e}");
        }
        out.push('\n');
        if let Some(c) = &i.container {
            let _ = writeln!(out, "  Container: {c}");
        }
        let _ = writeln!(out, "  First event: {}", time(p.first_seen));
        let _ = writeln!(out, "  Last event: {}", time(p.last_seen));
        match &i.exit {
            Some(x) => {
                let _ = write!(out, "  Exited: {}", time(x.time));
                if let Some(c) = x.code {
                    let _ = write!(out, ", exit code {c}");
                }
                if let Some(s) = x.signal.filter(|s| *s != 0) {
                    let _ = write!(out, ", signal {s}");
                }
                out.push('\n');
            }
            None => {
                let _ = writeln!(out, "  Exited: not seen");
            }
        }
        if i.names.len() > 1 {
            let _ = writeln!(out, "  Names: {}", i.names.join(" -> "));
        }
        if !p.ancestors.is_empty() {
            let _ = writeln!(out, "  Parent: {}", p.ancestors[0]);
            for a in &p.ancestors[1..] {
                let _ = writeln!(out, "    under {a}");
            }
        }
        let section = |out: &mut String, title: &str, n: usize| {
            let _ = writeln!(out, "  {title} ({n}):");
        };
        if !p.children.is_empty() {
            section(out, "Children", p.children.len());
            for c in &p.children {
                let _ = writeln!(out, "    {c}");
            }
        }
        if !p.execs.is_empty() {
            section(out, "Execs", p.execs.len());
            for e in &p.execs {
                let _ = write!(
                    out,
                    "    {} {}: {}",
                    time(e.time),
                    e.pathname,
                    e.command_line
                );
                if let Some(h) = &e.sha256 {
                    let _ = write!(out, " [SHA-256 {h}]");
                }
                out.push('\n');
            }
        }
        let total: u64 = p.events.iter().map(|e| e.count).sum();
        section(out, "Events", total as usize);
        for e in &p.events {
            let _ = writeln!(out, "    {:>8}  {}", e.count, e.name);
        }
        for (title, list) in [
            ("Files opened", &p.files_opened),
            ("Connections", &p.connections),
            ("Signatures", &p.signatures),
        ] {
            if list.is_empty() {
                continue;
            }
            section(out, title, list.len());
            for c in list {
                let _ = writeln!(out, "    {:>8}  {}", c.count, c.name);
            }
        }
        if !p.files_written.is_empty() {
            section(out, "Files written", p.files_written.len());
            for w in &p.files_written {
                let _ = write!(
                    out,
                    "    {:>8}  {} file: {}",
                    w.count,
                    w.file_type.as_deref().unwrap_or("Unknown type"),
                    w.path
                );
                for h in &w.sha256 {
                    let _ = write!(out, " [SHA-256 {h}]");
                }
                out.push('\n');
            }
        }
        if !p.dns.is_empty() {
            section(out, "DNS names", p.dns.len());
            for d in &p.dns {
                let _ = write!(out, "    {:>8}  {}", d.messages, d.name);
                if !d.answers.is_empty() {
                    let _ = write!(out, " -> {}", d.answers.join(", "));
                }
                out.push('\n');
            }
        }
        if !p.peers.is_empty() {
            section(out, "Peers", p.peers.len());
            for peer in &p.peers {
                let _ = writeln!(
                    out,
                    "    {:>8}  {} {} ({})",
                    peer.frames,
                    peer.protocol,
                    peer.address,
                    format_size(peer.bytes)
                );
            }
        }
        if p.packets > 0 {
            let _ = writeln!(
                out,
                "  Packets of its capture: {} ({})",
                p.packets,
                format_size(p.packet_bytes)
            );
        }
        if !p.artifacts.is_empty() {
            section(out, "Artifacts", p.artifacts.len());
            for a in &p.artifacts {
                let _ = write!(
                    out,
                    "    {} {} -> {} ({} bytes, SHA-256 {})",
                    a.kind, a.original_path, a.stored_as, a.size, a.sha256
                );
                if !a.complete {
                    out.push_str(" incomplete");
                }
                out.push('\n');
            }
        }
    }
    let _ = writeln!(out, "{LINE}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_as_format() {
        let mut values = vec![
            0.0,
            0.5,
            1.0,
            0.125,
            0.00005,
            2.675,
            1.005,
            99.995,
            123456.78949,
        ];
        // Rates and percentages as the views compute them, and values around rounding ties.
        for n in 1..2000u64 {
            values.push(n as f64 / 7.0);
            values.push(n as f64 * 100.0 / 3001.0);
            values.push(n as f64 / 1000.0 + 0.00005);
            values.push(n as f64 * 0.125);
        }
        values.extend([1e9, 3.5e12, f64::NAN, f64::INFINITY, -0.0, -1.25]);
        for v in values {
            for d in [0, 2, 3, 4, 6, 9] {
                let mut s = String::new();
                fixed(&mut s, v, d);
                assert_eq!(s, format!("{v:.d$}"), "{v} with {d} decimals");
            }
        }
    }

    #[test]
    fn sizes_as_tshark() {
        assert_eq!(format_size(826), "826 bytes");
        assert_eq!(format_size(9999), "9999 bytes");
        assert_eq!(format_size(10_000), "10 kB");
        assert_eq!(format_size(9_999_999), "9999 kB");
        assert_eq!(format_size(10_000_000), "10 MB");
    }
}
