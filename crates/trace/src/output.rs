//! Output sinks: `json` (stdout), `json:FILE`, `table` (human columns on stdout) and
//! `pcapng:FILE` (events as Traceeshark reads them: Enhanced Packet Blocks on a USER0 interface,
//! payload = the event's JSON) and `forward:URL` (Fluent Forward, `osprey-forward`). Every sink gets the event and its JSON (serialized once), and
//! is flushed after each drain of the ring buffer so `tail -f` and pipes see events promptly.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use osprey_event::{Event, Value};
use osprey_pcapng::{Interface, PcapNgWriter};

/// One `--output` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// Legacy Tracee JSON lines on stdout.
    Json,
    /// Legacy Tracee JSON lines to a file.
    JsonFile(PathBuf),
    /// Human-readable columns on stdout.
    Table,
    /// PcapNG with one USER0 events interface.
    Pcapng(PathBuf),
    /// Fluent Forward to `tcp://`, `tls://` or `unix://` (the URL, checked when parsed).
    Forward(String),
}

impl std::str::FromStr for OutputSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "json" => Ok(OutputSpec::Json),
            None if s == "table" => Ok(OutputSpec::Table),
            Some(("json", path)) if !path.is_empty() => Ok(OutputSpec::JsonFile(path.into())),
            Some(("pcapng", path)) if !path.is_empty() => Ok(OutputSpec::Pcapng(path.into())),
            Some(("forward", url)) => {
                osprey_forward::sender::Config::from_url(url)?;
                Ok(OutputSpec::Forward(url.to_string()))
            }
            _ => Err(format!(
                "'{s}': expected json, json:FILE, table, pcapng:FILE or forward:tcp://HOST:PORT"
            )),
        }
    }
}

/// Where events go.
pub trait Sink {
    /// Writes one event; `json` is its legacy JSON without a newline.
    fn event(&mut self, ev: &Event<'_>, json: &[u8]) -> io::Result<()>;
    /// Pushes buffered output to its destination.
    fn flush(&mut self) -> io::Result<()>;
    /// A Fluent Forward output's endpoint and counters so far (`--metrics`).
    fn forward_stats(&self) -> Option<(String, osprey_forward::sender::Stats)> {
        None
    }
}

/// JSON lines.
pub struct JsonSink<W: Write> {
    out: W,
}

impl<W: Write> JsonSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        JsonSink { out }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn event(&mut self, _ev: &Event<'_>, json: &[u8]) -> io::Result<()> {
        self.out.write_all(json)?;
        self.out.write_all(b"\n")
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Tracee's table layout: TIME UID COMM PID TID RET EVENT ARGS.
pub struct TableSink<W: Write> {
    out: W,
    header_done: bool,
}

impl<W: Write> TableSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        TableSink {
            out,
            header_done: false,
        }
    }
}

