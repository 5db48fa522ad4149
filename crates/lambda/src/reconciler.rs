//! The reconciler: the scheduled full reconcile, one resumable segment per invocation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use iot_crr_registry::Registry;
use iot_crr_replicator::pass::{PassError, PassOptions, SegmentReport, run_segment};
use iot_crr_state::StateStore;

/// Time left for the calls in flight and the last progress save when the Lambda
/// deadline, rather than the budget, ends a run.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The budget of a run when none is configured: under Lambda's 15-minute limit.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(840);

/// Why an invocation of the reconciler failed. Its progress is saved either way; the
/// next scheduled invocation goes on from it.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileRunError {
    /// The pass could not go on (see [`PassError`]).
    #[error(transparent)]
    Pass(#[from] PassError),
    /// The run went on, but changes failed: reported as a failed invocation so that the
    /// errors alarm sees it (the next pass tries them again).
    #[error("{failed} change(s) failed in this run, for example: {first}")]
    Changes {
        /// Changes failed or skipped.
        failed: u64,
        /// The first failure.
        first: String,
        /// The run's report.
        report: Box<SegmentReport>,
    },
}

/// The scheduled reconciler: the registries, the state store and what a pass does,
/// built once per container.
pub struct Reconciler {
    source: Arc<dyn Registry>,
    target: Arc<dyn Registry>,
    state: Arc<dyn StateStore>,
    options: PassOptions,
    budget: Duration,
}

impl Reconciler {
    /// A reconciler of `source` into `target` that works at most `budget` per run.
    pub fn new(
        source: Arc<dyn Registry>,
        target: Arc<dyn Registry>,
        state: Arc<dyn StateStore>,
        options: PassOptions,
        budget: Duration,
    ) -> Self {
        Reconciler {
            source,
            target,
            state,
            options,
            budget,
        }
    }

    /// The deadline of a run that starts now: the budget, or the Lambda deadline less
    /// [`DEADLINE_MARGIN`] when that comes first.
    pub fn deadline(&self, lambda_deadline: Option<SystemTime>) -> Instant {
        let now = Instant::now();
        let by_budget = now + self.budget;
        match lambda_deadline.and_then(|d| d.duration_since(SystemTime::now()).ok()) {
            Some(left) => by_budget.min(now + left.saturating_sub(DEADLINE_MARGIN)),
            None => by_budget,
        }
    }

    /// One invocation: the pass goes on from its saved position until it finishes or
    /// the deadline leaves no time for another page. The report is the answer and one
    /// log line (`reconcile run`, its counts as fields); failed changes are logged one
    /// by one and fail the invocation, after the progress was saved.
    pub async fn run(
        &self,
        lambda_deadline: Option<SystemTime>,
    ) -> Result<SegmentReport, ReconcileRunError> {
        let deadline = self.deadline(lambda_deadline);
        let report = run_segment(
            self.source.as_ref(),
            self.target.as_ref(),
            self.state.as_ref(),
            &self.options,
            deadline,
        )
        .await
        .inspect_err(|e| tracing::error!("reconcile run failed: {e}"))?;
        tracing::info!(
            stopped = ?report.stopped,
            pass = report.progress.pass,
            stage = %report.progress.stage,
            pages = report.pages,
            keys = report.keys,
            applied = report.applied,
            failed = report.failed,
            deletes = report.deletes,
            pass_pages = report.progress.pages,
            seconds = report.elapsed.as_secs_f64(),
            "reconcile run"
        );
        for failure in &report.failures {
            tracing::warn!(%failure, "reconcile change failed");
        }
        if report.failed > 0 {
            return Err(ReconcileRunError::Changes {
                failed: report.failed,
                first: report.failures.first().cloned().unwrap_or_default(),
                report: Box::new(report),
            });
        }
        Ok(report)
    }
}
