//! `-T json`: an array of frames shaped like tshark's (`_source.layers.<protocol>`), carrying
//! every field of the dissection tree, so tools written for `tshark -T json` find their way.
//!
//! A field with children gets them under `<field>_tree`, a text label under its text, and a
//! key that occurs more than once in one object holds an array of its values, as in tshark.

use osprey_dissect::Tree;
use osprey_event::write::write_json_str;
use osprey_field::{registry, FieldType, FieldValue};

enum Json {
    Str(String),
    Obj(Vec<(String, Json)>),
}

struct Node {
    key: String,
    value: Option<String>,
    children: Vec<Node>,
}

/// Builds the nested structure from the flat, depth-annotated item list: an item's children
/// are the items after it that are deeper than it.
fn nodes(tree: &Tree<'_>) -> Vec<Node> {
    let items = tree.items();
    let mut i = 0;
    build(items, &mut i, 0)
}

fn build(items: &[osprey_dissect::Item<'_>], i: &mut usize, min_depth: u8) -> Vec<Node> {
    let reg = registry();
    let mut out = Vec::new();
    while *i < items.len() && items[*i].depth >= min_depth {
        let item = &items[*i];
        *i += 1;
        let info = reg.info(item.field);
        let label_only = info.ty == FieldType::None;
        let (key, value) = if label_only {
            (
                item.text.clone().unwrap_or_else(|| info.abbrev.to_string()),
                None,
            )
        } else if info.ty == FieldType::Protocol && item.value == FieldValue::None {
            (info.abbrev.to_string(), None)
        } else {
            let mut s = String::new();
            item.value.write_plain(&info, &mut s);
            (info.abbrev.to_string(), Some(s))
        };
        let children = build(items, i, item.depth.saturating_add(1));
        out.push(Node {
            key,
            value,
            children,
        });
    }
    out
}

fn to_json(nodes: Vec<Node>) -> Vec<(String, Json)> {
    let mut out: Vec<(String, Json)> = Vec::new();
    for n in nodes {
        match (n.value, n.children.is_empty()) {
            (Some(v), true) => out.push((n.key, Json::Str(v))),
            (Some(v), false) => {
                out.push((n.key.clone(), Json::Str(v)));
                out.push((format!("{}_tree", n.key), Json::Obj(to_json(n.children))));
            }
            (None, _) => out.push((n.key, Json::Obj(to_json(n.children)))),
        }
    }
    out
}

fn write_value(out: &mut Vec<u8>, v: &Json, indent: usize) {
    match v {
        Json::Str(s) => write_json_str(out, s),
        Json::Obj(pairs) => write_object(out, pairs, indent),
    }
}

fn write_object(out: &mut Vec<u8>, pairs: &[(String, Json)], indent: usize) {
    if pairs.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    // Keys in first-seen order; repeated keys become arrays.
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in pairs {
        if !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    out.extend_from_slice(b"{\n");
    for (i, key) in keys.iter().enumerate() {
        let values: Vec<&Json> = pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect();
        out.extend(std::iter::repeat_n(b' ', indent + 2));
        write_json_str(out, key);
        out.extend_from_slice(b": ");
        if values.len() == 1 {
            write_value(out, values[0], indent + 2);
        } else {
            out.extend_from_slice(b"[\n");
            for (j, v) in values.iter().enumerate() {
                out.extend(std::iter::repeat_n(b' ', indent + 4));
                write_value(out, v, indent + 4);
                out.extend_from_slice(if j + 1 < values.len() { b",\n" } else { b"\n" });
            }
            out.extend(std::iter::repeat_n(b' ', indent + 2));
            out.push(b']');
        }
        out.extend_from_slice(if i + 1 < keys.len() { b",\n" } else { b"\n" });
    }
    out.extend(std::iter::repeat_n(b' ', indent));
    out.push(b'}');
}

/// Appends one frame (no separator). `ts` dates the `_index` as tshark does.
pub fn write_frame(out: &mut Vec<u8>, tree: &Tree<'_>, ts: u64) {
    let date = osprey_event::time::format_rfc3339(ts);
    out.extend_from_slice(b"  {\n    \"_index\": ");
    write_json_str(out, &format!("packets-{}", &date[..10]));
    out.extend_from_slice(b",\n    \"_type\": \"doc\",\n    \"_score\": null,\n    \"_source\": {\n      \"layers\": ");
    write_object(out, &to_json(nodes(tree)), 6);
    out.extend_from_slice(b"\n    }\n  }");
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_dissect::Want;
    use osprey_field::fields::{frame, tracee};

    #[test]
    fn nests_subtrees_and_merges_repeated_keys() {
        let want = Want::all();
        let mut tree = Tree::new(&want);
        tree.open(frame::FRAME, FieldValue::None, None);
        tree.add(frame::NUMBER, FieldValue::UInt(7));
        tree.close();
        tree.open(tracee::TRACEE, FieldValue::None, None);
        tree.add(tracee::MATCHED_POLICIES, FieldValue::Str("a".into()));
        tree.add(tracee::MATCHED_POLICIES, FieldValue::Str("b".into()));
        tree.open(tracee::CONTEXT, FieldValue::None, Some("Context".into()));
        tree.add(tracee::PROCESS_ID, FieldValue::Int(5));
        tree.close();
        tree.close();
        let mut out = Vec::new();
        write_frame(&mut out, &tree, 0);
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let layers = &v["_source"]["layers"];
        assert_eq!(layers["frame"]["frame.number"], "7");
        assert_eq!(
            layers["tracee"]["tracee.matchedPolicies"],
            serde_json::json!(["a", "b"])
        );
        assert_eq!(layers["tracee"]["Context"]["tracee.processId"], "5");
    }
}
