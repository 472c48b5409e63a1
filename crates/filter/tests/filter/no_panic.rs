//! The compiler never panics: thousands of mutated filters and random token soups, with a
//! seeded generator so failures reproduce. (The cargo-fuzz target `filter_compile` in the
//! repository's `fuzz/` directory explores further.)

use osprey_filter::{Filter, Macros};

use crate::support::Frame;

/// xorshift64*: small, seeded, good enough to shuffle text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SEEDS: &[&str] = &[
    "tcp.port == 80",
    "ip.addr == 10.0.0.0/8 and not udp",
    "tracee.eventName in {\"a\", \"b\", \"c\"..\"d\"}",
    "http.host matches \"^x(y|z)+$\" || http.host contains \"\\x41\"",
    "http.request.method[0:2] == 47:45",
    "len(lower(http.host)) > 3 ^^ count(ip.addr) == 2",
    "frame.time >= \"Jan 1, 2024 00:00:00\" and frame.time_relative < 1.5",
    "eth.addr == 00:11:22:33:44:55 or ipv6.addr == fe80::/10",
    "tracee.args.openat.pathname contains \"/etc/\" && tracee.args.ptrace.request == PTRACE_ATTACH",
    "${m} or ${n:1;2}",
    "!(tcp.flags & 0x02) and tcp.port not in {1..1024}",
    "r\"\\d+\" == http.host or 'a' < tcp.port",
];

const TOKENS: &[&str] = &[
    "tcp",
    "udp",
    "ip.addr",
    "http.host",
    "tracee.eventName",
    "tracee.args.a.b",
    "frame.time",
    "eth.addr",
    "len",
    "count",
    "lower",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "..",
    ":",
    "-",
    "==",
    "!=",
    "===",
    "!==",
    "~=",
    "<",
    ">=",
    "and",
    "or",
    "not",
    "xor",
    "in",
    "contains",
    "matches",
    "&&",
    "||",
    "!",
    "^^",
    "&",
    "\"",
    "\"abc\"",
    "'x'",
    "r\"",
    "\\",
    "$",
    "${",
    "${m}",
    "${n:1}",
    "80",
    "0x",
    "0x1f",
    "-1",
    "1.5",
    "10.0.0.0/8",
    "::1",
    "fe80::/200",
    "aa:bb",
    "é",
    "\u{0}",
    " ",
    "\t",
    "1:2",
    "0-1",
    "true",
    "\"Jan 1, 2024 00:00:00\"",
    ".tcp",
    "=",
    "|",
    "@",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = if chars.is_empty() {
            0
        } else {
            rng.below(chars.len() + 1)
        };
        match rng.below(4) {
            0 if !chars.is_empty() && at < chars.len() => {
                chars.remove(at);
            }
            1 => {
                let tok: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars.splice(at..at, tok);
            }
            2 if !chars.is_empty() => {
                let end = (at + rng.below(6)).min(chars.len());
                let start = at.min(end);
                chars.drain(start..end);
            }
            _ => {
                let c = [
                    b'"', b'(', b')', b'{', b'}', b'[', b']', b'\\', b'.', b':', b',', b'$',
                ][rng.below(12)] as char;
                chars.insert(at.min(chars.len()), c);
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn compiling_never_panics() {
    let mut macros = Macros::new();
    macros.insert("m", "tcp or ${n:3;4}");
    macros.insert("n", "tcp.port == $1 or tcp.port == $2");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let frame = Frame::new()
        .proto("tcp")
        .uint("tcp.port", 80)
        .str("http.host", "example");
    let (mut ok, mut err) = (0, 0);
    for i in 0..6000 {
        let text = if i % 2 == 0 {
            let seed = rng_pick_seed(&mut rng);
            mutate(&mut rng, seed)
        } else {
            let n = 1 + rng.below(12);
            (0..n)
                .map(|_| rng.pick(TOKENS))
                .collect::<Vec<_>>()
                .join(if rng.below(2) == 0 { " " } else { "" })
        };
        match Filter::compile(&text, &macros) {
            Ok(f) => {
                ok += 1;
                let _ = f.matches(&frame);
                let _ = f
                    .event_prefilter()
                    .may_match(br#"{"eventName":"x","args":[]}"#);
                let _ = f.fields();
            }
            Err(e) => {
                err += 1;
                assert!(
                    e.position + e.length <= text.len(),
                    "{text:?}: span {}+{} past the end",
                    e.position,
                    e.length
                );
                assert!(
                    text.is_char_boundary(e.position),
                    "{text:?}: position {} inside a character",
                    e.position
                );
                assert!(
                    text.is_char_boundary(e.position + e.length),
                    "{text:?}: end inside a character"
                );
                let _ = e.render(&text);
            }
        }
    }
    assert!(ok > 100 && err > 1000, "ok {ok}, err {err}");
}

/// Inputs the fuzzer once found wrong, kept as regressions.
#[test]
fn fuzzer_findings() {
    for text in ["'\u{401} 02"] {
        if let Err(e) = Filter::compile(text, &Macros::new()) {
            assert!(
                text.is_char_boundary(e.position) && text.is_char_boundary(e.position + e.length),
                "{text:?}: {e:?}"
            );
        }
    }
}

fn rng_pick_seed(rng: &mut Rng) -> &'static str {
    SEEDS[rng.below(SEEDS.len())]
}
