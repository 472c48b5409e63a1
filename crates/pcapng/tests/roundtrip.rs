//! The reader against files the writer made, files built by hand in the other byte order and
//! classic pcap, and against damage of every kind.

use osprey_pcapng::{
    option_code, CaptureReader, Damage, Format, Interface, Next, Packet, PcapNgWriter, RawOption,
};

fn read_all(bytes: &[u8]) -> (Vec<Packet>, Vec<Damage>, CaptureReader<&[u8]>) {
    let mut r = CaptureReader::new(bytes).expect("header");
    let (mut packets, mut damage) = (Vec::new(), Vec::new());
    loop {
        match r.next() {
            Next::Packet(p) => packets.push(p),
            Next::Damage(d) => damage.push(d),
            Next::End => break,
        }
    }
    (packets, damage, r)
}

fn sample_pcapng() -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new(), "osprey test").unwrap();
    let ev = w.add_interface(&Interface::tracee_events()).unwrap();
    let eth = w
        .add_interface(&Interface {
            link_type: 1,
            snaplen: 65535,
            options: vec![
                RawOption::string(option_code::IF_NAME, "lo"),
                RawOption {
                    code: option_code::IF_TSRESOL,
                    value: vec![6],
                },
                RawOption {
                    code: option_code::IF_SPEED,
                    value: 1000u64.to_le_bytes().to_vec(),
                },
            ],
        })
        .unwrap();
    w.write_event(
        ev,
        1_700_000_000_123_456_789,
        br#"{"timestamp":1700000000123456789}"#,
    )
    .unwrap();
    w.write_packet(
        eth,
        1_700_000_000_500_000,
        &[1, 2, 3, 4, 5],
        60,
        &[RawOption {
            code: option_code::EPB_FLAGS,
            value: 1u32.to_le_bytes().to_vec(),
        }],
    )
    .unwrap();
    w.write_event(ev, 1_700_000_001_000_000_000, b"{}").unwrap();
    w.into_inner().unwrap()
}

#[test]
fn reads_back_what_it_writes() {
    let bytes = sample_pcapng();
    let (packets, damage, r) = read_all(&bytes);
    assert!(damage.is_empty(), "{damage:?}");
    assert_eq!(r.format(), Format::PcapNg);
    assert_eq!(r.interfaces().len(), 2);
    assert!(r.interfaces()[0].is_tracee_events());
    assert_eq!(r.interfaces()[0].description(), Some("Tracee event"));
    assert_eq!(
        r.interfaces()[1].option(option_code::IF_SPEED),
        Some(&1000u64.to_le_bytes()[..])
    );
    assert_eq!(packets.len(), 3);
    assert_eq!(
        packets[0].data[..],
        br#"{"timestamp":1700000000123456789}"#[..]
    );
    assert_eq!(
        r.interfaces()[0].ts_to_ns(packets[0].ts_raw),
        1_700_000_000_123_456_789
    );
    assert_eq!(packets[1].data[..], [1, 2, 3, 4, 5][..]);
    assert_eq!(packets[1].orig_len, 60);
    assert_eq!(
        r.interfaces()[1].ts_to_ns(packets[1].ts_raw),
        1_700_000_000_500_000_000
    );
    assert_eq!(packets[1].options[0].code, option_code::EPB_FLAGS);
    assert_eq!(packets[2].data[..], b"{}"[..]);
}

/// A big-endian PcapNG, built by hand: two sections, the second little-endian.
fn be_block(t: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len()) as u32;
    let mut b = t.to_be_bytes().to_vec();
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&len.to_be_bytes());
    b
}

