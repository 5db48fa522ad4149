//! The DynamoDB store against a moto server: the conformance suite every store passes,
//! and what is specific to DynamoDB (racing writers, 56-digit sequence numbers,
//! TTL-expired tombstones, oversized dead letters, pagination).
//!
//! The server's URL comes from `IOT_CRR_MOTO_ENDPOINT` (`scripts/test.sh` starts moto
//! and sets it). Every test creates its own table (a unique name), so the tests run
//! concurrently and never reset the server. The racing tests need the moto started by
//! `scripts/moto_server.py`, which makes its conditional writes atomic as AWS's are.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use iot_crr_model::{Kind, ResourceKey};
use iot_crr_state::{Applied, DeadLetter, StateError, StateStore, conformance};
use iot_crr_state_dynamodb::{
    DEFAULT_TOMBSTONE_RETENTION_MILLIS, DynamoStore, LSI_NAME, TTL_ATTRIBUTE, client_from_config,
    create_table,
};
use iot_crr_testkit::{moto_endpoint, sdk_config_at};
use rand::{Rng, SeedableRng};

const REGION: &str = "eu-west-1";

fn client() -> Client {
    let endpoint = moto_endpoint();
    client_from_config(&sdk_config_at(&endpoint, REGION), Some(&endpoint))
}

