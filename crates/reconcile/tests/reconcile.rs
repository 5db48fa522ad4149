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

/// A wrapper registry: reads, single-resource reads and relation questions handed to
/// `self.<field>` as they are, and the other methods given.
macro_rules! wrapper_registry {
    ($ty:ty, $field:tt, { $($methods:tt)* }) => {
        #[async_trait]
        impl Registry for $ty {
            async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
                self.$field.read(request).await
            }
            async fn read_resource(
                &self,
                key: &ResourceKey,
            ) -> Result<Option<Resource>, RegistryError> {
                self.$field.read_resource(key).await
            }
            async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
                self.$field.related(query).await
            }
            $($methods)*
        }
    };
}

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

/// A comparison of the two plans nothing.
async fn assert_in_sync(source: &dyn Registry, target: &dyn Registry, opts: &ReconcileOptions) {
    let left = compare(source, target, opts, &Progress::default())
        .await
        .unwrap();
    assert!(left.plan.is_empty(), "{:?}", left.plan.changes);
}

/// A sync with the default apply options, which must succeed.
async fn sync_succeeds(source: &dyn Registry, target: &dyn Registry, opts: &ReconcileOptions) {
    let done = sync(
        source,
        target,
        opts,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    let report = done.report.unwrap();
    assert!(report.is_success(), "{report}");
}

/// An overlapped sync with the default options.
async fn overlapped(
    source: &dyn Registry,
    target: &dyn Registry,
) -> Result<iot_crr_reconcile::SyncOutcome, ReconcileError> {
    iot_crr_reconcile::sync_overlapped(
        source,
        target,
        &ReconcileOptions::default(),
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
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
    sync_succeeds(&empty, &target, &all).await;
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
    sync_succeeds(&source, &target, &opts).await;
    assert_in_sync(&source, &target, &opts).await;
}

/// A registry whose writes take a while (real time, a few milliseconds each).
struct Slow(MemoryRegistry);

wrapper_registry!(Slow, 0, {
    fn location(&self) -> String {
        "memory:slow".into()
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.0.apply(change).await
    }
});

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

/// A source that logs each PEM it is asked for, and a target that logs each
/// registration, in one log: what ran when.
struct Logged {
    inner: MemoryRegistry,
    name: &'static str,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

wrapper_registry!(Logged, inner, {
    fn location(&self) -> String {
        format!("memory:{}", self.name)
    }
    async fn certificate_pem(
        &self,
        id: &str,
    ) -> Result<Option<(String, Option<iot_crr_model::Name>)>, RegistryError> {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        self.log.lock().unwrap().push(format!("pem {id}"));
        self.inner.certificate_pem(id).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        if let Change::RegisterCertificate {
            certificate_id,
            certificate_pem,
            ..
        } = change
        {
            assert!(!certificate_pem.is_empty(), "registered without its PEM");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            self.log
                .lock()
                .unwrap()
                .push(format!("register {certificate_id}"));
        }
        if let Change::CreateThing { thing_name, .. } = change {
            self.log
                .lock()
                .unwrap()
                .push(format!("create {thing_name}"));
        }
        self.inner.apply(change).await
    }
});

fn logged_pair(desired: Snapshot) -> (Logged, Logged) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    (
        Logged {
            inner: MemoryRegistry::with_snapshot(desired),
            name: "source",
            log: log.clone(),
        },
        Logged {
            inner: MemoryRegistry::new(),
            name: "target",
            log,
        },
    )
}

/// A comparison reads no PEM; a sync reads each certificate's PEM from the source as
/// its registration is sent, so the source's reads and the target's writes overlap,
/// and reads none of the certificates the target has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_reads_each_pem_as_its_registration_is_sent() {
    let desired = fleet(120, 31);
    let certs = desired.certificates.len();
    assert!(certs >= 100, "{certs}");
    let (source, target) = logged_pair(desired.clone());
    let opts = ReconcileOptions::default();
    let planned = compare(&source, &target, &opts, &Progress::default())
        .await
        .unwrap();
    assert!(
        source.log.lock().unwrap().is_empty(),
        "a comparison reads no PEM"
    );
    let registrations = planned
        .plan
        .changes
        .iter()
        .filter(|c| matches!(&c.change, Change::RegisterCertificate { certificate_pem, .. } if certificate_pem.is_empty()))
        .count();
    assert_eq!(registrations, certs);

    sync_succeeds(&source, &target, &opts).await;
    let log = source.log.lock().unwrap().clone();
    let pems: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].starts_with("pem"))
        .collect();
    let registers: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].starts_with("register"))
        .collect();
    assert_eq!(pems.len(), certs, "one PEM read per registration");
    assert_eq!(registers.len(), certs);
    assert!(
        registers[0] < *pems.last().unwrap(),
        "registrations started before the last PEM was read: {:?}",
        &log[..10]
    );
    assert_eq!(target.inner.snapshot(), {
        let mut s = desired.clone();
        s.origin = target.inner.snapshot().origin;
        s
    });

    // In sync: a comparison and a sync read no PEM at all.
    source.log.lock().unwrap().clear();
    let again = sync(
        &source,
        &target,
        &opts,
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(again.comparison.plan.is_empty());
    assert!(source.log.lock().unwrap().is_empty());
}

