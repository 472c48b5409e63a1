//! `tcp.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x6000;
    TCP = FieldDef::new("tcp", "Transmission Control Protocol", Protocol);
    SRCPORT = FieldDef::new("tcp.srcport", "Source Port", UInt);
    DSTPORT = FieldDef::new("tcp.dstport", "Destination Port", UInt);
    PORT = FieldDef::new("tcp.port", "Source or Destination Port", UInt);
}
