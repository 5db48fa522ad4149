//! The driver: accepts changes as they are produced, sends what the scheduler hands
//! out (with retries), reports every finished change, commits once at the end.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};
use iot_crr_model::{Change, Outcome, Plan, PlannedChange};
use iot_crr_registry::{ErrorClass, Registry, RetryPolicy};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::options::ApplyOptions;
use crate::report::{ApplyReport, ChangeRecord, ChangeResult, ResultCounts};
use crate::sched::{Finished, Scheduler, Seq};

/// Receives the progress of an apply (for a progress bar, metrics or checkpoints).
/// Called from the task that runs the apply, so implementations should be quick. Every
/// method does nothing unless implemented.
pub trait ApplyProgress: Send + Sync {
    /// The apply starts with `total` changes. [`apply_plan`] calls it; a caller of
    /// [`Engine::start`] calls it itself when it knows the total.
    fn started(&self, total: usize) {
        let _ = total;
    }

    /// One change is done: applied, already in state, failed, skipped or not sent.
    fn finished_one(&self, change: &Change, result: &ChangeResult) {
        let _ = (change, result);
    }

    /// One change is done, with the index it was submitted with (its position in the
    /// plan for [`apply_plan`]). Changes finish in any order. By default this calls
    /// [`finished_one`](Self::finished_one).
    fn finished(&self, index: usize, change: &PlannedChange, result: &ChangeResult) {
        let _ = index;
        self.finished_one(&change.change, result);
    }
}

/// A change handed to the engine: borrowed from a plan that outlives the apply, or
/// owned (a change produced on the fly).
#[derive(Debug, Clone)]
pub enum Submission<'a> {
    /// A change the caller keeps.
    Borrowed(&'a PlannedChange),
    /// A change the engine keeps until it is reported.
    Owned(Box<PlannedChange>),
}

impl Deref for Submission<'_> {
    type Target = PlannedChange;

    fn deref(&self) -> &PlannedChange {
        match self {
            Submission::Borrowed(c) => c,
            Submission::Owned(c) => c,
        }
    }
}

impl<'a> From<&'a PlannedChange> for Submission<'a> {
    fn from(c: &'a PlannedChange) -> Self {
        Submission::Borrowed(c)
    }
}

impl From<PlannedChange> for Submission<'_> {
    fn from(c: PlannedChange) -> Self {
        Submission::Owned(Box::new(c))
    }
}

/// A change was submitted after the apply it was meant for had been dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the apply was dropped; change {index} was not accepted")]
pub struct ApplyDropped {
    /// The index the change was submitted with.
    pub index: usize,
}

/// Where a producer submits changes to a running apply ([`Engine::start`]). Dropping it
/// (or [`close`](Self::close)) tells the apply that no more changes come.
#[derive(Debug)]
pub struct ChangeSink<'a> {
    tx: mpsc::UnboundedSender<(usize, Submission<'a>)>,
}

impl<'a> ChangeSink<'a> {
    /// Submits a change. `index` comes back with its result (in the progress callback
    /// and the report, which lists changes by index); the engine does not interpret it.
    ///
    /// **Contract**: every change must be submitted after the changes it depends on,
    /// as in plan order: same-resource changes in the order they must run, and a
    /// change after the lower-stage changes it needs. The engine computes each change's
    /// dependencies against everything submitted before it (finished or not); a change
    /// submitted too early is sent too early and may fail.
    ///
    /// Submitting never blocks: the apply keeps every submitted change until it is
    /// reported.
    pub fn submit(
        &self,
        index: usize,
        change: impl Into<Submission<'a>>,
    ) -> Result<(), ApplyDropped> {
        self.tx
            .send((index, change.into()))
            .map_err(|_| ApplyDropped { index })
    }

    /// No more changes come (the same as dropping the sink).
    pub fn close(self) {}
}

/// A running apply: a future that resolves to the [`ApplyReport`] once the
/// [`ChangeSink`] is closed and every submitted change is finished. Nothing happens
/// unless it is polled (await it, join it with the producer, or spawn it when its
/// borrows allow); dropping it cancels the apply (calls in flight are dropped, nothing
/// is committed).
#[must_use = "an apply does nothing unless awaited"]
pub struct ApplyRun<'a>(Pin<Box<dyn Future<Output = ApplyReport> + Send + 'a>>);

impl Future for ApplyRun<'_> {
    type Output = ApplyReport;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ApplyReport> {
        self.0.as_mut().poll(cx)
    }
}

/// The streaming apply engine; see [`Engine::start`].
#[derive(Debug, Clone, Copy)]
pub struct Engine;

