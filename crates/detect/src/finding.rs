//! Findings in Tracee's layout (formats.md §1.4), as Tracee's `FindingToEvent` builds them.

use std::borrow::Cow;

use osprey_event::{Arg, Event, Metadata, Value};

use crate::rules::Meta;

fn s(text: &str) -> Value<'static> {
    Value::Str(Cow::Owned(text.to_string()))
}

fn owned(text: &str) -> Cow<'static, str> {
    Cow::Owned(text.to_string())
}

/// The `metadata` object: Version, Description, Tags and Properties with the keys in the order
/// Go writes a map (sorted), as Tracee's output has them.
pub fn metadata(meta: &Meta) -> Metadata<'static> {
    let mut properties: Vec<(Cow<'static, str>, Value<'static>)> = vec![
        ("Category".into(), s(&meta.category)),
        ("Kubernetes_Technique".into(), s("")),
        ("Severity".into(), Value::Int(meta.severity)),
        ("Technique".into(), s(&meta.technique)),
        ("external_id".into(), s(&meta.external_id)),
    ];
    if !meta.mitre_id.is_empty() {
        properties.push(("id".into(), s(&meta.mitre_id)));
    }
    properties.push(("signatureID".into(), s(&meta.id)));
    properties.push(("signatureName".into(), s(&meta.title)));
    Metadata {
        version: owned(&meta.version),
        description: owned(&meta.description),
        tags: Vec::new(),
        properties,
    }
}

/// The `triggeredBy` argument's value: `{"args", "id", "name", "returnValue"}` of `trigger`.
fn triggered_by(trigger: &Event<'_>) -> Value<'static> {
    let args = trigger
        .args
        .iter()
        .map(|a| {
            Value::Object(vec![
                ("name".into(), s(&a.name)),
                ("type".into(), s(&a.ty)),
                ("value".into(), a.value.clone().into_owned()),
            ])
        })
        .collect();
    Value::Object(vec![
        ("args".into(), Value::Array(args)),
        ("id".into(), Value::Int(trigger.event_id)),
        ("name".into(), s(&trigger.event_name)),
        ("returnValue".into(), Value::Int(trigger.return_value)),
    ])
}

/// A finding of the signature `meta` (whose findings have the event ID `event_id`), with the
/// context of `trigger`, the finding's `data` as arguments, and `triggeredBy`.
pub fn build(
    meta: &Meta,
    event_id: i64,
    trigger: &Event<'_>,
    data: Vec<(&'static str, Value<'static>)>,
) -> Event<'static> {
    let mut args: Vec<Arg<'static>> = data
        .into_iter()
        .map(|(name, value)| Arg {
            name: name.into(),
            ty: "interface{}".into(),
            value,
        })
        .collect();
    args.push(Arg {
        name: "triggeredBy".into(),
        ty: "unknown".into(),
        value: triggered_by(trigger),
    });
    let t = trigger;
    Event {
        generation: osprey_event::Generation::Legacy,
        timestamp: t.timestamp,
        thread_start_time: t.thread_start_time,
        processor_id: t.processor_id,
        process_id: t.process_id,
        thread_id: t.thread_id,
        parent_process_id: t.parent_process_id,
        host_process_id: t.host_process_id,
        host_thread_id: t.host_thread_id,
        host_parent_process_id: t.host_parent_process_id,
        user_id: t.user_id,
        mount_namespace: t.mount_namespace,
        pid_namespace: t.pid_namespace,
        cgroup_id: t.cgroup_id,
        process_name: owned(&t.process_name),
        executable_path: t.executable_path.as_deref().map(owned),
        host_name: owned(&t.host_name),
        container: osprey_event::Container {
            id: owned(&t.container.id),
            name: owned(&t.container.name),
            image: owned(&t.container.image),
            image_digest: owned(&t.container.image_digest),
        },
        kubernetes: osprey_event::Kubernetes {
            pod_name: owned(&t.kubernetes.pod_name),
            pod_namespace: owned(&t.kubernetes.pod_namespace),
            pod_uid: owned(&t.kubernetes.pod_uid),
            pod_sandbox: t.kubernetes.pod_sandbox,
        },
        event_id,
        event_name: owned(&meta.name),
        matched_policies: t
            .matched_policies
            .as_ref()
            .map(|p| p.iter().map(|x| owned(x)).collect()),
        args_num: args.len() as i64,
        return_value: t.return_value,
        syscall: owned(&t.syscall),
        stack_addresses: t.stack_addresses.clone(),
        context_flags: t.context_flags,
        thread_entity_id: t.thread_entity_id,
        process_entity_id: t.process_entity_id,
        parent_entity_id: t.parent_entity_id,
        args,
        metadata: Some(metadata(meta)),
    }
}
