//! Tests of the display filter engine through its public API, one module per type family,
//! plus malformed filters, the spec's filters, the prefilter, tshark interop and robustness.

mod support;

mod addresses;
mod booleans;
mod dynamic;
mod errors;
mod integers;
mod interop;
mod macros;
mod multivalue;
mod no_panic;
mod prefilter;
mod protocols;
mod spec_filters;
mod strings;
mod times;
