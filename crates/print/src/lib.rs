/*!
The output formats of `osprey read`.

Rendering is split from writing, so that the expensive part runs in parallel and the output
stays in frame order: a *renderer* turns one frame into bytes ([`text`], [`json`]) and can run
on any thread; a [`FrameSink`] receives frames in order and writes files ([`PcapNgSink`],
[`NdjsonSink`]). Both pass event bytes through untouched: converting never re-encodes an event.
*/

#![deny(missing_docs)]

pub mod json;
mod sinks;
pub mod summary;
pub mod text;

pub use sinks::{FrameSink, NdjsonSink, PcapNgSink};
