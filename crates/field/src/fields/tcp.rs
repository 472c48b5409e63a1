//! `tcp.*`: the TCP header, flags and options, as one segment shows them.
//!
//! Wireshark's stateful fields (relative `tcp.seq`/`tcp.ack`/`tcp.nxtseq`, `tcp.stream`,
//! `tcp.analysis.*`, calculated window size, reassembly) need the whole conversation; Osprey
//! dissects each frame on its own, so they are deliberately not registered under Wireshark's
//! names (a raw number under `tcp.seq` would silently disagree with Wireshark). The raw values
//! are `tcp.seq_raw` and `tcp.ack_raw`, as in Wireshark. SACK edges (`tcp.options.sack_le`/`_re`)
//! are relative in Wireshark too, and left out for the same reason.

use crate::FieldDef;
use crate::FieldType::*;

/// `tcp.option_kind`.
pub static OPTION_KINDS: &[(i64, &str)] = &[
    (0, "End of Option List"),
    (1, "No-Operation"),
    (2, "Maximum Segment Size"),
    (3, "Window Scale"),
    (4, "SACK Permitted"),
    (5, "SACK"),
    (6, "Echo"),
    (7, "Echo Reply"),
    (8, "Time Stamp Option"),
    (19, "TCP MD5 signature"),
    (28, "User Timeout"),
    (29, "TCP Authentication Option"),
    (30, "Multipath TCP"),
    (34, "TCP Fast Open Cookie"),
];

crate::fields! { base 0x6000;
    TCP = FieldDef::new("tcp", "Transmission Control Protocol", Protocol);
    SRCPORT = FieldDef::new("tcp.srcport", "Source Port", UInt);
    DSTPORT = FieldDef::new("tcp.dstport", "Destination Port", UInt);
    PORT = FieldDef::new("tcp.port", "Source or Destination Port", UInt);
    SEQ_RAW = FieldDef::new("tcp.seq_raw", "Sequence Number (raw)", UInt);
    ACK_RAW = FieldDef::new("tcp.ack_raw", "Acknowledgment number (raw)", UInt);
    HDR_LEN = FieldDef::new("tcp.hdr_len", "Header Length", UInt);
    FLAGS = FieldDef::new("tcp.flags", "Flags", UInt).hex(4).blurb("Flags (12 bits)");
    FLAGS_RES = FieldDef::new("tcp.flags.res", "Reserved", Bool).blurb("Three reserved bits (must be zero)");
    FLAGS_AE = FieldDef::new("tcp.flags.ae", "Accurate ECN", Bool);
    FLAGS_CWR = FieldDef::new("tcp.flags.cwr", "Congestion Window Reduced", Bool);
    FLAGS_ECE = FieldDef::new("tcp.flags.ece", "ECN-Echo", Bool);
    FLAGS_URG = FieldDef::new("tcp.flags.urg", "Urgent", Bool);
    FLAGS_ACK = FieldDef::new("tcp.flags.ack", "Acknowledgment", Bool);
    FLAGS_PUSH = FieldDef::new("tcp.flags.push", "Push", Bool);
    FLAGS_RESET = FieldDef::new("tcp.flags.reset", "Reset", Bool);
    FLAGS_SYN = FieldDef::new("tcp.flags.syn", "Syn", Bool);
    FLAGS_FIN = FieldDef::new("tcp.flags.fin", "Fin", Bool);
    FLAGS_STR = FieldDef::new("tcp.flags.str", "TCP Flags", String);
    WINDOW_SIZE_VALUE = FieldDef::new("tcp.window_size_value", "Window", UInt).blurb("The window size value from the TCP header");
    CHECKSUM = FieldDef::new("tcp.checksum", "Checksum", UInt).hex(4).blurb("Details at: https://www.wireshark.org/docs/wsug_html_chunked/ChAdvChecksums.html");
    CHECKSUM_STATUS = FieldDef::new("tcp.checksum.status", "Checksum Status", UInt).strings(crate::fields::ip::CHECKSUM_STATUS_VALS);
    URGENT_POINTER = FieldDef::new("tcp.urgent_pointer", "Urgent Pointer", UInt);
    OPTIONS = FieldDef::new("tcp.options", "TCP Options", Bytes);
    OPTION_KIND = FieldDef::new("tcp.option_kind", "Kind", UInt).strings(OPTION_KINDS).blurb("This TCP option's kind");
    OPTION_LEN = FieldDef::new("tcp.option_len", "Length", UInt).blurb("Length of this TCP option in bytes (including kind and length fields)");
    OPT_NOP = FieldDef::new("tcp.options.nop", "TCP Option - No-Operation (NOP)", Protocol);
    OPT_EOL = FieldDef::new("tcp.options.eol", "TCP Option - End of Option List (EOL)", Protocol);
    OPT_MSS = FieldDef::new("tcp.options.mss", "TCP Option - Maximum segment size", Protocol);
    OPT_MSS_VAL = FieldDef::new("tcp.options.mss_val", "MSS Value", UInt);
    OPT_WSCALE = FieldDef::new("tcp.options.wscale", "TCP Option - Window scale", Protocol);
    OPT_WSCALE_SHIFT = FieldDef::new("tcp.options.wscale.shift", "Shift count", UInt);
    OPT_WSCALE_MULTIPLIER = FieldDef::new("tcp.options.wscale.multiplier", "Multiplier", UInt);
    OPT_SACK_PERM = FieldDef::new("tcp.options.sack_perm", "TCP Option - SACK permitted", Protocol);
    OPT_SACK = FieldDef::new("tcp.options.sack", "TCP Option - SACK", Protocol);
    OPT_SACK_COUNT = FieldDef::new("tcp.options.sack.count", "TCP SACK Count", UInt);
    OPT_TIMESTAMP = FieldDef::new("tcp.options.timestamp", "TCP Option - Timestamps", Protocol);
    OPT_TSVAL = FieldDef::new("tcp.options.timestamp.tsval", "Timestamp value", UInt);
    OPT_TSECR = FieldDef::new("tcp.options.timestamp.tsecr", "Timestamp echo reply", UInt);
    OPT_UNKNOWN_PAYLOAD = FieldDef::new("tcp.options.unknown.payload", "Payload", Bytes);
    LEN = FieldDef::new("tcp.len", "TCP Segment Len", UInt);
    PAYLOAD = FieldDef::new("tcp.payload", "TCP payload", Bytes).blurb("The TCP payload of this packet");
}
