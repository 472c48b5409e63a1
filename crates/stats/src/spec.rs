//! `-z` arguments: which view, its options and its filter, with tshark's spelling.
//!
//! As in tshark, a view's own filter is everything after the view's options and a comma, so a
//! filter may itself hold commas (`-z conv,tcp,tcp.port in {80, 443}`); `io,stat` is the
//! exception, whose columns are separated by commas outside quotes, parentheses and braces.

use std::fmt;

/// The forms `-z` takes, shown with every error.
pub const FORMS: &str = "  tracee,event_counts[,container][,FILTER]
  tracee,file_types[,container][,FILTER]
  tracee,process_tree[,opened_files|written_files|network|signatures][,container][,FILTER]
  tracee,process,PID|ENTITY_ID[,FILTER]
  tracee,timeline,INTERVAL[,FILTER]
  conv,eth|ip|ipv6|tcp|udp[,FILTER]
  endpoints,eth|ip|ipv6|tcp|udp[,FILTER]
  io,stat,INTERVAL[,COLUMN]...   (COLUMN: FILTER, or FRAMES()|BYTES()|COUNT(FIELD)|SUM(FIELD)|MIN(FIELD)|MAX(FIELD)|AVG(FIELD) followed by a FILTER)
  io,phs[,FILTER]   (also phs[,FILTER])
  dns,tree[,FILTER]
  http,tree[,FILTER]
  count,FIELD[,FILTER]   (the values of FIELD and how many frames hold each)
  (INTERVAL in seconds, 0 for the whole recording; ,container splits a Tracee view per container; -z help lists these)";

/// A malformed `-z` argument.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The argument as given.
    pub arg: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "-z {}: {}\nvalid forms of -z:\n{}",
            self.arg, self.reason, FORMS
        )
    }
}

/// The four variants of Traceeshark's process tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeVariant {
    /// Events per process.
    Standard,
    /// Files opened (`security_file_open`).
    OpenedFiles,
    /// Files written (`magic_write`).
    WrittenFiles,
    /// Connects and binds (socket events).
    Network,
    /// Signatures.
    Signatures,
}

/// The layer of a conversation or endpoint view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Ethernet addresses.
    Eth,
    /// IPv4 addresses.
    Ip,
    /// IPv6 addresses.
    Ipv6,
    /// TCP addresses and ports.
    Tcp,
    /// UDP addresses and ports.
    Udp,
}

impl Layer {
    /// tshark's name of the layer in titles (`TCP Conversations`).
    pub fn title(self) -> &'static str {
        match self {
            Layer::Eth => "Ethernet",
            Layer::Ip => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Tcp => "TCP",
            Layer::Udp => "UDP",
        }
    }

    /// True when endpoints have ports.
    pub fn has_ports(self) -> bool {
        matches!(self, Layer::Tcp | Layer::Udp)
    }
}

/// An interval of `io,stat` or the timeline, as tshark reads it: microseconds, and the number
/// of decimals the user wrote (the precision the table is printed with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Microseconds; `None` for 0, the whole recording.
    pub us: Option<u64>,
    /// Decimal places.
    pub precision: u32,
}

/// What an `io,stat` column computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calc {
    /// Frames and bytes (a plain filter).
    FramesAndBytes,
    /// `FRAMES()`.
    Frames,
    /// `BYTES()`.
    Bytes,
    /// `COUNT(field)`: occurrences of the field.
    Count,
    /// `SUM(field)`.
    Sum,
    /// `MIN(field)`.
    Min,
    /// `MAX(field)`.
    Max,
    /// `AVG(field)`.
    Avg,
}

impl Calc {
    /// The function's name as tshark prints it.
    pub fn name(self) -> &'static str {
        match self {
            Calc::FramesAndBytes => "FRAMES BYTES",
            Calc::Frames => "FRAMES",
            Calc::Bytes => "BYTES",
            Calc::Count => "COUNT",
            Calc::Sum => "SUM",
            Calc::Min => "MIN",
            Calc::Max => "MAX",
            Calc::Avg => "AVG",
        }
    }
}

