//! The reconciler of iot-crr: everything between "two registry locations" and "the
//! target equals the source", as one library that every entry point calls (the
//! `iot-crr` CLI today; the long-running replicator and the Lambda handlers next), so
//! that none of them holds a copy of the logic.
//!
//! - [`open`](open::open) turns a location (`file:PATH`, `aws:REGION`, `memory:`) into
//!   a registry. A missing `file:` *source* is an error, never an empty registry.
//! - [`compare`] reads both sides, resolves ARN rewriting from what the registries
//!   tell ([`RewriteSpec`]), leaves tags out when a side cannot use them
//!   ([`Registry::capabilities`](iot_crr_registry::Registry::capabilities)), and
//!   diffs them into a [`Plan`](iot_crr_model::Plan).
//! - [`plan_keys`] does the same for a set of resource keys without reading whole
//!   registries: it diffs over [`PartialView`](iot_crr_model::PartialView)s and reads
//!   (`read_resource`, `related`) only what the diff asks, round after round, then
//!   adds the resources the keys' changes need (the diff's companions) until the plan
//!   applies on its own.
//! - [`readiness`] reads both sides whole and judges, device by device, whether the
//!   target would accept each device the source accepts (`iot-crr-readiness`), and can
//!   ask AWS IoT's `TestAuthorization` about a sample of them ([`CrossCheck`]).
//! - [`check_deletes`] refuses a plan that deletes more than a bound
//!   ([`DeleteBound`], 10 % of the target by default), and any delete when the source
//!   is empty unless the bound was set explicitly: a typo in a source location never
//!   empties a target.
//! - [`apply_checked`] applies a saved plan after checking that the target has not
//!   changed since (its fingerprint), [`sync`] and [`reconcile_keys`] compare and
//!   apply in one call, through the engine (`iot-crr-engine`).
//!
//! ```no_run
//! # async fn example() -> Result<(), iot_crr_reconcile::ReconcileError> {
//! use iot_crr_model::{Kind, ResourceKey};
//! use iot_crr_reconcile::{BackendOptions, Endpoint, ReconcileOptions, Role, open, reconcile_keys};
//!
//! let backend = BackendOptions::default();
//! let source = open(&Endpoint::parse("aws:us-east-1")?, Role::Source, &backend).await?;
//! let target = open(&Endpoint::parse("aws:eu-west-1")?, Role::Target, &backend).await?;
//! let keys = [ResourceKey::new(Kind::Thing, "sensor-1")].into_iter().collect();
//! let done = reconcile_keys(
//!     source.as_ref(),
//!     target.as_ref(),
//!     &keys,
//!     &ReconcileOptions::default(),
//!     &Default::default(),
//! )
//! .await?;
//! println!("{} change(s): {}", done.plan.changes.len(), done.report.counts.applied);
//! # Ok(())
//! # }
//! ```

mod apply;
mod compare;
mod error;
mod guard;
mod keyed;
pub mod open;
mod options;
mod overlap;
mod pems;
mod progress;
mod readiness;

pub use apply::{SyncOutcome, apply_checked, apply_fresh, sync};
pub use compare::{Comparison, compare, origin_of, read};
pub use error::ReconcileError;
pub use guard::{DeleteCount, check_deletes, count_deletes, is_counted_delete};
pub use keyed::{KeyedOutcome, KeyedPlan, plan_keys, reconcile_keys, reconcile_keys_with};
pub use open::{BackendOptions, Endpoint, Role, open};
pub use options::{
    DEFAULT_MAX_DELETE_PERCENT, DeleteBound, DeleteBoundError, ReconcileOptions, RewriteSpec,
    parse_arn_map, parse_map_arn, read_arn_map,
};
pub use overlap::{overlaps, sync_overlapped};
pub use pems::{SourcePems, fill_certificate_pems, plan_lacks_pems};
pub use progress::Progress;
pub use readiness::{CrossCheck, Disagreement, ReadinessOptions, ReadinessRun, readiness};

/// The result type of the reconciler.
pub type Result<T, E = ReconcileError> = std::result::Result<T, E>;
