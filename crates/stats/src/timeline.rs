//! `-z tracee,timeline,INTERVAL`: how many events of each group happened in each interval (a
//! histogram of the recording), laid out like `io,stat`: intervals from the first frame, the
//! table as long as the recording.

use osprey_field::fields::tracee as t;
use serde::Serialize;

use crate::iostat::{geometry, is_zero, MAX_INTERVALS};
use crate::process::ProcessModel;
use crate::spec::{Interval, ViewSpec};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};

/// The groups, in column order.
pub const GROUPS: [&str; 7] = [
    "Process",
    "File",
    "Network",
    "Signatures",
    "Other events",
    "Packets",
    "Artifacts",
];

const PROCESS: &[&str] = &[
    "execve",
    "execveat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "exit",
    "exit_group",
    "kill",
    "tkill",
    "tgkill",
    "ptrace",
    "prctl",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "capset",
    "process_vm_writev",
    "process_vm_readv",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
];
const FILE: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "read",
    "write",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "mkdir",
    "mkdirat",
    "rmdir",
    "truncate",
    "ftruncate",
    "mount",
    "umount2",
    "memfd_create",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "stat",
    "lstat",
    "fstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "magic_write",
    "mknod",
    "mknodat",
    "chroot",
    "dirty_pipe_splice",
];
const NETWORK: &[&str] = &[
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "socket_dup",
];

/// The group of an event by its name.
pub fn group_of(name: &str, signature: bool) -> usize {
    if signature {
        return 3;
    }
    if name.starts_with("sched_process_")
        || name.starts_with("security_bprm")
        || PROCESS.contains(&name)
    {
        0
    } else if name.starts_with("net_")
        || name.starts_with("security_socket_")
        || NETWORK.contains(&name)
    {
        2
    } else if name.starts_with("security_file_")
        || name.starts_with("security_inode_")
        || name.starts_with("security_path_")
        || name.starts_with("vfs_")
        || name.starts_with("file_")
        || name.starts_with("security_sb_")
        || FILE.contains(&name)
    {
        1
    } else {
        4
    }
}

/// One group's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineGroup {
    /// The group's name.
    pub name: String,
    /// Frames per interval.
    pub counts: Vec<u64>,
}

/// `-z tracee,timeline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineResult {
    /// The `-z` argument.
    pub view: String,
    /// The view's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The interval asked for, µs (`None`: the whole recording).
    pub interval_us: Option<u64>,
    /// Decimal places of the interval as written.
    pub precision: u32,
    /// From the first to the last frame, µs.
    pub duration_us: u64,
    /// Start of each interval, µs after the first frame.
    pub starts_us: Vec<u64>,
    /// The groups that had any frame.
    pub groups: Vec<TimelineGroup>,
    /// Intervals after the first [`crate::iostat::MAX_INTERVALS`] that are not counted, and
    /// the frames in them (of every group).
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_intervals: u64,
    /// See `omitted_intervals`.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_frames: u64,
}

/// The timeline view.
pub(crate) struct Timeline {
    spec: ViewSpec,
    interval: Interval,
    bit: Option<u8>,
    counts: Vec<[u64; GROUPS.len()]>,
    /// Frames beyond the last interval kept.
    late: u64,
}

impl Timeline {
    pub(crate) fn new(
        spec: &ViewSpec,
        interval: Interval,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> Timeline {
        s.read(t::EVENT_NAME);
        s.read(t::IS_SIGNATURE);
        Timeline {
            spec: spec.clone(),
            interval,
            bit,
            counts: Vec::new(),
            late: 0,
        }
    }
}

impl View for Timeline {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.counts(self.bit) {
            return;
        }
        let group = match rec.meta.kind {
            osprey_source::FrameKind::Event => group_of(
                rec.event_name().unwrap_or(""),
                rec.bool(t::IS_SIGNATURE).unwrap_or(false),
            ),
            osprey_source::FrameKind::Packet => 5,
            osprey_source::FrameKind::Artifact => 6,
        };
        let rel_us = (cx.rel_ns + 500) / 1000;
        let i = self.interval.us.map_or(0, |iv| (rel_us / iv) as usize);
        if i >= MAX_INTERVALS {
            self.late += 1;
            return;
        }
        if self.counts.len() <= i {
            self.counts.resize(i + 1, [0; GROUPS.len()]);
        }
        self.counts[i][group] += 1;
    }

    fn finish(&mut self, _: Option<&ProcessModel>, span: &Span) -> ViewResult {
        let duration_us = (span.duration_ns + 500) / 1000;
        let g = geometry(duration_us, self.interval.us, self.interval.precision);
        let rows = (g.rows as usize).min(MAX_INTERVALS);
        let groups = GROUPS
            .iter()
            .enumerate()
            .filter(|(gi, _)| self.counts.iter().any(|c| c[*gi] > 0))
            .map(|(gi, name)| TimelineGroup {
                name: name.to_string(),
                counts: (0..rows)
                    .map(|r| self.counts.get(r).map_or(0, |c| c[gi]))
                    .collect(),
            })
            .collect();
        ViewResult::Timeline(TimelineResult {
            view: self.spec.text.clone(),
            filter: self.spec.filter.clone(),
            interval_us: self.interval.us,
            precision: self.interval.precision,
            duration_us,
            starts_us: (0..rows as u64).map(|i| i * g.interval).collect(),
            groups,
            omitted_intervals: g.rows - rows as u64,
            omitted_frames: self.late,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_group_by_name() {
        assert_eq!(GROUPS[group_of("sched_process_exec", false)], "Process");
        assert_eq!(GROUPS[group_of("security_file_open", false)], "File");
        assert_eq!(GROUPS[group_of("openat", false)], "File");
        assert_eq!(GROUPS[group_of("net_packet_dns", false)], "Network");
        assert_eq!(
            GROUPS[group_of("security_socket_connect", false)],
            "Network"
        );
        assert_eq!(GROUPS[group_of("anything", true)], "Signatures");
        assert_eq!(GROUPS[group_of("getpid", false)], "Other events");
    }
}
