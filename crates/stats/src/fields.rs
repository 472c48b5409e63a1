//! The fields the statistics read, by name from the one registry: static fields are
//! constants of `osprey-field`; Tracee argument fields (`tracee.args.<event>.<arg>`) are
//! resolved once here, which registers them before any data shows them.

use osprey_field::{registry, FieldId};

/// Argument fields the views read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Args {
    pub fork_child_pid: FieldId,
    pub fork_child_tid: FieldId,
    pub fork_child_ns_pid: FieldId,
    pub fork_start_time: FieldId,
    pub exec_pathname: FieldId,
    pub exec_cmdpath: FieldId,
    pub exit_code: FieldId,
    pub exit_signal: FieldId,
    pub exit_group: FieldId,
    pub open_pathname: FieldId,
    pub open_syscall_pathname: FieldId,
    pub open_flags: FieldId,
    pub write_pathname: FieldId,
}

fn arg(name: &str) -> FieldId {
    registry()
        .resolve(&format!("tracee.args.{name}"))
        .unwrap_or_else(|| panic!("tracee.args.{name} is a valid argument field name"))
}

impl Args {
    pub(crate) fn resolve() -> Args {
        Args {
            fork_child_pid: arg("sched_process_fork.child_pid"),
            fork_child_tid: arg("sched_process_fork.child_tid"),
            fork_child_ns_pid: arg("sched_process_fork.child_ns_pid"),
            fork_start_time: arg("sched_process_fork.start_time"),
            exec_pathname: arg("sched_process_exec.pathname"),
            exec_cmdpath: arg("sched_process_exec.cmdpath"),
            exit_code: arg("sched_process_exit.exit_code"),
            exit_signal: arg("sched_process_exit.signal_code"),
            exit_group: arg("sched_process_exit.process_group_exit"),
            open_pathname: arg("security_file_open.pathname"),
            open_syscall_pathname: arg("security_file_open.syscall_pathname"),
            open_flags: arg("security_file_open.flags"),
            write_pathname: arg("magic_write.pathname"),
        }
    }
}