/// One `io,stat` column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column as written (`tcp`, `COUNT(tcp.port)tcp`); `None` when empty.
    pub text: Option<String>,
    /// What it computes.
    pub calc: Calc,
    /// The field a function reads.
    pub field: Option<String>,
    /// The filter frames must pass.
    pub filter: Option<String>,
}

/// The process a per-process view is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessTarget(pub u64);

/// Which view, with its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewKind {
    /// Traceeshark's event counts.
    EventCounts {
        /// Split per container.
        per_container: bool,
    },
    /// Traceeshark's file types (`magic_write`).
    FileTypes {
        /// Split per container.
        per_container: bool,
    },
    /// Traceeshark's process trees.
    ProcessTree {
        /// Which tree.
        variant: TreeVariant,
        /// Split per container.
        per_container: bool,
    },
    /// Everything one process did.
    Process(ProcessTarget),
    /// Events per group per interval.
    Timeline(Interval),
    /// Conversations.
    Conversations(Layer),
    /// Endpoints.
    Endpoints(Layer),
    /// Frames and values per interval.
    IoStat {
        /// The interval.
        interval: Interval,
        /// The columns.
        columns: Vec<Column>,
    },
    /// Protocol hierarchy.
    ProtocolHierarchy,
    /// DNS statistics.
    DnsTree,
    /// HTTP packet counter.
    HttpTree,
    /// The values of a field and their counts (`count,FIELD`).
    Count(String),
}

/// A parsed `-z` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewSpec {
    /// The argument as given.
    pub text: String,
    /// The view.
    pub kind: ViewKind,
    /// Its own filter.
    pub filter: Option<String>,
}

/// Splits `s` at its first comma: the head and what follows it.
fn split(s: &str) -> (&str, Option<&str>) {
    match s.split_once(',') {
        Some((h, t)) => (h, Some(t)),
        None => (s, None),
    }
}

/// Parses an interval in seconds as tshark does (`1`, `0.5`, `10.00`, `0`).
pub fn parse_interval(text: &str) -> Result<Interval, String> {
    let t = text.trim();
    let secs: f64 = t
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            format!(
                "\"{t}\" is not an interval in seconds (e.g. 1, 0.5, or 0 for the whole recording)"
            )
        })?;
    if secs == 0.0 {
        return Ok(Interval {
            us: None,
            precision: 0,
        });
    }
    let us = (secs * 1_000_000.0 + 0.5) as u64;
    if us < 1 {
        return Err(format!(
            "interval \"{t}\" is below a microsecond (intervals must be >= 0.000001 seconds, or 0)"
        ));
    }
    // The precision the user asked for: digits that are not zero, or as many as written.
    let mut precision = 6;
    let mut m = 10;
    while m < 10_000_000 {
        if us % m > 0 {
            break;
        }
        precision -= 1;
        m *= 10;
    }
    if precision == 0 {
        if let Some((_, frac)) = t.split_once('.') {
            if !frac.is_empty() {
                precision = frac.len().min(6) as u32;
            }
        }
    }
    Ok(Interval {
        us: Some(us),
        precision,
    })
}

/// Splits `io,stat` columns at commas outside quotes, parentheses and braces.
fn split_columns(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, false, 0);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b'(' | b'{' | b'[' if !quote => depth += 1,
            b')' | b'}' | b']' if !quote => depth -= 1,
            b',' if !quote && depth <= 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

