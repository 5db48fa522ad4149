//! When and how a failed call is retried: one policy for every layer that retries (the
//! engine per change, a backend per API call).

use std::time::Duration;

use crate::ErrorClass;

/// Retries of calls that failed with a retryable [`ErrorClass`] (throttled or
/// transient), with capped exponential back-off and jitter.
///
/// Before retry `n` (1 for the first) the wait is a random point in the upper half of
/// `min(max_delay, base * 2^(n-1))` ("equal jitter": concurrent callers that failed
/// together spread out, and every caller still waits), where `base` is
/// [`RetryPolicy::throttle_base_delay`] after a throttled answer (the quota needs time
/// to refill) and [`RetryPolicy::base_delay`] otherwise. A registry's retry-after hint,
/// when it gives one, is waited at least.
///
/// Throttling is not a failure of the call but the API asking for patience: throttled
/// answers are retried without counting against [`RetryPolicy::max_attempts`] until
/// [`RetryPolicy::throttle_patience`] has passed since the call's first attempt (the
/// rate control meanwhile slows the caller to what the API allows), so a long backfill
/// never gives up a change because an API was busy for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first one included (default 6). `0` is taken as `1`.
    pub max_attempts: u32,
    /// The first back-off ceiling after a transient fault (default 200 ms); it doubles
    /// with every further retry.
    pub base_delay: Duration,
    /// The first back-off ceiling after a throttled answer (default 500 ms).
    pub throttle_base_delay: Duration,
    /// The largest back-off ceiling (default 20 s).
    pub max_delay: Duration,
    /// How long a call keeps retrying throttled answers before they count as attempts
    /// too (default 10 minutes; zero counts every throttled answer as an attempt).
    pub throttle_patience: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            throttle_base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            throttle_patience: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt per call.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            throttle_patience: Duration::ZERO,
            ..RetryPolicy::default()
        }
    }

    /// A policy with `max_attempts` attempts (throttled ones included) and tiny delays
    /// (for tests).
    pub fn fast(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(1),
            throttle_base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            throttle_patience: Duration::ZERO,
        }
    }

    /// Whether a call may be retried after an answer of `class` (retryable or not is the
    /// caller's question): a throttled answer while less than
    /// [`RetryPolicy::throttle_patience`] has passed since the call's first attempt,
    /// and otherwise while fewer than [`RetryPolicy::max_attempts`] attempts were
    /// counted (`counted`: the attempts made, less the throttled ones retried within
    /// the patience).
    pub fn may_retry(&self, class: ErrorClass, counted: u32, since_first: Duration) -> bool {
        (class == ErrorClass::Throttled && since_first < self.throttle_patience)
            || counted < self.attempts()
    }

    /// Attempts per call, at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The longest wait before retry number `retry` (1 for the first) after an error
    /// of `class`: `min(max_delay, base * 2^(retry-1))`. After a throttled answer the
    /// doubling stops at `base * 8`: the rate control paces the calls to what the API
    /// allows, and a call retried for minutes should not sleep longer and longer.
    pub fn ceiling(&self, class: ErrorClass, retry: u32) -> Duration {
        let (base, max_shift) = if class == ErrorClass::Throttled {
            (self.throttle_base_delay, 3)
        } else {
            (self.base_delay, 31)
        };
        let shift = retry.saturating_sub(1).min(max_shift);
        base.saturating_mul(1u32 << shift).min(self.max_delay)
    }

    /// A random wait before retry number `retry` after an error of `class`, in the
    /// upper half of [`RetryPolicy::ceiling`], and at least `retry_after` when given.
    pub fn backoff(
        &self,
        class: ErrorClass,
        retry: u32,
        retry_after: Option<Duration>,
    ) -> Duration {
        let ceiling = self.ceiling(class, retry).as_secs_f64();
        let jittered = ceiling / 2.0 + rand::random::<f64>() * ceiling / 2.0;
        let wait = Duration::from_secs_f64(jittered);
        match retry_after {
            Some(hint) => wait.max(hint),
            None => wait,
        }
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
            throttle_base_delay: Duration::from_millis(300),
            max_delay: Duration::from_millis(1000),
            throttle_patience: Duration::ZERO,
        };
        let ms: Vec<u128> = (1..=6)
            .map(|n| p.ceiling(ErrorClass::Transient, n).as_millis())
            .collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.ceiling(ErrorClass::Throttled, 1).as_millis(), 300);
        assert_eq!(p.ceiling(ErrorClass::Throttled, 3).as_millis(), 1000);
        let q = RetryPolicy {
            max_delay: Duration::from_secs(60),
            ..p
        };
        assert_eq!(q.ceiling(ErrorClass::Throttled, 30).as_millis(), 2400);
        assert_eq!(
            p.ceiling(ErrorClass::Transient, u32::MAX),
            Duration::from_millis(1000)
        );
    }

    #[test]
    fn backoff_is_jittered_in_the_upper_half_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (0..200)
            .map(|_| p.backoff(ErrorClass::Transient, 3, None))
            .collect();
        let c = p.ceiling(ErrorClass::Transient, 3);
        assert!(waits.iter().all(|w| *w >= c / 2 && *w <= c));
        assert!(waits.iter().any(|w| *w != waits[0]), "jitter is random");
        let w = p.backoff(ErrorClass::Throttled, 1, Some(Duration::from_secs(3)));
        assert!(w >= Duration::from_secs(3));
    }

    #[test]
    fn throttling_is_retried_for_the_patience_whatever_the_attempts() {
        let p = RetryPolicy {
            max_attempts: 3,
            throttle_patience: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert!(p.may_retry(ErrorClass::Throttled, 3, Duration::from_secs(59)));
        assert!(!p.may_retry(ErrorClass::Throttled, 3, Duration::from_secs(60)));
        assert!(p.may_retry(ErrorClass::Throttled, 2, Duration::from_secs(600)));
        assert!(!p.may_retry(ErrorClass::Transient, 3, Duration::ZERO));
        assert!(p.may_retry(ErrorClass::Transient, 2, Duration::ZERO));
        assert!(!RetryPolicy::fast(2).may_retry(ErrorClass::Throttled, 2, Duration::ZERO));
    }

    #[test]
    fn zero_attempts_is_one() {
        let p = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::none()
        };
        assert_eq!(p.attempts(), 1);
        assert_eq!(RetryPolicy::none().attempts(), 1);
    }
}
