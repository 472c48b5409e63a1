//! Kernel integrity checks: Tracee's `hooked_syscall` and `hooked_proc_fops`.
//!
//! A rootkit module hides itself and its processes by pointing kernel function pointers at its
//! own code: entries of the syscall table, or the directory operations of `/proc`. The pointers
//! are read in the kernel (`osprey_bpf::integrity::KernelReader`) and compared here with the
//! kernel's own symbols (`/proc/kallsyms`): a pointer outside the core kernel's text is hooked,
//! and the module whose symbol it lands in owns the hook. Checked when the trace starts and
//! every [`CHECK_EVERY`] after; each hook is reported once (per syscall and address).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::time::{Duration, Instant};

use osprey_bpf::integrity::{DirOps, KernelReader, MAX_WORDS};
use osprey_event::{Arg, Event, Value};

use crate::catalog::{ids, syscall_name};

/// How often the checks run after the first.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// What a kernel pointer points to, from `/proc/kallsyms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Address.
    pub addr: u64,
    /// Name.
    pub name: String,
    /// The module it belongs to; `None` for the core kernel.
    pub module: Option<String>,
}

/// The kernel's symbols, as far as the checks need them.
#[derive(Debug, Default)]
pub struct Symbols {
    /// The core kernel's text: `_stext` .. `_etext`.
    text: Option<(u64, u64)>,
    /// `sys_call_table` and its number of entries (up to the next symbol).
    syscall_table: Option<(u64, usize)>,
    /// Every symbol, by address.
    by_addr: Vec<Symbol>,
    /// Loaded modules (`/proc/modules`): name, base address, size.
    modules: Vec<(String, u64, u64)>,
}

impl Symbols {
    /// Reads `/proc/kallsyms` and `/proc/modules` (addresses are zero without root or
    /// CAP_SYSLOG).
    pub fn read() -> Result<Symbols, String> {
        let (kallsyms, modules) = read_proc()?;
        Ok(Symbols::parse(&kallsyms, &modules))
    }

    /// What the checks keep between runs: the text range, the table and the modules, without
    /// the symbols' names (megabytes on a distribution kernel; read again to name a hook found).
    pub fn read_ranges() -> Result<Symbols, String> {
        let (kallsyms, modules) = read_proc()?;
        Ok(Symbols::ranges(&kallsyms, &modules))
    }

    /// Parses kallsyms' lines (`ADDRESS TYPE NAME [MODULE]`) and /proc/modules' (`NAME SIZE
    /// REFS DEPS STATE ADDRESS`).
    pub fn parse(text: &str, modules: &str) -> Symbols {
        let mut by_addr: Vec<Symbol> = text.lines().filter_map(parse_line).collect();
        by_addr.sort_by_key(|s| s.addr);
        Symbols {
            by_addr,
            ..Symbols::ranges(text, modules)
        }
    }

    /// The ranges alone, without keeping a name.
    fn ranges(text: &str, modules: &str) -> Symbols {
        let core = |name: &str| {
            text.lines().find_map(|l| {
                let mut f = l.split_whitespace();
                let addr = f.next()?;
                let found = f.nth(1)? == name && f.next().is_none();
                found.then(|| u64::from_str_radix(addr, 16).ok()).flatten()
            })
        };
        let text_range = core("_stext").zip(core("_etext")).filter(|(s, e)| s < e);
        let syscall_table = core("sys_call_table").map(|table| {
            let next = text
                .lines()
                .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
                .filter(|&a| a > table)
                .min();
            let words = next.map_or(MAX_WORDS as u64, |n| (n - table) / 8);
            (table, words.min(MAX_WORDS as u64) as usize)
        });
        Symbols {
            text: text_range,
            syscall_table,
            by_addr: Vec::new(),
            modules: modules.lines().filter_map(parse_module).collect(),
        }
    }

    /// `sys_call_table`'s address and number of entries, when kallsyms lists it.
    pub fn syscall_table(&self) -> Option<(u64, usize)> {
        self.syscall_table
    }

    /// True when the address is in the core kernel's text.
    fn in_kernel_text(&self, addr: u64) -> bool {
        self.text.is_some_and(|(s, e)| (s..e).contains(&addr))
    }

    /// The symbol an address is in: the last one at or below it.
    pub fn symbol_at(&self, addr: u64) -> Option<&Symbol> {
        let i = self.by_addr.partition_point(|s| s.addr <= addr);
        i.checked_sub(1).map(|i| &self.by_addr[i])
    }

