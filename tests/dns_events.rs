//! `trace.ProtoDNS` shown like Wireshark's DNS (issue 12, point 5): every `net_packet_dns`
//! event of the fixtures is re-encoded as the DNS message it describes, in a UDP packet, and
//! tshark's Info text and `dns.*` fields for that packet must equal Osprey's for the event.

use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// The `dns.*` fields compared. Left out: what gopacket's structure does not keep
/// (`dns.resp.len`, and the OPT record's payload size and extended flags, which gopacket
/// folds into an "Unknown" class and a zero TTL), and `dns.length` (TCP only).
const FIELDS: &[&str] = &[
    "_ws.col.Info",
    "dns.id",
    "dns.flags",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.authoritative",
    "dns.flags.truncated",
    "dns.flags.recdesired",
    "dns.flags.recavail",
    "dns.flags.z",
    "dns.flags.authenticated",
    "dns.flags.checkdisable",
    "dns.flags.rcode",
    "dns.count.queries",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.count.add_rr",
    "dns.qry.name",
    "dns.qry.name.len",
    "dns.count.labels",
    "dns.qry.type",
    "dns.qry.class",
    "dns.resp.name",
    "dns.resp.type",
    "dns.resp.class",
    "dns.resp.ttl",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.ns",
    "dns.ptr.domain_name",
    "dns.soa.mname",
    "dns.soa.rname",
    "dns.soa.serial_number",
    "dns.soa.refresh_interval",
    "dns.soa.retry_interval",
    "dns.soa.expire_limit",
    "dns.mx.preference",
    "dns.mx.mail_exchange",
    "dns.txt",
    "dns.srv.priority",
    "dns.srv.port",
    "dns.srv.target",
];

