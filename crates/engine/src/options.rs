//! How a plan is applied: concurrency and retries.

use iot_crr_registry::RetryPolicy;

/// Options of [`apply_plan`](crate::apply_plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How many changes of one stage are in flight at once (default 16). Changes to the
    /// same resource never run at the same time, whatever this is. `0` is taken as `1`.
    pub concurrency: usize,
    /// When and how a failed call is retried, when the registry does not retry itself
    /// ([`Capabilities::retries_internally`](iot_crr_registry::Capabilities::retries_internally)):
    /// the one [`RetryPolicy`] every layer uses.
    pub retry: RetryPolicy,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            retry: RetryPolicy::default(),
        }
    }
}
