//! The conformance suite every [`StateStore`] must pass, shared by the stores of this
//! crate (its `tests/conformance.rs`) and those of other crates (a DynamoDB one), which
//! enable the `conformance` feature in their dev-dependencies.
//!
//! [`run`] checks checkpoints (56-digit sequence numbers, never backwards), finished
//! shards, the [`Applied::supersedes`] rules through
//! [`StateStore::record_applied`], tombstones, dead letters (order, replacement,
//! removal, raw bytes), the progress of resumable jobs (conditional on its revision) and
//! many tasks racing `record_applied` (and `put_progress`) on one resource.

use std::sync::Arc;

use iot_crr_model::{Kind, ResourceKey};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::{Applied, DEFAULT_TOMBSTONE_RETENTION_MILLIS, DeadLetter, StateError, StateStore};

/// What the suite may expect of a store beyond the trait's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Whether [`StateStore::purge_tombstones`] removes tombstones (and counts them).
    /// `false` for a store whose tombstones expire by themselves (a TTL attribute), whose
    /// purge removes nothing and returns 0, as the trait allows.
    pub purges_tombstones: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            purges_tombstones: true,
        }
    }
}

fn key(name: &str) -> ResourceKey {
    ResourceKey::new(Kind::Thing, name)
}

fn upd(version: Option<i64>, time_millis: i64) -> Applied {
    Applied {
        version,
        time_millis,
        deleted: false,
    }
}

fn del(version: Option<i64>, time_millis: i64) -> Applied {
    Applied {
        version,
        time_millis,
        deleted: true,
    }
}

async fn checkpoints<S: StateStore>(s: &S) {
    assert_eq!(s.get_checkpoint("st", "shard-0").await.unwrap(), None);
    let a = "49590338271490256608559692538361571095921575989136588898";
    let b = "49590338271490256608559692538361571095921575989136588899";
    assert!(s.put_checkpoint("st", "shard-0", a).await.unwrap());
    assert!(s.put_checkpoint("st", "shard-0", b).await.unwrap());
    // Equal and older: refused.
    assert!(!s.put_checkpoint("st", "shard-0", b).await.unwrap());
    assert!(!s.put_checkpoint("st", "shard-0", a).await.unwrap());
    // Shorter is smaller, whatever the first digits.
    assert!(!s.put_checkpoint("st", "shard-0", "99999").await.unwrap());
    assert_eq!(
        s.get_checkpoint("st", "shard-0").await.unwrap().as_deref(),
        Some(b)
    );
    // Shards and streams are independent.
    assert!(s.put_checkpoint("st", "shard-1", "7").await.unwrap());
    assert!(s.put_checkpoint("other", "shard-0", "3").await.unwrap());
    assert_eq!(
        s.get_checkpoint("st", "shard-0").await.unwrap().as_deref(),
        Some(b)
    );
    assert!(s.put_checkpoint("st", "shard-1", "10").await.unwrap());
    assert!(matches!(
        s.put_checkpoint("st", "shard-1", "1e5").await,
        Err(StateError::InvalidSequence(_))
    ));
    assert_eq!(
        s.get_checkpoint("st", "shard-1").await.unwrap().as_deref(),
        Some("10")
    );
}

async fn finished_shards<S: StateStore>(s: &S) {
    assert!(!s.is_shard_finished("fs", "shard-0").await.unwrap());
    s.put_checkpoint("fs", "shard-0", "12").await.unwrap();
    s.finish_shard("fs", "shard-0").await.unwrap();
    // Idempotent, and the checkpoint is kept.
    s.finish_shard("fs", "shard-0").await.unwrap();
    assert!(s.is_shard_finished("fs", "shard-0").await.unwrap());
    assert_eq!(
        s.get_checkpoint("fs", "shard-0").await.unwrap().as_deref(),
        Some("12")
    );
    // Shards and streams are independent.
    assert!(!s.is_shard_finished("fs", "shard-1").await.unwrap());
    assert!(!s.is_shard_finished("other", "shard-0").await.unwrap());
}

