//! `data.*`: bytes no dissector claims (Wireshark's "Data" protocol), and the body protocols
//! HTTP hands its content to.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0xB000;
    DATA = FieldDef::new("data", "Data", Protocol);
    DATA_DATA = FieldDef::new("data.data", "Data", Bytes);
    DATA_LEN = FieldDef::new("data.len", "Length", Int);
    DATA_TEXT_LINES = FieldDef::new("data-text-lines", "Line-based text data", Protocol);
    URLENCODED_FORM = FieldDef::new("urlencoded-form", "HTML Form URL Encoded", Protocol);
}
