//! The `--capture` grammar (the seed document, to the letter, plus the documented additions).
//!
//! ```text
//! [artifact:]write[=/path/prefix*]   written files; up to 3 prefixes of up to 50 characters
//! [artifact:]exec                    executed binaries
//! [artifact:]mem                     regions that went from W+X to X
//! [artifact:]net=<interface>         packets of traced processes through <interface>
//! [artifact:]module                  kernel module images
//! profile                            runtime profile of executions
//! dir:/path                          output directory (default /tmp/tracee; artifacts in out/)
//! clear-dir                          empty <dir>/out first
//! pcap:single|per-process|per-container|per-command   pcap split (comma list; Tracee's
//!                                    newer spellings process, container, command too)
//! pcap-snaplen:default|headers|max|<N>b|<N>kb          bytes kept per packet
//! max-size=<N>[b|k|kb|m|mb|g|gb]|unlimited             size budget of out/ (default: half the
//!                                    free space of its filesystem at start)
//! ```
//!
//! Every value is checked here, before anything is traced; the error names the option.

use std::fmt;
use std::path::PathBuf;

/// Most write filters.
pub const MAX_WRITE_FILTERS: usize = 3;
/// Longest write filter prefix, in characters.
pub const MAX_FILTER_LEN: usize = 50;
/// Where artifacts go by default (Tracee's default).
pub const DEFAULT_DIR: &str = "/tmp/tracee";

/// A `--capture` value that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--capture {option}: {message}")]
pub struct OptionError {
    /// The option as given.
    pub option: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(option: &str, message: impl Into<String>) -> OptionError {
    OptionError {
        option: option.to_string(),
        message: message.into(),
    }
}

/// How many bytes of each packet are kept (`pcap-snaplen:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snaplen {
    /// The IP header and 96 bytes after it (Tracee's default).
    #[default]
    Default,
    /// The IP and transport headers only.
    Headers,
    /// Whole packets (up to 65535 bytes).
    Max,
    /// The first N bytes from the IP header.
    Bytes(u32),
}

impl Snaplen {
    /// Most bytes the kernel needs to copy for this rule (headers are cut here, in userspace).
    pub fn kernel_bytes(self) -> u32 {
        match self {
            Snaplen::Default | Snaplen::Headers => 256,
            Snaplen::Max => 65535,
            Snaplen::Bytes(n) => n.clamp(1, 65535),
        }
    }

    /// Bytes kept of one IP packet (`ip` holds what the kernel copied).
    pub fn cut(self, ip: &[u8]) -> usize {
        let (l3, l4) = header_lens(ip);
        let n = match self {
            Snaplen::Default => l3 + 96,
            Snaplen::Headers => l3 + l4,
            Snaplen::Max => 65535,
            Snaplen::Bytes(n) => n as usize,
        };
        n.min(ip.len())
    }
}

/// The IP header length (IPv6: fixed header plus extension headers) and the transport header
/// length (TCP data offset, 8 for UDP and ICMP), as far as the bytes go.
pub fn header_lens(ip: &[u8]) -> (usize, usize) {
    let Some(&first) = ip.first() else {
        return (0, 0);
    };
    let (mut l3, mut proto) = match first >> 4 {
        4 => ((first & 0x0f) as usize * 4, ip.get(9).copied().unwrap_or(0)),
        6 => (40, ip.get(6).copied().unwrap_or(0)),
        _ => return (ip.len(), 0),
    };
    if first >> 4 == 6 {
        // hop-by-hop, routing, destination options, fragment
        for _ in 0..8 {
            match proto {
                0 | 43 | 60 => {
                    let (Some(&next), Some(&len)) = (ip.get(l3), ip.get(l3 + 1)) else {
                        break;
                    };
                    proto = next;
                    l3 += (len as usize + 1) * 8;
                }
                44 => {
                    let Some(&next) = ip.get(l3) else { break };
                    proto = next;
                    l3 += 8;
                }
                _ => break,
            }
        }
    }
    let l4 = match proto {
        6 => ip
            .get(l3 + 12)
            .map(|b| ((b >> 4) as usize * 4).max(20))
            .unwrap_or(20),
        17 | 1 | 58 => 8,
        _ => 0,
    };
    (l3, l4)
}

