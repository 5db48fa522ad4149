//! The resumable reconcile pass: the full reconcile of a source into a target, split
//! into pages so that it can stop at a time budget and continue in the next run (the
//! scheduled Lambda reconciler, which lives at most 15 minutes, while a pass over a
//! registry of a million things takes hours at the IoT API quotas).
//!
//! A pass walks *stages*: for each kind in dependency order, the source's keys of that
//! kind ([`Registry::list_keys`], one list call a page), each page reconciled with the
//! keyed reconcile ([`plan_keys`], then the apply), which also brings the companions a
//! change needs (a parent group, a thing type) and the relations of each resource
//! (memberships, principals, policy targets). With `prune`, the target's keys follow,
//! kinds in reverse order (things before their types): a target key the source lacks is
//! deleted there, within a per-pass bound.
//!
//! After each page the position (stage, cursor, counters) is saved in the state store
//! ([`StateStore::put_progress`]), conditional on the revision read at the start, so
//! that two overlapping runs cannot both advance one pass: the second learns it with
//! [`PassError::Overlap`]. A run stopped anywhere (time budget, a crash, a Lambda
//! timeout) repeats at most the page it was in; each write is idempotent, so a repeat
//! finds its changes in place. A cursor the registry no longer accepts (an expired AWS
//! page token) restarts its stage, never the pass.
//!
//! The pass never deletes unless `prune`, never more than the per-pass bound, and never
//! when the source listed nothing at all (a wrong source region is an error, not an
//! empty registry).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iot_crr_engine::{ApplyOptions, ChangeResult};
use iot_crr_model::{Kind, ResourceKey};
use iot_crr_reconcile::{
    DeleteBound, ReconcileError, ReconcileOptions, apply_fresh, count_deletes, is_counted_delete,
    plan_keys,
};
use iot_crr_registry::{ErrorClass, KeyPage, MAX_KEY_PAGE, Registry, RegistryError};
use iot_crr_state::{StateError, StateStore};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// How many failed changes a segment report lists (the counts cover them all).
const MAX_LISTED_FAILURES: usize = 20;

/// What a pass does and how far a run may go.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// The filter, ARN rewriting and `prune` of the reconcile (its `max_delete` is not
    /// used: see [`PassOptions::max_delete_per_pass`]).
    pub reconcile: ReconcileOptions,
    /// How changes are applied (its deadline is set from the run's).
    pub apply: ApplyOptions,
    /// Keys per page (at most [`MAX_KEY_PAGE`]).
    pub page_size: usize,
    /// With `prune`, how many resources one pass may delete; required for pruning (a
    /// pass over a part of a registry cannot know a percentage of the whole).
    pub max_delete_per_pass: Option<u64>,
    /// The least time from the start of a pass to the start of the next (default
    /// none): a run scheduled every few minutes keeps a long pass going, and once it
    /// finished, the next pass waits until this much time has passed since its start.
    pub pass_interval: Duration,
    /// At most this many pages a run (default: no limit but the deadline).
    pub pages_per_run: Option<u64>,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            reconcile: ReconcileOptions::default(),
            apply: ApplyOptions::default(),
            page_size: MAX_KEY_PAGE,
            max_delete_per_pass: None,
            pass_interval: Duration::ZERO,
            pages_per_run: None,
        }
    }
}

/// One stage of a pass: a kind of resource listed from one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Listed from the source (`false`: from the target, to prune).
    pub source: bool,
    /// The kind listed.
    pub kind: Kind,
}

impl Stage {
    /// `source/thing`, `target/thingGroup`: how the stage is saved and logged.
    pub fn name(&self) -> String {
        let side = if self.source { "source" } else { "target" };
        format!("{side}/{}", self.kind.as_str())
    }
}

/// The stages of a pass: the source's kinds in dependency order, then (with `prune`)
/// the target's in reverse order.
pub fn stages(options: &ReconcileOptions) -> Vec<Stage> {
    let kinds = Kind::ALL
        .into_iter()
        .filter(|k| options.filter.selects_kind(*k));
    let mut v: Vec<Stage> = kinds
        .clone()
        .map(|kind| Stage { source: true, kind })
        .collect();
    if options.prune {
        v.extend(kinds.rev().map(|kind| Stage {
            source: false,
            kind,
        }));
    }
    v
}

