//! Barbican v1 (being written).
