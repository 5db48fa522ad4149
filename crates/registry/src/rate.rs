//! Rate control shared by every layer that calls a rate-limited registry API.
//!
//! The AWS IoT control plane limits every API operation separately (transactions per
//! second per account and region). [`Quotas`] holds those limits (AWS IoT's defaults,
//! overridable); a [`RateBudget`] hands out permission to make one call of an API at a
//! time and learns from throttled answers. [`LocalBudget`] is the in-process budget:
//! one token bucket per API with adaptive back-off. It is cheap to share through an
//! [`Arc`], so that everything in one process that writes to the same account and
//! region (a replicator and a reconcile, say) paces together. The trait is
//! object-safe, so a budget shared between processes (kept in DynamoDB, say) can
//! implement it too.
//!
//! A backend that sees each HTTP request (the AWS backend) paces every request through
//! its budget itself. [`Paced`] wraps a backend that does not pace itself (memory,
//! file; used in simulations) and acquires the change's API budget before each
//! [`Registry::apply`].
//!
//! Everything runs on tokio time, so tests drive it with a paused clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use iot_crr_model::{Change, Origin, Outcome, Related, Resource, ResourceKey, Snapshot};
use tokio::time::Instant;

use crate::{Capabilities, ErrorClass, ReadRequest, Registry, Result};

/// The rate used for an API that [`Quotas`] does not list: the most common
/// conservative default of the IoT control plane.
pub const DEFAULT_TPS: f64 = 10.0;

/// The lowest rate adaptive back-off goes down to, as a fraction of the configured rate.
const MIN_RATE_FRACTION: f64 = 0.05;
/// The fraction of the configured rate added back per second of successful calls after
/// a throttle (additive increase: from half the rate back to all of it in 25 s).
const RECOVERY_PER_SECOND: f64 = 0.02;
/// The most time one success counts for in recovery (a lone call after a pause does not
/// restore the whole rate at once).
const MAX_RECOVERY_STEP: Duration = Duration::from_secs(1);
/// The shortest wait for a token (tokio's timer granularity).
const MIN_WAIT: Duration = Duration::from_millis(1);
/// A bucket's rate is halved at most once in this interval.
const DECREASE_INTERVAL: Duration = Duration::from_secs(1);
/// The longest retry-after hint a bucket holds its tokens for (a larger hint is taken
/// as this much, so that a wrong hint cannot stall an API for hours).
const MAX_RETRY_AFTER_SECS: f64 = 300.0;

/// Default AWS IoT control-plane quotas (transactions per second, per account and
/// region). Figures from the 2025 quota listing where it has one, otherwise the
/// conservative 2019 documentation figures; anything unlisted runs at [`DEFAULT_TPS`].
/// Quotas are adjustable per account, hence [`Quotas::set`] and the `API=TPS` overrides.
const DEFAULT_QUOTAS: &[(&str, f64)] = &[
    // Things.
    ("CreateThing", 100.0),
    ("UpdateThing", 10.0),
    ("DeleteThing", 15.0),
    ("DescribeThing", 350.0),
    ("ListThings", 10.0),
    // Thing groups.
    ("CreateThingGroup", 25.0),
    ("UpdateThingGroup", 15.0),
    ("DescribeThingGroup", 100.0),
    ("AddThingToThingGroup", 100.0),
    ("RemoveThingFromThingGroup", 15.0),
    ("ListThingsInThingGroup", 25.0),
    ("CreateDynamicThingGroup", 5.0),
    // Thing types.
    ("CreateThingType", 15.0),
    ("DescribeThingType", 100.0),
    // Billing groups.
    ("CreateBillingGroup", 25.0),
    // Policies.
    ("CreatePolicy", 10.0),
    ("CreatePolicyVersion", 10.0),
    ("GetPolicy", 10.0),
    ("AttachPolicy", 15.0),
    ("AttachThingPrincipal", 100.0),
    // Certificates.
    ("RegisterCertificate", 10.0),
    ("RegisterCertificateWithoutCA", 10.0),
    ("UpdateCertificate", 10.0),
    ("DescribeCertificate", 10.0),
    // Fleet indexing.
    ("SearchIndex", 15.0),
];

