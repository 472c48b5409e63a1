//! Conversations and endpoints (`-z conv,TYPE`, `-z endpoints,TYPE`), as tshark counts them:
//! from the frame's own (outermost, not ICMP-quoted) addresses and ports, every frame's length
//! on the wire as its bytes, conversations keyed by both ends in either direction, and the
//! direction of the first frame deciding which end is A.
//!
//! Tracee network events count through the same fields (`ip.src`, `tcp.dstport`...). Their
//! bytes are the length of the packet they describe when they say it (`ip.len`, `ipv6.plen`;
//! not the JSON text). A socket event (`security_socket_connect`...) knows only one address,
//! which Traceeshark puts on both `ip.src` and `ip.dst`: such an event counts once for that
//! endpoint (received, for a connect; sent, for a bind or accept), and not as a conversation.

use std::net::{Ipv4Addr, Ipv6Addr};

use osprey_field::fields::{eth, ip, tcp, tracee as t, udp};
use osprey_field::FieldValue;
use serde::Serialize;

use crate::process::ProcessModel;
use crate::spec::{Layer, ViewSpec};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};
use osprey_field::hash::FastMap;

/// An address of a conversation end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
    Ether([u8; 6]),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::V4(a) => write!(f, "{}", Ipv4Addr::from(*a)),
            Addr::V6(a) => write!(f, "{}", Ipv6Addr::from(*a)),
            Addr::Ether(e) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                e[0], e[1], e[2], e[3], e[4], e[5]
            ),
        }
    }
}

fn addr(v: FieldValue<'_>) -> Option<Addr> {
    match v {
        FieldValue::Ipv4(a) => Some(Addr::V4(a.octets())),
        FieldValue::Ipv6(a) => Some(Addr::V6(a.octets())),
        FieldValue::Ether(e) => Some(Addr::Ether(e)),
        _ => None,
    }
}

/// A frame's flow at one layer: source and destination with their ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flow {
    pub src: Addr,
    pub dst: Addr,
    pub sport: u32,
    pub dport: u32,
}

/// The flow of a frame at `layer`, from Wireshark's fields.
pub(crate) fn flow(rec: &Rec<'_>, layer: Layer) -> Option<Flow> {
    let pair = |s, d| Some((addr(rec.first(s)?)?, addr(rec.first(d)?)?));
    let net = || pair(ip::IPV6_SRC, ip::IPV6_DST).or_else(|| pair(ip::SRC, ip::DST));
    let (src, dst, sport, dport) = match layer {
        Layer::Eth => {
            let (s, d) = pair(eth::ETH_SRC, eth::ETH_DST)?;
            (s, d, 0, 0)
        }
        Layer::Ip => {
            let (s, d) = pair(ip::SRC, ip::DST)?;
            (s, d, 0, 0)
        }
        Layer::Ipv6 => {
            let (s, d) = pair(ip::IPV6_SRC, ip::IPV6_DST)?;
            (s, d, 0, 0)
        }
        Layer::Tcp | Layer::Udp => {
            let (sp, dp) = if layer == Layer::Tcp {
                (tcp::SRCPORT, tcp::DSTPORT)
            } else {
                (udp::SRCPORT, udp::DSTPORT)
            };
            let sport = rec.uint(sp)? as u32;
            let dport = rec.uint(dp)? as u32;
            let (s, d) = net()?;
            (s, d, sport, dport)
        }
    };
    Some(Flow {
        src,
        dst,
        sport,
        dport,
    })
}

/// The bytes a frame counts for: its length on the wire, or for an event the length of the
/// packet it describes (0 when it does not say).
pub(crate) fn frame_bytes(rec: &Rec<'_>) -> u64 {
    if !rec.is_event() {
        return rec.meta.len;
    }
    rec.uint(ip::LEN)
        .or_else(|| rec.uint(ip::IPV6_PLEN).map(|p| p + 40))
        .unwrap_or(0)
}

