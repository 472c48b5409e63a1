//! `osprey read -z` against `tshark -q -z` on a real capture (issue 12, point 3): this test
//! records loopback traffic it generates itself with `dumpcap` (TCP with HTTP requests and
//! responses, a plain TCP exchange, DNS over UDP to a small responder, UDP to a closed port
//! whose ICMP errors quote it, UDP over IPv6), spread over more than a second, and requires
//! Osprey's conversations, endpoints, I/O statistics, protocol hierarchy and HTTP tree to print
//! exactly what tshark prints.
//!
//! Needs root (capturing) and tshark/dumpcap; skipped otherwise, unless `OSPREY_REQUIRE_BPF=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::*;

/// A `dumpcap` capture in the background, stopped with SIGINT so that it flushes.
struct Capture(Child);

impl Capture {
    fn start(file: &Path, filter: &str) -> Capture {
        let mut child = Command::new("dumpcap")
            .args(["-i", "lo", "-f", filter, "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dumpcap is installed (scripts/setup.sh)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Capturing on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("dumpcap starts capturing");
        thread::sleep(Duration::from_millis(300));
        Capture(child)
    }

    fn stop(mut self) {
        thread::sleep(Duration::from_millis(300));
        // SAFETY: our own child's pid; SIGINT makes dumpcap flush and exit.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DNS response to `query`: the question, then an A record.
fn dns_response(query: &[u8]) -> Vec<u8> {
    let mut end = 12;
    while end < query.len() && query[end] != 0 {
        end += 1 + query[end] as usize;
    }
    let mut m = query[..2].to_vec();
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend_from_slice(&query[12..end + 5]);
    m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 7]);
    m
}

fn traffic(server: Ipv4Addr, client: Ipv4Addr) {
    let timeout = Some(Duration::from_secs(3));
    let pause = || thread::sleep(Duration::from_millis(350));

    // HTTP on Wireshark's port 8080: three requests, each answered in one segment.
    let http = TcpListener::bind(SocketAddrV4::new(server, 8080)).expect("listen 8080");
    let server_thread = thread::spawn(move || {
        for _ in 0..3 {
            let Ok((mut s, _)) = http.accept() else {
                return;
            };
            s.set_read_timeout(timeout).unwrap();
            let mut req = [0u8; 2048];
            let n = s.read(&mut req).unwrap_or(0);
            let response: &[u8] = if req[..n].starts_with(b"GET /missing") {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            } else if req[..n].starts_with(b"POST") {
                b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n"
            };
            let _ = s.write_all(response);
        }
    });
    for req in [
        "GET /index.html HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: test\r\n\r\n",
        "POST /form HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n",
    ] {
        let sock = std::net::TcpStream::connect(SocketAddrV4::new(server, 8080)).unwrap();
        let mut c = sock;
        c.set_read_timeout(timeout).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        pause();
    }
    server_thread.join().unwrap();

    // A plain TCP exchange: several segments each way.
    let plain = TcpListener::bind(SocketAddrV4::new(server, 5001)).expect("listen 5001");
    let echo = thread::spawn(move || {
        let (mut s, _) = plain.accept().unwrap();
        s.set_read_timeout(timeout).unwrap();
        let mut buf = [0u8; 512];
        for _ in 0..4 {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = s.write_all(&buf[..n]);
                }
            }
        }
    });
    let mut c = TcpStream::connect(SocketAddrV4::new(server, 5001)).unwrap();
    c.set_read_timeout(timeout).unwrap();
    for i in 0..4 {
        let msg = vec![b'a' + i as u8; 100 + 50 * i];
        c.write_all(&msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        let _ = c.read_exact(&mut back);
        thread::sleep(Duration::from_millis(60));
    }
    drop(c);
    echo.join().unwrap();
    pause();

    // DNS over UDP to a responder, and one query to a closed port (an ICMP error).
    let dns = UdpSocket::bind(SocketAddrV4::new(server, 53)).expect("bind 53");
    dns.set_read_timeout(timeout).unwrap();
    let responder = thread::spawn(move || {
        let mut buf = [0u8; 1500];
        for _ in 0..3 {
            let Ok((n, from)) = dns.recv_from(&mut buf) else {
                return;
            };
            let _ = dns.send_to(&dns_response(&buf[..n]), from);
        }
    });
    let client_sock = UdpSocket::bind(SocketAddrV4::new(client, 0)).unwrap();
    client_sock.set_read_timeout(timeout).unwrap();
    for (i, name) in ["example.com", "www.osprey.test", "a.b.c.osprey.test"]
        .iter()
        .enumerate()
    {
        client_sock
            .send_to(
                &dns_query_bytes(0x4000 + i as u16, name),
                SocketAddrV4::new(server, 53),
            )
            .unwrap();
        let mut buf = [0u8; 1500];
        let _ = client_sock.recv_from(&mut buf);
    }
    responder.join().unwrap();
    client_sock
        .send_to(b"nobody listens", SocketAddrV4::new(server, 9))
        .unwrap();
    pause();

    // UDP datagrams to a listener, some over IPv6.
    let sink = UdpSocket::bind(SocketAddrV4::new(server, 6000)).unwrap();
    for i in 0..5 {
        client_sock
            .send_to(&vec![b'x'; 20 * (i + 1)], SocketAddrV4::new(server, 6000))
            .unwrap();
    }
    drop(sink);
    if let (Ok(a), Ok(b)) = (UdpSocket::bind("[::1]:6006"), UdpSocket::bind("[::1]:0")) {
        for i in 0..3 {
            let _ = b.send_to(&vec![b'y'; 30 + i], "[::1]:6006");
        }
        drop(a);
    }
}

/// `tshark -q -z z` and `osprey read -q -z z` on `cap` (with `extra` arguments for both),
/// which must print the same.
fn compare(cap: &Path, z: &str, extra: &[&str]) -> Option<String> {
    let t = Command::new("tshark")
        .args(["-q", "-r"])
        .arg(cap)
        .args(["-z", z])
        .args(extra)
        .output()
        .expect("tshark is installed (scripts/setup.sh)");
    let mut args = vec!["read", "-q", "-r", cap.to_str().unwrap(), "-z", z];
    args.extend(extra);
    let o = osprey(&args);
    assert!(t.status.success(), "tshark -z {z}: {}", stderr(&t));
    assert!(o.status.success(), "osprey -z {z}: {}", stderr(&o));
    let (theirs, ours) = (stdout(&t), stdout(&o));
    (theirs != ours).then(|| format!("-z {z}\n--- tshark\n{theirs}--- osprey\n{ours}"))
}

#[test]
fn conversations_endpoints_io_and_hierarchy_agree_with_tshark() {
    if !can_capture("stats_tshark") {
        return;
    }
    let dir = tempdir();
    let cap = dir.path().join("lo.pcapng");
    let pid = std::process::id();
    let (a, b) = (100 + (pid % 100) as u8, (pid / 100 % 250) as u8);
    let server = Ipv4Addr::new(127, a, b, 1);
    let client = Ipv4Addr::new(127, a, b, 2);
    let capture = Capture::start(
        &cap,
        &format!("net 127.{a}.{b}.0/24 or (ip6 and host ::1 and udp port 6006)"),
    );
    traffic(server, client);
    capture.stop();

    // The comparison means something only if the capture has every kind of traffic.
    let (protocols, _) = fields(&[cap.to_str().unwrap()], &["frame.protocols"], &[]);
    let protocols: Vec<String> = protocols.into_iter().map(|r| r[0].clone()).collect();
    for p in [
        "tcp:http",
        "udp:dns",
        "icmp",
        "ipv6:udp",
        "ip:udp:data",
        "ip:tcp:data",
    ] {
        assert!(
            protocols.iter().any(|x| x.contains(p)),
            "no {p} frame captured: {protocols:?}"
        );
    }
    assert!(protocols.len() >= 50, "only {} frames", protocols.len());

    let mut diffs = Vec::new();
    for z in [
        "conv,ip",
        "conv,ipv6",
        "conv,tcp",
        "conv,udp",
        "conv,tcp,tcp.port == 8080",
        "endpoints,ip",
        "endpoints,ipv6",
        "endpoints,tcp",
        "endpoints,udp",
        "endpoints,udp,udp.length > 40",
        "io,stat,0",
        "io,stat,1",
        "io,stat,0.25",
        "io,stat,0.1,tcp,udp,ip.len > 100",
        "io,stat,1.00,http",
        "io,phs",
        "io,phs,udp",
        "http,tree",
    ] {
        diffs.extend(compare(&cap, z, &[]));
    }
    // tshark 4.0 computes io,stat's functions only on fields some filter references (it does
    // not prime the tree with them): a display filter that every frame passes does.
    diffs.extend(compare(
        &cap,
        "io,stat,0.5,FRAMES(),BYTES()udp,COUNT(tcp.port)tcp,SUM(frame.len)udp,MIN(frame.len),MAX(ip.len),AVG(tcp.len)tcp",
        &["-Y", "frame.len and (tcp.port or ip.len or tcp.len or not tcp)"],
    ));
    // dns,tree: tshark 4.0 adds a response's "Response Stats" twice (a bug fixed in later
    // versions); Osprey counts them once. Every other line must be the same.
    let t = Command::new("tshark")
        .args(["-q", "-r"])
        .arg(&cap)
        .args(["-z", "dns,tree"])
        .output()
        .unwrap();
    let o = osprey(&["read", "-q", "-r", cap.to_str().unwrap(), "-z", "dns,tree"]);
    let (theirs, ours) = (stdout(&t), stdout(&o));
    assert_eq!(
        theirs.lines().count(),
        ours.lines().count(),
        "{theirs}\n{ours}"
    );
    let mut responses = 0;
    for (t, o) in theirs.lines().zip(ours.lines()) {
        if t.starts_with(" no. of ") && !t.contains("retransmissions") && !t.contains("unsolicited")
        {
            let count = |l: &str| {
                l[30..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            };
            let values = |l: &str| -> Vec<String> {
                l[30..]
                    .split_whitespace()
                    .skip(1)
                    .take(3)
                    .map(str::to_string)
                    .collect()
            };
            assert_eq!(count(t), 2 * count(o), "dns,tree:\n{t}\n{o}");
            assert_eq!(values(t), values(o), "dns,tree:\n{t}\n{o}");
            responses += count(o);
        } else {
            diffs.extend((t != o).then(|| format!("dns,tree:\n{t}\n{o}")));
        }
    }
    assert_eq!(responses, 4 * 3, "three DNS responses, four counts each");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
