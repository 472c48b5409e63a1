//! Normalising protobuf-JSON `v1beta1.Event` (formats.md §1.3) into the shared model.
//!
//! Tracee has written this generation in more than one way: `protojson` with proto names
//! (`host_pid`) or JSON names (`hostPid`), wrapper types as bare numbers or `{"value": n}`,
//! enums as names or numbers, data items with a typed key (`"str": ...`) or a plain `"value"`.
//! The reader accepts all of them. The generation is rare and the structure deep, so it is read
//! through [`Value`] rather than a typed struct.

use std::borrow::Cow;

use crate::parse::{ParseError, RawEvent};
use crate::{Arg, Container, ContextFlags, Event, Generation, Kubernetes, Metadata, Value};

/// Looks up the first of several spellings of a key (`host_pid`, `hostPid`).
fn field<'v, 'a>(v: Option<&'v Value<'a>>, names: &[&str]) -> Option<&'v Value<'a>> {
    let v = v?;
    names.iter().find_map(|n| v.get(n))
}

/// A number, possibly wrapped as `{"value": n}` (protobuf wrapper types).
fn number(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.get("value").and_then(Value::as_i64))
}

fn string<'a>(v: Option<&Value<'a>>) -> Cow<'a, str> {
    match v {
        Some(Value::Str(s)) => s.clone(),
        _ => Cow::Borrowed(""),
    }
}

/// A protobuf `Timestamp` as nanoseconds: RFC 3339, `{seconds, nanos}`, or integer.
fn timestamp(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Str(s) => s.parse().ok().or_else(|| crate::time::parse_rfc3339(s)),
        Value::Int(_) | Value::UInt(_) => v?.as_u64(),
        obj @ Value::Object(_) => {
            let secs = obj.get("seconds").and_then(Value::as_u64).unwrap_or(0);
            let nanos = obj.get("nanos").and_then(Value::as_u64).unwrap_or(0);
            secs.checked_mul(1_000_000_000)?.checked_add(nanos)
        }
        _ => None,
    }
}

