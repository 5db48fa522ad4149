//! Integration tests of the producer and the consumer against a moto server.
//!
//! The server's URL comes from `IOT_CRR_MOTO_ENDPOINT` (`scripts/test.sh` starts moto
//! and sets it). Every test creates its own streams (unique names), so the tests run
//! concurrently and never reset the server. Where moto differs from AWS (see the crate
//! documentation), the test says so.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::StreamStatus;
use iot_crr_kinesis::{
    Batch, ConsumeSummary, Consumer, ConsumerOptions, Handler, HandlerError, OutRecord, Producer,
    ProducerOptions, RetryPolicy, StartPosition, client_from_config,
};
use iot_crr_state::{MemoryStore, SqliteStore, StateStore};
use iot_crr_testkit::{moto_endpoint, sdk_config_at};
use tokio::sync::{Notify, watch};

const REGION: &str = "eu-west-1";

fn client() -> Client {
    let endpoint = moto_endpoint();
    client_from_config(&sdk_config_at(&endpoint, REGION), Some(&endpoint))
}

/// A stream name no other test (or run) uses.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

async fn create_stream(c: &Client, name: &str, shards: i32) {
    c.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStream {name}: {e:?}"));
    for _ in 0..100 {
        let s = c
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if s.stream_description_summary().unwrap().stream_status() == &StreamStatus::Active {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} never became ACTIVE");
}

/// Collects what it is handed; optionally refuses the first calls, or waits in each.
#[derive(Default)]
struct Collector {
    batches: Mutex<Vec<Batch>>,
    calls: AtomicU32,
    refuse_first: u32,
    delay: Duration,
    entered: Notify,
}

impl Collector {
    fn refusing(n: u32) -> Self {
        Collector {
            refuse_first: n,
            ..Collector::default()
        }
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }

    /// (partition key, data) of every user record handled, KPL records de-aggregated.
    fn user_records(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for b in self.batches() {
            for r in &b.records {
                for u in iot_crr_kpl::deaggregate(&r.data, &r.partition_key).unwrap() {
                    out.push((u.partition_key, String::from_utf8(u.data).unwrap()));
                }
            }
        }
        out
    }

    fn records(&self) -> usize {
        self.batches().iter().map(|b| b.records.len()).sum()
    }
}

#[async_trait]
impl Handler for Collector {
    async fn handle(&self, batch: &Batch) -> Result<(), HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.entered.notify_one();
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if call <= self.refuse_first {
            return Err(format!("refusing call {call}").into());
        }
        assert!(!batch.records.is_empty());
        self.batches.lock().unwrap().push(batch.clone());
        Ok(())
    }
}

fn options() -> ConsumerOptions {
    ConsumerOptions {
        poll_interval: Duration::from_millis(50),
        relist_interval: Duration::from_millis(300),
        exit_when_idle: Some(Duration::from_millis(800)),
        retry: RetryPolicy::fast(3),
        handler_retry: RetryPolicy::fast(3),
        ..ConsumerOptions::default()
    }
}

/// Runs a consumer until idle (bounded by a minute).
async fn consume(
    stream: &str,
    store: Arc<dyn StateStore>,
    handler: Arc<Collector>,
    opts: ConsumerOptions,
) -> ConsumeSummary {
    let consumer = Consumer::new(client(), stream, store, opts);
    let (_tx, rx) = watch::channel(false);
    tokio::time::timeout(Duration::from_secs(60), consumer.run(handler, rx))
        .await
        .expect("the consumer did not become idle within a minute")
        .unwrap()
}

fn producer(stream: &str, aggregate: bool) -> Producer {
    Producer::new(
        client(),
        stream,
        ProducerOptions {
            aggregate,
            ..ProducerOptions::default()
        },
    )
}

fn records(prefix: &str, keys: usize, n: usize) -> Vec<OutRecord> {
    (0..n)
        .map(|i| OutRecord::new(format!("k{}", i % keys), format!("{prefix}{i:03}")))
        .collect()
}

/// Per partition key, the data in delivery order.
fn by_key(records: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, d) in records {
        out.entry(k.clone()).or_default().push(d.clone());
    }
    out
}

fn expected(batches: &[&[OutRecord]]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in batches {
        for r in *b {
            out.entry(r.partition_key.clone())
                .or_default()
                .push(String::from_utf8(r.data.clone()).unwrap());
        }
    }
    out
}