    /// Every name of the code that starts exactly at `addr` (aliases share an address).
    fn names_at(&self, addr: u64) -> impl Iterator<Item = &str> {
        let start = self.by_addr.partition_point(|s| s.addr < addr);
        self.by_addr[start..]
            .iter()
            .take_while(move |s| s.addr == addr)
            .map(|s| s.name.as_str())
    }

    /// What a hooking pointer reports: its function and owner, as Tracee names them. The owner
    /// is the loaded module whose memory holds the address; an address in no module is
    /// "hidden" (a module that removed itself from the lists, as rootkits do).
    fn describe(&self, addr: u64) -> (String, String) {
        let Some((owner, ..)) = self
            .modules
            .iter()
            .find(|(_, base, size)| (*base..base.saturating_add(*size)).contains(&addr))
        else {
            return (String::new(), "hidden".to_string());
        };
        let function = self
            .symbol_at(addr)
            .filter(|s| s.module.as_deref() == Some(owner))
            .map_or_else(String::new, |s| s.name.clone());
        (function, owner.clone())
    }
}

fn read_proc() -> Result<(String, String), String> {
    let read =
        |path: &str| std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"));
    // a kernel without modules has no /proc/modules
    let modules = read("/proc/modules").unwrap_or_default();
    Ok((read("/proc/kallsyms")?, modules))
}

fn parse_line(line: &str) -> Option<Symbol> {
    let mut parts = line.split_whitespace();
    let addr = u64::from_str_radix(parts.next()?, 16).ok()?;
    let _kind = parts.next()?;
    let name = parts.next()?.to_string();
    let module = parts
        .next()
        .map(|m| m.trim_start_matches('[').trim_end_matches(']').to_string());
    Some(Symbol { addr, name, module })
}

fn parse_module(line: &str) -> Option<(String, u64, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let size = f.get(1)?.parse().ok()?;
    let base = u64::from_str_radix(f.get(5)?.trim_start_matches("0x"), 16).ok()?;
    Some((f[0].to_string(), base, size))
}

/// One syscall table entry that points outside the kernel's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookedSyscall {
    /// Syscall number.
    pub nr: u32,
    /// Where the entry points.
    pub address: u64,
    /// The function there, when a module's symbol names it.
    pub function: String,
    /// The module, or "hidden".
    pub owner: String,
}

/// The outcome of a syscall table check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCheck {
    /// Entries read.
    pub entries: usize,
    /// Entries that point to the start of a syscall handler of the kernel (`__x64_sys_*`, or
    /// `sys_ni_syscall` for the numbers no syscall has): evidence that the words read are the
    /// table.
    pub handlers: usize,
    /// Of those, the ones named like their syscall (`__x64_sys_read` at 0).
    pub own_handlers: usize,
    /// The entries in the kernel's text that are not at a handler's start: number and where
    /// they point (`symbol+0xOFFSET`).
    pub others: Vec<(u32, String)>,
    /// Entries outside the kernel's text.
    pub hooked: Vec<HookedSyscall>,
}

/// Reads the syscall table's entries. kallsyms gives where the table starts, not its length:
/// the words up to the next symbol are read, and the zero words at their end dropped (the
/// alignment padding after the last entry; no entry of a live table is zero).
pub fn read_table(reader: &KernelReader, symbols: &Symbols) -> Result<Vec<u64>, String> {
    let (addr, n) = symbols
        .syscall_table
        .ok_or("no sys_call_table in /proc/kallsyms")?;
    let mut words = reader.read_words(addr, n)?;
    while words.last() == Some(&0) {
        words.pop();
    }
    Ok(words)
}