/// For a socket event, which knows one address only: whether that endpoint is the receiver.
fn one_sided(rec: &Rec<'_>, f: &Flow) -> Option<bool> {
    if !rec.is_event() || !rec.has(t::SOCKADDR_SA_FAMILY) || f.src != f.dst || f.sport != f.dport {
        return None;
    }
    Some(rec.event_name().is_some_and(|n| n.contains("connect")))
}

/// One conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// Address A (the source of the first frame).
    pub address_a: String,
    /// Port A, for TCP and UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_a: Option<u32>,
    /// Address B.
    pub address_b: String,
    /// Port B.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_b: Option<u32>,
    /// Frames from A to B.
    pub frames_a_to_b: u64,
    /// Bytes from A to B.
    pub bytes_a_to_b: u64,
    /// Frames from B to A.
    pub frames_b_to_a: u64,
    /// Bytes from B to A.
    pub bytes_b_to_a: u64,
    /// First frame, ns after the first frame of the run.
    pub rel_start_ns: u64,
    /// From its first to its last frame, ns.
    pub duration_ns: u64,
}

/// `-z conv,TYPE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationsResult {
    /// The `-z` argument.
    pub view: String,
    /// `IPv4`, `TCP`...
    pub layer: String,
    /// The view's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Conversations, most frames first.
    pub conversations: Vec<Conversation>,
}

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Address.
    pub address: String,
    /// Port, for TCP and UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Frames it sent.
    pub tx_frames: u64,
    /// Bytes it sent.
    pub tx_bytes: u64,
    /// Frames it received.
    pub rx_frames: u64,
    /// Bytes it received.
    pub rx_bytes: u64,
}

/// `-z endpoints,TYPE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointsResult {
    /// The `-z` argument.
    pub view: String,
    /// `IPv4`, `TCP`...
    pub layer: String,
    /// The view's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Endpoints, most frames first.
    pub endpoints: Vec<Endpoint>,
}

#[derive(Clone, Debug, Default)]
struct ConvItem {
    src: Option<Addr>,
    dst: Option<Addr>,
    sport: u32,
    dport: u32,
    tx_frames: u64,
    tx_bytes: u64,
    rx_frames: u64,
    rx_bytes: u64,
    start: u64,
    stop: u64,
}

#[derive(Clone, Debug)]
struct EndpointItem {
    addr: Addr,
    port: u32,
    tx_frames: u64,
    tx_bytes: u64,
    rx_frames: u64,
    rx_bytes: u64,
}

type Key = (Addr, u32, Addr, u32);

/// Conversations or endpoints of one layer.
pub(crate) struct Conv {
    spec: ViewSpec,
    layer: Layer,
    endpoints: bool,
    bit: Option<u8>,
    convs: Vec<ConvItem>,
    conv_index: FastMap<Key, usize>,
    ends: Vec<EndpointItem>,
    end_index: FastMap<(Addr, u32), usize>,
}