fn column(text: &str) -> Result<Column, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Column {
            text: None,
            calc: Calc::FramesAndBytes,
            field: None,
            filter: None,
        });
    }
    const FUNCS: &[(&str, Calc)] = &[
        ("FRAMES", Calc::Frames),
        ("BYTES", Calc::Bytes),
        ("COUNT", Calc::Count),
        ("SUM", Calc::Sum),
        ("MIN", Calc::Min),
        ("MAX", Calc::Max),
        ("AVG", Calc::Avg),
    ];
    for (name, calc) in FUNCS {
        let Some(rest) = t.strip_prefix(name) else {
            continue;
        };
        let Some(args) = rest.strip_prefix('(') else {
            if rest.is_empty() && matches!(calc, Calc::Frames | Calc::Bytes) {
                return Ok(Column {
                    text: Some(t.to_string()),
                    calc: *calc,
                    field: None,
                    filter: None,
                });
            }
            continue;
        };
        let (field, filter) = args
            .split_once(')')
            .ok_or_else(|| format!("closing parenthesis missing in \"{t}\""))?;
        let field = field.trim();
        let needs_field = !matches!(calc, Calc::Frames | Calc::Bytes);
        if needs_field && field.is_empty() {
            return Err(format!("{name}() needs a field, e.g. {name}(frame.len)"));
        }
        if !needs_field && !field.is_empty() {
            return Err(format!(
                "{name}() takes no field (\"{t}\"); use COUNT({field}) to count a field"
            ));
        }
        let filter = filter.trim();
        return Ok(Column {
            text: Some(t.to_string()),
            calc: *calc,
            field: needs_field.then(|| field.to_string()),
            filter: (!filter.is_empty()).then(|| filter.to_string()),
        });
    }
    if t.starts_with("LOAD(") {
        return Err(
            "LOAD() needs a relative-time field, which Osprey's io,stat does not compute".into(),
        );
    }
    Ok(Column {
        text: Some(t.to_string()),
        calc: Calc::FramesAndBytes,
        field: None,
        filter: Some(t.to_string()),
    })
}

/// A view's own filter: what follows its options, if anything.
fn filter_of(rest: Option<&str>, view: &str) -> Result<Option<String>, String> {
    match rest {
        None => Ok(None),
        Some(f) if f.trim().is_empty() => Err(format!(
            "{view}: a comma must be followed by a filter (or left out)"
        )),
        Some(f) => Ok(Some(f.to_string())),
    }
}

/// The filter of a Tracee view, where a lone word that is no field (`opened_file`,
/// `containers`) is a mistyped option, not a filter that can never match.
fn tracee_filter(rest: Option<&str>, view: &str, options: &str) -> Result<Option<String>, String> {
    let filter = filter_of(rest, view)?;
    if let Some(f) = filter.as_deref().map(str::trim) {
        let word = f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if word && osprey_field::registry().resolve(f).is_none() {
            return Err(format!(
                "{view}: \"{f}\" is not {options} (nor a field to filter on)"
            ));
        }
    }
    Ok(filter)
}

impl ViewSpec {
    /// Parses one `-z` argument.
    pub fn parse(arg: &str) -> Result<ViewSpec, SpecError> {
        let err = |reason: String| SpecError {
            arg: arg.to_string(),
            reason,
        };
        let (kind, filter) = parse_kind(arg).map_err(err)?;
        Ok(ViewSpec {
            text: arg.to_string(),
            kind,
            filter,
        })
    }
}

/// Options `[,global|,container]` of a Tracee view.
fn container_option(rest: Option<&str>) -> (bool, Option<&str>) {
    match rest.map(split) {
        Some(("container", r)) => (true, r),
        Some(("global", r)) => (false, r),
        _ => (false, rest),
    }
}

