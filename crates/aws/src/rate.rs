//! Rate limiting and retries for AWS IoT control-plane calls.
//!
//! The IoT control plane limits every API separately (transactions per second per
//! account and region), so each operation gets its own token bucket, filled at the
//! operation's quota ([`Quotas`]). A throttled answer halves that bucket's rate
//! (at most once a second, so a burst of throttles from calls already in flight does not
//! collapse it); every success afterwards adds back a small fraction of the configured
//! rate, so the rate recovers slowly (additive increase, multiplicative decrease).
//!
//! [`Limiter::run`] wraps one logical call: it waits for a token before every attempt,
//! counts every attempt (that is what `--stats` reports), and retries throttled and
//! transient failures with jittered exponential back-off up to `max_attempts` attempts.
//! Everything runs on tokio time, so tests drive it with a paused clock.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use iot_crr_registry::{ErrorClass, RegistryError};
use tokio::time::Instant;

/// The rate used for an API that [`Quotas`] does not list: the most common
/// conservative default of the IoT control plane.
pub const DEFAULT_TPS: f64 = 10.0;

/// The lowest rate adaptive back-off goes down to, as a fraction of the configured rate.
const MIN_RATE_FRACTION: f64 = 0.05;
/// The fraction of the configured rate that each success adds back after a throttle.
const RECOVERY_FRACTION: f64 = 0.02;
/// A bucket's rate is halved at most once in this interval.
const DECREASE_INTERVAL: Duration = Duration::from_secs(1);

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
                Duration::from_secs_f64((1.0 - s.tokens) / s.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The current rate in calls per second.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// The API answered "throttled": halve the rate (at most once per second) and drop
    /// the tokens saved up, so callers wait.
    pub fn on_throttle(&self) {
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
        }
        s.tokens = s.tokens.min(0.0);
    }

    /// A call succeeded: recover a little of the configured rate.
    pub fn on_success(&self) {
        let mut s = self.lock();
        if s.rate < s.base {
            s.rate = (s.rate + s.base * RECOVERY_FRACTION).min(s.base);
        }
    }
}

impl BucketState {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.last_refill).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last_refill = now;
    }
}

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// The first back-off after a transient error; doubled for every further attempt.
    pub base_delay: Duration,
    /// The first back-off after a throttled answer (longer: the quota needs time).
    pub throttle_base_delay: Duration,
    /// No back-off is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            throttle_base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The back-off before attempt `attempt + 1` after attempt `attempt` (1-based)
    /// failed with `class`: exponential, capped, with "equal jitter" (a random point in
    /// the upper half), so that concurrent callers spread out but always wait.
    pub fn backoff(&self, class: ErrorClass, attempt: u32) -> Duration {
        let base = if class == ErrorClass::Throttled {
            self.throttle_base_delay
        } else {
            self.base_delay
        };
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = base
            .saturating_mul(1u32 << exp)
            .min(self.max_delay)
            .as_secs_f64();
        let jittered = ceiling / 2.0 + rand::random::<f64>() * ceiling / 2.0;
        Duration::from_secs_f64(jittered)
    }
}

/// Per-API token buckets, retry policy and call counters.
#[derive(Debug)]
pub struct Limiter {
    quotas: Quotas,
    policy: RetryPolicy,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
}

impl Limiter {
    /// A limiter with these quotas and retry policy.
    pub fn new(quotas: Quotas, policy: RetryPolicy) -> Self {
        Limiter {
            quotas,
            policy,
            buckets: Mutex::default(),
            calls: Mutex::default(),
            throttled: Mutex::default(),
        }
    }

