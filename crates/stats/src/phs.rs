//! `-z io,phs` (also `-z phs`): the protocol hierarchy, as tshark builds it from each frame's
//! top-level protocols, frames and bytes (on the wire) per protocol path.
//!
//! A Tracee event is `tracee`, followed by the network protocols it maps onto Wireshark's
//! fields (`tracee` / `ip` / `udp` / `dns` for a `net_packet_dns` event), so events and
//! packets of the same traffic line up in one hierarchy.

use osprey_field::{registry, FieldId};
use serde::Serialize;

use crate::process::ProcessModel;
use crate::spec::ViewSpec;
use crate::{Cx, Rec, Span, View, ViewResult};

/// One protocol in the hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhsNode {
    /// The protocol's filter name (`eth`, `ip`, `tracee`).
    pub protocol: String,
    /// Frames that carried it under this path.
    pub frames: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The protocols found under it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<PhsNode>,
}

/// `-z io,phs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhsResult {
    /// The `-z` argument.
    pub view: String,
    /// The view's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The top protocols, in the order they were first seen.
    pub nodes: Vec<PhsNode>,
}

struct Node {
    protocol: FieldId,
    frames: u64,
    bytes: u64,
    children: Vec<usize>,
}

/// The protocol hierarchy view.
pub(crate) struct Phs {
    spec: ViewSpec,
    bit: Option<u8>,
    nodes: Vec<Node>,
    top: Vec<usize>,
}

impl Phs {
    pub(crate) fn new(spec: &ViewSpec, bit: Option<u8>) -> Phs {
        Phs {
            spec: spec.clone(),
            bit,
            nodes: Vec::new(),
            top: Vec::new(),
        }
    }

    fn build(&self, i: usize) -> PhsNode {
        let n = &self.nodes[i];
        PhsNode {
            protocol: registry().info(n.protocol).abbrev.to_string(),
            frames: n.frames,
            bytes: n.bytes,
            children: n.children.iter().map(|&c| self.build(c)).collect(),
        }
    }
}

impl View for Phs {
    fn observe(&mut self, rec: &Rec<'_>, _: &Cx<'_>) {
        if !rec.counts(self.bit) {
            return;
        }
        let mut level: Option<usize> = None;
        for &p in rec.protocols() {
            let siblings = match level {
                None => &self.top,
                Some(i) => &self.nodes[i].children,
            };
            let found = siblings
                .iter()
                .copied()
                .find(|&c| self.nodes[c].protocol == p);
            let i = match found {
                Some(i) => i,
                None => {
                    self.nodes.push(Node {
                        protocol: p,
                        frames: 0,
                        bytes: 0,
                        children: Vec::new(),
                    });
                    let i = self.nodes.len() - 1;
                    match level {
                        None => self.top.push(i),
                        Some(l) => self.nodes[l].children.push(i),
                    }
                    i
                }
            };
            self.nodes[i].frames += 1;
            self.nodes[i].bytes += rec.meta.len;
            level = Some(i);
        }
    }

    fn finish(&mut self, _: Option<&ProcessModel>, _: &Span) -> ViewResult {
        ViewResult::ProtocolHierarchy(PhsResult {
            view: self.spec.text.clone(),
            filter: self.spec.filter.clone(),
            nodes: self.top.iter().map(|&i| self.build(i)).collect(),
        })
    }
}