pub(crate) fn normalize(raw: RawEvent<'_>) -> Result<Event<'_>, ParseError> {
    let timestamp = raw.timestamp.ok_or_else(|| ParseError {
        message: "not a Tracee event: no \"timestamp\"".into(),
        column: None,
    })?;
    let id = raw.id.as_ref();
    let name = match (&raw.name, id) {
        (Some(n), _) if !n.is_empty() => n.clone(),
        (_, Some(Value::Str(s))) => s.clone(),
        _ => Cow::Borrowed(""),
    };
    if name.is_empty() && id.and_then(Value::as_i64).is_none() {
        return Err(ParseError {
            message: "not a Tracee event: the object has neither \"name\" nor \"id\"".into(),
            column: None,
        });
    }

    let workload = raw.workload.as_ref();
    let process = field(workload, &["process"]);
    let thread = field(process, &["thread"]);
    let parent = field(process, &["ancestors"])
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let container = field(workload, &["container"]);
    let image = field(container, &["image"]);
    let k8s = field(workload, &["k8s", "kubernetes", "pod"]);
    let pod = field(k8s, &["pod"]).or(k8s);

    let mut args: Vec<Arg> = match raw.data {
        Some(Value::Array(items)) => items.into_iter().filter_map(arg_from_data).collect(),
        _ => Vec::new(),
    };
    let return_value = args
        .iter()
        .position(|a| a.name == "returnValue" || a.name == "return_value")
        .map(|i| args.remove(i).value.as_i64().unwrap_or(0))
        .unwrap_or(0);
    if let Some(df) = raw.detected_from {
        args.push(Arg {
            name: Cow::Borrowed("detectedFrom"),
            ty: Cow::Borrowed("unknown"),
            value: detected_from(df),
        });
    }

    let process_id = number(field(process, &["pid"]));
    let thread_id = number(field(thread, &["tid"]));
    let host_thread_id = number(field(thread, &["host_tid", "hostTid"]));
    // Older v1beta1 output has no host PID; for a process's main thread (tid == pid) it is the
    // host TID.
    let host_process_id = number(field(process, &["host_pid", "hostPid"]))
        .or_else(|| host_thread_id.filter(|_| thread_id.is_some() && thread_id == process_id));

    Ok(Event {
        generation: Generation::V1Beta1,
        timestamp,
        thread_start_time: timestamp_of(thread, &["start_time", "startTime"]),
        processor_id: 0,
        process_id: process_id.unwrap_or(0),
        thread_id: thread_id.unwrap_or(0),
        parent_process_id: number(field(parent, &["pid"])).unwrap_or(0),
        host_process_id: host_process_id.unwrap_or(0),
        host_thread_id: host_thread_id.unwrap_or(0),
        host_parent_process_id: number(field(parent, &["host_pid", "hostPid"])).unwrap_or(0),
        user_id: number(field(field(process, &["real_user", "realUser"]), &["id"])).unwrap_or(0),
        mount_namespace: 0,
        pid_namespace: 0,
        cgroup_id: 0,
        process_name: string(field(thread, &["name"])),
        executable_path: field(field(process, &["executable"]), &["path"]).map(|p| string(Some(p))),
        host_name: Cow::Borrowed(""),
        container: Container {
            id: string(field(container, &["id"])),
            name: string(field(container, &["name"])),
            image: match image {
                Some(Value::Str(s)) => s.clone(),
                other => string(field(other, &["name"])),
            },
            image_digest: field(image, &["repo_digests", "repoDigests"])
                .and_then(Value::as_array)
                .and_then(|d| d.first())
                .map(|d| string(Some(d)))
                .unwrap_or_default(),
        },
        kubernetes: Kubernetes {
            pod_name: string(field(pod, &["name"])),
            pod_namespace: string(field(field(k8s, &["namespace"]), &["name"])),
            pod_uid: string(field(pod, &["uid"])),
            pod_sandbox: false,
        },
        event_id: id.and_then(Value::as_i64).unwrap_or(0),
        event_name: name,
        matched_policies: field(raw.policies.as_ref(), &["matched"])
            .and_then(Value::as_array)
            .map(|m| m.iter().map(|p| string(Some(p))).collect()),
        args_num: args.len() as i64,
        return_value,
        syscall: string(field(thread, &["syscall"])),
        stack_addresses: field(
            field(thread, &["user_stack_trace", "userStackTrace"]),
            &["addresses"],
        )
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    x.as_u64()
                        .or_else(|| x.get("address").and_then(Value::as_u64))
                })
                .collect()
        })
        .unwrap_or_default(),
        context_flags: ContextFlags {
            container_started: field(container, &["started", "is_running", "isRunning"])
                .and_then(Value::as_bool)
                .unwrap_or(false),
            is_compat: field(thread, &["compat"])
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        thread_entity_id: number(field(thread, &["unique_id", "uniqueId"])).map(|v| v as u64),
        process_entity_id: number(field(process, &["unique_id", "uniqueId"])).map(|v| v as u64),
        parent_entity_id: number(field(parent, &["unique_id", "uniqueId"])).map(|v| v as u64),
        args,
        metadata: raw.threat.map(metadata_from_threat),
    })
}

fn timestamp_of(v: Option<&Value>, names: &[&str]) -> u64 {
    timestamp(field(v, names)).unwrap_or(0)
}

/// The legacy type name for a v1beta1 `EventValue` oneof key, so that the analyzer dissects
/// both generations alike. Keys are compared without underscores and case
/// (`u_int64` / `uInt64`).
fn legacy_type(key: &str) -> Option<&'static str> {
    let k: String = key
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match k.as_str() {
        "int32" => "int32",
        "int64" => "int64",
        "uint32" => "uint32",
        "uint64" => "uint64",
        "str" => "string",
        "bytes" => "bytes",
        "bool" => "bool",
        "strarray" => "[]string",
        "int32array" => "[]int32",
        "uint64array" => "[]uint64",
        "sockaddr" => "SockAddr",
        "credentials" => "trace.SlimCred",
        "timespec" => "float64",
        "triggeredby" => "unknown",
        "hookedsyscalls" => "[]trace.HookedSymbolData",
        "hookedseqops" => "map[string]trace.HookedSymbolData",
        "ipv4" => "trace.ProtoIPv4",
        "ipv6" => "trace.ProtoIPv6",
        "tcp" => "trace.ProtoTCP",
        "udp" => "trace.ProtoUDP",
        "icmp" => "trace.ProtoICMP",
        "icmpv6" => "trace.ProtoICMPv6",
        "dns" => "trace.ProtoDNS",
        "dnsquestions" => "[]trace.DnsQueryData",
        "dnsresponses" => "[]trace.DnsResponseData",
        "packetmetadata" => "trace.PacketMetadata",
        "http" => "trace.ProtoHTTP",
        "httprequest" => "trace.ProtoHTTPRequest",
        "httpresponse" => "trace.ProtoHTTPResponse",
        "struct" => "map[string]interface{}",
        _ => return None,
    })
}

