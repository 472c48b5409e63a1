//! `-z dns,tree` and `-z http,tree`: Wireshark's DNS statistics and HTTP packet counter, over
//! DNS and HTTP packets and the Tracee events that carry DNS and HTTP (`net_packet_dns*`,
//! `net_packet_http*`) through the same `dns.*` and `http.*` fields.

use osprey_field::fields::{dns, http, tcp, udp};
use osprey_field::registry;

use crate::conv::{flow, Addr};
use crate::process::ProcessModel;
use crate::spec::{Layer, ViewSpec};
use crate::stats_tree::{StatsTree, StatsTreeResult, ROOT};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};
use osprey_field::hash::FastMap;

/// A value's name in a table, or tshark's "Unknown ..." text.
fn name_of(table: &[(i64, &str)], v: i64, unknown: &str) -> String {
    match table.iter().find(|(n, _)| *n == v) {
        Some((_, s)) => s.to_string(),
        None => format!("{unknown} ({v})"),
    }
}

/// The filter of the frames whose `field` (its first value) is `v`, where frames without the
/// field count as 0.
fn bucket_filter(field: osprey_field::FieldId, v: i64) -> String {
    let info = registry().info(field);
    let name = &info.abbrev;
    if v == 0 {
        format!("dns && ({name} == 0 || !{name})")
    } else {
        format!("{name} == {v}")
    }
}

/// The frames the DNS tree counts as queries (a frame that does not say is one).
const QUERIES: &str = "dns && !(dns.flags.response == 1)";

/// A DNS transaction awaiting (or given) its response.
#[derive(Clone, Copy, Debug)]
struct Transaction {
    request_ns: u64,
    answered: bool,
}

/// Wireshark's DNS statistics. One difference from tshark 4.0: a response's "Response Stats"
/// are counted once (tshark 4.0 adds them twice, a bug fixed in later versions).
pub(crate) struct DnsTree {
    spec: ViewSpec,
    bit: Option<u8>,
    tree: StatsTree,
    qr: usize,
    qtypes: usize,
    qclasses: usize,
    rcodes: usize,
    opcodes: usize,
    transactions: FastMap<(Conversation, u64), Transaction>,
}

/// Both ends of a DNS conversation, in a fixed order (`None` when the frame has no ports).
type Conversation = Option<(Addr, u32, Addr, u32)>;

/// Seconds within which a repeated request or response is a retransmission (Wireshark's
/// `dns.retransmission_timer`).
const RETRANSMISSION_NS: u64 = 5_000_000_000;

impl DnsTree {
    pub(crate) fn new(spec: &ViewSpec, bit: Option<u8>, s: &mut Setup<'_>) -> DnsTree {
        for f in [
            dns::DNS,
            dns::ID,
            dns::LENGTH,
            dns::FLAGS_RESPONSE,
            dns::FLAGS_OPCODE,
            dns::FLAGS_RCODE,
            dns::QRY_NAME,
            dns::QRY_TYPE,
            dns::QRY_CLASS,
            dns::QRY_NAME_LEN,
            dns::COUNT_LABELS,
            dns::COUNT_QUERIES,
            dns::COUNT_ANSWERS,
            dns::COUNT_AUTH_RR,
            dns::COUNT_ADD_RR,
            udp::LENGTH,
            udp::SRCPORT,
            udp::DSTPORT,
            tcp::SRCPORT,
            tcp::DSTPORT,
            osprey_field::fields::ip::SRC,
            osprey_field::fields::ip::DST,
            osprey_field::fields::ip::IPV6_SRC,
            osprey_field::fields::ip::IPV6_DST,
        ] {
            s.read(f);
        }
        let mut tree = StatsTree::new();
        let packets = tree.node("Total Packets", ROOT);
        let qr = tree.node("Query/Response", packets);
        let qtypes = tree.node("Query Type", packets);
        let qclasses = tree.node("Class", packets);
        let rcodes = tree.node("rcode", packets);
        let opcodes = tree.node("opcodes", packets);
        tree.node("Payload size", ROOT);
        let query = tree.node("Query Stats", ROOT);
        tree.node("Qname Len", query);
        let labels = tree.node("Label Stats", query);
        for l in ["1st Level", "2nd Level", "3rd Level", "4th Level or more"] {
            tree.node(l, labels);
        }
        let response = tree.node("Response Stats", ROOT);
        for n in [
            "no. of questions",
            "no. of answers",
            "no. of authorities",
            "no. of additionals",
        ] {
            tree.node(n, response);
        }
        let service = tree.node("Service Stats", ROOT);
        for n in [
            "no. of unsolicited responses",
            "no. of retransmissions",
            "request-response time (msec)",
        ] {
            tree.node(n, service);
        }
        DnsTree {
            spec: spec.clone(),
            bit,
            tree,
            qr,
            qtypes,
            qclasses,
            rcodes,
            opcodes,
            transactions: FastMap::default(),
        }
    }
}