/// Where a pass stands, saved after every page (as JSON, under [`progress_name`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassProgress {
    /// The pass's number, from 1.
    pub pass: u64,
    /// When the pass started, in milliseconds since the epoch.
    pub started_millis: i64,
    /// The stage to continue with ([`Stage::name`]).
    pub stage: String,
    /// The cursor of the next page of that stage (`None`: its first page).
    pub cursor: Option<String>,
    /// Runs that worked on this pass.
    pub runs: u64,
    /// Pages reconciled.
    pub pages: u64,
    /// Keys listed from the source (a pass that listed none never deletes).
    pub source_keys: u64,
    /// Keys reconciled, with the companions their changes needed.
    pub keys: u64,
    /// Changes applied.
    pub applied: u64,
    /// Changes that failed or were skipped (the next pass tries them again).
    pub failed: u64,
    /// Resources deleted (with `prune`).
    pub deletes: u64,
    /// Stages restarted because their cursor was refused (an expired page token).
    pub restarts: u64,
    /// When the previous pass finished, in milliseconds since the epoch.
    pub previous_finished_millis: Option<i64>,
    /// How long the previous pass took, from its start to its end, in milliseconds.
    pub previous_duration_millis: Option<i64>,
}

impl PassProgress {
    /// Whether nothing of this pass has run yet.
    pub fn is_fresh(&self) -> bool {
        self.runs == 0 && self.pages == 0 && self.cursor.is_none()
    }

    /// When the next pass may start (with `interval` between the starts of two passes),
    /// in milliseconds since the epoch, while this pass has not started.
    pub fn not_before_millis(&self, interval: Duration) -> Option<i64> {
        let finished = self.previous_finished_millis?;
        let started = finished - self.previous_duration_millis.unwrap_or(0);
        (self.is_fresh() && !interval.is_zero()).then(|| started + interval.as_millis() as i64)
    }
}

impl PassProgress {
    fn new(pass: u64, first: &Stage, previous: Option<&PassProgress>, now: i64) -> Self {
        PassProgress {
            pass,
            started_millis: now,
            stage: first.name(),
            cursor: None,
            runs: 0,
            pages: 0,
            source_keys: 0,
            keys: 0,
            applied: 0,
            failed: 0,
            deletes: 0,
            restarts: 0,
            previous_finished_millis: previous.and_then(|p| p.previous_finished_millis),
            previous_duration_millis: previous.and_then(|p| p.previous_duration_millis),
        }
    }
}

