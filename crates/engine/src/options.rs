//! How a plan is applied: concurrency, retries, a time budget.

use std::collections::BTreeMap;

use iot_crr_registry::RetryPolicy;
use tokio::time::Instant;

/// Options of [`apply_plan`](crate::apply_plan) and [`Engine::start`](crate::Engine::start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How many changes are in flight at once, over all API operations (default 16).
    /// Changes to the same resource never run at the same time, whatever this is. `0`
    /// is taken as `1`.
    pub concurrency: usize,
    /// Optional bounds per API operation ([`Change::api`](iot_crr_model::Change::api),
    /// e.g. `RegisterCertificate`) on top of `concurrency` (default none; `0` is taken
    /// as `1`).
    pub api_concurrency: BTreeMap<String, usize>,
    /// When and how a failed call is retried, when the registry does not retry itself
    /// ([`Capabilities::retries_internally`](iot_crr_registry::Capabilities::retries_internally)):
    /// the one [`RetryPolicy`] every layer uses.
    pub retry: RetryPolicy,
    /// A time budget (default none): once this instant passes, nothing new is sent;
    /// changes in flight finish and every other change is reported as
    /// [`ChangeResult::NotSent`](crate::ChangeResult::NotSent).
    pub deadline: Option<Instant>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            api_concurrency: BTreeMap::new(),
            retry: RetryPolicy::default(),
            deadline: None,
        }
    }
}
