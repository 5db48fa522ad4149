//! The time budget: once the deadline passes nothing new is sent, changes in flight
//! finish, every other change is reported as not sent with its resource listed, and
//! applying the changes not sent completes the work. Virtual time (paused).

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use common::Timed;
use iot_crr_engine::{
    ApplyFailure, ApplyOptions, ApplyProgress, ChangeResult, Engine, RetryPolicy, apply_plan,
};
use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{
    Change, DiffOptions, Outcome, Plan, PlannedChange, Resource, ResourceKey, Snapshot, diff,
};
use iot_crr_registry::{ErrorClass, MemoryRegistry, ReadRequest, Registry, RegistryError, Related};
use tokio::time::Instant;

#[derive(Default)]
struct Indices(Mutex<Vec<(usize, &'static str)>>);

impl ApplyProgress for Indices {
    fn finished(&self, index: usize, _: &PlannedChange, result: &ChangeResult) {
        self.0.lock().unwrap().push((index, result.label()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_plan_cut_by_the_deadline_resumes_with_the_changes_not_sent() {
    let desired = generate(&FleetSpec {
        things: 20,
        seed: 3,
        certificate_ratio: 0.5,
        ..FleetSpec::default()
    });
    let target = Timed::new(MemoryRegistry::new(), |_| Duration::from_millis(100));
    let plan = diff(&desired, &target.inner.snapshot(), &DiffOptions::default());
    assert!(plan.changes.len() > 60, "{}", plan.changes.len());

    let options = ApplyOptions {
        concurrency: 4,
        deadline: Some(Instant::now() + Duration::from_millis(1050)),
        ..ApplyOptions::default()
    };
    let progress = Indices::default();
    let report = apply_plan(&plan, &target, &options, Some(&progress)).await;

    // Eleven rounds of four calls: ten before the deadline, the eleventh in flight
    // when it passed, finished.
    let c = report.counts;
    assert_eq!(c.applied, 44, "{report}");
    assert_eq!((c.failed, c.skipped, c.already_in_state), (0, 0, 0));
    assert_eq!(c.not_sent, plan.changes.len() - 44);
    assert_eq!(c.total(), plan.changes.len());
    let calls: u64 = report.api_calls.values().sum();
    assert_eq!(calls, 44, "nothing is sent after the deadline");
    assert!(report.not_sent().all(|r| r.attempts == 0));
    assert!(report.not_sent().all(|r| matches!(&r.result,
        ChangeResult::NotSent { reason } if reason == "the deadline passed before it was sent")));
    assert_eq!(
        report.check(),
        Err(ApplyFailure::Unfinished {
            not_sent: c.not_sent
        })
    );
    let text = report.to_string();
    assert!(
        text.contains(&format!("0 skipped, {} not sent (deadline)", c.not_sent)),
        "{text}"
    );
    assert!(text.contains("the deadline passed"), "{text}");

    // Every change was reported once, with its plan index.
    let mut seen = progress.0.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..plan.changes.len()).collect::<Vec<_>>()
    );

    // The unfinished keys are exactly the resources that still differ: reconciling
    // them resumes the apply.
    let keys = report.unfinished_keys();
    let expected: BTreeSet<ResourceKey> = report.not_sent().map(|r| r.key.clone()).collect();
    assert_eq!(keys, expected.into_iter().collect::<Vec<_>>());
    let remaining = diff(&desired, &target.inner.snapshot(), &DiffOptions::default());
    let remaining_keys: BTreeSet<ResourceKey> =
        remaining.changes.iter().map(|c| c.change.key()).collect();
    assert_eq!(remaining_keys, keys.iter().cloned().collect());

    // A plan of the changes not sent, in their order, completes the work.
    let rest = Plan {
        changes: report
            .not_sent()
            .map(|r| plan.changes[r.index].clone())
            .collect(),
        ..plan.clone()
    };
    let resumed = apply_plan(&rest, &target, &ApplyOptions::default(), None).await;
    assert!(resumed.is_success(), "{resumed}");
    assert_eq!(resumed.counts.applied, c.not_sent);
    assert!(diff(&desired, &target.inner.snapshot(), &DiffOptions::default()).is_empty());
}

/// Every write is throttled with a retry-after hint of ten seconds.
struct SlowDown(MemoryRegistry);

#[async_trait]
impl Registry for SlowDown {
    fn location(&self) -> String {
        self.0.location()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.0.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.0.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.0.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        Err(RegistryError::new(ErrorClass::Throttled, "rate exceeded")
            .with_api(change.api())
            .with_retry_after(Duration::from_secs(10)))
    }
}

fn thing(name: &str) -> PlannedChange {
    PlannedChange {
        stage: 5000,
        change: Change::CreateThing {
            thing_name: name.into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        },
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_would_end_after_the_deadline_is_not_made() {
    let target = SlowDown(MemoryRegistry::new());
    let start = Instant::now();
    let options = ApplyOptions {
        retry: RetryPolicy::fast(5),
        deadline: Some(start + Duration::from_secs(5)),
        ..ApplyOptions::default()
    };
    let (sink, run) = Engine::start(&target, &options, None);
    sink.submit(0, thing("t1")).unwrap();
    sink.close();
    let report = run.await;
    let r = &report.changes[0];
    assert_eq!(r.attempts, 1);
    assert!(
        matches!(&r.result, ChangeResult::NotSent { reason }
            if reason.contains("before retry 1") && reason.contains("rate exceeded")),
        "{:?}",
        r.result
    );
    assert_eq!(report.unfinished_keys(), vec![r.key.clone()]);
    // It gave up at once instead of waiting for the hint.
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn changes_submitted_after_the_deadline_are_not_sent() {
    let target = MemoryRegistry::new();
    let start = Instant::now();
    let options = ApplyOptions {
        deadline: Some(start + Duration::from_secs(1)),
        ..ApplyOptions::default()
    };
    let (sink, run) = Engine::start(&target, &options, None);
    let producer = async move {
        sink.submit(0, thing("early")).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        sink.submit(1, thing("late")).unwrap();
    };
    let ((), report) = tokio::join!(producer, run);
    assert_eq!(report.changes[0].result, ChangeResult::Applied);
    assert!(report.changes[1].result.is_not_sent());
    assert_eq!(target.api_calls(), vec![("CreateThing".to_string(), 1)]);
}
