//! Counters of the event path, rendered in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use iot_crr_engine::ApplyReport;
use iot_crr_registry::Registry;

use crate::BatchOutcome;

/// Upper bounds (milliseconds) of the lag histogram's buckets.
pub const LAG_BUCKETS_MILLIS: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000,
];

/// What the event path counted since it started. Shared (in an `Arc`) between the
/// applier, the consumer loop and the metrics endpoint; every counter is atomic.
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    applied: AtomicU64,
    stale: AtomicU64,
    dead_lettered: AtomicU64,
    writes: AtomicU64,
    reads: AtomicU64,
    batches: AtomicU64,
    batches_retried: AtomicU64,
    retries: AtomicU64,
    reconciles: AtomicU64,
    reconcile_failures: AtomicU64,
    lag_buckets: [AtomicU64; LAG_BUCKETS_MILLIS.len()],
    lag_count: AtomicU64,
    lag_sum_millis: AtomicU64,
    /// The last readiness check: devices ready and not ready per reason.
    readiness: std::sync::Mutex<Option<Readiness>>,
}

/// The gauges of the last readiness check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Readiness {
    ready: u64,
    /// Devices not ready (or undecided), all reasons together.
    not_ready: u64,
    /// Devices per reason (a device may count under several).
    by_reason: Vec<(String, u64)>,
}

