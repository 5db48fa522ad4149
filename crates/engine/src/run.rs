//! Plan execution: stages in order, bounded concurrency within a stage, one resource's
//! changes in plan order, retries, dependency-aware skipping, then the commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use iot_crr_model::{Action, Change, Outcome, Plan, ResourceKey};
use iot_crr_registry::{Registry, RetryPolicy};

use crate::options::ApplyOptions;
use crate::report::{ApplyReport, ChangeRecord, ChangeResult, ResultCounts};

/// Receives the progress of an apply (for a progress bar or metrics). Called from the
/// task that runs [`apply_plan`], so implementations should be quick.
pub trait ApplyProgress: Send + Sync {
    /// The apply starts with `total` changes.
    fn started(&self, total: usize);
    /// One change is done: applied, already in state, failed or skipped.
    fn finished_one(&self, change: &Change, result: &ChangeResult);
}

/// Why a resource that later changes depend on is missing.
#[derive(Debug, Clone, Copy)]
enum Missing {
    /// Its create was sent and failed.
    Failed,
    /// Its create was not sent.
    Skipped,
}

/// State shared by the changes of one apply.
struct Run<'a> {
    plan: &'a Plan,
    registry: &'a dyn Registry,
    options: &'a ApplyOptions,
    progress: Option<&'a dyn ApplyProgress>,
    /// Resources whose create failed or was skipped.
    missing: Mutex<HashMap<ResourceKey, Missing>>,
    retries: AtomicU64,
}

/// The result of one change with the number of calls it took.
type Done = (usize, ChangeResult, u32);

/// Applies `plan` to `registry` and reports what happened to every change.
///
/// - **Stages** run in ascending order; a stage starts when every change of the earlier
///   stages has finished.
/// - Within a stage, up to [`ApplyOptions::concurrency`] changes are in flight at once,
///   but changes with the same [`Change::key`] run one after the other, in plan order.
/// - A call failing with a retryable error class (or one that may have been applied) is
///   retried after a jittered backoff ([`RetryPolicy`]), unless the registry retries
///   itself; any other error, or the last attempt's, is recorded as
///   [`ChangeResult::Failed`].
/// - **Dependency safety**: when a create fails (or is skipped), every later change about
///   that resource, or that [requires](Change::requires) it, is not sent and is recorded
///   as [`ChangeResult::Skipped`] (`depends on thing/t1, which failed`). Other changes go
///   on.
/// - After the last stage, [`Registry::commit`] is called once, whatever happened; its
///   failure is recorded in [`ApplyReport::commit_error`].
///
/// Nothing is spawned: dropping the returned future cancels the apply (calls in flight
/// are dropped; a buffering backend then has nothing committed).
pub async fn apply_plan(
    plan: &Plan,
    registry: &dyn Registry,
    options: &ApplyOptions,
    progress: Option<&dyn ApplyProgress>,
) -> ApplyReport {
    let start = Instant::now();
    let total = plan.changes.len();
    if let Some(p) = progress {
        p.started(total);
    }
    let run = Run {
        plan,
        registry,
        options,
        progress,
        missing: Mutex::new(HashMap::new()),
        retries: AtomicU64::new(0),
    };

    let mut stages: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, pc) in plan.changes.iter().enumerate() {
        stages.entry(pc.stage).or_default().push(i);
    }
    let mut results: Vec<Option<(ChangeResult, u32)>> = vec![None; total];
    let concurrency = options.concurrency.max(1);
    for (stage, indices) in stages {
        tracing::debug!(stage, changes = indices.len(), "apply stage");
        let groups = group_by_key(plan, indices);
        let mut done =
            stream::iter(groups.into_iter().map(|g| run.group(g))).buffer_unordered(concurrency);
        while let Some(group) = done.next().await {
            for (i, result, attempts) in group {
                results[i] = Some((result, attempts));
            }
        }
    }

    let commit_error = match registry.commit().await {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(target = %registry.location(), error = %e, "commit failed");
            Some(e.to_string())
        }
    };

    let mut counts = ResultCounts::default();
    let changes = plan
        .changes
        .iter()
        .zip(results)
        .enumerate()
        .map(|(index, (pc, r))| {
            let (result, attempts) = r.expect("every change of every stage has a result");
            counts.add(&result);
            ChangeRecord {
                index,
                stage: pc.stage,
                api: pc.change.api(),
                key: pc.change.key(),
                description: pc.change.to_string(),
                attempts,
                result,
            }
        })
        .collect();
    ApplyReport {
        target: registry.location(),
        changes,
        counts,
        elapsed: start.elapsed(),
        retries: run.retries.load(Ordering::Relaxed),
        commit_error,
        api_calls: registry.api_calls().into_iter().collect(),
    }
}

