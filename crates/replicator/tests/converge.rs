//! Convergence: any delivery order of a history's events (shuffled, duplicated, split
//! in batches) gives the target that in-order delivery gives, which is the source; and
//! two regions replicating into each other at once converge and their echoes die out.

mod support;

use std::sync::Arc;

use iot_crr_model::{Change, Name, PolicyTarget, ThingGroup};
use iot_crr_registry::{MemoryRegistry, Registry};
use iot_crr_replicator::Applier;
use iot_crr_replicator::emit::EventEmitter;
use iot_crr_state::{MemoryStore, StateStore};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::*;

/// One step of a random history, over a small universe so that steps meet.
#[derive(Debug, Clone)]
enum Op {
    CreateType(u8),
    DeprecateType(u8, bool),
    CreateGroup(u8, Option<u8>),
    UpdateGroup(u8, u8),
    DeleteGroup(u8),
    CreateThing(u8, Option<u8>, u8),
    UpdateThing(u8, Option<u8>, u8),
    DeleteThing(u8),
    Join(u8, u8),
    Leave(u8, u8),
    CreatePolicy(u8),
    AttachToGroup(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0u8..4;
    prop_oneof![
        2 => (0u8..2).prop_map(Op::CreateType),
        1 => (0u8..2, any::<bool>()).prop_map(|(t, d)| Op::DeprecateType(t, d)),
        4 => (0u8..4, proptest::option::of(0u8..4)).prop_map(|(g, p)| Op::CreateGroup(g, p)),
        2 => (0u8..4, 0u8..3).prop_map(|(g, v)| Op::UpdateGroup(g, v)),
        1 => (0u8..4).prop_map(Op::DeleteGroup),
        6 => (n.clone(), proptest::option::of(0u8..2), 0u8..3)
            .prop_map(|(t, ty, v)| Op::CreateThing(t, ty, v)),
        4 => (n.clone(), proptest::option::of(0u8..2), 0u8..3)
            .prop_map(|(t, ty, v)| Op::UpdateThing(t, ty, v)),
        2 => n.clone().prop_map(Op::DeleteThing),
        4 => (n.clone(), 0u8..4).prop_map(|(t, g)| Op::Join(t, g)),
        2 => (n.clone(), 0u8..4).prop_map(|(t, g)| Op::Leave(t, g)),
        1 => (0u8..2).prop_map(Op::CreatePolicy),
        1 => (0u8..2, 0u8..4).prop_map(|(p, g)| Op::AttachToGroup(p, g)),
    ]
}

fn change(op: &Op) -> Change {
    let ty = |t: u8| format!("type-{t}");
    let group = |g: u8| format!("group-{g}");
    let thing = |t: u8| format!("thing-{t}");
    match op {
        Op::CreateType(t) => create_type(&ty(*t)),
        Op::DeprecateType(t, undo) => Change::DeprecateThingType {
            thing_type_name: ty(*t).into(),
            undo_deprecate: *undo,
        },
        Op::CreateGroup(g, p) => create_group(&group(*g), p.map(group).as_deref()),
        Op::UpdateGroup(g, v) => Change::UpdateThingGroup {
            thing_group: ThingGroup {
                thing_group_name: group(*g).into(),
                attributes: attrs(&[("v", &v.to_string())]),
                ..Default::default()
            },
        },
        Op::DeleteGroup(g) => Change::DeleteThingGroup {
            thing_group_name: group(*g).into(),
        },
        Op::CreateThing(t, tt, v) => {
            create_thing(&thing(*t), tt.map(ty).as_deref(), &[("v", &v.to_string())])
        }
        Op::UpdateThing(t, tt, v) => {
            update_thing(&thing(*t), tt.map(ty).as_deref(), &[("v", &v.to_string())])
        }
        Op::DeleteThing(t) => delete_thing(&thing(*t)),
        Op::Join(t, g) => add_to_group(&thing(*t), &group(*g)),
        Op::Leave(t, g) => Change::RemoveThingFromThingGroup {
            thing_name: thing(*t).into(),
            thing_group_name: group(*g).into(),
        },
        Op::CreatePolicy(p) => Change::CreatePolicy {
            policy_name: format!("policy-{p}").into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
            tags: Default::default(),
        },
        Op::AttachToGroup(p, g) => Change::AttachPolicy {
            policy_name: Name::from(format!("policy-{p}")),
            target: PolicyTarget::ThingGroup(group(*g).into()),
        },
    }
}

/// Runs a history on a fresh source (steps the registry refuses are left out, as AWS
/// would refuse them) and returns the source with the events it published.
async fn history(ops: &[Op]) -> (Source, Vec<Vec<u8>>) {
    let src = source();
    for op in ops {
        let _ = src.apply(&change(op)).await;
    }
    let events = src.take_events();
    (src, events)
}

async fn deliver(src: &Source, batches: Vec<Vec<Vec<u8>>>) -> iot_crr_model::Snapshot {
    let (applier, target, state) = applier(Some(src.clone() as Arc<dyn Registry>));
    for b in batches {
        applier.apply_batch(&records(&b)).await.unwrap();
    }
    // Deleted resources' updates are dead letters; nothing else may be.
    for l in state.list_dead_letters(1000).await.unwrap() {
        assert!(l.reason.contains("no longer has"), "{}", l.reason);
    }
    snapshot(&*target).await
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_converges(ops in prop::collection::vec(op(), 10..60), seed in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (src, events) = history(&ops).await;
            let want = snapshot(&*src).await;
            // In order, one event per batch.
            let in_order = deliver(&src, events.iter().map(|e| vec![e.clone()]).collect()).await;
            prop_assert_eq!(&in_order, &want);
            // Shuffled, with duplicates, in random batches.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut mixed = events.clone();
            for _ in 0..rng.random_range(0..=events.len()) {
                let e = events[rng.random_range(0..events.len().max(1))].clone();
                mixed.push(e);
            }
            mixed.shuffle(&mut rng);
            let mut batches = Vec::new();
            while !mixed.is_empty() {
                let n = rng.random_range(1..=mixed.len().min(8));
                batches.push(mixed.drain(..n).collect());
            }
            let shuffled = deliver(&src, batches).await;
            prop_assert_eq!(&shuffled, &want);
            Ok(())
        })?;
    }
}

