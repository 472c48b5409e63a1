/*!
The Tracee event model shared by every part of Osprey.

Tracee writes events as JSON in three generations (see `formats.md` §1): the legacy
`trace.Event` (v0.11 to v0.24), an older form whose container and pod context are flat keys
(v0.8 to v0.10), and the protobuf-JSON `v1beta1.Event` of current Tracee. [`parse_event`] reads
any of them into one [`Event`], whose strings borrow from the input line wherever they hold no
escapes. The tracer builds [`Event`]s too, and [`Event::write_legacy_json`] writes them in the
legacy layout, key for key in Tracee's order.

Events read from a file keep their original bytes elsewhere (see `osprey-source`): converting
never re-encodes an event, so nothing is lost. This crate only reads and builds the model.

```
let line = br#"{"timestamp":1,"processId":7,"processName":"sh","eventId":"1","eventName":"openat","args":[{"name":"dirfd","type":"int","value":-100}]}"#;
let event = osprey_event::parse_event(line).unwrap();
assert_eq!(event.event_name, "openat");
assert_eq!(event.arg("dirfd").unwrap().value.as_i64(), Some(-100));
```
*/

#![deny(missing_docs)]

use std::borrow::Cow;

pub mod artifact;
mod fast;
mod parse;
pub mod time;
mod v1beta1;
pub mod value;
pub mod write;

pub use parse::{is_log_line, parse_event, parse_event_reference, peek_timestamp, ParseError};
pub use value::Value;

/// Which of Tracee's JSON layouts an event was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generation {
    /// `trace.Event` with `container`/`kubernetes` objects (Tracee v0.11 to v0.24).
    #[default]
    Legacy,
    /// `trace.Event` with flat `containerId`, `containerImage`, `podName`... keys (v0.8 to v0.10).
    FlatContext,
    /// Protobuf-JSON `v1beta1.Event` (Tracee 2025+).
    V1Beta1,
}

/// One Tracee event, normalised from whichever generation it was read from.
///
/// Integer context fields default to 0 when absent, as Tracee's own Go types do; fields whose
/// absence is meaningful are `Option`s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event<'a> {
    /// The JSON layout the event came from.
    pub generation: Generation,
    /// Nanoseconds since the Unix epoch.
    pub timestamp: u64,
    /// Start time of the thread, in nanoseconds (since the epoch in Tracee v0.11+, since boot
    /// in older builds).
    pub thread_start_time: u64,
    /// CPU the event was recorded on.
    pub processor_id: i64,
    /// Process ID in the process's own PID namespace.
    pub process_id: i64,
    /// Thread ID in the process's own PID namespace.
    pub thread_id: i64,
    /// Parent process ID in the process's own PID namespace.
    pub parent_process_id: i64,
    /// Process ID in the host PID namespace.
    pub host_process_id: i64,
    /// Thread ID in the host PID namespace.
    pub host_thread_id: i64,
    /// Parent process ID in the host PID namespace.
    pub host_parent_process_id: i64,
    /// Real user ID.
    pub user_id: i64,
    /// Mount namespace inode number.
    pub mount_namespace: u64,
    /// PID namespace inode number.
    pub pid_namespace: u64,
    /// cgroup v2 ID.
    pub cgroup_id: u64,
    /// The thread's `comm` (at most 15 bytes on Linux).
    pub process_name: Cow<'a, str>,
    /// Path of the process's executable, when the event carried one.
    pub executable_path: Option<Cow<'a, str>>,
    /// Host (UTS) name.
    pub host_name: Cow<'a, str>,
    /// Container context; all empty on the host.
    pub container: Container<'a>,
    /// Kubernetes pod context; all empty outside Kubernetes.
    pub kubernetes: Kubernetes<'a>,
    /// Numeric event ID (Tracee writes it as a string; both forms are read).
    pub event_id: i64,
    /// Event name, e.g. `security_file_open`; for signatures, the signature's event name.
    pub event_name: Cow<'a, str>,
    /// Names of the policies that selected the event; `None` when the key was absent or null.
    pub matched_policies: Option<Vec<Cow<'a, str>>>,
    /// Number of arguments as written by Tracee (may disagree with `args.len()` in damaged data).
    pub args_num: i64,
    /// Return value of the syscall or hook.
    pub return_value: i64,
    /// The syscall the event originated from.
    pub syscall: Cow<'a, str>,
    /// User stack addresses, when stack tracing was on.
    pub stack_addresses: Vec<u64>,
    /// Context flags.
    pub context_flags: ContextFlags,
    /// Tracee's hash identifying the thread (optional in the JSON).
    pub thread_entity_id: Option<u64>,
    /// Tracee's hash identifying the process.
    pub process_entity_id: Option<u64>,
    /// Tracee's hash identifying the parent process.
    pub parent_entity_id: Option<u64>,
    /// The event's arguments, in order.
    pub args: Vec<Arg<'a>>,
    /// Signature (finding) metadata; `None` for ordinary events.
    pub metadata: Option<Metadata<'a>>,
}

