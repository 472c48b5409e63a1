//! The static field tables, one module per protocol. Each module's `BASE` is unique; a table
//! holds at most 4096 fields.

use crate::FieldDef;

pub mod arp;
pub mod artifact;
pub mod data;
pub mod dns;
pub mod eth;
pub mod frame;
pub mod http;
pub mod icmp;
pub mod ip;
pub mod tcp;
pub mod tracee;
pub mod udp;
pub mod ws;

/// Every static table with its base.
pub(crate) fn tables() -> Vec<(u32, &'static [FieldDef])> {
    vec![
        (frame::BASE, frame::TABLE),
        (ws::BASE, ws::TABLE),
        (tracee::BASE, tracee::TABLE),
        (eth::BASE, eth::TABLE),
        (ip::BASE, ip::TABLE),
        (tcp::BASE, tcp::TABLE),
        (udp::BASE, udp::TABLE),
        (icmp::BASE, icmp::TABLE),
        (dns::BASE, dns::TABLE),
        (http::BASE, http::TABLE),
        (data::BASE, data::TABLE),
        (arp::BASE, arp::TABLE),
        (artifact::BASE, artifact::TABLE),
    ]
}

/// Other spellings of field names that users' filters and scripts use (Wireshark 4.0 named
/// column fields after their titles).
pub(crate) static ALIASES: &[(&str, &str)] = &[
    ("_ws.col.Protocol", "_ws.col.protocol"),
    ("_ws.col.Info", "_ws.col.info"),
    ("_ws.col.Source", "_ws.col.def_src"),
    ("_ws.col.Destination", "_ws.col.def_dst"),
    ("_ws.col.No.", "frame.number"),
];