impl Conv {
    pub(crate) fn new(
        spec: &ViewSpec,
        layer: Layer,
        endpoints: bool,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> Conv {
        for f in [
            eth::ETH_SRC,
            eth::ETH_DST,
            ip::SRC,
            ip::DST,
            ip::IPV6_SRC,
            ip::IPV6_DST,
            ip::LEN,
            ip::IPV6_PLEN,
            tcp::SRCPORT,
            tcp::DSTPORT,
            udp::SRCPORT,
            udp::DSTPORT,
            t::SOCKADDR_SA_FAMILY,
            t::EVENT_NAME,
        ] {
            s.read(f);
        }
        Conv {
            spec: spec.clone(),
            layer,
            endpoints,
            bit,
            convs: Vec::new(),
            conv_index: FastMap::default(),
            ends: Vec::new(),
            end_index: FastMap::default(),
        }
    }

    fn endpoint(&mut self, addr: Addr, port: u32, sender: bool, bytes: u64) {
        let i = *self.end_index.entry((addr, port)).or_insert_with(|| {
            self.ends.push(EndpointItem {
                addr,
                port,
                tx_frames: 0,
                tx_bytes: 0,
                rx_frames: 0,
                rx_bytes: 0,
            });
            self.ends.len() - 1
        });
        let e = &mut self.ends[i];
        if sender {
            e.tx_frames += 1;
            e.tx_bytes += bytes;
        } else {
            e.rx_frames += 1;
            e.rx_bytes += bytes;
        }
    }
}

impl View for Conv {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.counts(self.bit) {
            return;
        }
        let Some(f) = flow(rec, self.layer) else {
            return;
        };
        let bytes = frame_bytes(rec);
        let one_sided = one_sided(rec, &f);
        if self.endpoints {
            match one_sided {
                Some(receiver) => self.endpoint(f.dst, f.dport, !receiver, bytes),
                None => {
                    self.endpoint(f.src, f.sport, true, bytes);
                    self.endpoint(f.dst, f.dport, false, bytes);
                }
            }
            return;
        }
        if one_sided.is_some() {
            return;
        }
        let ts = cx.rel_ns;
        let fwd = (f.src, f.sport, f.dst, f.dport);
        let (i, forward) = if let Some(&i) = self.conv_index.get(&fwd) {
            (i, true)
        } else if let Some(&i) = self.conv_index.get(&(f.dst, f.dport, f.src, f.sport)) {
            (i, false)
        } else {
            self.convs.push(ConvItem {
                src: Some(f.src),
                dst: Some(f.dst),
                sport: f.sport,
                dport: f.dport,
                start: ts,
                stop: ts,
                ..ConvItem::default()
            });
            self.conv_index.insert(fwd, self.convs.len() - 1);
            (self.convs.len() - 1, true)
        };
        let c = &mut self.convs[i];
        if forward {
            c.tx_frames += 1;
            c.tx_bytes += bytes;
        } else {
            c.rx_frames += 1;
            c.rx_bytes += bytes;
        }
        // As tshark: a later frame extends the end, an earlier one moves the start.
        if ts > c.stop {
            c.stop = ts;
        } else if ts < c.start {
            c.start = ts;
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        let ports = self.layer.has_ports();
        if self.endpoints {
            let mut endpoints: Vec<Endpoint> = self
                .ends
                .iter()
                .map(|e| Endpoint {
                    address: e.addr.to_string(),
                    port: ports.then_some(e.port),
                    tx_frames: e.tx_frames,
                    tx_bytes: e.tx_bytes,
                    rx_frames: e.rx_frames,
                    rx_bytes: e.rx_bytes,
                })
                .collect();
            // Most frames first; ties in the order they were first seen (a stable sort).
            endpoints.sort_by_key(|e| std::cmp::Reverse(e.tx_frames + e.rx_frames));
            return ViewResult::Endpoints(EndpointsResult {
                view: self.spec.text.clone(),
                layer: self.layer.title().into(),
                filter: self.spec.filter.clone(),
                endpoints,
            });
        }
        let mut conversations: Vec<Conversation> = self
            .convs
            .iter()
            .filter_map(|c| {
                Some(Conversation {
                    address_a: c.src?.to_string(),
                    port_a: ports.then_some(c.sport),
                    address_b: c.dst?.to_string(),
                    port_b: ports.then_some(c.dport),
                    frames_a_to_b: c.tx_frames,
                    bytes_a_to_b: c.tx_bytes,
                    frames_b_to_a: c.rx_frames,
                    bytes_b_to_a: c.rx_bytes,
                    rel_start_ns: c.start,
                    duration_ns: c.stop - c.start,
                })
            })
            .collect();
        conversations.sort_by_key(|c| std::cmp::Reverse(c.frames_a_to_b + c.frames_b_to_a));
        ViewResult::Conversations(ConversationsResult {
            view: self.spec.text.clone(),
            layer: self.layer.title().into(),
            filter: self.spec.filter.clone(),
            conversations,
        })
    }
}
