//! Display filters (being written).