/// Compares the syscall table's entries with the kernel's text.
pub fn check_table(symbols: &Symbols, entries: &[u64]) -> TableCheck {
    let mut out = TableCheck {
        entries: entries.len(),
        ..TableCheck::default()
    };
    for (nr, &addr) in entries.iter().enumerate() {
        let nr = nr as u32;
        if !symbols.in_kernel_text(addr) {
            let (function, owner) = symbols.describe(addr);
            out.hooked.push(HookedSyscall {
                nr,
                address: addr,
                function,
                owner,
            });
            continue;
        }
        let names: Vec<&str> = symbols.names_at(addr).collect();
        if !names
            .iter()
            .any(|n| n.starts_with("__x64_sys_") || n.ends_with("sys_ni_syscall"))
        {
            let at = symbols.symbol_at(addr).map_or_else(
                || format!("{addr:#x}"),
                |s| format!("{}+{:#x}", s.name, addr - s.addr),
            );
            out.others.push((nr, at));
            continue;
        }
        out.handlers += 1;
        // the handler's name is the syscall's, or "new" + it (newstat, newuname...)
        let own = syscall_name(nr).is_some_and(|want| {
            names
                .iter()
                .filter_map(|n| n.strip_prefix("__x64_sys_"))
                .any(|h| h == want || h.strip_prefix("new") == Some(want))
        });
        out.own_handlers += own as usize;
    }
    out
}

/// The `/proc` directory operations that point outside the kernel's text, with their owners.
pub fn check_dir_ops(symbols: &Symbols, ops: DirOps) -> Vec<(&'static str, String)> {
    [
        ("iterate_shared", ops.iterate_shared),
        ("iterate", ops.iterate),
    ]
    .into_iter()
    .filter(|&(_, addr)| addr != 0 && !symbols.in_kernel_text(addr))
    .map(|(name, addr)| (name, symbols.describe(addr).1))
    .collect()
}

/// The checks of one trace: what is selected, the reader, and what was reported already.
pub struct Checker {
    reader: KernelReader,
    symbols: Symbols,
    syscalls: bool,
    proc_fops: bool,
    reported: HashSet<(u32, u64)>,
    reported_fops: HashSet<(&'static str, String)>,
    last: Option<Instant>,
}

/// Why the check behind an integrity event cannot run here, or None when it can.
pub fn unavailable(event: &str, symbols: &Symbols) -> Option<String> {
    if symbols.text.is_none() {
        return Some("/proc/kallsyms gives no kernel text range (_stext, _etext): not root, or kptr_restrict".into());
    }
    (event == "hooked_syscall" && symbols.syscall_table.is_none()).then(|| {
        "/proc/kallsyms has no sys_call_table (a kernel built without CONFIG_KALLSYMS_ALL)".into()
    })
}

impl Checker {
    /// A checker for the selected integrity events; the events it cannot serve, with why.
    pub fn new(selected: &[String]) -> (Option<Checker>, Vec<(String, String)>) {
        let wanted: Vec<&str> = ["hooked_syscall", "hooked_proc_fops"]
            .into_iter()
            .filter(|e| selected.iter().any(|s| s == e))
            .collect();
        if wanted.is_empty() {
            return (None, Vec::new());
        }
        let all_off = |why: String| {
            let off = wanted
                .iter()
                .map(|e| (e.to_string(), why.clone()))
                .collect();
            (None, off)
        };
        let symbols = match Symbols::read_ranges() {
            Ok(s) => s,
            Err(e) => return all_off(e),
        };
        let reader = match KernelReader::load() {
            Ok(r) => r,
            Err(e) => return all_off(format!("loading raw_tp/read_kernel_words: {e}")),
        };
        let mut off = Vec::new();
        let mut on = |event: &str| match unavailable(event, &symbols) {
            None => wanted.contains(&event),
            Some(why) => {
                if wanted.contains(&event) {
                    off.push((event.to_string(), why));
                }
                false
            }
        };
        let (syscalls, proc_fops) = (on("hooked_syscall"), on("hooked_proc_fops"));
        let checker = (syscalls || proc_fops).then(|| Checker {
            reader,
            symbols,
            syscalls,
            proc_fops,
            reported: HashSet::new(),
            reported_fops: HashSet::new(),
            last: None,
        });
        (checker, off)
    }

