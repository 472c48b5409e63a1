//! `_ws.*`: column texts and analyzer notes, as Wireshark exposes them.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x2000;
    COL_PROTOCOL = FieldDef::new("_ws.col.protocol", "Protocol", String).generated();
    COL_INFO = FieldDef::new("_ws.col.info", "Information", String).generated();
    COL_DEF_SRC = FieldDef::new("_ws.col.def_src", "Source", String).generated();
    COL_DEF_DST = FieldDef::new("_ws.col.def_dst", "Destination", String).generated();
    SHORT = FieldDef::new("_ws.short", "Short Frame", Protocol).blurb("The capture ends before the packet does (snap length)");
    MALFORMED = FieldDef::new("_ws.malformed", "Malformed Packet", Protocol).blurb("The frame could not be dissected completely");
    EXPERT_MESSAGE = FieldDef::new("_ws.expert.message", "Message", String).generated();
    TEXT = FieldDef::new("_ws.text", "Text item", None).blurb("A label in the detail tree that is not a field of its own");
}
