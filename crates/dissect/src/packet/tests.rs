//! Unit tests: hand-built packets per protocol with exact field values and Info texts (as
//! tshark 4.0 shows them), malformed and truncated cases, and a seeded mutation run that
//! checks no input makes a dissector panic.

use std::sync::LazyLock;

use osprey_field::{registry, FieldValue};

use super::*;
use crate::{Tree, Want};

static ALL: LazyLock<Want> = LazyLock::new(Want::all);

/// Dissects a copy of `bytes` that lives for the test (trees borrow from their frame).
fn run(bytes: &[u8], link: u16) -> Tree<'static> {
    let bytes: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let mut tree = Tree::new(&ALL);
    dissect_link(bytes, link, &mut tree);
    tree
}

/// The values of `name`, as `tshark -T fields` prints them, joined by `,`.
fn v(tree: &Tree<'_>, name: &str) -> String {
    let id = registry()
        .lookup(name)
        .unwrap_or_else(|| panic!("{name} not registered"));
    let info = registry().info(id);
    tree.values(id)
        .map(|x| {
            let mut s = String::new();
            x.write_plain(&info, &mut s);
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn protocols(tree: &Tree<'_>) -> String {
    tree.layers().join(":")
}

// ---- packet builders ----

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![
        0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let len = (20 + payload.len()) as u16;
    h[2..4].copy_from_slice(&len.to_be_bytes());
    let c = inet_checksum(&[&h]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn ipv6(nxt: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0x03, 0xa3, 0x42, 0, 0, nxt, 64];
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&"::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    h.extend_from_slice(&"::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    h.extend_from_slice(payload);
    h
}

fn tcp(sport: u16, dport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&1000u32.to_be_bytes());
    h.extend_from_slice(&2000u32.to_be_bytes());
    h.push((((20 + opts.len()) / 4) as u8) << 4);
    h.push(flags);
    h.extend_from_slice(&512u16.to_be_bytes());
    h.extend_from_slice(&[0xab, 0xcd, 0, 0]);
    h.extend_from_slice(opts);
    h.extend_from_slice(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34]);
    h.extend_from_slice(payload);
    h
}

fn ether(etype: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
    ];
    h.extend_from_slice(&etype.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn null(family: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = family.to_le_bytes().to_vec();
    h.extend_from_slice(payload);
    h
}

const DNS_QUERY: &[u8] =
    b"\x1a\x2b\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";

fn dns_response() -> Vec<u8> {
    let mut m =
        b"\x1a\x2b\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
            .to_vec();
    m.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03www\xc0\x0c");
    m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x01\x02\x03\x04");
    m
}

fn icmp_echo(ty: u8) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, 0x12, 0x34, 0, 1];
    m.extend_from_slice(b"abcdefgh");
    let c = inet_checksum(&[&m]);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

const SYN_OPTIONS: &[u8] = &[
    2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10,
];

// ---- link layers ----

#[test]
fn null_ipv4_udp() {
    let p = null(2, &ipv4(17, &udp(40000, 9999, b"hi")));
    let t = run(&p, LINKTYPE_NULL);
    assert_eq!(protocols(&t), "null:ip:udp:data");
    assert_eq!(v(&t, "null.family"), "2");
    assert_eq!(v(&t, "ip.src"), "10.0.0.1");
    assert_eq!(v(&t, "ip.addr"), "10.0.0.1,10.0.0.2");
    assert_eq!(v(&t, "udp.port"), "40000,9999");
    assert_eq!(v(&t, "udp.length"), "10");
    assert_eq!(v(&t, "data.data"), "6869");
    assert_eq!(v(&t, "data.len"), "2");
    assert_eq!(t.columns.protocol, "UDP");
    assert_eq!(t.columns.info, "40000 \u{2192} 9999 Len=2");
    assert_eq!(t.columns.source, "10.0.0.1");
    assert_eq!(t.columns.destination, "10.0.0.2");
}

#[test]
fn null_family_in_either_byte_order_and_ipv6_families() {
    let inner = ipv4(17, &udp(1, 2, b""));
    let mut swapped = 2u32.to_be_bytes().to_vec();
    swapped.extend_from_slice(&inner);
    let t = run(&swapped, LINKTYPE_NULL);
    assert_eq!(v(&t, "null.family"), "2");
    assert_eq!(protocols(&t), "null:ip:udp");
    for fam in [10u32, 24, 28, 30] {
        let p = null(fam, &ipv6(17, &udp(1, 2, b"x")));
        let t = run(&p, LINKTYPE_NULL);
        assert_eq!(protocols(&t), "null:ipv6:udp:data", "family {fam}");
    }
    let mut lo = 30u32.to_be_bytes().to_vec();
    lo.extend_from_slice(&ipv6(17, &udp(1, 2, b"")));
    assert_eq!(protocols(&run(&lo, LINKTYPE_LOOP)), "null:ipv6:udp");
    let t = run(&null(99, b"zz"), LINKTYPE_NULL);
    assert_eq!(protocols(&t), "null:data");
    assert_eq!(t.columns.info, "Null/Loopback");
}

#[test]
fn ethernet_with_vlan_and_padding() {
    let mut tag = vec![0x20, 0x64, 0x08, 0x00];
    tag.extend_from_slice(&ipv4(17, &udp(1, 2, b"")));
    tag.extend_from_slice(&[0, 0]);
    let p = ether(0x8100, &tag);
    let t = run(&p, LINKTYPE_ETHERNET);
    assert_eq!(protocols(&t), "eth:ethertype:vlan:ethertype:ip:udp");
    assert_eq!(v(&t, "eth.dst"), "ff:ff:ff:ff:ff:ff");
    assert_eq!(v(&t, "eth.addr"), "ff:ff:ff:ff:ff:ff,02:11:22:33:44:55");
    assert_eq!(v(&t, "eth.dst.ig"), "1");
    assert_eq!(v(&t, "eth.src.lg"), "1");
    assert_eq!(v(&t, "eth.ig"), "1,0");
    assert_eq!(v(&t, "eth.type"), "0x8100");
    assert_eq!(v(&t, "vlan.priority"), "1");
    assert_eq!(v(&t, "vlan.id"), "100");
    assert_eq!(v(&t, "vlan.etype"), "0x0800");
    assert_eq!(v(&t, "eth.padding"), "0000");
}

#[test]
fn cooked_captures() {
    let ip = ipv4(17, &udp(1, 2, b""));
    let mut v1 = vec![0, 4, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
    v1.extend_from_slice(&ip);
    let t = run(&v1, LINKTYPE_LINUX_SLL);
    assert_eq!(protocols(&t), "sll:ethertype:ip:udp");
    assert_eq!(v(&t, "sll.pkttype"), "4");
    assert_eq!(v(&t, "sll.hatype"), "772");
    assert_eq!(v(&t, "sll.src.eth"), "00:00:00:00:00:00");
    assert_eq!(v(&t, "sll.unused"), "0000");
    assert_eq!(v(&t, "sll.etype"), "0x0800");
    let mut v2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 7, 0x00, 0x01, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    v2.extend_from_slice(&ip);
    let t = run(&v2, LINKTYPE_LINUX_SLL2);
    assert_eq!(protocols(&t), "sll:ethertype:ip:udp");
    assert_eq!(v(&t, "sll.ifindex"), "7");
    assert_eq!(v(&t, "sll.src.eth"), "01:02:03:04:05:06");
}

#[test]
fn raw_ip_link_types() {
    let ip = ipv4(17, &udp(1, 2, b""));
    assert_eq!(protocols(&run(&ip, LINKTYPE_RAW)), "raw:ip:udp");
    assert_eq!(protocols(&run(&ip, DLT_RAW_12)), "raw:ip:udp");
    assert_eq!(protocols(&run(&ip, LINKTYPE_IPV4)), "ip:udp");
    assert_eq!(
        protocols(&run(&ipv6(17, &udp(1, 2, b"")), LINKTYPE_IPV6)),
        "ipv6:udp"
    );
    let t = run(b"abc", 4242);
    assert_eq!(protocols(&t), "data");
    assert_eq!(t.columns.protocol, "LINKTYPE_4242");
}

#[test]
fn arp_request() {
    let mut a = vec![
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0x11, 0x22, 0x33, 0x44, 0x55, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10,
        0, 0, 2,
    ];
    let t = run(&ether(0x0806, &a), LINKTYPE_ETHERNET);
    assert_eq!(protocols(&t), "eth:ethertype:arp");
    assert_eq!(t.columns.protocol, "ARP");
    assert_eq!(t.columns.info, "Who has 10.0.0.2? Tell 10.0.0.1");
    assert_eq!(v(&t, "arp.opcode"), "1");
    assert_eq!(v(&t, "arp.src.proto_ipv4"), "10.0.0.1");
    a[7] = 2;
    let t = run(&ether(0x0806, &a), LINKTYPE_ETHERNET);
    assert_eq!(t.columns.info, "10.0.0.1 is at 02:11:22:33:44:55");
}

// ---- IP ----

#[test]
fn ipv4_header_fields() {
    let p = ipv4(17, &udp(1, 2, b""));
    let t = run(&p, LINKTYPE_IPV4);
    assert_eq!(v(&t, "ip.version"), "4");
    assert_eq!(v(&t, "ip.hdr_len"), "20");
    assert_eq!(v(&t, "ip.dsfield"), "0x00");
    assert_eq!(v(&t, "ip.len"), "28");
    assert_eq!(v(&t, "ip.id"), "0x1234");
    assert_eq!(v(&t, "ip.flags"), "0x02");
    assert_eq!(v(&t, "ip.flags.df"), "1");
    assert_eq!(v(&t, "ip.flags.mf"), "0");
    assert_eq!(v(&t, "ip.frag_offset"), "0");
    assert_eq!(v(&t, "ip.ttl"), "64");
    assert_eq!(v(&t, "ip.proto"), "17");
    assert_eq!(v(&t, "ip.checksum.status"), "2");
    assert_eq!(v(&t, "ip.src_host"), "10.0.0.1");
    assert_eq!(v(&t, "ip.host"), "10.0.0.1,10.0.0.2");
    assert_eq!(t.columns.source, "10.0.0.1");
}

#[test]
fn ipv4_options_and_fragments() {
    let mut p = ipv4(17, &udp(1, 2, b""));
    // Header length 24: one NOP, one EOL and padding.
    p[0] = 0x46;
    p.splice(20..20, [1u8, 0, 0, 0]);
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    let t = run(&p, LINKTYPE_IPV4);
    assert_eq!(v(&t, "ip.opt.type"), "1,0");
    assert_eq!(protocols(&t), "ip:udp");
    let mut frag = ipv4(17, &udp(1, 2, b"abcd"));
    frag[6] = 0x20; // MF, offset 0
    let t = run(&frag, LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:data");
    assert_eq!(
        t.columns.info,
        "Fragmented IP protocol (proto=UDP 17, off=0, ID=1234)"
    );
}

#[test]
fn ipv6_header_and_extension_headers() {
    let mut hop = vec![17, 0, 1, 4, 0, 0, 0, 0];
    hop.extend_from_slice(&udp(1, 2, b"x"));
    let p = ipv6(0, &hop);
    let t = run(&p, LINKTYPE_IPV6);
    assert_eq!(protocols(&t), "ipv6:ipv6.hopopts:udp:data");
    assert_eq!(v(&t, "ip.version"), "6");
    assert_eq!(v(&t, "ipv6.tclass"), "0x00000000");
    assert_eq!(v(&t, "ipv6.flow"), "0x03a342");
    assert_eq!(v(&t, "ipv6.plen"), "17");
    assert_eq!(v(&t, "ipv6.nxt"), "0");
    assert_eq!(v(&t, "ipv6.hopopts.nxt"), "17");
    assert_eq!(v(&t, "ipv6.hopopts.len_oct"), "8");
    assert_eq!(v(&t, "ipv6.addr"), "::1,::1");
    assert_eq!(t.columns.protocol, "UDP");
}

// ---- TCP ----

#[test]
fn tcp_syn_with_options() {
    let p = ipv4(6, &tcp(38098, 1, 0x02, SYN_OPTIONS, b""));
    let t = run(&p, LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp");
    assert_eq!(v(&t, "tcp.srcport"), "38098");
    assert_eq!(v(&t, "tcp.port"), "38098,1");
    assert_eq!(v(&t, "tcp.seq_raw"), "1000");
    assert_eq!(v(&t, "tcp.ack_raw"), "2000");
    assert_eq!(v(&t, "tcp.hdr_len"), "40");
    assert_eq!(v(&t, "tcp.flags"), "0x0002");
    assert_eq!(v(&t, "tcp.flags.syn"), "1");
    assert_eq!(v(&t, "tcp.flags.ack"), "0");
    assert_eq!(
        v(&t, "tcp.flags.str"),
        "\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}S\u{b7}"
    );
    assert_eq!(v(&t, "tcp.len"), "0");
    assert_eq!(v(&t, "tcp.window_size_value"), "512");
    assert_eq!(v(&t, "tcp.checksum"), "0xabcd");
    assert_eq!(v(&t, "tcp.option_kind"), "2,4,8,1,3");
    assert_eq!(v(&t, "tcp.option_len"), "4,2,10,3");
    assert_eq!(v(&t, "tcp.options.mss_val"), "65495");
    assert_eq!(v(&t, "tcp.options.wscale.shift"), "10");
    assert_eq!(v(&t, "tcp.options.wscale.multiplier"), "1024");
    assert_eq!(v(&t, "tcp.options.timestamp.tsval"), "1");
    assert_eq!(t.columns.protocol, "TCP");
    assert_eq!(
        t.columns.info,
        "38098 \u{2192} 1 [SYN] Seq=1000 Win=512 Len=0 MSS=65495 SACK_PERM TSval=1 TSecr=0 WS=1024"
    );
    assert!(!t.has(registry().lookup("_ws.malformed").unwrap()));
}

#[test]
fn tcp_flags_info_and_payload() {
    let p = ipv4(6, &tcp(5555, 40000, 0x3f, &[], b"xyz"));
    let t = run(&p, LINKTYPE_IPV4);
    assert_eq!(
        t.columns.info,
        "5555 \u{2192} 40000 [FIN, SYN, RST, PSH, ACK, URG] Seq=1000 Ack=2000 Win=512 Urg=0 Len=3"
    );
    assert_eq!(v(&t, "tcp.payload"), "78797a");
    assert_eq!(protocols(&t), "ip:tcp:data");
    let p = ipv4(6, &tcp(5555, 40000, 0, &[], b""));
    assert!(run(&p, LINKTYPE_IPV4).columns.info.contains("[<None>]"));
}

#[test]
fn tcp_bogus_header_length() {
    let mut seg = tcp(1, 2, 0x10, &[], b"");
    seg[12] = 0x30;
    let t = run(&ipv4(6, &seg), LINKTYPE_IPV4);
    assert_eq!(v(&t, "tcp.hdr_len"), "12");
    assert!(t.has(registry().lookup("_ws.malformed").unwrap()));
    assert_eq!(
        v(&t, "_ws.expert.message"),
        "Bogus TCP header length (12, must be at least 20)"
    );
    assert_eq!(
        t.columns.info,
        "1 \u{2192} 2 [Bogus TCP header length (12, must be at least 20)]"
    );
}

// ---- ICMP ----

#[test]
fn icmp_echo_request_and_reply() {
    let t = run(&ipv4(1, &icmp_echo(8)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:icmp:data");
    assert_eq!(t.columns.protocol, "ICMP");
    assert_eq!(
        t.columns.info,
        "Echo (ping) request  id=0x1234, seq=1/256, ttl=64"
    );
    assert_eq!(v(&t, "icmp.type"), "8");
    assert_eq!(v(&t, "icmp.ident"), "4660");
    assert_eq!(v(&t, "icmp.ident_le"), "13330");
    assert_eq!(v(&t, "icmp.seq"), "1");
    assert_eq!(v(&t, "icmp.seq_le"), "256");
    assert_eq!(v(&t, "icmp.checksum.status"), "1");
    let mut bad = icmp_echo(0);
    bad[2] ^= 0xff;
    let t = run(&ipv4(1, &bad), LINKTYPE_IPV4);
    assert_eq!(
        t.columns.info,
        "Echo (ping) reply    id=0x1234, seq=1/256, ttl=64"
    );
    assert_eq!(v(&t, "icmp.checksum.status"), "0");
}

#[test]
fn icmp_error_quotes_the_packet() {
    let quoted = ipv4(17, &udp(35790, 9999, b"hi"));
    let mut m = vec![3, 3, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&quoted);
    let t = run(&ipv4(1, &m), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:icmp:ip:udp:data");
    assert_eq!(t.columns.protocol, "ICMP");
    assert_eq!(t.columns.info, "Destination unreachable (Port unreachable)");
    assert_eq!(v(&t, "ip.src"), "10.0.0.1,10.0.0.1");
    assert_eq!(v(&t, "udp.dstport"), "9999");
    assert_eq!(v(&t, "icmp.unused"), "00000000");
}

#[test]
fn icmpv6_echo_and_neighbour_discovery() {
    let mut echo = vec![128, 0, 0, 0, 0, 0x77, 0, 3];
    echo.extend_from_slice(b"ping");
    let mut p = ipv6(58, &echo);
    let c = {
        let mut pseudo = [0u8; 40];
        pseudo[15] = 1;
        pseudo[31] = 1;
        pseudo[32..36].copy_from_slice(&(echo.len() as u32).to_be_bytes());
        pseudo[39] = 58;
        inet_checksum(&[&pseudo, &echo])
    };
    p[42..44].copy_from_slice(&c.to_be_bytes());
    let t = run(&p, LINKTYPE_IPV6);
    assert_eq!(t.columns.protocol, "ICMPv6");
    assert_eq!(
        t.columns.info,
        "Echo (ping) request id=0x0077, seq=3, hop limit=64"
    );
    assert_eq!(v(&t, "icmpv6.echo.identifier"), "0x0077");
    assert_eq!(v(&t, "icmpv6.echo.sequence_number"), "3");
    assert_eq!(v(&t, "icmpv6.checksum.status"), "1");
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    ns.extend_from_slice(&[1, 1, 0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let t = run(&ipv6(58, &ns), LINKTYPE_IPV6);
    assert_eq!(
        t.columns.info,
        "Neighbor Solicitation for fe80::1 from 00:11:22:33:44:55"
    );
    assert_eq!(v(&t, "icmpv6.nd.ns.target_address"), "fe80::1");
    assert_eq!(v(&t, "icmpv6.opt.type"), "1");
    assert_eq!(v(&t, "icmpv6.opt.src_linkaddr"), "001122334455");
}

// ---- DNS ----

#[test]
fn dns_query() {
    let t = run(&ipv4(17, &udp(40000, 53, DNS_QUERY)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:udp:dns");
    assert_eq!(t.columns.protocol, "DNS");
    assert_eq!(t.columns.info, "Standard query 0x1a2b A example.com");
    assert_eq!(v(&t, "dns.id"), "0x1a2b");
    assert_eq!(v(&t, "dns.flags"), "0x0100");
    assert_eq!(v(&t, "dns.flags.response"), "0");
    assert_eq!(v(&t, "dns.flags.recdesired"), "1");
    assert_eq!(v(&t, "dns.flags.rcode"), "");
    assert_eq!(v(&t, "dns.count.queries"), "1");
    assert_eq!(v(&t, "dns.qry.name"), "example.com");
    assert_eq!(v(&t, "dns.qry.name.len"), "11");
    assert_eq!(v(&t, "dns.count.labels"), "2");
    assert_eq!(v(&t, "dns.qry.type"), "1");
    assert_eq!(v(&t, "dns.qry.class"), "0x0001");
}

#[test]
fn dns_srv_owner_names_split_like_wireshark() {
    let mut m = b"\x00\x07\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00".to_vec();
    m.extend_from_slice(b"\x04_sip\x04_tcp\x02ex\x03com\x00\x00\x21\x00\x01");
    m.extend_from_slice(b"\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x3c\x00\x10");
    m.extend_from_slice(b"\x00\x0a\x00\x05\x13\xc4\x01s\x02ex\x03com\x00");
    let t = run(&ipv4(17, &udp(53, 40000, &m)), LINKTYPE_IPV4);
    assert_eq!(v(&t, "dns.srv.service"), "_sip");
    assert_eq!(v(&t, "dns.srv.proto"), "_tcp");
    assert_eq!(v(&t, "dns.srv.name"), "ex.com");
    assert_eq!(v(&t, "dns.srv.priority"), "10");
    assert_eq!(v(&t, "dns.srv.weight"), "5");
    assert_eq!(v(&t, "dns.srv.port"), "5060");
    assert_eq!(v(&t, "dns.srv.target"), "s.ex.com");
}

#[test]
fn dns_response_over_udp_and_tcp() {
    let msg = dns_response();
    let t = run(&ipv4(17, &udp(53, 40000, &msg)), LINKTYPE_IPV4);
    assert_eq!(
        t.columns.info,
        "Standard query response 0x1a2b A example.com CNAME www.example.com A 1.2.3.4"
    );
    assert_eq!(v(&t, "dns.flags.response"), "1");
    assert_eq!(v(&t, "dns.flags.rcode"), "0");
    assert_eq!(v(&t, "dns.resp.name"), "example.com,example.com");
    assert_eq!(v(&t, "dns.resp.type"), "5,1");
    assert_eq!(v(&t, "dns.resp.ttl"), "60,3600");
    assert_eq!(v(&t, "dns.cname"), "www.example.com");
    assert_eq!(v(&t, "dns.a"), "1.2.3.4");
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    let t = run(&ipv4(6, &tcp(53, 40000, 0x18, &[], &framed)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp:dns");
    assert_eq!(v(&t, "dns.length"), msg.len().to_string());
    assert_eq!(v(&t, "dns.a"), "1.2.3.4");
}

#[test]
fn dns_names_like_wireshark() {
    // A pointer to itself: a loop.
    let mut m =
        b"\x00\x04\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01".to_vec();
    let t = run(&ipv4(17, &udp(1000, 53, &m)), LINKTYPE_IPV4);
    assert_eq!(
        v(&t, "dns.qry.name"),
        "<Name contains a pointer that loops>"
    );
    assert_eq!(v(&t, "dns.qry.name.len"), "36");
    // The root, a dot inside a label, and raw bytes.
    m = b"\x00\x03\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x03a.b\x02c\x01\x00\x00\x01\x00\x01".to_vec();
    let t = run(&ipv4(17, &udp(1000, 53, &m)), LINKTYPE_IPV4);
    assert_eq!(v(&t, "dns.qry.name"), "<Root>,a.b.c\u{1}");
    assert_eq!(v(&t, "dns.count.labels"), "1,3");
    assert_eq!(v(&t, "dns.qry.name.len"), "6,6");
    assert_eq!(
        t.columns.info,
        "Standard query 0x0003 NS <Root> A a.b.c\u{1}"
    );
}

#[test]
fn dns_truncated_and_malformed() {
    // Cut by the snap length: the frame claims more than was captured.
    let full = ipv4(17, &udp(40000, 53, DNS_QUERY));
    let cut = &full[..full.len() - 6];
    let mut tree = Tree::new(&ALL);
    dissect_captured(cut, full.len(), LINKTYPE_IPV4, &mut tree);
    assert_eq!(
        tree.columns.info,
        "Standard query 0x1a2b[Packet size limited during capture: DNS truncated]"
    );
    assert!(tree.has(registry().lookup("_ws.short").unwrap()));
    assert!(!tree.has(registry().lookup("_ws.malformed").unwrap()));
    // The same bytes as a complete frame: the name runs past the packet's end.
    let mut bad = ipv4(17, &udp(40000, 53, &DNS_QUERY[..DNS_QUERY.len() - 6]));
    let t = run(&bad, LINKTYPE_IPV4);
    assert_eq!(t.columns.info, "Standard query 0x1a2b[Malformed Packet]");
    assert_eq!(
        v(&t, "_ws.expert.message"),
        "Malformed Packet (Exception occurred)"
    );
    // A query count far beyond the packet's content allocates nothing and stops.
    bad = ipv4(
        17,
        &udp(
            40000,
            53,
            b"\x00\x01\x01\x00\xff\xff\x00\x00\x00\x00\x00\x00",
        ),
    );
    let t = run(&bad, LINKTYPE_IPV4);
    assert_eq!(v(&t, "dns.count.queries"), "65535");
    assert!(t.columns.info.ends_with("[Malformed Packet]"));
}

#[test]
fn dns_work_is_bounded_by_the_message() {
    // 2,000 questions, each a pointer to one 4,400-byte chain of labels: each name stops at a
    // fixed budget (a pointer reaches only the first 16 KiB, so the work per name is bounded).
    let mut m = b"\x00\x05\x01\x00\x07\xd0\x00\x00\x00\x00\x00\x00".to_vec();
    let chain = 12 + 2000 * 6;
    for _ in 0..2000 {
        m.extend_from_slice(&[0xc0 | (chain >> 8) as u8, chain as u8, 0, 1, 0, 1]);
    }
    while m.len() < chain + 4400 {
        m.extend_from_slice(b"\x09abcdefghi");
    }
    m.push(0);
    let t = run(&ipv4(17, &udp(40000, 53, &m)), LINKTYPE_IPV4);
    assert_eq!(v(&t, "dns.count.queries"), "2000");
    assert_eq!(t.values(osprey_field::fields::dns::QRY_NAME).count(), 2000);
    assert!(v(&t, "dns.qry.name").starts_with("<Name too long>,"));
}

#[test]
fn mdns_and_opt_records() {
    let mut m = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    m.extend_from_slice(
        b"\x07example\x03com\x00\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04\x01\x02\x03\x04",
    );
    m.extend_from_slice(b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00");
    let t = run(&ipv4(17, &udp(5353, 5353, &m)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:udp:mdns");
    assert_eq!(t.columns.protocol, "MDNS");
    assert_eq!(
        t.columns.info,
        "Standard query response 0x0000 A, cache flush 1.2.3.4 OPT"
    );
    assert_eq!(v(&t, "dns.resp.cache_flush"), "1");
    assert_eq!(v(&t, "dns.resp.class"), "0x0001");
    assert_eq!(v(&t, "dns.resp.name"), "example.com,<Root>");
    assert_eq!(v(&t, "dns.rr.udp_payload_size"), "1232");
    assert_eq!(v(&t, "dns.resp.z.do"), "1");
}

// ---- HTTP ----

const GET: &[u8] = b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h.example\r\nUser-Agent: ua\r\nAccept: */*\r\nCookie: a=b; c=d\r\nAuthorization: Basic YTpi\r\n\r\n";

#[test]
fn http_request() {
    let t = run(&ipv4(6, &tcp(40000, 80, 0x18, &[], GET)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp:http");
    assert_eq!(t.columns.protocol, "HTTP");
    assert_eq!(t.columns.info, "GET /a/b?x=1&y=2 HTTP/1.1 ");
    assert_eq!(v(&t, "http.request"), "1");
    assert_eq!(v(&t, "http.request.method"), "GET");
    assert_eq!(v(&t, "http.request.uri"), "/a/b?x=1&y=2");
    assert_eq!(v(&t, "http.request.uri.path"), "/a/b");
    assert_eq!(v(&t, "http.request.uri.query.parameter"), "x=1,y=2");
    assert_eq!(v(&t, "http.request.version"), "HTTP/1.1");
    assert_eq!(v(&t, "http.host"), "h.example");
    assert_eq!(v(&t, "http.user_agent"), "ua");
    assert_eq!(v(&t, "http.cookie_pair"), "a=b,c=d");
    assert_eq!(v(&t, "http.authbasic"), "a:b");
    assert_eq!(
        v(&t, "http.request.full_uri"),
        "http://h.example/a/b?x=1&y=2"
    );
    assert_eq!(
        v(&t, "http.request.line").split(",").next(),
        Some("Host: h.example\r\n")
    );
    assert_eq!(v(&t, "_ws.expert.message"), "GET /a/b?x=1&y=2 HTTP/1.1\r\n");
}

#[test]
fn http_response_with_body() {
    let body = b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
    let t = run(&ipv4(6, &tcp(8080, 40000, 0x18, &[], body)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp:http:data-text-lines");
    assert_eq!(t.columns.info, "HTTP/1.1 200 OK  (text/plain)");
    assert_eq!(v(&t, "http.response"), "1");
    assert_eq!(v(&t, "http.response.version"), "HTTP/1.1");
    assert_eq!(v(&t, "http.response.code"), "200");
    assert_eq!(v(&t, "http.response.code.desc"), "OK");
    assert_eq!(v(&t, "http.response.phrase"), "OK");
    assert_eq!(v(&t, "http.server"), "s");
    assert_eq!(v(&t, "http.content_length"), "6");
    assert_eq!(v(&t, "http.content_length_header"), "6");
    assert_eq!(v(&t, "http.file_data"), "hello\n");
    let chunked = b"HTTP/1.1 301 Moved\r\nLocation: /new\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let t = run(&ipv4(6, &tcp(80, 40000, 0x18, &[], chunked)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp:http:data");
    assert_eq!(v(&t, "http.location"), "/new");
    assert_eq!(v(&t, "data.data"), "68656c6c6f");
}

#[test]
fn http_by_heuristic_and_not() {
    let t = run(&ipv4(6, &tcp(40000, 12345, 0x18, &[], GET)), LINKTYPE_IPV4);
    assert_eq!(protocols(&t), "ip:tcp:http");
    // On an HTTP port, a segment that does not start a message is left alone.
    let t = run(
        &ipv4(6, &tcp(40000, 80, 0x18, &[], b"xyz random")),
        LINKTYPE_IPV4,
    );
    assert_eq!(protocols(&t), "ip:tcp");
    assert_eq!(t.columns.protocol, "TCP");
    let t = run(
        &ipv4(6, &tcp(40000, 5555, 0x18, &[], b"GET / HTTP/1.0\r\n\r\n")),
        LINKTYPE_IPV4,
    );
    assert_eq!(protocols(&t), "ip:tcp:data");
}

#[test]
fn http_cut_by_snap_length() {
    let full = ipv4(6, &tcp(40000, 80, 0x18, &[], GET));
    // IP and TCP headers, the request line, the Host line and part of the next.
    let cut = &full[..86];
    let mut tree = Tree::new(&ALL);
    dissect_captured(cut, full.len(), LINKTYPE_IPV4, &mut tree);
    assert_eq!(
        tree.columns.info,
        "GET /a/b?x=1&y=2 HTTP/1.1 [Packet size limited during capture: HTTP truncated]"
    );
    assert_eq!(v(&tree, "http.host"), "h.example");
    assert_eq!(v(&tree, "tcp.len"), (GET.len()).to_string());
}

// ---- want-driven work ----

#[test]
fn only_wanted_fields_are_kept() {
    let mut want = Want::none();
    want.field(osprey_field::fields::dns::QRY_NAME);
    let p = ipv4(17, &udp(40000, 53, DNS_QUERY));
    let mut tree = Tree::new(&want);
    dissect_link(&p, LINKTYPE_IPV4, &mut tree);
    assert_eq!(tree.items().len(), 1);
    assert_eq!(
        tree.first(osprey_field::fields::dns::QRY_NAME),
        Some(&FieldValue::Str("example.com".into()))
    );
    assert!(tree.columns.info.is_empty());
    // Nothing of DNS wanted, only `frame.protocols`: the message is not parsed, the layer is
    // still recorded.
    let mut want = Want::none();
    want.field(osprey_field::fields::frame::PROTOCOLS);
    let mut tree = Tree::new(&want);
    dissect_link(&p, LINKTYPE_IPV4, &mut tree);
    assert!(tree.items().is_empty());
    assert_eq!(tree.layers().join(":"), "ip:udp:dns");
}

// ---- hostile input ----

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus() -> Vec<(u16, Vec<u8>)> {
    let mut dns_tcp = (dns_response().len() as u16).to_be_bytes().to_vec();
    dns_tcp.extend_from_slice(&dns_response());
    let mut quoted = vec![3, 3, 0, 0, 0, 0, 0, 0];
    quoted.extend_from_slice(&ipv4(6, &tcp(1, 80, 0x18, SYN_OPTIONS, GET)));
    vec![
        (
            LINKTYPE_NULL,
            null(2, &ipv4(17, &udp(40000, 53, DNS_QUERY))),
        ),
        (
            LINKTYPE_NULL,
            null(10, &ipv6(58, &[128, 0, 0, 0, 0, 1, 0, 1, 1, 2])),
        ),
        (
            LINKTYPE_ETHERNET,
            ether(0x0800, &ipv4(6, &tcp(38098, 1, 0x02, SYN_OPTIONS, b""))),
        ),
        (
            LINKTYPE_ETHERNET,
            ether(0x0800, &ipv4(17, &udp(53, 40000, &dns_response()))),
        ),
        (LINKTYPE_RAW, ipv4(6, &tcp(40000, 80, 0x18, &[], GET))),
        (LINKTYPE_RAW, ipv4(6, &tcp(53, 40000, 0x18, &[], &dns_tcp))),
        (LINKTYPE_IPV4, ipv4(1, &quoted)),
        (LINKTYPE_IPV4, ipv4(1, &icmp_echo(8))),
        (
            LINKTYPE_IPV6,
            ipv6(0, &[17, 0, 1, 4, 0, 0, 0, 0, 0, 1, 0, 53, 0, 9, 0, 0, 0]),
        ),
        (LINKTYPE_LINUX_SLL2, {
            let mut v2 = vec![
                0x08, 0x00, 0, 0, 0, 0, 0, 7, 0x00, 0x01, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
            ];
            v2.extend_from_slice(&ipv4(17, &udp(5353, 5353, &dns_response())));
            v2
        }),
        (
            LINKTYPE_ETHERNET,
            ether(
                0x0806,
                &[
                    0, 1, 8, 0, 6, 4, 0, 1, 2, 0x11, 0x22, 0x33, 0x44, 0x55, 10, 0, 0, 1, 0, 0, 0,
                    0, 0, 0, 10, 0, 0, 2,
                ],
            ),
        ),
    ]
}

/// Mutates test packets (bit flips, byte overwrites with boundary values, truncation,
/// insertion) and dissects each with everything wanted, checking nothing panics and every
/// span stays inside the frame.
#[test]
fn mutated_packets_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let corpus = corpus();
    let want_none = Want::none();
    for case in 0..6000 {
        let (link, base) = &corpus[case % corpus.len()];
        let mut p = base.clone();
        for _ in 0..1 + rng.below(4) {
            if p.is_empty() {
                break;
            }
            let i = rng.below(p.len());
            match rng.below(6) {
                0 => p[i] ^= 1 << rng.below(8),
                1 => p[i] = [0, 0xff, 0x7f, 0x80, 0xc0, 1][rng.below(6)],
                2 => p.truncate(i),
                3 => p.insert(i, rng.next() as u8),
                4 => p[i] = rng.next() as u8,
                _ => {
                    let j = rng.below(p.len());
                    p.swap(i, j);
                }
            }
        }
        let orig = if rng.below(3) == 0 {
            p.len() + rng.below(100)
        } else {
            p.len()
        };
        let mut tree = Tree::new(&ALL);
        dissect_captured(&p, orig, *link, &mut tree);
        for item in tree.items() {
            if let Some((s, e)) = item.span {
                assert!(
                    s <= e && (e as usize) <= p.len(),
                    "case {case}: span {s}..{e} past {} bytes",
                    p.len()
                );
            }
        }
        let mut tree = Tree::new(&want_none);
        dissect_captured(&p, orig, *link, &mut tree);
    }
}
