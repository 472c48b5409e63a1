//! The Tracee packet capture context (formats.md §3): the JSON Tracee puts in a pcap
//! interface's `if_description`, applied to every packet of that interface under the same
//! `tracee.*` names events use — so `tracee.processName == "curl"` selects curl's events and
//! its packets alike.
//!
//! The packets do not get the `tracee` protocol item: they remain packets (the "Packet" filter
//! button is `not tracee or ...`).

use osprey_event::Value;
use osprey_field::fields::tracee as t;
use osprey_field::FieldValue;

use crate::prefs::{pid_text, ContainerIdentifier, Preferences};
use crate::Tree;

/// A parsed packet context. Strings borrow from the interface description.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketContext<'a> {
    root: Value<'a>,
}

impl<'a> PacketContext<'a> {
    /// Parses an interface description; `None` unless it is a JSON object that looks like a
    /// Tracee packet context (it has `version`, or the pre-1.0 keys).
    pub fn parse(description: &'a str) -> Option<PacketContext<'a>> {
        let trimmed = description.trim_start();
        if !trimmed.starts_with('{') {
            return None;
        }
        let root: Value<'a> = serde_json::from_str(trimmed).ok()?;
        let known = [
            "version",
            "container",
            "process",
            "processName",
            "pid",
            "container_id",
            "name",
        ];
        if !known.iter().any(|k| root.get(k).is_some()) {
            return None;
        }
        Some(PacketContext { root })
    }

    fn get(&self, path: &[&str]) -> Option<&Value<'a>> {
        let mut v = &self.root;
        for p in path {
            v = v.get(p)?;
        }
        Some(v)
    }

    fn str(&self, paths: &[&[&str]]) -> Option<&str> {
        paths
            .iter()
            .find_map(|p| self.get(p).and_then(Value::as_str))
    }

    fn int(&self, paths: &[&[&str]]) -> Option<i64> {
        paths
            .iter()
            .find_map(|p| self.get(p).and_then(Value::as_i64))
    }

    /// The context format version (`1.0`), absent in the pre-1.0 form.
    pub fn version(&self) -> Option<&str> {
        self.str(&[&["version"]])
    }

    /// The container ID, empty on the host.
    pub fn container_id(&self) -> &str {
        self.str(&[&["container", "id"], &["container_id"]])
            .unwrap_or("")
    }

    /// `comm` of the process (per-command and per-process captures).
    pub fn process_name(&self) -> Option<&str> {
        self.str(&[&["processName"], &["name"]])
    }
}

/// Adds the context's fields to a packet's tree.
pub fn dissect<'a>(ctx: &'a PacketContext<'a>, prefs: &Preferences, tree: &mut Tree<'a>) {
    tree.open_text(osprey_field::fields::ws::TEXT, || {
        "Tracee Network Capture Context".to_string()
    });
    if let Some(v) = ctx.version() {
        tree.add(t::CAPTURE_CONTEXT_VERSION, FieldValue::Str(v.into()));
    }
    let s = |tree: &mut Tree<'a>, id, paths: &[&[&str]]| {
        if let Some(v) = ctx.str(paths) {
            tree.add(id, FieldValue::Str(v.into()));
        }
    };
    s(tree, t::HOST_NAME, &[&["hostName"]]);
    s(tree, t::PROCESS_NAME, &[&["processName"], &["name"]]);
    s(
        tree,
        t::CONTAINER_ID,
        &[&["container", "id"], &["container_id"]],
    );
    s(
        tree,
        t::CONTAINER_NAME,
        &[&["container", "name"], &["container_name"]],
    );
    s(
        tree,
        t::CONTAINER_IMAGE,
        &[&["container", "image"], &["container_image"]],
    );
    s(
        tree,
        t::CONTAINER_IMAGE_DIGEST,
        &[&["container", "imageDigest"]],
    );
    s(
        tree,
        t::POD_NAME,
        &[&["kubernetes", "podName"], &["k8s_pod_name"]],
    );
    s(
        tree,
        t::POD_NAMESPACE,
        &[&["kubernetes", "podNamespace"], &["k8s_pod_namespace"]],
    );
    s(
        tree,
        t::POD_UID,
        &[&["kubernetes", "podUID"], &["k8s_pod_uid"]],
    );
    s(tree, t::EXECUTABLE_PATH, &[&["process", "executable"]]);
    let container_id = ctx.container_id();
    if ctx.get(&["container"]).is_some() || ctx.get(&["container_id"]).is_some() {
        tree.add(t::IS_CONTAINER, FieldValue::Bool(!container_id.is_empty()));
    }
    let i = |tree: &mut Tree<'a>, id, paths: &[&[&str]]| {
        if let Some(v) = ctx.int(paths) {
            tree.add(id, FieldValue::Int(v));
        }
    };
    let u = |tree: &mut Tree<'a>, id, paths: &[&[&str]]| {
        if let Some(v) = ctx.int(paths) {
            tree.add(id, FieldValue::UInt(v as u64));
        }
    };
    i(
        tree,
        t::PROCESS_ID,
        &[&["process", "processId"], &["ns_pid"]],
    );
    i(tree, t::THREAD_ID, &[&["process", "threadId"]]);
    i(
        tree,
        t::PARENT_PROCESS_ID,
        &[&["process", "parentProcessId"], &["ns_ppid"]],
    );
    i(
        tree,
        t::HOST_PROCESS_ID,
        &[&["process", "hostProcessId"], &["pid"]],
    );
    i(tree, t::HOST_THREAD_ID, &[&["process", "hostThreadId"]]);
    i(
        tree,
        t::HOST_PARENT_PROCESS_ID,
        &[&["process", "hostParentProcessId"], &["ppid"]],
    );
    u(tree, t::USER_ID, &[&["process", "userId"]]);
    u(tree, t::MOUNT_NAMESPACE, &[&["process", "mountNamespace"]]);
    u(tree, t::PID_NAMESPACE, &[&["process", "pidNamespace"]]);
    u(tree, t::CGROUP_ID, &[&["process", "cgroupId"]]);
    if let Some(start) = ctx.int(&[&["process", "threadStartTime"]]) {
        tree.add(
            t::THREAD_START_TIME,
            FieldValue::AbsTime(start.max(0) as u64),
        );
    }
    let host_pid = ctx.int(&[&["process", "hostProcessId"], &["pid"]]);
    let ns_pid = ctx.int(&[&["process", "processId"], &["ns_pid"]]);
    if let Some(host) = host_pid {
        tree.add(
            t::PID_COL,
            FieldValue::Str(pid_text(prefs.pid_format, ns_pid.unwrap_or(0), host).into()),
        );
    }
    let host_ppid = ctx.int(&[&["process", "hostParentProcessId"], &["ppid"]]);
    let ns_ppid = ctx.int(&[&["process", "parentProcessId"], &["ns_ppid"]]);
    if let Some(host) = host_ppid {
        tree.add(
            t::PPID_COL,
            FieldValue::Str(pid_text(prefs.pid_format, ns_ppid.unwrap_or(0), host).into()),
        );
    }
    if tree.wants(t::CONTAINER_COL) {
        let name = ctx
            .str(&[&["container", "name"], &["container_name"]])
            .unwrap_or("");
        let image = ctx
            .str(&[&["container", "image"], &["container_image"]])
            .unwrap_or("");
        tree.add(
            t::CONTAINER_COL,
            FieldValue::Str(container_column(prefs, container_id, name, image).into()),
        );
    }
    tree.close();
}

