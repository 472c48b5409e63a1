//! Integration tests of the `osprey` binary, one module per topic.

mod util;

mod artifacts;
mod bad_input;
mod deploy;
mod detect;
mod dissection;
mod dns_events;
mod extcap;
mod formats;
mod forward;
mod interop;
mod lake;
mod metrics;
mod remote;
mod roundtrip;
mod sample;
mod stats_tracee;
mod stats_tshark;
mod view;