    /// The bucket of one API operation (created on first use).
    pub fn bucket(&self, api: &str) -> Arc<TokenBucket> {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        b.entry(api.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::new(self.quotas.get(api))))
            .clone()
    }

    /// Requests sent per API operation, every attempt counted, sorted by name.
    pub fn calls(&self) -> Vec<(String, u64)> {
        let c = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Throttled answers per API operation, sorted by name.
    pub fn throttles(&self) -> Vec<(String, u64)> {
        let c = self.throttled.lock().unwrap_or_else(|p| p.into_inner());
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn count(map: &Mutex<BTreeMap<String, u64>>, api: &str) {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(api) {
            *n += 1;
        } else {
            m.insert(api.to_string(), 1);
        }
    }

    /// Runs one logical call of `api`: waits for a token before every attempt, counts
    /// every attempt, and retries [`ErrorClass::Throttled`] and
    /// [`ErrorClass::Transient`] failures with jittered back-off. The last error is
    /// returned when the attempts are used up (its message says how many were made);
    /// any other error is returned at once.
    pub async fn run<T, F, Fut>(&self, api: &str, mut attempt_fn: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RegistryError>>,
    {
        let bucket = self.bucket(api);
        let max = self.policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            bucket.acquire().await;
            Limiter::count(&self.calls, api);
            match attempt_fn().await {
                Ok(v) => {
                    bucket.on_success();
                    return Ok(v);
                }
                Err(e) => {
                    if e.class == ErrorClass::Throttled {
                        Limiter::count(&self.throttled, api);
                        bucket.on_throttle();
                    }
                    if !e.class.is_retryable() {
                        return Err(e);
                    }
                    if attempt >= max {
                        let mut e = e;
                        if max > 1 {
                            e.message = format!("{} (gave up after {max} attempts)", e.message);
                        }
                        return Err(e);
                    }
                    let delay = self.policy.backoff(e.class, attempt);
                    tracing::debug!(api, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

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
        b.on_throttle();
        assert_eq!(b.rate(), 5.0);
        b.on_throttle();
        assert_eq!(
            b.rate(),
            5.0,
            "a second throttle within a second is coalesced"
        );
        tokio::time::advance(Duration::from_millis(1100)).await;
        b.on_throttle();
        assert_eq!(b.rate(), 2.5);
        for _ in 0..10 {
            b.on_success();
        }
        assert!((b.rate() - 4.5).abs() < 1e-9, "{}", b.rate());
        for _ in 0..1000 {
            b.on_success();
        }
        assert_eq!(b.rate(), 10.0, "never above the configured rate");
        for _ in 0..20 {
            tokio::time::advance(Duration::from_secs(2)).await;
            b.on_throttle();
        }
        assert!((b.rate() - 0.5).abs() < 1e-9, "floor: {}", b.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_empties_the_bucket() {
        let b = TokenBucket::new(4.0);
        b.on_throttle();
        let start = Instant::now();
        b.acquire().await;
        // Rate 2/s, no saved tokens: the first call waits half a second.
        assert!(start.elapsed() >= Duration::from_millis(490));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let d = p.backoff(ErrorClass::Transient, attempt);
            let ceiling = (p.base_delay * (1 << (attempt - 1))).min(p.max_delay);
            assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
        }
        let t = p.backoff(ErrorClass::Throttled, 1);
        assert!(t >= p.throttle_base_delay / 2);
        assert!(p.backoff(ErrorClass::Throttled, 40) <= p.max_delay);
    }

    fn limiter(max_attempts: u32) -> Limiter {
        let mut q = Quotas::default();
        q.set("Op", 100.0);
        Limiter::new(
            q,
            RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_retryable_errors_and_counts_attempts() {
        let l = limiter(5);
        let n = AtomicU32::new(0);
        let r = l
            .run("Op", || async {
                match n.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(RegistryError::new(ErrorClass::Throttled, "slow down")),
                    1 => Err(RegistryError::new(ErrorClass::Transient, "503")),
                    _ => Ok(42),
                }
            })
            .await
            .unwrap();
        assert_eq!(r, 42);
        assert_eq!(l.calls(), vec![("Op".to_string(), 3)]);
        assert_eq!(l.throttles(), vec![("Op".to_string(), 1)]);
        assert_eq!(
            l.bucket("Op").rate(),
            50.0 + 2.0,
            "halved, then one success"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_gives_up_after_max_attempts() {
        let l = limiter(3);
        let e = l
            .run("Op", || async {
                Err::<(), _>(RegistryError::new(ErrorClass::Transient, "reset"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("gave up after 3 attempts"), "{e}");
        assert_eq!(l.calls(), vec![("Op".to_string(), 3)]);
    }

    #[tokio::test(start_paused = true)]
    async fn run_does_not_retry_permanent_errors() {
        let l = limiter(5);
        let e = l
            .run("Op", || async {
                Err::<(), _>(RegistryError::new(ErrorClass::Invalid, "bad name"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid);
        assert_eq!(e.message, "bad name");
        assert_eq!(l.calls(), vec![("Op".to_string(), 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn run_paces_concurrent_callers_per_api() {
        let mut q = Quotas::default();
        q.set("Slow", 2.0);
        q.set("Fast", 1000.0);
        let l = Arc::new(Limiter::new(q, RetryPolicy::default()));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let l = l.clone();
            let api = if i % 2 == 0 { "Slow" } else { "Fast" };
            tasks.push(tokio::spawn(async move {
                l.run(api, || async { Ok::<_, RegistryError>(()) })
                    .await
                    .unwrap();
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
    }
}
