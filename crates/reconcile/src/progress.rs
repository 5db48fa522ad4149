//! Where a reconcile reports its progress.

use std::sync::Arc;

use iot_crr_engine::ApplyProgress;
use iot_crr_registry::ReadProgress;

/// Listeners for the progress of a reconcile; every part is optional.
#[derive(Clone, Default)]
pub struct Progress<'a> {
    /// The source's read.
    pub source_read: Option<Arc<dyn ReadProgress>>,
    /// The target's read.
    pub target_read: Option<Arc<dyn ReadProgress>>,
    /// Each change of the apply.
    pub apply: Option<&'a dyn ApplyProgress>,
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").finish_non_exhaustive()
    }
}