/// The name under which the pass of `source` into `target` keeps its progress.
pub fn progress_name(source: &dyn Registry, target: &dyn Registry) -> String {
    format!("reconcile:{}->{}", source.location(), target.location())
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stop {
    /// The pass finished (the next run starts the next pass).
    Finished,
    /// The time budget left too little for another page.
    Budget,
    /// The run's page limit was reached.
    PageLimit,
    /// The last pass finished less than the pass interval after it started: the next
    /// pass starts later (nothing was read or written).
    Waiting,
}

/// What one run of a pass did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentReport {
    /// Why the run stopped.
    pub stopped: Stop,
    /// The progress saved at the end (of the next pass, when this one finished).
    pub progress: PassProgress,
    /// The pass this run worked on, when it finished in this run.
    pub finished_pass: Option<PassProgress>,
    /// Pages reconciled in this run.
    pub pages: u64,
    /// Keys reconciled in this run.
    pub keys: u64,
    /// Changes applied in this run.
    pub applied: u64,
    /// Changes failed or skipped in this run.
    pub failed: u64,
    /// Resources deleted in this run.
    pub deletes: u64,
    /// The first failed changes of this run (`api key: message`).
    pub failures: Vec<String>,
    /// How long the run took.
    #[serde(rename = "elapsedSeconds", serialize_with = "seconds")]
    pub elapsed: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Why a run of a pass failed. What the run did before is saved: the next run goes on
/// from the last page that finished.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Listing a registry failed (after the backend's retries).
    #[error("listing {location}: {source}")]
    List {
        /// The registry listed.
        location: String,
        /// The error.
        source: RegistryError,
    },
    /// Planning or applying a page failed as a whole.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// Another run advanced the pass since this one read it (overlapping runs).
    #[error(
        "the progress of {name} changed under this run (another run of the same pass is \
         going on); this run stopped"
    )]
    Overlap {
        /// The progress name.
        name: String,
    },
    /// A page would delete more than the pass may.
    #[error(
        "refusing to delete {wanted} resource(s) in {stage}: the pass has deleted {done} of \
         the {bound} it may (raise the bound if the deletes are intended)"
    )]
    DeleteBound {
        /// The stage.
        stage: String,
        /// Deletes the page would make.
        wanted: u64,
        /// Deletes already made in this pass.
        done: u64,
        /// The per-pass bound.
        bound: u64,
    },
    /// Pruning was asked without a per-pass bound, or the source listed nothing.
    #[error("{0}")]
    Refused(String),
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs a pass of `source` into `target` from where the last run stopped, page after
/// page, until the pass finishes, `deadline` leaves too little time for another page
/// (the longest page so far), or [`PassOptions::pages_per_run`] pages were done.
/// Progress is saved after every page.
pub async fn run_segment(
    source: &dyn Registry,
    target: &dyn Registry,
    state: &dyn StateStore,
    options: &PassOptions,
    deadline: Instant,
) -> Result<SegmentReport, PassError> {
    let started = Instant::now();
    let stages = stages(&options.reconcile);
    let Some(first) = stages.first().copied() else {
        return Err(PassError::Refused(
            "the filter selects no kind of resource: nothing to reconcile".into(),
        ));
    };
    if options.reconcile.prune && options.max_delete_per_pass.is_none() {
        return Err(PassError::Refused(
            "pruning needs a bound on the deletes of a pass (max_delete_per_pass)".into(),
        ));
    }
    let name = progress_name(source, target);
    let stored = state.get_progress(&name).await?;
    let mut revision = stored.as_ref().map(|p| p.revision);
    let mut progress = match stored.map(|p| serde_json::from_str::<PassProgress>(&p.value)) {
        None => PassProgress::new(1, &first, None, now_millis()),
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            tracing::warn!(%name, "the saved progress is unreadable ({e}); starting a new pass");
            PassProgress::new(1, &first, None, now_millis())
        }
    };
    if !stages.iter().any(|s| s.name() == progress.stage) {
        // The stages changed (another filter, prune switched off): the pass restarts.
        tracing::warn!(%name, stage = %progress.stage, "the saved stage is not a stage of this pass; starting the pass over");
        progress = PassProgress::new(progress.pass, &first, Some(&progress), now_millis());
    }
    let mut report = SegmentReport {
        stopped: Stop::Waiting,
        progress: progress.clone(),
        finished_pass: None,
        pages: 0,
        keys: 0,
        applied: 0,
        failed: 0,
        deletes: 0,
        failures: Vec::new(),
        elapsed: Duration::ZERO,
    };
    if let Some(at) = progress.not_before_millis(options.pass_interval) {
        if now_millis() < at {
            report.elapsed = started.elapsed();
            return Ok(report);
        }
        // The new pass starts now, not when the last one finished.
        progress.started_millis = now_millis();
    }
    progress.runs += 1;
    let mut longest = Duration::ZERO;
    loop {
        if options.pages_per_run.is_some_and(|m| report.pages >= m) {
            report.stopped = Stop::PageLimit;
            break;
        }
        if Instant::now() + longest >= deadline {
            report.stopped = Stop::Budget;
            break;
        }
        let page_started = Instant::now();
        let index = stages
            .iter()
            .position(|s| s.name() == progress.stage)
            .expect("the stage was checked");
        let stage = stages[index];
        let side = if stage.source { source } else { target };
        let listed = side
            .list_keys(stage.kind, progress.cursor.as_deref(), options.page_size)
            .await;
        let page = match listed {
            Ok(page) => page,
            // A kind the endpoint cannot list (moto lacks ListCACertificates, say) is
            // unknown there, not empty: the stage is passed over, as a full read
            // leaves an unlisted kind out of the comparison.
            Err(e) if e.class == ErrorClass::Unsupported && progress.cursor.is_none() => {
                tracing::warn!(stage = %progress.stage, "{} not listed: {e}", stage.kind.plural());
                KeyPage {
                    keys: Vec::new(),
                    next: None,
                }
            }
            Err(e) if progress.cursor.is_some() && e.class == ErrorClass::Invalid => {
                tracing::warn!(stage = %progress.stage, "the page cursor was refused ({e}); restarting the stage");
                progress.cursor = None;
                progress.restarts += 1;
                continue;
            }
            Err(e) => {
                save(state, &name, &progress, &mut revision).await?;
                return Err(PassError::List {
                    location: side.location(),
                    source: e,
                });
            }
        };
        let keys: BTreeSet<ResourceKey> = page
            .keys
            .into_iter()
            .filter(|k| options.reconcile.filter.matches_key(k))
            .collect();
        if stage.source {
            progress.source_keys += keys.len() as u64;
        }
        let mut unfinished = false;
        if !keys.is_empty() {
            match reconcile_page(
                source,
                target,
                &keys,
                &stage,
                options,
                &progress,
                deadline,
                &mut report,
            )
            .await
            {
                Ok(page) => {
                    progress.keys += page.keys;
                    progress.applied += page.applied;
                    progress.failed += page.failed;
                    progress.deletes += page.deletes;
                    unfinished = page.unfinished;
                }
                Err(e) => {
                    save(state, &name, &progress, &mut revision).await?;
                    return Err(e);
                }
            }
        }
        if unfinished {
            // The deadline stopped the apply: this page is done again next run.
            report.stopped = Stop::Budget;
            break;
        }
        report.pages += 1;
        progress.pages += 1;
        longest = longest.max(page_started.elapsed());
        progress.cursor = page.next;
        if progress.cursor.is_none() {
            match stages.get(index + 1) {
                Some(next) => progress.stage = next.name(),
                None => {
                    let now = now_millis();
                    let mut done = progress.clone();
                    done.previous_finished_millis = Some(now);
                    done.previous_duration_millis = Some(now - progress.started_millis);
                    tracing::info!(
                        pass = done.pass,
                        pages = done.pages,
                        keys = done.keys,
                        applied = done.applied,
                        failed = done.failed,
                        deletes = done.deletes,
                        runs = done.runs,
                        "reconcile pass finished"
                    );
                    progress = PassProgress::new(done.pass + 1, &first, Some(&done), now);
                    report.finished_pass = Some(done);
                    report.stopped = Stop::Finished;
                    save(state, &name, &progress, &mut revision).await?;
                    break;
                }
            }
        }
        save(state, &name, &progress, &mut revision).await?;
    }
    save(state, &name, &progress, &mut revision).await?;
    report.progress = progress;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What one page did.