/// The type name for an untyped `"value"`, from the JSON it holds.
fn inferred_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "unknown",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::UInt(_) => "uint64",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Array(items) if items.iter().all(|i| matches!(i, Value::Str(_))) => "[]string",
        Value::Array(_) => "[]interface{}",
        Value::Object(_) => "map[string]interface{}",
    }
}

/// Unwraps the message wrappers protobuf puts around repeated fields (`{"value": [...]}`,
/// `{"questions": [...]}`), so the value has the shape the legacy generation gave it.
fn unwrap_payload<'a>(ty: &str, v: Value<'a>) -> Value<'a> {
    let inner_key = match ty {
        "[]string"
        | "[]int32"
        | "[]uint64"
        | "float64"
        | "[]trace.HookedSymbolData"
        | "map[string]trace.HookedSymbolData" => "value",
        "[]trace.DnsQueryData" => "questions",
        "[]trace.DnsResponseData" => "responses",
        _ => return v,
    };
    match v {
        Value::Object(mut pairs) => match pairs.iter().position(|(k, _)| k == inner_key) {
            Some(i) => pairs.swap_remove(i).1,
            None => Value::Object(pairs),
        },
        other => other,
    }
}

fn arg_from_data(item: Value<'_>) -> Option<Arg<'_>> {
    let Value::Object(pairs) = item else {
        return None;
    };
    let mut name = Cow::Borrowed("");
    let mut typed: Option<(&'static str, Value)> = None;
    let mut plain: Option<Value> = None;
    for (k, v) in pairs {
        if k == "name" {
            name = match v {
                Value::Str(s) => s,
                _ => Cow::Borrowed(""),
            };
        } else if k == "value" {
            plain = Some(v);
        } else if let Some(ty) = legacy_type(&k) {
            typed = Some((ty, v));
        }
    }
    let (ty, value) = match (typed, plain) {
        (Some((ty, v)), _) => (ty, unwrap_payload(ty, v)),
        (None, Some(v)) => (inferred_type(&v), v),
        (None, None) => ("unknown", Value::Null),
    };
    Some(Arg {
        name,
        ty: Cow::Borrowed(ty),
        value,
    })
}

/// `detected_from {id, name, data[]}` as the legacy `detectedFrom` argument value
/// `{id, name, args: [{name, type, value}]}`.
fn detected_from(df: Value<'_>) -> Value<'_> {
    let mut out: Vec<(Cow<str>, Value)> = Vec::new();
    if let Value::Object(pairs) = df {
        for (k, v) in pairs {
            match &*k {
                "data" => {
                    let args = match v {
                        Value::Array(items) => items
                            .into_iter()
                            .filter_map(arg_from_data)
                            .map(|a| {
                                Value::Object(vec![
                                    (Cow::Borrowed("name"), Value::Str(a.name)),
                                    (Cow::Borrowed("type"), Value::Str(a.ty)),
                                    (Cow::Borrowed("value"), a.value),
                                ])
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    out.push((Cow::Borrowed("args"), Value::Array(args)));
                }
                _ => out.push((k, v)),
            }
        }
    }
    Value::Object(out)
}

/// Severity as the legacy integer (0..4), from a number or an enum name.
fn severity(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        Some(match v.as_str()? {
            "INFO" => 0,
            "LOW" => 1,
            "MEDIUM" => 2,
            "HIGH" => 3,
            "CRITICAL" => 4,
            _ => return None,
        })
    })
}

/// `threat` as legacy signature metadata.
fn metadata_from_threat(threat: Value<'_>) -> Metadata<'_> {
    let t = Some(&threat);
    let mitre = field(t, &["mitre"]);
    let technique = field(mitre, &["technique"]);
    let mut properties: Vec<(Cow<str>, Value)> = Vec::new();
    let mut put = |k: &'static str, v: Value<'static>| properties.push((Cow::Borrowed(k), v));
    if let Some(name) = field(t, &["name"]).and_then(Value::as_str) {
        put("signatureName", Value::Str(Cow::Owned(name.to_owned())));
    }
    if let Some(sev) = field(t, &["severity"]).and_then(severity) {
        put("Severity", Value::Int(sev));
    }
    if let Some(cat) = field(field(mitre, &["tactic"]), &["name"]).and_then(Value::as_str) {
        put("Category", Value::Str(Cow::Owned(cat.to_owned())));
    }
    if let Some(tech) = field(technique, &["name"]).and_then(Value::as_str) {
        put("Technique", Value::Str(Cow::Owned(tech.to_owned())));
    }
    if let Some(ext) = field(technique, &["id"]).and_then(Value::as_str) {
        put("external_id", Value::Str(Cow::Owned(ext.to_owned())));
    }
    let description = string(field(t, &["description"]));
    if let Some(Value::Object(extra)) = field(t, &["properties"]) {
        for (k, v) in extra {
            if !properties.iter().any(|(pk, _)| pk == k) {
                properties.push((Cow::Owned(k.to_string()), v.clone().into_owned()));
            }
        }
    }
    Metadata {
        version: Cow::Borrowed(""),
        description,
        tags: Vec::new(),
        properties,
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_event, Generation, Value};

    #[test]
    fn reads_the_documented_example() {
        let line = br#"{"timestamp":{"seconds":"1732454400","nanos":123456789},"id":"sched_process_exec","name":"sched_process_exec","policies":{"matched":["default-policy"]},"workload":{"process":{"thread":{"name":"bash","start_time":{"seconds":"1732454350"},"unique_id":1234567890,"host_tid":12345,"tid":12345,"syscall":"execve"},"pid":{"value":12345},"real_user":{"id":{"value":1000}},"executable":{"path":"/usr/bin/bash"},"ancestors":[{"unique_id":9876543210,"host_pid":1234,"pid":1234}]}},"data":[{"name":"pathname","str":"/usr/bin/ls"},{"name":"argv","str_array":{"value":["ls","-la","/tmp"]}}]}"#;
        let e = parse_event(line).unwrap();
        assert_eq!(e.generation, Generation::V1Beta1);
        assert_eq!(e.timestamp, 1_732_454_400_123_456_789);
        assert_eq!(e.thread_start_time, 1_732_454_350_000_000_000);
        assert_eq!(e.event_name, "sched_process_exec");
        assert_eq!(e.process_name, "bash");
        assert_eq!(e.process_id, 12345);
        assert_eq!(e.host_thread_id, 12345);
        assert_eq!(
            e.host_process_id, 12345,
            "main thread: host PID from the host TID"
        );
        assert_eq!(e.host_parent_process_id, 1234);
        assert_eq!(e.user_id, 1000);
        assert_eq!(e.syscall, "execve");
        assert_eq!(e.executable_path.as_deref(), Some("/usr/bin/bash"));
        assert_eq!(e.matched_policies.as_ref().unwrap()[0], "default-policy");
        assert_eq!(e.parent_entity_id, Some(9876543210));
        let argv = e.arg("argv").unwrap();
        assert_eq!(argv.ty, "[]string");
        assert_eq!(argv.value.as_array().unwrap().len(), 3);
        assert_eq!(
            e.arg("pathname").unwrap().value.as_str(),
            Some("/usr/bin/ls")
        );
    }

    #[test]
    fn reads_the_custom_marshaller_form_and_threats() {
        let line = br#"{"timestamp":"2025-01-02T03:04:05.000000006Z","id":6001,"name":"anti_debugging","workload":{"process":{"hostPid":10,"thread":{"hostTid":11}},"container":{"id":"abc","name":"web","image":{"id":"sha256:1","repo_digests":["img@sha256:2"],"name":"nginx:1"},"started":true}},"data":[{"name":"fd","value":3},{"name":"returnValue","value":-1}],"threat":{"description":"d","mitre":{"tactic":{"name":"Defense Evasion"},"technique":{"id":"T1622","name":"Debugger Evasion"}},"severity":"LOW","name":"Anti-Debugging"},"detected_from":{"id":102,"name":"ptrace","data":[{"name":"request","int64":0}]}}"#;
        let e = parse_event(line).unwrap();
        assert_eq!(e.event_id, 6001);
        assert_eq!(e.host_process_id, 10);
        assert_eq!(e.host_thread_id, 11);
        assert_eq!(e.container.image, "nginx:1");
        assert_eq!(e.container.image_digest, "img@sha256:2");
        assert!(e.context_flags.container_started);
        assert_eq!(e.return_value, -1);
        assert_eq!(e.arg("fd").unwrap().ty, "int64");
        let m = e.metadata.as_ref().unwrap();
        assert_eq!(m.property("Severity"), Some(&Value::Int(1)));
        assert_eq!(
            m.property("external_id").and_then(Value::as_str),
            Some("T1622")
        );
        assert!(e.is_signature());
        let df = &e.arg("detectedFrom").unwrap().value;
        assert_eq!(df.get("name").and_then(Value::as_str), Some("ptrace"));
        assert_eq!(
            df.get("args").unwrap().as_array().unwrap()[0]
                .get("type")
                .and_then(Value::as_str),
            Some("int64")
        );
    }
}
