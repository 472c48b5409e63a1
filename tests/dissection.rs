//! The analyzer against hand-written expectations: every complex argument type, every Info
//! enrichment, network events on Wireshark's fields, the filter buttons, the `important` macro
//! and the prepared filters, preferences, coloring, the detail tree and the field glossary.
//!
//! Counts over the fixtures were computed independently (with Python over the raw JSON), not
//! taken from Osprey's output.

use crate::util::*;

/// Runs `-T fields` over one file with an optional filter; returns the rows.
fn rows(path: &std::path::Path, filter: Option<&str>, fields_: &[&str]) -> Vec<Vec<String>> {
    let mut extra = vec![];
    if let Some(f) = filter {
        extra.extend(["-Y", f]);
    }
    let (rows, out) = fields(&[path.to_str().unwrap()], fields_, &extra);
    assert!(out.status.success(), "{:?}: {}", filter, stderr(&out));
    rows
}

fn count(paths: &[&std::path::Path], filter: &str) -> usize {
    let mut args = vec!["read", "-q"];
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for p in &paths {
        args.extend(["-r", p.as_str()]);
    }
    args.extend(["-Y", filter, "-T", "fields", "-e", "frame.number"]);
    let out = osprey(&args);
    assert!(out.status.success(), "{filter}: {}", stderr(&out));
    stdout(&out).lines().count()
}

