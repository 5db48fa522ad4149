//! The reconciler: the scheduled full reconcile, one resumable segment per invocation,
//! and, when a pass finishes, the failover readiness of this region written as CloudWatch
//! metrics (embedded metric format documents on stdout, which Lambda sends to CloudWatch
//! Logs, which extracts the metrics).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use iot_crr_readiness::{ReasonCode, Summary};
use iot_crr_reconcile::{Progress, ReadinessOptions, readiness};
use iot_crr_registry::Registry;
use iot_crr_replicator::pass::{PassError, PassOptions, SegmentReport, run_segment};
use iot_crr_state::StateStore;

/// Time left for the calls in flight and the last progress save when the Lambda
/// deadline, rather than the budget, ends a run.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The budget of a run when none is configured: under Lambda's 15-minute limit.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(840);

/// The metric of the devices the source accepts that are ready in this region.
pub const DEVICES_READY: &str = "DevicesReady";

/// The metric of the devices the source accepts that are not ready in this region, or
/// cannot be decided (never counted as ready).
pub const DEVICES_NOT_READY: &str = "DevicesNotReady";

/// The metric of the devices not ready for one reason (dimension [`REASON_DIMENSION`]);
/// a device may count under several reasons.
pub const DEVICES_NOT_READY_BY_REASON: &str = "DevicesNotReadyByReason";

/// The dimension of [`DEVICES_NOT_READY_BY_REASON`]: the reason's code
/// ([`ReasonCode::as_str`], e.g. `policy-missing`).
pub const REASON_DIMENSION: &str = "Reason";

/// What one invocation of the reconciler did: the run of the pass, and the failover
/// readiness judged when the pass finished. It serialises as the run's report (its
/// members at the top level) with a `readiness` member when there is one.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run of the pass.
    #[serde(flatten)]
    pub segment: SegmentReport,
    /// The readiness of this region, when the pass finished in this run, readiness is
    /// on, and it was judged before the run's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Summary>,
}

/// Where a line of metrics goes.
pub type MetricsWriter = Arc<dyn Fn(&str) + Send + Sync>;

/// How the reconciler publishes failover readiness: the CloudWatch namespace, and where
/// the embedded metric format documents are written (stdout in Lambda).
#[derive(Clone)]
pub struct ReadinessMetrics {
    namespace: String,
    writer: MetricsWriter,
}

impl std::fmt::Debug for ReadinessMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadinessMetrics")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ReadinessMetrics {
    /// Metrics in `namespace`, written to stdout one document a line (in Lambda, stdout
    /// goes to the function's log group, where CloudWatch extracts the metrics).
    pub fn stdout(namespace: impl Into<String>) -> Self {
        Self::with_writer(namespace, Arc::new(write_stdout))
    }

    /// Metrics in `namespace`, each document handed to `writer` (tests capture them).
    pub fn with_writer(namespace: impl Into<String>, writer: MetricsWriter) -> Self {
        ReadinessMetrics {
            namespace: namespace.into(),
            writer,
        }
    }

    /// The CloudWatch namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

fn write_stdout(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::warn!("writing the readiness metrics to stdout: {e}");
    }
}

