//! `-z count,FIELD[,FILTER]`: the values of one field and how many frames hold each (the top
//! values of a field, Arkime's SPI view). tshark has no tap for this (its closest,
//! `-z proto,colinfo`, only copies a field into the Info column); the result is a stats tree,
//! laid out as tshark's: one top node named after the field counting the frames that hold it,
//! its children the values (as `-T fields` prints them) sorted by count.
//!
//! A frame holding the field several times counts once per distinct value.

use osprey_field::{FieldId, FieldValue};

use crate::process::ProcessModel;
use crate::spec::ViewSpec;
use crate::stats_tree::{StatsTree, StatsTreeResult, ROOT};
use crate::{Cx, Rec, Setup, Span, View, ViewResult};

/// The view.
pub(crate) struct Count {
    spec: ViewSpec,
    field: FieldId,
    name: String,
    bit: Option<u8>,
    tree: StatsTree,
    top: Option<usize>,
    text: String,
    seen: Vec<String>,
}

impl Count {
    pub(crate) fn new(
        spec: &ViewSpec,
        name: &str,
        bit: Option<u8>,
        s: &mut Setup<'_>,
    ) -> Result<Count, crate::StatsError> {
        let field = s.field(name)?;
        Ok(Count {
            spec: spec.clone(),
            field,
            name: name.to_string(),
            bit,
            tree: StatsTree::new(),
            top: None,
            text: String::new(),
            seen: Vec::new(),
        })
    }
}

impl View for Count {
    fn observe(&mut self, rec: &Rec<'_>, cx: &Cx<'_>) {
        if !rec.counts(self.bit) || !rec.has(self.field) {
            return;
        }
        let def = osprey_field::registry().info(self.field);
        self.tree.set_time(cx.rel_ms);
        let top = *self
            .top
            .get_or_insert_with(|| self.tree.node(&self.name, ROOT));
        self.seen.clear();
        for v in rec.values(self.field) {
            if matches!(v, FieldValue::None) {
                continue;
            }
            self.text.clear();
            v.write_plain(&def, &mut self.text);
            if self.seen.contains(&self.text) {
                continue;
            }
            self.seen.push(self.text.clone());
            self.tree.tick(&self.text, top);
        }
        if !self.seen.is_empty() {
            self.tree.tick_id(top);
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::StatsTree(StatsTreeResult {
            view: self.spec.text.clone(),
            title: format!("Count/{}", self.name),
            first_column: "Value".into(),
            filter: self.spec.filter.clone(),
            elapsed_ms: self.tree.elapsed_ms(),
            nodes: self.tree.finish(),
        })
    }
}
