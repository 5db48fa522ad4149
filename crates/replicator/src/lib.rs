//! The event path of iot-crr: from AWS IoT registry events and CloudTrail API events to
//! a target registry that matches the source.
//!
//! - [`Applier`] applies batches of events, version-aware and idempotent, with the
//!   keyed reconcile of `iot-crr-reconcile` and the state of `iot-crr-state`
//!   (checkpoints aside: those belong to the transport). What it guarantees is
//!   documented on the type.
//! - [`input`] turns JSON Lines and Kinesis records (plain or KPL-aggregated) into
//!   [`InRecord`]s.
//! - [`ApplyHandler`] applies the batches of a Kinesis consumer, [`run_replicator`]
//!   runs the long-running replicator (consumer, periodic reconcile, tombstone purge).
//! - [`pass`] is the full reconcile in pages that stops at a time budget and resumes
//!   from the state store (the scheduled Lambda reconciler).
//! - [`Metrics`] counts what happens, for the Prometheus endpoint ([`serve`]) and
//!   the logs.
//! - [`emit::EventEmitter`] makes the events AWS IoT would publish for changes applied
//!   to a registry (moto and snapshot files publish none), for tests and demos.

mod applier;
pub mod emit;
pub mod input;
mod metrics;
mod overlay;
pub mod pass;
pub mod serve;
mod stream;

pub use applier::{Applier, ApplierError, ApplierOptions, BatchOutcome, InRecord};
pub use metrics::{LAG_BUCKETS_MILLIS, Metrics, MetricsSnapshot};
pub use stream::{
    ApplyHandler, ReplicatorError, ReplicatorOptions, ReplicatorSummary, run_replicator,
};
