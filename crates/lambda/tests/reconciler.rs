//! The reconciler handler on in-memory registries and state: a run that finishes a pass
//! judges the target's failover readiness, answers with it and writes it as CloudWatch
//! embedded metric format documents; runs that do not finish a pass, or with readiness
//! off, write none; a readiness that fails, or a pass with failed changes, never loses
//! the run's report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_lambda::{
    DEVICES_NOT_READY, DEVICES_NOT_READY_BY_REASON, DEVICES_READY, REASON_DIMENSION,
    ReadinessMetrics, ReconcileRunError, Reconciler,
};
use iot_crr_readiness::Summary;
use iot_crr_reconcile::{Progress, ReadinessOptions, ReconcileOptions, RewriteSpec, readiness};
use iot_crr_registry::{ErrorClass, Fault, MemoryRegistry, RetryPolicy};
use iot_crr_replicator::pass::{PassOptions, Stop};
use iot_crr_state::MemoryStore;
use serde_json::Value;

/// The standby's region (the fleet's ARNs name `us-east-1`).
const STANDBY: &str = "eu-west-1";

struct World {
    source: Arc<MemoryRegistry>,
    target: Arc<MemoryRegistry>,
    state: Arc<MemoryStore>,
}

fn world(things: usize) -> World {
    let mut spec = FleetSpec::new(things);
    spec.seed = 7;
    World {
        source: Arc::new(MemoryRegistry::with_snapshot(generate(&spec))),
        target: Arc::new(MemoryRegistry::new()),
        state: Arc::new(MemoryStore::new()),
    }
}

/// A pass rewriting ARNs (or not) into [`STANDBY`], one page of `page_size` keys a run.
fn options(rewrite: bool, page_size: usize) -> PassOptions {
    let mut o = PassOptions {
        reconcile: ReconcileOptions {
            rewrite: RewriteSpec {
                enabled: rewrite,
                target_region: Some(STANDBY.into()),
                ..Default::default()
            },
            ..Default::default()
        },
        page_size,
        pages_per_run: Some(1),
        ..Default::default()
    };
    o.apply.retry = RetryPolicy::none();
    o
}

type Lines = Arc<Mutex<Vec<String>>>;

/// Metrics captured in memory instead of stdout.
fn captured(namespace: &str) -> (ReadinessMetrics, Lines) {
    let lines: Lines = Arc::default();
    let l = lines.clone();
    let writer = Arc::new(move |line: &str| l.lock().unwrap().push(line.to_string()));
    (ReadinessMetrics::with_writer(namespace, writer), lines)
}

fn reconciler(w: &World, options: PassOptions, metrics: Option<ReadinessMetrics>) -> Reconciler {
    Reconciler::new(
        w.source.clone(),
        w.target.clone(),
        w.state.clone(),
        options,
        Duration::from_secs(600),
    )
    .with_readiness(metrics)
}

fn deadline() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(900))
}

