//! Helpers: running the built binary, temporary directories, and small capture-file builders.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use osprey_pcapng::{option_code, Interface, PcapNgWriter, RawOption};

/// A fixture from `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub const DOCS: &str = "tracee/tracee-docs-v0.23.jsonl";
pub const ACTION: &str = "tracee/tracee-action-trace.jsonl";

/// The Python of the venv scripts/setup.sh makes (with DuckDB, prometheus-client...: the
/// tests/*/requirements.txt files), or `OSPREY_PYTHON`.
pub fn python() -> PathBuf {
    std::env::var_os("OSPREY_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/forward-venv/bin/python"),
        PathBuf::from,
    )
}

/// Runs `osprey` with `args`.
pub fn osprey(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(args)
        .output()
        .expect("run osprey")
}

/// `osprey read -q -r SRC -w DST` (PcapNG, or NDJSON for a .json DST), asserting it succeeds.
pub fn convert(src: &Path, dst: &Path) {
    let out = osprey(&[
        "read",
        "-q",
        "-r",
        src.to_str().unwrap(),
        "-w",
        dst.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{} -> {}: {}",
        src.display(),
        dst.display(),
        stderr(&out)
    );
}

/// Starts `osprey` with its standard input, output and error on pipes.
pub fn osprey_piped(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run osprey")
}

/// Runs `osprey` with `stdin` fed to it.
pub fn osprey_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = osprey_piped(args);
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `osprey read -T fields` rows, split on tabs.
pub fn fields(files: &[&str], fields: &[&str], extra: &[&str]) -> (Vec<Vec<String>>, Output) {
    let mut args = vec!["read", "-q"];
    for f in files {
        args.extend(["-r", f]);
    }
    args.extend(["-T", "fields"]);
    for f in fields {
        args.extend(["-e", f]);
    }
    args.extend(extra);
    let out = osprey(&args);
    let rows = stdout(&out)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    (rows, out)
}

/// The non-empty lines of a file.
pub fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The `timestamp` of each line of a legacy JSON file.
pub fn timestamps(path: &Path) -> Vec<u64> {
    lines(path)
        .iter()
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l).unwrap()["timestamp"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// True when tests that need root (capturing on loopback) can run; otherwise they skip,
/// unless OSPREY_REQUIRE_BPF=1 (as in CI), where skipping is a failure.
pub fn can_capture(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    if std::env::var("OSPREY_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!(
            "{test}: needs root to capture on loopback, and OSPREY_REQUIRE_BPF=1 forbids skipping"
        );
    }
    eprintln!("{test}: skipped (needs root to capture on loopback)");
    false
}

/// A little-endian PcapNG with a Tracee packet-context interface (NULL link type) and a
/// USER0 event interface.
pub fn pcapng_with_context(
    events: &[(u64, &[u8])],
    packets: &[(u64, Vec<u8>)],
    context: &str,
) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new(), "test").unwrap();
    let ev = w.add_interface(&Interface::tracee_events()).unwrap();
    let pk = w
        .add_interface(&Interface {
            link_type: 0,
            snaplen: 0xffff_ffff,
            options: vec![
                RawOption::string(option_code::IF_NAME, "tracee"),
                RawOption::string(option_code::IF_DESCRIPTION, context),
                RawOption::string(option_code::COMMENT, "tracee packet capture"),
                RawOption {
                    code: option_code::IF_TSRESOL,
                    value: vec![9],
                },
            ],
        })
        .unwrap();
    let mut all: Vec<(u64, bool, Vec<u8>)> =
        events.iter().map(|(t, d)| (*t, true, d.to_vec())).collect();
    all.extend(packets.iter().map(|(t, d)| (*t, false, d.clone())));
    all.sort_by_key(|x| x.0);
    for (ts, is_event, data) in all {
        if is_event {
            w.write_event(ev, ts, &data).unwrap();
        } else {
            w.write_packet(pk, ts, &data, data.len() as u32, &[])
                .unwrap();
        }
    }
    w.into_inner().unwrap()
}