/// Which pcap files packets go to (several may be chosen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PcapSplit {
    /// `pcap/single.pcap`.
    pub single: bool,
    /// `pcap/processes/<cid|host>/<comm>_<tid>_<start>.pcap`.
    pub per_process: bool,
    /// `pcap/containers/<cid|host>.pcap`.
    pub per_container: bool,
    /// `pcap/commands/<cid|host>/<comm>.pcap`.
    pub per_command: bool,
}

impl PcapSplit {
    fn any(&self) -> bool {
        self.single || self.per_process || self.per_container || self.per_command
    }
}

/// Every `--capture` option of a run, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Capture written files.
    pub write: bool,
    /// Path prefixes (without the `*`); empty: every file.
    pub write_filters: Vec<String>,
    /// Capture executed binaries.
    pub exec: bool,
    /// Capture W+X -> X memory regions.
    pub mem: bool,
    /// Capture kernel module images.
    pub module: bool,
    /// Capture packets through this interface.
    pub net: Option<String>,
    /// Write `out/tracee.profile`.
    pub profile: bool,
    /// The output directory (artifacts in its `out/`).
    pub dir: PathBuf,
    /// Empty `<dir>/out` first.
    pub clear_dir: bool,
    /// pcap split (single when none is given).
    pub pcap: PcapSplit,
    /// Bytes kept per packet.
    pub snaplen: Snaplen,
    /// Size budget in bytes: `None` for the default (half the free space at start),
    /// `Some(u64::MAX)` for unlimited.
    pub max_size: Option<u64>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            write: false,
            write_filters: Vec::new(),
            exec: false,
            mem: false,
            module: false,
            net: None,
            profile: false,
            dir: PathBuf::from(DEFAULT_DIR),
            clear_dir: false,
            pcap: PcapSplit::default(),
            snaplen: Snaplen::Default,
            max_size: None,
        }
    }
}