    /// Runs the checks when they are due; new hooks become events. Errors are returned once
    /// per run of the checks, for the caller to log.
    pub fn poll(&mut self, out: &mut Vec<Event<'static>>) -> Result<(), String> {
        if self.last.is_some_and(|t| t.elapsed() < CHECK_EVERY) {
            return Ok(());
        }
        self.last = Some(Instant::now());
        if self.syscalls {
            let words = read_table(&self.reader, &self.symbols)?;
            let mut check = check_table(&self.symbols, &words);
            if !check.hooked.is_empty() {
                // name the hooking functions
                check = check_table(&Symbols::read()?, &words);
            }
            for h in check.hooked {
                if self.reported.insert((h.nr, h.address)) {
                    out.push(hooked_syscall_event(&h));
                }
            }
        }
        if self.proc_fops {
            let proc = File::open("/proc").map_err(|e| format!("opening /proc: {e}"))?;
            let ops = self.reader.dir_ops(&proc)?;
            let mut hooked = check_dir_ops(&self.symbols, ops);
            if !hooked.is_empty() {
                // name the owners: a module loaded since the trace started is not in the
                // list read then (it would be "hidden")
                hooked = check_dir_ops(&Symbols::read_ranges()?, ops);
            }
            let hooked: Vec<_> = hooked
                .into_iter()
                .filter(|h| self.reported_fops.insert(h.clone()))
                .collect();
            if !hooked.is_empty() {
                out.push(hooked_proc_fops_event(&hooked));
            }
        }
        Ok(())
    }
}

/// What `osprey trace --list` says of an integrity event on this kernel: available, and how.
pub fn describe(event: &str) -> (bool, String) {
    // the names only for the table, whose entries are checked against them
    let read = if event == "hooked_syscall" {
        Symbols::read
    } else {
        Symbols::read_ranges
    };
    let symbols = match read() {
        Ok(s) => s,
        Err(e) => return (false, e),
    };
    if let Some(why) = unavailable(event, &symbols) {
        return (false, why);
    }
    let reader = match KernelReader::load() {
        Ok(r) => r,
        Err(e) => return (false, format!("raw_tp/read_kernel_words: {e}")),
    };
    let how = "raw_tp/read_kernel_words run by the tracer (BPF_PROG_TEST_RUN) every 5 s";
    if event != "hooked_syscall" {
        return (
            true,
            format!("{how}: /proc's iterate_shared/iterate vs kernel text"),
        );
    }
    match read_table(&reader, &symbols) {
        Ok(words) => {
            let c = check_table(&symbols, &words);
            let others: Vec<String> = c
                .others
                .iter()
                .take(3)
                .map(|(nr, at)| format!("{nr} at {at}"))
                .collect();
            let others = if others.is_empty() {
                String::new()
            } else {
                format!(" (not at a handler: {})", others.join(", "))
            };
            (
                true,
                format!(
                    "{how}: sys_call_table, {} entries, {} the kernel's syscall handlers ({} named like their syscall), {} outside kernel text{others}",
                    c.entries,
                    c.handlers,
                    c.own_handlers,
                    c.hooked.len()
                ),
            )
        }
        Err(e) => (false, format!("reading sys_call_table: {e}")),
    }
}

fn own_context(event_id: i64, name: &'static str, args: Vec<Arg<'static>>) -> Event<'static> {
    let pid = std::process::id() as i64;
    Event {
        timestamp: osprey_bpf::realtime_ns(),
        process_id: pid,
        thread_id: pid,
        host_process_id: pid,
        host_thread_id: pid,
        process_name: Cow::Borrowed("osprey"),
        executable_path: Some(Cow::Borrowed("")),
        event_id,
        event_name: Cow::Borrowed(name),
        args_num: args.len() as i64,
        args,
        ..Event::default()
    }
}

fn str_arg(name: &'static str, value: String) -> Arg<'static> {
    Arg {
        name: Cow::Borrowed(name),
        ty: Cow::Borrowed("const char*"),
        value: Value::Str(Cow::Owned(value)),
    }
}

/// Tracee's hooked_syscall: `syscall`, `address` (hex), `function`, `owner`.
fn hooked_syscall_event(h: &HookedSyscall) -> Event<'static> {
    let syscall = syscall_name(h.nr).map_or_else(|| h.nr.to_string(), str::to_string);
    own_context(
        ids::HOOKED_SYSCALL,
        "hooked_syscall",
        vec![
            str_arg("syscall", syscall),
            str_arg("address", format!("{:x}", h.address)),
            str_arg("function", h.function.clone()),
            str_arg("owner", h.owner.clone()),
        ],
    )
}

