//! Event arguments: one field per (event, argument), `tracee.args.<event>.<arg>`, typed from
//! the argument's Tracee type; complex values handed to [`super::complex`].

use std::borrow::Cow;

use osprey_event::{Event, Value};
use osprey_field::fields::tracee as t;
use osprey_field::{arg_field_type, registry, sanitize_name, FieldId, FieldType, FieldValue};

use super::complex::{self, Complex};
use super::enrich::{self, info_text};
use super::net::{self, Transport};
use super::Findings;
use crate::{Tree, Want};
use osprey_field::hash::FastMap;

/// Tracee types whose value is an array of strings.
fn is_string_array(ty: &str) -> bool {
    matches!(
        ty,
        "const char*const*" | "const char**" | "[]string" | "const char **" | "char**"
    )
}

/// Tracee types whose value is an array of integers.
fn is_int_array(ty: &str) -> bool {
    matches!(
        ty,
        "int[2]" | "unsigned long[]" | "[]uint64" | "[]int32" | "[]int" | "u64[]" | "int[]"
    )
}

/// Pointer types: Tracee writes them as `0x...` strings; a number is shown the same way.
fn is_pointer(ty: &str) -> bool {
    ty == "trace.Pointer" || ty.ends_with('*')
}

/// The event whose arguments are dissected: its sanitized name, and the argument fields
/// wanted of it (looked up once for all its arguments).
#[derive(Clone, Copy)]
struct EventArgs<'w> {
    name: &'w str,
    wanted: Option<&'w FastMap<String, FieldId>>,
}

impl<'w> EventArgs<'w> {
    fn of(name: &'w str, want: &'w Want) -> EventArgs<'w> {
        EventArgs {
            name,
            wanted: want.args_of(name),
        }
    }
}

/// The field of argument `arg` (already sanitized, possibly `detected_from.<arg>`) of event
/// `ev`, if the tree keeps it: registered on the fly when the whole tree is built.
fn arg_field(tree: &Tree<'_>, ev: EventArgs<'_>, arg: &str, ty: FieldType) -> Option<FieldId> {
    if tree.want().every_arg() {
        registry().resolve_typed(&format!("tracee.args.{}.{arg}", ev.name), ty)
    } else {
        ev.wanted?.get(arg).copied()
    }
}

/// A scalar argument value as a field value of (roughly) type `ty`. Tracee flips some
/// arguments between integers and strings; the value keeps what the JSON held.
fn scalar<'a>(v: &'a Value<'a>, ty: FieldType, pointer: bool) -> FieldValue<'a> {
    match (ty, v) {
        (_, Value::Str(s)) if ty != FieldType::Int && ty != FieldType::UInt => {
            FieldValue::Str(Cow::Borrowed(s.as_ref()))
        }
        (FieldType::Int | FieldType::UInt, Value::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) if ty == FieldType::Int => FieldValue::Int(i),
            Ok(i) if i >= 0 => FieldValue::UInt(i as u64),
            _ => FieldValue::Str(Cow::Borrowed(s.as_ref())),
        },
        (_, Value::Int(i)) if pointer => FieldValue::Str(format!("0x{:x}", *i as u64).into()),
        (_, Value::UInt(u)) if pointer => FieldValue::Str(format!("0x{u:x}").into()),
        (FieldType::UInt, Value::Int(i)) if *i >= 0 => FieldValue::UInt(*i as u64),
        (FieldType::String, Value::Int(i)) => FieldValue::Str(i.to_string().into()),
        (FieldType::Double, v) if v.as_f64().is_some() => {
            FieldValue::Double(v.as_f64().unwrap_or(0.0))
        }
        (FieldType::Bool, v) if v.as_bool().is_some() => {
            FieldValue::Bool(v.as_bool().unwrap_or(false))
        }
        (_, Value::Int(i)) => FieldValue::Int(*i),
        (_, Value::UInt(u)) => FieldValue::UInt(*u),
        (_, Value::Float(f)) => FieldValue::Double(*f),
        (_, Value::Bool(b)) => FieldValue::Bool(*b),
        (_, Value::Null) => FieldValue::Str(Cow::Borrowed("null")),
        (_, other) => FieldValue::Str(info_text(other).into()),
    }
}

