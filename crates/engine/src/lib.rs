//! The apply engine of iot-crr: executes changes of a [`Plan`](iot_crr_model::Plan)
//! against any [`Registry`](iot_crr_registry::Registry) and reports what happened to
//! every change.
//!
//! [`Engine::start`] accepts changes as they are produced (a [`ChangeSink`]) and
//! resolves to the report once the sink is closed and every change has finished;
//! [`apply_plan`] is the same for a whole plan. There are no barriers between stages
//! but dependencies, derived from the plan as changes arrive (see [`references`]):
//!
//! - changes about the same resource run one after another, in plan order;
//! - a change waits for the earlier-stage changes about every resource it uses (its
//!   thing type, billing group, group, parent group, policy, certificate);
//! - deprecating a thing type waits for the things created or retyped with it;
//! - the early stages (re-created groups detached and deleted) and the prune stages
//!   (detaches and deletes) keep full barriers: deletes need whatever refers to the
//!   deleted resource gone, and these stages are small.
//!
//! So independent API families run side by side, each at the rate the registry allows
//! it: things, groups and memberships proceed while certificates register. At most
//! [`ApplyOptions::concurrency`] changes are in flight (optionally fewer per API
//! operation), a free slot going to the API operation with the fewest in flight.
//! Throttled, transient and maybe-applied failures are retried with the registry
//! crate's [`RetryPolicy`] (unless the registry retries itself); other failures are
//! recorded, and the changes that depend on a failed create are skipped instead of
//! sent, while independent changes go on. An optional deadline stops sending: changes
//! in flight finish, the rest are reported as not sent with the resources to resume
//! ([`ApplyReport::unfinished_keys`]). At the end the registry is committed once (the
//! snapshot-file backend writes its file then).
//!
//! The result is an [`ApplyReport`]: one [`ChangeResult`] per change by plan index,
//! totals, retries, API call counts and any commit error; it serialises to JSON and
//! displays as a summary with one line per failure. [`ApplyProgress`] sees each change
//! as it finishes, with its index (for progress bars and checkpoints).
//!
//! ```no_run
//! # async fn example(plan: &iot_crr_model::Plan, target: &dyn iot_crr_registry::Registry) {
//! use iot_crr_engine::{ApplyOptions, apply_plan};
//!
//! let report = apply_plan(plan, target, &ApplyOptions::default(), None).await;
//! print!("{report}");
//! if let Err(e) = report.check() {
//!     eprintln!("apply failed: {e}");
//! }
//! # }
//! ```
//!
//! The engine spawns no task: everything runs inside the future [`apply_plan`] (or
//! [`Engine::start`]'s [`ApplyRun`]) returns, so dropping it cancels the apply. Its
//! memory is a few words per change not yet finished, plus the report.

mod deps;
mod options;
mod report;
mod run;
mod sched;

pub use deps::references;
pub use iot_crr_registry::RetryPolicy;
pub use options::ApplyOptions;
pub use report::{ApplyFailure, ApplyReport, ChangeRecord, ChangeResult, ResultCounts};
pub use run::{ApplyDropped, ApplyProgress, ApplyRun, ChangeSink, Engine, Submission, apply_plan};