impl View for DnsTree {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.has(dns::DNS) || !rec.counts(self.bit) {
            return;
        }
        let response = rec.bool(dns::FLAGS_RESPONSE).unwrap_or(false);
        let questions = rec
            .uint(dns::COUNT_QUERIES)
            .unwrap_or_else(|| rec.values(dns::QRY_NAME).count() as u64);
        let (qtype, qclass) = if questions > 0 {
            (
                rec.int(dns::QRY_TYPE).unwrap_or(0),
                rec.int(dns::QRY_CLASS).unwrap_or(0),
            )
        } else {
            (0, 0)
        };
        let st = &mut self.tree;
        st.set_time(cx.rel_ms);
        st.tick("Total Packets", ROOT);
        let qr = st.tick_pivot(self.qr, if response { "Response" } else { "Query" });
        st.set_filter(qr, || {
            if response {
                "dns.flags.response == 1"
            } else {
                QUERIES
            }
            .to_string()
        });
        let rcode = rec.int(dns::FLAGS_RCODE).unwrap_or(0);
        let opcode = rec.int(dns::FLAGS_OPCODE).unwrap_or(0);
        for (pivot, name, field, v) in [
            (
                self.qtypes,
                name_of(dns::TYPE_DESCRIPTIONS, qtype, "Unknown packet type"),
                dns::QRY_TYPE,
                qtype,
            ),
            (
                self.qclasses,
                name_of(dns::CLASSES, qclass, "Unknown class"),
                dns::QRY_CLASS,
                qclass,
            ),
            (
                self.rcodes,
                name_of(dns::RCODES, rcode, "Unknown rcode"),
                dns::FLAGS_RCODE,
                rcode,
            ),
            (
                self.opcodes,
                name_of(dns::OPCODES, opcode, "Unknown opcode"),
                dns::FLAGS_OPCODE,
                opcode,
            ),
        ] {
            let node = st.tick_pivot(pivot, &name);
            st.set_filter(node, || bucket_filter(field, v));
        }
        // The message's length: after the UDP header, or with TCP's length prefix. Events do
        // not say.
        let payload = match rec.uint(dns::LENGTH) {
            Some(l) => Some(l + 2),
            None if !rec.is_event() => rec.uint(udp::LENGTH).map(|l| l.saturating_sub(8)),
            None => None,
        };
        if let Some(p) = payload {
            st.add_int("Payload size", ROOT, p as i64);
        }
        let query = st.node("Query Stats", ROOT);
        let response_stats = st.node("Response Stats", ROOT);
        let service = st.node("Service Stats", ROOT);
        if !response {
            if questions > 0 {
                st.add_int("Qname Len", query, rec.int(dns::QRY_NAME_LEN).unwrap_or(0));
            } else {
                st.add_int("Qname Len", query, 0);
            }
            let labels = st.node("Label Stats", query);
            let count = rec.int(dns::COUNT_LABELS).unwrap_or(0);
            let level = match count {
                1 => "1st Level",
                2 => "2nd Level",
                3 => "3rd Level",
                _ => "4th Level or more",
            };
            let node = st.tick(level, labels);
            st.set_filter(node, || match count {
                1..=3 => format!("{QUERIES} && dns.count.labels == {count}"),
                _ => format!("{QUERIES} && !(dns.count.labels in {{1, 2, 3}})"),
            });
        } else {
            for (name, field) in [
                ("no. of questions", dns::COUNT_QUERIES),
                ("no. of answers", dns::COUNT_ANSWERS),
                ("no. of authorities", dns::COUNT_AUTH_RR),
                ("no. of additionals", dns::COUNT_ADD_RR),
            ] {
                let n = if field == dns::COUNT_QUERIES {
                    questions
                } else {
                    rec.uint(field).unwrap_or(0)
                };
                st.add_int(name, response_stats, n as i64);
            }
        }
        // Request/response matching, per transaction ID and conversation.
        let id = rec.uint(dns::ID).unwrap_or(0);
        let conv = flow(rec, Layer::Udp)
            .or_else(|| flow(rec, Layer::Tcp))
            .map(|f| {
                let (a, b) = ((f.src, f.sport), (f.dst, f.dport));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                (lo.0, lo.1, hi.0, hi.1)
            });
        let now = rec.meta.ts;
        if !response {
            let fresh = match self.transactions.get(&(conv, id)) {
                Some(t) => t.answered || now.saturating_sub(t.request_ns) >= RETRANSMISSION_NS,
                None => true,
            };
            if fresh {
                self.transactions.insert(
                    (conv, id),
                    Transaction {
                        request_ns: now,
                        answered: false,
                    },
                );
            }
        } else {
            match self.transactions.get_mut(&(conv, id)) {
                None => {
                    st.tick("no. of unsolicited responses", service);
                }
                Some(t) if t.answered => {
                    st.tick("no. of retransmissions", service);
                }
                Some(t) => {
                    t.answered = true;
                    let ms = now.saturating_sub(t.request_ns) as f64 / 1_000_000.0;
                    st.add_float("request-response time (msec)", service, ms as f32);
                }
            }
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: "DNS".into(),
            first_column: "Topic / Item".into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: self.tree.elapsed_ms(),
            nodes: self.tree.finish(),
        })
    }
}