impl CaptureOptions {
    /// Parses every `--capture` value. `Ok(None)` when none was given.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Option<CaptureOptions>, OptionError> {
        if values.is_empty() {
            return Ok(None);
        }
        let mut o = CaptureOptions::default();
        let mut pcap_given: Option<String> = None;
        let mut snap_given: Option<String> = None;
        let mut dir_given: Option<String> = None;
        for v in values {
            let v = v.as_ref();
            o.apply(v, &mut pcap_given, &mut snap_given, &mut dir_given)?;
        }
        let artifact = o.write || o.exec || o.mem || o.module || o.net.is_some() || o.profile;
        if !artifact {
            let given = values
                .iter()
                .map(|v| v.as_ref())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(err(
                &given,
                "nothing to capture: add write, exec, mem, net=<interface>, module or profile",
            ));
        }
        if o.net.is_none() {
            if let Some(p) = pcap_given.or(snap_given) {
                return Err(err(&p, "packet options need net=<interface>"));
            }
        }
        if o.net.is_some() && !o.pcap.any() {
            o.pcap.single = true;
        }
        Ok(Some(o))
    }

    fn apply(
        &mut self,
        v: &str,
        pcap_given: &mut Option<String>,
        snap_given: &mut Option<String>,
        dir_given: &mut Option<String>,
    ) -> Result<(), OptionError> {
        if v.is_empty() {
            return Err(err("''", "empty option"));
        }
        let (prefixed, body) = match v.strip_prefix("artifact:") {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        // artifacts: [artifact:]write[=/prefix*], exec, mem, net=IFACE, module
        match body {
            "write" => {
                self.write = true;
                return Ok(());
            }
            "exec" => {
                self.exec = true;
                return Ok(());
            }
            "mem" => {
                self.mem = true;
                return Ok(());
            }
            "module" => {
                self.module = true;
                return Ok(());
            }
            "net" | "net=" => {
                return Err(err(v, "missing interface: net=<interface> (e.g. net=eth0)"));
            }
            _ => {}
        }
        if let Some(filter) = body.strip_prefix("write=") {
            return self.add_filter(v, filter);
        }
        if let Some(iface) = body.strip_prefix("net=") {
            if iface.len() > 15
                || iface.contains(['/', ' ', '\t', '\n', ':'])
                || iface == "."
                || iface == ".."
            {
                return Err(err(v, "not a network interface name"));
            }
            if let Some(old) = &self.net {
                if old != iface {
                    return Err(err(
                        v,
                        format!("only one interface can be captured (net={old} was given)"),
                    ));
                }
            }
            self.net = Some(iface.to_string());
            return Ok(());
        }
        if prefixed {
            return Err(err(
                v,
                "unknown artifact: expected write[=/path/prefix*], exec, mem, net=<interface> or module",
            ));
        }
        match v {
            "profile" => self.profile = true,
            "clear-dir" => self.clear_dir = true,
            _ => {
                if let Some(dir) = v.strip_prefix("dir:") {
                    if dir.is_empty() {
                        return Err(err(v, "missing path: dir:/path/to/dir"));
                    }
                    if dir.contains('\0') {
                        return Err(err(v, "path holds a NUL byte"));
                    }
                    if let Some(old) = dir_given {
                        if old != dir {
                            return Err(err(
                                v,
                                format!("only one output directory (dir:{old} was given)"),
                            ));
                        }
                    }
                    *dir_given = Some(dir.to_string());
                    self.dir = PathBuf::from(dir);
                } else if let Some(list) = v.strip_prefix("pcap:") {
                    for mode in list.split(',') {
                        match mode {
                            "single" => self.pcap.single = true,
                            "per-process" | "process" => self.pcap.per_process = true,
                            "per-container" | "container" => self.pcap.per_container = true,
                            "per-command" | "command" => self.pcap.per_command = true,
                            "" => return Err(err(v, "missing mode: pcap:per-process, per-container, per-command or single")),
                            other => {
                                return Err(err(
                                    v,
                                    format!("unknown pcap mode '{other}': expected single, per-process, per-container or per-command"),
                                ))
                            }
                        }
                    }
                    pcap_given.get_or_insert(v.to_string());
                } else if let Some(s) = v.strip_prefix("pcap-snaplen:") {
                    self.snaplen = parse_snaplen(s).map_err(|m| err(v, m))?;
                    snap_given.get_or_insert(v.to_string());
                } else if let Some(s) = v
                    .strip_prefix("max-size=")
                    .or_else(|| v.strip_prefix("max-size:"))
                {
                    self.max_size = Some(parse_size(s).map_err(|m| err(v, m))?);
                } else {
                    return Err(err(
                        v,
                        "unknown capture option: expected [artifact:]write[=/path/prefix*], exec, mem, \
                         net=<interface>, module, profile, dir:/path, clear-dir, pcap:<mode>, \
                         pcap-snaplen:<size> or max-size=<size>",
                    ));
                }
            }
        }
        Ok(())
    }

    fn add_filter(&mut self, option: &str, filter: &str) -> Result<(), OptionError> {
        let Some(prefix) = filter.strip_suffix('*') else {
            return Err(err(
                option,
                format!("a write filter is a path prefix ending in '*' (write={filter}*)"),
            ));
        };
        if prefix.is_empty() {
            return Err(err(option, "empty filter: use write to capture every file"));
        }
        if prefix.contains('*') {
            return Err(err(
                option,
                "only a trailing '*' is allowed in a write filter",
            ));
        }
        if !prefix.starts_with('/') {
            return Err(err(
                option,
                "a write filter is an absolute path prefix (starts with '/')",
            ));
        }
        if prefix.contains('\0') || prefix.chars().any(char::is_control) {
            return Err(err(option, "a write filter cannot hold control characters"));
        }
        let chars = prefix.chars().count();
        if chars > MAX_FILTER_LEN || prefix.len() > 63 {
            return Err(err(
                option,
                format!("a write filter is at most {MAX_FILTER_LEN} characters ({chars} given)"),
            ));
        }
        self.write = true;
        if self.write_filters.iter().any(|f| f == prefix) {
            return Ok(());
        }
        if self.write_filters.len() == MAX_WRITE_FILTERS {
            return Err(err(
                option,
                format!("at most {MAX_WRITE_FILTERS} write filters can be given"),
            ));
        }
        self.write_filters.push(prefix.to_string());
        Ok(())
    }

    /// True when any artifact needs the capture data path in the kernel.
    pub fn needs_exec_hold(&self) -> bool {
        self.exec || self.profile
    }
}