#[test]
fn filter_buttons_the_important_macro_and_prepared_filters_count_as_expected() {
    let docs = fixture(DOCS);
    let action = fixture(ACTION);
    // (filter, docs fixture, action fixture)
    let cases: &[(&str, usize, usize)] = &[
        // buttons (analyzer.md §8)
        (
            r#"not tracee or tracee.eventName == "net_packet_raw""#,
            0,
            0,
        ),
        (
            r#"tracee.isSignature == false and not tracee.eventName == "net_packet_raw""#,
            77,
            23,
        ),
        ("${important}", 15, 3),
        ("tracee.isSignature == true", 1, 1),
        (
            r#"not tracee or tracee.eventName contains "net_" or tracee.eventName in {"security_socket_bind","security_socket_connect"}"#,
            69,
            21,
        ),
        ("tracee.isContainer == true", 6, 0),
        // prepared filters
        (r#"tracee.eventName == "sched_process_exec""#, 0, 2),
        (r#"tracee.processName == "bash""#, 4, 0),
        (r#"tracee.container.image == "ubuntu:latest""#, 0, 0),
        (r#"tracee.syscall == "execve""#, 1, 0),
        ("tracee.process_lineage.pid == 1234", 0, 0),
        (r#"tracee.process_lineage.process_name == "bash""#, 0, 0),
    ];
    for (filter, in_docs, in_action) in cases {
        assert_eq!(count(&[&docs], filter), *in_docs, "docs fixture: {filter}");
        assert_eq!(
            count(&[&action], filter),
            *in_action,
            "action fixture: {filter}"
        );
    }
    // The buttons and prepared filters above are the bundled profile's.
    let profile = stdout(&osprey(&["read", "-G", "profile"]));
    for (filter, _, _) in cases.iter().take(6) {
        assert!(profile.contains(filter), "profile lacks {filter}");
    }
}

#[test]
fn network_fields_select_events_and_real_packets_alike() {
    let dir = tempdir();
    let pcap = dir.path().join("real.pcap");
    let http = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.3.0\r\n\r\n";
    let file = classic_pcap(
        false,
        true,
        0,
        &[
            (
                1_700_000_000,
                1,
                null_udp_packet(40000, 53, &dns_query_bytes(0x1234, "www.zip.net")),
            ),
            (1_700_000_000, 2, null_tcp_packet(40001, 80, http)),
        ],
    );
    std::fs::write(&pcap, file).unwrap();
    let docs = fixture(DOCS);
    // 8 fixture events name www.zip.net (DNS requests, responses, ProtoDNS), 5 are HTTP GETs.
    assert_eq!(
        count(&[&docs, &pcap], r#"dns.qry.name == "www.zip.net""#),
        9
    );
    assert_eq!(count(&[&docs, &pcap], r#"http.request.method == "GET""#), 6);
    assert_eq!(count(&[&pcap], r#"dns.qry.name == "www.zip.net""#), 1);
    assert_eq!(count(&[&pcap], r#"http.request.method == "GET""#), 1);
    // bare protocol names match events too
    assert_eq!(
        count(&[&docs], "dns and tracee"),
        17,
        "11 net_packet_dns + 3 requests + 3 responses"
    );
    assert_eq!(
        count(&[&docs], "http and tracee"),
        13,
        "5 net_packet_http + 4 requests + 4 responses"
    );
}

#[test]
fn fixture_complex_types_fill_their_fields_and_wireshark_fields() {
    let docs = fixture(DOCS);
    let get = |frame: usize, fields_: &[&str]| -> Vec<String> {
        rows(&docs, Some(&format!("frame.number == {frame}")), fields_)
            .pop()
            .expect("the frame")
    };
    // trace.ProtoTCP (net_packet_tcp, frame 7)
    assert_eq!(
        get(
            7,
            &[
                "tracee.proto_tcp.src_port",
                "tracee.proto_tcp.dst_port",
                "tracee.proto_tcp.seq",
                "tracee.proto_tcp.flags",
                "tcp.srcport",
                "tcp.dstport",
                "ip.src",
                "ip.dst",
                "_ws.col.def_src"
            ]
        ),
        [
            "40020",
            "80",
            "4173220235",
            "ACK",
            "40020",
            "80",
            "192.168.200.50",
            "70.42.73.30",
            "192.168.200.50"
        ]
    );
    // trace.ProtoDNS (net_packet_dns, frame 11): a response for www.zip.net
    assert_eq!(
        get(
            11,
            &[
                "tracee.proto_dns.id",
                "tracee.proto_dns.qr",
                "tracee.proto_dns.question.name",
                "tracee.proto_dns.question.type",
                "dns.qry.name",
                "dns.flags.response",
                "udp.srcport"
            ]
        ),
        [
            "0xe1b3",
            "1",
            "www.zip.net",
            "AAAA",
            "www.zip.net",
            "1",
            "53"
        ]
    );
    // trace.PktMeta + []trace.DnsQueryData (net_packet_dns_request, frame 22)
    assert_eq!(
        get(
            22,
            &[
                "tracee.pktmeta.src_ip",
                "tracee.pktmeta.dst_port",
                "tracee.pktmeta.protocol",
                "tracee.dnsquery.query",
                "tracee.dnsquery.type",
                "dns.qry.name",
                "dns.qry.type",
                "ip.dst",
                "udp.dstport"
            ]
        ),
        [
            "192.168.200.50",
            "53",
            "17",
            "www.zip.net",
            "AAAA",
            "www.zip.net",
            "28",
            "8.8.8.8",
            "53"
        ]
    );
    // []trace.DnsResponseData (net_packet_dns_response, frame 25)
    assert_eq!(
        get(
            25,
            &[
                "tracee.dnsanswer.type",
                "tracee.dnsanswer.ttl",
                "tracee.dnsanswer.answer",
                "dns.cname",
                "dns.a",
                "dns.resp.ttl",
                "dns.resp.name"
            ]
        ),
        [
            "CNAME,A",
            "300,60",
            "amazonas.uol.com.br,200.147.100.53",
            "amazonas.uol.com.br",
            "200.147.100.53",
            "300,60",
            "www.zip.net,www.zip.net"
        ]
    );
    // trace.ProtoHTTP (a response, frame 28)
    assert_eq!(
        get(
            28,
            &[
                "tracee.proto_http.direction",
                "tracee.proto_http.status_code",
                "http.response",
                "http.response.code",
                "http.content_type",
                "http.content_length",
                "_ws.col.info"
            ]
        ),
        [
            "response",
            "200",
            "1",
            "200",
            "application/x-binary",
            "180",
            "HTTP/1.1 200 (application/x-binary)"
        ]
    );
    // trace.ProtoHTTPRequest (frame 33)
    assert_eq!(
        get(
            33,
            &[
                "tracee.proto_http_request.method",
                "tracee.proto_http_request.host",
                "tracee.proto_http_request.header",
                "http.request.method",
                "http.host",
                "http.user_agent",
                "http.request.uri",
                "tcp.dstport",
                "_ws.col.info"
            ]
        ),
        [
            "GET",
            "www.google.com",
            "Accept: */*,User-Agent: curl/8.3.0",
            "GET",
            "www.google.com",
            "curl/8.3.0",
            "/",
            "80",
            "GET / HTTP/1.1"
        ]
    );
    // trace.ProtoHTTPResponse (frame 37)
    assert_eq!(
        get(
            37,
            &[
                "tracee.proto_http_response.status_code",
                "tracee.proto_http_response.protocol",
                "http.response.code",
                "http.response.phrase",
                "_ws.col.info"
            ]
        ),
        [
            "200",
            "HTTP/1.1",
            "200",
            "",
            "HTTP/1.1 200 (application/x-binary)"
        ]
    );
    // trace.ProtoICMP (frame 41) and trace.ProtoICMPv6 (frame 47)
    assert_eq!(
        get(
            41,
            &[
                "tracee.proto_icmp.type_code",
                "tracee.proto_icmp.id",
                "tracee.proto_icmp.seq",
                "icmp.type"
            ]
        ),
        ["EchoRequest", "6", "2", "8"]
    );
    assert_eq!(
        get(
            47,
            &["tracee.proto_icmpv6.type_code", "icmpv6.type", "ipv6.src"]
        ),
        ["EchoRequest", "128", "fd12:3456:789a::2"]
    );
    // trace.ProtoIPv4 (frame 53), trace.ProtoIPv6 (frame 59), trace.ProtoUDP (frame 71)
    assert_eq!(
        get(
            53,
            &[
                "tracee.proto_ipv4.ttl",
                "tracee.proto_ipv4.protocol",
                "tracee.proto_ipv4.src_ip",
                "ip.ttl",
                "ip.proto"
            ]
        ),
        ["64", "TCP", "10.10.11.2", "64", "6"]
    );
    assert_eq!(
        get(
            59,
            &[
                "tracee.proto_ipv6.flow_label",
                "tracee.proto_ipv6.next_header",
                "ipv6.dst",
                "ipv6.nxt"
            ]
        ),
        ["0xdfe8e", "TCP", "fd12:3456:789a::2", "6"]
    );
    assert_eq!(
        get(
            71,
            &[
                "tracee.proto_udp.src_port",
                "tracee.proto_udp.length",
                "udp.srcport",
                "udp.dstport"
            ]
        ),
        ["8080", "12", "8080", "37294"]
    );
    // Info of security_file_open (frame 1) and of a signature without arguments (frame 76)
    assert_eq!(
        get(1, &["_ws.col.info", "_ws.col.protocol"]),
        ["Open /tmp/testing.txt", "TRACEE"]
    );
    assert_eq!(
        get(76, &["_ws.col.info", "_ws.col.protocol"]),
        ["My Own Signature", "TRACEE/SIG"]
    );
}

#[test]
fn hand_written_events_cover_every_other_type_and_enrichment() {
    let dir = tempdir();
    let sig = |name: &str, sig_name: &str| {
        format!(r#","metadata":{{"Version":"1","Description":"d","Tags":null,"Properties":{{"Severity":3,"signatureID":"TRC-X","signatureName":"{sig_name}"}}}}"#).replace("NAME", name)
    };
    let lines = vec![
        // 1 sockaddr, IPv4, TCP
        event(
            "security_socket_connect",
            r#"[{"name":"sockfd","type":"int","value":3},{"name":"type","type":"string","value":"SOCK_STREAM"},{"name":"remote_addr","type":"struct sockaddr*","value":{"sa_family":"AF_INET","sin_port":"443","sin_addr":"10.1.2.3"}}]"#,
            "",
        ),
        // 2 sockaddr, IPv6, UDP
        event(
            "security_socket_connect",
            r#"[{"name":"sockfd","type":"int","value":4},{"name":"type","type":"string","value":"SOCK_DGRAM"},{"name":"remote_addr","type":"struct sockaddr*","value":{"sa_family":"AF_INET6","sin6_port":"53","sin6_flowinfo":"0","sin6_addr":"::1","sin6_scopeid":"0"}}]"#,
            "",
        ),
        // 3 sockaddr, unix
        event(
            "security_socket_connect",
            r#"[{"name":"sockfd","type":"int","value":5},{"name":"type","type":"string","value":"SOCK_STREAM"},{"name":"remote_addr","type":"struct sockaddr*","value":{"sa_family":"AF_UNIX","sun_path":"/var/run/nscd/socket"}}]"#,
            "",
        ),
        // 4 bind, v1beta1-style numeric family and port
        event(
            "security_socket_bind",
            r#"[{"name":"sockfd","type":"int","value":6},{"name":"local_addr","type":"SockAddr","value":{"sa_family":2,"sin_port":8080,"sin_addr":"0.0.0.0"}}]"#,
            "",
        ),
        // 5 ptrace attach
        event(
            "ptrace",
            r#"[{"name":"request","type":"long","value":16},{"name":"pid","type":"pid_t","value":1234},{"name":"addr","type":"void*","value":"0x0"},{"name":"data","type":"void*","value":"0x0"}]"#,
            "",
        ),
        // 6 magic_write of an ELF header
        event(
            "magic_write",
            r#"[{"name":"pathname","type":"const char*","value":"/tmp/x"},{"name":"bytes","type":"bytes","value":"f0VMRgIBAQAAAAAAAAAAAA=="},{"name":"dev","type":"dev_t","value":1},{"name":"inode","type":"unsigned long","value":2}]"#,
            "",
        ),
        // 7 magic_write of text to an unknown type
        event(
            "magic_write",
            r#"[{"name":"pathname","type":"const char*","value":"/tmp/notes"},{"name":"bytes","type":"bytes","value":"aGVsbG8K"},{"name":"dev","type":"dev_t","value":1},{"name":"inode","type":"unsigned long","value":3}]"#,
            "",
        ),
        // 8 exec: the command line does not start with the path; prev_comm present
        event(
            "sched_process_exec",
            r#"[{"name":"cmdpath","type":"const char*","value":"ls"},{"name":"pathname","type":"const char*","value":"/usr/bin/ls"},{"name":"argv","type":"const char**","value":["ls","-la"]},{"name":"prev_comm","type":"const char*","value":"bash"}]"#,
            "",
        ),
        // 9 exec: the command line starts with the path
        event(
            "sched_process_exec",
            r#"[{"name":"pathname","type":"const char*","value":"/usr/bin/ls"},{"name":"argv","type":"const char**","value":["/usr/bin/ls","/tmp"]}]"#,
            "",
        ),
        // 10 dynamic_code_loading signature with a numeric alert
        event(
            "dynamic_code_loading",
            r#"[{"name":"alert","type":"int","value":4}]"#,
            &sig("dcl", "Dynamic code loading"),
        ),
        // 11 fileless_execution signature, path in its triggering event
        event(
            "fileless_execution",
            r#"[{"name":"triggeredBy","type":"unknown","value":{"id":710,"name":"sched_process_exec","args":[{"name":"pathname","type":"const char*","value":"memfd:payload"}],"returnValue":0}}]"#,
            &sig("fe", "Fileless execution"),
        ),
        // 12 stdio_over_socket signature
        event(
            "stdio_over_socket",
            r#"[{"name":"File descriptor","type":"int","value":0},{"name":"IP address","type":"string","value":"10.0.0.1"},{"name":"Port","type":"string","value":"4444"}]"#,
            &sig("sos", "Standard IO over socket"),
        ),
        // 13 credentials
        event(
            "commit_creds",
            r#"[{"name":"old_cred","type":"slim_cred_t","value":{"Uid":1000,"Gid":1000,"Suid":1000,"Sgid":1000,"Euid":1000,"Egid":1000,"Fsuid":1000,"Fsgid":1000,"UserNamespace":4026531837,"SecureBits":0,"CapInheritable":0,"CapPermitted":0,"CapEffective":0,"CapBounding":549755813887,"CapAmbient":0}},{"name":"new_cred","type":"slim_cred_t","value":{"Uid":0,"Gid":0,"Suid":0,"Sgid":0,"Euid":0,"Egid":0,"Fsuid":0,"Fsgid":0,"UserNamespace":4026531837,"SecureBits":0,"CapInheritable":0,"CapPermitted":549755813887,"CapEffective":549755813887,"CapBounding":549755813887,"CapAmbient":0}}]"#,
            "",
        ),
        // 14 hooked symbols
        event(
            "hooked_syscall",
            r#"[{"name":"hooked_syscalls","type":"[]trace.HookedSymbolData","value":[{"SymbolName":"kill","ModuleOwner":"diamorphine"},{"SymbolName":"getdents64","ModuleOwner":"diamorphine"}]}]"#,
            "",
        ),
        // 15 process lineage and root cause
        event(
            "suspicious_lineage",
            r#"[{"name":"Process lineage","type":"[]map[string]interface{}","value":[{"PID":30,"PPID":20,"StartTime":1700000000000000000,"ProcessName":"curl","Pathname":"/usr/bin/curl","SHA256":"ab","Command":"curl x"},{"PID":20,"PPID":1,"StartTime":1699999999000000000,"ProcessName":"bash","Pathname":"/bin/bash","SHA256":"cd","Command":"bash"}]},{"name":"rootCause","type":"unknown","value":{"origin":"container"}}]"#,
            &sig("sl", "Suspicious lineage"),
        ),
        // 16 a signature triggered by a file open
        event(
            "k8s_cert_theft",
            r#"[{"name":"triggeredBy","type":"unknown","value":{"id":730,"name":"security_file_open","args":[{"name":"pathname","type":"const char*","value":"/etc/kubernetes/pki/ca.key"},{"name":"flags","type":"string","value":"O_RDONLY"}],"returnValue":0}}]"#,
            &sig("kct", "K8s TLS certificate theft"),
        ),
    ];
    let path = json_file(dir.path(), "hand.json", &lines);
    let f = |frame: usize, fields_: &[&str]| -> Vec<String> {
        rows(&path, Some(&format!("frame.number == {frame}")), fields_)
            .pop()
            .unwrap_or_else(|| panic!("frame {frame}"))
    };
    let info = |frame: usize| f(frame, &["_ws.col.info"])[0].clone();

    assert_eq!(
        f(
            1,
            &[
                "tracee.sockaddr.sa_family",
                "tracee.sockaddr.sin_addr",
                "tracee.sockaddr.sin_port",
                "ip.addr",
                "tcp.port",
                "udp.port",
                "_ws.col.def_dst"
            ]
        ),
        [
            "AF_INET",
            "10.1.2.3",
            "443",
            "10.1.2.3,10.1.2.3",
            "443,443",
            "",
            "10.1.2.3"
        ]
    );
    assert_eq!(info(1), "Connect to 10.1.2.3 port 443");
    assert_eq!(
        f(
            2,
            &[
                "tracee.sockaddr.sin6_addr",
                "ipv6.addr",
                "udp.dstport",
                "tcp.port"
            ]
        ),
        ["::1", "::1,::1", "53", ""]
    );
    assert_eq!(info(2), "Connect to ::1 port 53");
    assert_eq!(
        f(
            3,
            &["tracee.sockaddr.sun_path", "ip.addr", "_ws.col.def_dst"]
        ),
        ["/var/run/nscd/socket", "", ""]
    );
    assert_eq!(info(3), "Connect to /var/run/nscd/socket");
    assert_eq!(
        f(
            4,
            &["tracee.sockaddr.sa_family", "tracee.sockaddr.sin_port"]
        ),
        ["AF_INET", "8080"]
    );
    assert_eq!(info(4), "Bind to 0.0.0.0 port 8080");
    assert_eq!(
        f(
            5,
            &[
                "tracee.args.ptrace.request",
                "tracee.args.ptrace.request_name",
                "tracee.args.ptrace.pid"
            ]
        ),
        ["16", "PTRACE_ATTACH", "1234"]
    );
    assert_eq!(info(5), "PTRACE_ATTACH pid 1234");
    let elf_text = format!("\\x7fELF\\x02\\x01\\x01{}", "\\x00".repeat(9));
    assert_eq!(
        f(
            6,
            &[
                "tracee.args.magic_write.file_type",
                "tracee.args.magic_write.decoded_data",
                "tracee.args.magic_write.pathname"
            ]
        ),
        ["ELF", elf_text.as_str(), "/tmp/x"]
    );
    assert_eq!(info(6), "ELF written to /tmp/x");
    assert_eq!(
        f(
            7,
            &[
                "tracee.args.magic_write.file_type",
                "tracee.args.magic_write.decoded_data"
            ]
        ),
        ["", "hello\\n"]
    );
    assert_eq!(info(7), "Unknown file type written to /tmp/notes");
    assert_eq!(f(8, &["tracee.args.command_line"]), ["ls -la"]);
    assert_eq!(info(8), "(bash) -> /usr/bin/ls: ls -la");
    assert_eq!(info(9), "/usr/bin/ls /tmp");
    assert_eq!(
        info(10),
        "Dynamic code loading. Protection changed from W to E!"
    );
    assert_eq!(info(11), "Fileless execution. Running from memfd:payload");
    assert_eq!(
        f(
            12,
            &[
                "tracee.args.stdio_over_socket.IP_address",
                "tracee.args.stdio_over_socket.File_descriptor"
            ]
        ),
        ["10.0.0.1", "0"]
    );
    assert_eq!(
        info(12),
        "Standard IO over socket. STDIN forwarded to 10.0.0.1 port 4444"
    );
    assert_eq!(
        f(
            13,
            &[
                "tracee.slim_cred_t.uid",
                "tracee.slim_cred_t.euid",
                "tracee.slim_cred_t.cap_effective",
                "tracee.slim_cred_t.user_namespace"
            ]
        ),
        [
            "1000,0",
            "1000,0",
            "0,549755813887",
            "4026531837,4026531837"
        ]
    );
    assert_eq!(
        f(
            14,
            &[
                "tracee.hooked_symbols.name",
                "tracee.hooked_symbols.module_owner"
            ]
        ),
        ["kill,getdents64", "diamorphine,diamorphine"]
    );
    assert_eq!(
        f(
            15,
            &[
                "tracee.process_lineage",
                "tracee.process_lineage.pid",
                "tracee.process_lineage.ppid",
                "tracee.process_lineage.process_name",
                "tracee.process_lineage.sha256",
                "tracee.root_cause.origin"
            ]
        ),
        [
            "1 -> 20 (bash) -> 30 (curl)",
            "30,20",
            "20,1",
            "curl,bash",
            "ab,cd",
            "container"
        ]
    );
    assert_eq!(
        f(
            16,
            &[
                "tracee.detected_from.id",
                "tracee.detected_from.name",
                "tracee.detected_from.return_value",
                "tracee.args.k8s_cert_theft.detected_from.pathname",
                "tracee.isSignature",
                "tracee.metadata.Properties.Severity"
            ]
        ),
        [
            "730",
            "security_file_open",
            "0",
            "/etc/kubernetes/pki/ca.key",
            "1",
            "3"
        ]
    );
    // argument fields filter before any data has shown them, by the event they belong to
    assert_eq!(
        count(
            &[&path],
            r#"tracee.args.k8s_cert_theft.detected_from.pathname contains "/pki/""#
        ),
        1
    );
    assert_eq!(
        count(
            &[&path],
            r#"tracee.args.security_socket_connect.type == "SOCK_DGRAM""#
        ),
        1
    );
    assert_eq!(
        count(&[&path], "tracee.sockaddr.sin_port < 1024"),
        1,
        "443 (a string field, compared as a number)"
    );
    assert_eq!(
        count(&[&path], "tcp.port < 1024 or udp.port < 1024"),
        2,
        "443 and 53"
    );
}

#[test]
fn preferences_change_the_column_fields() {
    let f = fixture("tracee/examples/finding_TRC-1022.v0.11-era.json");
    let p = f.to_str().unwrap();
    let cols = ["tracee.pid_col", "tracee.ppid_col", "tracee.container_col"];
    let (r, _) = fields(&[p], &cols, &[]);
    assert_eq!(r[0], ["441", "431", "ae95a93ce0c2"]);
    let (r, _) = fields(&[p], &cols, &["-o", "pid_format=host"]);
    assert_eq!(r[0], ["4741", "4729", "ae95a93ce0c2"]);
    let (r, _) = fields(
        &[p],
        &cols,
        &[
            "-o",
            "pid_format=both",
            "-o",
            "container_identifier=name",
            "-o",
            "show_container_image=true",
        ],
    );
    assert_eq!(
        r[0],
        [
            "441 (4741)",
            "431 (4729)",
            "app (docker.io/library/ubuntu:latest)"
        ]
    );
    let out = osprey(&["read", "-r", p, "-o", "pid_format=sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("container, host or both"));
}

#[test]
fn coloring_follows_the_rules_and_only_when_asked() {
    let p = fixture(ACTION);
    let colored = stdout(&osprey(&[
        "read",
        "-r",
        p.to_str().unwrap(),
        "-Y",
        r#"tracee.eventName == "sched_process_exec""#,
        "--color=always",
    ]));
    // Execution: background #ff6ec7, text black
    assert!(
        colored.starts_with("\x1b[38;2;0;0;0m\x1b[48;2;255;110;199m"),
        "{colored:?}"
    );
    let plain = stdout(&osprey(&["read", "-r", p.to_str().unwrap(), "--color"]));
    assert!(
        !plain.contains('\x1b'),
        "--color is off when stdout is not a terminal"
    );
}

#[test]
fn the_detail_tree_and_json_carry_every_field() {
    let f = fixture("tracee/examples/net_packet_dns_request.v0.2x.json");
    let detail = stdout(&osprey(&["read", "-r", f.to_str().unwrap(), "-V"]));
    for line in [
        "Tracee Event (JSON): net_packet_dns_request",
        "    Context",
        "        Process: 472 (systemd-resolve)",
        "        Container: none",
        "        Kubernetes: none",
        "    [Is Signature: False]",
        "    Args",
        "        metadata (trace.PktMeta)",
        "            Src IP: 192.168.200.50",
        "            Query: www.zip.net",
    ] {
        assert!(
            detail.lines().any(|l| l == line),
            "missing {line:?} in\n{detail}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&osprey(&["read", "-r", f.to_str().unwrap(), "-T", "json"]).stdout)
            .unwrap();
    let layers = &json[0]["_source"]["layers"];
    assert_eq!(layers["frame"]["frame.number"], "1");
    assert_eq!(
        layers["tracee"]["tracee.eventName"],
        "net_packet_dns_request"
    );
    assert_eq!(
        layers["tracee"]["Context"]["Process: 472 (systemd-resolve)"]["tracee.hostProcessId"],
        "472"
    );
    let text = serde_json::to_string(layers).unwrap();
    assert!(text.contains(r#""dns.qry.name":"www.zip.net""#), "{text}");
}

#[test]
fn the_glossary_lists_fields_and_the_arguments_seen() {
    let out = stdout(&osprey(&["read", "-G", "fields"]));
    assert!(out.lines().any(|l| l == "P\tTracee Event (JSON)\ttracee"));
    assert!(out
        .lines()
        .any(|l| l.starts_with("F\tProcess ID\ttracee.processId\tFT_INT64\ttracee")));
    assert!(out
        .lines()
        .any(|l| l.starts_with("F\tSource Address\tip.src\tFT_IPv4\tip")));
    assert!(!out.contains("tracee.args.security_file_open.syscall_pathname"));
    let docs = fixture(DOCS);
    let out = stdout(&osprey(&[
        "read",
        "-G",
        "fields",
        "-r",
        docs.to_str().unwrap(),
    ]));
    assert!(
        out.contains("\ttracee.args.security_file_open.syscall_pathname\t"),
        "argument fields seen in the input"
    );
    assert!(out.contains("\ttracee.args.net_packet_dns.proto_dns\t"));
}

#[test]
fn a_malformed_filter_is_a_positioned_error() {
    let docs = fixture(DOCS);
    let out = osprey(&[
        "read",
        "-r",
        docs.to_str().unwrap(),
        "-Y",
        "tracee.processId == ",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("display filter error at column"), "{err}");
    assert!(err.contains("tracee.processId == \n"), "{err}");
    assert!(err.contains('^'), "{err}");
    let out = osprey(&[
        "read",
        "-r",
        docs.to_str().unwrap(),
        "-Y",
        "no.such.field == 1",
    ]);
    assert!(
        stderr(&out).contains("\"no.such.field\" is not a valid protocol or protocol field"),
        "{}",
        stderr(&out)
    );
}
