//! Diff: (desired, actual, options) -> plan.
use crate::filter::DiffOptions;
use crate::plan::Plan;
use crate::snapshot::Snapshot;

/// Computes the plan that makes `actual` equal to `desired`.
pub fn diff(_desired: &Snapshot, _actual: &Snapshot, _options: &DiffOptions) -> Plan {
    unimplemented!()
}
