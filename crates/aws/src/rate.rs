//! Pacing and retrying AWS IoT control-plane calls.
//!
//! Every attempt of every SDK call first takes one call of its API from the registry's
//! [`RateBudget`] (by default a fresh [`iot_crr_registry::LocalBudget`] at the
//! registry's quotas; it can be shared, see [`crate::AwsRegistry::with_budget`]). Only
//! this backend sees each HTTP request, so it paces them itself rather than through
//! [`iot_crr_registry::Paced`].
//!
//! [`Limiter::run`] wraps one logical call: it acquires before every attempt, counts
//! every attempt (that is what `--stats` reports), reports throttles and successes to
//! the budget, and retries throttled and transient failures with the back-off of
//! [`RetryPolicy`] (at least the registry's retry-after hint). A call that is not safe
//! to repeat ([`Repeat::NotAfterMaybeApplied`]) is not retried after an error that may
//! have been applied: its caller finds out first what happened.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use iot_crr_registry::{RateBudget, RegistryError, RetryPolicy};

/// Whether a call may be sent again after an error that may have been applied (the
/// request went out and the answer was lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Sending it twice does no harm (reads, and writes that are idempotent or whose
    /// repeat is recognised, like a create answered "already exists").
    Safe,
    /// A second send could do the work twice (`CreatePolicyVersion` makes another
    /// version): after a maybe-applied error it is returned to the caller, which looks
    /// first. Throttled answers (refused, so not applied) are still retried.
    NotAfterMaybeApplied,
}

/// Paces calls through a [`RateBudget`], retries them with a [`RetryPolicy`] and counts
/// the attempts of this registry.
pub(crate) struct Limiter {
    budget: Arc<dyn RateBudget>,
    policy: RetryPolicy,
    calls: Mutex<BTreeMap<String, u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

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

impl Limiter {
    /// A limiter drawing from `budget`, retrying with `policy`.
    pub(crate) fn new(budget: Arc<dyn RateBudget>, policy: RetryPolicy) -> Self {
        Limiter {
            budget,
            policy,
            calls: Mutex::default(),
            throttled: Mutex::default(),
        }
    }

    /// Draws from another budget from now on.
    pub(crate) fn set_budget(&mut self, budget: Arc<dyn RateBudget>) {
        self.budget = budget;
    }

    /// The budget calls are drawn from.
    pub(crate) fn budget(&self) -> &Arc<dyn RateBudget> {
        &self.budget
    }

    /// The retry policy.
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Requests this registry sent per API operation, every attempt counted, sorted by
    /// name (a shared budget counts the requests of all its holders).
    pub(crate) fn calls(&self) -> Vec<(String, u64)> {
        counts(&self.calls)
    }

    /// Throttled answers this registry received per API operation, sorted by name.
    pub(crate) fn throttles(&self) -> Vec<(String, u64)> {
        counts(&self.throttled)
    }