fn parse_kind(arg: &str) -> Result<(ViewKind, Option<String>), String> {
    let (head, rest) = split(arg);
    match head {
        "tracee" => {
            let Some(rest) = rest else {
                return Err("\"tracee\" needs a view: event_counts, file_types, process_tree, process or timeline".into());
            };
            let (view, rest) = split(rest);
            match view {
                "event_counts" | "file_types" => {
                    let (per_container, rest) = container_option(rest);
                    let name = format!("tracee,{view}");
                    let kind = if view == "event_counts" {
                        ViewKind::EventCounts { per_container }
                    } else {
                        ViewKind::FileTypes { per_container }
                    };
                    Ok((kind, tracee_filter(rest, &name, "container")?))
                }
                "process_tree" => {
                    let (variant, rest) = match rest.map(split) {
                        Some(("standard", r)) => (TreeVariant::Standard, r),
                        Some(("opened_files", r)) => (TreeVariant::OpenedFiles, r),
                        Some(("written_files", r)) => (TreeVariant::WrittenFiles, r),
                        Some(("network", r)) => (TreeVariant::Network, r),
                        Some(("signatures", r)) => (TreeVariant::Signatures, r),
                        _ => (TreeVariant::Standard, rest),
                    };
                    let (per_container, rest) = container_option(rest);
                    Ok((
                        ViewKind::ProcessTree {
                            variant,
                            per_container,
                        },
                        tracee_filter(
                            rest,
                            "tracee,process_tree",
                            "a variant (standard, opened_files, written_files, network, signatures) or container",
                        )?,
                    ))
                }
                "process" => {
                    let Some(rest) = rest else {
                        return Err("tracee,process needs a host PID or a process entity ID, e.g. tracee,process,1234".into());
                    };
                    let (id, rest) = split(rest);
                    let id: u64 = id.trim().parse().map_err(|_| {
                        format!("tracee,process: \"{id}\" is not a PID or a process entity ID (a number)")
                    })?;
                    Ok((
                        ViewKind::Process(ProcessTarget(id)),
                        filter_of(rest, "tracee,process")?,
                    ))
                }
                "timeline" => {
                    let Some(rest) = rest else {
                        return Err("tracee,timeline needs an interval in seconds, e.g. tracee,timeline,1".into());
                    };
                    let (interval, rest) = split(rest);
                    let interval =
                        parse_interval(interval).map_err(|e| format!("tracee,timeline: {e}"))?;
                    Ok((
                        ViewKind::Timeline(interval),
                        filter_of(rest, "tracee,timeline")?,
                    ))
                }
                other => Err(format!(
                    "unknown Tracee view \"tracee,{other}\" (Tracee views: event_counts, file_types, process_tree, process, timeline)"
                )),
            }
        }
        "conv" | "endpoints" => {
            let Some(rest) = rest else {
                return Err(format!("{head} needs a type: eth, ip, ipv6, tcp or udp"));
            };
            let (ty, rest) = split(rest);
            let layer = match ty {
                "eth" => Layer::Eth,
                "ip" => Layer::Ip,
                "ipv6" => Layer::Ipv6,
                "tcp" => Layer::Tcp,
                "udp" => Layer::Udp,
                other => {
                    return Err(format!(
                        "unknown {head} type \"{other}\" ({head} takes eth, ip, ipv6, tcp or udp)"
                    ))
                }
            };
            let kind = if head == "conv" {
                ViewKind::Conversations(layer)
            } else {
                ViewKind::Endpoints(layer)
            };
            Ok((kind, filter_of(rest, &format!("{head},{ty}"))?))
        }
        "io" => {
            let (what, rest) = match rest {
                Some(r) => split(r),
                None => return Err("\"io\" needs a view: io,stat,INTERVAL or io,phs".into()),
            };
            match what {
                "phs" => Ok((ViewKind::ProtocolHierarchy, filter_of(rest, "io,phs")?)),
                "stat" => {
                    let Some(rest) = rest else {
                        return Err("io,stat needs an interval in seconds, e.g. io,stat,1".into());
                    };
                    let (interval, cols) = split(rest);
                    let interval = parse_interval(interval).map_err(|e| format!("io,stat: {e}"))?;
                    let columns = match cols {
                        None => vec![column("")?],
                        Some("") => {
                            return Err(
                                "io,stat: a comma must be followed by a column (or left out)"
                                    .into(),
                            )
                        }
                        Some(c) => split_columns(c)
                            .into_iter()
                            .map(|c| column(c).map_err(|e| format!("io,stat: {e}")))
                            .collect::<Result<_, _>>()?,
                    };
                    Ok((ViewKind::IoStat { interval, columns }, None))
                }
                other => Err(format!("unknown view \"io,{other}\" (io,stat or io,phs)")),
            }
        }
        "phs" => Ok((ViewKind::ProtocolHierarchy, filter_of(rest, "phs")?)),
        "dns" | "http" => {
            let (what, rest) = match rest {
                Some(r) => split(r),
                None => ("", None),
            };
            if what != "tree" {
                return Err(format!(
                    "unknown view \"{arg}\" ({head},tree is the {} statistics view)",
                    head.to_uppercase()
                ));
            }
            let kind = if head == "dns" {
                ViewKind::DnsTree
            } else {
                ViewKind::HttpTree
            };
            Ok((kind, filter_of(rest, &format!("{head},tree"))?))
        }
        "count" => {
            let (field, rest) = match rest {
                Some(r) => split(r),
                None => ("", None),
            };
            let field = field.trim();
            if field.is_empty() {
                return Err("count needs a field, e.g. count,tracee.processName".into());
            }
            if !field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            {
                return Err(format!(
                    "count: \"{field}\" is not a field name (e.g. count,tracee.processName)"
                ));
            }
            Ok((
                ViewKind::Count(field.to_string()),
                filter_of(rest, "count")?,
            ))
        }
        _ => Err(format!("unknown view \"{head}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> (ViewKind, Option<String>) {
        let v = ViewSpec::parse(s).unwrap();
        (v.kind, v.filter)
    }

    #[test]
    fn count_takes_a_field_and_a_filter() {
        assert_eq!(
            kind("count,tracee.processName"),
            (ViewKind::Count("tracee.processName".into()), None)
        );
        assert_eq!(
            kind("count,ip.dst,tcp.port in {80, 443}"),
            (
                ViewKind::Count("ip.dst".into()),
                Some("tcp.port in {80, 443}".into())
            )
        );
        for (arg, says) in [
            ("count", "count needs a field"),
            ("count,", "count needs a field"),
            ("count,a b", "count: \"a b\" is not a field name"),
            (
                "count,ip.dst,",
                "count: a comma must be followed by a filter",
            ),
        ] {
            let text = ViewSpec::parse(arg).unwrap_err().to_string();
            assert!(text.contains(says), "{arg}: {text}");
            assert!(text.starts_with(&format!("-z {arg}: ")), "{text}");
            assert!(text.contains("count,FIELD[,FILTER]"), "{text}");
        }
    }

    #[test]
    fn tracee_views_with_options_and_filters() {
        assert_eq!(
            kind("tracee,event_counts"),
            (
                ViewKind::EventCounts {
                    per_container: false
                },
                None
            )
        );
        assert_eq!(
            kind("tracee,file_types,container,tracee.processName == \"a,b\""),
            (
                ViewKind::FileTypes {
                    per_container: true
                },
                Some("tracee.processName == \"a,b\"".into())
            )
        );
        assert_eq!(
            kind("tracee,process_tree,network,container"),
            (
                ViewKind::ProcessTree {
                    variant: TreeVariant::Network,
                    per_container: true
                },
                None
            )
        );
        // A lone word that is a protocol or field is a filter.
        assert_eq!(
            kind("tracee,event_counts,container,dns"),
            (
                ViewKind::EventCounts {
                    per_container: true
                },
                Some("dns".into())
            )
        );
        assert_eq!(
            kind("tracee,process_tree,tracee.processName == \"sh\""),
            (
                ViewKind::ProcessTree {
                    variant: TreeVariant::Standard,
                    per_container: false
                },
                Some("tracee.processName == \"sh\"".into())
            )
        );
        assert_eq!(
            kind("tracee,process,4242"),
            (ViewKind::Process(ProcessTarget(4242)), None)
        );
        assert_eq!(
            kind("conv,tcp,tcp.port in {80, 443}"),
            (
                ViewKind::Conversations(Layer::Tcp),
                Some("tcp.port in {80, 443}".into())
            )
        );
        assert_eq!(kind("phs").0, ViewKind::ProtocolHierarchy);
        assert_eq!(kind("io,phs,udp").1, Some("udp".into()));
    }

    #[test]
    fn io_stat_columns_split_outside_brackets() {
        let (k, _) =
            kind(r#"io,stat,0.5,tcp,COUNT(tcp.port)tcp.port in {80,443},,"a,b" == ip.src"#);
        let ViewKind::IoStat { interval, columns } = k else {
            panic!()
        };
        assert_eq!(
            interval,
            Interval {
                us: Some(500_000),
                precision: 1
            }
        );
        let texts: Vec<Option<&str>> = columns.iter().map(|c| c.text.as_deref()).collect();
        assert_eq!(
            texts,
            [
                Some("tcp"),
                Some("COUNT(tcp.port)tcp.port in {80,443}"),
                None,
                Some("\"a,b\" == ip.src")
            ]
        );
        assert_eq!(columns[1].calc, Calc::Count);
        assert_eq!(columns[1].field.as_deref(), Some("tcp.port"));
        assert_eq!(columns[1].filter.as_deref(), Some("tcp.port in {80,443}"));
    }

    #[test]
    fn intervals_keep_the_precision_written() {
        let p = |s| parse_interval(s).unwrap();
        assert_eq!(
            p("1"),
            Interval {
                us: Some(1_000_000),
                precision: 0
            }
        );
        assert_eq!(
            p("1.00"),
            Interval {
                us: Some(1_000_000),
                precision: 2
            }
        );
        assert_eq!(
            p("0.001"),
            Interval {
                us: Some(1_000),
                precision: 3
            }
        );
        assert_eq!(
            p("0"),
            Interval {
                us: None,
                precision: 0
            }
        );
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("x").is_err());
    }

    #[test]
    fn malformed_arguments_name_the_view_and_list_the_forms() {
        for (arg, says) in [
            (
                "tracee,proces_tree",
                "unknown Tracee view \"tracee,proces_tree\"",
            ),
            ("tracee", "\"tracee\" needs a view"),
            ("tracee,timeline", "tracee,timeline needs an interval"),
            (
                "tracee,timeline,soon",
                "tracee,timeline: \"soon\" is not an interval",
            ),
            (
                "tracee,process,bash",
                "tracee,process: \"bash\" is not a PID",
            ),
            ("conv,sctp", "unknown conv type \"sctp\""),
            ("endpoints", "endpoints needs a type"),
            ("io,stat", "io,stat needs an interval"),
            ("io,stat,1,COUNT()", "COUNT() needs a field"),
            ("io,stat,1,FRAMES(ip.len)", "FRAMES() takes no field"),
            ("io,stat,1,SUM(frame.len", "closing parenthesis missing"),
            ("dns,stat", "unknown view \"dns,stat\""),
            (
                "conv,tcp,",
                "conv,tcp: a comma must be followed by a filter",
            ),
            ("flows", "unknown view \"flows\""),
            (
                "tracee,process_tree,opened_file",
                "tracee,process_tree: \"opened_file\" is not a variant (standard, opened_files, written_files, network, signatures) or container (nor a field to filter on)",
            ),
            (
                "tracee,event_counts,containers",
                "tracee,event_counts: \"containers\" is not container (nor a field to filter on)",
            ),
        ] {
            let e = ViewSpec::parse(arg).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(says), "{arg}: {text}");
            assert!(text.starts_with(&format!("-z {arg}: ")), "{text}");
            assert!(
                text.contains("tracee,process_tree[,opened_files|"),
                "{text}"
            );
        }
    }
}