fn value_text(v: &Value<'_>, out: &mut String) {
    match v {
        Value::Str(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                value_text(it, out);
            }
            out.push(']');
        }
        other => {
            let mut b = Vec::new();
            other.write_json(&mut b);
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
}

/// One table line for an event (no newline).
pub fn table_line(ev: &Event<'_>) -> String {
    let secs = ev.timestamp / 1_000_000_000;
    let micros = (ev.timestamp % 1_000_000_000) / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let mut args = String::new();
    for (i, a) in ev.args.iter().enumerate() {
        if i > 0 {
            args.push_str(", ");
        }
        args.push_str(&a.name);
        args.push_str(": ");
        value_text(&a.value, &mut args);
    }
    // names from the traced system may hold control characters: never let them reach a terminal
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    format!(
        "{h:02}:{m:02}:{s:02}:{micros:06}  {:<6} {:<16} {:<7} {:<7} {:<6} {:<24} {}",
        ev.user_id,
        clean(&ev.process_name),
        ev.host_process_id,
        ev.host_thread_id,
        ev.return_value,
        ev.event_name,
        clean(&args)
    )
}

impl<W: Write> Sink for TableSink<W> {
    fn event(&mut self, ev: &Event<'_>, _json: &[u8]) -> io::Result<()> {
        if !self.header_done {
            writeln!(
                self.out,
                "{:<15}  {:<6} {:<16} {:<7} {:<7} {:<6} {:<24} ARGS",
                "TIME", "UID", "COMM", "PID", "TID", "RET", "EVENT"
            )?;
            self.header_done = true;
        }
        writeln!(self.out, "{}", table_line(ev))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// PcapNG in the Traceeshark layout.
pub struct PcapngSink {
    w: PcapNgWriter<BufWriter<File>>,
    iface: u32,
}

impl PcapngSink {
    /// Creates `path` and writes the section header and the events interface.
    pub fn create(path: &PathBuf) -> io::Result<Self> {
        let f = File::create(path)?;
        let mut w = PcapNgWriter::new(BufWriter::new(f), "osprey")?;
        let iface = w.add_interface(&Interface::tracee_events())?;
        Ok(PcapngSink { w, iface })
    }
}

impl Sink for PcapngSink {
    fn event(&mut self, ev: &Event<'_>, json: &[u8]) -> io::Result<()> {
        self.w.write_event(self.iface, ev.timestamp, json)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Fluent Forward: events batched to a receiver, at least once; the counters go to stderr
/// when the sink is dropped at the end of the run.
pub struct ForwardSink {
    sender: Option<osprey_forward::sender::Sender>,
    endpoint: osprey_forward::sender::Endpoint,
}

impl ForwardSink {
    /// Starts the sender for `url` (nothing connects until the first batch).
    pub fn start(url: &str) -> io::Result<Self> {
        let cfg = osprey_forward::sender::Config::from_url(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let endpoint = cfg.endpoint.clone();
        let prefix = format!("osprey: forward {endpoint}: ");
        let sender = osprey_forward::sender::Sender::start(
            cfg,
            std::sync::Arc::new(move |m: &str| eprintln!("{prefix}{m}")),
        )?;
        Ok(ForwardSink {
            sender: Some(sender),
            endpoint,
        })
    }
}

impl Sink for ForwardSink {
    fn event(&mut self, ev: &Event<'_>, json: &[u8]) -> io::Result<()> {
        let s = self.sender.as_mut().expect("running");
        s.event(ev.timestamp, json)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sender.as_mut().expect("running").flush();
        Ok(())
    }
    fn forward_stats(&self) -> Option<(String, osprey_forward::sender::Stats)> {
        let s = self.sender.as_ref()?;
        Some((self.endpoint.to_string(), s.stats()))
    }
}

impl Drop for ForwardSink {
    fn drop(&mut self) {
        if let Some(s) = self.sender.take() {
            let stats = s.finish();
            eprintln!("osprey: {}", stats.summary(&self.endpoint));
        }
    }
}

/// Opens the sinks for `specs`.
pub fn open(specs: &[OutputSpec]) -> io::Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for spec in specs {
        sinks.push(match spec {
            OutputSpec::Json => Box::new(JsonSink::new(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            ))),
            OutputSpec::JsonFile(p) => Box::new(JsonSink::new(BufWriter::with_capacity(
                1 << 16,
                File::create(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            ))),
            OutputSpec::Table => Box::new(TableSink::new(BufWriter::new(io::stdout()))),
            OutputSpec::Pcapng(p) => Box::new(
                PcapngSink::create(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            ),
            OutputSpec::Forward(url) => Box::new(ForwardSink::start(url)?),
        });
    }
    Ok(sinks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn output_specs_parse() {
        assert_eq!("json".parse::<OutputSpec>(), Ok(OutputSpec::Json));
        assert_eq!("table".parse::<OutputSpec>(), Ok(OutputSpec::Table));
        assert_eq!(
            "json:/tmp/x.json".parse::<OutputSpec>(),
            Ok(OutputSpec::JsonFile("/tmp/x.json".into()))
        );
        assert_eq!(
            "pcapng:out.pcapng".parse::<OutputSpec>(),
            Ok(OutputSpec::Pcapng("out.pcapng".into()))
        );
        assert_eq!(
            "forward:tcp://127.0.0.1:24224?tag=tracee".parse::<OutputSpec>(),
            Ok(OutputSpec::Forward(
                "tcp://127.0.0.1:24224?tag=tracee".into()
            ))
        );
        assert!("forward:tcp://h:1?nonsense=1"
            .parse::<OutputSpec>()
            .is_err());
        assert!("xml".parse::<OutputSpec>().is_err());
        assert!("json:".parse::<OutputSpec>().is_err());
    }

    #[test]
    fn table_line_is_readable_and_escapes_controls() {
        let ev = Event {
            timestamp: 3_723_000_001_000,
            process_name: Cow::Borrowed("evil\x1b[2J"),
            host_process_id: 7,
            host_thread_id: 7,
            event_name: Cow::Borrowed("openat"),
            args: vec![osprey_event::Arg {
                name: "pathname".into(),
                ty: "const char*".into(),
                value: Value::Str("/etc/passwd".into()),
            }],
            ..Event::default()
        };
        let line = table_line(&ev);
        assert!(line.starts_with("01:02:03:000001"), "{line}");
        assert!(line.contains("evil?[2J"));
        assert!(line.contains("pathname: /etc/passwd"));
    }

    #[test]
    fn pcapng_sink_writes_events_readable_by_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.pcapng");
        let mut sink = PcapngSink::create(&path).unwrap();
        let ev = Event {
            timestamp: 1_700_000_000_123_456_789,
            event_name: Cow::Borrowed("openat"),
            ..Event::default()
        };
        let mut json = Vec::new();
        ev.write_legacy_json(&mut json);
        sink.event(&ev, &json).unwrap();
        sink.flush().unwrap();
        drop(sink);
        let bytes = std::fs::read(&path).unwrap();
        let mut r = osprey_pcapng::CaptureReader::new(&bytes[..]).unwrap();
        match r.next() {
            osprey_pcapng::Next::Packet(p) => {
                assert_eq!(&p.data[..], &json[..]);
                let iface = &r.interfaces()[p.interface];
                assert!(iface.is_tracee_events());
                assert_eq!(iface.ts_to_ns(p.ts_raw), 1_700_000_000_123_456_789);
            }
            other => panic!("expected a packet, got {other:?}"),
        }
    }
}
