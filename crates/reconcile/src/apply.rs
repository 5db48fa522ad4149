//! Applying plans: a saved plan after a drift check, or a fresh one in one call.

use iot_crr_engine::{ApplyOptions, ApplyProgress, ApplyReport, RetryPolicy, apply_plan};
use iot_crr_model::{Origin, Plan, fingerprint};
use iot_crr_registry::Registry;

use crate::compare::{Comparison, compare, off_async, read_with};
use crate::pems::{SourcePems, plan_lacks_pems};
use crate::{DeleteBound, Progress, ReconcileError, ReconcileOptions, Result, check_deletes};

/// The engine options for a target: a backend that retries each call itself (with its
/// own pacing) gets each change sent once.
pub(crate) fn engine_options(target: &dyn Registry, options: &ApplyOptions) -> ApplyOptions {
    let mut o = options.clone();
    if target.capabilities().retries_internally {
        o.retry = RetryPolicy::none();
    }
    o
}

/// Applies `plan` to `target` through the engine, after the checks that make it safe:
/// the delete bound, and a new file replica records the region/account its content
/// names.
pub(crate) async fn run(
    target: &dyn Registry,
    plan: &Plan,
    origin: Option<&Origin>,
    options: &ApplyOptions,
    progress: Option<&dyn ApplyProgress>,
) -> Result<ApplyReport> {
    if let Some(o) = origin {
        target
            .adopt_origin(o)
            .await
            .map_err(|source| ReconcileError::Read {
                location: target.location(),
                source,
            })?;
    }
    Ok(apply_plan(plan, target, &engine_options(target, options), progress).await)
}

/// The region/account a replica written by `plan` names: the rewrite's target, or the
/// source's own.
pub(crate) fn replica_origin(plan: &Plan, source_origin: &Origin) -> Origin {
    match &plan.options.rewrite {
        Some(r) => Origin {
            region: r.to_region.clone(),
            account_id: r.to_account.clone(),
        },
        None => source_origin.clone(),
    }
}

/// Applies a saved plan to `target`: refuses when the target changed since the plan
/// was computed (its fingerprint, over the plan's filter, differs) or when the plan
/// deletes more than `max_delete` allows; then applies it.
pub async fn apply_checked(
    target: &dyn Registry,
    plan: &Plan,
    max_delete: &DeleteBound,
    options: &ApplyOptions,
    progress: &Progress<'_>,
) -> Result<ApplyReport> {
    check_deletes(plan, max_delete)?;
    // Read as `compare` read it for the plan's fingerprint (without PEMs).
    let actual = read_with(
        target,
        &plan.options.filter,
        progress.target_read.clone(),
        true,
    )
    .await?;
    let filter = plan.options.filter.clone();
    let now = off_async(target, "the fingerprint", move || {
        fingerprint(&actual, &filter)
    })
    .await?;
    if now != plan.target_fingerprint {
        return Err(ReconcileError::Drift {
            location: target.location(),
            now,
            expected: plan.target_fingerprint.clone(),
        });
    }
    let origin = plan.options.rewrite.as_ref().map(|r| Origin {
        region: r.to_region.clone(),
        account_id: r.to_account.clone(),
    });
    run(target, plan, origin.as_ref(), options, progress.apply).await
}

/// Applies a plan just computed from `source` (by [`compare`] or
/// [`plan_keys`](crate::plan_keys)), whose region and account are `source_origin`:
/// refuses it when it deletes more than `max_delete` allows (nothing is written then),
/// has a new file replica record the region/account its content names, and applies it
/// through the engine. A certificate registration without its PEM (a plan from
/// [`compare`]) reads it from `source` as it is sent ([`SourcePems`]), so that the
/// source's reads and the target's writes overlap.
pub async fn apply_fresh(
    target: &dyn Registry,
    plan: &Plan,
    source: &dyn Registry,
    source_origin: &Origin,
    max_delete: &DeleteBound,
    options: &ApplyOptions,
    progress: Option<&dyn ApplyProgress>,
) -> Result<ApplyReport> {
    check_deletes(plan, max_delete)?;
    let origin = replica_origin(plan, source_origin);
    if plan_lacks_pems(plan) {
        let target = SourcePems::new(target, source);
        return run(&target, plan, Some(&origin), options, progress).await;
    }
    run(target, plan, Some(&origin), options, progress).await
}

/// What a sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The comparison and its plan.
    pub comparison: Comparison,
    /// The apply, unless the plan was empty.
    pub report: Option<ApplyReport>,
}

/// Compares the two registries and applies the plan: the full reconcile. The plan is
/// checked against the delete bound before anything is written ([`apply_fresh`]).
pub async fn sync(
    source: &dyn Registry,
    target: &dyn Registry,
    options: &ReconcileOptions,
    apply: &ApplyOptions,
    progress: &Progress<'_>,
) -> Result<SyncOutcome> {
    let comparison = compare(source, target, options, progress).await?;
    if comparison.plan.is_empty() {
        return Ok(SyncOutcome {
            comparison,
            report: None,
        });
    }
    let report = apply_fresh(
        target,
        &comparison.plan,
        source,
        &comparison.source_origin,
        &options.max_delete,
        apply,
        progress.apply,
    )
    .await?;
    Ok(SyncOutcome {
        comparison,
        report: Some(report),
    })
}
