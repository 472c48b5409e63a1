//! `udp.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x7000;
    UDP = FieldDef::new("udp", "User Datagram Protocol", Protocol);
    SRCPORT = FieldDef::new("udp.srcport", "Source Port", UInt);
    DSTPORT = FieldDef::new("udp.dstport", "Destination Port", UInt);
    PORT = FieldDef::new("udp.port", "Source or Destination Port", UInt);
}