/// A certificate deleted from the source between the comparison and its registration
/// fails with a reason naming it (what needs it is skipped); the rest applies. A plan
/// filled for saving leaves it out instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_gone_from_the_source_before_its_registration_fails_alone() {
    let desired = fleet(10, 32);
    let (source, target) = logged_pair(desired.clone());
    let opts = ReconcileOptions::default();
    let planned = compare(&source, &target, &opts, &Progress::default())
        .await
        .unwrap();
    let gone = desired.certificates.keys().next().unwrap().clone();
    let mut bare = source.inner.snapshot();
    bare.certificates.remove(gone.as_str());
    for t in bare.things.values_mut() {
        t.principals
            .retain(|p| !p.as_str().ends_with(gone.as_str()));
    }
    let source = Logged {
        inner: MemoryRegistry::with_snapshot(bare),
        ..source
    };

    let mut filled = planned.plan.clone();
    iot_crr_reconcile::fill_certificate_pems(&source, &mut filled, None)
        .await
        .unwrap();
    assert_eq!(filled.changes.len(), planned.plan.changes.len() - 1);
    assert!(
        filled.validate().is_ok(),
        "a filled plan is a valid plan file"
    );

    let report = iot_crr_reconcile::apply_fresh(
        &target,
        &planned.plan,
        &source,
        &planned.source_origin,
        &DeleteBound::default(),
        &ApplyOptions::default(),
        None,
    )
    .await
    .unwrap();
    let failed: Vec<_> = report.failures().collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]
            .result
            .to_string()
            .contains("is no longer in memory:source"),
        "{}",
        failed[0].result
    );
    assert!(
        report.counts.skipped > 0,
        "what needs it is skipped: {report}"
    );
    assert_eq!(
        target.inner.snapshot().certificates.len(),
        desired.certificates.len() - 1
    );
}

/// A source whose things take a while to read (as on AWS: a call per thing), logging
/// when that read ends (its target logs each registration in the same log), or then
/// failing when `fail`. With `pages` (page size, things kept), asked for pages of
/// things, it hands them over in pages (as the AWS backend does while it reads their
/// principals), one every 20 ms, keeps the last things for the snapshot it returns,
/// and logs each page.
struct SlowThings {
    inner: MemoryRegistry,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    fail: bool,
    pages: Option<(usize, usize)>,
}