/// A copy of the counters at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Records received.
    pub received: u64,
    /// Events applied (their resources reconciled).
    pub applied: u64,
    /// Events skipped as duplicates, stale versions or older than a delete.
    pub stale: u64,
    /// Records put in the dead letters.
    pub dead_lettered: u64,
    /// Changes written to the target.
    pub writes: u64,
    /// Resources and relations read to reconcile events.
    pub reads: u64,
    /// Batches applied.
    pub batches: u64,
    /// Batches that failed with a retryable fault and were delivered again.
    pub batches_retried: u64,
    /// Periodic full reconciles completed.
    pub reconciles: u64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    /// Records received.
    pub fn received(&self, n: u64) {
        add(&self.received, n);
    }

    /// Whole records dead-lettered before they reached the applier (a bad KPL record).
    pub fn dead_lettered_records(&self, n: u64) {
        add(&self.dead_lettered, n);
    }

    /// Reads made.
    pub fn reads(&self, n: u64) {
        add(&self.reads, n);
    }

    /// An apply's writes and retries.
    pub fn writes(&self, report: &ApplyReport) {
        add(&self.writes, report.counts.applied as u64);
        add(&self.retries, report.retries);
    }

    /// One event applied `millis` after it happened.
    pub fn lag(&self, millis: u64) {
        for (b, le) in self.lag_buckets.iter().zip(LAG_BUCKETS_MILLIS) {
            if millis <= le {
                add(b, 1);
            }
        }
        add(&self.lag_count, 1);
        add(&self.lag_sum_millis, millis);
    }

    /// A batch's outcome (its lag was counted per event).
    pub fn record_batch(&self, out: &BatchOutcome) {
        add(&self.applied, out.applied as u64);
        add(&self.stale, out.stale as u64);
        add(&self.dead_lettered, out.dead_lettered as u64);
        add(&self.batches, 1);
    }

    /// A batch that failed with a retryable fault.
    pub fn batch_retried(&self) {
        add(&self.batches_retried, 1);
    }

    /// A periodic full reconcile finished (`ok`) or failed.
    pub fn reconciled(&self, ok: bool) {
        add(
            if ok {
                &self.reconciles
            } else {
                &self.reconcile_failures
            },
            1,
        );
    }

    /// The result of a readiness check, published as gauges until the next one.
    pub fn readiness(&self, summary: &iot_crr_readiness::Summary) {
        let r = Readiness {
            ready: summary.ready as u64,
            not_ready: (summary.not_ready + summary.cannot_decide) as u64,
            by_reason: iot_crr_readiness::ReasonCode::ALL
                .iter()
                .filter(|c| **c != iot_crr_readiness::ReasonCode::NotReadyInSource)
                .map(|c| {
                    let n = summary.reasons.get(c.as_str()).map_or(0, |n| n.devices);
                    (c.as_str().to_string(), n as u64)
                })
                .collect(),
        };
        *self.readiness.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            received: get(&self.received),
            applied: get(&self.applied),
            stale: get(&self.stale),
            dead_lettered: get(&self.dead_lettered),
            writes: get(&self.writes),
            reads: get(&self.reads),
            batches: get(&self.batches),
            batches_retried: get(&self.batches_retried),
            reconciles: get(&self.reconciles),
        }
    }

    /// The Prometheus text exposition of the counters, with the API calls and
    /// throttles per operation of the given registries (labelled by role).
    pub fn render(&self, registries: &[(&str, &dyn Registry)]) -> String {
        let mut o = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP iot_crr_{name} {help}");
            let _ = writeln!(o, "# TYPE iot_crr_{name} counter");
            let _ = writeln!(o, "iot_crr_{name} {v}");
        };
        counter(
            "events_received_total",
            "Records received.",
            get(&self.received),
        );
        counter(
            "events_applied_total",
            "Events applied.",
            get(&self.applied),
        );
        counter(
            "events_skipped_total",
            "Events skipped as duplicates, stale versions or older than a delete.",
            get(&self.stale),
        );
        counter(
            "events_dead_lettered_total",
            "Records put in the dead letters.",
            get(&self.dead_lettered),
        );
        counter(
            "writes_total",
            "Changes written to the target.",
            get(&self.writes),
        );
        counter(
            "reads_total",
            "Resources and relations read for events.",
            get(&self.reads),
        );
        counter("batches_total", "Batches applied.", get(&self.batches));
        counter(
            "batches_retried_total",
            "Batches that failed with a retryable fault and are delivered again.",
            get(&self.batches_retried),
        );
        counter(
            "apply_retries_total",
            "Calls retried while applying.",
            get(&self.retries),
        );
        counter(
            "reconciles_total",
            "Periodic full reconciles completed.",
            get(&self.reconciles),
        );
        counter(
            "reconcile_failures_total",
            "Periodic full reconciles that failed.",
            get(&self.reconcile_failures),
        );
        let _ = writeln!(
            o,
            "# HELP iot_crr_event_lag_seconds From the event's time to its apply.\n\
             # TYPE iot_crr_event_lag_seconds histogram"
        );
        for (b, le) in self.lag_buckets.iter().zip(LAG_BUCKETS_MILLIS) {
            let _ = writeln!(
                o,
                "iot_crr_event_lag_seconds_bucket{{le=\"{}\"}} {}",
                le as f64 / 1000.0,
                get(b)
            );
        }
        let readiness = self
            .readiness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(r) = readiness {
            let _ = writeln!(
                o,
                "# HELP iot_crr_devices_ready Devices the target would accept and serve as \
                 the source does, at the last readiness check.\n\
                 # TYPE iot_crr_devices_ready gauge\niot_crr_devices_ready {}",
                r.ready
            );
            let _ = writeln!(
                o,
                "# HELP iot_crr_devices_not_ready Devices the target would refuse (or that \
                 cannot be decided) at the last readiness check, per reason (a device counts under \
                 each of its reasons) and in all (reason=\"any\").\n\
                 # TYPE iot_crr_devices_not_ready gauge\n\
                 iot_crr_devices_not_ready{{reason=\"any\"}} {}",
                r.not_ready
            );
            for (reason, n) in &r.by_reason {
                let _ = writeln!(o, "iot_crr_devices_not_ready{{reason=\"{reason}\"}} {n}");
            }
        }
        let count = get(&self.lag_count);
        let _ = writeln!(o, "iot_crr_event_lag_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            o,
            "iot_crr_event_lag_seconds_sum {}",
            get(&self.lag_sum_millis) as f64 / 1000.0
        );
        let _ = writeln!(o, "iot_crr_event_lag_seconds_count {count}");
        for (metric, help, f) in [
            (
                "api_calls_total",
                "AWS API calls per registry and operation.",
                (|r: &dyn Registry| r.api_calls()) as fn(&dyn Registry) -> Vec<(String, u64)>,
            ),
            (
                "api_throttles_total",
                "Calls answered with throttling per registry and operation.",
                |r: &dyn Registry| r.throttles(),
            ),
        ] {
            let _ = writeln!(
                o,
                "# HELP iot_crr_{metric} {help}\n# TYPE iot_crr_{metric} counter"
            );
            for (role, r) in registries {
                for (api, n) in f(*r) {
                    let _ = writeln!(
                        o,
                        "iot_crr_{metric}{{registry=\"{role}\",operation=\"{api}\"}} {n}"
                    );
                }
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_buckets_are_cumulative_and_rendered() {
        let m = Metrics::default();
        m.lag(40);
        m.lag(700);
        m.lag(10_000_000);
        m.record_batch(&BatchOutcome {
            received: 3,
            applied: 2,
            stale: 1,
            ..Default::default()
        });
        let text = m.render(&[]);
        assert!(
            text.contains("iot_crr_event_lag_seconds_bucket{le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("iot_crr_event_lag_seconds_bucket{le=\"1\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("iot_crr_event_lag_seconds_bucket{le=\"+Inf\"} 3"),
            "{text}"
        );
        assert!(text.contains("iot_crr_event_lag_seconds_count 3"), "{text}");
        assert!(text.contains("iot_crr_events_applied_total 2"), "{text}");
        assert!(text.contains("iot_crr_events_skipped_total 1"), "{text}");
        assert_eq!(m.snapshot().batches, 1);
    }
}
