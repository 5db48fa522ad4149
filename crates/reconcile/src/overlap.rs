//! A sync whose writes start before the things are read: what a backfill between two
//! regions needs to come close to its floor.
//!
//! Reading an AWS registry is bound by the things: one `ListThingPrincipals` per thing,
//! 10 a second at the default quota, 28 hours for a million. Writing one is bound by
//! the certificates: one `RegisterCertificateWithoutCA` per certificate, 10 a second
//! too. [`sync`](crate::sync) reads everything, then writes: the two add up. Here the
//! kinds other than things (types, billing groups, thing groups, policies,
//! certificates; listed in pages of 250, so minutes for a million certificates) are
//! read, compared and sent to the engine first, while the things are still being read;
//! the things' changes join the same run when their read is done. Certificate
//! registrations read their PEMs from the source as they are sent
//! ([`SourcePems`]). So the certificates are registered while the things are read, and
//! a million-device backfill takes about the longer of the two, not their sum.
//!
//! The order is still the plan's: the things' changes are submitted after the other
//! kinds' (the engine waits for the resources each needs), and the deprecation of a
//! thing type, which must come after the things given it, is held back until after
//! them. Deletes need the order of one whole plan, so a sync with `prune` is an
//! ordinary [`sync`](crate::sync); so is one that re-creates a thing group (a changed
//! parent), whose members only a whole plan restores.

use std::future::Future;
use std::pin::Pin;

use iot_crr_engine::{ApplyOptions, ApplyRun, Engine};
use iot_crr_model::{DiffOptions, Filter, Kind, Plan, Snapshot, diff, fingerprint};
use iot_crr_registry::{Registry, RegistryError};

use crate::apply::{SyncOutcome, engine_options, replica_origin, sync};
use crate::compare::{Comparison, off_async, origin_of, read_with, tags_note, without_tags};
use crate::pems::SourcePems;
use crate::{Progress, ReconcileError, ReconcileOptions, Result, check_deletes};

/// The first stage held back until after the things (thing types deprecated).
const AFTER_THINGS_STAGE: u32 = 8000;
/// Stages before this one re-create thing groups (see [`diff`]).
const RECREATE_BEFORE: u32 = 3000;

/// Whether [`sync_overlapped`] overlaps anything for these options: no `prune`, and the
/// filter selects things and at least one other kind.
pub fn overlaps(options: &ReconcileOptions) -> bool {
    let f = &options.filter;
    !options.prune
        && f.selects_kind(Kind::Thing)
        && Kind::ALL
            .iter()
            .any(|k| *k != Kind::Thing && f.selects_kind(*k))
}

