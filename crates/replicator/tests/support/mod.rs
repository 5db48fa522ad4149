//! Shared helpers of the applier tests: a source that records the events AWS would
//! publish, a target, and shorthands for changes.

#![allow(dead_code)]

use std::sync::Arc;

use iot_crr_model::{Change, Name, Snapshot, StringMap, ThingGroup, ThingType};
use iot_crr_registry::{MemoryRegistry, ReadRequest, Registry, RetryPolicy};
use iot_crr_replicator::emit::EventEmitter;
use iot_crr_replicator::{Applier, ApplierOptions, InRecord};
use iot_crr_state::{MemoryStore, StateStore};

pub type Source = Arc<EventEmitter<MemoryRegistry>>;

pub fn source() -> Source {
    Arc::new(EventEmitter::new(MemoryRegistry::new()))
}

pub fn options() -> ApplierOptions {
    let mut o = ApplierOptions::default();
    o.apply.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: std::time::Duration::from_millis(1),
        throttle_base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(2),
        throttle_patience: std::time::Duration::ZERO,
    };
    o
}

/// An applier from `source` (or events only) into a fresh memory target.
pub fn applier(
    source: Option<Arc<dyn Registry>>,
) -> (Applier, Arc<MemoryRegistry>, Arc<MemoryStore>) {
    let target = Arc::new(MemoryRegistry::new());
    let state = Arc::new(MemoryStore::new());
    let a = Applier::new(
        source,
        target.clone() as Arc<dyn Registry>,
        state.clone() as Arc<dyn StateStore>,
        options(),
    );
    (a, target, state)
}

pub fn records(events: &[Vec<u8>]) -> Vec<InRecord> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| InRecord {
            origin: format!("test:{i}"),
            data: e.clone(),
        })
        .collect()
}

pub async fn snapshot(r: &dyn Registry) -> Snapshot {
    r.read(&ReadRequest::default()).await.unwrap()
}

pub fn attrs(pairs: &[(&str, &str)]) -> StringMap {
    pairs.iter().copied().collect()
}

pub async fn apply(r: &dyn Registry, change: Change) {
    r.apply(&change)
        .await
        .unwrap_or_else(|e| panic!("{change:?}: {e}"));
}

pub fn create_type(name: &str) -> Change {
    Change::CreateThingType {
        thing_type: ThingType {
            thing_type_name: name.into(),
            ..Default::default()
        },
    }
}

pub fn create_group(name: &str, parent: Option<&str>) -> Change {
    Change::CreateThingGroup {
        thing_group: ThingGroup {
            thing_group_name: name.into(),
            parent_group_name: parent.map(Name::from),
            ..Default::default()
        },
    }
}

pub fn create_thing(name: &str, ty: Option<&str>, a: &[(&str, &str)]) -> Change {
    Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: ty.map(Name::from),
        attributes: attrs(a),
        billing_group_name: None,
    }
}

pub fn update_thing(name: &str, ty: Option<&str>, a: &[(&str, &str)]) -> Change {
    Change::UpdateThing {
        thing_name: name.into(),
        thing_type_name: ty.map(Name::from),
        attributes: attrs(a),
    }
}

pub fn add_to_group(thing: &str, group: &str) -> Change {
    Change::AddThingToThingGroup {
        thing_name: thing.into(),
        thing_group_name: group.into(),
    }
}

pub fn delete_thing(name: &str) -> Change {
    Change::DeleteThing {
        thing_name: name.into(),
    }
}
