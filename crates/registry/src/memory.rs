//! An in-memory registry with AWS IoT's rules and fault injection, for tests.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use iot_crr_model::{
    Change, Origin, Outcome, Related, Resource, ResourceKey, Snapshot, apply_change,
};

use crate::{ErrorClass, ReadRequest, Registry, RegistryError, Result};

/// A fault to inject into the next matching write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The API operation it applies to (`CreateThing`), or `None` for any.
    pub api: Option<String>,
    /// The error class returned.
    pub class: ErrorClass,
    /// What happens to the write itself (default `FaultKind::Fail`). Build faults with
    /// [`Fault::fail`] and [`Fault::lost_answer`].
    pub kind: FaultKind,
}

/// What a [`Fault`] does to the write it hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The write is not applied and fails with the fault's class.
    #[default]
    Fail,
    /// The write is applied (as far as the registry's rules allow), then its answer is
    /// lost: the call fails with the fault's class and
    /// [`maybe_applied`](RegistryError::maybe_applied) set, whatever the real outcome
    /// was. A retry finds the effect in place (or the real error).
    LostAnswer,
}

impl Fault {
    /// A write of `api` (any write when `None`) that fails with `class` and is not
    /// applied.
    pub fn fail(api: Option<&str>, class: ErrorClass) -> Self {
        Fault {
            api: api.map(str::to_string),
            class,
            kind: FaultKind::Fail,
        }
    }

    /// A write of `api` (any write when `None`) that is applied, then fails as
    /// [`ErrorClass::Transient`] with `maybe_applied` set: the answer was lost.
    pub fn lost_answer(api: Option<&str>) -> Self {
        Fault {
            api: api.map(str::to_string),
            class: ErrorClass::Transient,
            kind: FaultKind::LostAnswer,
        }
    }
}

/// A registry held in memory. Changes follow [`apply_change`], so AWS IoT's ordering
/// rules are enforced; queued [`Fault`]s make the next matching writes fail first (or,
/// with a [lost answer](Fault::lost_answer), apply them and then fail).
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    state: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: Snapshot,
    faults: VecDeque<Fault>,
    calls: BTreeMap<String, u64>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding `snapshot`.
    pub fn with_snapshot(snapshot: Snapshot) -> Self {
        MemoryRegistry {
            state: Mutex::new(Inner {
                snapshot,
                ..Default::default()
            }),
        }
    }

    /// Queues a fault: the next write whose API matches fails with `class` (once).
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Drops the faults that have not fired; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.faults.len();
        inner.faults.clear();
        n
    }

    /// A copy of the current content.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the snapshot half-changed
        // (apply_change checks before it writes), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Registry for MemoryRegistry {
    fn location(&self) -> String {
        "memory:".into()
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        let inner = self.lock();
        let mut s = inner.snapshot.filtered(&request.filter);
        drop(inner);
        if request.skip_certificate_pems {
            // As a backend that pays for each PEM leaves them out: what a comparison
            // reads everywhere, so that tests see the same plans.
            for c in s.certificates.values_mut() {
                c.certificate_pem = String::new();
            }
        }
        request.report_counts(&s.counts());
        Ok(s)
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        Ok(self.lock().snapshot.get(key))
    }

    async fn list_keys(
        &self,
        kind: iot_crr_model::Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::KeyPage> {
        Ok(crate::key_page(&self.lock().snapshot, kind, cursor, limit))
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        Ok(self.lock().snapshot.related(query))
    }

    fn origin(&self) -> Origin {
        self.lock().snapshot.origin.clone()
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        let mut inner = self.lock();
        *inner.calls.entry(change.api().to_string()).or_default() += 1;
        if let Some(i) = inner
            .faults
            .iter()
            .position(|f| f.api.as_deref().is_none_or(|a| a == change.api()))
        {
            let f = inner.faults.remove(i).expect("index is in range");
            return match f.kind {
                FaultKind::Fail => {
                    Err(RegistryError::new(f.class, "injected fault").with_api(change.api()))
                }
                FaultKind::LostAnswer => {
                    // The outcome (success or the rules' error) is what gets lost.
                    let _ = apply_change(&mut inner.snapshot, change);
                    Err(
                        RegistryError::new(f.class, "injected fault: the answer was lost")
                            .with_api(change.api())
                            .maybe_applied(),
                    )
                }
            };
        }
        apply_change(&mut inner.snapshot, change)
            .map_err(|e| RegistryError::from(e).with_api(change.api()))
    }

    fn api_calls(&self) -> Vec<(String, u64)> {
        self.lock()
            .calls
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_model::{Kind, Thing};

    #[tokio::test]
    async fn faults_fire_once_then_writes_succeed() {
        let r = MemoryRegistry::new();
        r.inject(Fault::fail(Some("CreateThing"), ErrorClass::Throttled));
        let c = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        };
        let e = r.apply(&c).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(r.apply(&c).await.unwrap(), Outcome::Applied);
        assert_eq!(r.apply(&c).await.unwrap(), Outcome::AlreadyInState);
        assert_eq!(r.api_calls(), vec![("CreateThing".to_string(), 3)]);
        let got = r
            .read_resource(&ResourceKey::new(Kind::Thing, "t"))
            .await
            .unwrap();
        assert!(matches!(got, Some(Resource::Thing(Thing { .. }))));
    }

    #[tokio::test]
    async fn a_lost_answer_applies_the_change_then_fails_as_maybe_applied() {
        let r = MemoryRegistry::new();
        r.inject(Fault::lost_answer(Some("CreateThing")));
        let c = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: Default::default(),
            billing_group_name: None,
        };
        let e = r.apply(&c).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.maybe_applied);
        assert!(r.snapshot().things.contains_key("t"));
        // The retry finds the effect in place.
        assert_eq!(r.apply(&c).await.unwrap(), Outcome::AlreadyInState);

        // A write the rules refuse loses its answer too; the retry tells the truth.
        r.inject(Fault::lost_answer(None));
        let add = Change::AddThingToThingGroup {
            thing_name: "t".into(),
            thing_group_name: "g".into(),
        };
        let e = r.apply(&add).await.unwrap_err();
        assert!(e.maybe_applied && e.class.is_retryable());
        assert_eq!(r.apply(&add).await.unwrap_err().class, ErrorClass::NotFound);
        assert_eq!(r.snapshot().things["t"].thing_groups.len(), 0);
    }

    #[test]
    fn the_default_fault_kind_fails() {
        assert_eq!(FaultKind::default(), FaultKind::Fail);
        assert_eq!(
            Fault::fail(None, ErrorClass::Conflict),
            Fault {
                api: None,
                class: ErrorClass::Conflict,
                kind: FaultKind::Fail,
            }
        );
    }

    #[tokio::test]
    async fn rules_are_enforced() {
        let r = MemoryRegistry::new();
        let e = r
            .apply(&Change::AddThingToThingGroup {
                thing_name: "t".into(),
                thing_group_name: "g".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::NotFound);
        assert!(
            e.to_string()
                .starts_with("AddThingToThingGroup: thing group g"),
            "{e}"
        );
    }
}