/// Per-API rate quotas in transactions per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Quotas {
    default_tps: f64,
    per_api: BTreeMap<String, f64>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            default_tps: DEFAULT_TPS,
            per_api: DEFAULT_QUOTAS
                .iter()
                .map(|(api, tps)| ((*api).to_string(), *tps))
                .collect(),
        }
    }
}

/// A quota override that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quota {input:?}: {reason} (expected API=TPS, e.g. CreateThing=50)")]
pub struct QuotaError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Quotas {
    /// The quota of an API operation (`CreateThing`), or the default for unlisted ones.
    pub fn get(&self, api: &str) -> f64 {
        self.per_api.get(api).copied().unwrap_or(self.default_tps)
    }

    /// Sets the quota of one API operation; `*` sets the quota of unlisted operations
    /// (as in [`Quotas::parse_override`]). A non-positive or non-finite value is
    /// ignored (a zero rate would stall every call forever).
    pub fn set(&mut self, api: impl Into<String>, tps: f64) {
        let api = api.into();
        if api == "*" {
            self.set_default_tps(tps);
        } else if tps.is_finite() && tps > 0.0 {
            self.per_api.insert(api, tps);
        }
    }

    /// The quota of operations that are not listed.
    pub fn default_tps(&self) -> f64 {
        self.default_tps
    }

    /// Sets the quota of operations that are not listed.
    pub fn set_default_tps(&mut self, tps: f64) {
        if tps.is_finite() && tps > 0.0 {
            self.default_tps = tps;
        }
    }

    /// Every listed quota, sorted by API name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.per_api.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Parses one override, `API=TPS` (`CreateThing=50`; `*=5` sets the default of
    /// unlisted operations).
    pub fn parse_override(s: &str) -> Result<(String, f64), QuotaError> {
        let err = |reason: &str| QuotaError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (api, tps) = s.split_once('=').ok_or_else(|| err("no '='"))?;
        let api = api.trim();
        if api.is_empty() {
            return Err(err("the API name is empty"));
        }
        if api != "*" && !api.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(err(
                "the API name must be an operation name such as CreateThing",
            ));
        }
        let tps: f64 = tps
            .trim()
            .parse()
            .map_err(|_| err("the rate is not a number"))?;
        if !tps.is_finite() || tps <= 0.0 {
            return Err(err("the rate must be a positive number"));
        }
        Ok((api.to_string(), tps))
    }

    /// Applies a comma-separated list of overrides (`CreateThing=50,AttachPolicy=20`).
    /// Nothing is changed when any item is invalid.
    pub fn apply_overrides(&mut self, list: &str) -> Result<(), QuotaError> {
        let parsed = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Quotas::parse_override)
            .collect::<Result<Vec<_>, _>>()?;
        for (api, tps) in parsed {
            self.set(api, tps);
        }
        Ok(())
    }
}

impl FromStr for Quotas {
    type Err = QuotaError;

    /// The defaults with a comma-separated list of overrides applied.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut q = Quotas::default();
        q.apply_overrides(s)?;
        Ok(q)
    }
}

/// The least time a set of calls can take at some quotas: every API runs at its own rate
/// at the same time, so the slowest API's calls over its quota ([`Quotas::floor`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    /// Per API operation: its calls and the seconds they need at its quota, slowest
    /// first.
    pub per_api: Vec<(String, u64, f64)>,
}

impl Floor {
    /// The floor in seconds (that of the slowest API; 0 with no calls).
    pub fn seconds(&self) -> f64 {
        self.per_api.first().map_or(0.0, |(_, _, s)| *s)
    }

