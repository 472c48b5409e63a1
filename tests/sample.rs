//! The bundled sample (`samples/demo.pcapng`, what `scripts/demo.sh` reads) stays a readable,
//! undamaged recording of its scenario, `samples/scenario.py`.

use crate::util::*;

#[test]
fn the_bundled_sample_holds_its_scenario() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/demo.pcapng");
    let (rows, out) = fields(
        &[sample],
        &[
            "tracee.eventName",
            "tracee.processName",
            "dns.qry.name",
            "http.request.uri",
        ],
        &[
            "-Y",
            r#"dns.qry.name == "updates.example.test" || http.request.uri == "/update.sh" || tracee.eventName == "sched_process_exec""#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let has = |event: &str, process: &str| rows.iter().any(|r| r[0] == event && r[1] == process);
    // the lookup, the download, the dropped script, and what it ran
    assert!(has("net_packet_dns_request", "python3"), "{rows:?}");
    assert!(has("net_packet_dns_response", "python3"), "{rows:?}");
    assert!(has("net_packet_http_request", "python3"), "{rows:?}");
    for process in ["update.sh", "cat", "id", "uname", "rm"] {
        assert!(has("sched_process_exec", process), "{process}: {rows:?}");
    }
    // the important-events macro of the bundled profile finds the credential read
    let (rows, _) = fields(
        &[sample],
        &["tracee.args.command_line"],
        &["-Y", "${important}"],
    );
    assert!(
        rows.iter().any(|r| r[0].contains("/etc/shadow")),
        "{rows:?}"
    );
}