fn parse_snaplen(s: &str) -> Result<Snaplen, String> {
    match s {
        "default" => return Ok(Snaplen::Default),
        "headers" => return Ok(Snaplen::Headers),
        "max" => return Ok(Snaplen::Max),
        _ => {}
    }
    let lower = s.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = lower.strip_suffix("kb") {
        (n, 1024u64)
    } else if let Some(n) = lower.strip_suffix('b') {
        (n, 1)
    } else {
        return Err("expected default, headers, max, <N>b or <N>kb".into());
    };
    let n: u64 = num
        .parse()
        .map_err(|_| "expected default, headers, max, <N>b or <N>kb".to_string())?;
    let bytes = n.saturating_mul(mult);
    if bytes == 0 {
        return Err("the snap length must be at least 1 byte".into());
    }
    if bytes > 65535 {
        return Err("the snap length is at most 65535 bytes (use max)".into());
    }
    Ok(Snaplen::Bytes(bytes as u32))
}

/// Parses `N[b|k|kb|m|mb|g|gb]` (binary multiples) or `unlimited`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    if s == "unlimited" {
        return Ok(u64::MAX);
    }
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err("expected a size such as 500m, 2g or unlimited".into()),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a size such as 500m, 2g or unlimited".to_string())?;
    if n == 0 {
        return Err("the budget must be above zero (or unlimited)".into());
    }
    n.checked_mul(mult)
        .ok_or_else(|| "size too large".to_string())
}