/// The CloudWatch embedded metric format documents of a readiness summary, one JSON
/// object each (one log line each):
///
/// - one with no dimensions: [`DEVICES_READY`] (`ready`) and [`DEVICES_NOT_READY`]
///   (`not_ready + cannot_decide`);
/// - one per reason that holds devices back (`not-ready-in-source` is not counted against
///   this region, so it has none), in [`ReasonCode::ALL`] order:
///   [`DEVICES_NOT_READY_BY_REASON`] with the dimension [`REASON_DIMENSION`] set to the
///   reason's code. A dimension has one value per document, hence a document per reason.
///
/// Every metric has the unit `Count`; `timestamp_millis` (milliseconds since the Unix
/// epoch) is the documents' `_aws.Timestamp`.
pub fn readiness_emf(summary: &Summary, namespace: &str, timestamp_millis: i64) -> Vec<String> {
    let document = |dimensions: Value, metrics: &[&str], members: Vec<(&str, Value)>| {
        let mut root = serde_json::Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": dimensions,
                    "Metrics": metrics
                        .iter()
                        .map(|m| json!({"Name": m, "Unit": "Count"}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        for (k, v) in members {
            root.insert(k.into(), v);
        }
        Value::Object(root).to_string()
    };
    let mut out = vec![document(
        json!([[]]),
        &[DEVICES_READY, DEVICES_NOT_READY],
        vec![
            (DEVICES_READY, json!(summary.ready)),
            (
                DEVICES_NOT_READY,
                json!(summary.not_ready + summary.cannot_decide),
            ),
        ],
    )];
    for code in ReasonCode::ALL {
        if code == ReasonCode::NotReadyInSource {
            continue;
        }
        let Some(count) = summary.reasons.get(code.as_str()) else {
            continue;
        };
        if count.devices == 0 {
            continue;
        }
        out.push(document(
            json!([[REASON_DIMENSION]]),
            &[DEVICES_NOT_READY_BY_REASON],
            vec![
                (REASON_DIMENSION, json!(code.as_str())),
                (DEVICES_NOT_READY_BY_REASON, json!(count.devices)),
            ],
        ));
    }
    out
}

/// The reasons of a summary as `code=devices,...` (the log line's `reasons` field).
fn reason_list(summary: &Summary) -> String {
    let mut s = String::new();
    for (code, count) in &summary.reasons {
        if !s.is_empty() {
            s.push(',');
        }
        let _ = write!(s, "{code}={}", count.devices);
    }
    s
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Why an invocation of the reconciler failed. Its progress is saved either way; the
/// next scheduled invocation goes on from it.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileRunError {
    /// The pass could not go on (see [`PassError`]).
    #[error(transparent)]
    Pass(#[from] PassError),
    /// The run went on, but changes failed: reported as a failed invocation so that the
    /// errors alarm sees it (the next pass tries them again).
    #[error("{failed} change(s) failed in this run, for example: {first}")]
    Changes {
        /// Changes failed or skipped.
        failed: u64,
        /// The first failure.
        first: String,
        /// The run's report (with the readiness, when it was judged).
        report: Box<RunReport>,
    },
}

/// The scheduled reconciler: the registries, the state store, what a pass does and how
/// readiness is published, built once per container.
pub struct Reconciler {
    source: Arc<dyn Registry>,
    target: Arc<dyn Registry>,
    state: Arc<dyn StateStore>,
    options: PassOptions,
    budget: Duration,
    readiness: Option<ReadinessMetrics>,
}

impl Reconciler {
    /// A reconciler of `source` into `target` that works at most `budget` per run, and
    /// judges no readiness (see [`Reconciler::with_readiness`]).
    pub fn new(
        source: Arc<dyn Registry>,
        target: Arc<dyn Registry>,
        state: Arc<dyn StateStore>,
        options: PassOptions,
        budget: Duration,
    ) -> Self {
        Reconciler {
            source,
            target,
            state,
            options,
            budget,
            readiness: None,
        }
    }

    /// When a run finishes a pass, judge every device's failover readiness (both
    /// registries read whole, within the run's deadline) and publish it with `metrics`;
    /// `None`: never.
    pub fn with_readiness(mut self, metrics: Option<ReadinessMetrics>) -> Self {
        self.readiness = metrics;
        self
    }

    /// The deadline of a run that starts now: the budget, or the Lambda deadline less
    /// [`DEADLINE_MARGIN`] when that comes first.
    pub fn deadline(&self, lambda_deadline: Option<SystemTime>) -> Instant {
        let now = Instant::now();
        let by_budget = now + self.budget;
        match lambda_deadline.and_then(|d| d.duration_since(SystemTime::now()).ok()) {
            Some(left) => by_budget.min(now + left.saturating_sub(DEADLINE_MARGIN)),
            None => by_budget,
        }
    }

    /// One invocation: the pass goes on from its saved position until it finishes or
    /// the deadline leaves no time for another page. The report is the answer and one
    /// log line (`reconcile run`, its counts as fields); failed changes are logged one
    /// by one and fail the invocation, after the progress was saved.
    ///
    /// When the pass finished in this run and readiness is on, the readiness of the
    /// target is judged in the time left before the deadline (failed changes or not:
    /// they are what readiness shows the effect of), logged (`failover readiness`) and
    /// written as metrics ([`readiness_emf`]). A readiness that fails or does not finish
    /// in time is logged as a warning; it never fails the invocation.
    pub async fn run(
        &self,
        lambda_deadline: Option<SystemTime>,
    ) -> Result<RunReport, ReconcileRunError> {
        let deadline = self.deadline(lambda_deadline);
        let report = run_segment(
            self.source.as_ref(),
            self.target.as_ref(),
            self.state.as_ref(),
            &self.options,
            deadline,
        )
        .await
        .inspect_err(|e| tracing::error!("reconcile run failed: {e}"))?;
        tracing::info!(
            stopped = ?report.stopped,
            pass = report.progress.pass,
            stage = %report.progress.stage,
            pages = report.pages,
            keys = report.keys,
            applied = report.applied,
            failed = report.failed,
            deletes = report.deletes,
            pass_pages = report.progress.pages,
            seconds = report.elapsed.as_secs_f64(),
            "reconcile run"
        );
        for failure in &report.failures {
            tracing::warn!(%failure, "reconcile change failed");
        }
        let readiness = match (&self.readiness, &report.finished_pass) {
            (Some(metrics), Some(_)) => self.publish_readiness(metrics, deadline).await,
            _ => None,
        };
        let report = RunReport {
            segment: report,
            readiness,
        };
        if report.segment.failed > 0 {
            return Err(ReconcileRunError::Changes {
                failed: report.segment.failed,
                first: report.segment.failures.first().cloned().unwrap_or_default(),
                report: Box::new(report),
            });
        }
        Ok(report)
    }

    /// Judges the target's readiness before `deadline`, logs it and writes its metrics;
    /// `None` (logged as a warning) when no time is left, it fails or it runs out of time.
    async fn publish_readiness(
        &self,
        metrics: &ReadinessMetrics,
        deadline: Instant,
    ) -> Option<Summary> {
        let started = Instant::now();
        if started >= deadline {
            tracing::warn!("failover readiness skipped: no time left before the run's deadline");
            return None;
        }
        let r = &self.options.reconcile.rewrite;
        let options = ReadinessOptions {
            filter: self.options.reconcile.filter.clone(),
            source_region: r.source_region.clone(),
            source_account: r.source_account.clone(),
            target_region: r.target_region.clone(),
            target_account: r.target_account.clone(),
            cross_check: 0,
        };
        let judged = tokio::time::timeout_at(
            deadline,
            readiness(
                self.source.as_ref(),
                self.target.as_ref(),
                &options,
                &Progress::default(),
            ),
        )
        .await;
        let run = match judged {
            Ok(Ok(run)) => run,
            Ok(Err(e)) => {
                tracing::warn!(
                    seconds = started.elapsed().as_secs_f64(),
                    "failover readiness failed: {e}"
                );
                return None;
            }
            Err(_) => {
                tracing::warn!(
                    seconds = started.elapsed().as_secs_f64(),
                    "failover readiness did not finish before the run's deadline (no \
                     metrics this pass; `iot-crr readiness` judges a registry of any size)"
                );
                return None;
            }
        };
        let summary = run.assessment.summary();
        tracing::info!(
            devices = summary.devices,
            ready = summary.ready,
            not_ready = summary.not_ready + summary.cannot_decide,
            cannot_decide = summary.cannot_decide,
            not_ready_in_source = summary.not_ready_in_source,
            reasons = %reason_list(&summary),
            policy_problems = run.assessment.policy_problems.len(),
            namespace = %metrics.namespace,
            seconds = started.elapsed().as_secs_f64(),
            "failover readiness"
        );
        for line in readiness_emf(&summary, &metrics.namespace, now_millis()) {
            (metrics.writer)(&line);
        }
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_readiness::ReasonCount;

    fn count(devices: usize) -> ReasonCount {
        ReasonCount {
            devices,
            first: vec!["thing-1 (certificate abc)".into()],
            example: "thing-1 (certificate abc): iot:Connect".into(),
        }
    }

    fn parse(line: &str) -> serde_json::Map<String, Value> {
        assert!(!line.contains('\n'), "one line: {line}");
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => m,
            other => panic!("not a JSON object: {other:?} ({line})"),
        }
    }

    /// Checks a document against the embedded metric format specification: `_aws` with
    /// a millisecond `Timestamp` and `CloudWatchMetrics` directives (`Namespace`,
    /// `Dimensions` an array of arrays of strings naming root members whose values are
    /// strings, `Metrics` of `Name` and `Unit` naming root members whose values are
    /// numbers, nothing else); returns (namespace, dimension sets, metric names).
    fn check_emf(root: &serde_json::Map<String, Value>) -> (String, Vec<Vec<String>>, Vec<String>) {
        let aws = root["_aws"].as_object().expect("_aws is an object");
        // Sorted: serde_json keeps insertion order when a crate of the build turns on
        // its `preserve_order` feature.
        let mut keys: Vec<&str> = aws.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["CloudWatchMetrics", "Timestamp"], "{aws:?}");
        assert!(aws["Timestamp"].is_i64(), "{aws:?}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        let d = directives[0].as_object().unwrap();
        let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["Dimensions", "Metrics", "Namespace"], "{d:?}");
        let sets: Vec<Vec<String>> = d["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|set| {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                set.iter()
                    .map(|k| {
                        let k = k.as_str().expect("a dimension key is a string");
                        assert!(root[k].is_string(), "dimension {k} is a string member");
                        k.to_string()
                    })
                    .collect()
            })
            .collect();
        let metrics: Vec<String> = d["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let m = m.as_object().unwrap();
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                assert_eq!(keys, ["Name", "Unit"], "{m:?}");
                assert_eq!(m["Unit"], "Count");
                let name = m["Name"].as_str().unwrap();
                assert!(root[name].is_u64(), "metric {name} is a number member");
                name.to_string()
            })
            .collect();
        (d["Namespace"].as_str().unwrap().to_string(), sets, metrics)
    }

    #[test]
    fn readiness_emf_follows_the_specification() {
        let mut summary = Summary {
            devices: 10,
            ready: 6,
            not_ready: 3,
            cannot_decide: 1,
            not_ready_in_source: 2,
            ..Summary::default()
        };
        for (code, n) in [
            (ReasonCode::PolicyMissing, 2),
            (ReasonCode::NotReadyInSource, 2),
            (ReasonCode::CertificateMissing, 1),
            (ReasonCode::CannotDecide, 1),
            (ReasonCode::ThingMissing, 0),
        ] {
            summary.reasons.insert(code.as_str().into(), count(n));
        }
        let lines = readiness_emf(&summary, "Fleet/IotCrr", 1_764_000_000_123);
        let docs: Vec<_> = lines.iter().map(|l| parse(l)).collect();
        for d in &docs {
            assert_eq!(d["_aws"]["Timestamp"], 1_764_000_000_123_i64);
        }

        let (ns, sets, metrics) = check_emf(&docs[0]);
        assert_eq!(ns, "Fleet/IotCrr");
        assert_eq!(sets, [Vec::<String>::new()], "no dimensions");
        assert_eq!(metrics, [DEVICES_READY, DEVICES_NOT_READY]);
        assert_eq!(docs[0][DEVICES_READY], 6);
        assert_eq!(docs[0][DEVICES_NOT_READY], 4, "not ready and cannot decide");
        assert_eq!(docs[0].len(), 3, "{:?}", docs[0]);

        // One document per reason with devices, in ReasonCode::ALL order; the source's
        // own refusals and empty reasons have none.
        let by_reason: Vec<(String, u64)> = docs[1..]
            .iter()
            .map(|d| {
                let (ns, sets, metrics) = check_emf(d);
                assert_eq!(ns, "Fleet/IotCrr");
                assert_eq!(sets, [vec![REASON_DIMENSION.to_string()]]);
                assert_eq!(metrics, [DEVICES_NOT_READY_BY_REASON]);
                assert_eq!(d.len(), 3, "{d:?}");
                (
                    d[REASON_DIMENSION].as_str().unwrap().to_string(),
                    d[DEVICES_NOT_READY_BY_REASON].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            by_reason,
            [
                ("certificate-missing".to_string(), 1),
                ("policy-missing".to_string(), 2),
                ("cannot-decide".to_string(), 1),
            ]
        );
    }

    #[test]
    fn readiness_emf_of_a_ready_region_is_one_document() {
        let summary = Summary {
            devices: 3,
            ready: 3,
            ..Summary::default()
        };
        let lines = readiness_emf(&summary, "IotCrr", 0);
        assert_eq!(lines.len(), 1);
        let d = parse(&lines[0]);
        check_emf(&d);
        assert_eq!(
            (&d[DEVICES_READY], &d[DEVICES_NOT_READY]),
            (&json!(3), &json!(0))
        );
    }

    #[test]
    fn the_reasons_field_lists_codes_and_counts() {
        let mut summary = Summary::default();
        assert_eq!(reason_list(&summary), "");
        summary.reasons.insert("thing-missing".into(), count(2));
        summary.reasons.insert("denied".into(), count(1));
        assert_eq!(reason_list(&summary), "denied=1,thing-missing=2");
    }
}