/// Plain and KPL-aggregated records over two shards all come back, in order per key;
/// the run ends by itself when idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_plain_and_aggregated_then_consume_in_order() {
    let stream = unique("order");
    create_stream(&client(), &stream, 2).await;
    let plain = records("p", 7, 60);
    let report = producer(&stream, false).put(plain.clone()).await.unwrap();
    assert_eq!((report.user_records, report.kinesis_records), (60, 60));
    let agg = records("a", 7, 70);
    let report_agg = producer(&stream, true).put(agg.clone()).await.unwrap();
    assert_eq!(report_agg.user_records, 70);
    assert_eq!(
        report_agg.kinesis_records, 7,
        "one KPL record per partition key"
    );

    let handler = Arc::new(Collector::default());
    let summary = consume(
        &stream,
        Arc::new(MemoryStore::new()),
        handler.clone(),
        options(),
    )
    .await;
    assert_eq!(summary.records, 67);
    assert_eq!(summary.records as usize, handler.records());
    assert_eq!(summary.shards_finished, 0);
    assert_eq!(by_key(&handler.user_records()), expected(&[&plain, &agg]));
    // Both shards were read, each batch from one shard in sequence order.
    let shards: std::collections::HashSet<String> = handler
        .batches()
        .iter()
        .map(|b| b.shard_id.clone())
        .collect();
    assert_eq!(shards.len(), 2);
    for b in handler.batches() {
        assert_eq!(b.stream, stream);
        assert!(
            b.records
                .iter()
                .all(|r| r.approximate_arrival_millis.is_some())
        );
    }
}

/// A second run resumes after the checkpoints: only the new records come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_resume_with_only_new_records() {
    let stream = unique("resume");
    create_stream(&client(), &stream, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap());
    let first = records("x", 5, 20);
    producer(&stream, false).put(first.clone()).await.unwrap();
    let h1 = Arc::new(Collector::default());
    let s1 = consume(&stream, store.clone(), h1.clone(), options()).await;
    assert_eq!(s1.records, 20);
    assert_eq!(by_key(&h1.user_records()), expected(&[&first]));
    // Every batch's last record is the checkpoint of its shard.
    let mut last: HashMap<String, String> = HashMap::new();
    for b in h1.batches() {
        last.insert(
            b.shard_id.clone(),
            b.records.last().unwrap().sequence_number.clone(),
        );
    }
    for (shard, seq) in &last {
        assert_eq!(
            store.get_checkpoint(&stream, shard).await.unwrap().as_ref(),
            Some(seq)
        );
    }

    let second = records("y", 5, 10);
    producer(&stream, false).put(second.clone()).await.unwrap();
    // Even with LATEST configured, a checkpointed shard resumes after its checkpoint.
    let h2 = Arc::new(Collector::default());
    let opts = ConsumerOptions {
        start: StartPosition::Latest,
        ..options()
    };
    let s2 = consume(&stream, store.clone(), h2.clone(), opts).await;
    assert_eq!(s2.records, 10);
    assert_eq!(by_key(&h2.user_records()), expected(&[&second]));
}

/// A refused batch comes again, the same records, and nothing is checkpointed until
/// the handler accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_redeliver_the_same_records() {
    let stream = unique("refuse");
    create_stream(&client(), &stream, 1).await;
    let recs = records("r", 3, 12);
    producer(&stream, false).put(recs.clone()).await.unwrap();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());

    // A handler that always refuses: stop it after a few attempts; no checkpoint.
    let refusing = Arc::new(Collector::refusing(u32::MAX));
    let consumer = Consumer::new(client(), &stream, store.clone(), options());
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn({
        let h = refusing.clone();
        async move { consumer.run(h, rx).await }
    });
    while refusing.calls.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.send(true).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.records, 0);
    let shard = "shardId-000000000000";
    assert_eq!(store.get_checkpoint(&stream, shard).await.unwrap(), None);

    // Refuses twice, then accepts: the accepted batch is the very first one.
    let h = Arc::new(Collector::refusing(2));
    let summary = consume(&stream, store.clone(), h.clone(), options()).await;
    assert_eq!(h.calls.load(Ordering::SeqCst) as u64, summary.batches + 2);
    assert_eq!(summary.records, 12);
    let batches = h.batches();
    assert_eq!(batches[0].records[0].data, b"r000");
    assert_eq!(by_key(&h.user_records()), expected(&[&recs]));
    let last = batches.last().unwrap().records.last().unwrap();
    assert_eq!(
        store
            .get_checkpoint(&stream, shard)
            .await
            .unwrap()
            .as_deref(),
        Some(last.sequence_number.as_str())
    );
}

