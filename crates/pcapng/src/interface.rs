//! Interfaces and options, in the form both the reader and the writer use.

/// Link type 0: BSD loopback; a 4-byte host-order address family, then the IP packet. What
/// Tracee's own pcaps use.
pub const LINKTYPE_NULL: u16 = 0;
/// Link type 1: Ethernet.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// Link type 147: `LINKTYPE_USER0`, which carries Tracee events as JSON (formats.md §2).
pub const LINKTYPE_USER0: u16 = 147;
/// Link type 148: `LINKTYPE_USER1`, which carries Osprey's artifact index records as JSON.
pub const LINKTYPE_USER1: u16 = 148;

/// `if_name` of the interface artifact index records travel on.
const ARTIFACTS_IF_NAME: &str = "osprey-artifacts";

/// Option codes used by name in this workspace (PcapNG specification §4 and §3.5).
pub mod option_code {
    /// `opt_comment` (any block).
    pub const COMMENT: u16 = 1;
    /// `shb_hardware`.
    pub const SHB_HARDWARE: u16 = 2;
    /// `shb_os`.
    pub const SHB_OS: u16 = 3;
    /// `shb_userappl`: the application that wrote the section.
    pub const SHB_USERAPPL: u16 = 4;
    /// `if_name`.
    pub const IF_NAME: u16 = 2;
    /// `if_description`: for Tracee packet captures, the packet context JSON.
    pub const IF_DESCRIPTION: u16 = 3;
    /// `if_speed` (u64).
    pub const IF_SPEED: u16 = 8;
    /// `if_tsresol` (u8): timestamp units, 10^-n or, with the top bit set, 2^-n seconds.
    pub const IF_TSRESOL: u16 = 9;
    /// `if_tzone` (u32).
    pub const IF_TZONE: u16 = 10;
    /// `if_fcslen` (u8).
    pub const IF_FCSLEN: u16 = 13;
    /// `if_tsoffset` (i64): seconds added to every timestamp of the interface.
    pub const IF_TSOFFSET: u16 = 14;
    /// `if_txspeed` (u64).
    pub const IF_TXSPEED: u16 = 16;
    /// `if_rxspeed` (u64).
    pub const IF_RXSPEED: u16 = 17;
    /// `epb_flags` (u32).
    pub const EPB_FLAGS: u16 = 2;
    /// `epb_dropcount` (u64).
    pub const EPB_DROPCOUNT: u16 = 4;
    /// `epb_packetid` (u64).
    pub const EPB_PACKETID: u16 = 5;
    /// `epb_queue` (u32).
    pub const EPB_QUEUE: u16 = 6;
    /// Custom options (copyable and not, UTF-8 and binary): a 4-byte PEN first.
    pub const CUSTOM: [u16; 4] = [2988, 2989, 19372, 19373];
}

/// One option of a block: its code and value bytes, numeric values in little-endian order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    /// Option code.
    pub code: u16,
    /// Option value, without padding.
    pub value: Vec<u8>,
}

impl RawOption {
    /// A string option.
    pub fn string(code: u16, value: &str) -> Self {
        RawOption {
            code,
            value: value.as_bytes().to_vec(),
        }
    }
}

/// The block kinds whose numeric options need their byte order changed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BlockKind {
    Interface,
    Packet,
}

/// The width of a numeric option that must be byte-swapped between byte orders, if any.
pub(crate) fn numeric_width(kind: BlockKind, code: u16) -> Option<usize> {
    use option_code::*;
    if CUSTOM.contains(&code) {
        return Some(4); // the private enterprise number; the rest is opaque
    }
    match (kind, code) {
        (BlockKind::Interface, IF_SPEED | IF_TSOFFSET | IF_TXSPEED | IF_RXSPEED) => Some(8),
        (BlockKind::Interface, IF_TZONE) => Some(4),
        (BlockKind::Packet, EPB_FLAGS | EPB_QUEUE) => Some(4),
        (BlockKind::Packet, EPB_DROPCOUNT | EPB_PACKETID) => Some(8),
        _ => None,
    }
}

/// An interface description: link type, snap length and options (little-endian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Link-layer type of the interface's packets.
    pub link_type: u16,
    /// Maximum bytes captured per packet (0 means no limit).
    pub snaplen: u32,
    /// Options, in their original order.
    pub options: Vec<RawOption>,
}

impl Interface {
    /// The interface Tracee events travel on: `LINKTYPE_USER0`, nanosecond timestamps,
    /// `if_name` "tracee" and `if_description` "Tracee event", as Traceeshark writes it.
    pub fn tracee_events() -> Self {
        Interface {
            link_type: LINKTYPE_USER0,
            snaplen: 262_144,
            options: vec![
                RawOption::string(option_code::IF_NAME, "tracee"),
                RawOption::string(option_code::IF_DESCRIPTION, "Tracee event"),
                RawOption {
                    code: option_code::IF_TSRESOL,
                    value: vec![9],
                },
            ],
        }
    }

