//! A hand-made frame and table helpers.

use osprey_field::{registry, FieldId, FieldSource, FieldType, FieldValue};
use osprey_filter::{Filter, Macros};

/// A frame given as (field name, value) pairs, in order; protocols have `FieldValue::None`.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    pub items: Vec<(FieldId, FieldValue<'static>)>,
}

impl Frame {
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Adds a value of the field named `name` (argument fields are registered on the way).
    pub fn with(mut self, name: &str, value: FieldValue<'static>) -> Frame {
        let id = registry()
            .resolve(name)
            .unwrap_or_else(|| panic!("no field {name}"));
        self.items.push((id, value));
        self
    }

    pub fn proto(self, name: &str) -> Frame {
        self.with(name, FieldValue::None)
    }

    pub fn str(self, name: &str, v: &str) -> Frame {
        self.with(name, FieldValue::Str(v.to_string().into()))
    }

    pub fn int(self, name: &str, v: i64) -> Frame {
        self.with(name, FieldValue::Int(v))
    }

    pub fn uint(self, name: &str, v: u64) -> Frame {
        self.with(name, FieldValue::UInt(v))
    }
}

impl FieldSource for Frame {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        self.items
            .iter()
            .filter(|(id, _)| *id == field)
            .any(|(_, v)| f(v))
    }
}

/// Compiles `text` with no macros, panicking with the rendered error.
pub fn compile(text: &str) -> Filter {
    Filter::compile(text, &Macros::new())
        .unwrap_or_else(|e| panic!("{text}: {e}\n{}", e.render(text)))
}

/// Checks each (filter, expected) row against `frame`.
pub fn table(frame: &Frame, rows: &[(&str, bool)]) {
    let mut failures = Vec::new();
    for (text, want) in rows {
        match Filter::compile(text, &Macros::new()) {
            Ok(f) => {
                if f.matches(frame) != *want {
                    failures.push(format!("{text}: expected {want}"));
                }
            }
            Err(e) => failures.push(format!("{text}: did not compile: {e}\n{}", e.render(text))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Checks that each filter fails to compile with a message containing the given text.
pub fn rejects(rows: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (text, want) in rows {
        match Filter::compile(text, &Macros::new()) {
            Ok(_) => failures.push(format!(
                "{text}: compiled, expected an error containing {want:?}"
            )),
            Err(e) if !e.message.contains(want) => {
                failures.push(format!("{text}: message {:?} lacks {want:?}", e.message))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The name of some static field of type `ty`, if the registry has one.
pub fn field_of_type(ty: FieldType) -> Option<String> {
    registry()
        .all()
        .into_iter()
        .find(|(id, info)| !id.is_dynamic() && info.ty == ty)
        .map(|(_, info)| info.abbrev.to_string())
}