fn name(out: &mut Vec<u8>, n: &str) {
    for label in n.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn type_number(t: &str) -> u16 {
    match t {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "OPT" => 41,
        other => panic!("type {other} not in the fixtures"),
    }
}

/// The DNS message a gopacket `layers.DNS` (as Tracee writes it) describes.
fn encode(dns: &Value) -> Vec<u8> {
    let n = |k: &str| dns[k].as_u64().unwrap();
    let opcode = match dns["opCode"].as_str().unwrap() {
        "query" => 0,
        other => panic!("opcode {other} not in the fixtures"),
    };
    let rcode = match dns["responseCode"].as_str().unwrap() {
        "no error" => 0,
        other => panic!("rcode {other} not in the fixtures"),
    };
    let flags = n("QR") << 15
        | opcode << 11
        | n("AA") << 10
        | n("TC") << 9
        | n("RD") << 8
        | n("RA") << 7
        | n("Z") << 4
        | rcode;
    let mut m = Vec::new();
    for v in [
        n("ID"),
        flags,
        n("QDCount"),
        n("ANCount"),
        n("NSCount"),
        n("ARCount"),
    ] {
        m.extend_from_slice(&(v as u16).to_be_bytes());
    }
    for q in dns["questions"].as_array().unwrap() {
        name(&mut m, q["name"].as_str().unwrap());
        m.extend_from_slice(&type_number(q["type"].as_str().unwrap()).to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    for section in ["answers", "authorities", "additionals"] {
        for rr in dns[section].as_array().unwrap() {
            let ty = rr["type"].as_str().unwrap();
            name(&mut m, rr["name"].as_str().unwrap());
            m.extend_from_slice(&type_number(ty).to_be_bytes());
            // OPT's class is the UDP payload size, which gopacket does not keep.
            let class: u16 = if ty == "OPT" { 1232 } else { 1 };
            m.extend_from_slice(&class.to_be_bytes());
            m.extend_from_slice(&(rr["TTL"].as_u64().unwrap() as u32).to_be_bytes());
            let mut data = Vec::new();
            let s = |k: &str| rr[k].as_str().unwrap().to_string();
            match ty {
                "A" | "AAAA" => match s("IP").parse::<std::net::IpAddr>().unwrap() {
                    std::net::IpAddr::V4(a) => data.extend_from_slice(&a.octets()),
                    std::net::IpAddr::V6(a) => data.extend_from_slice(&a.octets()),
                },
                "NS" => name(&mut data, &s("NS")),
                "CNAME" => name(&mut data, &s("CNAME")),
                "PTR" => name(&mut data, &s("PTR")),
                "SOA" => {
                    let soa = &rr["SOA"];
                    name(&mut data, soa["MName"].as_str().unwrap());
                    name(&mut data, soa["RName"].as_str().unwrap());
                    for k in ["serial", "refresh", "retry", "expire", "minimum"] {
                        data.extend_from_slice(&(soa[k].as_u64().unwrap() as u32).to_be_bytes());
                    }
                }
                _ => {}
            }
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(&data);
        }
    }
    m
}

/// A raw-IP IPv4/UDP packet carrying `payload`.
fn udp_packet(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let src: std::net::Ipv4Addr = src.parse().unwrap();
    let dst: std::net::Ipv4Addr = dst.parse().unwrap();
    let total = (20 + 8 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

fn rows(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out).lines().map(str::to_string).collect()
}

#[test]
fn proto_dns_events_read_like_the_dns_packets_they_describe() {
    let dir = tempdir();
    let mut checked = 0;
    for fixture_name in [ACTION, DOCS] {
        let path = fixture(fixture_name);
        let mut packets = Vec::new();
        for line in lines(&path) {
            let e: Value = serde_json::from_slice(&line).unwrap();
            if e["eventName"] != "net_packet_dns" {
                continue;
            }
            let arg = |n: &str| {
                e["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["name"] == n)
                    .map(|a| a["value"].clone())
                    .unwrap()
            };
            let message = encode(&arg("proto_dns"));
            packets.push((
                0u32,
                0u32,
                udp_packet(
                    arg("src").as_str().unwrap(),
                    arg("dst").as_str().unwrap(),
                    arg("src_port").as_u64().unwrap() as u16,
                    arg("dst_port").as_u64().unwrap() as u16,
                    &message,
                ),
            ));
        }
        assert!(packets.len() >= 10, "{fixture_name}: too few DNS events");
        let pcap = dir.path().join("dns.pcap");
        std::fs::write(&pcap, classic_pcap(false, false, 101, &packets)).unwrap();
        let mut tshark_args = vec!["-r", pcap.to_str().unwrap(), "-T", "fields"];
        let mut ours_args = vec![
            "read",
            "-q",
            "-r",
            path.to_str().unwrap(),
            "-Y",
            r#"tracee.eventName == "net_packet_dns""#,
            "-T",
            "fields",
        ];
        for f in FIELDS {
            tshark_args.extend(["-e", f]);
            ours_args.extend(["-e", f]);
        }
        let theirs = rows(
            &Command::new("tshark")
                .args(&tshark_args)
                .output()
                .expect("tshark is installed (scripts/setup.sh)"),
        );
        let ours = rows(&osprey(&ours_args));
        assert_eq!(ours.len(), theirs.len(), "{fixture_name}");
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            for ((field, ov), tv) in FIELDS.iter().zip(o.split('\t')).zip(t.split('\t')) {
                assert_eq!(ov, tv, "{fixture_name}, DNS event {}: {field}", i + 1);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 32, "21 + 11 net_packet_dns events in the fixtures");
}

#[test]
fn responses_with_an_address_select_by_wireshark_fields() {
    let (rows, out) = fields(
        &[fixture(ACTION).to_str().unwrap()],
        &["frame.number", "dns.id"],
        &["-Y", "dns.flags.response == 1 and dns.a == 104.198.14.52"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The three responses to the A queries for ebpf.io (ids 0x2a7c, 0xff61, 0xff61).
    assert_eq!(rows, [["7", "0x2a7c"], ["8", "0xff61"], ["9", "0xff61"]]);
    let (info, _) = fields(
        &[fixture(ACTION).to_str().unwrap()],
        &["_ws.col.Info"],
        &["-Y", "frame.number == 1"],
    );
    assert_eq!(info, [["Standard query 0xff61 A ebpf.io OPT"]]);
}