/// Container context of an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container<'a> {
    /// Full container ID (64 hex digits for Docker and containerd).
    pub id: Cow<'a, str>,
    /// Container name.
    pub name: Cow<'a, str>,
    /// Image name, e.g. `busybox:latest`.
    pub image: Cow<'a, str>,
    /// Image digest, e.g. `busybox@sha256:...`.
    pub image_digest: Cow<'a, str>,
}

/// Kubernetes context of an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kubernetes<'a> {
    /// Pod name.
    pub pod_name: Cow<'a, str>,
    /// Pod namespace.
    pub pod_namespace: Cow<'a, str>,
    /// Pod UID.
    pub pod_uid: Cow<'a, str>,
    /// Whether the container is the pod's sandbox (pause) container.
    pub pod_sandbox: bool,
}

/// Tracee's `contextFlags`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextFlags {
    /// The event happened in a container after its entry point started.
    pub container_started: bool,
    /// The event came from a 32-bit (compat) task.
    pub is_compat: bool,
}

/// One event argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg<'a> {
    /// Argument name, e.g. `pathname`.
    pub name: Cow<'a, str>,
    /// Tracee's type name, C-style (`const char*`) or Go-style (`string`, `[]trace.DnsQueryData`).
    pub ty: Cow<'a, str>,
    /// The value as the JSON held it.
    pub value: Value<'a>,
}

/// Signature metadata (formats.md §1.4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata<'a> {
    /// Signature version.
    pub version: Cow<'a, str>,
    /// What the signature detects.
    pub description: Cow<'a, str>,
    /// Free-form tags.
    pub tags: Vec<Cow<'a, str>>,
    /// `Properties`, in document order: `signatureID`, `signatureName`, `Severity`, `Category`,
    /// `Technique`, `external_id`, ...
    pub properties: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// A string that owns its text.
fn owned(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

impl Event<'_> {
    /// A copy that owns all its strings, so it can outlive the input line (a reader hands it
    /// to another thread).
    pub fn into_owned(self) -> Event<'static> {
        Event {
            generation: self.generation,
            timestamp: self.timestamp,
            thread_start_time: self.thread_start_time,
            processor_id: self.processor_id,
            process_id: self.process_id,
            thread_id: self.thread_id,
            parent_process_id: self.parent_process_id,
            host_process_id: self.host_process_id,
            host_thread_id: self.host_thread_id,
            host_parent_process_id: self.host_parent_process_id,
            user_id: self.user_id,
            mount_namespace: self.mount_namespace,
            pid_namespace: self.pid_namespace,
            cgroup_id: self.cgroup_id,
            process_name: owned(self.process_name),
            executable_path: self.executable_path.map(owned),
            host_name: owned(self.host_name),
            container: Container {
                id: owned(self.container.id),
                name: owned(self.container.name),
                image: owned(self.container.image),
                image_digest: owned(self.container.image_digest),
            },
            kubernetes: Kubernetes {
                pod_name: owned(self.kubernetes.pod_name),
                pod_namespace: owned(self.kubernetes.pod_namespace),
                pod_uid: owned(self.kubernetes.pod_uid),
                pod_sandbox: self.kubernetes.pod_sandbox,
            },
            event_id: self.event_id,
            event_name: owned(self.event_name),
            matched_policies: self
                .matched_policies
                .map(|p| p.into_iter().map(owned).collect()),
            args_num: self.args_num,
            return_value: self.return_value,
            syscall: owned(self.syscall),
            stack_addresses: self.stack_addresses,
            context_flags: self.context_flags,
            thread_entity_id: self.thread_entity_id,
            process_entity_id: self.process_entity_id,
            parent_entity_id: self.parent_entity_id,
            args: self
                .args
                .into_iter()
                .map(|a| Arg {
                    name: owned(a.name),
                    ty: owned(a.ty),
                    value: a.value.into_owned(),
                })
                .collect(),
            metadata: self.metadata.map(|m| Metadata {
                version: owned(m.version),
                description: owned(m.description),
                tags: m.tags.into_iter().map(owned).collect(),
                properties: m
                    .properties
                    .into_iter()
                    .map(|(k, v)| (owned(k), v.into_owned()))
                    .collect(),
            }),
        }
    }
}

impl<'a> Event<'a> {
    /// The first argument named `name`.
    pub fn arg(&self, name: &str) -> Option<&Arg<'a>> {
        self.args.iter().find(|a| a.name == name)
    }

    /// True for a signature (finding): it has metadata, an event ID in 6000..6999, or a name
    /// starting with `sig_` (analyzer.md §1).
    pub fn is_signature(&self) -> bool {
        self.metadata.is_some()
            || (6000..7000).contains(&self.event_id)
            || self.event_name.starts_with("sig_")
    }

    /// True when the event happened in a container.
    pub fn is_container(&self) -> bool {
        !self.container.id.is_empty()
    }
}

impl<'a> Metadata<'a> {
    /// The property named `key`.
    pub fn property(&self, key: &str) -> Option<&Value<'a>> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_owned_copy_is_the_same_event() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tracee");
        let mut checked = 0;
        for f in ["tracee-docs-v0.23.jsonl", "tracee-action-trace.jsonl"] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            for line in text.lines() {
                let Ok(event) = crate::parse_event(line.as_bytes()) else {
                    continue;
                };
                assert_eq!(event.clone().into_owned(), event);
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} events");
    }
}