async fn versions<S: StateStore>(s: &S) {
    let k = key("v");
    assert_eq!(s.last_applied(&k).await.unwrap(), None);
    assert!(s.record_applied(&k, upd(Some(2), 100)).await.unwrap());
    // Older and equal versions refused, whatever their time.
    assert!(!s.record_applied(&k, upd(Some(1), 500)).await.unwrap());
    assert!(!s.record_applied(&k, upd(Some(2), 500)).await.unwrap());
    assert!(s.record_applied(&k, upd(Some(3), 50)).await.unwrap());
    assert_eq!(s.last_applied(&k).await.unwrap(), Some(upd(Some(3), 50)));
    // A delete at the same version wins, and only once.
    assert!(s.record_applied(&k, del(Some(3), 60)).await.unwrap());
    assert!(!s.record_applied(&k, del(Some(3), 60)).await.unwrap());
    assert_eq!(s.last_applied(&k).await.unwrap(), Some(del(Some(3), 60)));
    // After a delete, time decides: a late update is refused, a re-creation (version 1
    // again) later than the delete is accepted.
    assert!(!s.record_applied(&k, upd(Some(4), 60)).await.unwrap());
    assert!(!s.record_applied(&k, upd(Some(2), 10)).await.unwrap());
    assert!(s.record_applied(&k, upd(Some(1), 61)).await.unwrap());
    assert_eq!(s.last_applied(&k).await.unwrap(), Some(upd(Some(1), 61)));

    // No version: time decides, a delete wins at equal time.
    let t = ResourceKey::new(Kind::ThingType, "tt");
    assert!(s.record_applied(&t, upd(None, 100)).await.unwrap());
    assert!(!s.record_applied(&t, upd(None, 100)).await.unwrap());
    assert!(!s.record_applied(&t, upd(None, 99)).await.unwrap());
    assert!(s.record_applied(&t, upd(None, 101)).await.unwrap());
    assert!(s.record_applied(&t, del(None, 101)).await.unwrap());
    assert_eq!(s.last_applied(&t).await.unwrap(), Some(del(None, 101)));
    // Keys differ by kind too.
    assert_eq!(
        s.last_applied(&ResourceKey::new(Kind::ThingGroup, "tt"))
            .await
            .unwrap(),
        None
    );
}

async fn tombstones<S: StateStore>(s: &S, options: &Options) {
    // Later than anything the other checks write, which the purges leave alone.
    const T: i64 = 1_000_000;
    let (a, b, c) = (key("ta"), key("tb"), key("tc"));
    assert!(!s.is_tombstoned(&a, 0).await.unwrap());
    s.record_applied(&a, upd(Some(1), T + 1_000)).await.unwrap();
    assert!(
        !s.is_tombstoned(&a, 0).await.unwrap(),
        "an update is no tombstone"
    );
    s.record_applied(&a, del(Some(1), T + 2_000)).await.unwrap();
    assert!(s.is_tombstoned(&a, T + 1_500).await.unwrap());
    assert!(s.is_tombstoned(&a, T + 2_000).await.unwrap());
    assert!(!s.is_tombstoned(&a, T + 2_001).await.unwrap());
    s.record_applied(&b, del(None, T + 5_000)).await.unwrap();
    s.record_applied(&c, upd(Some(9), T)).await.unwrap();

    if options.purges_tombstones {
        assert_eq!(
            s.purge_tombstones(T).await.unwrap(),
            1,
            "the other checks' one"
        );
        assert_eq!(
            s.purge_tombstones(T + 2_000).await.unwrap(),
            0,
            "strictly older"
        );
        assert_eq!(s.purge_tombstones(T + 2_001).await.unwrap(), 1);
        assert_eq!(s.last_applied(&a).await.unwrap(), None);
        assert!(!s.is_tombstoned(&a, T + 1_500).await.unwrap());
        assert!(s.is_tombstoned(&b, T + 4_000).await.unwrap());
        let now = T + 5_000 + DEFAULT_TOMBSTONE_RETENTION_MILLIS + 1;
        assert_eq!(
            s.purge_tombstones(now - DEFAULT_TOMBSTONE_RETENTION_MILLIS)
                .await
                .unwrap(),
            1
        );
    } else {
        // Tombstones expire by themselves: a purge removes nothing and keeps them.
        assert_eq!(s.purge_tombstones(T + 2_001).await.unwrap(), 0);
        assert_eq!(
            s.last_applied(&a).await.unwrap(),
            Some(del(Some(1), T + 2_000))
        );
        assert!(s.is_tombstoned(&a, T + 1_500).await.unwrap());
        assert!(s.is_tombstoned(&b, T + 4_000).await.unwrap());
    }
    // Updates are never purged.
    assert_eq!(s.last_applied(&c).await.unwrap(), Some(upd(Some(9), T)));
}

