//! `icmp.*` and `icmpv6.*`.

use crate::FieldDef;
use crate::FieldType::*;

crate::fields! { base 0x8000;
    ICMP = FieldDef::new("icmp", "Internet Control Message Protocol", Protocol);
    TYPE = FieldDef::new("icmp.type", "Type", UInt);
    CODE = FieldDef::new("icmp.code", "Code", UInt);
    ICMPV6 = FieldDef::new("icmpv6", "Internet Control Message Protocol v6", Protocol);
    ICMPV6_TYPE = FieldDef::new("icmpv6.type", "Type", UInt);
    ICMPV6_CODE = FieldDef::new("icmpv6.code", "Code", UInt);
}
