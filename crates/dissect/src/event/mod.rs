//! Tracee events (analyzer.md §1–5): the context, every argument as
//! `tracee.args.<event>.<arg>`, Tracee's complex argument types, the generated fields, the
//! Info column with its per-event enrichments, and network events mapped onto Wireshark's own
//! field names so that `ip.addr == 10.0.0.1` or `dns.qry.name == "x"` selects events and
//! packets alike.

mod args;
mod complex;
mod enrich;
mod net;

use std::borrow::Cow;

use osprey_event::{Event, ParseError, Value};
use osprey_field::fields::{tracee as t, ws};
use osprey_field::FieldValue;

use crate::context::container_column;
use crate::prefs::pid_text;
use crate::{packet, Preferences, Tree};

pub use enrich::{file_type, printable_bytes, MEM_PROT_ALERTS};

/// The packet bytes of a `net_packet_raw` event: its base64 `data` argument.
pub fn raw_packet_bytes(event: &Event) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if event.event_name != "net_packet_raw" {
        return None;
    }
    let data = event
        .args
        .iter()
        .find(|a| a.name == "data" || a.name == "packet")?
        .value
        .as_str()?;
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()
}

/// What the argument dissectors learn that the Info column and the network mapping need.
#[derive(Default)]
pub(crate) struct Findings<'a> {
    /// Source and destination for the columns.
    source: Option<Cow<'a, str>>,
    destination: Option<Cow<'a, str>>,
    /// The first socket address argument: family, address, port.
    sockaddr: Option<complex::SockAddr<'a>>,
    /// `http.content_type` of an HTTP event.
    content_type: Option<Cow<'a, str>>,
    /// An Info text a complex argument composed in full (`trace.ProtoDNS`: Wireshark's DNS
    /// summary), which replaces the per-event enrichments.
    info: Option<String>,
}

/// Dissects a parsed event into `tree`. `raw_packet` is the payload of a `net_packet_raw`
/// event, dissected as a packet under the event.
pub fn dissect<'a>(
    event: &'a Event<'a>,
    raw_packet: Option<&'a [u8]>,
    prefs: &Preferences,
    tree: &mut Tree<'a>,
) {
    tree.layer("tracee");
    let is_sig = event.is_signature();
    tree.open_with(t::TRACEE, FieldValue::None, || {
        format!("Tracee Event (JSON): {}", event.event_name)
    });
    tree.add(t::TIMESTAMP, FieldValue::AbsTime(event.timestamp));
    context(event, prefs, tree);
    tree.add(t::EVENT_ID, FieldValue::Int(event.event_id));
    tree.add(
        t::EVENT_NAME,
        FieldValue::Str(Cow::Borrowed(&event.event_name)),
    );
    if let Some(policies) = &event.matched_policies {
        for p in policies {
            tree.add(t::MATCHED_POLICIES, FieldValue::Str(Cow::Borrowed(p)));
        }
    }
    tree.add(t::ARGS_NUM, FieldValue::Int(event.args_num));
    tree.add(t::IS_SIGNATURE, FieldValue::Bool(is_sig));
    tree.add(t::RETURN_VALUE, FieldValue::Int(event.return_value));
    tree.add(t::SYSCALL, FieldValue::Str(Cow::Borrowed(&event.syscall)));
    for addr in &event.stack_addresses {
        tree.add(t::STACK_ADDRESSES, FieldValue::UInt(*addr));
    }
    let mut findings = Findings::default();
    args::dissect_args(event, tree, &mut findings);
    if let Some(metadata) = &event.metadata {
        metadata_fields(metadata, tree);
    }
    tree.close();

    if tree.wants_columns() {
        tree.columns.protocol = if is_sig { "TRACEE/SIG" } else { "TRACEE" }.into();
        tree.columns.info = match findings.info.take() {
            Some(info) => info,
            None => enrich::info(event, &findings),
        };
        tree.columns.source = findings.source.as_deref().unwrap_or("").to_string();
        tree.columns.destination = findings.destination.as_deref().unwrap_or("").to_string();
    }
    if let Some(bytes) = raw_packet {
        // The packet an event carries: it shows as that packet, with the event's context.
        packet::dissect_link(bytes, packet::LINKTYPE_RAW, tree);
    }
}

