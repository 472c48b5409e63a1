//! Converting never loses information: JSON → PcapNG → JSON is byte-identical, and PcapNG →
//! PcapNG keeps every packet with its interface, timestamp and options.

use osprey_pcapng::{option_code, CaptureReader, Interface, Next, PcapNgWriter, RawOption};

use crate::util::*;

#[test]
fn legacy_json_to_pcapng_to_json_is_byte_identical() {
    let dir = tempdir();
    for file in [
        DOCS,
        ACTION,
        "tracee/examples/v1beta1-sched_process_exec.docs.json",
        "tracee/examples/finding_TRC-1022.v0.11-era.json",
    ] {
        let src = fixture(file);
        let pcapng = dir.path().join("x.pcapng");
        let back = dir.path().join("back.json");
        convert(&src, &pcapng);
        convert(&pcapng, &back);
        let original = std::fs::read(&src).unwrap();
        let original = if original.ends_with(b"\n") {
            original
        } else {
            [original, b"\n".to_vec()].concat()
        };
        assert_eq!(std::fs::read(&back).unwrap(), original, "{file}");
        // and -T ndjson prints the same bytes
        let out = osprey(&["read", "-q", "-r", pcapng.to_str().unwrap(), "-T", "ndjson"]);
        assert_eq!(out.stdout, original, "{file}");
    }
}

fn read_all(path: &std::path::Path) -> (Vec<osprey_pcapng::Packet>, Vec<Interface>) {
    let data = std::fs::read(path).unwrap();
    let mut r = CaptureReader::new(&data[..]).unwrap();
    let mut packets = Vec::new();
    loop {
        match r.next() {
            Next::Packet(p) => packets.push(p),
            Next::Damage(d) => panic!("{}: {d:?}", path.display()),
            Next::End => break,
        }
    }
    let ifaces = r.interfaces().iter().map(|i| (**i).clone()).collect();
    (packets, ifaces)
}

#[test]
fn pcapng_to_pcapng_keeps_every_packet_interface_and_option() {
    let dir = tempdir();
    let src = dir.path().join("src.pcapng");
    let mut w = PcapNgWriter::new(Vec::new(), "test").unwrap();
    let eth = w
        .add_interface(&Interface {
            link_type: 1,
            snaplen: 65535,
            options: vec![
                RawOption::string(option_code::IF_NAME, "eth0"),
                RawOption::string(option_code::IF_DESCRIPTION, "uplink"),
                RawOption {
                    code: option_code::IF_TSRESOL,
                    value: vec![6],
                },
                RawOption {
                    code: option_code::IF_SPEED,
                    value: 1_000_000_000u64.to_le_bytes().to_vec(),
                },
            ],
        })
        .unwrap();
    let ev = w.add_interface(&Interface::tracee_events()).unwrap();
    let docs = lines(&fixture(DOCS));
    w.write_packet(
        eth,
        1_000_000,
        &[0xaa; 60],
        1514,
        &[
            RawOption::string(option_code::COMMENT, "first"),
            RawOption {
                code: option_code::EPB_FLAGS,
                value: 1u32.to_le_bytes().to_vec(),
            },
        ],
    )
    .unwrap();
    w.write_event(ev, 1_000_000_500, &docs[0]).unwrap();
    w.write_packet(eth, 1_000_001, &[0xbb; 3], 3, &[]).unwrap();
    std::fs::write(&src, w.into_inner().unwrap()).unwrap();

    let copy = dir.path().join("copy.pcapng");
    convert(&src, &copy);
    let (a, ai) = read_all(&src);
    let (b, bi) = read_all(&copy);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.ts_raw, &x.data, x.orig_len, &x.options),
            (y.ts_raw, &y.data, y.orig_len, &y.options)
        );
        assert_eq!(
            ai[x.interface], bi[y.interface],
            "interfaces carried over unchanged"
        );
    }
}
