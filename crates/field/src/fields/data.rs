//! `data.*`: bytes no dissector claims (Wireshark's "Data" protocol), the body protocols HTTP
//! hands its content to, and `_ws.short` (a frame cut by the capture's snap length).

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0xB000;
    DATA = FieldDef::new("data", "Data", Protocol);
    DATA_DATA = FieldDef::new("data.data", "Data", Bytes);
    DATA_LEN = FieldDef::new("data.len", "Length", Int);
    DATA_TEXT_LINES = FieldDef::new("data-text-lines", "Line-based text data", Protocol);
    URLENCODED_FORM = FieldDef::new("urlencoded-form", "HTML Form URL Encoded", Protocol);
    // Wireshark's `_ws.short` lives with the other `_ws.*` fields there; it is declared here
    // because ws.rs is shared with the event dissector (move it when convenient).
    SHORT = FieldDef::new("_ws.short", "Short Frame", Protocol).blurb("The capture ends before the packet does (snap length)");
}
