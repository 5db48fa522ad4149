//! The resumable reconcile pass: runs that stop at a page limit or a deadline and
//! resume from the state store converge to the full reconcile's result; overlapping
//! runs, expired cursors and deletes are handled as documented.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{Change, Kind, Origin, Outcome, Resource, ResourceKey, Snapshot, Thing};
use iot_crr_reconcile::{Progress as ReadProgress, ReconcileOptions, compare};
use iot_crr_registry::{
    Capabilities, ErrorClass, KeyPage, MemoryRegistry, ReadRequest, Registry, RegistryError,
    Related,
};
use iot_crr_replicator::pass::{
    PassError, PassOptions, PassProgress, Stop, progress_name, run_segment,
};
use iot_crr_state::{MemoryStore, StateStore};

fn fleet(things: usize) -> Snapshot {
    let mut spec = FleetSpec::new(things);
    spec.seed = 7;
    generate(&spec)
}

fn options(page_size: usize) -> PassOptions {
    PassOptions {
        page_size,
        ..Default::default()
    }
}

fn one_page_a_run(page_size: usize) -> PassOptions {
    PassOptions {
        pages_per_run: Some(1),
        ..options(page_size)
    }
}

fn pages_a_run(page_size: usize, pages: u64) -> PassOptions {
    PassOptions {
        pages_per_run: Some(pages),
        ..options(page_size)
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

async fn changes_left(source: &dyn Registry, target: &dyn Registry, prune: bool) -> usize {
    let opts = ReconcileOptions {
        prune,
        ..Default::default()
    };
    compare(source, target, &opts, &ReadProgress::default())
        .await
        .unwrap()
        .plan
        .changes
        .len()
}

async fn saved(state: &MemoryStore, source: &dyn Registry, target: &dyn Registry) -> PassProgress {
    let p = state
        .get_progress(&progress_name(source, target))
        .await
        .unwrap()
        .expect("progress saved");
    serde_json::from_str(&p.value).unwrap()
}

#[tokio::test]
async fn runs_of_one_page_resume_and_finish_the_pass() {
    let source = MemoryRegistry::with_snapshot(fleet(40));
    let target = MemoryRegistry::new();
    let state = MemoryStore::new();
    assert!(changes_left(&source, &target, false).await > 40);
    let opts = one_page_a_run(7);
    let mut runs = 0;
    let finished = loop {
        runs += 1;
        assert!(runs < 200, "the pass does not finish");
        let r = run_segment(&source, &target, &state, &opts, far())
            .await
            .unwrap();
        let p = saved(&state, &source, &target).await;
        assert_eq!(p, r.progress);
        if let Some(done) = r.finished_pass {
            assert_eq!(r.stopped, Stop::Finished);
            // The next pass is ready to start, at the first kind (an account setting).
            assert_eq!(
                (p.pass, p.stage.as_str(), p.cursor.as_deref()),
                (2, "source/eventConfigurations", None)
            );
            break done;
        }
        assert_eq!(r.stopped, Stop::PageLimit);
        assert_eq!(r.pages, 1);
    };
    assert_eq!(finished.pass, 1);
    assert_eq!(finished.runs, runs);
    assert_eq!(finished.pages, runs);
    assert!(finished.applied > 40, "{finished:?}");
    assert_eq!(finished.failed, 0, "{finished:?}");
    assert!(finished.previous_finished_millis.is_some());
    assert_eq!(changes_left(&source, &target, false).await, 0);

    // A second pass over registries in sync writes nothing.
    let before: u64 = target.api_calls().iter().map(|(_, n)| n).sum();
    let r = run_segment(&source, &target, &state, &options(7), far())
        .await
        .unwrap();
    assert_eq!(r.stopped, Stop::Finished);
    assert_eq!(r.applied, 0);
    assert_eq!(r.finished_pass.as_ref().unwrap().pass, 2);
    assert_eq!(
        target.api_calls().iter().map(|(_, n)| n).sum::<u64>(),
        before
    );
}

#[tokio::test]
async fn a_spent_budget_stops_before_any_page_and_keeps_the_position() {
    let source = MemoryRegistry::with_snapshot(fleet(10));
    let target = MemoryRegistry::new();
    let state = MemoryStore::new();
    let r = run_segment(&source, &target, &state, &options(5), Instant::now())
        .await
        .unwrap();
    assert_eq!((r.stopped, r.pages), (Stop::Budget, 0));
    assert!(target.snapshot().counts().total() == 0);
    let p = saved(&state, &source, &target).await;
    assert_eq!(
        (p.runs, p.pages, p.stage.as_str()),
        (1, 0, "source/eventConfigurations")
    );
    // The next run with time goes on and finishes.
    let r = run_segment(&source, &target, &state, &options(5), far())
        .await
        .unwrap();
    assert_eq!(r.stopped, Stop::Finished);
    assert_eq!(r.finished_pass.unwrap().runs, 2);
    assert_eq!(changes_left(&source, &target, false).await, 0);
}

/// A store where another run saves the progress just before this one's first save.
struct Racing {
    inner: MemoryStore,
    raced: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl StateStore for Racing {
    async fn get_checkpoint(&self, a: &str, b: &str) -> iot_crr_state::Result<Option<String>> {
        self.inner.get_checkpoint(a, b).await
    }
    async fn put_checkpoint(&self, a: &str, b: &str, c: &str) -> iot_crr_state::Result<bool> {
        self.inner.put_checkpoint(a, b, c).await
    }
    async fn finish_shard(&self, a: &str, b: &str) -> iot_crr_state::Result<()> {
        self.inner.finish_shard(a, b).await
    }
    async fn is_shard_finished(&self, a: &str, b: &str) -> iot_crr_state::Result<bool> {
        self.inner.is_shard_finished(a, b).await
    }
    async fn get_progress(
        &self,
        name: &str,
    ) -> iot_crr_state::Result<Option<iot_crr_state::Progress>> {
        self.inner.get_progress(name).await
    }
    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> iot_crr_state::Result<Option<u64>> {
        if !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.inner.put_progress(name, "{}", expected).await?;
        }
        self.inner.put_progress(name, value, expected).await
    }
    async fn last_applied(
        &self,
        k: &ResourceKey,
    ) -> iot_crr_state::Result<Option<iot_crr_state::Applied>> {
        self.inner.last_applied(k).await
    }
    async fn record_applied(
        &self,
        k: &ResourceKey,
        a: iot_crr_state::Applied,
    ) -> iot_crr_state::Result<bool> {
        self.inner.record_applied(k, a).await
    }
    async fn is_tombstoned(&self, k: &ResourceKey, t: i64) -> iot_crr_state::Result<bool> {
        self.inner.is_tombstoned(k, t).await
    }
    async fn purge_tombstones(&self, t: i64) -> iot_crr_state::Result<u64> {
        self.inner.purge_tombstones(t).await
    }
    async fn put_dead_letter(&self, l: iot_crr_state::DeadLetter) -> iot_crr_state::Result<()> {
        self.inner.put_dead_letter(l).await
    }
    async fn list_dead_letters(
        &self,
        n: usize,
    ) -> iot_crr_state::Result<Vec<iot_crr_state::DeadLetter>> {
        self.inner.list_dead_letters(n).await
    }
    async fn remove_dead_letter(&self, id: &str) -> iot_crr_state::Result<bool> {
        self.inner.remove_dead_letter(id).await
    }
    async fn count_dead_letters(&self) -> iot_crr_state::Result<u64> {
        self.inner.count_dead_letters().await
    }
}

#[tokio::test]
async fn an_overlapping_run_stops_without_advancing_the_pass() {
    let source = MemoryRegistry::with_snapshot(fleet(10));
    let target = MemoryRegistry::new();
    let state = Racing {
        inner: MemoryStore::new(),
        raced: Default::default(),
    };
    let e = run_segment(&source, &target, &state, &one_page_a_run(5), far())
        .await
        .unwrap_err();
    assert!(matches!(e, PassError::Overlap { .. }), "{e}");
    assert!(e.to_string().contains("another run"), "{e}");
    // The other run's progress is what is stored.
    let p = state
        .get_progress(&progress_name(&source, &target))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.value.as_str(), p.revision), ("{}", 1));
}

