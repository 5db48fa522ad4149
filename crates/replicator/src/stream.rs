//! The event path over Kinesis: a consumer handler that applies batches, and the
//! long-running replicator (consumer, periodic reconcile, metrics endpoint, shutdown).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use iot_crr_engine::ApplyOptions;
use iot_crr_kinesis::{Batch, ConsumeSummary, Consumer, Handler, HandlerError};
use iot_crr_reconcile::{Progress, ReadinessOptions, ReconcileOptions, readiness, sync};
use iot_crr_registry::Registry;
use iot_crr_state::DEFAULT_TOMBSTONE_RETENTION_MILLIS;
use tokio::sync::watch;

use crate::applier::now_millis;
use crate::input::kinesis_records;
use crate::{Applier, ApplierError};

/// Applies the batches of a Kinesis consumer: de-aggregates KPL records, puts a
/// record that cannot be de-aggregated in the dead letters, applies the rest with the
/// [`Applier`]. A retryable fault refuses the batch, so that the consumer delivers it
/// again and checkpoints nothing of it.
pub struct ApplyHandler {
    applier: Arc<Applier>,
}

impl ApplyHandler {
    /// A handler applying with `applier`.
    pub fn new(applier: Arc<Applier>) -> Self {
        ApplyHandler { applier }
    }
}

#[async_trait]
impl Handler for ApplyHandler {
    async fn handle(&self, batch: &Batch) -> Result<(), HandlerError> {
        let mut records = Vec::new();
        let mut bad = 0usize;
        for r in &batch.records {
            match kinesis_records(
                &batch.stream,
                &batch.shard_id,
                &r.sequence_number,
                &r.partition_key,
                &r.data,
            ) {
                Ok(rs) => records.extend(rs),
                Err(b) => {
                    self.applier.dead_letter_record(b).await?;
                    bad += 1;
                }
            }
        }
        let out = match self.applier.apply_batch(&records).await {
            Ok(out) => out,
            Err(e) => {
                if e.is_retryable() {
                    self.applier.metrics().batch_retried();
                }
                return Err(Box::new(e));
            }
        };
        tracing::info!(
            stream = %batch.stream,
            shard = %batch.shard_id,
            records = batch.records.len(),
            events = out.received,
            applied = out.applied,
            skipped = out.stale,
            dead_lettered = out.dead_lettered + bad,
            writes = out.writes,
            reads = out.reads,
            millis_behind_latest = batch.millis_behind_latest,
            "batch applied"
        );
        Ok(())
    }
}

/// How the long-running replicator works besides its consumer.
#[derive(Debug, Clone, Default)]
pub struct ReplicatorOptions {
    /// Run a full reconcile of the source into the target this often (it heals what
    /// the events missed); `None`: never. Needs a source.
    pub reconcile_every: Option<Duration>,
    /// The full reconcile's options (prune, filter, rewriting, delete bound).
    pub reconcile: ReconcileOptions,
    /// How the full reconcile applies.
    pub apply: ApplyOptions,
    /// How long tombstones are kept (default
    /// [`DEFAULT_TOMBSTONE_RETENTION_MILLIS`]); purged at each reconcile tick and at
    /// start.
    pub tombstone_retention: Option<Duration>,
    /// After each full reconcile, judge every device's failover readiness in the
    /// target (both registries read again) and publish it in the metrics
    /// (`iot_crr_devices_ready`, `iot_crr_devices_not_ready{reason}`).
    pub readiness: bool,
}

/// What a replicator run did.
#[derive(Debug, Clone, Default)]
pub struct ReplicatorSummary {
    /// The consumer's summary.
    pub consumed: ConsumeSummary,
    /// Full reconciles completed.
    pub reconciles: u64,
}

