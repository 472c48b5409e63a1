//! Damaged and hostile input: a clear message naming the file and the line or byte offset, the
//! damaged record skipped and counted, everything else read, and the exit code saying so.

use crate::util::*;

#[test]
fn a_garbage_line_and_a_half_line_are_skipped_with_their_line_numbers() {
    let dir = tempdir();
    let path = dir.path().join("damaged.json");
    let docs = lines(&fixture(DOCS));
    let mut content = Vec::new();
    content.extend_from_slice(&docs[0]);
    content.extend_from_slice(b"\nthis is not json\n");
    content.extend_from_slice(&docs[1]);
    content.extend_from_slice(b"\n{\"timestamp\":12,\"eventName\":\"bad\",\"args\":[}\n");
    content.extend_from_slice(&docs[2]);
    content.push(b'\n');
    content.extend_from_slice(&docs[3][..docs[3].len() / 2]); // cut off mid-write
    std::fs::write(&path, &content).unwrap();
    let out = osprey(&[
        "read",
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "tracee.eventName",
    ]);
    assert_eq!(out.status.code(), Some(1), "something was skipped");
    assert_eq!(stdout(&out), "security_file_open\nopenat\nvfs_read\n");
    let err = stderr(&out);
    let name = path.display().to_string();
    assert!(
        err.contains(&format!("{name}: line 2: not a JSON object")),
        "{err}"
    );
    assert!(err.contains(&format!("{name}: line 4: ")), "{err}");
    assert!(
        err.contains(&format!("{name}: line 6: incomplete JSON object")),
        "{err}"
    );
    assert!(err.contains("3 damaged record(s) skipped"), "{err}");
}

#[test]
fn a_truncated_pcapng_keeps_what_precedes_the_damage() {
    let dir = tempdir();
    let docs = lines(&fixture(DOCS));
    let file = pcapng_with_context(
        &[(1, &docs[0]), (2, &docs[1]), (3, &docs[2])],
        &[],
        "{\"version\":\"1.0\"}",
    );
    let cut = &file[..file.len() - 10];
    let path = dir.path().join("cut.pcapng");
    std::fs::write(&path, cut).unwrap();
    let (_, out) = fields(&[path.to_str().unwrap()], &["frame.number"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "1\n2\n");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: offset ", path.display())),
        "{err}"
    );
    assert!(err.contains("truncated enhanced packet block"), "{err}");
}

#[test]
fn a_huge_length_field_is_damage_not_an_allocation() {
    let dir = tempdir();
    let mut file = classic_pcap(false, false, 0, &[(1, 0, null_udp_packet(1, 2, b"ok"))]);
    // a record header claiming 4 GiB
    file.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    let path = dir.path().join("huge.pcap");
    std::fs::write(&path, &file).unwrap();
    let (_, out) = fields(&[path.to_str().unwrap()], &["frame.number"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "1\n");
    assert!(
        stderr(&out).contains("implausible captured length"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_wrong_magic_an_empty_file_and_an_empty_directory_are_refused_clearly() {
    let dir = tempdir();
    let bad = dir.path().join("picture.pcap");
    std::fs::write(&bad, b"GIF89a\x01\x00\x01\x00").unwrap();
    let out = osprey(&["read", "-r", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}: not a recording", bad.display())),
        "{}",
        stderr(&out)
    );

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let out = osprey(&["read", "-r", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}: empty input", empty.display())),
        "{}",
        stderr(&out)
    );

    let nothing = dir.path().join("capture");
    std::fs::create_dir(&nothing).unwrap();
    let out = osprey(&["read", "-r", nothing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no Tracee event file or packet capture found"),
        "{}",
        stderr(&out)
    );

    let missing = dir.path().join("missing.json");
    let out = osprey(&["read", "-r", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&missing.display().to_string()),
        "{}",
        stderr(&out)
    );

    let zstd = dir.path().join("x.zst");
    std::fs::write(&zstd, [0x28, 0xb5, 0x2f, 0xfd, 0, 0]).unwrap();
    let out = osprey(&["read", "-r", zstd.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("zstd-compressed"), "{}", stderr(&out));
}

#[test]
fn hostile_strings_never_break_the_summary_line() {
    let dir = tempdir();
    let path = dir.path().join("hostile.json");
    let line = r#"{"timestamp":1,"eventName":"x\u001b[2J\ny","eventId":"1","processName":"a\rb","args":[{"name":"p","type":"const char*","value":"\u0007bell\nnext"}]}"#;
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = osprey(&["read", "-r", path.to_str().unwrap(), "-T", "text"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'),
        "{text:?}"
    );
}

/// Seeded mutations of real inputs: flipped bytes, cut files, spliced garbage. The readers and
/// dissectors must never panic, whatever they are given (the fuzz targets under fuzz/ do the
/// same, coverage-guided, for longer).
#[test]
fn mutated_inputs_never_crash_the_reader() {
    let dir = tempdir();
    let docs = std::fs::read(fixture(DOCS)).unwrap();
    let pcapng = pcapng_with_context(
        &[
            (1, &lines(&fixture(DOCS))[0]),
            (3, &lines(&fixture(DOCS))[5]),
        ],
        &[(2, null_udp_packet(53, 1000, b"\x12\x34\x81\x80\x00\x01"))],
        "{\"version\":\"1.0\",\"processName\":\"p\"}",
    );
    let pcap = classic_pcap(
        true,
        true,
        1,
        &[
            (1, 1, vec![0xff; 60]),
            (2, 2, null_udp_packet(1, 2, b"abc")),
        ],
    );
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        for (i, original) in [&docs, &pcapng, &pcap].into_iter().enumerate() {
            let mut data = original.to_vec();
            match next() % 3 {
                0 => {
                    for _ in 0..1 + next() % 16 {
                        let at = (next() as usize) % data.len();
                        data[at] = next() as u8;
                    }
                }
                1 => data.truncate((next() as usize) % data.len()),
                _ => {
                    let at = (next() as usize) % data.len();
                    let junk: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
                    data.splice(at..at, junk);
                }
            }
            let path = dir.path().join(format!("m{round}-{i}"));
            std::fs::write(&path, &data).unwrap();
            for args in [&["-T", "text"][..], &["-V"], &["-T", "json"]] {
                let mut all = vec!["read", "-q", "-r", path.to_str().unwrap()];
                all.extend_from_slice(args);
                let out = osprey(&all);
                let code = out.status.code();
                assert!(
                    matches!(code, Some(0..=2)),
                    "round {round} input {i} {args:?}: exit {code:?}\n{}",
                    stderr(&out)
                );
                assert!(
                    !stderr(&out).contains("panicked"),
                    "round {round} input {i}: {}",
                    stderr(&out)
                );
            }
        }
    }
}