/// [`sync`](crate::sync), with the writes of every kind but things started while the
/// things are read (see the [module documentation](self)). The outcome's plan lists the
/// changes in the order they were submitted (the report's indexes): the other kinds'
/// up to their stage 8, the things', then the thing types' deprecations. Falls back to
/// [`sync`](crate::sync) when nothing can overlap ([`overlaps`]).
///
/// An error reading or comparing the things ends the sync after the changes already
/// submitted have finished (they are correct on their own); the error is returned.
pub async fn sync_overlapped(
    source: &dyn Registry,
    target: &dyn Registry,
    options: &ReconcileOptions,
    apply: &ApplyOptions,
    progress: &Progress<'_>,
) -> Result<SyncOutcome> {
    options.filter.validate()?;
    if !overlaps(options) {
        return sync(source, target, options, apply, progress).await;
    }
    let mut first = options.filter.clone();
    first.kinds = Kind::ALL
        .iter()
        .copied()
        .filter(|k| *k != Kind::Thing && options.filter.selects_kind(*k))
        .collect();
    let mut things = options.filter.clone();
    things.kinds = vec![Kind::Thing];

    let read_both = |filter: Filter| async move {
        tokio::try_join!(
            read_with(source, &filter, progress.source_read.clone(), true),
            read_with(target, &filter, progress.target_read.clone(), true),
        )
    };
    let mut read_things = std::pin::pin!(read_both(things.clone()));
    let mut things_read: Option<(Snapshot, Snapshot)> = None;
    let (desired, actual) = {
        let mut read_first = std::pin::pin!(read_both(first.clone()));
        loop {
            tokio::select! {
                r = &mut read_first => break r?,
                r = &mut read_things, if things_read.is_none() => things_read = Some(r?),
            }
        }
    };

    let source_origin = origin_of(source, &desired);
    let target_origin = origin_of(target, &actual);
    let rewrite = options.rewrite.resolve(&source_origin, &target_origin)?;
    let without = without_tags(&[source, target]);
    let notes: Vec<String> = tags_note(&without).into_iter().collect();
    let diff_options = |filter: Filter| DiffOptions {
        prune: false,
        filter,
        rewrite: rewrite.clone(),
        ignore_tags: !without.is_empty(),
    };
    let first_options = diff_options(first);
    let (plan_a, mut actual_all) = off_async(target, "the diff", move || {
        (diff(&desired, &actual, &first_options), actual)
    })
    .await?;
    if plan_a.changes.iter().any(|c| c.stage < RECREATE_BEFORE) {
        // A thing group re-created (a changed parent): its members are restored by the
        // things' part of one whole plan, which must know of it. Rare; read again.
        tracing::info!("a thing group is re-created: the sync compares everything first");
        return sync(source, target, options, apply, progress).await;
    }
    check_deletes(&plan_a, &options.max_delete)?;
    let origin = replica_origin(&plan_a, &source_origin);
    target
        .adopt_origin(&origin)
        .await
        .map_err(|source| ReconcileError::Read {
            location: target.location(),
            source,
        })?;

    // Declared before the run, which borrows the changes submitted to it; the run
    // lives in the block.
    let plan_b: Plan;
    let late_at = plan_a
        .changes
        .partition_point(|c| c.stage < AFTER_THINGS_STAGE);
    let report = {
        let completed = SourcePems::new(target, source);
        let (sink, run) = Engine::start(&completed, &engine_options(target, apply), progress.apply);
        let mut run = std::pin::pin!(run);
        if let Some(p) = progress.apply {
            p.started(plan_a.changes.len());
        }
        for (i, c) in plan_a.changes[..late_at].iter().enumerate() {
            // The run is alive (it is polled below), so the sink accepts every change.
            let _ = sink.submit(i, c);
        }

        // The things: read (while the run goes on), compared, submitted.
        let mut ended = None;
        let things_done: Result<Plan> = async {
            let (desired_t, actual_t) = match things_read {
                Some(t) => t,
                None => driving(&mut run, &mut ended, read_things.as_mut()).await??,
            };
            let things_options = diff_options(things);
            let (plan, actual_t) = driving(
                &mut run,
                &mut ended,
                off_async(target, "the diff", move || {
                    (diff(&desired_t, &actual_t, &things_options), actual_t)
                }),
            )
            .await??;
            actual_all.things = actual_t.things;
            check_deletes(&plan, &options.max_delete)?;
            Ok(plan)
        }
        .await;
        plan_b = match things_done {
            Ok(p) => p,
            Err(e) => {
                // What was submitted finishes (and is committed): it is right on its own.
                drop(sink);
                let report = match ended {
                    Some(r) => r,
                    None => run.await,
                };
                tracing::warn!(
                    applied = report.counts.applied,
                    failed = report.counts.failed,
                    "the things could not be compared; the other kinds' changes finished"
                );
                return Err(e);
            }
        };
        if let Some(p) = progress.apply {
            p.started(plan_a.changes.len() + plan_b.changes.len());
        }
        for (i, c) in plan_b.changes.iter().enumerate() {
            let _ = sink.submit(late_at + i, c);
        }
        for (i, c) in plan_a.changes[late_at..].iter().enumerate() {
            let _ = sink.submit(late_at + plan_b.changes.len() + i, c);
        }
        drop(sink);
        run.await
    };

    // The plan as submitted, for the outcome.
    let filter = options.filter.clone();
    let target_fingerprint = off_async(target, "the fingerprint", move || {
        fingerprint(&actual_all, &filter)
    })
    .await?;
    let mut plan = plan_a;
    let late = plan.changes.split_off(late_at);
    plan.changes.extend(plan_b.changes);
    plan.changes.extend(late);
    plan.warnings.extend(plan_b.warnings);
    plan.desired_counts.things = plan_b.desired_counts.things;
    plan.target_counts.things = plan_b.target_counts.things;
    plan.options.filter = options.filter.clone();
    plan.target_fingerprint = target_fingerprint;
    plan.source = source.location();
    plan.target = target.location();
    Ok(SyncOutcome {
        comparison: Comparison {
            plan,
            source_origin,
            target_origin,
            notes,
        },
        report: Some(report),
    })
}

/// Awaits `work` while driving the apply `run`. The run cannot finish while its sink is
/// open; if it does (a bug), its report goes to `ended` and that is an error rather
/// than a hang.
async fn driving<T>(
    run: &mut Pin<&mut ApplyRun<'_>>,
    ended: &mut Option<iot_crr_engine::ApplyReport>,
    work: impl Future<Output = T>,
) -> Result<T> {
    if ended.is_some() {
        return Err(stopped());
    }
    tokio::select! {
        t = work => Ok(t),
        report = run.as_mut() => {
            *ended = Some(report);
            Err(stopped())
        }
    }
}

fn stopped() -> ReconcileError {
    ReconcileError::Read {
        location: "the apply".into(),
        source: RegistryError::new(
            iot_crr_registry::ErrorClass::Other,
            "the apply stopped before every change was submitted (a bug in iot-crr)",
        ),
    }
}