async fn dead_letters<S: StateStore>(s: &S) {
    assert_eq!(s.count_dead_letters().await.unwrap(), 0);
    let raw: Vec<u8> = (0..=255u8).chain([0, 0xff, b'{']).collect();
    let letter = |id: &str, t: i64| DeadLetter {
        id: id.to_owned(),
        reason: format!("bad {id}"),
        raw: raw.clone(),
        source: "kinesis:st/shard-0".to_owned(),
        time_millis: t,
    };
    s.put_dead_letter(letter("b", 20)).await.unwrap();
    s.put_dead_letter(letter("a", 30)).await.unwrap();
    s.put_dead_letter(letter("c", 20)).await.unwrap();
    assert_eq!(s.count_dead_letters().await.unwrap(), 3);
    let all = s.list_dead_letters(10).await.unwrap();
    assert_eq!(all, vec![letter("b", 20), letter("c", 20), letter("a", 30)]);
    assert_eq!(all[0].raw, raw);
    assert_eq!(s.list_dead_letters(1).await.unwrap(), vec![letter("b", 20)]);
    assert_eq!(s.list_dead_letters(0).await.unwrap(), vec![]);
    // Same id replaces.
    s.put_dead_letter(letter("b", 40)).await.unwrap();
    assert_eq!(s.count_dead_letters().await.unwrap(), 3);
    assert!(s.remove_dead_letter("b").await.unwrap());
    assert!(!s.remove_dead_letter("b").await.unwrap());
    assert_eq!(s.count_dead_letters().await.unwrap(), 2);
    assert_eq!(
        s.list_dead_letters(usize::MAX).await.unwrap(),
        vec![letter("c", 20), letter("a", 30)]
    );
}

/// Many tasks race `record_applied` with random versions (and random deletes at the
/// top version): the store ends at the maximum, a delete if one was sent at it.
async fn progress<S: StateStore + 'static>(s: Arc<S>) {
    let name = "reconcile:aws:us-east-1->aws:eu-west-1";
    assert_eq!(s.get_progress(name).await.unwrap(), None);
    // A first save must expect nothing; a wrong expectation changes nothing.
    assert_eq!(s.put_progress(name, "a", Some(1)).await.unwrap(), None);
    assert_eq!(s.put_progress(name, "a", None).await.unwrap(), Some(1));
    assert_eq!(s.put_progress(name, "b", None).await.unwrap(), None);
    assert_eq!(s.put_progress(name, "b", Some(2)).await.unwrap(), None);
    let big = "x".repeat(8000);
    assert_eq!(s.put_progress(name, &big, Some(1)).await.unwrap(), Some(2));
    let got = s.get_progress(name).await.unwrap().unwrap();
    assert_eq!((got.value.as_str(), got.revision), (big.as_str(), 2));
    // Names are independent.
    assert_eq!(s.get_progress("other").await.unwrap(), None);
    // Of many runs saving on the same revision at once, exactly one wins.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.put_progress(name, &format!("run {i}"), Some(2)).await })
        })
        .collect();
    let mut won = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Some(r) = t.await.unwrap().unwrap() {
            won.push((i, r));
        }
    }
    assert_eq!(
        won.len(),
        1,
        "exactly one save on revision 2 may win: {won:?}"
    );
    let got = s.get_progress(name).await.unwrap().unwrap();
    assert_eq!(got.revision, 3);
    assert_eq!(got.value, format!("run {}", won[0].0));
}

async fn concurrent<S: StateStore + 'static>(s: Arc<S>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..20 {
        let k = key(&format!("race-{round}"));
        let mut changes: Vec<Applied> = (0..64)
            .map(|_| {
                let v = rng.random_range(1..=40);
                // A later version is a later change.
                let t = v * 10;
                if rng.random_bool(0.1) {
                    del(Some(v), t)
                } else {
                    upd(Some(v), t)
                }
            })
            .collect();
        changes.shuffle(&mut rng);
        let max = changes.iter().map(|a| a.version).max().unwrap();
        let deleted_at_max = changes.iter().any(|a| a.version == max && a.deleted);
        let tasks: Vec<_> = changes
            .into_iter()
            .map(|a| {
                let (s, k) = (Arc::clone(&s), k.clone());
                tokio::spawn(async move { s.record_applied(&k, a).await.unwrap() })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            stored += usize::from(t.await.unwrap());
        }
        assert!(stored >= 1);
        let last = s.last_applied(&k).await.unwrap().unwrap();
        assert_eq!(last.version, max, "round {round}");
        assert_eq!(last.deleted, deleted_at_max, "round {round}");
    }
}

/// Runs every check against `store`, which must be empty, panicking (an `assert!`) on
/// the first failure. Run it on a multi-threaded tokio runtime: the concurrency check
/// spawns tasks.
///
/// The checks use event times near the epoch (below 10^7 milliseconds): a store whose
/// tombstones expire by a clock must run them with its clock set near the epoch too,
/// or see them expired.
pub async fn run<S: StateStore + 'static>(store: Arc<S>, options: Options) {
    let s = store;
    checkpoints(&*s).await;
    finished_shards(&*s).await;
    versions(&*s).await;
    tombstones(&*s, &options).await;
    dead_letters(&*s).await;
    progress(Arc::clone(&s)).await;
    concurrent(s).await;
}