fn thing(name: &str) -> Resource {
    Resource::Thing(Thing {
        thing_name: name.into(),
        thing_type_name: None,
        attributes: Default::default(),
        thing_groups: Default::default(),
        billing_group_name: None,
        principals: Default::default(),
        version: None,
    })
}

#[tokio::test]
async fn pruning_is_bounded_per_pass_and_never_follows_an_empty_source() {
    let mut s = Snapshot::new();
    for n in ["a", "b", "c"] {
        s.insert(thing(n));
    }
    let source = MemoryRegistry::with_snapshot(s.clone());
    for n in ["x", "y"] {
        s.insert(thing(n));
    }
    let target = MemoryRegistry::with_snapshot(s.clone());
    let state = MemoryStore::new();
    let prune = |bound: Option<u64>| PassOptions {
        reconcile: ReconcileOptions {
            prune: true,
            ..Default::default()
        },
        page_size: 10,
        max_delete_per_pass: bound,
        ..Default::default()
    };
    // Without a bound: refused before anything is read.
    let e = run_segment(&source, &target, &state, &prune(None), far())
        .await
        .unwrap_err();
    assert!(matches!(e, PassError::Refused(_)), "{e}");
    // A bound of 1 against 2 extra things: refused, nothing deleted, the position kept.
    let e = run_segment(&source, &target, &state, &prune(Some(1)), far())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PassError::DeleteBound {
                wanted: 2,
                done: 0,
                bound: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(target.snapshot().counts().things, 5);
    let p = saved(&state, &source, &target).await;
    assert_eq!(p.stage, "target/thing");
    // With room for them, the run goes on from there and deletes both.
    let r = run_segment(&source, &target, &state, &prune(Some(2)), far())
        .await
        .unwrap();
    assert_eq!(r.stopped, Stop::Finished);
    assert_eq!(r.deletes, 2);
    assert_eq!(target.snapshot(), {
        let mut t = Snapshot::new();
        for n in ["a", "b", "c"] {
            t.insert(thing(n));
        }
        t.origin = target.snapshot().origin;
        t
    });

    // An empty source (a wrong region): the target is left alone, whatever the bound.
    let empty = MemoryRegistry::new();
    let e = run_segment(&empty, &target, &state, &prune(Some(100)), far())
        .await
        .unwrap_err();
    assert!(
        matches!(e, PassError::Refused(ref m) if m.contains("listed no resource")),
        "{e}"
    );
    assert_eq!(target.snapshot().counts().things, 3);
}

/// A registry whose page cursors expire once: the second page's cursor is refused the
/// first time it is used, as an expired AWS `nextToken` is.
struct Expiring {
    inner: MemoryRegistry,
    expired: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Registry for Expiring {
    fn location(&self) -> String {
        "memory:expiring".into()
    }
    async fn read(&self, r: &ReadRequest) -> iot_crr_registry::Result<Snapshot> {
        self.inner.read(r).await
    }
    async fn read_resource(&self, k: &ResourceKey) -> iot_crr_registry::Result<Option<Resource>> {
        self.inner.read_resource(k).await
    }
    async fn apply(&self, c: &Change) -> iot_crr_registry::Result<Outcome> {
        self.inner.apply(c).await
    }
    async fn related(&self, q: &Related) -> iot_crr_registry::Result<Vec<ResourceKey>> {
        self.inner.related(q).await
    }
    async fn list_keys(
        &self,
        kind: Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> iot_crr_registry::Result<KeyPage> {
        if cursor.is_some() && !self.expired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(
                RegistryError::new(ErrorClass::Invalid, "the token expired").with_api("ListThings")
            );
        }
        self.inner.list_keys(kind, cursor, limit).await
    }
    fn origin(&self) -> Origin {
        self.inner.origin()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

#[tokio::test]
async fn a_refused_cursor_restarts_its_stage() {
    let source = Expiring {
        inner: MemoryRegistry::with_snapshot(fleet(12)),
        expired: Default::default(),
    };
    let target = MemoryRegistry::new();
    let state = MemoryStore::new();
    let r = run_segment(&source, &target, &state, &options(4), far())
        .await
        .unwrap();
    let done = r.finished_pass.unwrap();
    assert_eq!(done.restarts, 1);
    assert_eq!(changes_left(&source, &target, false).await, 0);
}

#[tokio::test]
async fn unreadable_progress_starts_a_new_pass() {
    let source = Arc::new(MemoryRegistry::with_snapshot(fleet(12)));
    let target = MemoryRegistry::new();
    let state = MemoryStore::new();
    run_segment(&*source, &target, &state, &pages_a_run(3, 2), far())
        .await
        .unwrap();
    let before = saved(&state, &*source, &target).await;
    // Unreadable saved progress is replaced by a new pass, with a warning.
    let name = progress_name(&*source, &target);
    let revision = state.get_progress(&name).await.unwrap().unwrap().revision;
    state
        .put_progress(&name, "not json", Some(revision))
        .await
        .unwrap()
        .unwrap();
    let r = run_segment(&*source, &target, &state, &one_page_a_run(3), far())
        .await
        .unwrap();
    assert_eq!(
        (r.progress.pass, r.progress.pages, r.progress.runs),
        (1, 1, 1)
    );
    assert_eq!(before.pages, 2);
}

#[tokio::test]
async fn the_next_pass_waits_for_the_pass_interval() {
    let source = MemoryRegistry::with_snapshot(fleet(5));
    let target = MemoryRegistry::new();
    let state = MemoryStore::new();
    let opts = PassOptions {
        pass_interval: Duration::from_secs(3600),
        ..options(50)
    };
    let r = run_segment(&source, &target, &state, &opts, far())
        .await
        .unwrap();
    assert_eq!(r.stopped, Stop::Finished);
    let before = saved(&state, &source, &target).await;
    // Within the hour: nothing read, nothing written, nothing saved.
    let r = run_segment(&source, &target, &state, &opts, far())
        .await
        .unwrap();
    assert_eq!((r.stopped, r.pages), (Stop::Waiting, 0));
    assert_eq!(saved(&state, &source, &target).await, before);
    assert!(before.not_before_millis(opts.pass_interval).unwrap() > before.started_millis);
    // Without an interval the next pass starts at once.
    let r = run_segment(&source, &target, &state, &options(50), far())
        .await
        .unwrap();
    assert_eq!(r.stopped, Stop::Finished);
    assert_eq!(r.finished_pass.unwrap().pass, 2);
}