#[async_trait]
impl Registry for SlowThings {
    fn location(&self) -> String {
        "memory:slow-things".into()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        if !request.filter.selects_kind(Kind::Thing) {
            return self.inner.read(request).await;
        }
        if let (Some((page, rest)), Some(pages)) = (self.pages, &request.thing_pages) {
            let mut snap = self.inner.read(request).await?;
            let handed = snap.things.len().saturating_sub(rest);
            let names: Vec<_> = snap.things.keys().take(handed).cloned().collect();
            for chunk in names.chunks(page) {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let page: Vec<Thing> = chunk
                    .iter()
                    .map(|n| snap.things.remove(n.as_str()).unwrap())
                    .collect();
                self.log
                    .lock()
                    .unwrap()
                    .push(format!("page {}", page.len()));
                pages.send(page).unwrap();
            }
            self.log.lock().unwrap().push("things read".into());
            return Ok(snap);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if self.fail {
            return Err(RegistryError::new(
                iot_crr_registry::ErrorClass::AccessDenied,
                "not authorized to perform iot:ListThingPrincipals",
            ));
        }
        self.log.lock().unwrap().push("things read".into());
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        self.inner.apply(change).await
    }
}

/// A source that hands its things over page by page: their changes are sent while the
/// rest are read, and the sync ends where a whole sync ends, with the plan listing
/// every change once in the order submitted (the report's indexes) and counting every
/// thing, also when a changed fleet is synced again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn things_handed_over_in_pages_are_written_while_the_rest_are_read() {
    let desired = fleet(50, 47);
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let target = Logged {
        inner: MemoryRegistry::new(),
        name: "target",
        log: log.clone(),
    };
    let paged = |s: &Snapshot| SlowThings {
        inner: MemoryRegistry::with_snapshot(s.clone()),
        log: log.clone(),
        fail: false,
        pages: Some((7, 3)),
    };
    let source = paged(&desired);
    let done = overlapped(&source, &target).await.unwrap();
    let report = done.report.unwrap();
    assert!(report.is_success(), "{report}");
    let plan = &done.comparison.plan;
    assert_eq!(report.changes.len(), plan.changes.len());
    for (i, r) in report.changes.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(r.description, plan.changes[i].change.to_string());
    }
    assert_eq!(plan.desired_counts.things, 50);
    let creates = plan
        .changes
        .iter()
        .filter(|c| matches!(c.change, Change::CreateThing { .. }))
        .count();
    assert_eq!(creates, 50, "every thing once");
    let log = log.lock().unwrap().clone();
    assert_eq!(log.iter().filter(|l| l.starts_with("page")).count(), 7);
    let things_read = log.iter().position(|l| l == "things read").unwrap();
    assert!(
        log[..things_read].iter().any(|l| l.starts_with("create")),
        "no thing was created before the things were read: {log:?}"
    );
    assert_in_sync(&source, &target, &ReconcileOptions::default()).await;

    // Changed, added and removed things (not pruned): the pages converge as well.
    let next = mutate(&desired, 3, 0.3, 0.2, 0.0);
    let source = paged(&next);
    let done = overlapped(&source, &target).await.unwrap();
    assert!(done.report.unwrap().is_success());
    assert_eq!(
        done.comparison.plan.desired_counts.things,
        next.things.len()
    );
    assert_in_sync(&source, &target, &ReconcileOptions::default()).await;
    let again = overlapped(&source, &target).await.unwrap();
    assert!(
        again.comparison.plan.is_empty(),
        "{:?}",
        again.comparison.plan.changes
    );
}

/// An overlapped sync registers certificates while the things are still being read,
/// and ends where a whole sync ends: the target equals the source, also for a fleet
/// with changed, added and removed things and a deprecated thing type (held back until
/// the things given it exist).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapped_sync_writes_while_the_things_are_read_and_converges() {
    let desired = fleet(60, 41);
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let source = SlowThings {
        inner: MemoryRegistry::with_snapshot(desired.clone()),
        log: log.clone(),
        fail: false,
        pages: None,
    };
    let target = Logged {
        inner: MemoryRegistry::new(),
        name: "target",
        log: log.clone(),
    };
    let opts = ReconcileOptions::default();
    assert!(iot_crr_reconcile::overlaps(&opts));
    let done = overlapped(&source, &target).await.unwrap();
    let report = done.report.unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(report.changes.len(), done.comparison.plan.changes.len());
    for (i, r) in report.changes.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(
            r.description,
            done.comparison.plan.changes[i].change.to_string()
        );
    }
    let log = log.lock().unwrap().clone();
    let things_read = log.iter().position(|l| l == "things read").unwrap();
    assert!(
        log[..things_read].iter().any(|l| l.starts_with("register")),
        "no registration before the things were read: {log:?}"
    );
    assert_in_sync(&source, &target, &opts).await;

    // A changed fleet with a thing type deprecated after things were given it.
    let mut next = mutate(&desired, 9, 0.3, 0.2, 0.1);
    let ty = next
        .thing_types
        .keys()
        .find(|t| {
            next.things
                .values()
                .any(|x| x.thing_type_name.as_ref() == Some(*t))
        })
        .cloned()
        .unwrap();
    next.thing_types.get_mut(ty.as_str()).unwrap().deprecated = true;
    let source = MemoryRegistry::with_snapshot(next.clone());
    let done = overlapped(&source, &target).await.unwrap();
    let report = done.report.unwrap();
    assert!(report.is_success(), "{report}");
    let last = done.comparison.plan.changes.last().unwrap();
    assert!(
        matches!(&last.change, Change::DeprecateThingType { thing_type_name, .. } if *thing_type_name == ty),
        "the deprecation comes last: {}",
        last.change
    );
    assert_in_sync(&source, &target, &opts).await;
}