#[test]
fn reads_big_endian_sections_and_several_sections() {
    let mut file = Vec::new();
    let mut shb = 0x1A2B3C4Du32.to_be_bytes().to_vec();
    shb.extend_from_slice(&[0, 1, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_be_bytes());
    file.extend(be_block(0x0A0D0D0A, &shb));
    let mut idb = 101u16.to_be_bytes().to_vec(); // raw IP
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&0u32.to_be_bytes());
    // if_tsresol 9, if_tsoffset 2 s, end of options
    idb.extend_from_slice(&9u16.to_be_bytes());
    idb.extend_from_slice(&1u16.to_be_bytes());
    idb.extend_from_slice(&[9, 0, 0, 0]);
    idb.extend_from_slice(&14u16.to_be_bytes());
    idb.extend_from_slice(&8u16.to_be_bytes());
    idb.extend_from_slice(&2i64.to_be_bytes());
    idb.extend_from_slice(&[0, 0, 0, 0]);
    file.extend(be_block(1, &idb));
    // an interface statistics block, which is skipped
    file.extend(be_block(5, &[0; 12]));
    let mut epb = 0u32.to_be_bytes().to_vec();
    epb.extend_from_slice(&0u32.to_be_bytes());
    epb.extend_from_slice(&1000u32.to_be_bytes());
    epb.extend_from_slice(&3u32.to_be_bytes());
    epb.extend_from_slice(&3u32.to_be_bytes());
    epb.extend_from_slice(&[0x45, 0, 0, 0]);
    file.extend(be_block(6, &epb));
    // an unknown block type
    file.extend(be_block(0x1234, &[7; 8]));
    // a second, little-endian section from the writer
    file.extend(sample_pcapng());

    let (packets, damage, r) = read_all(&file);
    assert!(damage.is_empty(), "{damage:?}");
    assert_eq!(r.skipped_blocks(), 2);
    assert_eq!(r.interfaces().len(), 3);
    let be_iface = &r.interfaces()[0];
    assert_eq!(be_iface.link_type, 101);
    assert_eq!(be_iface.tsoffset(), 2);
    assert_eq!(be_iface.ts_to_ns(packets[0].ts_raw), 2_000_001_000);
    assert_eq!(packets[0].data[..], [0x45, 0, 0][..]);
    assert_eq!(packets.len(), 4);
    assert_eq!(
        packets[1].interface, 1,
        "second section's interfaces are numbered after the first's"
    );
    assert_eq!(packets[2].interface, 2);
}

fn classic(big_endian: bool, nanos: bool, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut f = u32b(if nanos { 0xA1B23C4D } else { 0xA1B2C3D4 }).to_vec();
    f.extend_from_slice(&u16b(2));
    f.extend_from_slice(&u16b(4));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(0));
    f.extend_from_slice(&u32b(65535));
    f.extend_from_slice(&u32b(1));
    for (sec, frac, data) in records {
        f.extend_from_slice(&u32b(*sec));
        f.extend_from_slice(&u32b(*frac));
        f.extend_from_slice(&u32b(data.len() as u32));
        f.extend_from_slice(&u32b(data.len() as u32 + 10));
        f.extend_from_slice(data);
    }
    f
}

#[test]
fn reads_classic_pcap_in_both_orders_and_resolutions() {
    for (be, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let file = classic(be, nanos, &[(100, 5, b"abc"), (101, 7, b"")]);
        let (packets, damage, r) = read_all(&file);
        assert!(damage.is_empty());
        assert_eq!(r.format(), Format::Pcap);
        let iface = &r.interfaces()[0];
        assert_eq!(iface.link_type, 1);
        assert_eq!(iface.snaplen, 65535);
        let unit = if nanos { 1 } else { 1000 };
        assert_eq!(
            iface.ts_to_ns(packets[0].ts_raw),
            100_000_000_000 + 5 * unit
        );
        assert_eq!(packets[0].data[..], b"abc"[..]);
        assert_eq!(packets[0].orig_len, 13);
        assert_eq!(packets[1].data[..], b""[..]);
    }
}