    /// The slowest API with its calls, when there are any.
    pub fn slowest(&self) -> Option<(&str, u64)> {
        self.per_api.first().map(|(a, n, _)| (a.as_str(), *n))
    }
}

impl Quotas {
    /// The floor of making `calls` (API operation names, one per call) at these quotas.
    pub fn floor<'a>(&self, calls: impl IntoIterator<Item = &'a str>) -> Floor {
        let mut n: BTreeMap<&str, u64> = BTreeMap::new();
        for api in calls {
            *n.entry(api).or_default() += 1;
        }
        let mut per_api: Vec<(String, u64, f64)> = n
            .into_iter()
            .map(|(api, calls)| (api.to_string(), calls, calls as f64 / self.get(api)))
            .collect();
        per_api.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        Floor { per_api }
    }
}

/// A token bucket with an adaptive rate.
#[derive(Debug)]
pub struct TokenBucket {
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// The configured rate.
    base: f64,
    /// The current rate (lower than `base` after throttling).
    rate: f64,
    /// Tokens available now.
    tokens: f64,
    /// At most this many tokens accumulate (one second's worth of the configured rate,
    /// at least one).
    capacity: f64,
    last_refill: Instant,
    last_decrease: Option<Instant>,
    /// When the rate last grew (or was cut): recovery is per second, not per call.
    last_increase: Instant,
}