/// A table name no other test (or run) uses.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A store on a new table.
async fn store(name: &str) -> DynamoStore {
    let c = client();
    let table = unique(name);
    create_table(&c, &table).await.unwrap();
    DynamoStore::new(c, table)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite() {
    // The suite's events are near the epoch: a clock there keeps its tombstones alive.
    let s = store("conformance").await.with_clock(|| 0);
    conformance::run(
        Arc::new(s),
        conformance::Options {
            purges_tombstones: false,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_table_schema() {
    let s = store("schema").await;
    let c = s.client();
    let ttl = c
        .describe_time_to_live()
        .table_name(s.table())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some(TTL_ATTRIBUTE));
    assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));
    let t = c
        .describe_table()
        .table_name(s.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let lsi = t.local_secondary_indexes.unwrap();
    assert_eq!(lsi.len(), 1);
    assert_eq!(lsi[0].index_name.as_deref(), Some(LSI_NAME));
    // Creating it again fails (the table exists), as a backend error.
    let err = create_table(c, s.table()).await.unwrap_err();
    assert!(matches!(err, StateError::Backend(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_is_a_backend_error() {
    let s = DynamoStore::new(client(), unique("missing"));
    let err = s.get_checkpoint("st", "sh").await.unwrap_err();
    match err {
        StateError::Backend(m) => {
            assert!(m.contains("GetItem"), "{m}");
            assert!(m.contains("ResourceNotFound"), "{m}");
        }
        other => panic!("{other}"),
    }
}

/// Sequence numbers that differ only past a DynamoDB number's 38 digits, of different
/// lengths, and with leading zeros.
#[tokio::test(flavor = "multi_thread")]
async fn sequence_numbers_compare_as_56_digit_integers() {
    let s = store("seq").await;
    let a = "49590338271490256608559692538361571095921575989136588898";
    let b = "49590338271490256608559692538361571095921575989136588899";
    assert_eq!(a.len(), 56);
    assert!(s.put_checkpoint("st", "sh", a).await.unwrap());
    assert!(s.put_checkpoint("st", "sh", b).await.unwrap());
    assert!(!s.put_checkpoint("st", "sh", a).await.unwrap());
    // Leading zeros: the same number, refused.
    assert!(
        !s.put_checkpoint("st", "sh", &format!("000{b}"))
            .await
            .unwrap()
    );
    // 55 digits, all nines: smaller.
    assert!(!s.put_checkpoint("st", "sh", &"9".repeat(55)).await.unwrap());
    assert_eq!(
        s.get_checkpoint("st", "sh").await.unwrap().as_deref(),
        Some(b)
    );
    // 57 digits: larger; and a 129-digit one (the longest Kinesis allows).
    let c = format!("1{}", "0".repeat(56));
    assert!(s.put_checkpoint("st", "sh", &c).await.unwrap());
    let d = "9".repeat(129);
    assert!(s.put_checkpoint("st", "sh", &d).await.unwrap());
    assert!(!s.put_checkpoint("st", "sh", &c).await.unwrap());
    assert_eq!(
        s.get_checkpoint("st", "sh").await.unwrap().as_deref(),
        Some(d.as_str())
    );
    // Stored as given.
    assert!(s.put_checkpoint("st", "z", "007").await.unwrap());
    assert_eq!(
        s.get_checkpoint("st", "z").await.unwrap().as_deref(),
        Some("007")
    );
    assert!(!s.put_checkpoint("st", "z", "7").await.unwrap());
    assert!(s.put_checkpoint("st", "z", "8").await.unwrap());
}

/// 56-digit sequence numbers from one base, `offset` added in the last digits.
fn seq(offset: u32) -> String {
    format!("4959033827149025660855969253836157109592157598913{offset:07}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_checkpoints_end_at_the_maximum() {
    let s = Arc::new(store("race-seq").await);
    let mut rng = seeded_rng(11);
    for round in 0..5 {
        let shard = format!("shard-{round}");
        let offsets: Vec<u32> = (0..64).map(|_| rng.random_range(0..10_000_000)).collect();
        let max = *offsets.iter().max().unwrap();
        let tasks: Vec<_> = offsets
            .into_iter()
            .map(|o| {
                let (s, shard) = (Arc::clone(&s), shard.clone());
                tokio::spawn(async move { s.put_checkpoint("st", &shard, &seq(o)).await.unwrap() })
            })
            .collect();
        let mut moved = 0;
        for t in tasks {
            moved += usize::from(t.await.unwrap());
        }
        assert!(moved >= 1);
        assert_eq!(
            s.get_checkpoint("st", &shard).await.unwrap(),
            Some(seq(max)),
            "round {round}"
        );
        // Nothing older moves it.
        assert!(!s.put_checkpoint("st", &shard, &seq(max)).await.unwrap());
    }
}

fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Many tasks race `record_applied` with random versions at unrelated times: the store
/// ends at the maximum version, with the time of one of the changes at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_versions_end_at_the_maximum() {
    let s = Arc::new(store("race-versions").await);
    let mut rng = seeded_rng(5);
    for round in 0..4 {
        let k = key(&format!("race-{round}"));
        let changes: Vec<Applied> = (0..100)
            .map(|_| {
                upd(
                    Some(rng.random_range(1..=1_000)),
                    rng.random_range(0..1_000_000),
                )
            })
            .collect();
        let max = changes.iter().filter_map(|a| a.version).max();
        let sent: HashSet<(Option<i64>, i64)> =
            changes.iter().map(|a| (a.version, a.time_millis)).collect();
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
        assert!(sent.contains(&(last.version, last.time_millis)));
        assert!(!last.deleted);
    }
}

/// A tombstone whose `expires_at` passed is gone for the store, though moto (like AWS,
/// up to days late) still holds the item.
#[tokio::test(flavor = "multi_thread")]
async fn expired_tombstones_are_ignored() {
    let now = Arc::new(AtomicI64::new(1_700_000_000_000));
    let clock = Arc::clone(&now);
    let s = store("ttl")
        .await
        .with_tombstone_retention_millis(60_000)
        .with_clock(move || clock.load(Ordering::SeqCst));
    assert_eq!(s.tombstone_retention_millis(), 60_000);
    let k = key("gone");
    let t = 1_700_000_000_500;
    assert!(s.record_applied(&k, upd(Some(4), t - 100)).await.unwrap());
    assert!(s.record_applied(&k, del(Some(4), t)).await.unwrap());
    assert!(s.is_tombstoned(&k, t).await.unwrap());
    assert!(!s.record_applied(&k, upd(Some(9), t)).await.unwrap());

    // The item carries its expiry: the delete's time plus the retention, rounded up.
    let item = s
        .client()
        .get_item()
        .table_name(s.table())
        .key("pk", AttributeValue::S("applied#thing/gone".into()))
        .key("sk", AttributeValue::S("applied".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item.get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N("1700000061".into()))
    );

    // Just before the expiry second: still there.
    now.store(1_700_000_060_999, Ordering::SeqCst);
    assert!(s.is_tombstoned(&k, t).await.unwrap());
    assert_eq!(s.last_applied(&k).await.unwrap(), Some(del(Some(4), t)));
    // From it on: gone, as after a purge, though the item is still in the table.
    now.store(1_700_000_061_000, Ordering::SeqCst);
    assert!(!s.is_tombstoned(&k, t).await.unwrap());
    assert_eq!(s.last_applied(&k).await.unwrap(), None);
    assert_eq!(s.purge_tombstones(i64::MAX).await.unwrap(), 0);
    // Any change replaces an expired tombstone, even an older one.
    assert!(s.record_applied(&k, upd(Some(2), t - 50)).await.unwrap());
    assert_eq!(
        s.last_applied(&k).await.unwrap(),
        Some(upd(Some(2), t - 50))
    );
    // An update carries no expiry: it never expires.
    let item = s
        .client()
        .get_item()
        .table_name(s.table())
        .key("pk", AttributeValue::S("applied#thing/gone".into()))
        .key("sk", AttributeValue::S("applied".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key(TTL_ATTRIBUTE));
    now.store(i64::MAX, Ordering::SeqCst);
    assert_eq!(
        s.last_applied(&k).await.unwrap(),
        Some(upd(Some(2), t - 50))
    );
}

/// The default retention with the system clock: a recent delete is a tombstone, one
/// older than the retention is not.
#[tokio::test(flavor = "multi_thread")]
async fn default_retention_with_the_system_clock() {
    let s = store("ttl-default").await;
    assert_eq!(
        s.tombstone_retention_millis(),
        DEFAULT_TOMBSTONE_RETENTION_MILLIS
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (recent, old) = (key("recent"), key("old"));
    assert!(
        s.record_applied(&recent, del(None, now - 1_000))
            .await
            .unwrap()
    );
    assert!(s.is_tombstoned(&recent, now - 2_000).await.unwrap());
    let long_ago = now - DEFAULT_TOMBSTONE_RETENTION_MILLIS - 2_000;
    assert!(s.record_applied(&old, del(None, long_ago)).await.unwrap());
    assert!(!s.is_tombstoned(&old, long_ago).await.unwrap());
    assert_eq!(s.last_applied(&old).await.unwrap(), None);
    // Re-recording the same (expired) delete is accepted, as after a purge.
    assert!(s.record_applied(&old, del(None, long_ago)).await.unwrap());
}

fn letter(id: &str, raw: Vec<u8>, t: i64) -> DeadLetter {
    DeadLetter {
        id: id.to_owned(),
        reason: "undecodable".to_owned(),
        raw,
        source: "kinesis:st/shardId-000000000001".to_owned(),
        time_millis: t,
    }
}

/// moto counts a binary attribute by its base64 text (see the crate documentation).
const MOTO_MAX_ITEM_BYTES: usize = 300 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn oversized_dead_letters_are_truncated() {
    let s = store("big-dl")
        .await
        .with_max_item_bytes(MOTO_MAX_ITEM_BYTES);
    let big: Vec<u8> = (0..2 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    s.put_dead_letter(letter("big", big.clone(), 1))
        .await
        .unwrap();
    let near: Vec<u8> = vec![0xab; MOTO_MAX_ITEM_BYTES - 100];
    s.put_dead_letter(letter("near", near.clone(), 2))
        .await
        .unwrap();
    let fits: Vec<u8> = vec![0xcd; 200 * 1024];
    s.put_dead_letter(letter("fits", fits.clone(), 3))
        .await
        .unwrap();
    assert_eq!(s.count_dead_letters().await.unwrap(), 3);

    let all = s.list_dead_letters(10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["big", "near", "fits"]);
    for (l, raw) in all.iter().zip([&big, &near]) {
        assert!(l.raw.len() < raw.len() && l.raw.len() > MOTO_MAX_ITEM_BYTES - 5 * 1024);
        assert_eq!(l.raw[..], raw[..l.raw.len()], "a prefix");
        assert!(
            l.reason
                .starts_with("undecodable [raw truncated to its first "),
            "{}",
            l.reason
        );
        assert!(l.reason.contains(&format!("of {} bytes", raw.len())));
    }
    assert_eq!(all[2], letter("fits", fits, 3));
    // Without the emulator's limit, moto refuses the item: the put fails, naming why.
    let aws_sized = DynamoStore::new(s.client().clone(), s.table());
    let err = aws_sized
        .put_dead_letter(letter("big", big, 1))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ValidationException: Item size has exceeded"),
        "{err}"
    );
}

/// More dead letters than a page of the index or a `BatchGetItem` holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dead_letters_page() {
    let s = Arc::new(store("page-dl").await);
    let n: u32 = 250;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = Arc::clone(&s);
            // Times repeat (by id then), one is negative.
            let t = i64::from(i % 7) * 1_000 - 1;
            tokio::spawn(async move {
                s.put_dead_letter(letter(&format!("id-{i:03}"), vec![i as u8; 3], t))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.count_dead_letters().await.unwrap(), u64::from(n));
    let all = s.list_dead_letters(usize::MAX).await.unwrap();
    assert_eq!(all.len(), n as usize);
    let mut want: Vec<(i64, String)> = (0..n)
        .map(|i| (i64::from(i % 7) * 1_000 - 1, format!("id-{i:03}")))
        .collect();
    want.sort();
    let got: Vec<(i64, String)> = all.iter().map(|l| (l.time_millis, l.id.clone())).collect();
    assert_eq!(got, want);
    let first = s.list_dead_letters(150).await.unwrap();
    assert_eq!(first[..], all[..150]);
    // Ids with the separator and non-ASCII characters round-trip.
    s.put_dead_letter(letter("a#b/é", vec![], -5))
        .await
        .unwrap();
    assert_eq!(s.list_dead_letters(1).await.unwrap()[0].id, "a#b/é");
    assert!(s.remove_dead_letter("a#b/é").await.unwrap());
    assert!(!s.remove_dead_letter("a#b/é").await.unwrap());
}