    /// Runs one logical call of `api`: acquires from the budget before every attempt,
    /// counts every attempt, and retries retryable failures (throttled, transient) with
    /// jittered back-off, at least as long as the error's retry-after hint. With
    /// [`Repeat::NotAfterMaybeApplied`] an error that may have been applied is returned
    /// at once. The last error is returned when the attempts are used up (its message
    /// says how many were made); any other error is returned at once.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        api: &str,
        repeat: Repeat,
        mut attempt_fn: F,
    ) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RegistryError>>,
    {
        let max = self.policy.attempts();
        let first = tokio::time::Instant::now();
        let (mut attempt, mut counted) = (0, 0);
        loop {
            attempt += 1;
            counted += 1;
            self.budget.acquire(api).await;
            count(&self.calls, api);
            let e = match attempt_fn().await {
                Ok(v) => {
                    self.budget.on_success(api);
                    return Ok(v);
                }
                Err(e) => e,
            };
            if e.class == iot_crr_registry::ErrorClass::Throttled {
                count(&self.throttled, api);
                self.budget.on_throttle(api, e.retry_after);
            }
            if !e.class.is_retryable() {
                return Err(e);
            }
            if e.maybe_applied && repeat == Repeat::NotAfterMaybeApplied {
                return Err(e);
            }
            let since_first = first.elapsed();
            if !self.policy.may_retry(e.class, counted, since_first) {
                let mut e = e;
                if e.class == iot_crr_registry::ErrorClass::Throttled && attempt > max {
                    e.message = format!(
                        "{} (still throttled after {:.0} s and {attempt} attempts)",
                        e.message,
                        since_first.as_secs_f64()
                    );
                } else if max > 1 {
                    e.message = format!("{} (gave up after {attempt} attempts)", e.message);
                }
                return Err(e);
            }
            if e.class == iot_crr_registry::ErrorClass::Throttled
                && since_first < self.policy.throttle_patience
            {
                // Throttling within the patience is not a failed attempt.
                counted -= 1;
            }
            let delay = self.policy.backoff(e.class, attempt, e.retry_after);
            tracing::debug!(api, attempt, ?delay, error = %e, "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use iot_crr_registry::{ErrorClass, LocalBudget, Quotas};
    use tokio::time::Instant;

    fn limiter(max_attempts: u32) -> (Limiter, Arc<LocalBudget>) {
        let mut q = Quotas::default();
        q.set("Op", 100.0);
        let budget = LocalBudget::shared(q);
        let l = Limiter::new(
            budget.clone(),
            RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            },
        );
        (l, budget)
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_retryable_errors_and_counts_attempts() {
        let (l, budget) = limiter(5);
        let n = AtomicU32::new(0);
        let r = l
            .run("Op", Repeat::Safe, || async {
                match n.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(RegistryError::new(ErrorClass::Throttled, "slow down")),
                    1 => Err(RegistryError::new(ErrorClass::Transient, "503").maybe_applied()),
                    _ => Ok(42),
                }
            })
            .await
            .unwrap();
        assert_eq!(r, 42);
        assert_eq!(l.calls(), vec![("Op".to_string(), 3)]);
        assert_eq!(l.throttles(), vec![("Op".to_string(), 1)]);
        assert_eq!(budget.calls(), l.calls());
        assert_eq!(budget.throttles(), l.throttles());
        // Halved, then 2% of the quota back per second of the retries' back-off.
        let rate = budget.bucket("Op").rate();
        assert!(rate > 50.0 && rate < 53.0, "{rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn run_gives_up_after_max_attempts() {
        let (l, _) = limiter(3);
        let e = l
            .run("Op", Repeat::Safe, || async {
                Err::<(), _>(RegistryError::new(ErrorClass::Transient, "reset"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("gave up after 3 attempts"), "{e}");
        assert_eq!(l.calls(), vec![("Op".to_string(), 3)]);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_past_the_attempts_for_the_patience() {
        let (l, _) = limiter(3);
        let n = AtomicU32::new(0);
        // Twenty throttled answers, then success: three attempts would have given up.
        let r = l
            .run("Op", Repeat::Safe, || async {
                if n.fetch_add(1, Ordering::SeqCst) < 20 {
                    Err(RegistryError::new(ErrorClass::Throttled, "slow down"))
                } else {
                    Ok(1)
                }
            })
            .await
            .unwrap();
        assert_eq!(r, 1);
        assert_eq!(l.calls(), vec![("Op".to_string(), 21)]);
        // Always throttled: gives up once the patience has passed, saying so.
        let start = Instant::now();
        let e = l
            .run("Op", Repeat::Safe, || async {
                Err::<(), _>(RegistryError::new(ErrorClass::Throttled, "slow down"))
            })
            .await
            .unwrap_err();
        assert!(start.elapsed() >= RetryPolicy::default().throttle_patience);
        assert!(e.message.contains("still throttled after"), "{e}");
        // A transient error among throttles still counts against the attempts.
        let n = AtomicU32::new(0);
        let e = l
            .run("Op", Repeat::Safe, || async {
                match n.fetch_add(1, Ordering::SeqCst) % 2 {
                    0 => Err::<(), _>(RegistryError::new(ErrorClass::Transient, "reset")),
                    _ => Err(RegistryError::new(ErrorClass::Throttled, "slow down")),
                }
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("gave up after 5 attempts"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn run_does_not_retry_permanent_errors() {
        let (l, _) = limiter(5);
        let e = l
            .run("Op", Repeat::Safe, || async {
                Err::<(), _>(RegistryError::new(ErrorClass::Invalid, "bad name"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid);
        assert_eq!(e.message, "bad name");
        assert_eq!(l.calls(), vec![("Op".to_string(), 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_unsafe_to_repeat_is_not_retried_after_a_maybe_applied_error() {
        let (l, _) = limiter(5);
        let n = AtomicU32::new(0);
        let e = l
            .run("Op", Repeat::NotAfterMaybeApplied, || async {
                n.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(
                    RegistryError::new(ErrorClass::Transient, "HTTP 500")
                        .with_status(500)
                        .maybe_applied(),
                )
            })
            .await
            .unwrap_err();
        assert!(e.maybe_applied);
        assert!(!e.message.contains("gave up"), "{e}");
        assert_eq!(n.load(Ordering::SeqCst), 1, "sent once");

        // Throttling is a refusal: retried even for such a call.
        let n = AtomicU32::new(0);
        let r = l
            .run("Op", Repeat::NotAfterMaybeApplied, || async {
                match n.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(RegistryError::new(ErrorClass::Throttled, "slow down")),
                    // A transient error known not to have been applied: retried too.
                    1 => Err(RegistryError::new(ErrorClass::Transient, "refused")),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!(r, 7);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn run_waits_at_least_the_retry_after_hint() {
        let (l, _) = limiter(2);
        let n = AtomicU32::new(0);
        let start = Instant::now();
        l.run("Op", Repeat::Safe, || async {
            match n.fetch_add(1, Ordering::SeqCst) {
                0 => Err(RegistryError::new(ErrorClass::Throttled, "slow down")
                    .with_retry_after(Duration::from_secs(7))),
                _ => Ok(()),
            }
        })
        .await
        .unwrap();
        assert!(
            start.elapsed() >= Duration::from_secs(7),
            "{:?}",
            start.elapsed()
        );
    }
}
