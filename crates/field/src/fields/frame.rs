//! `frame.*`: what every frame has, event or packet.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x1000;
    FRAME = FieldDef::new("frame", "Frame", Protocol);
    NUMBER = FieldDef::new("frame.number", "Frame Number", UInt).generated();
    TIME = FieldDef::new("frame.time", "Arrival Time", AbsTime);
    TIME_EPOCH = FieldDef::new("frame.time_epoch", "Epoch Time", AbsTime).epoch().blurb("Seconds since the Unix epoch");
    TIME_RELATIVE = FieldDef::new("frame.time_relative", "Time since reference or first frame", RelTime).generated();
    TIME_DELTA = FieldDef::new("frame.time_delta", "Time delta from previous captured frame", RelTime).generated();
    LEN = FieldDef::new("frame.len", "Frame Length", UInt);
    CAP_LEN = FieldDef::new("frame.cap_len", "Capture Length", UInt);
    INTERFACE_ID = FieldDef::new("frame.interface_id", "Interface id", UInt);
    INTERFACE_NAME = FieldDef::new("frame.interface_name", "Interface name", String);
    INTERFACE_DESCRIPTION = FieldDef::new("frame.interface_description", "Interface description", String);
    ENCAP_TYPE = FieldDef::new("frame.encap_type", "Encapsulation type", UInt).blurb("The link-layer type of the interface");
    PROTOCOLS = FieldDef::new("frame.protocols", "Protocols in frame", String).generated();
    COMMENT = FieldDef::new("frame.comment", "Comment", String);
    FILE = FieldDef::new("frame.file", "File", String).generated().blurb("The input the frame was read from");
}