/// With prune, or a filter of things alone, there is nothing to overlap: a whole sync.
#[test]
fn prune_or_things_alone_do_not_overlap() {
    let prune = ReconcileOptions {
        prune: true,
        ..ReconcileOptions::default()
    };
    assert!(!iot_crr_reconcile::overlaps(&prune));
    let mut things = ReconcileOptions::default();
    things.filter.kinds = vec![Kind::Thing];
    assert!(!iot_crr_reconcile::overlaps(&things));
    things.filter.kinds = vec![Kind::Thing, Kind::Certificate];
    assert!(iot_crr_reconcile::overlaps(&things));
}

/// When the things cannot be read, the overlapped sync returns that error, after the
/// changes already sent to the engine have finished: they are right on their own and
/// nothing queued is lost; the next sync goes on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapped_sync_whose_things_cannot_be_read_finishes_what_it_sent() {
    let desired = fleet(30, 43);
    let source = SlowThings {
        inner: MemoryRegistry::with_snapshot(desired.clone()),
        log: Default::default(),
        fail: true,
        pages: None,
    };
    let target = MemoryRegistry::new();
    let e = overlapped(&source, &target).await.unwrap_err();
    assert!(e.to_string().contains("iot:ListThingPrincipals"), "{e}");
    let written = target.snapshot();
    assert!(written.things.is_empty());
    assert_eq!(written.certificates.len(), desired.certificates.len());
    assert_eq!(written.policies.len(), desired.policies.len());
    assert_eq!(written.thing_groups.len(), desired.thing_groups.len());
}

/// A snapshot file seen through a registry that is not one: compared with another
/// file, each is read on its own (not side by side).
struct Plain<'a>(&'a FileRegistry);

wrapper_registry!(Plain<'_>, 0, {
    fn location(&self) -> String {
        self.0.location()
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        self.0.apply(change).await
    }
});

/// Two snapshot files are compared side by side (what both hold alike kept once) and
/// plan exactly what they plan read one by one, fingerprint and counts included; the
/// PEMs of the plan's registrations come from the source file through the index that
/// read kept; a sync then converges.
#[tokio::test]
async fn two_snapshot_files_compared_side_by_side_plan_what_they_plan_read_one_by_one() {
    let base = fleet(400, 31);
    let next = iot_crr_fleet::mutate(&base, 32, 0.05, 0.03, 0.03);
    let dir = tempfile::tempdir().unwrap();
    let (sp, tp) = (dir.path().join("next.jsonl"), dir.path().join("base.jsonl"));
    iot_crr_model::format::write_file(&next, &sp).unwrap();
    iot_crr_model::format::write_file(&base, &tp).unwrap();
    let source = FileRegistry::open_existing(&sp).unwrap();
    let target = FileRegistry::open(&tp).unwrap();

    let request = ReadRequest {
        skip_certificate_pems: true,
        ..ReadRequest::default()
    };
    let (_, _, same) = FileRegistry::read_pair(&source, &target, &request, &request)
        .await
        .unwrap()
        .expect("files iot-crr wrote are read side by side");
    assert!(same.things() > 300 && same.certificates() > 300);

    for prune in [false, true] {
        let opts = ReconcileOptions {
            prune,
            max_delete: DeleteBound::Percent(100.0),
            ..ReconcileOptions::default()
        };
        let paired = compare(&source, &target, &opts, &Progress::default())
            .await
            .unwrap();
        let plain = compare(
            &Plain(&source),
            &Plain(&target),
            &opts,
            &Progress::default(),
        )
        .await
        .unwrap();
        assert!(!paired.plan.is_empty());
        assert_eq!(paired.plan, plain.plan);
    }

    let opts = ReconcileOptions::default();
    let mut plan = compare(&source, &target, &opts, &Progress::default())
        .await
        .unwrap()
        .plan;
    iot_crr_reconcile::fill_certificate_pems(&source, &mut plan, None)
        .await
        .unwrap();
    let mut registered = 0;
    for c in &plan.changes {
        if let Change::RegisterCertificate {
            certificate_id,
            certificate_pem,
            ..
        } = &c.change
        {
            assert_eq!(
                certificate_pem,
                &next.certificates[certificate_id.as_str()].certificate_pem
            );
            registered += 1;
        }
    }
    assert!(registered > 0);

    sync_succeeds(&source, &target, &opts).await;
    target.commit().await.unwrap();
    let target = FileRegistry::open(&tp).unwrap();
    assert_in_sync(&source, &target, &opts).await;
}

