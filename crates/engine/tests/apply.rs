//! Behaviour of `apply_plan` against the memory and file registries.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use iot_crr_engine::{ApplyOptions, ApplyProgress, ChangeResult, Engine, RetryPolicy, apply_plan};
use iot_crr_model::{
    BillingGroup, BillingGroupChange, Change, Counts, DiffOptions, Kind, Outcome, Plan,
    PlannedChange, Resource, ResourceKey, Snapshot, ThingGroup, ThingType,
    plan::PLAN_FORMAT_VERSION,
};
use iot_crr_registry::{
    Capabilities, ErrorClass, Fault, FileRegistry, MemoryRegistry, ReadRequest, Registry,
    RegistryError, Related,
};

// ---- fixtures ----

fn plan(changes: Vec<(u32, Change)>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        source: "memory:".into(),
        target: "memory:".into(),
        target_fingerprint: String::new(),
        options: DiffOptions::default(),
        desired_counts: Counts::default(),
        target_counts: Counts::default(),
        changes: changes
            .into_iter()
            .map(|(stage, change)| PlannedChange { stage, change })
            .collect(),
        warnings: Vec::new(),
    }
}

fn thing(name: &str) -> Change {
    Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: None,
        attributes: Default::default(),
        billing_group_name: None,
    }
}

fn thing_with(name: &str, ty: Option<&str>, billing: Option<&str>) -> Change {
    Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: ty.map(Into::into),
        attributes: Default::default(),
        billing_group_name: billing.map(Into::into),
    }
}

fn update_thing(name: &str, attr: &str) -> Change {
    Change::UpdateThing {
        thing_name: name.into(),
        thing_type_name: None,
        attributes: [("a", attr)].into_iter().collect(),
    }
}

fn group(name: &str, parent: Option<&str>) -> Change {
    Change::CreateThingGroup {
        thing_group: ThingGroup {
            thing_group_name: name.into(),
            parent_group_name: parent.map(Into::into),
            ..Default::default()
        },
    }
}

fn thing_type(name: &str) -> Change {
    Change::CreateThingType {
        thing_type: ThingType {
            thing_type_name: name.into(),
            ..Default::default()
        },
    }
}

fn billing_group(name: &str) -> Change {
    Change::BillingGroup(BillingGroupChange::CreateBillingGroup {
        billing_group: BillingGroup {
            billing_group_name: name.into(),
            ..Default::default()
        },
    })
}

fn add_to_group(thing: &str, group: &str) -> Change {
    Change::AddThingToThingGroup {
        thing_name: thing.into(),
        thing_group_name: group.into(),
    }
}

fn fault(api: &str, class: ErrorClass) -> Fault {
    Fault::fail(Some(api), class)
}

fn fast_retry(max_attempts: u32) -> ApplyOptions {
    ApplyOptions {
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(100),
            throttle_base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            throttle_patience: Duration::ZERO,
        },
        ..ApplyOptions::default()
    }
}

fn results(report: &iot_crr_engine::ApplyReport) -> Vec<&ChangeResult> {
    report.changes.iter().map(|c| &c.result).collect()
}

fn skipped(reason: &str) -> ChangeResult {
    ChangeResult::Skipped {
        reason: reason.into(),
    }
}

/// A registry wrapper that delays writes, counts calls in flight, records the order in
/// which writes finished and counts commits.
struct Probe<R> {
    inner: R,
    delay: fn(&Change) -> Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    finished: Mutex<Vec<String>>,
    commits: AtomicUsize,
}

impl<R> Probe<R> {
    fn new(inner: R, delay: fn(&Change) -> Duration) -> Self {
        Probe {
            inner,
            delay,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            finished: Mutex::new(Vec::new()),
            commits: AtomicUsize::new(0),
        }
    }

    fn finished(&self) -> Vec<String> {
        self.finished.lock().unwrap().clone()
    }
}

#[async_trait]
impl<R: Registry> Registry for Probe<R> {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep((self.delay)(change)).await;
        let out = self.inner.apply(change).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.finished.lock().unwrap().push(change.to_string());
        out
    }
    async fn commit(&self) -> Result<(), RegistryError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit().await
    }
    fn api_calls(&self) -> Vec<(String, u64)> {
        self.inner.api_calls()
    }
}