/// A NULL-link-type IPv4 packet from 127.0.0.1 to 127.0.0.1 carrying `l4` (IP protocol
/// `proto`). Checksums are left zero: Wireshark does not verify them by default.
fn null_ipv4_packet(proto: u8, ident: u16, l4: &[u8]) -> Vec<u8> {
    let mut p = 2u32.to_le_bytes().to_vec(); // AF_INET in the NULL header
    let total = (20 + l4.len()) as u16;
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&[0x40, 0, 64, proto, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    p.extend_from_slice(l4);
    p
}

/// A NULL-link-type IPv4/UDP packet from 127.0.0.1:`sport` to 127.0.0.1:`dport`.
pub fn null_udp_packet(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut udp = sport.to_be_bytes().to_vec();
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    null_ipv4_packet(17, 1, &udp)
}

/// A classic pcap file.
pub fn classic_pcap(
    big_endian: bool,
    nanos: bool,
    link_type: u32,
    records: &[(u32, u32, Vec<u8>)],
) -> Vec<u8> {
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
    f.extend_from_slice(&u32b(262144));
    f.extend_from_slice(&u32b(link_type));
    for (sec, frac, data) in records {
        f.extend_from_slice(&u32b(*sec));
        f.extend_from_slice(&u32b(*frac));
        f.extend_from_slice(&u32b(data.len() as u32));
        f.extend_from_slice(&u32b(data.len() as u32));
        f.extend_from_slice(data);
    }
    f
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A NULL-link-type IPv4/TCP segment (PSH|ACK) from 127.0.0.1:`sport` to 127.0.0.1:`dport`.
pub fn null_tcp_packet(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut tcp = sport.to_be_bytes().to_vec();
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&1000u32.to_be_bytes());
    tcp.extend_from_slice(&2000u32.to_be_bytes());
    tcp.extend_from_slice(&[0x50, 0x18, 0x20, 0x00, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    null_ipv4_packet(6, 2, &tcp)
}

/// A DNS query (type A) for `name`.
pub fn dns_query_bytes(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Writes `lines` as a Tracee JSON file and returns its path.
pub fn json_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A legacy Tracee event with the given name, args (JSON array text) and extra top-level keys.
pub fn event(name: &str, args: &str, extra: &str) -> String {
    format!(
        r#"{{"timestamp":1700000000000000000,"threadStartTime":1699999999000000000,"processorId":1,"processId":7,"cgroupId":1,"threadId":7,"parentProcessId":1,"hostProcessId":4242,"hostThreadId":4242,"hostParentProcessId":4000,"userId":0,"mountNamespace":4026531841,"pidNamespace":4026531836,"processName":"tester","executable":{{"path":"/usr/bin/tester"}},"hostName":"h","containerId":"","container":{{}},"kubernetes":{{}},"eventId":"1","eventName":"{name}","matchedPolicies":[""],"argsNum":0,"returnValue":0,"syscall":"","stackAddresses":null,"contextFlags":{{"containerStarted":false,"isCompat":false}},"args":{args}{extra}}}"#
    )
}

/// A running `osprey view`: interrupted (as Ctrl-C does) and waited for when dropped, also
/// when a test fails, so that its capture stops.
pub struct ViewProcess(pub Child);

impl Drop for ViewProcess {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its PID.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

/// Starts `osprey view --no-browser --live ARGS...`; returns it, its port and token.
pub fn view_live(args: &[&str]) -> (ViewProcess, u16, String) {
    let mut view = Command::new(env!("CARGO_BIN_EXE_osprey"))
        .args(["view", "--no-browser", "--live"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run osprey view");
    let (port, token) = read_view_url(view.stdout.take().unwrap());
    (ViewProcess(view), port, token)
}

/// The port and token of the URL `osprey view` prints first.
pub fn read_view_url(stdout: std::process::ChildStdout) -> (u16, String) {
    use std::io::BufRead;
    let mut url = String::new();
    std::io::BufReader::new(stdout).read_line(&mut url).unwrap();
    let (addr, token) = url
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.split_once("/?token="))
        .unwrap_or_else(|| panic!("no URL in {url:?}"));
    (addr.parse().unwrap(), token.to_string())
}

/// One request to `osprey view`'s API on 127.0.0.1 (HTTP/1.1, Connection: close); the JSON
/// reply.
pub fn view_api(port: u16, token: &str, method: &str, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Osprey-Token: {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply);
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{method} {path}: {head}\n{body}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

pub fn wait_view(port: u16, token: &str, path: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let v = view_api(port, token, "GET", path);
        if ok(&v) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{path}: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