impl TokenBucket {
    /// A full bucket for `tps` calls per second.
    pub fn new(tps: f64) -> Self {
        let tps = if tps.is_finite() && tps > 0.0 {
            tps
        } else {
            DEFAULT_TPS
        };
        let capacity = tps.max(1.0);
        TokenBucket {
            state: Mutex::new(BucketState {
                base: tps,
                rate: tps,
                tokens: capacity,
                capacity,
                last_refill: Instant::now(),
                last_decrease: None,
                last_increase: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BucketState> {
        // The state is a handful of numbers that stay consistent whatever panicked.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a call may be made, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.lock();
                s.refill(Instant::now());
                if s.tokens >= 1.0 {
                    s.tokens -= 1.0;
                    return;
                }
                // At least the timer's granularity: a wait that rounds to nothing
                // (tokens a rounding error short of one) would poll again at the same
                // instant, a busy loop, and forever on a paused clock.
                Duration::from_secs_f64((1.0 - s.tokens) / s.rate).max(MIN_WAIT)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The current rate in calls per second.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// The API answered "throttled": halve the rate (at most once per second) and drop
    /// the tokens saved up, so callers wait. When the answer said how long to wait
    /// (`retry_after`), no token is handed out before that time has passed.
    pub fn on_throttle(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.lock();
        s.refill(now);
        let recent = s
            .last_decrease
            .is_some_and(|t| now.duration_since(t) < DECREASE_INTERVAL);
        if !recent {
            let floor = s.base * MIN_RATE_FRACTION;
            s.rate = (s.rate / 2.0).max(floor);
            s.last_decrease = Some(now);
            s.last_increase = now;
        }
        s.tokens = s.tokens.min(0.0);
        if let Some(wait) = retry_after {
            // The next token comes `wait` from now: (1 - tokens) / rate = wait.
            let hold = 1.0 - wait.as_secs_f64().min(MAX_RETRY_AFTER_SECS) * s.rate;
            s.tokens = s.tokens.min(hold);
        }
    }

    /// A call succeeded: recover some of the configured rate, 2% of it per second since
    /// the last increase (at most one second's worth per success). The increase is per
    /// time, not per call, so that a fast API does not climb back into throttling within
    /// a few calls: settled under a lower real limit, about one call in a hundred or
    /// fewer is throttled.
    pub fn on_success(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        if s.rate < s.base {
            let step = now.duration_since(s.last_increase).min(MAX_RECOVERY_STEP);
            s.rate = (s.rate + s.base * RECOVERY_PER_SECOND * step.as_secs_f64()).min(s.base);
        }
        s.last_increase = now;
    }
}

impl BucketState {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.last_refill).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last_refill = now;
    }
}

/// Permission to call rate-limited API operations, shared by everything that calls the
/// same account and region.
///
/// Every attempt of a call first waits in [`RateBudget::acquire`]; its answer is then
/// reported with [`RateBudget::on_throttle`] (the API said "slow down") or
/// [`RateBudget::on_success`]. Share one budget (an `Arc<dyn RateBudget>`) among the
/// registries of one account and region only: AWS IoT's quotas are per account and
/// region, so two regions have two budgets.
#[async_trait]
pub trait RateBudget: Send + Sync {
    /// Waits until one call of `api` (`CreateThing`) may be made, and takes it from the
    /// budget. Every attempt acquires once, retries included.
    async fn acquire(&self, api: &str);

    /// A call of `api` was throttled; `retry_after` is the registry's hint of how long
    /// to wait, when it gave one. The budget slows down.
    fn on_throttle(&self, api: &str, retry_after: Option<Duration>);

    /// A call of `api` succeeded; the budget may speed up again.
    fn on_success(&self, api: &str);

    /// Calls acquired per API operation so far, sorted by name.
    fn calls(&self) -> Vec<(String, u64)>;

    /// Throttled answers reported per API operation so far, sorted by name.
    fn throttles(&self) -> Vec<(String, u64)>;
}

/// Adds one to the count of `api`.
fn count(map: &Mutex<BTreeMap<String, u64>>, api: &str) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = m.get_mut(api) {
        *n += 1;
    } else {
        m.insert(api.to_string(), 1);
    }
}

fn counts(map: &Mutex<BTreeMap<String, u64>>) -> Vec<(String, u64)> {
    let m = map.lock().unwrap_or_else(|p| p.into_inner());
    m.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// The in-process [`RateBudget`]: one [`TokenBucket`] per API operation, filled at the
/// operation's quota, with adaptive back-off (a throttle halves the bucket's rate, at
/// most once a second and never below 5% of the quota; successful calls add back 2% of
/// the quota per second; a retry-after hint holds the bucket's tokens that long).
///
/// Share it with [`Arc`]: clones of the `Arc` draw from the same buckets.
pub struct LocalBudget {
    quotas: Quotas,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
}

impl fmt::Debug for LocalBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBudget")
            .field("quotas", &self.quotas)
            .finish_non_exhaustive()
    }
}

impl LocalBudget {
    /// A budget with these quotas, every bucket full.
    pub fn new(quotas: Quotas) -> Self {
        LocalBudget {
            quotas,
            buckets: Mutex::default(),
            calls: Mutex::default(),
            throttled: Mutex::default(),
        }
    }

    /// The same, ready to share.
    pub fn shared(quotas: Quotas) -> Arc<Self> {
        Arc::new(LocalBudget::new(quotas))
    }

    /// The quotas the buckets are filled at.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The bucket of one API operation (created on first use).
    pub fn bucket(&self, api: &str) -> Arc<TokenBucket> {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = b.get(api) {
            return bucket.clone();
        }
        let bucket = Arc::new(TokenBucket::new(self.quotas.get(api)));
        b.insert(api.to_string(), bucket.clone());
        bucket
    }
}

impl Default for LocalBudget {
    /// A budget at AWS IoT's default quotas.
    fn default() -> Self {
        LocalBudget::new(Quotas::default())
    }
}

#[async_trait]
impl RateBudget for LocalBudget {
    async fn acquire(&self, api: &str) {
        let bucket = self.bucket(api);
        bucket.acquire().await;
        count(&self.calls, api);
    }

    fn on_throttle(&self, api: &str, retry_after: Option<Duration>) {
        count(&self.throttled, api);
        self.bucket(api).on_throttle(retry_after);
    }

