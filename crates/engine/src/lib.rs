//! The apply engine of iot-crr: executes a [`Plan`](iot_crr_model::Plan) against any
//! [`Registry`](iot_crr_registry::Registry) and reports what happened to every change.
//!
//! [`apply_plan`] runs the plan's stages in order. Within a stage, changes run
//! concurrently up to a limit, except that the changes to one resource keep their plan
//! order. Throttled and transient failures are retried with exponential backoff and full
//! jitter ([`RetryPolicy`]); other failures are recorded, and the changes that depend on
//! a failed create are skipped instead of sent, while independent changes go on. At the
//! end the registry is committed once (the snapshot-file backend writes its file then).
//!
//! The result is an [`ApplyReport`]: one [`ChangeResult`] per change in plan order,
//! totals, retries, API call counts and any commit error; it serialises to JSON and
//! displays as a summary with one line per failure.
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
//! The engine spawns no task: everything runs inside the future [`apply_plan`] returns,
//! so dropping it cancels the apply.

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