/// Moves the column texts into the tree as `_ws.col.*` fields, which is how columns, filters
/// and `-e` read them.
pub(crate) fn columns_as_fields(tree: &mut Tree<'_>) {
    if !tree.wants_columns() {
        return;
    }
    let cols = std::mem::take(&mut tree.columns);
    tree.add_hidden(ws::COL_PROTOCOL, FieldValue::Str(cols.protocol));
    tree.add_hidden(ws::COL_INFO, FieldValue::Str(cols.info.into()));
    tree.add_hidden(ws::COL_DEF_SRC, FieldValue::Str(cols.source.into()));
    tree.add_hidden(ws::COL_DEF_DST, FieldValue::Str(cols.destination.into()));
}

fn context<'a>(e: &'a Event<'a>, prefs: &Preferences, tree: &mut Tree<'a>) {
    tree.open_with(t::CONTEXT, FieldValue::None, || "Context".into());
    tree.add(t::PROCESSOR_ID, FieldValue::Int(e.processor_id));
    tree.add(t::HOST_NAME, FieldValue::Str(Cow::Borrowed(&e.host_name)));

    tree.open_with(t::PROCESS, FieldValue::None, || {
        format!("Process: {} ({})", e.host_process_id, e.process_name)
    });
    tree.add(
        t::PROCESS_NAME,
        FieldValue::Str(Cow::Borrowed(&e.process_name)),
    );
    if let Some(path) = &e.executable_path {
        tree.add(t::EXECUTABLE_PATH, FieldValue::Str(Cow::Borrowed(path)));
    }
    tree.add(t::PROCESS_ID, FieldValue::Int(e.process_id));
    tree.add(t::THREAD_ID, FieldValue::Int(e.thread_id));
    tree.add(t::PARENT_PROCESS_ID, FieldValue::Int(e.parent_process_id));
    tree.add(t::HOST_PROCESS_ID, FieldValue::Int(e.host_process_id));
    tree.add(t::HOST_THREAD_ID, FieldValue::Int(e.host_thread_id));
    tree.add(
        t::HOST_PARENT_PROCESS_ID,
        FieldValue::Int(e.host_parent_process_id),
    );
    if tree.wants(t::PID_COL) {
        tree.add_hidden(
            t::PID_COL,
            FieldValue::Str(pid_text(prefs.pid_format, e.process_id, e.host_process_id).into()),
        );
    }
    if tree.wants(t::TID_COL) {
        tree.add_hidden(
            t::TID_COL,
            FieldValue::Str(pid_text(prefs.pid_format, e.thread_id, e.host_thread_id).into()),
        );
    }
    if tree.wants(t::PPID_COL) {
        tree.add_hidden(
            t::PPID_COL,
            FieldValue::Str(
                pid_text(
                    prefs.pid_format,
                    e.parent_process_id,
                    e.host_parent_process_id,
                )
                .into(),
            ),
        );
    }
    tree.add(
        t::THREAD_START_TIME,
        FieldValue::AbsTime(e.thread_start_time),
    );
    tree.add(t::USER_ID, FieldValue::UInt(e.user_id as u64));
    tree.add(t::CGROUP_ID, FieldValue::UInt(e.cgroup_id));
    tree.add(t::MOUNT_NAMESPACE, FieldValue::UInt(e.mount_namespace));
    tree.add(t::PID_NAMESPACE, FieldValue::UInt(e.pid_namespace));
    if let Some(id) = e.thread_entity_id {
        tree.add(t::THREAD_ENTITY_ID, FieldValue::UInt(id));
    }
    if let Some(id) = e.process_entity_id {
        tree.add(t::PROCESS_ENTITY_ID, FieldValue::UInt(id));
    }
    if let Some(id) = e.parent_entity_id {
        tree.add(t::PARENT_ENTITY_ID, FieldValue::UInt(id));
    }
    tree.add(t::IS_COMPAT, FieldValue::Bool(e.context_flags.is_compat));
    tree.close();

    let c = &e.container;
    tree.open_with(t::CONTAINER, FieldValue::None, || {
        if c.id.is_empty() {
            return "Container: none".to_string();
        }
        let ident: String = if c.name.is_empty() {
            c.id.chars().take(12).collect()
        } else {
            c.name.to_string()
        };
        if c.image.is_empty() {
            format!("Container: {ident}")
        } else {
            format!("Container: {ident} ({})", c.image)
        }
    });
    for (field, value) in [
        (t::CONTAINER_ID, &c.id),
        (t::CONTAINER_NAME, &c.name),
        (t::CONTAINER_IMAGE, &c.image),
        (t::CONTAINER_IMAGE_DIGEST, &c.image_digest),
    ] {
        if !value.is_empty() {
            tree.add(field, FieldValue::Str(Cow::Borrowed(value)));
        }
    }
    tree.add(t::IS_CONTAINER, FieldValue::Bool(e.is_container()));
    tree.add(
        t::CONTAINER_STARTED,
        FieldValue::Bool(e.context_flags.container_started),
    );
    if tree.wants(t::CONTAINER_COL) {
        tree.add_hidden(
            t::CONTAINER_COL,
            FieldValue::Str(container_column(prefs, &c.id, &c.name, &c.image).into()),
        );
    }
    tree.close();

    let k = &e.kubernetes;
    tree.open_with(t::KUBERNETES, FieldValue::None, || {
        if k.pod_name.is_empty() {
            "Kubernetes: none".to_string()
        } else {
            format!("Kubernetes: {} ({})", k.pod_name, k.pod_namespace)
        }
    });
    for (field, value) in [
        (t::POD_NAME, &k.pod_name),
        (t::POD_NAMESPACE, &k.pod_namespace),
        (t::POD_UID, &k.pod_uid),
    ] {
        if !value.is_empty() {
            tree.add(field, FieldValue::Str(Cow::Borrowed(value)));
        }
    }
    if k.pod_sandbox {
        tree.add(t::POD_SANDBOX, FieldValue::Bool(true));
    }
    tree.close();
    tree.close();
}

