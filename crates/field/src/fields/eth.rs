//! Link layers: `eth.*`, `sll.*`, `null.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x4000;
    ETH = FieldDef::new("eth", "Ethernet II", Protocol);
    ETH_DST = FieldDef::new("eth.dst", "Destination", Ether);
    ETH_SRC = FieldDef::new("eth.src", "Source", Ether);
    ETH_ADDR = FieldDef::new("eth.addr", "Address", Ether);
    ETH_TYPE = FieldDef::new("eth.type", "Type", UInt).hex(4);
}