/// Splits a stage's changes into per-resource groups: each group in plan order, groups
/// in the order of their first change.
fn group_by_key(plan: &Plan, indices: Vec<usize>) -> Vec<Vec<usize>> {
    let mut slot: HashMap<ResourceKey, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in indices {
        let key = plan.changes[i].change.key();
        let g = *slot.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

impl Run<'_> {
    /// Runs one resource's changes of a stage, one after the other.
    async fn group(&self, indices: Vec<usize>) -> Vec<Done> {
        let mut out = Vec::with_capacity(indices.len());
        for i in indices {
            let change = &self.plan.changes[i].change;
            let (result, attempts) = match self.blocked(change) {
                Some(reason) => (ChangeResult::Skipped { reason }, 0),
                None => self.send(change).await,
            };
            self.settle(change, &result);
            out.push((i, result, attempts));
        }
        out
    }

    /// Why `change` must not be sent, if it must not.
    fn blocked(&self, change: &Change) -> Option<String> {
        let missing = self.lock_missing();
        if missing.is_empty() {
            return None;
        }
        let key = change.key();
        std::iter::once(key).chain(change.requires()).find_map(|k| {
            missing.get(&k).map(|m| match m {
                Missing::Failed => format!("depends on {k}, which failed"),
                Missing::Skipped => format!("depends on {k}, which was skipped"),
            })
        })
    }

    /// Sends a change, retrying throttled, transient and maybe-applied errors (unless
    /// the registry retries itself); returns the result and the calls made.
    async fn send(&self, change: &Change) -> (ChangeResult, u32) {
        let policy = if self.registry.capabilities().retries_internally {
            RetryPolicy::none()
        } else {
            self.options.retry
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.registry.apply(change).await {
                Ok(Outcome::Applied) => return (ChangeResult::Applied, attempt),
                Ok(Outcome::AlreadyInState) => return (ChangeResult::AlreadyInState, attempt),
                Err(e)
                    if (e.class.is_retryable() || e.maybe_applied)
                        && attempt < policy.attempts() =>
                {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = policy.backoff(e.class, attempt, e.retry_after);
                    tracing::debug!(
                        change = %change, class = %e.class, attempt, wait_ms = wait.as_millis() as u64,
                        "retrying after {e}"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    let result = ChangeResult::Failed {
                        class: e.class,
                        api: e.api.unwrap_or_else(|| change.api().to_string()),
                        message: e.message,
                        attempts: attempt,
                    };
                    return (result, attempt);
                }
            }
        }
    }

    /// Records the consequences of a finished change and reports it.
    fn settle(&self, change: &Change, result: &ChangeResult) {
        let missing = match result {
            ChangeResult::Failed { .. } => {
                tracing::warn!(change = %change, "{result}");
                Some(Missing::Failed)
            }
            ChangeResult::Skipped { reason } => {
                tracing::debug!(change = %change, "skipped: {reason}");
                Some(Missing::Skipped)
            }
            _ => None,
        };
        if let Some(m) = missing
            && change.action() == Action::Create
        {
            self.lock_missing().entry(change.key()).or_insert(m);
        }
        if let Some(p) = self.progress {
            p.finished_one(change, result);
        }
    }

    fn lock_missing(&self) -> std::sync::MutexGuard<'_, HashMap<ResourceKey, Missing>> {
        // The map is only inserted into, so a panic elsewhere cannot leave it
        // inconsistent: a poisoned lock is still usable.
        self.missing.lock().unwrap_or_else(|p| p.into_inner())
    }
}