impl PartialOrd for Addr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Addr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |a: &Addr| match a {
            Addr::V4(x) => (0, x.to_vec()),
            Addr::V6(x) => (1, x.to_vec()),
            Addr::Ether(x) => (2, x.to_vec()),
        };
        key(self).cmp(&key(other))
    }
}

/// Wireshark's HTTP packet counter.
pub(crate) struct HttpTree {
    spec: ViewSpec,
    bit: Option<u8>,
    tree: StatsTree,
    requests: usize,
    responses: usize,
}

const CLASSES: [&str; 6] = [
    "???: broken",
    "1xx: Informational",
    "2xx: Success",
    "3xx: Redirection",
    "4xx: Client Error",
    "5xx: Server Error",
];

impl HttpTree {
    pub(crate) fn new(spec: &ViewSpec, bit: Option<u8>, s: &mut Setup<'_>) -> HttpTree {
        for f in [
            http::HTTP,
            http::REQUEST,
            http::RESPONSE,
            http::REQUEST_METHOD,
            http::RESPONSE_CODE,
        ] {
            s.read(f);
        }
        let mut tree = StatsTree::new();
        let packets = tree.node("Total HTTP Packets", ROOT);
        let requests = tree.node("HTTP Request Packets", packets);
        let responses = tree.node("HTTP Response Packets", packets);
        for c in CLASSES {
            tree.node(c, responses);
        }
        tree.node("Other HTTP Packets", packets);
        HttpTree {
            spec: spec.clone(),
            bit,
            tree,
            requests,
            responses,
        }
    }
}

impl View for HttpTree {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.has(http::HTTP) || !rec.counts(self.bit) {
            return;
        }
        let st = &mut self.tree;
        st.set_time(cx.rel_ms);
        let packets = st.tick("Total HTTP Packets", ROOT);
        let code = rec
            .uint(http::RESPONSE_CODE)
            .filter(|_| rec.bool(http::RESPONSE).unwrap_or(true));
        match (code, rec.str(http::REQUEST_METHOD)) {
            (Some(code), _) if code != 0 => {
                st.tick_id(self.responses);
                let class = match code {
                    c if !(100..600).contains(&c) => CLASSES[0],
                    c => CLASSES[(c / 100) as usize],
                };
                let group = st.tick(class, self.responses);
                let text = registry()
                    .info(http::RESPONSE_CODE)
                    .value_name(code as i64)
                    .map_or_else(
                        || format!("{code} Unknown ({code})"),
                        |n| format!("{code} {n}"),
                    );
                st.tick(&text, group);
            }
            (_, Some(method)) => {
                st.tick_pivot(self.requests, method);
            }
            _ => {
                st.tick("Other HTTP Packets", packets);
            }
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: "HTTP/Packet Counter".into(),
            first_column: "Topic / Item".into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: self.tree.elapsed_ms(),
            nodes: self.tree.finish(),
        })
    }
}