/// Runs the replicator: the consumer applying events through `applier` until
/// `shutdown` turns true (the batch in hand is finished and checkpointed) or the
/// consumer returns (idle exit, a fatal error), with a full reconcile every
/// `options.reconcile_every` beside it.
pub async fn run_replicator(
    consumer: Consumer,
    applier: Arc<Applier>,
    options: ReplicatorOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<ReplicatorSummary, ReplicatorError> {
    let retention = options
        .tombstone_retention
        .map(|d| d.as_millis() as i64)
        .unwrap_or(DEFAULT_TOMBSTONE_RETENTION_MILLIS);
    purge(&applier, retention).await;
    let handler = Arc::new(ApplyHandler::new(applier.clone()));
    let consume = consumer.run(handler, shutdown.clone());
    tokio::pin!(consume);
    let mut reconciles = 0;
    let mut next = options.reconcile_every.map(|d| Instant::now() + d);
    loop {
        let wait = next.map(|n| n.saturating_duration_since(Instant::now()));
        tokio::select! {
            result = &mut consume => {
                let consumed = result?;
                return Ok(ReplicatorSummary { consumed, reconciles });
            }
            _ = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600))), if wait.is_some() => {
                if reconcile_once(&applier, &options).await {
                    reconciles += 1;
                }
                purge(&applier, retention).await;
                next = options.reconcile_every.map(|d| Instant::now() + d);
            }
        }
    }
}

async fn purge(applier: &Applier, retention_millis: i64) {
    match applier
        .state()
        .purge_tombstones(now_millis() - retention_millis)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "tombstones past their retention purged"),
        Err(e) => tracing::warn!("purging tombstones: {e}"),
    }
}

/// One full reconcile; failures are logged and counted, never fatal (the next tick
/// tries again).
async fn reconcile_once(applier: &Applier, options: &ReplicatorOptions) -> bool {
    let Some(source) = applier.source() else {
        return false;
    };
    let started = Instant::now();
    let result = sync(
        source.as_ref(),
        applier.target().as_ref(),
        &options.reconcile,
        &options.apply,
        &Progress::default(),
    )
    .await;
    let ok = match &result {
        Ok(outcome) => {
            let applied = outcome.report.as_ref().map_or(0, |r| r.counts.applied);
            let failed = outcome.report.as_ref().map_or(0, |r| r.counts.failed);
            tracing::info!(
                changes = outcome.comparison.plan.changes.len(),
                applied,
                failed,
                seconds = started.elapsed().as_secs_f64(),
                "periodic reconcile"
            );
            failed == 0
        }
        Err(e) => {
            tracing::warn!("periodic reconcile failed: {e}");
            false
        }
    };
    applier.metrics().reconciled(ok);
    if ok && options.readiness {
        readiness_once(source.as_ref(), applier, options).await;
    }
    ok
}

/// Judges the target's readiness after a reconcile and publishes it; a failure is
/// logged, never fatal.
async fn readiness_once(source: &dyn Registry, applier: &Applier, options: &ReplicatorOptions) {
    let started = Instant::now();
    let r = &options.reconcile.rewrite;
    let readiness_options = ReadinessOptions {
        filter: options.reconcile.filter.clone(),
        source_region: r.source_region.clone(),
        source_account: r.source_account.clone(),
        target_region: r.target_region.clone(),
        target_account: r.target_account.clone(),
        cross_check: 0,
    };
    match readiness(
        source,
        applier.target().as_ref(),
        &readiness_options,
        &Progress::default(),
    )
    .await
    {
        Ok(run) => {
            let summary = run.assessment.summary();
            tracing::info!(
                devices = summary.devices,
                ready = summary.ready,
                not_ready = summary.not_ready + summary.cannot_decide,
                not_ready_in_source = summary.not_ready_in_source,
                seconds = started.elapsed().as_secs_f64(),
                "failover readiness"
            );
            applier.metrics().readiness(&summary);
        }
        Err(e) => tracing::warn!("failover readiness failed: {e}"),
    }
}

/// Why the replicator stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplicatorError {
    /// The consumer failed for good (a missing stream, access denied, a state store
    /// failure).
    #[error(transparent)]
    Kinesis(#[from] iot_crr_kinesis::KinesisError),
    /// The applier failed for good.
    #[error(transparent)]
    Apply(#[from] ApplierError),
}
