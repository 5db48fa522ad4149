//! A sync whose writes start before the things are read: what a backfill between two
//! regions needs to come close to its floor.
//!
//! Reading an AWS registry is bound by the things: one `ListThingPrincipals` per thing,
//! 10 a second at the default quota, 28 hours for a million. Writing one is bound by
//! the certificates: one `RegisterCertificateWithoutCA` per certificate, 10 a second
//! too. [`sync`](crate::sync) reads everything, then writes: the two add up. Here
//! three things overlap:
//!
//! - **The other kinds first.** Types, billing groups, thing groups, policies and
//!   certificates (listed in pages of 250, so minutes for a million certificates) are
//!   read, compared and sent to the engine while the things are still being read.
//!   Certificate registrations read their PEMs from the source as they are sent
//!   ([`SourcePems`]).
//! - **The things page by page.** The source's things are read with a
//!   [`ThingPages`] taker: a backend that reads them slowly (AWS, per-thing
//!   principals) hands each page of 250 over as soon as its principals are read. The
//!   target's things are read first (in a backfill there are none); each page is then
//!   compared against them ([`diff_keys`] over the page's names: with the things alone
//!   selected a thing's changes depend only on it and its counterpart, so this is the
//!   whole things' diff restricted to the page) and its changes join the same run. The
//!   things a backend did not hand over (all of them, for a snapshot file) are compared
//!   when its read ends.
//! - **One run.** The engine starts each change once what it needs is done, so a
//!   thing's principal is attached as soon as its certificate is registered.
//!
//! So the certificates are registered and the things written while the things are
//! read, and a million-device backfill takes about the longest of the three, not their
//! sum.
//!
//! The order is still the plan's: every thing's changes are submitted after the other
//! kinds' (the engine waits for the resources each needs), and the deprecation of a
//! thing type, which must come after the things given it, is held back until after
//! all of them. Deletes need the order of one whole plan, so a sync with `prune` is an
//! ordinary [`sync`](crate::sync); so is one that re-creates a thing group (a changed
//! parent), whose members only a whole plan restores.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::pin::Pin;

use iot_crr_engine::{ApplyOptions, ApplyRun, Engine};
use iot_crr_model::view::SnapshotView;
use iot_crr_model::{
    DiffOptions, Filter, Kind, PlannedChange, ResourceKey, Snapshot, Thing, diff, diff_keys,
    fingerprint,
};
use iot_crr_registry::{ReadRequest, Registry, RegistryError, ThingPages};
use typed_arena::Arena;

