//! Little-endian PcapNG writer.

use std::io::{self, Write};

use crate::interface::{option_code, Interface, RawOption};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;

/// Writes one PcapNG section: a section header, then interfaces and packets in any order
/// (an interface must be added before its first packet).
pub struct PcapNgWriter<W: Write> {
    out: W,
    interfaces: Vec<Interface>,
    /// The block being written: its type, length and fixed fields...
    block: Vec<u8>,
    /// ...and what follows its payload: padding, options, the length again.
    tail: Vec<u8>,
}

fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

fn put_options(block: &mut Vec<u8>, options: &[RawOption]) {
    let mut any = false;
    for o in options {
        // An option longer than 65535 bytes cannot be encoded; keep its first 65535.
        let len = o.value.len().min(u16::MAX as usize);
        block.extend_from_slice(&o.code.to_le_bytes());
        block.extend_from_slice(&(len as u16).to_le_bytes());
        block.extend_from_slice(&o.value[..len]);
        block.extend(std::iter::repeat_n(0u8, pad4(len)));
        any = true;
    }
    if any {
        block.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    }
}

impl<W: Write> PcapNgWriter<W> {
    /// Starts a section. `user_application` goes into `shb_userappl` (e.g. "osprey 0.1.0").
    pub fn new(out: W, user_application: &str) -> io::Result<Self> {
        let mut w = PcapNgWriter {
            out,
            interfaces: Vec::new(),
            block: Vec::with_capacity(64),
            tail: Vec::with_capacity(64),
        };
        w.begin(SHB);
        w.block.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        w.block.extend_from_slice(&1u16.to_le_bytes());
        w.block.extend_from_slice(&0u16.to_le_bytes());
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length not specified
        put_options(
            &mut w.tail,
            &[RawOption::string(
                option_code::SHB_USERAPPL,
                user_application,
            )],
        );
        w.finish()?;
        Ok(w)
    }

    /// Writes an interface description block; returns the interface's ID for [`Self::write_packet`].
    pub fn add_interface(&mut self, iface: &Interface) -> io::Result<u32> {
        self.begin(IDB);
        self.block.extend_from_slice(&iface.link_type.to_le_bytes());
        self.block.extend_from_slice(&0u16.to_le_bytes());
        self.block.extend_from_slice(&iface.snaplen.to_le_bytes());
        put_options(&mut self.tail, &iface.options);
        self.finish()?;
        self.interfaces.push(iface.clone());
        Ok((self.interfaces.len() - 1) as u32)
    }

    /// The interfaces added so far, by ID.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Writes an enhanced packet block. `ts_raw` is in the interface's units.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts_raw: u64,
        data: &[u8],
        orig_len: u32,
        options: &[RawOption],
    ) -> io::Result<()> {
        if interface as usize >= self.interfaces.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("packet for unknown interface {interface}"),
            ));
        }
        if data.len() > crate::MAX_RECORD_LEN - 64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("packet of {} bytes is too large for one block", data.len()),
            ));
        }
        self.begin(EPB);
        self.block.extend_from_slice(&interface.to_le_bytes());
        self.block
            .extend_from_slice(&((ts_raw >> 32) as u32).to_le_bytes());
        self.block.extend_from_slice(&(ts_raw as u32).to_le_bytes());
        self.block
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.block
            .extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        self.tail.extend(std::iter::repeat_n(0u8, pad4(data.len())));
        put_options(&mut self.tail, options);
        self.finish_with(data)
    }

    /// Writes a Tracee event (its JSON, without a newline) on a USER0 interface; `ts_ns` is
    /// the event timestamp in nanoseconds, which such interfaces use as their unit.
    pub fn write_event(&mut self, interface: u32, ts_ns: u64, json: &[u8]) -> io::Result<()> {
        self.write_packet(interface, ts_ns, json, json.len() as u32, &[])
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn begin(&mut self, block_type: u32) {
        self.block.clear();
        self.tail.clear();
        self.block.extend_from_slice(&block_type.to_le_bytes());
        self.block.extend_from_slice(&[0; 4]); // length, filled in by finish
    }

    fn finish(&mut self) -> io::Result<()> {
        self.finish_with(&[])
    }

    /// Ends the block: its fields, `payload`, then the tail and the length again. The payload
    /// goes to the output as it is, not through the block first: an event's JSON is most of
    /// the file, and that copy was a tenth of a conversion's CPU time.
    fn finish_with(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = (self.block.len() + payload.len() + self.tail.len() + 4) as u32;
        self.block[4..8].copy_from_slice(&len.to_le_bytes());
        self.tail.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&self.block)?;
        self.out.write_all(payload)?;
        self.out.write_all(&self.tail)
    }
}