    fn on_success(&self, api: &str) {
        self.bucket(api).on_success();
    }

    fn calls(&self) -> Vec<(String, u64)> {
        counts(&self.calls)
    }

    fn throttles(&self) -> Vec<(String, u64)> {
        counts(&self.throttled)
    }
}

/// A [`Registry`] whose writes are paced by a [`RateBudget`]: before each
/// [`Registry::apply`] one call of the change's API ([`Change::api`]) is acquired, and
/// the outcome is reported back (a [`ErrorClass::Throttled`] error as a throttle, with
/// its retry-after hint), and so is [`Registry::certificate_pem`] (one
/// `DescribeCertificate`). Reads and everything else go straight to the inner registry.
///
/// For backends that do not pace themselves (memory, file), so that a simulation runs
/// at the speed the real API would allow. Do not wrap a backend that paces itself with
/// the same budget (the AWS backend does): each call would then be counted twice.
pub struct Paced<R> {
    inner: R,
    budget: Arc<dyn RateBudget>,
}

impl<R: fmt::Debug> fmt::Debug for Paced<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paced")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<R: Registry> Paced<R> {
    /// Paces the writes of `inner` with `budget`.
    pub fn new(inner: R, budget: Arc<dyn RateBudget>) -> Self {
        Paced { inner, budget }
    }

    /// The wrapped registry.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The budget writes are paced by.
    pub fn budget(&self) -> &Arc<dyn RateBudget> {
        &self.budget
    }

    /// One call of `api`: waits for the budget, then reports the answer to it.
    async fn paced<T>(&self, api: &str, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.budget.acquire(api).await;
        let r = call.await;
        match &r {
            Ok(_) => self.budget.on_success(api),
            Err(e) if e.class == ErrorClass::Throttled => {
                self.budget.on_throttle(api, e.retry_after)
            }
            Err(_) => {}
        }
        r
    }

