//! `Filter::matches` does not allocate in the common case: a counting global allocator
//! watches it run filters of every kind except those documented to allocate (`lower()`,
//! `upper()`, `string()`, multi-range slices).

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use osprey_field::{registry, FieldId, FieldSource, FieldValue};
use osprey_filter::{Filter, Macros};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Frame(Vec<(FieldId, FieldValue<'static>)>);

impl FieldSource for Frame {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(id, _)| *id == field)
            .any(|(_, v)| f(v))
    }
}

#[test]
fn matching_does_not_allocate() {
    let r = registry();
    let mut items = Vec::new();
    let mut add = |n: &str, v: FieldValue<'static>| items.push((r.resolve(n).unwrap(), v));
    add("tracee", FieldValue::None);
    add(
        "tracee.eventName",
        FieldValue::Str(Cow::Borrowed("security_file_open")),
    );
    add("tracee.processId", FieldValue::Int(42));
    add("tracee.isSignature", FieldValue::Bool(false));
    add(
        "tracee.args.alloc_t.pathname",
        FieldValue::Str(Cow::Borrowed("/etc/passwd")),
    );
    add("tracee.args.alloc_t.fd", FieldValue::Int(3));
    add(
        "tracee.sockaddr.sin_port",
        FieldValue::Str(Cow::Borrowed("443")),
    );
    add("ip.addr", FieldValue::Ipv4([10, 1, 2, 3].into()));
    add("ipv6.addr", FieldValue::Ipv6("fe80::1".parse().unwrap()));
    add("eth.addr", FieldValue::Ether([0, 1, 2, 3, 4, 5]));
    add("tcp.port", FieldValue::UInt(443));
    add("frame.time", FieldValue::AbsTime(1_704_067_200_000_000_000));
    add("frame.time_relative", FieldValue::RelTime(1_500_000_000));
    let frame = Frame(items);
    let filters = [
        "tracee",
        "tracee.eventName == \"security_file_open\"",
        "tracee.eventName in {\"a\", \"security_file_open\", \"z\"}",
        "tracee.eventName != \"x\" and tracee.eventName !== \"y\" and tracee.eventName === \"security_file_open\"",
        "tracee.eventName contains \"file\" or tracee.eventName matches \"^sec\"",
        "tracee.processId > 10 and tracee.processId in {1..100} and tracee.isSignature == false",
        "tracee.args.alloc_t.pathname contains \"/etc/\" and tracee.args.alloc_t.fd == 3",
        "tracee.args.alloc_t.fd != abc and tracee.args.alloc_t.pathname == \"/etc/passwd\"",
        "tracee.sockaddr.sin_port < 1024 and tracee.sockaddr.sin_port == 443",
        "ip.addr == 10.0.0.0/8 and ipv6.addr == fe80::/10 and eth.addr == 00:01:02:03:04:05",
        "tcp.port & 0x01 and tcp.port in {80, 443}",
        "frame.time > \"2023-12-31\" and frame.time_relative < 2",
        "tracee.eventName[0:3] == \"sec\" and len(tracee.eventName) == 18 and count(ip.addr) == 1",
        "ip.addr[0] == 0a and max(tcp.port) == 443 and tracee.processId == tracee.processId",
    ];
    for text in filters {
        let f = Filter::compile(text, &Macros::new()).unwrap();
        assert!(f.matches(&frame), "{text} should match");
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..100 {
            std::hint::black_box(f.matches(&frame));
        }
        let n = ALLOCS.load(Ordering::Relaxed) - before;
        assert_eq!(n, 0, "{text}: {n} allocations in 100 matches");
    }
}
