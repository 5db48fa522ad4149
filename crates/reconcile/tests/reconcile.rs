//! The reconciler end to end on the embedded registries: keyed reconcile reads only
//! what its keys need and converges them; the delete guard and the drift check refuse
//! what would lose data; a registry with empty attribute values converges in one sync.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use iot_crr_engine::ApplyOptions;
use iot_crr_fleet::{FleetSpec, generate, mutate};
use iot_crr_model::{
    Change, DiffOptions, Kind, Outcome, Related, Resource, ResourceKey, Snapshot, Thing, diff,
};
use iot_crr_reconcile::{
    DeleteBound, Progress, ReconcileError, ReconcileOptions, apply_checked, compare, plan_keys,
    reconcile_keys, sync,
};
use iot_crr_registry::{FileRegistry, MemoryRegistry, ReadRequest, Registry, RegistryError};

/// A registry that counts the single-resource reads and relation questions it answers.
struct Counting {
    inner: MemoryRegistry,
    resources: AtomicUsize,
    related: AtomicUsize,
    full_reads: AtomicUsize,
}

impl Counting {
    fn new(s: Snapshot) -> Self {
        Counting {
            inner: MemoryRegistry::with_snapshot(s),
            resources: AtomicUsize::new(0),
            related: AtomicUsize::new(0),
            full_reads: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Registry for Counting {
    fn location(&self) -> String {
        "memory:counting".into()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.full_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.resources.fetch_add(1, Ordering::SeqCst);
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.related.fetch_add(1, Ordering::SeqCst);
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        self.inner.apply(change).await
    }
}

fn fleet(things: usize, seed: u64) -> Snapshot {
    generate(&FleetSpec {
        things,
        seed,
        certificate_ratio: 1.0,
        ..FleetSpec::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_reconcile_reads_little_and_converges_its_keys() {
    let desired = fleet(400, 1);
    let base = mutate(&desired, 7, 0.3, 0.1, 0.1);
    let source = Counting::new(desired.clone());
    let target = Counting::new(base.clone());
    // Things that differ, one that exists only in the source, one only in the target.
    let full = diff(&desired, &base, &DiffOptions::default());
    let mut keys: BTreeSet<ResourceKey> = full
        .changes
        .iter()
        .map(|c| c.change.key())
        .filter(|k| k.kind == Kind::Thing)
        .take(5)
        .collect();
    keys.insert(ResourceKey::new(Kind::Thing, "no-such-thing"));
    let opts = ReconcileOptions::default();
    let planned = plan_keys(&source, &target, &keys, &opts).await.unwrap();
    // The keyed plan is the full plan restricted to the keys it settled on.
    let restricted: Vec<_> = full
        .changes
        .iter()
        .filter(|c| planned.keys.contains(&c.change.key()))
        .cloned()
        .collect();
    assert_eq!(planned.plan.changes, restricted);
    assert!(!planned.plan.changes.is_empty());
    let reads = source.resources.load(Ordering::SeqCst) + target.resources.load(Ordering::SeqCst);
    assert_eq!(source.full_reads.load(Ordering::SeqCst), 0, "no whole read");
    assert!(
        reads < 200,
        "{reads} single reads for {} keys of a {}-resource registry",
        planned.keys.len(),
        desired.counts().total()
    );

    let done = reconcile_keys(&source, &target, &keys, &opts, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(done.report.is_success(), "{}", done.report);
    // Those resources now equal the source's; a second keyed plan is empty.
    let after = target.inner.snapshot();
    for k in &done.keys {
        assert_eq!(after.get(k), desired.get(k), "{k}");
    }
    let again = plan_keys(&source, &target, &keys, &opts).await.unwrap();
    assert!(again.plan.changes.is_empty(), "{:?}", again.plan.changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_reconciles_of_every_resource_converge_like_a_full_sync() {
    let desired = fleet(60, 3);
    let base = mutate(&desired, 11, 0.4, 0.2, 0.2);
    let source = MemoryRegistry::with_snapshot(desired.clone());
    let target = MemoryRegistry::with_snapshot(base.clone());
    let opts = ReconcileOptions {
        prune: true,
        max_delete: DeleteBound::Percent(100.0),
        ..Default::default()
    };
    // One keyed reconcile per resource, in an arbitrary order (as events would come).
    let mut all: Vec<ResourceKey> = desired
        .resources()
        .chain(base.resources())
        .map(|r| r.key())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    all.reverse();
    for k in all {
        let keys = [k.clone()].into_iter().collect();
        let done = reconcile_keys(&source, &target, &keys, &opts, &ApplyOptions::default())
            .await
            .unwrap();
        assert!(done.report.is_success(), "{k}: {}", done.report);
    }
    let plan = diff(
        &desired,
        &target.snapshot(),
        &DiffOptions {
            prune: true,
            ..Default::default()
        },
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_from_an_empty_source_is_refused_and_the_target_untouched() {
    let target = MemoryRegistry::with_snapshot(fleet(50, 5));
    let before = target.snapshot();
    let empty = MemoryRegistry::new();
    let opts = ReconcileOptions {
        prune: true,
        ..Default::default()
    };
    let e = sync(
        &empty,
        &target,
        &opts,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ReconcileError::TooManyDeletes(_)), "{e}");
    let text = e.to_string();
    assert!(text.contains("the source memory: is"), "{text}");
    assert!(text.contains("empty"), "{text}");
    assert_eq!(target.snapshot(), before);
    assert!(target.api_calls().is_empty(), "nothing was written");

    // A non-empty source that would delete more than 10% is refused too.
    let one = MemoryRegistry::with_snapshot(fleet(3, 5));
    let e = sync(
        &one,
        &target,
        &opts,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("the delete bound is 10% (the default)"),
        "{e}"
    );
    assert_eq!(target.snapshot(), before);

    // An explicit bound lets it through.
    let all = ReconcileOptions {
        max_delete: DeleteBound::Percent(100.0),
        ..opts
    };
    let done = sync(
        &empty,
        &target,
        &all,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(done.report.unwrap().is_success());
    assert_eq!(target.snapshot().counts().total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_when_the_target_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.jsonl");
    let target = FileRegistry::open(&path).unwrap();
    let source = MemoryRegistry::with_snapshot(fleet(10, 9));
    let c = compare(
        &source,
        &target,
        &ReconcileOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    // Someone writes to the target meanwhile.
    target
        .apply(&Change::CreateThing {
            thing_name: "intruder".into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        })
        .await
        .unwrap();
    target.commit().await.unwrap();
    let target = FileRegistry::open(&path).unwrap();
    let e = apply_checked(
        &target,
        &c.plan,
        &DeleteBound::Default,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ReconcileError::Drift { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("changed since the plan was computed"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_attribute_values_converge_in_one_sync() {
    let mut s = Snapshot::new();
    s.insert(Resource::Thing(Thing {
        thing_name: "t".into(),
        attributes: [("serial", ""), ("model", "x")].into_iter().collect(),
        ..Default::default()
    }));
    let source = MemoryRegistry::with_snapshot(s);
    let target = MemoryRegistry::new();
    let opts = ReconcileOptions::default();
    let done = sync(
        &source,
        &target,
        &opts,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(done.report.unwrap().is_success());
    let again = compare(&source, &target, &opts, &Progress::default())
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{:?}", again.plan.changes);
}

/// A registry whose writes take a while (real time, a few milliseconds each).
struct Slow(MemoryRegistry);

#[async_trait]
impl Registry for Slow {
    fn location(&self) -> String {
        "memory:slow".into()
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
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.0.apply(change).await
    }
}

/// A reconcile cut by its time budget (as a Lambda invocation is) resumes by
/// reconciling exactly the resources whose changes were not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cut_by_its_time_budget_resumes_with_a_keyed_reconcile() {
    let desired = fleet(40, 21);
    let source = MemoryRegistry::with_snapshot(desired.clone());
    let target = Slow(MemoryRegistry::new());
    let opts = ReconcileOptions::default();
    let apply = ApplyOptions {
        concurrency: 1,
        deadline: Some(tokio::time::Instant::now() + std::time::Duration::from_millis(100)),
        ..ApplyOptions::default()
    };
    let done = sync(&source, &target, &opts, &apply, &Progress::default())
        .await
        .unwrap();
    let report = done.report.unwrap();
    assert!(report.counts.not_sent > 0, "{report}");
    assert_eq!(report.counts.failed, 0);
    let unfinished: BTreeSet<ResourceKey> = report.unfinished_keys().into_iter().collect();
    assert!(!unfinished.is_empty());
    let resumed = reconcile_keys(
        &source,
        &target,
        &unfinished,
        &opts,
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert!(resumed.report.is_success(), "{}", resumed.report);
    let left = diff(&desired, &target.0.snapshot(), &DiffOptions::default());
    assert!(left.changes.is_empty(), "{:?}", left.changes);
}
