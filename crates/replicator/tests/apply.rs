//! The applier's guarantees, on in-memory registries with the events AWS would publish.

mod support;

use std::sync::Arc;

use iot_crr_model::{Kind, Resource, ResourceKey};
use iot_crr_registry::{ErrorClass, Fault, Registry};
use iot_crr_state::StateStore;
use support::*;

#[tokio::test]
async fn events_in_order_make_the_target_equal_the_source() {
    let src = source();
    apply(&*src, create_type("Pump")).await;
    apply(&*src, create_group("france", None)).await;
    apply(&*src, create_group("lyon", Some("france"))).await;
    apply(
        &*src,
        create_thing("pump-1", Some("Pump"), &[("site", "lyon")]),
    )
    .await;
    apply(&*src, add_to_group("pump-1", "lyon")).await;
    apply(
        &*src,
        update_thing("pump-1", Some("Pump"), &[("site", "paris")]),
    )
    .await;
    let events = src.take_events();
    assert!(events.len() >= 6, "{}", events.len());

    let (applier, target, state) = applier(Some(src.clone() as Arc<dyn Registry>));
    let out = applier.apply_batch(&records(&events)).await.unwrap();
    assert_eq!(out.dead_lettered, 0, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
    // The thing's last version is recorded.
    let last = state
        .last_applied(&ResourceKey::new(Kind::Thing, "pump-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.version, Some(2));
}

#[tokio::test]
async fn duplicates_and_older_versions_make_no_write() {
    let src = source();
    apply(&*src, create_thing("t", None, &[("v", "1")])).await;
    apply(&*src, update_thing("t", None, &[("v", "2")])).await;
    let events = src.take_events();
    let (applier, target, _) = applier(Some(src.clone() as Arc<dyn Registry>));
    let first = applier.apply_batch(&records(&events[1..])).await.unwrap();
    assert_eq!(first.writes, 1);
    let calls = |t: &dyn Registry| t.api_calls().iter().map(|(_, n)| n).sum::<u64>();
    let before = calls(&*target);
    // The same events again, and the older version: nothing read, nothing written.
    let again = applier.apply_batch(&records(&events)).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
    assert_eq!(again.stale, 2, "{again:?}");
    assert_eq!(again.reads, 0, "{again:?}");
    assert_eq!(calls(&*target), before);
    // The same event id twice in one batch counts once.
    let (applier, _, _) = support::applier(Some(src.clone() as Arc<dyn Registry>));
    let twice = [events[1].clone(), events[1].clone()];
    let out = applier.apply_batch(&records(&twice)).await.unwrap();
    assert_eq!((out.applied, out.stale, out.writes), (1, 1, 1), "{out:?}");
}

#[tokio::test]
async fn a_late_update_after_a_delete_never_resurrects() {
    let src = source();
    apply(&*src, create_thing("t", None, &[("v", "1")])).await;
    apply(&*src, update_thing("t", None, &[("v", "2")])).await;
    apply(&*src, delete_thing("t")).await;
    let events = src.take_events();
    // Event-only mode: the update carries a state that would create the thing.
    let (applier, target, state) = applier(None);
    let delete = records(&events[2..]);
    applier.apply_batch(&delete).await.unwrap();
    let late = applier.apply_batch(&records(&events[..2])).await.unwrap();
    assert_eq!((late.stale, late.writes), (2, 0), "{late:?}");
    assert_eq!(snapshot(&*target).await.counts().total(), 0);
    let key = ResourceKey::new(Kind::Thing, "t");
    assert!(state.last_applied(&key).await.unwrap().unwrap().deleted);
    // A thing created again after the delete is a new life: it is applied.
    apply(&*src, create_thing("t", None, &[("v", "3")])).await;
    let out = applier
        .apply_batch(&records(&src.take_events()))
        .await
        .unwrap();
    assert_eq!(out.writes, 1, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
}

#[tokio::test]
async fn a_child_group_before_its_parent_creates_the_parent_first() {
    let src = source();
    apply(&*src, create_group("root", None)).await;
    apply(&*src, create_group("mid", Some("root"))).await;
    apply(&*src, create_group("leaf", Some("mid"))).await;
    let mut events = src.take_events();
    events.reverse();
    // With a source: the leaf's event alone brings its ancestors, in order.
    let (applier, target, _) = applier(Some(src.clone() as Arc<dyn Registry>));
    let out = applier.apply_batch(&records(&events[..1])).await.unwrap();
    assert_eq!(out.dead_lettered, 0, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
    // Without a source, children first in one batch: the engine creates parents first.
    let (applier, target, _) = support::applier(None);
    let out = applier.apply_batch(&records(&events)).await.unwrap();
    // The hierarchy events carry no state: without a source they are dead letters,
    // the group events carry the hierarchy anyway.
    assert_eq!(out.dead_lettered, 2, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
}

#[tokio::test]
async fn poison_goes_to_the_dead_letters_and_the_rest_applies() {
    let src = source();
    apply(&*src, create_thing("good", None, &[])).await;
    let mut events = src.take_events();
    events.push(b"{not json".to_vec());
    events.push(br#"{"eventType":"SHADOW_EVENT","eventId":"x","timestamp":1}"#.to_vec());
    // A thing the source no longer has.
    apply(&*src, create_thing("gone", None, &[])).await;
    events.extend(src.take_events());
    apply(&*src, delete_thing("gone")).await;
    let _delete_not_delivered = src.take_events();
    let (applier, target, state) = applier(Some(src.clone() as Arc<dyn Registry>));
    let out = applier.apply_batch(&records(&events)).await.unwrap();
    assert_eq!((out.applied, out.dead_lettered), (1, 3), "{out:?}");
    let letters = state.list_dead_letters(10).await.unwrap();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("cannot decode")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("SHADOW_EVENT")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("no longer has thing/gone")),
        "{reasons:?}"
    );
    assert!(letters.iter().any(|l| l.raw == b"{not json"));
    assert!(
        snapshot(&*target)
            .await
            .get(&ResourceKey::new(Kind::Thing, "good"))
            .is_some()
    );
}

#[tokio::test]
async fn a_change_the_target_refuses_for_good_is_a_dead_letter() {
    let src = source();
    apply(&*src, create_thing("a", None, &[])).await;
    apply(&*src, create_thing("b", None, &[])).await;
    let events = src.take_events();
    let (applier, target, state) = applier(Some(src.clone() as Arc<dyn Registry>));
    // Faults fire once: the batch's apply meets two (one per thing), the retry of "a"
    // on its own the third ("b" then applies).
    for _ in 0..3 {
        target.inject(Fault::fail(Some("CreateThing"), ErrorClass::Invalid));
    }
    let out = applier.apply_batch(&records(&events)).await.unwrap();
    assert_eq!((out.applied, out.dead_lettered), (1, 1), "{out:?}");
    assert_eq!(state.count_dead_letters().await.unwrap(), 1);
    assert_eq!(snapshot(&*target).await.counts().total(), 1);
}

#[tokio::test]
async fn a_retryable_fault_fails_the_batch_and_dead_letters_nothing() {
    let src = source();
    apply(&*src, create_thing("a", None, &[])).await;
    let events = src.take_events();
    let (applier, target, state) = applier(Some(src.clone() as Arc<dyn Registry>));
    for _ in 0..2 {
        target.inject(Fault::fail(Some("CreateThing"), ErrorClass::Throttled));
    }
    let e = applier.apply_batch(&records(&events)).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(state.count_dead_letters().await.unwrap(), 0);
    // Delivered again, it applies.
    let out = applier.apply_batch(&records(&events)).await.unwrap();
    assert_eq!(out.applied, 1, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
}

#[tokio::test]
async fn thin_events_without_a_source_are_dead_letters() {
    let src = source();
    apply(&*src, create_group("g", None)).await;
    apply(&*src, create_thing("t", None, &[])).await;
    apply(&*src, add_to_group("t", "g")).await;
    let (applier, target, state) = applier(None);
    let out = applier
        .apply_batch(&records(&src.take_events()))
        .await
        .unwrap();
    assert_eq!((out.applied, out.dead_lettered), (2, 1), "{out:?}");
    let letter = &state.list_dead_letters(1).await.unwrap()[0];
    assert!(letter.reason.contains("no source"), "{}", letter.reason);
    let t = snapshot(&*target).await;
    assert!(matches!(
        t.get(&ResourceKey::new(Kind::Thing, "t")),
        Some(Resource::Thing(th)) if th.thing_groups.is_empty()
    ));
}

#[tokio::test]
async fn deletes_follow_only_from_delete_events() {
    let src = source();
    apply(&*src, create_thing("a", None, &[])).await;
    apply(&*src, create_thing("b", None, &[])).await;
    let (applier, target, _) = applier(Some(src.clone() as Arc<dyn Registry>));
    applier
        .apply_batch(&records(&src.take_events()))
        .await
        .unwrap();
    // "b" goes from the source, but only its update event arrives (the delete is
    // lost): the target keeps it, and the event is a dead letter.
    apply(&*src, update_thing("b", None, &[("x", "1")])).await;
    let update = src.take_events();
    apply(&*src, delete_thing("b")).await;
    let delete = src.take_events();
    let out = applier.apply_batch(&records(&update)).await.unwrap();
    assert_eq!(out.dead_lettered, 1, "{out:?}");
    assert_eq!(snapshot(&*target).await.counts().total(), 2);
    let out = applier.apply_batch(&records(&delete)).await.unwrap();
    assert_eq!(out.writes, 1, "{out:?}");
    assert_eq!(snapshot(&*target).await, snapshot(&*src).await);
}