/// The side-by-side read steps aside where it does not apply: a working copy with
/// changes, a target that does not exist yet, requests that select differently, a file
/// edited by hand out of order. Each side's progress hears its whole counts.
#[tokio::test]
async fn a_side_by_side_read_steps_aside_where_it_does_not_apply() {
    let base = fleet(50, 41);
    let dir = tempfile::tempdir().unwrap();
    let (sp, tp) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    iot_crr_model::format::write_file(&base, &sp).unwrap();
    let source = FileRegistry::open_existing(&sp).unwrap();
    let request = ReadRequest::default();

    let missing = FileRegistry::open(&tp).unwrap();
    assert!(
        FileRegistry::read_pair(&source, &missing, &request, &request)
            .await
            .unwrap()
            .is_none()
    );

    iot_crr_model::format::write_file(&base, &tp).unwrap();
    let other = ReadRequest {
        filter: iot_crr_model::Filter {
            kinds: vec![Kind::Thing],
            ..Default::default()
        },
        ..ReadRequest::default()
    };
    let target = FileRegistry::open(&tp).unwrap();
    assert!(
        FileRegistry::read_pair(&source, &target, &request, &other)
            .await
            .unwrap()
            .is_none()
    );

    // Progress: each side hears the counts of all it holds.
    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<(Kind, u64)>>);
    impl iot_crr_registry::ReadProgress for Heard {
        fn read(&self, kind: Kind, n: u64) {
            self.0.lock().unwrap().push((kind, n));
        }
    }
    let heard = std::sync::Arc::new(Heard::default());
    let with_progress = ReadRequest {
        progress: Some(heard.clone()),
        ..ReadRequest::default()
    };
    assert!(
        FileRegistry::read_pair(&source, &target, &with_progress, &request)
            .await
            .unwrap()
            .is_some()
    );
    let things: u64 = heard
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k == Kind::Thing)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(things, base.things.len() as u64);

    // A working copy with a change is what a comparison must see.
    let (name, thing) = base.things.iter().next().unwrap();
    target
        .apply(&Change::UpdateThing {
            thing_name: name.clone(),
            thing_type_name: thing.thing_type_name.clone(),
            attributes: [("changed", "here")].into_iter().collect(),
        })
        .await
        .unwrap();
    assert!(
        FileRegistry::read_pair(&source, &target, &request, &request)
            .await
            .unwrap()
            .is_none()
    );
    let left = compare(
        &source,
        &target,
        &ReconcileOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(
        left.plan.changes.iter().any(
            |c| matches!(&c.change, Change::UpdateThing { thing_name, .. } if thing_name == name)
        ),
        "{:?}",
        left.plan.changes
    );

    // Out of order by hand: read one by one, the same plan as before.
    let text = std::fs::read_to_string(&tp).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    lines.swap(n - 1, n - 2);
    std::fs::write(&tp, lines.join("\n") + "\n").unwrap();
    let target = FileRegistry::open(&tp).unwrap();
    assert!(
        FileRegistry::read_pair(&source, &target, &request, &request)
            .await
            .unwrap()
            .is_none()
    );
    assert_in_sync(&source, &target, &ReconcileOptions::default()).await;
}

// ---- readiness ----

/// A registry whose policy engine is a fixed answer (what `TestAuthorization` says),
/// counting the checks it is asked.
struct Engine {
    inner: MemoryRegistry,
    answer: iot_crr_registry::AuthorizationAnswer,
    asked: AtomicUsize,
    origin: iot_crr_model::Origin,
}