/// The transport a socket event's `type` argument names (`SOCK_STREAM`, `SOCK_DGRAM`, or
/// their numbers), if any.
fn socket_transport(event: &Event) -> Option<Transport> {
    let v = &event.arg("type")?.value;
    match v.as_i64() {
        Some(n) => match n & 0xf {
            1 => Some(Transport::Tcp),
            2 => Some(Transport::Udp),
            _ => None,
        },
        None => {
            let s = v.as_str()?;
            if s.contains("SOCK_STREAM") {
                Some(Transport::Tcp)
            } else if s.contains("SOCK_DGRAM") {
                Some(Transport::Udp)
            } else {
                None
            }
        }
    }
}

/// Dissects all arguments of `event` under an "Args" subtree.
pub(crate) fn dissect_args<'a>(
    event: &'a Event<'a>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let ev = sanitize_name(&event.event_name);
    let socket_type = socket_transport(event);
    // Argument fields are only built when a consumer reads some of this event's; complex
    // arguments are dissected regardless, for their own fields and the Info column.
    let want = tree.want();
    let ev = EventArgs::of(&ev, want);
    // `Want::wants_args_of`, with the event's fields already looked up.
    let args_wanted = want.every_arg() || ev.wanted.is_some();
    tree.open_with(t::ARGS, FieldValue::None, || "Args".into());
    for arg in &event.args {
        // ptrace's request is dissected with its generated name by the enrichments.
        if event.event_name == "ptrace" && arg.name == "request" {
            continue;
        }
        if !args_wanted && Complex::of(&arg.ty, &arg.name).is_none() {
            continue;
        }
        one_arg(
            ev,
            "",
            &arg.name,
            &arg.ty,
            &arg.value,
            socket_type,
            tree,
            findings,
        );
    }
    enrich::generated(event, tree);
    packet_event_addresses(event, tree, findings);
    tree.close();
}

#[allow(clippy::too_many_arguments)]
fn one_arg<'a>(
    ev: EventArgs<'_>,
    prefix: &str,
    name: &'a str,
    ty: &'a str,
    v: &'a Value<'a>,
    socket_type: Option<Transport>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let sanitized = sanitize_name(name);
    let key: Cow<str> = if prefix.is_empty() {
        sanitized
    } else {
        Cow::Owned(format!("{prefix}{sanitized}"))
    };
    let full = tree.is_full();
    if let Some(kind) = Complex::of(ty, name) {
        let field = arg_field(tree, ev, &key, FieldType::String);
        let text = (full || field.is_some()).then(|| info_text(v));
        if let Some(f) = field {
            tree.add_dynamic(
                f,
                FieldValue::Str(text.clone().unwrap_or_default().into()),
                text.as_ref().map(|x| format!("{name}: {x}")),
            );
        }
        if kind == Complex::DetectedFrom {
            detected_from(ev, v, tree, findings);
        } else {
            tree.open_text(osprey_field::fields::ws::TEXT, || format!("{name} ({ty})"));
            complex::dissect(kind, v, socket_type, tree, findings);
            tree.close();
        }
        return;
    }
    if is_string_array(ty)
        || (v
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| matches!(x, Value::Str(_)))))
    {
        if let Some(f) = arg_field(tree, ev, &key, FieldType::String) {
            for item in v.as_array().unwrap_or(&[]) {
                let value = scalar(item, FieldType::String, false);
                let text = full.then(|| format!("{name}: {}", net::text(item)));
                tree.add_dynamic(f, value, text);
            }
        }
        return;
    }
    if is_int_array(ty) || v.as_array().is_some() {
        if let Some(f) = arg_field(tree, ev, &key, FieldType::Int) {
            for item in v.as_array().unwrap_or(&[]) {
                let text = full.then(|| format!("{name}: {}", info_text(item)));
                tree.add_dynamic(f, scalar(item, FieldType::Dynamic, false), text);
            }
        }
        return;
    }
    let declared = arg_field_type(ty);
    let register_as = match (declared, v) {
        (FieldType::Dynamic, Value::Object(_)) => FieldType::String,
        (other, _) => other,
    };
    if let Some(f) = arg_field(tree, ev, &key, register_as) {
        let value = scalar(v, declared, is_pointer(ty));
        let text = full.then(|| format!("{name}: {}", info_text(v)));
        tree.add_dynamic(f, value, text);
    }
}

