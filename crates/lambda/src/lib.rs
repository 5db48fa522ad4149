//! The AWS Lambda handlers of iot-crr, as library functions over the shared reconciler
//! and event-path libraries; the binaries in `src/bin` only build the clients once per
//! container and hand each invocation to these functions.
//!
//! - [`forward`] (source region, function `iot-crr-forwarder`): one registry event (an
//!   IoT rule invocation: the payload with its `topic`) or one EventBridge CloudTrail
//!   event, written to the destination's Kinesis stream with the resource key as
//!   partition key. Any event it could not write fails the invocation: never a silent
//!   drop.
//! - [`apply_kinesis`] (destination region, function `iot-crr-applier`): a Kinesis
//!   batch, de-aggregated and applied with the version-aware
//!   [`Applier`](iot_crr_replicator::Applier); the response's `batchItemFailures`
//!   names the first Kinesis record of a retryable failure, so that only it and what
//!   follows it in its shard are retried. Poison (malformed, unknown, refused for good)
//!   is sent to the dead-letter SQS queue with its data and reason by the handler
//!   ([`SqsDeadLetters`]) and counts as handled.
//! - [`Reconciler`] (destination region, function `iot-crr-reconciler`, on a
//!   schedule): the full reconcile of the source into this region as a resumable pass
//!   ([`iot_crr_replicator::pass`]): each invocation goes on from where the last one
//!   stopped, page by page, until its time budget, saving its position in the state
//!   table, so that a registry of any size is reconciled over several invocations.
//!   When a run finishes a pass, it judges the failover readiness of this region (every
//!   device the source accepts, in the time left) and writes it as CloudWatch metrics in
//!   the embedded metric format ([`readiness_emf`]).
//!
//! [`Config`] reads the environment the CloudFormation templates in `deploy/` set.

mod applier;
mod config;
mod dead_letters;
mod destination;
mod forwarder;
mod reconciler;

pub use applier::apply_kinesis;
pub use config::{Config, ConfigError, DEFAULT_METRICS_NAMESPACE};
pub use dead_letters::{DeadLetterSink, MemorySink, SqsDeadLetters, SqsSink, message_body};
pub use destination::{Destination, OpenError};
pub use forwarder::{ForwardError, ForwardOutcome, forward};
pub use reconciler::{
    DEADLINE_MARGIN, DEFAULT_TIME_BUDGET, DEVICES_NOT_READY, DEVICES_NOT_READY_BY_REASON,
    DEVICES_READY, MetricsWriter, REASON_DIMENSION, ReadinessMetrics, ReconcileRunError,
    Reconciler, RunReport, readiness_emf,
};

/// Logs to stderr (CloudWatch Logs) as JSON, one object a line, filtered by `RUST_LOG`
/// (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .json()
        .flatten_event(true)
        .init();
}
