/*!
The output formats of `osprey read`.

Views only read the dissection tree, through the fields the [`Profile`] and the command line
name: the summary line ([`text`]), selected fields ([`fields`]), the detail tree ([`detail`])
and tshark-shaped JSON ([`json`]). Rendering is split from writing, so that the expensive part
runs in parallel and the output stays in frame order: a renderer turns one frame into bytes and
can run on any thread; a [`FrameSink`] receives frames in order and writes files
([`PcapNgSink`], [`NdjsonSink`]), passing event bytes through untouched — converting never
re-encodes an event.
*/

#![deny(missing_docs)]

pub mod detail;
pub mod fields;
pub mod json;
pub mod profile;
mod sinks;
pub mod text;

pub use profile::Profile;
pub use sinks::{FrameSink, NdjsonSink, PcapNgSink, PrepareEvent, Prepared};

use osprey_dissect::Want;
use osprey_field::{registry, FieldId};

/// Adds fields a consumer reads (a filter's, `-e` fields) to `want`; a `_ws.col.*` field also
/// wants the summary columns, which dissectors fill only when asked.
pub fn want_fields(want: &mut Want, ids: impl IntoIterator<Item = FieldId>) {
    for id in ids {
        want.field(id);
        if registry().info(id).abbrev.starts_with("_ws.col.") {
            want.columns();
        }
    }
}
