//! The server side of a simulated region, shared by the simulation benchmarks: an
//! in-memory registry that answers "throttled" to calls over AWS IoT's quotas, as the
//! control plane does. Kept apart from iot-crr's own rate control (`Paced`,
//! `LocalBudget`), which the simulations run against it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use iot_crr_model::{Change, Outcome, Related, Resource, ResourceKey, Snapshot};
use iot_crr_registry::{ErrorClass, MemoryRegistry, Quotas, ReadRequest, Registry, RegistryError};
use tokio::time::Instant;

/// A registry that answers "throttled" to calls over its per-API quotas, as AWS IoT
/// does (a token bucket per API, a burst of one second's worth).
pub struct Enforced {
    inner: MemoryRegistry,
    quotas: Quotas,
    buckets: Mutex<HashMap<&'static str, (f64, Instant)>>,
    throttled: Mutex<BTreeMap<String, u64>>,
}

impl Enforced {
    /// `inner`, enforcing `quotas`.
    pub fn new(inner: MemoryRegistry, quotas: Quotas) -> Self {
        Enforced {
            inner,
            quotas,
            buckets: Mutex::default(),
            throttled: Mutex::default(),
        }
    }

    /// The answer to a call of `api` over the quota: "throttled", counted.
    fn refuse_over_quota(&self, api: &'static str) -> iot_crr_registry::Result<()> {
        if self.admit(api) {
            return Ok(());
        }
        *self
            .throttled
            .lock()
            .unwrap()
            .entry(api.to_string())
            .or_default() += 1;
        Err(RegistryError::new(ErrorClass::Throttled, "Rate exceeded").with_api(api))
    }

    /// Takes one call of `api` if its bucket has a token.
    fn admit(&self, api: &'static str) -> bool {
        let rate = self.quotas.get(api);
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap();
        let (tokens, last) = b.entry(api).or_insert((rate.max(1.0), now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate.max(1.0));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[async_trait]
impl Registry for Enforced {
    fn location(&self) -> String {
        "simulated:default-quotas".into()
    }
    async fn read(&self, r: &ReadRequest) -> iot_crr_registry::Result<Snapshot> {
        self.inner.read(r).await
    }
    async fn read_resource(&self, k: &ResourceKey) -> iot_crr_registry::Result<Option<Resource>> {
        self.inner.read_resource(k).await
    }
    /// One `DescribeCertificate`, under its quota like a write.
    async fn certificate_pem(
        &self,
        id: &str,
    ) -> iot_crr_registry::Result<Option<(String, Option<iot_crr_model::Name>)>> {
        self.refuse_over_quota("DescribeCertificate")?;
        self.inner.certificate_pem(id).await
    }
    async fn apply(&self, change: &Change) -> iot_crr_registry::Result<Outcome> {
        self.refuse_over_quota(change.api())?;
        self.inner.apply(change).await
    }
    async fn related(&self, q: &Related) -> iot_crr_registry::Result<Vec<ResourceKey>> {
        self.inner.related(q).await
    }
    fn api_calls(&self) -> Vec<(String, u64)> {
        self.inner.api_calls()
    }
    fn throttles(&self) -> Vec<(String, u64)> {
        self.throttled
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}