    /// The wrapped registry, unwrapped.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

#[async_trait]
impl<R: Registry> Registry for Paced<R> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        self.inner.read(request).await
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        self.inner.read_resource(key).await
    }
    async fn list_keys(
        &self,
        kind: iot_crr_model::Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::KeyPage> {
        self.inner.list_keys(kind, cursor, limit).await
    }

    /// Paced as one `TestAuthorization` call (a query holds at most ten checks).
    async fn test_authorization(
        &self,
        query: &crate::AuthorizationQuery,
    ) -> Result<Vec<crate::AuthorizationAnswer>> {
        self.paced("TestAuthorization", self.inner.test_authorization(query))
            .await
    }

    /// Paced as what it is on AWS, one `DescribeCertificate`.
    async fn certificate_pem(
        &self,
        id: &str,
    ) -> Result<Option<(String, Option<iot_crr_model::Name>)>> {
        self.paced("DescribeCertificate", self.inner.certificate_pem(id))
            .await
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        self.paced(change.api(), self.inner.apply(change)).await
    }

    async fn commit(&self) -> Result<()> {
        self.inner.commit().await
    }

    fn api_calls(&self) -> Vec<(String, u64)> {
        self.inner.api_calls()
    }

    fn throttles(&self) -> Vec<(String, u64)> {
        self.inner.throttles()
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        self.inner.related(query).await
    }

    fn origin(&self) -> Origin {
        self.inner.origin()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn adopt_origin(&self, origin: &Origin) -> Result<()> {
        self.inner.adopt_origin(origin).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fault, MemoryRegistry};
    use iot_crr_model::StringMap;

    #[test]
    fn quotas_have_aws_defaults_and_overrides() {
        let mut q = Quotas::default();
        assert_eq!(q.get("CreateThing"), 100.0);
        assert_eq!(q.get("DescribeThing"), 350.0);
        assert_eq!(q.get("CreateDynamicThingGroup"), 5.0);
        assert_eq!(q.get("RegisterCertificateWithoutCA"), 10.0);
        assert_eq!(q.get("NoSuchApi"), DEFAULT_TPS);
        q.set("CreateThing", 50.0);
        assert_eq!(q.get("CreateThing"), 50.0);
        q.set("CreateThing", 0.0);
        assert_eq!(q.get("CreateThing"), 50.0, "zero is ignored");
        q.apply_overrides("AttachPolicy=20, *=3").unwrap();
        assert_eq!(q.get("AttachPolicy"), 20.0);
        assert_eq!(q.get("NoSuchApi"), 3.0);
    }

    #[test]
    fn quota_overrides_are_validated() {
        assert_eq!(
            Quotas::parse_override("CreateThing=50").unwrap(),
            ("CreateThing".to_string(), 50.0)
        );
        assert_eq!(
            Quotas::parse_override(" ListThings = 2.5 ").unwrap(),
            ("ListThings".to_string(), 2.5)
        );
        for bad in [
            "CreateThing",
            "=5",
            "CreateThing=fast",
            "CreateThing=-1",
            "CreateThing=0",
            "iot:CreateThing=5",
        ] {
            let e = Quotas::parse_override(bad).unwrap_err();
            assert!(e.to_string().contains("API=TPS"), "{e}");
        }
        let mut q = Quotas::default();
        assert!(q.apply_overrides("A=1,B=x").is_err());
        assert_eq!(q.get("A"), DEFAULT_TPS, "nothing applied on error");
        let q: Quotas = "CreateThing=7".parse().unwrap();
        assert_eq!(q.get("CreateThing"), 7.0);
        // `*` is the rate of unlisted operations, whichever way it is set.
        let (api, tps) = Quotas::parse_override("*=3").unwrap();
        let mut q = Quotas::default();
        q.set(api, tps);
        assert_eq!(q.get("ListThingPrincipals"), 3.0);
        assert_eq!(q.default_tps(), 3.0);
        assert!(q.iter().all(|(api, _)| api != "*"));
        assert_eq!(q.get("CreateThing"), 100.0);
    }

    #[test]
    fn the_floor_is_the_slowest_api_at_its_quota() {
        let q = Quotas::default();
        let calls = std::iter::repeat_n("RegisterCertificate", 50)
            .chain(std::iter::repeat_n("CreateThing", 1000))
            .chain(std::iter::repeat_n("AttachPolicy", 30));
        let f = q.floor(calls);
        assert_eq!(f.slowest(), Some(("CreateThing", 1000)));
        assert!((f.seconds() - 10.0).abs() < 1e-9);
        assert_eq!(
            f.per_api
                .iter()
                .map(|(a, _, _)| a.as_str())
                .collect::<Vec<_>>(),
            ["CreateThing", "RegisterCertificate", "AttachPolicy"]
        );
        assert_eq!(q.floor(std::iter::empty()).seconds(), 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_paces_calls_at_its_rate() {
        let b = TokenBucket::new(2.0);
        let start = Instant::now();
        for _ in 0..6 {
            b.acquire().await;
        }
        // Two saved-up tokens, then one every half second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_rate_once_per_second_and_recovers_slowly() {
        let b = TokenBucket::new(10.0);
        b.on_throttle(None);
        assert_eq!(b.rate(), 5.0);
        b.on_throttle(None);
        assert_eq!(
            b.rate(),
            5.0,
            "a second throttle within a second is coalesced"
        );
        tokio::time::advance(Duration::from_millis(1100)).await;
        b.on_throttle(None);
        assert_eq!(b.rate(), 2.5);
        // Successes at one instant add nothing; recovery is 2% of the quota a second.
        for _ in 0..10 {
            b.on_success();
        }
        assert_eq!(b.rate(), 2.5);
        for _ in 0..10 {
            tokio::time::advance(Duration::from_millis(100)).await;
            b.on_success();
        }
        assert!((b.rate() - 2.7).abs() < 1e-9, "{}", b.rate());
        // A lone success after a long pause counts for one second only.
        tokio::time::advance(Duration::from_secs(60)).await;
        b.on_success();
        assert!((b.rate() - 2.9).abs() < 1e-9, "{}", b.rate());
        for _ in 0..1000 {
            tokio::time::advance(Duration::from_millis(500)).await;
            b.on_success();
        }
        assert_eq!(b.rate(), 10.0, "never above the configured rate");
        for _ in 0..20 {
            tokio::time::advance(Duration::from_secs(2)).await;
            b.on_throttle(None);
        }
        assert!((b.rate() - 0.5).abs() < 1e-9, "floor: {}", b.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_empties_the_bucket() {
        let b = TokenBucket::new(4.0);
        b.on_throttle(None);
        let start = Instant::now();
        b.acquire().await;
        // Rate 2/s, no saved tokens: the first call waits half a second.
        assert!(start.elapsed() >= Duration::from_millis(490));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_bucket() {
        let b = TokenBucket::new(100.0);
        b.on_throttle(Some(Duration::from_secs(3)));
        let start = Instant::now();
        b.acquire().await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(2990) && took <= Duration::from_millis(3100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_budget_paces_every_holder_per_api() {
        let mut q = Quotas::default();
        q.set("Slow", 2.0);
        q.set("Fast", 1000.0);
        let budget: Arc<dyn RateBudget> = LocalBudget::shared(q);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let b = budget.clone();
            let api = if i % 2 == 0 { "Slow" } else { "Fast" };
            tasks.push(tokio::spawn(async move {
                b.acquire(api).await;
                (api, start.elapsed())
            }));
        }
        let mut slow_max = Duration::ZERO;
        let mut fast_max = Duration::ZERO;
        for t in tasks {
            let (api, d) = t.await.unwrap();
            if api == "Slow" {
                slow_max = slow_max.max(d);
            } else {
                fast_max = fast_max.max(d);
            }
        }
        // Four Slow calls at 2/s with two saved tokens: the last starts after ~1 s.
        assert!(slow_max >= Duration::from_millis(990), "{slow_max:?}");
        assert!(fast_max < Duration::from_millis(10), "{fast_max:?}");
        assert_eq!(
            budget.calls(),
            vec![("Fast".to_string(), 4), ("Slow".to_string(), 4)]
        );
        budget.on_throttle("Slow", None);
        assert_eq!(budget.throttles(), vec![("Slow".to_string(), 1)]);
    }

    fn create_thing(name: &str) -> Change {
        Change::CreateThing {
            thing_name: name.into(),
            thing_type_name: None,
            attributes: StringMap::new(),
            billing_group_name: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paced_registry_acquires_before_each_apply() {
        let mut q = Quotas::default();
        q.set("CreateThing", 2.0);
        let budget = LocalBudget::shared(q);
        let shared: Arc<dyn RateBudget> = budget.clone();
        let a = Paced::new(MemoryRegistry::new(), shared.clone());
        let b = Paced::new(MemoryRegistry::new(), shared);
        let start = Instant::now();
        for i in 0..3 {
            a.apply(&create_thing(&format!("a{i}"))).await.unwrap();
            b.apply(&create_thing(&format!("b{i}"))).await.unwrap();
        }
        // Six creates at 2/s across both registries: two saved tokens, then one
        // every half second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
        assert_eq!(budget.calls(), vec![("CreateThing".to_string(), 6)]);
        assert_eq!(a.inner().snapshot().things.len(), 3);

        // A throttled answer slows the bucket down.
        a.inner()
            .inject(Fault::fail(Some("CreateThing"), ErrorClass::Throttled));
        let e = a.apply(&create_thing("x")).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(budget.throttles(), vec![("CreateThing".to_string(), 1)]);
        assert_eq!(budget.bucket("CreateThing").rate(), 1.0);
    }
}