/// Signature metadata (formats.md §1.4), under `tracee.metadata.*`.
fn metadata_fields<'a>(m: &'a osprey_event::Metadata<'a>, tree: &mut Tree<'a>) {
    tree.open_with(t::METADATA, FieldValue::None, || "Metadata".into());
    if !m.version.is_empty() {
        tree.add(
            t::METADATA_VERSION,
            FieldValue::Str(Cow::Borrowed(&m.version)),
        );
    }
    if !m.description.is_empty() {
        tree.add(
            t::METADATA_DESCRIPTION,
            FieldValue::Str(Cow::Borrowed(&m.description)),
        );
    }
    for tag in &m.tags {
        tree.add(t::METADATA_TAGS, FieldValue::Str(Cow::Borrowed(tag)));
    }
    tree.open_text(ws::TEXT, || "Properties".into());
    for (key, value) in &m.properties {
        let field = match key.as_ref() {
            "Category" => t::METADATA_CATEGORY,
            "Kubernetes_Technique" => t::METADATA_KUBERNETES_TECHNIQUE,
            "Severity" => {
                if let Some(sev) = value.as_i64() {
                    tree.add(t::METADATA_SEVERITY, FieldValue::Int(sev));
                }
                continue;
            }
            "Technique" => t::METADATA_TECHNIQUE,
            "aggregation_keys" => {
                for k in value.as_array().unwrap_or(&[]) {
                    if let Some(s) = k.as_str() {
                        tree.add(
                            t::METADATA_AGGREGATION_KEYS,
                            FieldValue::Str(Cow::Borrowed(s)),
                        );
                    }
                }
                continue;
            }
            "external_id" => t::METADATA_EXTERNAL_ID,
            "id" => t::METADATA_ID,
            "release" => t::METADATA_RELEASE,
            "signatureID" => t::METADATA_SIGNATURE_ID,
            "signatureName" => t::METADATA_SIGNATURE_NAME,
            _ => continue,
        };
        match value {
            Value::Str(s) => tree.add(field, FieldValue::Str(Cow::Borrowed(s))),
            other => tree.add(field, FieldValue::Str(other.to_string().into())),
        }
    }
    tree.close();
    tree.close();
}

/// Marks an event frame whose JSON does not parse.
pub fn dissect_malformed(error: &ParseError, tree: &mut Tree<'_>) {
    tree.layer("tracee");
    tree.add(t::TRACEE, FieldValue::None);
    tree.add(ws::MALFORMED, FieldValue::None);
    tree.add(
        ws::EXPERT_MESSAGE,
        FieldValue::Str(format!("Malformed event: {error}").into()),
    );
    if tree.wants_columns() {
        tree.columns.protocol = "TRACEE".into();
        tree.columns.info = format!("[Malformed event: {error}]");
    }
}