use crate::apply::{SyncOutcome, engine_options, replica_origin, sync};
use crate::compare::{
    Comparison, off_async, origin_of, read_request, read_with, request, tags_note, without_tags,
};
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
/// things are read, and the things' changes written page by page as they are read
/// (see the module documentation). The outcome's plan lists the changes in the
/// order they were submitted (the report's indexes): the other kinds' up to their
/// stage 8, the things' (page by page, each page in stage order), then the thing
/// types' deprecations. Falls back to [`sync`](crate::sync) when nothing can overlap
/// ([`overlaps`]).
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
    // The things of both sides are read from the start. The source may hand its
    // things over a page at a time (`ThingPages`); those wait in the channel until the
    // target's things are known.
    let (pages_tx, mut pages) = ThingPages::channel();
    let source_request = ReadRequest {
        thing_pages: Some(pages_tx),
        ..request(&things, progress.source_read.clone(), true)
    };
    let mut source_things = std::pin::pin!(read_request(source, &source_request));
    let mut target_things = std::pin::pin!(read_with(
        target,
        &things,
        progress.target_read.clone(),
        true
    ));
    let mut source_rest: Option<Snapshot> = None;
    let mut actual_things: Option<Snapshot> = None;
    let (desired, actual) = {
        let mut read_first = std::pin::pin!(read_both(first.clone()));
        loop {
            tokio::select! {
                r = &mut read_first => break r?,
                r = &mut source_things, if source_rest.is_none() => source_rest = Some(r?),
                r = &mut target_things, if actual_things.is_none() => actual_things = Some(r?),
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
    options.rewrite.check_strict(&plan_a)?;
    check_deletes(&plan_a, &options.max_delete)?;
    let origin = replica_origin(&plan_a, &source_origin);
    target
        .adopt_origin(&origin)
        .await
        .map_err(|source| ReconcileError::Read {
            location: target.location(),
            source,
        })?;

    // The things' changes, page by page, live here while the run borrows them; the
    // arena is declared before the run, which lives in the block.
    let things_changes: Arena<Vec<PlannedChange>> = Arena::new();
    let mut things_part = ThingsPart::default();
    let late_at = plan_a
        .changes
        .partition_point(|c| c.stage < AFTER_THINGS_STAGE);
    let late_len = plan_a.changes.len() - late_at;
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
        let mut next = late_at;
        let mut submit = |changes: Vec<PlannedChange>| {
            for c in things_changes.alloc(changes).iter() {
                let _ = sink.submit(next, c);
                next += 1;
            }
            if let Some(p) = progress.apply {
                p.started(next + late_len);
            }
        };

        // The things: read (while the run goes on), compared page by page as the
        // source hands them over, submitted.
        let things_options = diff_options(things.clone());
        let mut ended = None;
        let things_done: Result<()> = async {
            let actual_t = match actual_things {
                Some(t) => t,
                None => driving(&mut run, &mut ended, target_things.as_mut()).await??,
            };
            while source_rest.is_none() {
                let got = driving(&mut run, &mut ended, async {
                    tokio::select! {
                        Some(page) = pages.recv() => Ok(Some(page)),
                        r = &mut source_things => r.map(|rest| {
                            source_rest = Some(rest);
                            None
                        }),
                    }
                })
                .await??;
                if let Some(page) = got {
                    submit(things_part.page(page, &actual_t, &things_options));
                }
            }
            // Pages sent before the read ended.
            while let Ok(page) = pages.try_recv() {
                submit(things_part.page(page, &actual_t, &things_options));
            }
            // What the source did not hand over (everything, for most backends).
            let rest = source_rest.take().unwrap_or_default();
            let (plan, actual_t) = driving(
                &mut run,
                &mut ended,
                off_async(target, "the diff", move || {
                    (diff(&rest, &actual_t, &things_options), actual_t)
                }),
            )
            .await??;
            check_deletes(&plan, &options.max_delete)?;
            things_part.desired += plan.desired_counts.things;
            things_part.target = plan.target_counts.things;
            things_part.warn(plan.warnings);
            submit(plan.changes);
            actual_all.things = actual_t.things;
            Ok(())
        }
        .await;
        if let Err(e) = things_done {
            // What was submitted finishes (and is committed): it is right on its own.
            drop(sink);
            let report = match ended {
                Some(r) => r,
                None => run.await,
            };
            tracing::warn!(
                applied = report.counts.applied,
                failed = report.counts.failed,
                "the things could not be compared; the changes sent so far finished"
            );
            return Err(e);
        }
        for (i, c) in plan_a.changes[late_at..].iter().enumerate() {
            let _ = sink.submit(next + i, c);
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
    plan.changes
        .extend(things_changes.into_vec().into_iter().flatten());
    plan.changes.extend(late);
    plan.warnings.extend(things_part.warnings);
    plan.desired_counts.things = things_part.desired;
    plan.target_counts.things = things_part.target;
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

/// What the pages of things handed over early add up to.
#[derive(Default)]
struct ThingsPart {
    /// Things of the source compared.
    desired: usize,
    /// Things of the target.
    target: usize,
    /// The comparisons' warnings, each once.
    warnings: Vec<String>,
    seen: HashSet<String>,
}

impl ThingsPart {
    /// The changes of one page of the source's things: the changes of the whole
    /// things' diff about these things (a thing's changes depend only on it and its
    /// counterpart in the target, with the things alone selected).
    fn page(
        &mut self,
        page: Vec<Thing>,
        actual: &Snapshot,
        options: &DiffOptions,
    ) -> Vec<PlannedChange> {
        self.desired += page.len();
        let keys: BTreeSet<ResourceKey> = page
            .iter()
            .map(|t| ResourceKey::new(Kind::Thing, t.thing_name.clone()))
            .collect();
        let desired = Snapshot {
            things: page
                .into_iter()
                .map(|t| (t.thing_name.clone(), t))
                .collect(),
            ..Snapshot::default()
        };
        let keyed = diff_keys(
            &SnapshotView::new(&desired),
            &SnapshotView::new(actual),
            &keys,
            options,
        );
        self.warn(keyed.warnings);
        keyed.changes
    }

    fn warn(&mut self, warnings: Vec<String>) {
        for w in warnings {
            if self.seen.insert(w.clone()) {
                self.warnings.push(w);
            }
        }
    }
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
