//! Each resource kind's reads and writes against AWS IoT, one module per kind.
//!
//! Kinds moved here so far: billing groups. The others are still read by `read.rs` and
//! written by `write.rs`, and move one at a time. The joined read of the original six
//! kinds (`read.rs`) keeps calling into these modules for what a kind reads on its own.

pub(crate) mod billing_group;