#[test]
fn a_truncated_last_block_is_reported_and_the_rest_kept() {
    let bytes = sample_pcapng();
    let cut = &bytes[..bytes.len() - 5];
    let (packets, damage, _) = read_all(cut);
    assert_eq!(packets.len(), 2);
    assert_eq!(damage.len(), 1);
    assert!(
        damage[0]
            .message
            .contains("truncated enhanced packet block"),
        "{:?}",
        damage[0]
    );
}

#[test]
fn a_bad_length_is_skipped_and_reading_resumes_at_the_next_block() {
    let mut bytes = sample_pcapng();
    // Find the second EPB (the 5-byte packet) and corrupt its length field.
    let first_epb = find_block(&bytes, 6, 0);
    let second_epb = find_block(&bytes, 6, first_epb + 1);
    bytes[second_epb + 4..second_epb + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let (packets, damage, _) = read_all(&bytes);
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(damage[0].offset, second_epb as u64);
    assert!(
        damage[0].message.contains("invalid length"),
        "{:?}",
        damage[0]
    );
    assert_eq!(packets.len(), 2, "the packets before and after survive");
    assert_eq!(packets[1].data[..], b"{}"[..]);
}

#[test]
fn a_disagreeing_trailer_is_skipped() {
    let mut bytes = sample_pcapng();
    let epb = find_block(&bytes, 6, 0);
    let len = u32::from_le_bytes(bytes[epb + 4..epb + 8].try_into().unwrap()) as usize;
    bytes[epb + len - 4] ^= 0x40;
    let (packets, damage, _) = read_all(&bytes);
    assert_eq!(damage.len(), 1);
    assert!(damage[0].message.contains("disagree"));
    assert_eq!(packets.len(), 2);
}

#[test]
fn garbage_between_blocks_is_skipped() {
    let bytes = sample_pcapng();
    let epb = find_block(&bytes, 6, 0);
    let mut damaged = bytes[..epb].to_vec();
    damaged.extend_from_slice(b"\x13garbage!garbage\x01");
    damaged.extend_from_slice(&bytes[epb..]);
    let (packets, damage, _) = read_all(&damaged);
    assert_eq!(packets.len(), 3);
    assert_eq!(
        damage.len(),
        1,
        "one report for one stretch of garbage: {damage:?}"
    );
}

#[test]
fn a_packet_for_a_missing_interface_is_damage() {
    let mut bytes = sample_pcapng();
    let epb = find_block(&bytes, 6, 0);
    bytes[epb + 8..epb + 12].copy_from_slice(&9u32.to_le_bytes());
    let (packets, damage, _) = read_all(&bytes);
    assert_eq!(packets.len(), 2);
    assert!(damage[0].message.contains("interface 9"));
}

#[test]
fn huge_lengths_do_not_allocate_and_bad_headers_fail_cleanly() {
    // classic pcap whose only record claims 4 GB
    let mut file = classic(false, false, &[]);
    file.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    let (packets, damage, _) = read_all(&file);
    assert!(packets.is_empty());
    assert!(!damage.is_empty());
    assert!(CaptureReader::new(&b""[..]).is_err());
    assert!(CaptureReader::new(&b"\x0a\x0d\x0d\x0a"[..]).is_err());
    let err = CaptureReader::new(&b"GIF89a-not-a-capture"[..])
        .err()
        .unwrap();
    assert!(err.message.contains("not a pcap or PcapNG"));
}

#[test]
fn classic_records_resync_after_a_corrupt_header() {
    let mut file = classic(
        false,
        false,
        &[(100, 1, b"first"), (100, 2, b"second"), (100, 3, b"third")],
    );
    // Corrupt the second record's captured length.
    let second = 24 + 16 + 5;
    file[second + 8..second + 12].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let (packets, damage, _) = read_all(&file);
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(packets.first().unwrap().data[..], b"first"[..]);
    assert_eq!(packets.last().unwrap().data[..], b"third"[..]);
}

fn find_block(bytes: &[u8], t: u32, from: usize) -> usize {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let bt = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if bt == t && at >= from {
            return at;
        }
        at += len;
    }
    panic!("no block of type {t}");
}