/// `triggeredBy` / `detectedFrom`: the event that triggered a signature, with its arguments
/// as `tracee.args.<signature>.detected_from.<arg>`.
fn detected_from<'a>(
    ev: EventArgs<'_>,
    v: &'a Value<'a>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    tree.open_with(t::DETECTED_FROM, FieldValue::None, || {
        format!("Detected From: {name}")
    });
    if let Some(id) = v.get("id").and_then(Value::as_i64) {
        tree.add(t::DETECTED_FROM_ID, FieldValue::Int(id));
    }
    tree.add(t::DETECTED_FROM_NAME, FieldValue::Str(Cow::Borrowed(name)));
    if let Some(rv) = v
        .get("returnValue")
        .or_else(|| v.get("return_value"))
        .and_then(Value::as_i64)
    {
        tree.add(t::DETECTED_FROM_RETURN_VALUE, FieldValue::Int(rv));
    }
    for arg in v.get("args").and_then(Value::as_array).unwrap_or(&[]) {
        let (Some(arg_name), ty) = (
            arg.get("name").and_then(Value::as_str),
            arg.get("type").and_then(Value::as_str).unwrap_or(""),
        ) else {
            continue;
        };
        let value = arg.get("value").unwrap_or(&Value::Null);
        one_arg(
            ev,
            "detected_from.",
            arg_name,
            ty,
            value,
            None,
            tree,
            findings,
        );
    }
    tree.close();
}

/// `net_packet_*` events carry `src`, `dst`, `src_port`, `dst_port` as plain arguments.
fn packet_event_addresses<'a>(
    event: &'a Event<'a>,
    tree: &mut Tree<'a>,
    findings: &mut Findings<'a>,
) {
    if !event.event_name.starts_with("net_") {
        return;
    }
    let src = event.arg("src").and_then(|a| a.value.as_str());
    let dst = event.arg("dst").and_then(|a| a.value.as_str());
    // A decoded header (`proto_ipv4`, `proto_tcp`...) already filled these fields from the
    // packet itself; adding the summary arguments again would show every value twice.
    let has_ip_header = event.arg("proto_ipv4").is_some() || event.arg("proto_ipv6").is_some();
    let has_l4_header = event.arg("proto_tcp").is_some() || event.arg("proto_udp").is_some();
    if has_ip_header {
        if findings.source.is_none() {
            findings.source = src.map(Cow::Borrowed);
            findings.destination = dst.map(Cow::Borrowed);
        }
        return;
    }
    if (src.is_some() || dst.is_some()) && net::addresses(tree, src, dst) {
        let sp = net::port(event.arg("src_port").map(|a| &a.value));
        let dp = net::port(event.arg("dst_port").map(|a| &a.value));
        let name = &event.event_name;
        let transport = if event.arg("proto_tcp").is_some()
            || name.contains("tcp")
            || name.contains("http")
        {
            Some(Transport::Tcp)
        } else if event.arg("proto_udp").is_some() || name.contains("udp") || name.contains("dns") {
            Some(Transport::Udp)
        } else {
            None
        };
        if let (Some(tr), false) = (transport, has_l4_header) {
            net::ports(tree, tr, sp, dp);
        }
        if findings.source.is_none() {
            findings.source = src.map(Cow::Borrowed);
            findings.destination = dst.map(Cow::Borrowed);
        }
    }
}