    /// The interface artifact index records (`out/artifacts.jsonl`) travel on when events are
    /// converted to PcapNG: `LINKTYPE_USER1`, nanosecond timestamps, the record's JSON as
    /// payload. Wireshark shows them as undissected user data; Osprey reads them back as
    /// artifacts, so converting a capture directory keeps its index.
    pub fn osprey_artifacts() -> Self {
        Interface {
            link_type: LINKTYPE_USER1,
            snaplen: 262_144,
            options: vec![
                RawOption::string(option_code::IF_NAME, ARTIFACTS_IF_NAME),
                RawOption::string(option_code::IF_DESCRIPTION, "Osprey artifact index"),
                RawOption {
                    code: option_code::IF_TSRESOL,
                    value: vec![9],
                },
            ],
        }
    }

    /// The interface a classic pcap file describes in its header.
    pub fn classic(link_type: u16, snaplen: u32, nanoseconds: bool) -> Self {
        Interface {
            link_type,
            snaplen,
            options: vec![RawOption {
                code: option_code::IF_TSRESOL,
                value: vec![if nanoseconds { 9 } else { 6 }],
            }],
        }
    }

    /// The first value of option `code`.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.value.as_slice())
    }

    fn option_str(&self, code: u16) -> Option<&str> {
        let v = self.option(code)?;
        // Writers differ on whether strings end with NUL.
        let v = v.strip_suffix(&[0]).unwrap_or(v);
        std::str::from_utf8(v).ok()
    }

    /// `if_name`, if present and UTF-8.
    pub fn name(&self) -> Option<&str> {
        self.option_str(option_code::IF_NAME)
    }

    /// `if_description`, if present and UTF-8.
    pub fn description(&self) -> Option<&str> {
        self.option_str(option_code::IF_DESCRIPTION)
    }

    /// `if_tsresol`: 6 (microseconds) when absent.
    pub fn tsresol(&self) -> u8 {
        self.option(option_code::IF_TSRESOL)
            .and_then(|v| v.first().copied())
            .unwrap_or(6)
    }

    /// `if_tsoffset` in seconds: 0 when absent.
    pub fn tsoffset(&self) -> i64 {
        self.option(option_code::IF_TSOFFSET)
            .and_then(|v| v.try_into().ok())
            .map(i64::from_le_bytes)
            .unwrap_or(0)
    }

    /// True when this interface carries Tracee events.
    pub fn is_tracee_events(&self) -> bool {
        self.link_type == LINKTYPE_USER0
    }

    /// True when this interface carries artifact index records ([`Interface::osprey_artifacts`]).
    pub fn is_osprey_artifacts(&self) -> bool {
        self.link_type == LINKTYPE_USER1 && self.name() == Some(ARTIFACTS_IF_NAME)
    }

    /// Converts a timestamp in this interface's units to nanoseconds since the epoch,
    /// saturating at the ends of the `u64` range.
    pub fn ts_to_ns(&self, raw: u64) -> u64 {
        let raw = raw as u128;
        let resol = self.tsresol();
        let ns: u128 = if resol & 0x80 == 0 {
            let exp = resol as u32;
            if exp <= 9 {
                raw * 10u128.pow(9 - exp)
            } else if exp <= 38 {
                raw / 10u128.pow(exp - 9)
            } else {
                0
            }
        } else {
            let exp = (resol & 0x7f) as u32;
            if exp >= 127 {
                0
            } else {
                (raw * 1_000_000_000) >> exp
            }
        };
        let offset = self.tsoffset() as i128 * 1_000_000_000;
        (ns as i128 + offset).clamp(0, u64::MAX as i128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_resolution() {
        let mut i = Interface::classic(1, 0, false);
        assert_eq!(i.ts_to_ns(1_500_000), 1_500_000_000);
        i.options[0].value = vec![9];
        assert_eq!(i.ts_to_ns(7), 7);
        i.options[0].value = vec![12];
        assert_eq!(i.ts_to_ns(7_000), 7);
        i.options[0].value = vec![0x80 | 10]; // 1/1024 s
        assert_eq!(i.ts_to_ns(1024), 1_000_000_000);
        i.options[0].value = vec![0xff];
        assert_eq!(i.ts_to_ns(u64::MAX), 0);
        i.options.push(RawOption {
            code: option_code::IF_TSOFFSET,
            value: 10i64.to_le_bytes().to_vec(),
        });
        i.options[0].value = vec![9];
        assert_eq!(i.ts_to_ns(5), 10_000_000_005);
        i.options[1].value = (-20i64).to_le_bytes().to_vec();
        assert_eq!(i.ts_to_ns(5), 0);
    }

    #[test]
    fn strings_tolerate_a_trailing_nul() {
        let i = Interface {
            link_type: 0,
            snaplen: 0,
            options: vec![RawOption {
                code: 2,
                value: b"tracee\0".to_vec(),
            }],
        };
        assert_eq!(i.name(), Some("tracee"));
    }
}
