//! Writers that receive frames in order: PcapNG and NDJSON files.

use std::any::Any;
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use osprey_event::Event;
use osprey_pcapng::{Interface, PcapNgWriter};
use osprey_source::{Frame, FrameKind};

/// Receives frames in order and writes them somewhere.
pub trait FrameSink {
    /// Writes one frame.
    fn write_frame(&mut self, frame: &Frame) -> io::Result<()>;
    /// What this sink takes from each event it will be given, made on the thread that parsed
    /// the event (`osprey read`'s workers) so that the sink's own thread does not parse it
    /// again; `None` when the sink needs only the frame's bytes.
    fn prepare_events(&self) -> Option<PrepareEvent> {
        None
    }
    /// Writes one frame with what [`FrameSink::prepare_events`] made of its event (`None` for
    /// a frame that is not an event).
    fn write_prepared(&mut self, frame: &Frame, prepared: Option<Prepared>) -> io::Result<()> {
        let _ = prepared;
        self.write_frame(frame)
    }
    /// Flushes everything; called once at the end.
    fn finish(&mut self) -> io::Result<()>;
    /// Frames this sink cannot hold and did not write.
    fn left_out(&self) -> u64 {
        0
    }
}

/// What a sink made of an event on a worker thread ([`FrameSink::prepare_events`]).
pub type Prepared = Box<dyn Any + Send>;
/// Makes a sink's [`Prepared`] value of a parsed event.
pub type PrepareEvent = fn(&Event) -> Prepared;

/// Writes frames as PcapNG in the Traceeshark layout: events read from JSON on one `USER0`
/// interface with nanosecond timestamps and the JSON text as payload; frames read from capture
/// files on copies of their own interfaces, with their raw timestamps and options unchanged.
/// Artifact records read from JSON go the same way on their own `USER1` interface
/// ([`Interface::osprey_artifacts`]), so converting a capture directory keeps its index.
pub struct PcapNgSink<W: Write> {
    writer: PcapNgWriter<W>,
    /// Output interface ID per input interface (by identity: every input has its own).
    interfaces: HashMap<*const Interface, u32>,
    events_interface: Option<u32>,
    artifacts_interface: Option<u32>,
}

impl<W: Write> PcapNgSink<W> {
    /// Starts the file; `user_application` is recorded in the section header.
    pub fn new(out: W, user_application: &str) -> io::Result<Self> {
        Ok(PcapNgSink {
            writer: PcapNgWriter::new(out, user_application)?,
            interfaces: HashMap::new(),
            events_interface: None,
            artifacts_interface: None,
        })
    }

    fn interface_for(&mut self, iface: &Arc<Interface>) -> io::Result<u32> {
        let key = Arc::as_ptr(iface);
        if let Some(&id) = self.interfaces.get(&key) {
            return Ok(id);
        }
        let id = self.writer.add_interface(iface)?;
        self.interfaces.insert(key, id);
        Ok(id)
    }
}

impl<W: Write> FrameSink for PcapNgSink<W> {
    fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        match &frame.capture {
            Some(c) => {
                let id = self.interface_for(&c.interface)?;
                self.writer
                    .write_packet(id, c.ts_raw, &frame.data, c.orig_len, &c.options)
            }
            None => {
                let (slot, interface): (_, fn() -> Interface) = match frame.kind {
                    FrameKind::Artifact => {
                        (&mut self.artifacts_interface, Interface::osprey_artifacts)
                    }
                    _ => (&mut self.events_interface, Interface::tracee_events),
                };
                let id = match *slot {
                    Some(id) => id,
                    None => {
                        let id = self.writer.add_interface(&interface())?;
                        *slot = Some(id);
                        id
                    }
                };
                self.writer.write_event(id, frame.ts, &frame.data)
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Writes events as Tracee NDJSON: each event's original JSON text and a newline. Packets and
/// artifact records are not Tracee events; they are counted in [`NdjsonSink::left_out`].
pub struct NdjsonSink<W: Write> {
    out: W,
    left_out: u64,
}

impl<W: Write> NdjsonSink<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        NdjsonSink { out, left_out: 0 }
    }
}

impl<W: Write> FrameSink for NdjsonSink<W> {
    fn write_frame(&mut self, frame: &Frame) -> io::Result<()> {
        if frame.kind != FrameKind::Event {
            self.left_out += 1;
            return Ok(());
        }
        self.out.write_all(&frame.data)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Packets and artifact records, which NDJSON (events only) cannot hold.
    fn left_out(&self) -> u64 {
        self.left_out
    }
}
