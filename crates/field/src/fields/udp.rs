//! `udp.*`: the UDP header and payload.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x7000;
    UDP = FieldDef::new("udp", "User Datagram Protocol", Protocol);
    SRCPORT = FieldDef::new("udp.srcport", "Source Port", UInt);
    DSTPORT = FieldDef::new("udp.dstport", "Destination Port", UInt);
    PORT = FieldDef::new("udp.port", "Source or Destination Port", UInt);
    LENGTH = FieldDef::new("udp.length", "Length", UInt);
    CHECKSUM = FieldDef::new("udp.checksum", "Checksum", UInt).hex(4);
    CHECKSUM_STATUS = FieldDef::new("udp.checksum.status", "Checksum Status", UInt).strings(crate::fields::ip::CHECKSUM_STATUS_VALS);
    PAYLOAD = FieldDef::new("udp.payload", "Payload", Bytes);
}