/// The container column text per the preferences: `id[0:12]` or the name, optionally with
/// ` (<image>)`; empty on the host.
pub fn container_column(prefs: &Preferences, id: &str, name: &str, image: &str) -> String {
    if id.is_empty() {
        return String::new();
    }
    let mut text: String = match prefs.container_identifier {
        ContainerIdentifier::Name if !name.is_empty() => name.to_string(),
        _ => id.chars().take(12).collect(),
    };
    if prefs.show_container_image && !image.is_empty() {
        text.push_str(" (");
        text.push_str(image);
        text.push(')');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Want;

    const PER_PROCESS: &str = r#"{"version":"1.0","container":{"id":"ae95a93ce0c2f1b824ac4b205e4d1a3c8f724d663626c1ad23576efec64318de","name":"web","image":"busybox:latest","imageDigest":"busybox@sha256:1"},"kubernetes":{"podName":"","podNamespace":"","podUID":"","podSandbox":false},"hostName":"h","processName":"ping","process":{"threadStartTime":1716378637481073915,"processId":1,"cgroupId":526,"threadId":1,"parentProcessId":0,"hostProcessId":191684,"hostThreadId":191684,"hostParentProcessId":191665,"userId":0,"mountNamespace":4026532371,"pidNamespace":4026532374,"executable":""}}"#;

    #[test]
    fn applies_the_per_process_context() {
        let ctx = PacketContext::parse(PER_PROCESS).unwrap();
        let want = Want::all();
        let mut tree = Tree::new(&want);
        dissect(&ctx, &Preferences::default(), &mut tree);
        assert_eq!(
            tree.first(t::PROCESS_NAME),
            Some(&FieldValue::Str("ping".into()))
        );
        assert_eq!(
            tree.first(t::HOST_PROCESS_ID),
            Some(&FieldValue::Int(191684))
        );
        assert_eq!(tree.first(t::PID_COL), Some(&FieldValue::Str("1".into())));
        assert_eq!(
            tree.first(t::CONTAINER_COL),
            Some(&FieldValue::Str("ae95a93ce0c2".into()))
        );
        assert_eq!(tree.first(t::IS_CONTAINER), Some(&FieldValue::Bool(true)));
        assert!(!tree.has(t::TRACEE), "packets stay packets");
    }

    #[test]
    fn reads_the_pre_1_0_form_and_ignores_other_descriptions() {
        let old = r#"{"pid":100,"ns_pid":1,"ppid":90,"ns_ppid":0,"name":"curl","container_id":"","container_name":"","container_image":""}"#;
        let ctx = PacketContext::parse(old).unwrap();
        assert_eq!(ctx.process_name(), Some("curl"));
        assert_eq!(ctx.version(), None);
        assert!(PacketContext::parse("Tracee event").is_none());
        assert!(PacketContext::parse("{\"a\":1}").is_none());
        assert!(PacketContext::parse("{not json").is_none());
    }
}