wrapper_registry!(Engine, inner, {
    fn location(&self) -> String {
        format!(
            "memory:engine-{}",
            self.origin.region.as_deref().unwrap_or("?")
        )
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        self.inner.apply(change).await
    }
    fn origin(&self) -> iot_crr_model::Origin {
        self.origin.clone()
    }
    async fn test_authorization(
        &self,
        query: &iot_crr_registry::AuthorizationQuery,
    ) -> Result<Vec<iot_crr_registry::AuthorizationAnswer>, RegistryError> {
        self.asked.fetch_add(query.checks.len(), Ordering::SeqCst);
        Ok(vec![self.answer; query.checks.len()])
    }
});

fn engine(s: Snapshot, region: &str, answer: iot_crr_registry::AuthorizationAnswer) -> Engine {
    Engine {
        inner: MemoryRegistry::with_snapshot(s),
        answer,
        asked: AtomicUsize::new(0),
        origin: iot_crr_model::Origin {
            region: Some(region.into()),
            account_id: Some("123456789012".into()),
        },
    }
}

/// A generated fleet in us-east-1 and the standby a sync with rewritten ARNs makes of
/// it in eu-west-1.
async fn fleet_and_standby(things: usize) -> (Snapshot, Snapshot) {
    let source = generate(&FleetSpec {
        things,
        seed: 5,
        ..FleetSpec::default()
    });
    let target = MemoryRegistry::new();
    let src = MemoryRegistry::with_snapshot(source.clone());
    let options = ReconcileOptions {
        rewrite: iot_crr_reconcile::RewriteSpec {
            enabled: true,
            source_region: Some("us-east-1".into()),
            target_region: Some("eu-west-1".into()),
            ..Default::default()
        },
        ..ReconcileOptions::default()
    };
    let done = sync(
        &src,
        &target,
        &options,
        &Default::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(done.report.is_none_or(|r| r.is_success()));
    (source, target.snapshot())
}

#[tokio::test]
async fn readiness_reads_both_sides_and_cross_checks_a_sample() {
    use iot_crr_registry::AuthorizationAnswer;
    let (source, standby) = fleet_and_standby(40).await;
    let src = engine(source, "us-east-1", AuthorizationAnswer::Allowed);
    // The standby's engine refuses everything: every request asked of it is a
    // disagreement with the evaluator, which allows it.
    let dst = engine(standby, "eu-west-1", AuthorizationAnswer::ImplicitDeny);
    let options = iot_crr_reconcile::ReadinessOptions {
        cross_check: 3,
        ..Default::default()
    };
    let run = iot_crr_reconcile::readiness(&src, &dst, &options, &Progress::default())
        .await
        .unwrap();
    assert!(run.assessment.all_ready());
    assert_eq!(run.target.region, "eu-west-1");
    let c = run.cross_check.unwrap();
    assert_eq!(c.devices, 3);
    assert!(c.requests > 0);
    assert_eq!(
        src.asked.load(Ordering::SeqCst) + dst.asked.load(Ordering::SeqCst),
        c.requests
    );
    assert_eq!(c.disagreements.len(), dst.asked.load(Ordering::SeqCst));
    assert!(
        c.disagreements
            .iter()
            .all(|d| d.side == "standby" && d.local_allows)
    );
    assert!(c.disagreements.iter().all(|d| {
        d.resource
            .starts_with("arn:aws:iot:eu-west-1:123456789012:")
    }));
    assert!(c.unavailable.is_empty());
}

#[tokio::test]
async fn readiness_needs_each_sides_region_and_says_which_flag_gives_it() {
    let (source, standby) = fleet_and_standby(3).await;
    let src = MemoryRegistry::with_snapshot(source);
    let mut standby = standby;
    standby.origin = Default::default();
    let dst = MemoryRegistry::with_snapshot(standby);
    let e = iot_crr_reconcile::readiness(&src, &dst, &Default::default(), &Progress::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--target-region"), "{e}");
    // Given, it runs; a registry without a policy engine is named in the cross-check.
    let options = iot_crr_reconcile::ReadinessOptions {
        target_region: Some("eu-west-1".into()),
        cross_check: 1,
        ..Default::default()
    };
    let run = iot_crr_reconcile::readiness(&src, &dst, &options, &Progress::default())
        .await
        .unwrap();
    assert!(run.assessment.all_ready());
    let c = run.cross_check.unwrap();
    assert_eq!(c.unavailable.len(), 2, "{:?}", c.unavailable);
    assert!(
        c.unavailable[0].contains("no policy engine"),
        "{:?}",
        c.unavailable
    );
}