/// Replicating A to B and B to A at the same time, each region's changes and the
/// replicators' own writes publishing events: both converge, and the echoes stop.
#[tokio::test]
async fn active_active_converges_and_echoes_die_out() {
    let a = Arc::new(EventEmitter::new(MemoryRegistry::new()));
    let b = Arc::new(EventEmitter::new(MemoryRegistry::new()));
    let a_to_b = Applier::new(
        Some(a.clone() as Arc<dyn Registry>),
        b.clone() as Arc<dyn Registry>,
        Arc::new(MemoryStore::new()) as Arc<dyn StateStore>,
        options(),
    );
    let b_to_a = Applier::new(
        Some(b.clone() as Arc<dyn Registry>),
        a.clone() as Arc<dyn Registry>,
        Arc::new(MemoryStore::new()) as Arc<dyn StateStore>,
        options(),
    );
    // Each region changes its own resources, and both touch a shared group.
    apply(&*a, create_type("Pump")).await;
    apply(&*a, create_thing("a-1", Some("Pump"), &[("site", "lyon")])).await;
    apply(&*a, create_group("shared", None)).await;
    apply(&*b, create_thing("b-1", None, &[("site", "oslo")])).await;
    apply(&*b, create_group("fleet-b", None)).await;
    apply(&*b, add_to_group("b-1", "fleet-b")).await;

    let mut rounds = 0;
    loop {
        let (from_a, from_b) = (a.take_events(), b.take_events());
        if from_a.is_empty() && from_b.is_empty() {
            break;
        }
        rounds += 1;
        assert!(rounds <= 4, "echoes did not die out after {rounds} rounds");
        // Both directions at once.
        let (ra, rb) = (records(&from_a), records(&from_b));
        let (x, y) = tokio::join!(a_to_b.apply_batch(&ra), b_to_a.apply_batch(&rb));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.dead_lettered + y.dead_lettered, 0, "{x:?} {y:?}");
    }
    assert_eq!(snapshot(&*a).await, snapshot(&*b).await);
    assert_eq!(snapshot(&*a).await.counts().total(), 5);
}