struct PageResult {
    keys: u64,
    applied: u64,
    failed: u64,
    deletes: u64,
    /// The deadline stopped changes before they were sent.
    unfinished: bool,
}

#[allow(clippy::too_many_arguments)]
async fn reconcile_page(
    source: &dyn Registry,
    target: &dyn Registry,
    keys: &BTreeSet<ResourceKey>,
    stage: &Stage,
    options: &PassOptions,
    progress: &PassProgress,
    deadline: Instant,
    report: &mut SegmentReport,
) -> Result<PageResult, PassError> {
    let planned = plan_keys(source, target, keys, &options.reconcile).await?;
    let deletes = count_deletes(&planned.plan).deletes as u64;
    if deletes > 0 {
        if progress.source_keys == 0 {
            return Err(PassError::Refused(format!(
                "refusing to delete {deletes} resource(s) of {}: the source {} listed no \
                 resource at all in this pass (check the source region)",
                target.location(),
                source.location()
            )));
        }
        let bound = options.max_delete_per_pass.unwrap_or(0);
        if progress.deletes + deletes > bound {
            return Err(PassError::DeleteBound {
                stage: stage.name(),
                wanted: deletes,
                done: progress.deletes,
                bound,
            });
        }
    }
    let mut result = PageResult {
        keys: planned.keys.len() as u64,
        applied: 0,
        failed: 0,
        deletes: 0,
        unfinished: false,
    };
    report.keys += result.keys;
    if planned.plan.changes.is_empty() {
        return Ok(result);
    }
    let apply = ApplyOptions {
        deadline: Some(deadline),
        ..options.apply.clone()
    };
    let done = apply_fresh(
        target,
        &planned.plan,
        source,
        &planned.source_origin,
        &DeleteBound::Count(deletes),
        &apply,
        None,
    )
    .await?;
    for c in &done.changes {
        match &c.result {
            ChangeResult::Applied => {
                result.applied += 1;
                if is_counted_delete(&planned.plan.changes[c.index]) {
                    result.deletes += 1;
                }
            }
            ChangeResult::AlreadyInState => {}
            ChangeResult::Failed { message, api, .. } => {
                result.failed += 1;
                if report.failures.len() < MAX_LISTED_FAILURES {
                    report.failures.push(format!("{api} {}: {message}", c.key));
                }
            }
            ChangeResult::Skipped { reason } => {
                result.failed += 1;
                if report.failures.len() < MAX_LISTED_FAILURES {
                    report
                        .failures
                        .push(format!("{} {}: skipped: {reason}", c.api, c.key));
                }
            }
            ChangeResult::NotSent { .. } => result.unfinished = true,
        }
    }
    if let Some(e) = &done.commit_error {
        result.failed += done.changes.len() as u64;
        report.failures.push(format!("commit: {e}"));
    }
    report.applied += result.applied;
    report.failed += result.failed;
    report.deletes += result.deletes;
    Ok(result)
}

/// Saves the progress on the condition that nobody else did since `revision`.
async fn save(
    state: &dyn StateStore,
    name: &str,
    progress: &PassProgress,
    revision: &mut Option<u64>,
) -> Result<(), PassError> {
    let value = serde_json::to_string(progress).expect("the progress serialises");
    match state.put_progress(name, &value, *revision).await? {
        Some(r) => {
            *revision = Some(r);
            Ok(())
        }
        None => Err(PassError::Overlap {
            name: name.to_owned(),
        }),
    }
}
