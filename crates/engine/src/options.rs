//! How a plan is applied: concurrency, retries, what a failure means.

use std::time::Duration;

use rand::Rng;

/// Options of [`apply_plan`](crate::apply_plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How many changes of one stage are in flight at once (default 16). Changes to the
    /// same resource never run at the same time, whatever this is. `0` is taken as `1`.
    pub concurrency: usize,
    /// When and how a failed call is retried.
    pub retry: RetryPolicy,
    /// Stop sending changes after the first failure (default `false`): changes already
    /// in flight finish, every change not yet sent is recorded as skipped. Without it a
    /// failure only skips the changes that depend on it.
    pub stop_on_error: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            retry: RetryPolicy::default(),
            stop_on_error: false,
        }
    }
}

/// Retries of calls that failed with a retryable error class
/// ([`ErrorClass::is_retryable`](iot_crr_registry::ErrorClass::is_retryable):
/// throttled or transient), with exponential backoff and full jitter: before retry `n`
/// (1 for the first) the engine waits a uniformly random time between zero and
/// `min(max_delay, base_delay * 2^(n-1))`.
///
/// Full jitter spreads the retries of many concurrent changes that were throttled
/// together, so they do not hit the rate limit again in lockstep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per change, the first one included (default 5). `0` is taken as `1`.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry (default 200 ms); it doubles with
    /// every further retry.
    pub base_delay: Duration,
    /// The largest backoff ceiling (default 20 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt per change.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Attempts per change, at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The longest wait before retry number `retry` (1 for the first retry):
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let shift = retry.saturating_sub(1).min(31);
        self.base_delay
            .saturating_mul(1u32 << shift)
            .min(self.max_delay)
    }

    /// A random wait before retry number `retry`, uniform in `[0, ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        if cap == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::rng().random_range(0..=cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        let ms: Vec<u128> = (1..=6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        // Huge retry numbers neither overflow nor exceed the maximum.
        assert_eq!(p.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn backoff_stays_within_the_ceiling_and_varies() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= p.ceiling(3)));
        let first = waits[0];
        assert!(waits.iter().any(|w| *w != first), "full jitter is random");
    }

    #[test]
    fn zero_delays_and_attempts_are_safe() {
        let p = RetryPolicy {
            max_attempts: 0,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        assert_eq!(p.attempts(), 1);
        assert_eq!(p.backoff(4), Duration::ZERO);
        assert_eq!(RetryPolicy::none().attempts(), 1);
    }
}