#[derive(Default)]
struct Recorder {
    total: Mutex<Option<usize>>,
    done: Mutex<Vec<(String, &'static str)>>,
}

impl ApplyProgress for Recorder {
    fn started(&self, total: usize) {
        *self.total.lock().unwrap() = Some(total);
    }
    fn finished_one(&self, change: &Change, result: &ChangeResult) {
        self.done
            .lock()
            .unwrap()
            .push((change.to_string(), result.label()));
    }
}

// ---- tests ----

#[tokio::test]
async fn a_plan_applies_in_stage_order_and_reports_every_change() {
    let r = MemoryRegistry::new();
    let p = plan(vec![
        (0, thing_type("sensor")),
        (0, group("root", None)),
        (1, group("child", Some("root"))),
        (2, thing_with("t1", Some("sensor"), None)),
        (2, thing("t2")),
        (3, add_to_group("t1", "child")),
    ]);
    let progress = Recorder::default();
    let report = apply_plan(&p, &r, &ApplyOptions::default(), Some(&progress)).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.applied, 6);
    assert_eq!(report.retries, 0);
    assert!(report.commit_error.is_none());
    let indices: Vec<usize> = report.changes.iter().map(|c| c.index).collect();
    assert_eq!(indices, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(report.changes[3].key, ResourceKey::new(Kind::Thing, "t1"));
    assert_eq!(report.changes[3].attempts, 1);
    assert_eq!(report.api_calls["CreateThing"], 2);
    assert_eq!(report.api_calls["CreateThingGroup"], 2);
    let snap = r.snapshot();
    assert!(snap.things["t1"].thing_groups.contains("child"));

    assert_eq!(*progress.total.lock().unwrap(), Some(6));
    assert_eq!(progress.done.lock().unwrap().len(), 6);

    // Applying again changes nothing.
    let again = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    assert_eq!(again.counts.already_in_state, 6, "{again}");
    assert!(again.is_success());
}

#[tokio::test(start_paused = true)]
async fn throttled_calls_are_retried_until_they_succeed() {
    let r = MemoryRegistry::new();
    r.inject(fault("CreateThing", ErrorClass::Throttled));
    r.inject(fault("CreateThing", ErrorClass::Transient));
    let p = plan(vec![(0, thing("t1"))]);
    let report = apply_plan(&p, &r, &fast_retry(5), None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(results(&report), vec![&ChangeResult::Applied]);
    assert_eq!(report.changes[0].attempts, 3);
    assert_eq!(report.retries, 2);
    assert_eq!(report.api_calls["CreateThing"], 3);
    assert!(r.snapshot().things.contains_key("t1"));
}

#[tokio::test(start_paused = true)]
async fn backoff_waits_are_bounded_by_the_policy() {
    let r = MemoryRegistry::new();
    for _ in 0..3 {
        r.inject(fault("CreateThing", ErrorClass::Throttled));
    }
    let p = plan(vec![(0, thing("t1"))]);
    let options = fast_retry(5);
    let before = tokio::time::Instant::now();
    let report = apply_plan(&p, &r, &options, None).await;
    let waited = before.elapsed();
    assert!(report.is_success(), "{report}");
    // Virtual time: at most 100 + 200 + 400 ms of backoff.
    assert!(waited <= Duration::from_millis(700), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_give_up_after_max_attempts() {
    let r = MemoryRegistry::new();
    for _ in 0..5 {
        r.inject(fault("CreateThing", ErrorClass::Throttled));
    }
    let p = plan(vec![(0, thing("t1")), (1, update_thing("t1", "x"))]);
    let report = apply_plan(&p, &r, &fast_retry(3), None).await;
    assert!(!report.is_success());
    assert_eq!(
        results(&report),
        vec![
            &ChangeResult::Failed {
                class: ErrorClass::Throttled,
                api: "CreateThing".into(),
                message: "injected fault".into(),
                attempts: 3,
            },
            &skipped("depends on thing/t1, which failed"),
        ]
    );
    assert_eq!(report.retries, 2);
    assert_eq!(report.api_calls["CreateThing"], 3);
    assert!(!report.api_calls.contains_key("UpdateThing"));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_fail_at_once_and_skip_only_their_dependents() {
    let r = MemoryRegistry::new();
    r.inject(fault("CreateThingType", ErrorClass::Invalid));
    let p = plan(vec![
        (0, thing_type("sensor")),
        (0, billing_group("billing")),
        (0, group("root", None)),
        // Depends on the failed type.
        (1, thing_with("t1", Some("sensor"), None)),
        (1, thing_with("t2", None, Some("billing"))),
        (1, group("child", Some("root"))),
        // Fails in the registry (no such billing group), not because of the plan.
        (1, thing_with("t3", None, Some("nowhere"))),
        // Its own resource was never created (t1 skipped, t3 failed).
        (2, add_to_group("t1", "child")),
        (2, add_to_group("t3", "root")),
        (2, add_to_group("t2", "child")),
    ]);
    let report = apply_plan(&p, &r, &fast_retry(5), None).await;
    let got = results(&report);
    assert_eq!(
        got[0],
        &ChangeResult::Failed {
            class: ErrorClass::Invalid,
            api: "CreateThingType".into(),
            message: "injected fault".into(),
            attempts: 1,
        }
    );
    assert_eq!(got[1], &ChangeResult::Applied);
    assert_eq!(got[2], &ChangeResult::Applied);
    assert_eq!(
        got[3],
        &skipped("depends on thingType/sensor, which failed")
    );
    assert_eq!(got[4], &ChangeResult::Applied);
    assert_eq!(got[5], &ChangeResult::Applied);
    assert!(
        matches!(got[6], ChangeResult::Failed { class: ErrorClass::NotFound, message, attempts: 1, .. }
            if message.contains("billing group nowhere does not exist")),
        "{:?}",
        got[6]
    );
    assert_eq!(got[7], &skipped("depends on thing/t1, which was skipped"));
    assert_eq!(got[8], &skipped("depends on thing/t3, which failed"));
    assert_eq!(got[9], &ChangeResult::Applied);
    assert_eq!(report.counts.applied, 5);
    assert_eq!(report.counts.failed, 2);
    assert_eq!(report.counts.skipped, 3);
    assert_eq!(report.retries, 0);
    assert_eq!(report.failures().count(), 2);

    let text = report.to_string();
    assert!(text.contains("2 failed, 3 skipped"), "{text}");
    assert!(
        text.contains(
            "create thing type sensor: CreateThingType failed (invalid, 1 attempt): injected fault"
        ),
        "{text}"
    );
    assert!(
        text.contains("billing group nowhere does not exist"),
        "{text}"
    );
    assert!(
        text.contains("add thing t1 to group child: depends on thing/t1, which was skipped"),
        "{text}"
    );
    assert!(
        text.contains("add thing t3 to group root: depends on thing/t3, which failed"),
        "{text}"
    );
    assert!(r.snapshot().things["t2"].thing_groups.contains("child"));
}

#[tokio::test]
async fn a_failed_update_does_not_skip_later_changes() {
    let r = MemoryRegistry::new();
    let p = plan(vec![
        (0, thing("t1")),
        (1, update_thing("t1", "x")),
        (2, update_thing("t1", "y")),
    ]);
    r.inject(fault("UpdateThing", ErrorClass::Conflict));
    let report = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    assert!(results(&report)[1].is_failed());
    assert_eq!(results(&report)[2], &ChangeResult::Applied);
    assert_eq!(r.snapshot().things["t1"].attributes.get("a"), Some("y"));
}

fn slow_root(c: &Change) -> Duration {
    match c {
        Change::CreateThingGroup { thing_group } if thing_group.thing_group_name == "root" => {
            Duration::from_millis(50)
        }
        _ => Duration::ZERO,
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_waits_for_what_it_uses_not_for_the_whole_earlier_stage() {
    // Stages are no longer barriers (apart from the early and prune ones): the things
    // of stage 1 do not wait for the slow root group of stage 0, but the child group
    // does (if it ran while its parent's create is in flight, it would fail with not
    // found).
    let r = Probe::new(MemoryRegistry::new(), slow_root);
    let mut changes = vec![(0, group("root", None))];
    changes.extend((0..20).map(|i| (1, thing(&format!("t{i}")))));
    changes.push((1, group("child", Some("root"))));
    let report = apply_plan(&plan(changes), &r, &ApplyOptions::default(), None).await;
    assert!(report.is_success(), "{report}");
    let finished = r.finished();
    assert_eq!(finished.len(), 22);
    assert!(
        finished[..20]
            .iter()
            .all(|f| f.starts_with("create thing t")),
        "{finished:?}"
    );
    assert_eq!(
        &finished[20..],
        [
            "create thing group root",
            "create thing group child under root"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stages_run_in_ascending_order_whatever_the_plan_order() {
    let r = Probe::new(MemoryRegistry::new(), slow_root);
    let p = plan(vec![
        (1, group("child", Some("root"))),
        (0, group("root", None)),
    ]);
    let report = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.changes[0].stage, 1);
    assert_eq!(
        r.finished(),
        vec![
            "create thing group root",
            "create thing group child under root"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_limit_is_honoured() {
    let r = Probe::new(MemoryRegistry::new(), |_| Duration::from_millis(10));
    let p = plan((0..50).map(|i| (0, thing(&format!("t{i}")))).collect());
    let options = ApplyOptions {
        concurrency: 4,
        ..ApplyOptions::default()
    };
    let report = apply_plan(&p, &r, &options, None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.applied, 50);
    assert_eq!(r.max_in_flight.load(Ordering::SeqCst), 4);

    // Zero is taken as one.
    let r = Probe::new(MemoryRegistry::new(), |_| Duration::from_millis(10));
    let options = ApplyOptions {
        concurrency: 0,
        ..ApplyOptions::default()
    };
    let report = apply_plan(&p, &r, &options, None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(r.max_in_flight.load(Ordering::SeqCst), 1);
}

fn later_is_faster(c: &Change) -> Duration {
    match c {
        Change::UpdateThing { attributes, .. } => {
            let n: u64 = attributes.get("a").unwrap().parse().unwrap();
            Duration::from_millis(100 - n * 10)
        }
        _ => Duration::ZERO,
    }
}

#[tokio::test(start_paused = true)]
async fn changes_to_one_resource_keep_their_plan_order_within_a_stage() {
    let r = Probe::new(MemoryRegistry::new(), later_is_faster);
    let mut changes = vec![(0, thing("t1")), (0, thing("t2"))];
    // Later updates are faster: run concurrently they would finish in reverse order.
    changes.extend((1..=5).map(|n| (1, update_thing("t1", &n.to_string()))));
    changes.push((1, update_thing("t2", "9")));
    let report = apply_plan(&plan(changes), &r, &ApplyOptions::default(), None).await;
    assert!(report.is_success(), "{report}");
    // The last update sent wins: run concurrently, the slowest (the first) would.
    assert_eq!(
        r.inner.snapshot().things["t1"].attributes.get("a"),
        Some("5")
    );
    // Other resources still ran alongside: t2's update was in flight with t1's.
    assert_eq!(r.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(r.finished()[2], "update thing t2");
}

#[tokio::test]
async fn a_file_target_is_committed_once_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.jsonl");
    let r = Probe::new(FileRegistry::open(&path).unwrap(), |_| Duration::ZERO);
    let p = plan(vec![
        (0, thing_type("sensor")),
        (1, thing_with("t1", Some("sensor"), None)),
    ]);
    let report = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(r.commits.load(Ordering::SeqCst), 1);
    assert!(report.target.starts_with("file:"));
    assert!(report.api_calls.is_empty());
    let written = FileRegistry::open(&path).unwrap().snapshot().unwrap();
    assert_eq!(written.things.len(), 1);
    assert_eq!(written.thing_types.len(), 1);
}

#[tokio::test]
async fn a_failed_commit_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("target.jsonl");
    let r = FileRegistry::open(&path).unwrap();
    let p = plan(vec![(0, thing("t1"))]);
    let report = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    assert_eq!(report.counts.applied, 1);
    assert!(!report.is_success());
    let e = report.commit_error.as_deref().unwrap();
    assert!(e.contains("no-such-dir"), "{e}");
    assert!(report.check().unwrap_err().to_string().contains("commit"));
    assert!(report.to_string().contains("commit failed"), "{report}");
    assert!(!path.exists());
}

#[tokio::test]
async fn an_empty_plan_still_commits() {
    let r = Probe::new(MemoryRegistry::new(), |_| Duration::ZERO);
    let report = apply_plan(&plan(vec![]), &r, &ApplyOptions::default(), None).await;
    assert!(report.is_success());
    assert_eq!(report.counts.total(), 0);
    assert_eq!(r.commits.load(Ordering::SeqCst), 1);
    assert!(report.to_string().starts_with("0 change(s) to memory:"));
}

#[tokio::test]
async fn the_report_serialises_to_json() {
    let r = MemoryRegistry::new();
    r.inject(fault("CreateThing", ErrorClass::Conflict));
    let p = plan(vec![(0, thing("t1")), (0, group("g", None))]);
    let report = apply_plan(&p, &r, &ApplyOptions::default(), None).await;
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["counts"]["failed"], 1);
    assert_eq!(v["changes"][0]["result"]["class"], "conflict");
    assert_eq!(v["changes"][0]["api"], "CreateThing");
    assert_eq!(v["changes"][1]["result"]["status"], "applied");
    let calls: BTreeMap<String, u64> = serde_json::from_value(v["apiCalls"].clone()).unwrap();
    assert_eq!(calls["CreateThingGroup"], 1);
}

#[test]
fn the_apply_future_is_send() {
    fn is_send<T: Send>(_: &T) {}
    let r = MemoryRegistry::new();
    let p = plan(vec![]);
    let o = ApplyOptions::default();
    let f = apply_plan(&p, &r, &o, None);
    is_send(&f);
}

/// A registry that answers with queued errors first, and may say it retries itself.
struct Scripted {
    inner: MemoryRegistry,
    errors: Mutex<Vec<RegistryError>>,
    retries_internally: bool,
}

impl Scripted {
    fn new(errors: Vec<RegistryError>, retries_internally: bool) -> Self {
        Scripted {
            inner: MemoryRegistry::new(),
            errors: Mutex::new(errors.into_iter().rev().collect()),
            retries_internally,
        }
    }
}

#[async_trait]
impl Registry for Scripted {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        let next = self.errors.lock().unwrap().pop();
        match next {
            Some(e) => Err(e),
            None => self.inner.apply(change).await,
        }
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            retries_internally: self.retries_internally,
            ..Capabilities::default()
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_waits_at_least_the_registry_s_retry_after_hint() {
    let hint = RegistryError::new(ErrorClass::Throttled, "slow down")
        .with_retry_after(Duration::from_secs(3));
    let r = Scripted::new(vec![hint], false);
    let before = tokio::time::Instant::now();
    let report = apply_plan(&plan(vec![(0, thing("t1"))]), &r, &fast_retry(3), None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.changes[0].attempts, 2);
    assert!(before.elapsed() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn an_error_after_which_the_change_may_have_landed_is_retried() {
    // Not a retryable class, but the write may have been applied: changes are safe to
    // repeat, so the engine asks again.
    let lost = RegistryError::new(ErrorClass::Other, "connection reset").maybe_applied();
    let r = Scripted::new(vec![lost], false);
    let report = apply_plan(&plan(vec![(0, thing("t1"))]), &r, &fast_retry(3), None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.changes[0].attempts, 2);
    assert_eq!(report.retries, 1);
}

#[tokio::test(start_paused = true)]
async fn a_registry_that_retries_itself_gets_each_change_once() {
    let throttled = RegistryError::new(ErrorClass::Throttled, "still throttled after retries");
    let r = Scripted::new(vec![throttled], true);
    let report = apply_plan(&plan(vec![(0, thing("t1"))]), &r, &fast_retry(5), None).await;
    assert_eq!(report.counts.failed, 1, "{report}");
    assert_eq!(report.changes[0].attempts, 1);
    assert_eq!(report.retries, 0);
}

#[tokio::test(start_paused = true)]
async fn changes_stream_in_while_earlier_ones_are_applied() {
    let r = MemoryRegistry::new();
    let progress = Recorder::default();
    let options = ApplyOptions::default();
    let (sink, run) = Engine::start(&r, &options, Some(&progress));
    let producer = async {
        sink.submit(
            7,
            PlannedChange {
                stage: 3000,
                change: thing_type("sensor"),
            },
        )
        .unwrap();
        // The first change is applied while the producer is still producing.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(progress.done.lock().unwrap().len(), 1);
        sink.submit(
            3,
            PlannedChange {
                stage: 5000,
                change: thing_with("t1", Some("sensor"), None),
            },
        )
        .unwrap();
        sink.close();
    };
    let ((), report) = tokio::join!(producer, run);
    assert!(report.is_success(), "{report}");
    // The report lists changes by the index they were submitted with.
    let indices: Vec<usize> = report.changes.iter().map(|c| c.index).collect();
    assert_eq!(indices, vec![3, 7]);
    assert!(r.snapshot().things.contains_key("t1"));
}

#[tokio::test(start_paused = true)]
async fn a_bound_per_api_operation_is_honoured() {
    let r = Probe::new(MemoryRegistry::new(), |_| Duration::from_millis(10));
    let changes: Vec<(u32, Change)> = (0..10).map(|i| (0, thing(&format!("t{i}")))).collect();
    let options = ApplyOptions {
        concurrency: 8,
        api_concurrency: [("CreateThing".to_string(), 2)].into_iter().collect(),
        ..ApplyOptions::default()
    };
    let report = apply_plan(&plan(changes), &r, &options, None).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(r.max_in_flight.load(Ordering::SeqCst), 2);
}