impl fmt::Display for Snaplen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Snaplen::Default => f.write_str("default (IP header + 96 bytes)"),
            Snaplen::Headers => f.write_str("headers"),
            Snaplen::Max => f.write_str("max"),
            Snaplen::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<CaptureOptions, OptionError> {
        CaptureOptions::parse(v).map(|o| o.expect("some options"))
    }

    fn refused(v: &[&str]) -> OptionError {
        parse(v).expect_err("must be refused")
    }

    #[test]
    fn every_form_of_the_seed_parses() {
        let o = parse(&["exec"]).unwrap();
        assert!(o.exec && !o.write);
        assert_eq!(o.dir, PathBuf::from("/tmp/tracee"));
        let o = parse(&["artifact:exec", "artifact:mem", "artifact:module", "module"]).unwrap();
        assert!(o.exec && o.mem && o.module);
        let o = parse(&["exec", "dir:/my/dir", "clear-dir"]).unwrap();
        assert_eq!(o.dir, PathBuf::from("/my/dir"));
        assert!(o.clear_dir);
        let o = parse(&["write=/usr/bin/*", "write=/etc/*"]).unwrap();
        assert!(o.write);
        assert_eq!(o.write_filters, vec!["/usr/bin/", "/etc/"]);
        let o = parse(&["artifact:write"]).unwrap();
        assert!(o.write && o.write_filters.is_empty());
        let o = parse(&["net=enp0s3"]).unwrap();
        assert_eq!(o.net.as_deref(), Some("enp0s3"));
        assert!(o.pcap.single, "single file by default");
        let o = parse(&["net=enp0s3", "pcap:per-container"]).unwrap();
        assert!(o.pcap.per_container && !o.pcap.single);
        let o = parse(&[
            "artifact:net=lo",
            "pcap:per-process",
            "pcap:per-command,single",
        ])
        .unwrap();
        assert!(o.pcap.per_process && o.pcap.per_command && o.pcap.single);
        let o = parse(&["profile"]).unwrap();
        assert!(o.profile);
        let o = parse(&["net=lo", "pcap-snaplen:headers"]).unwrap();
        assert_eq!(o.snaplen, Snaplen::Headers);
        assert_eq!(
            parse(&["net=lo", "pcap-snaplen:max"]).unwrap().snaplen,
            Snaplen::Max
        );
        assert_eq!(
            parse(&["net=lo", "pcap-snaplen:256b"]).unwrap().snaplen,
            Snaplen::Bytes(256)
        );
        assert_eq!(
            parse(&["net=lo", "pcap-snaplen:16kb"]).unwrap().snaplen,
            Snaplen::Bytes(16384)
        );
        assert_eq!(
            parse(&["exec", "max-size=2g"]).unwrap().max_size,
            Some(2 << 30)
        );
        assert_eq!(
            parse(&["exec", "max-size:unlimited"]).unwrap().max_size,
            Some(u64::MAX)
        );
        assert_eq!(CaptureOptions::parse::<&str>(&[]).unwrap(), None);
    }

    #[test]
    fn filters_are_limited_to_three_of_fifty_characters() {
        let fifty = format!("/{}", "a".repeat(49));
        let o = parse(&[&format!("write={fifty}*")]).unwrap();
        assert_eq!(o.write_filters, vec![fifty.clone()]);
        let fifty_one = format!("/{}", "a".repeat(50));
        let e = refused(&[&format!("write={fifty_one}*")]);
        assert!(e.option.contains(&fifty_one), "{e}");
        assert!(e.to_string().contains("at most 50 characters"), "{e}");
        let e = refused(&["write=/a*", "write=/b*", "write=/c*", "write=/d*"]);
        assert_eq!(e.option, "write=/d*");
        assert!(e.to_string().contains("at most 3"), "{e}");
        // the same filter twice is one filter
        assert_eq!(
            parse(&["write=/a*", "write=/a*", "write=/b*", "write=/c*"])
                .unwrap()
                .write_filters
                .len(),
            3
        );
    }

    #[test]
    fn every_invalid_form_is_refused_with_the_option_named() {
        for (v, needle) in [
            (&["bogus"][..], "unknown capture option"),
            (&["artifact:bogus"], "unknown artifact"),
            (&["artifact:profile"], "unknown artifact"),
            (&["artifact:dir:/x"], "unknown artifact"),
            (&["net"], "missing interface"),
            (&["net="], "missing interface"),
            (&["artifact:net="], "missing interface"),
            (&["net=a/b"], "not a network interface"),
            (&["net=averyveryverylongname"], "not a network interface"),
            (&["write=/etc"], "ending in '*'"),
            (&["write=*"], "empty filter"),
            (&["write=etc/*"], "absolute"),
            (&["write=/e*c/*"], "only a trailing"),
            (&["write=/etc/\n*"], "control"),
            (&["exec", "dir:"], "missing path"),
            (&["exec", "pcap:per-thread"], "unknown pcap mode"),
            (&["net=lo", "pcap:"], "missing mode"),
            (&["net=lo", "pcap-snaplen:huge"], "expected default"),
            (&["net=lo", "pcap-snaplen:0b"], "at least 1"),
            (&["net=lo", "pcap-snaplen:100kb"], "at most 65535"),
            (&["exec", "max-size=lots"], "expected a size"),
            (&["exec", "max-size=0"], "above zero"),
            (&["pcap:per-process", "exec"], "need net="),
            (&["exec", "pcap-snaplen:max"], "need net="),
            (&["dir:/tmp/x"], "nothing to capture"),
            (&["clear-dir"], "nothing to capture"),
            (&[""], "empty"),
            (&["net=lo", "net=eth0"], "only one interface"),
        ] {
            let e = refused(v);
            let text = e.to_string();
            assert!(text.starts_with("--capture "), "{text}");
            assert!(text.contains(needle), "{v:?}: {text}");
        }
        // the offending option is the one named
        let e = refused(&["exec", "net="]);
        assert_eq!(e.option, "net=");
    }

    #[test]
    fn snaplen_cuts_after_the_headers() {
        let mut v4 = vec![0x45u8, 0, 0, 0, 0, 0, 0, 0, 64, 6];
        v4.resize(20, 0);
        let mut tcp = vec![0u8; 20];
        tcp[12] = 8 << 4; // 32-byte TCP header
        v4.extend_from_slice(&tcp);
        v4.extend_from_slice(&[0xaa; 500]);
        assert_eq!(header_lens(&v4), (20, 32));
        assert_eq!(Snaplen::Headers.cut(&v4), 52);
        assert_eq!(Snaplen::Default.cut(&v4), 20 + 96);
        assert_eq!(Snaplen::Max.cut(&v4), v4.len());
        assert_eq!(Snaplen::Bytes(10).cut(&v4), 10);
        let mut v6 = vec![0x60u8, 0, 0, 0, 0, 8, 17, 64];
        v6.resize(40, 0);
        v6.extend_from_slice(&[0; 8]);
        v6.extend_from_slice(b"payload");
        assert_eq!(header_lens(&v6), (40, 8));
        assert_eq!(Snaplen::Headers.cut(&v6), 48);
        // odd input never panics
        for n in 0..v4.len() {
            let _ = Snaplen::Default.cut(&v4[..n]);
            let _ = header_lens(&v6[..n.min(v6.len())]);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("3MB"), Ok(3 << 20));
        assert!(parse_size("1x").is_err());
        assert!(parse_size("99999999999999999999t").is_err());
    }
}