/// Produce, SplitShard, produce more: a consumer run before the split and one after
/// get every record once, per key in order; the parent is finished durably and not
/// read again.
///
/// On AWS the records put after the split are in the children, read once the parent
/// is finished. moto keeps routing puts to the closed parent (its children stay
/// empty) and grows the parent's ending sequence number with them, so a consumer
/// running across the split could finish the parent before moto's late records land
/// in it: the test stops the consumer around the split, which is the same on AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_shard_in_the_middle() {
    let stream = unique("split");
    let c = client();
    create_stream(&c, &stream, 1).await;
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let before = records("b", 6, 30);
    producer(&stream, false).put(before.clone()).await.unwrap();
    let h1 = Arc::new(Collector::default());
    let s1 = consume(&stream, store.clone(), h1.clone(), options()).await;
    assert_eq!(s1.records, 30);
    assert_eq!(by_key(&h1.user_records()), expected(&[&before]));

    let parent = "shardId-000000000000";
    c.split_shard()
        .stream_name(&stream)
        .shard_to_split(parent)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    let after = records("a", 6, 30);
    producer(&stream, false).put(after.clone()).await.unwrap();

    let h2 = Arc::new(Collector::default());
    let s2 = consume(&stream, store.clone(), h2.clone(), options()).await;
    assert_eq!(s2.shards_finished, 1);
    assert!(store.is_shard_finished(&stream, parent).await.unwrap());
    assert_eq!(by_key(&h2.user_records()), expected(&[&after]));
    // The parent's batches all came before any child's.
    let batches = h2.batches();
    if let Some(first_child) = batches.iter().position(|b| b.shard_id != parent) {
        assert!(batches[first_child..].iter().all(|b| b.shard_id != parent));
    }

    // A restart does not read the finished parent again, and has nothing new.
    let h3 = Arc::new(Collector::default());
    let s3 = consume(&stream, store.clone(), h3.clone(), options()).await;
    assert_eq!(s3, ConsumeSummary::default());
}

/// A consumer started after a split reads the (closed) parent first, then the
/// children, and finishes the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_before_the_first_run() {
    let stream = unique("split-cold");
    let c = client();
    create_stream(&c, &stream, 1).await;
    let before = records("b", 4, 16);
    producer(&stream, false).put(before.clone()).await.unwrap();
    c.split_shard()
        .stream_name(&stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    let after = records("a", 4, 16);
    producer(&stream, false).put(after.clone()).await.unwrap();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let h = Arc::new(Collector::default());
    let s = consume(&stream, store.clone(), h.clone(), options()).await;
    assert_eq!(s.shards_finished, 1);
    assert_eq!(by_key(&h.user_records()), expected(&[&before, &after]));
}

/// AT_TIMESTAMP starts at the first record at or after the time; LATEST only sees
/// records put after the consumer started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_and_latest_starts() {
    let stream = unique("start");
    create_stream(&client(), &stream, 1).await;
    let old = records("o", 2, 6);
    producer(&stream, false).put(old).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = records("n", 2, 6);
    producer(&stream, false).put(new.clone()).await.unwrap();

    let h = Arc::new(Collector::default());
    let opts = ConsumerOptions {
        start: StartPosition::AtTimestamp(t),
        ..options()
    };
    consume(&stream, Arc::new(MemoryStore::new()), h.clone(), opts).await;
    assert_eq!(by_key(&h.user_records()), expected(&[&new]));

    // LATEST: start, let it take its iterators, then put.
    let h = Arc::new(Collector::default());
    let consumer = Consumer::new(
        client(),
        &stream,
        Arc::new(MemoryStore::new()),
        ConsumerOptions {
            start: StartPosition::Latest,
            exit_when_idle: None,
            ..options()
        },
    );
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn({
        let h = h.clone();
        async move { consumer.run(h, rx).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let latest = records("l", 2, 4);
    producer(&stream, false).put(latest.clone()).await.unwrap();
    for _ in 0..200 {
        if h.records() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.send(true).unwrap();
    let s = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(s.records, 4);
    assert_eq!(by_key(&h.user_records()), expected(&[&latest]));
}

/// A shutdown while the handler works on a batch lets it finish and checkpoints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_checkpoints_the_batch_in_hand() {
    let stream = unique("shutdown");
    create_stream(&client(), &stream, 1).await;
    producer(&stream, false)
        .put(records("s", 2, 10))
        .await
        .unwrap();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let h = Arc::new(Collector {
        delay: Duration::from_millis(700),
        ..Collector::default()
    });
    let consumer = Consumer::new(
        client(),
        &stream,
        store.clone(),
        ConsumerOptions {
            limit: 4,
            exit_when_idle: None,
            ..options()
        },
    );
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn({
        let h = h.clone();
        async move { consumer.run(h, rx).await }
    });
    tokio::time::timeout(Duration::from_secs(30), h.entered.notified())
        .await
        .unwrap();
    tx.send(true).unwrap();
    let s = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((s.batches, s.records), (1, 4));
    let batches = h.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        store
            .get_checkpoint(&stream, "shardId-000000000000")
            .await
            .unwrap()
            .as_deref(),
        Some(batches[0].records[3].sequence_number.as_str())
    );
}

/// An empty stream: the run returns once idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_idle_on_an_empty_stream() {
    let stream = unique("idle");
    create_stream(&client(), &stream, 3).await;
    let started = std::time::Instant::now();
    let h = Arc::new(Collector::default());
    let s = consume(&stream, Arc::new(MemoryStore::new()), h, options()).await;
    assert_eq!(s, ConsumeSummary::default());
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A missing stream is an error, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_is_an_error() {
    let consumer = Consumer::new(
        client(),
        unique("missing"),
        Arc::new(MemoryStore::new()),
        options(),
    );
    let (_tx, rx) = watch::channel(false);
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        consumer.run(Arc::new(Collector::default()), rx),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err}");
    assert!(!err.is_retryable());
}