/// What `iot-crr readiness` would say of the two registries now.
async fn judged(w: &World, options: &PassOptions) -> Summary {
    let r = &options.reconcile.rewrite;
    let o = ReadinessOptions {
        filter: options.reconcile.filter.clone(),
        target_region: r.target_region.clone(),
        ..Default::default()
    };
    readiness(
        w.source.as_ref(),
        w.target.as_ref(),
        &o,
        &Progress::default(),
    )
    .await
    .unwrap()
    .assessment
    .summary()
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Checks the documents written for `summary`: the counts, then one document per reason
/// holding devices back.
fn check_documents(lines: &[String], summary: &Summary, namespace: &str) {
    let docs: Vec<Value> = lines.iter().map(|l| parse(l)).collect();
    let first = &docs[0];
    let directive = &first["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], namespace, "{first}");
    assert_eq!(directive["Dimensions"], serde_json::json!([[]]), "{first}");
    assert!(first["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(first[DEVICES_READY], summary.ready as u64, "{first}");
    assert_eq!(
        first[DEVICES_NOT_READY],
        (summary.not_ready + summary.cannot_decide) as u64,
        "{first}"
    );
    let want: Vec<(String, u64)> = summary
        .reasons
        .iter()
        .filter(|(code, _)| code.as_str() != "not-ready-in-source")
        .map(|(code, n)| (code.clone(), n.devices as u64))
        .collect();
    let mut got: Vec<(String, u64)> = docs[1..]
        .iter()
        .map(|d| {
            let directive = &d["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], namespace, "{d}");
            assert_eq!(
                directive["Dimensions"],
                serde_json::json!([[REASON_DIMENSION]])
            );
            assert_eq!(
                directive["Metrics"][0]["Name"], DEVICES_NOT_READY_BY_REASON,
                "{d}"
            );
            (
                d[REASON_DIMENSION].as_str().unwrap().to_string(),
                d[DEVICES_NOT_READY_BY_REASON].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_finished_pass_publishes_readiness_and_runs_before_it_do_not() {
    let w = world(12);
    let opts = options(true, 5);
    let (metrics, lines) = captured("IotCrr");
    let r = reconciler(&w, opts.clone(), Some(metrics));
    let mut runs = 0;
    let report = loop {
        runs += 1;
        assert!(runs < 200, "the pass does not finish");
        let report = r.run(deadline()).await.unwrap();
        if report.segment.finished_pass.is_some() {
            break report;
        }
        assert_eq!(report.segment.stopped, Stop::PageLimit);
        assert!(report.readiness.is_none(), "run {runs}");
        assert!(lines.lock().unwrap().is_empty(), "run {runs}");
        // The answer has no readiness member.
        let answer = serde_json::to_value(&report).unwrap();
        assert_eq!(answer["stopped"], "pageLimit", "{answer}");
        assert!(answer.get("readiness").is_none(), "{answer}");
    };
    assert!(runs > 3, "{runs}");
    assert_eq!(report.segment.stopped, Stop::Finished);
    let summary = report
        .readiness
        .clone()
        .expect("readiness of the finished pass");
    // What the CLI would judge of the same registries.
    assert_eq!(summary, judged(&w, &opts).await);
    assert!(summary.devices > 0 && summary.ready > 0, "{summary:?}");
    // Synced with the ARNs rewritten: every device the source accepts is ready.
    assert_eq!(summary.ready, summary.devices, "{summary:?}");
    assert_eq!((summary.not_ready, summary.cannot_decide), (0, 0));
    let written = lines.lock().unwrap().clone();
    assert_eq!(
        written.len(),
        1,
        "no reason holds a device back: {written:?}"
    );
    check_documents(&written, &summary, "IotCrr");

    // The answer: the run's report at the top level, the readiness beside it.
    let answer = serde_json::to_value(&report).unwrap();
    assert_eq!(answer["stopped"], "finished", "{answer}");
    assert_eq!(answer["finishedPass"]["pass"], 1, "{answer}");
    assert_eq!(
        answer["readiness"]["ready"], summary.ready as u64,
        "{answer}"
    );
    assert_eq!(answer["readiness"]["notReady"], 0, "{answer}");

    // The next pass finishes in one run (in sync) and publishes again.
    let big = PassOptions {
        page_size: 250,
        pages_per_run: None,
        ..opts
    };
    let (metrics, again) = captured("IotCrr");
    let report = reconciler(&w, big, Some(metrics))
        .run(deadline())
        .await
        .unwrap();
    assert_eq!(report.segment.finished_pass.map(|p| p.pass), Some(2));
    assert_eq!(report.segment.applied, 0);
    assert_eq!(report.readiness.as_ref(), Some(&summary));
    assert_eq!(again.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn devices_not_ready_are_counted_per_reason() {
    // Synced without rewriting: the standby's policies name the source's region.
    let w = world(12);
    let opts = PassOptions {
        page_size: 250,
        pages_per_run: None,
        ..options(false, 250)
    };
    let (metrics, lines) = captured("Fleet/IotCrr");
    let report = reconciler(&w, opts.clone(), Some(metrics))
        .run(deadline())
        .await
        .unwrap();
    assert_eq!(report.segment.stopped, Stop::Finished);
    let summary = report.readiness.expect("readiness of the finished pass");
    assert_eq!(summary, judged(&w, &opts).await);
    assert!(summary.not_ready > 0, "{summary:?}");
    let arns = &summary.reasons["arns-not-rewritten"];
    assert!(arns.devices > 0, "{summary:?}");
    let written = lines.lock().unwrap().clone();
    assert!(written.len() >= 2, "{written:?}");
    check_documents(&written, &summary, "Fleet/IotCrr");
    assert!(
        written
            .iter()
            .map(|l| parse(l))
            .any(|d| d[REASON_DIMENSION] == "arns-not-rewritten"
                && d[DEVICES_NOT_READY_BY_REASON] == arns.devices as u64)
    );
}

#[tokio::test]
async fn readiness_off_judges_nothing() {
    let w = world(6);
    let opts = PassOptions {
        pages_per_run: None,
        ..options(true, 250)
    };
    let report = reconciler(&w, opts, None).run(deadline()).await.unwrap();
    assert_eq!(report.segment.stopped, Stop::Finished);
    assert!(report.readiness.is_none());
    assert!(
        serde_json::to_value(&report)
            .unwrap()
            .get("readiness")
            .is_none()
    );
}

#[tokio::test]
async fn a_readiness_that_fails_does_not_fail_the_run() {
    // Neither the options nor the empty target tell the standby's region: readiness
    // cannot place it, the pass itself needs no region (no rewriting).
    let w = world(6);
    let mut opts = PassOptions {
        pages_per_run: None,
        ..options(false, 250)
    };
    opts.reconcile.rewrite.target_region = None;
    let (metrics, lines) = captured("IotCrr");
    let report = reconciler(&w, opts, Some(metrics))
        .run(deadline())
        .await
        .unwrap();
    assert_eq!(report.segment.stopped, Stop::Finished);
    assert!(report.segment.applied > 0);
    assert!(report.readiness.is_none());
    assert!(lines.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_pass_with_failed_changes_still_publishes_readiness() {
    let w = world(6);
    let opts = PassOptions {
        pages_per_run: None,
        ..options(true, 250)
    };
    // Every certificate registration refused for good (a fault fires once): their
    // devices are not ready.
    for _ in 0..50 {
        w.target.inject(Fault::fail(
            Some("RegisterCertificate"),
            ErrorClass::AccessDenied,
        ));
    }
    let (metrics, lines) = captured("IotCrr");
    let e = reconciler(&w, opts.clone(), Some(metrics))
        .run(deadline())
        .await
        .unwrap_err();
    let ReconcileRunError::Changes { failed, report, .. } = e else {
        panic!("{e}");
    };
    assert!(failed >= 1);
    assert_eq!(report.segment.stopped, Stop::Finished);
    let summary = report
        .readiness
        .expect("readiness despite the failed change");
    assert_eq!(summary, judged(&w, &opts).await);
    assert!(summary.not_ready >= 1, "{summary:?}");
    assert!(
        summary.reasons["certificate-missing"].devices >= 1,
        "{summary:?}"
    );
    let written = lines.lock().unwrap().clone();
    check_documents(&written, &summary, "IotCrr");
    assert!(written.len() >= 2, "{written:?}");
}