impl Engine {
    /// Starts an apply to `registry` that accepts changes as they are produced.
    ///
    /// ```no_run
    /// # async fn example(plan: &iot_crr_model::Plan, target: &dyn iot_crr_registry::Registry) {
    /// use iot_crr_engine::{ApplyOptions, Engine};
    ///
    /// let (sink, run) = Engine::start(target, &ApplyOptions::default(), None);
    /// for (i, change) in plan.changes.iter().enumerate() {
    ///     sink.submit(i, change).expect("the run is alive");
    /// }
    /// sink.close();
    /// let report = run.await;
    /// # }
    /// ```
    ///
    /// The producer submits changes in an order in which every change comes after what
    /// it depends on (plan order does; see [`ChangeSink::submit`]), then closes the
    /// sink; the run resolves to the report once every change has finished. Submitting
    /// never blocks, so a producer may submit everything before awaiting the run, or
    /// run alongside it (`tokio::join!`).
    ///
    /// - **Dependencies, not barriers**: each change waits only for the changes the
    ///   rules of [`references`](crate::references) name (same resource, resources it
    ///   needs, deprecations after the things given the type; full barriers around the
    ///   early and prune stages). Independent API families run side by side, each at
    ///   the rate the registry allows it.
    /// - **Concurrency**: at most [`ApplyOptions::concurrency`] changes in flight, at
    ///   most [`ApplyOptions::api_concurrency`] of one API operation; a free slot goes to
    ///   the API operation with the fewest changes in flight, so a slow one (certificates)
    ///   never holds every slot while others have work.
    /// - **Retries**: unless the registry retries itself
    ///   ([`Capabilities::retries_internally`](iot_crr_registry::Capabilities::retries_internally)),
    ///   throttled, transient and maybe-applied errors are retried with
    ///   [`ApplyOptions::retry`], honouring the registry's retry-after hint (changes
    ///   are safe to repeat); other errors, or the last attempt's, are
    ///   [`ChangeResult::Failed`].
    /// - **Failed creates**: a change about a resource whose create failed or was
    ///   skipped, or that [requires](Change::requires) one, is not sent and is
    ///   [`ChangeResult::Skipped`]; independent changes go on.
    /// - **Deadline**: once [`ApplyOptions::deadline`] passes nothing new is sent (a
    ///   retry included); changes in flight finish, every other change (submitted
    ///   before or after) is [`ChangeResult::NotSent`], and
    ///   [`ApplyReport::unfinished_keys`] lists their resources.
    /// - Every finished change goes to `progress` ([`ApplyProgress::finished`]) as it
    ///   finishes; at the end [`Registry::commit`] is called once, whatever happened.
    ///
    /// Nothing is spawned: everything runs inside the returned [`ApplyRun`].
    pub fn start<'a>(
        registry: &'a dyn Registry,
        options: &ApplyOptions,
        progress: Option<&'a dyn ApplyProgress>,
    ) -> (ChangeSink<'a>, ApplyRun<'a>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let run = drive(registry, options.clone(), progress, rx);
        (ChangeSink { tx }, ApplyRun(Box::pin(run)))
    }
}

/// Applies `plan` to `registry` and reports what happened to every change: a
/// convenience over [`Engine::start`] that submits the plan's changes in stage order
/// (plan order for a plan from [`diff`](fn@iot_crr_model::diff); a hand-written plan out
/// of stage order is reordered, stably) and awaits the report. The report lists the
/// changes by plan index.
pub async fn apply_plan(
    plan: &Plan,
    registry: &dyn Registry,
    options: &ApplyOptions,
    progress: Option<&dyn ApplyProgress>,
) -> ApplyReport {
    if let Some(p) = progress {
        p.started(plan.changes.len());
    }
    let (sink, run) = Engine::start(registry, options, progress);
    let changes = &plan.changes;
    let submit = |i: usize| {
        // The run is alive (it is awaited below), so the sink accepts every change.
        let _ = sink.submit(i, &changes[i]);
    };
    if changes.is_sorted_by_key(|c| c.stage) {
        (0..changes.len()).for_each(submit);
    } else {
        let mut order: Vec<usize> = (0..changes.len()).collect();
        order.sort_by_key(|&i| changes[i].stage);
        order.into_iter().for_each(submit);
    }
    sink.close();
    run.await
}

/// Why a change was not sent once the deadline passed.
const DEADLINE: &str = "the deadline passed before it was sent";

/// How many submissions are taken in one go before the driver looks at results again.
const INTAKE_BATCH: usize = 1024;

/// A change that came back from the registry.
struct Sent<'a> {
    seq: Seq,
    change: Submission<'a>,
    result: ChangeResult,
    attempts: u32,
}

