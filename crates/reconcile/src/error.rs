//! The reconciler's errors: each names what failed and where, in one line.

use iot_crr_registry::RegistryError;

/// Why a reconcile could not go on. Nothing was written when one of these is
/// returned before an apply started.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A location could not be opened as a registry.
    #[error("cannot open {location}: {reason}")]
    Open {
        /// The location.
        location: String,
        /// Why.
        reason: String,
    },
    /// A location string is malformed.
    #[error(transparent)]
    Location(#[from] iot_crr_registry::LocationError),
    /// Reading a registry failed.
    #[error("reading {location}: {source}")]
    Read {
        /// The registry's location.
        location: String,
        /// The registry's error.
        #[source]
        source: RegistryError,
    },
    /// ARN rewriting was asked for and a region or account is unknown.
    #[error("ARN rewriting: {0}")]
    Rewrite(String),
    /// A readiness run lacks what it needs (a region or account no side tells).
    #[error("readiness: {0}")]
    Readiness(String),
    /// A filter pattern is invalid.
    #[error(transparent)]
    Pattern(#[from] iot_crr_model::PatternError),
    /// The target changed since the plan was computed.
    #[error(
        "refusing to apply: the target {location} changed since the plan was computed \
         (fingerprint {now}, the plan expects {expected}); compute the plan again"
    )]
    Drift {
        /// The target's location.
        location: String,
        /// The target's fingerprint now.
        now: String,
        /// The fingerprint the plan was computed against.
        expected: String,
    },
    /// The plan deletes more than the delete bound allows.
    #[error("{0}")]
    TooManyDeletes(String),
    /// A keyed reconcile kept finding new questions to ask the registries.
    #[error(
        "the keyed reconcile did not settle after {rounds} rounds of reads ({keys} keys); \
         the registries may be changing under it: try again"
    )]
    Unsettled {
        /// Rounds made.
        rounds: usize,
        /// Keys reached.
        keys: usize,
    },
}
