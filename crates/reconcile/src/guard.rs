//! The delete guard: a plan may not delete more than a bound.

use iot_crr_model::{Plan, PlannedChange, diff::stage};

use crate::{DeleteBound, ReconcileError, Result};

/// The resource deletes of a plan, against the size of its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteCount {
    /// Resources the plan deletes (not re-creates).
    pub deletes: usize,
    /// Resources of the target the plan was computed against (after filtering).
    pub target_total: usize,
    /// Resources of the source (after filtering).
    pub source_total: usize,
}

/// Whether a planned change deletes a resource for good: a delete in the prune stages.
/// The deletes of groups that are re-created, policy versions, detaches and memberships
/// are not.
pub fn is_counted_delete(c: &PlannedChange) -> bool {
    stage::base(c.stage) >= stage::PRUNE_DETACH && c.change.deletes_resource()
}

/// Counts the resources a plan deletes for good ([`is_counted_delete`]).
pub fn count_deletes(plan: &Plan) -> DeleteCount {
    let deletes = plan.changes.iter().filter(|c| is_counted_delete(c)).count();
    DeleteCount {
        deletes,
        target_total: plan.target_counts.total(),
        source_total: plan.desired_counts.total(),
    }
}

/// Refuses a plan that deletes more than `bound` allows, and a plan that deletes
/// anything from an empty source unless the bound was set explicitly. The message
/// has the counts and says how to go on.
pub fn check_deletes(plan: &Plan, bound: &DeleteBound) -> Result<DeleteCount> {
    let n = count_deletes(plan);
    if n.deletes == 0 {
        return Ok(n);
    }
    let pct = 100.0 * n.deletes as f64 / n.target_total.max(1) as f64;
    if n.source_total == 0 && !bound.is_explicit() {
        return Err(ReconcileError::TooManyDeletes(format!(
            "refusing to delete {} of the {} resources of {} ({pct:.0}%): the source {} is \
             empty. If that is really wanted, set the delete bound explicitly (--max-delete \
             100%); otherwise check the source location",
            n.deletes, n.target_total, plan.target, plan.source
        )));
    }
    let limit = bound.limit(n.target_total);
    if n.deletes as u64 > limit {
        return Err(ReconcileError::TooManyDeletes(format!(
            "refusing to delete {} of the {} resources of {} ({pct:.0}%): the delete bound is \
             {bound}, that is {limit} here. Check the source {} and the filter; raise the \
             bound (--max-delete N or PCT%) if this is intended",
            n.deletes, n.target_total, plan.target, plan.source
        )));
    }
    Ok(n)
}