/// Tracee's hooked_proc_fops: `hooked_fops_pointers`, the hooked operations and their owners.
fn hooked_proc_fops_event(hooked: &[(&'static str, String)]) -> Event<'static> {
    let pointers = hooked
        .iter()
        .map(|(name, owner)| {
            Value::Object(vec![
                (Cow::Borrowed("SymbolName"), Value::Str(Cow::Borrowed(name))),
                (
                    Cow::Borrowed("ModuleOwner"),
                    Value::Str(Cow::Owned(owner.clone())),
                ),
            ])
        })
        .collect();
    own_context(
        ids::HOOKED_PROC_FOPS,
        "hooked_proc_fops",
        vec![Arg {
            name: Cow::Borrowed("hooked_fops_pointers"),
            ty: Cow::Borrowed("[]trace.HookedSymbolData"),
            value: Value::Array(pointers),
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KALLSYMS: &str = "\
ffffffff81000000 T _stext
ffffffff81001000 T __x64_sys_read
ffffffff81001100 T __x64_sys_write
ffffffff81001200 T __x64_sys_newstat
ffffffff81002000 t proc_root_readdir
ffffffff82000000 T _etext
ffffffff82200000 D sys_call_table
ffffffff82200020 D ia32_sys_call_table
ffffffffc0001000 t hacked_getdents64\t[diamorphine]
ffffffffc0001100 t hacked_kill\t[diamorphine]
";
    const MODULES: &str = "diamorphine 16384 0 - Live 0xffffffffc0001000 (OE)\n";

    #[test]
    fn kallsyms_give_the_text_range_the_table_and_its_size() {
        let s = Symbols::parse(KALLSYMS, MODULES);
        assert_eq!(s.text, Some((0xffffffff81000000, 0xffffffff82000000)));
        // four words up to the next symbol
        assert_eq!(s.syscall_table, Some((0xffffffff82200000, 4)));
        let m = s.symbol_at(0xffffffffc0001105).unwrap();
        assert_eq!(
            (m.name.as_str(), m.module.as_deref()),
            ("hacked_kill", Some("diamorphine"))
        );
        assert_eq!(unavailable("hooked_syscall", &s), None);
        let no_data = Symbols::parse(&KALLSYMS.replace("sys_call_table", "x"), MODULES);
        assert!(unavailable("hooked_syscall", &no_data)
            .unwrap()
            .contains("KALLSYMS_ALL"));
        assert_eq!(unavailable("hooked_proc_fops", &no_data), None);
    }

    #[test]
    fn entries_outside_kernel_text_are_hooks_owned_by_their_module() {
        let s = Symbols::parse(KALLSYMS, MODULES);
        let table = [
            0xffffffff81001000, // read: its own handler
            0xffffffff81001100, // write: its own handler
            0xffffffffc0001100, // open: hooked by a module
            0xffffffffd0000000, // close: in no symbol's module, hidden
            0xffffffff81001200, // stat: __x64_sys_newstat
        ];
        let c = check_table(&s, &table);
        assert_eq!(c.entries, 5);
        assert_eq!((c.handlers, c.own_handlers), (3, 3));
        assert_eq!(
            c.hooked,
            vec![
                HookedSyscall {
                    nr: 2,
                    address: 0xffffffffc0001100,
                    function: "hacked_kill".into(),
                    owner: "diamorphine".into()
                },
                HookedSyscall {
                    nr: 3,
                    address: 0xffffffffd0000000,
                    function: String::new(),
                    owner: "hidden".into()
                },
            ]
        );
        let ev = hooked_syscall_event(&c.hooked[0]);
        let mut json = Vec::new();
        ev.write_legacy_json(&mut json);
        let json = String::from_utf8(json).unwrap();
        assert!(json.contains(r#""eventName":"hooked_syscall""#), "{json}");
        assert!(json.contains(r#""value":"open""#), "{json}");
        assert!(json.contains(r#""value":"ffffffffc0001100""#), "{json}");
    }

    #[test]
    fn proc_directory_operations_outside_kernel_text_are_reported() {
        let s = Symbols::parse(KALLSYMS, MODULES);
        let clean = DirOps {
            iterate_shared: 0xffffffff81002000,
            iterate: 0,
        };
        assert!(check_dir_ops(&s, clean).is_empty());
        let hooked = DirOps {
            iterate_shared: 0xffffffffc0001000,
            iterate: 0,
        };
        let found = check_dir_ops(&s, hooked);
        assert_eq!(found, vec![("iterate_shared", "diamorphine".to_string())]);
        let ev = hooked_proc_fops_event(&found);
        let mut json = Vec::new();
        ev.write_legacy_json(&mut json);
        let json = String::from_utf8(json).unwrap();
        assert!(
            json.contains(r#"{"SymbolName":"iterate_shared","ModuleOwner":"diamorphine"}"#),
            "{json}"
        );
    }
}