async fn drive<'a>(
    registry: &'a dyn Registry,
    options: ApplyOptions,
    progress: Option<&'a dyn ApplyProgress>,
    mut inbox: mpsc::UnboundedReceiver<(usize, Submission<'a>)>,
) -> ApplyReport {
    let start = std::time::Instant::now();
    let policy = if registry.capabilities().retries_internally {
        RetryPolicy::none()
    } else {
        options.retry
    };
    let deadline = options.deadline;
    let mut sched = Scheduler::new(options.concurrency, &options.api_concurrency);
    let mut sending = FuturesUnordered::new();
    let mut report = Reporter {
        progress,
        records: Vec::new(),
        counts: ResultCounts::default(),
        retries: 0,
    };
    let mut open = true;
    // Never fires when there is no deadline (the branch is disabled).
    let timer = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
    tokio::pin!(timer);

    loop {
        if let Some(d) = deadline
            && !sched.is_cut()
            && Instant::now() >= d
        {
            cut(&mut sched);
        }
        while let Some((seq, change)) = sched.next_to_send() {
            sending.push(send(registry, policy, deadline, seq, change));
        }
        report.all(sched.take_finished());
        if !open && sched.is_idle() {
            break;
        }
        tokio::select! {
            biased;
            Some(sent) = sending.next(), if !sending.is_empty() => {
                report.retries += u64::from(sent.attempts.saturating_sub(1));
                sched.complete(sent.seq, sent.change, sent.result, sent.attempts);
            }
            received = inbox.recv(), if open => match received {
                Some((index, change)) => {
                    sched.submit(index, change);
                    for _ in 1..INTAKE_BATCH {
                        match inbox.try_recv() {
                            Ok((index, change)) => sched.submit(index, change),
                            Err(_) => break,
                        }
                    }
                }
                None => open = false,
            },
            () = &mut timer, if deadline.is_some() && !sched.is_cut() => cut(&mut sched),
            else => {
                // No input, nothing in flight, no deadline to wait for, and still
                // changes waiting: impossible by the rules (every wait is on an earlier
                // change), but never hang on it.
                tracing::error!("the apply scheduler stalled; the waiting changes are not sent");
                sched.abandon("not sent: the scheduler stalled (a bug in iot-crr)");
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
    let mut changes = report.records;
    changes.sort_by_key(|r| r.index);
    ApplyReport {
        target: registry.location(),
        changes,
        counts: report.counts,
        elapsed: start.elapsed(),
        retries: report.retries,
        commit_error,
        api_calls: registry.api_calls().into_iter().collect(),
    }
}

fn cut(sched: &mut Scheduler<'_>) {
    tracing::info!(
        in_flight = sched.in_flight(),
        "the deadline passed: changes in flight finish, nothing more is sent"
    );
    sched.cut(DEADLINE);
}

/// Reports finished changes: progress, logs, records, counts.
struct Reporter<'a> {
    progress: Option<&'a dyn ApplyProgress>,
    records: Vec<ChangeRecord>,
    counts: ResultCounts,
    retries: u64,
}

impl Reporter<'_> {
    fn all(&mut self, finished: Vec<Finished<'_>>) {
        for f in finished {
            let change = &f.change.change;
            match &f.result {
                ChangeResult::Failed { .. } => tracing::warn!(change = %change, "{}", f.result),
                ChangeResult::Skipped { reason } | ChangeResult::NotSent { reason } => {
                    tracing::debug!(change = %change, "{}: {reason}", f.result.label())
                }
                _ => {}
            }
            if let Some(p) = self.progress {
                p.finished(f.index, &f.change, &f.result);
            }
            self.counts.add(&f.result);
            self.records.push(ChangeRecord {
                index: f.index,
                stage: f.change.stage,
                api: change.api(),
                key: change.key(),
                description: change.to_string(),
                attempts: f.attempts,
                result: f.result,
            });
        }
    }
}

/// Sends a change, retrying throttled, transient and maybe-applied errors as `policy`
/// says, but never past the deadline.
async fn send<'a>(
    registry: &'a dyn Registry,
    policy: RetryPolicy,
    deadline: Option<Instant>,
    seq: Seq,
    change: Submission<'a>,
) -> Sent<'a> {
    let c = &change.change;
    let first = Instant::now();
    let (mut attempt, mut counted) = (0, 0);
    let result = loop {
        attempt += 1;
        counted += 1;
        match registry.apply(c).await {
            Ok(Outcome::Applied) => break ChangeResult::Applied,
            Ok(Outcome::AlreadyInState) => break ChangeResult::AlreadyInState,
            Err(e)
                if (e.class.is_retryable() || e.maybe_applied)
                    && policy.may_retry(e.class, counted, first.elapsed()) =>
            {
                if e.class == ErrorClass::Throttled && first.elapsed() < policy.throttle_patience {
                    // Throttling within the patience is not a failed attempt.
                    counted -= 1;
                }
                let wait = policy.backoff(e.class, attempt, e.retry_after);
                if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                    break ChangeResult::NotSent {
                        reason: format!(
                            "the deadline passed before retry {attempt} could be sent (last error: {e})"
                        ),
                    };
                }
                tracing::debug!(
                    change = %c, class = %e.class, attempt, wait_ms = wait.as_millis() as u64,
                    "retrying after {e}"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                break ChangeResult::Failed {
                    class: e.class,
                    api: e.api.unwrap_or_else(|| c.api().to_string()),
                    message: e.message,
                    attempts: attempt,
                };
            }
        }
    };
    Sent {
        seq,
        change,
        result,
        attempts: attempt,
    }
}
