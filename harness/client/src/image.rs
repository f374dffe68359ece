//! Glance v2 (being written).
