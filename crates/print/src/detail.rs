//! `-V`: the detail tree of a frame (analyzer.md §3), indented like tshark's.

use osprey_dissect::{Item, Tree};
use osprey_field::{registry, FieldType, FieldValue};

use crate::text::push_escaped;

/// The text of an item in the detail tree (without the brackets of a generated field):
/// its own label, the field's name for a protocol or label, else `Name: value`.
pub fn label(item: &Item<'_>, info: &osprey_field::Info) -> String {
    match &item.text {
        Some(t) => t.clone(),
        None if matches!(info.ty, FieldType::Protocol | FieldType::None)
            || item.value == FieldValue::None =>
        {
            info.name.to_string()
        }
        None => {
            let mut s = format!("{}: ", info.name);
            item.value.write_display(info, &mut s);
            s
        }
    }
}

/// Appends the detail tree of one frame, then a blank line.
pub fn write_tree(out: &mut Vec<u8>, tree: &Tree<'_>) {
    let reg = registry();
    for item in tree.items() {
        if item.hidden {
            continue;
        }
        let info = reg.info(item.field);
        let text = label(item, &info);
        for _ in 0..item.depth {
            out.extend_from_slice(b"    ");
        }
        if info.generated {
            out.push(b'[');
            push_escaped(out, &text);
            out.push(b']');
        } else {
            push_escaped(out, &text);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
}
