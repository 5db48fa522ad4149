//! [`Producer`]: PutRecords in bounded batches, re-sending what failed, in order per
//! partition key.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use iot_crr_kpl::{
    AggregateError, Aggregator, DEFAULT_MAX_RECORD_SIZE, KINESIS_MAX_RECORD_SIZE,
    MAX_PARTITION_KEY_CHARS,
};
use iot_crr_registry::{ErrorClass, RetryPolicy};

use crate::KinesisError;
use crate::error::classify_code;

/// Most records in one PutRecords request.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;

/// Most bytes in one PutRecords request: 5 MiB of data plus partition keys.
pub const MAX_BYTES_PER_REQUEST: usize = 5 * 1024 * 1024;

/// One record to put: its partition key decides its shard (and so its order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord {
    /// The partition key: 1 to 256 characters. Records of one key land in one shard,
    /// in the order given.
    pub partition_key: String,
    /// The data. With the partition key, at most 1 MiB.
    pub data: Vec<u8>,
}

impl OutRecord {
    /// A record.
    pub fn new(partition_key: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        OutRecord {
            partition_key: partition_key.into(),
            data: data.into(),
        }
    }
}

/// What one [`Producer::put`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutReport {
    /// User records given (and written).
    pub user_records: usize,
    /// Kinesis records written (fewer than user records when KPL-aggregated).
    pub kinesis_records: usize,
    /// PutRecords requests made, retries included.
    pub requests: usize,
    /// Kinesis records re-sent because PutRecords refused them (throttled, internal
    /// failure) or the whole request failed.
    pub retried: usize,
    /// Kinesis records re-sent although they had been written, because an earlier
    /// record of their partition key in the same request failed: they are in the
    /// stream twice (see [`Producer`] on ordering).
    pub duplicated: usize,
}

/// How a [`Producer`] sends.
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Aggregate user records into KPL records (default false). Only records of one
    /// partition key share a KPL record, whose partition key is theirs: see
    /// [`Producer`].
    pub aggregate: bool,
    /// Size bound of a KPL record, data plus partition key (default
    /// [`DEFAULT_MAX_RECORD_SIZE`], 1 KiB under the Kinesis limit).
    pub max_aggregate_size: usize,
    /// Attempts per record and back-off between them (default: 6 attempts, from
    /// 200 ms, 500 ms after a throttle, up to 20 s). A whole request that fails
    /// (throttled, HTTP 5xx, connection lost, timed out) counts as an attempt of its
    /// records too.
    pub retry: RetryPolicy,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            aggregate: false,
            max_aggregate_size: DEFAULT_MAX_RECORD_SIZE,
            retry: RetryPolicy::default(),
        }
    }
}

/// Puts records into one stream with PutRecords.
///
/// * **Batches**: at most [`MAX_RECORDS_PER_REQUEST`] records and
///   [`MAX_BYTES_PER_REQUEST`] (data plus partition keys) per request, one request at a
///   time, in the order given. Each record (data plus partition key) must be at most
///   1 MiB and its key 1 to 256 characters: a record that is not is refused before
///   anything is sent ([`KinesisError::InvalidRecord`]).
/// * **Retries**: a record PutRecords refuses with `ProvisionedThroughputExceededException`
///   or `InternalFailure` is re-sent after an exponential back-off with jitter, up to
///   [`ProducerOptions::retry`] attempts; a whole request that fails with a retryable
///   error (throttled, 5xx, connection, timeout) is re-sent the same way. A record
///   still refused at the end, or refused with another code, fails the call with
///   [`KinesisError::RecordFailed`] naming it; records before it may have been written.
/// * **Order per partition key**: PutRecords writes the records of a request that
///   succeed even when an earlier one failed, so a later record of the same key may
///   already be in the stream before the failed one. The producer then re-sends the
///   failed record *and every later record of its key in that request*, in order,
///   before anything that follows: in the stream, the last copy of each record of a key
///   comes after the last copy of the records before it. Those later records are in
///   the stream twice ([`PutReport::duplicated`]); the event path is at-least-once and
///   its applier idempotent, so the repeats are harmless, and the final state follows
///   the order given.
/// * **KPL aggregation** ([`ProducerOptions::aggregate`]): the user records of *one*
///   partition key are packed, in order, into KPL records bounded by
///   [`ProducerOptions::max_aggregate_size`], whose own partition key is that key. All
///   records of a key therefore land in the shard the key hashes to, in order, exactly
///   as without aggregation, and a consumer may mix aggregated and plain records. A key
///   with a single record in the call is sent plain. The price: records of different
///   keys never share a KPL record, so aggregation only helps when keys repeat.
#[derive(Clone)]
pub struct Producer {
    api: Arc<dyn PutRecordsApi>,
    stream: String,
    options: ProducerOptions,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("stream", &self.stream)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer putting into `stream` through `client`.
    pub fn new(client: Client, stream: impl Into<String>, options: ProducerOptions) -> Self {
        Producer {
            api: Arc::new(SdkPutRecords(client)),
            stream: stream.into(),
            options,
        }
    }

    #[cfg(test)]
    fn with_api(api: Arc<dyn PutRecordsApi>, options: ProducerOptions) -> Self {
        Producer {
            api,
            stream: "test".into(),
            options,
        }
    }

    /// The stream name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Puts `records`, in order per partition key: see [`Producer`] for batching,
    /// retries and ordering. Returns when every record is written.
    pub async fn put(&self, records: Vec<OutRecord>) -> Result<PutReport, KinesisError> {
        let user_records = records.len();
        let entries = if self.options.aggregate {
            aggregate_entries(records, self.options.max_aggregate_size)?
        } else {
            plain_entries(records)?
        };
        let mut report = send_all(&*self.api, &self.stream, entries, &self.options.retry).await?;
        report.user_records = user_records;
        Ok(report)
    }
}

/// One Kinesis record to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) partition_key: String,
    pub(crate) data: Vec<u8>,
    /// Index of its (first) user record in the call.
    pub(crate) index: usize,
    pub(crate) user_records: usize,
    /// How many times PutRecords refused it (or its whole request failed).
    pub(crate) failures: u32,
}

impl Entry {
    fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// The outcome of one record of a PutRecords request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Written,
    Refused { code: String, message: String },
}

/// The PutRecords call, behind a trait so that partial failures can be tested.
#[async_trait]
pub(crate) trait PutRecordsApi: Send + Sync {
    /// One PutRecords request; one outcome per entry, in order.
    async fn put_records(
        &self,
        stream: &str,
        entries: &[Entry],
    ) -> Result<Vec<Outcome>, KinesisError>;
}

struct SdkPutRecords(Client);

#[async_trait]
impl PutRecordsApi for SdkPutRecords {
    async fn put_records(
        &self,
        stream: &str,
        entries: &[Entry],
    ) -> Result<Vec<Outcome>, KinesisError> {
        let mut req = self.0.put_records().stream_name(stream);
        for e in entries {
            let entry = PutRecordsRequestEntry::builder()
                .partition_key(&e.partition_key)
                .data(Blob::new(e.data.clone()))
                .build()
                .map_err(|err| KinesisError::Api {
                    api: "PutRecords",
                    class: ErrorClass::Other,
                    code: None,
                    status: None,
                    message: format!("cannot build the request: {err}"),
                })?;
            req = req.records(entry);
        }
        let out = req
            .send()
            .await
            .map_err(|e| KinesisError::from_sdk("PutRecords", e))?;
        Ok(out
            .records()
            .iter()
            .map(|r| match r.error_code() {
                None => Outcome::Written,
                Some(code) => Outcome::Refused {
                    code: code.to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}

fn check_key(index: usize, key: &str) -> Result<(), KinesisError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
        return Err(KinesisError::InvalidRecord {
            index,
            partition_key: key.to_owned(),
            reason: format!(
                "the partition key has {chars} characters, Kinesis needs 1 to {MAX_PARTITION_KEY_CHARS}"
            ),
        });
    }
    Ok(())
}

/// One entry per record, checked against the Kinesis limits.
pub(crate) fn plain_entries(records: Vec<OutRecord>) -> Result<Vec<Entry>, KinesisError> {
    records
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            check_key(index, &r.partition_key)?;
            let size = r.data.len() + r.partition_key.len();
            if size > KINESIS_MAX_RECORD_SIZE {
                return Err(KinesisError::InvalidRecord {
                    index,
                    partition_key: r.partition_key,
                    reason: format!(
                        "{size} bytes of data plus partition key, Kinesis allows at most {KINESIS_MAX_RECORD_SIZE}"
                    ),
                });
            }
            Ok(Entry {
                partition_key: r.partition_key,
                data: r.data,
                index,
                user_records: 1,
                failures: 0,
            })
        })
        .collect()
}

/// KPL records, each of the user records of one partition key (in order); a key's
/// lone record is sent plain.
pub(crate) fn aggregate_entries(
    records: Vec<OutRecord>,
    max_size: usize,
) -> Result<Vec<Entry>, KinesisError> {
    let invalid = |index: usize, key: &str, e: AggregateError| KinesisError::InvalidRecord {
        index,
        partition_key: key.to_owned(),
        reason: e.to_string(),
    };
    // Per key: its aggregator and the index of the first user record waiting in it,
    // in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut open: HashMap<String, (Aggregator, usize)> = HashMap::new();
    let mut out = Vec::new();
    let entry = |rec: iot_crr_kpl::KinesisRecord, index: usize| Entry {
        partition_key: rec.partition_key,
        data: rec.data,
        index,
        user_records: rec.user_records,
        failures: 0,
    };
    for (index, r) in records.into_iter().enumerate() {
        check_key(index, &r.partition_key)?;
        let slot = match open.get_mut(&r.partition_key) {
            Some(slot) => slot,
            None => {
                let agg = Aggregator::with_max_size(max_size)
                    .map_err(|e| invalid(index, &r.partition_key, e))?
                    .plain_when_single(true);
                order.push(r.partition_key.clone());
                open.entry(r.partition_key.clone()).or_insert((agg, index))
            }
        };
        if slot.0.is_empty() {
            slot.1 = index;
        }
        let first = slot.1;
        match slot.0.add(&r.partition_key, None, &r.data) {
            Ok(Some(done)) => {
                out.push(entry(done, first));
                slot.1 = index;
            }
            Ok(None) => {}
            Err(e) => return Err(invalid(index, &r.partition_key, e)),
        }
    }
    for key in order {
        if let Some((mut agg, first)) = open.remove(&key)
            && let Some(done) = agg.finish()
        {
            out.push(entry(done, first));
        }
    }
    Ok(out)
}

/// Takes the next request's entries from the front of `queue`: at most
/// [`MAX_RECORDS_PER_REQUEST`] and [`MAX_BYTES_PER_REQUEST`], at least one.
pub(crate) fn take_batch(queue: &mut VecDeque<Entry>) -> Vec<Entry> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    while let Some(next) = queue.front() {
        if batch.len() == MAX_RECORDS_PER_REQUEST
            || (!batch.is_empty() && bytes + next.size() > MAX_BYTES_PER_REQUEST)
        {
            break;
        }
        bytes += next.size();
        batch.extend(queue.pop_front());
    }
    batch
}

fn refused(entry: &Entry, code: String, message: String) -> KinesisError {
    KinesisError::RecordFailed {
        index: entry.index,
        partition_key: entry.partition_key.clone(),
        user_records: entry.user_records,
        code,
        message,
        attempts: entry.failures,
    }
}

/// Sends `entries` in order: see [`Producer`].
pub(crate) async fn send_all(
    api: &dyn PutRecordsApi,
    stream: &str,
    entries: Vec<Entry>,
    retry: &RetryPolicy,
) -> Result<PutReport, KinesisError> {
    let attempts = retry.attempts();
    let mut report = PutReport::default();
    let mut queue: VecDeque<Entry> = entries.into();
    while !queue.is_empty() {
        let mut batch = take_batch(&mut queue);
        report.requests += 1;
        let outcomes = match api.put_records(stream, &batch).await {
            Ok(o) if o.len() == batch.len() => o,
            Ok(o) => {
                return Err(KinesisError::Api {
                    api: "PutRecords",
                    class: ErrorClass::Other,
                    code: None,
                    status: None,
                    message: format!(
                        "the answer has {} results for {} records",
                        o.len(),
                        batch.len()
                    ),
                });
            }
            Err(e) => {
                let failures = batch.iter().map(|e| e.failures).max().unwrap_or(0) + 1;
                if !e.is_retryable() || failures >= attempts {
                    return Err(e);
                }
                for entry in &mut batch {
                    entry.failures += 1;
                }
                let wait = retry.backoff(e.class(), failures, None);
                tracing::warn!(stream, records = batch.len(), error = %e, ?wait, "PutRecords failed; retrying the request");
                report.retried += batch.len();
                for entry in batch.into_iter().rev() {
                    queue.push_front(entry);
                }
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        // Re-send what was refused and, to keep the order per key, every later record
        // of a key that had a refusal in this request.
        let mut failed_keys: HashSet<String> = HashSet::new();
        let mut again: Vec<Entry> = Vec::new();
        let mut worst = (ErrorClass::Transient, 0u32);
        for (mut entry, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Written if failed_keys.contains(&entry.partition_key) => {
                    report.duplicated += 1;
                    again.push(entry);
                }
                Outcome::Written => report.kinesis_records += 1,
                Outcome::Refused { code, message } => {
                    entry.failures += 1;
                    let class = classify_code(Some(&code), None);
                    if !class.is_retryable() || entry.failures >= attempts {
                        return Err(refused(&entry, code, message));
                    }
                    if class == ErrorClass::Throttled {
                        worst.0 = ErrorClass::Throttled;
                    }
                    worst.1 = worst.1.max(entry.failures);
                    report.retried += 1;
                    failed_keys.insert(entry.partition_key.clone());
                    again.push(entry);
                }
            }
        }
        if !again.is_empty() {
            let wait = retry.backoff(worst.0, worst.1, None);
            tracing::debug!(
                stream,
                refused = again.len() - failed_keys.len().min(again.len()),
                resent = again.len(),
                ?wait,
                "PutRecords refused some records; re-sending them"
            );
            for entry in again.into_iter().rev() {
                queue.push_front(entry);
            }
            tokio::time::sleep(wait).await;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn rec(key: &str, data: &str) -> OutRecord {
        OutRecord::new(key, data.as_bytes())
    }

    fn entry(key: &str, size: usize, index: usize) -> Entry {
        Entry {
            partition_key: key.into(),
            data: vec![0; size - key.len()],
            index,
            user_records: 1,
            failures: 0,
        }
    }

    #[test]
    fn batches_hold_at_most_500_records() {
        let mut q: VecDeque<Entry> = (0..1201).map(|i| entry("k", 10, i)).collect();
        let sizes: Vec<usize> =
            std::iter::from_fn(|| (!q.is_empty()).then(|| take_batch(&mut q).len())).collect();
        assert_eq!(sizes, vec![500, 500, 201]);
    }

    #[test]
    fn batches_hold_at_most_5_mib() {
        // 1 MiB records: five fit exactly, the sixth starts the next request.
        let mib = 1024 * 1024;
        let mut q: VecDeque<Entry> = (0..11).map(|i| entry("k", mib, i)).collect();
        let b = take_batch(&mut q);
        assert_eq!(b.len(), 5);
        assert_eq!(
            b.iter().map(Entry::size).sum::<usize>(),
            MAX_BYTES_PER_REQUEST
        );
        assert_eq!(take_batch(&mut q).len(), 5);
        let last = take_batch(&mut q);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].index, 10);
        // Small records after a large one fill up to the bound, in order.
        let mut q: VecDeque<Entry> = [
            entry("a", 5 * mib - 100, 0),
            entry("b", 50, 1),
            entry("c", 60, 2),
        ]
        .into_iter()
        .collect();
        let b = take_batch(&mut q);
        assert_eq!(b.iter().map(|e| e.index).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn invalid_records_are_refused_before_sending() {
        let big = OutRecord::new("k", vec![0u8; KINESIS_MAX_RECORD_SIZE]);
        let err = plain_entries(vec![rec("a", "x"), big]).unwrap_err();
        assert!(
            matches!(err, KinesisError::InvalidRecord { index: 1, .. }),
            "{err}"
        );
        let err = plain_entries(vec![rec("", "x")]).unwrap_err();
        assert!(err.to_string().contains("record 0"), "{err}");
        let err = plain_entries(vec![rec(&"é".repeat(257), "x")]).unwrap_err();
        assert!(err.to_string().contains("257 characters"), "{err}");
        assert!(plain_entries(vec![rec(&"é".repeat(256), "x")]).is_ok());
        let err = aggregate_entries(vec![rec("a", "x"), rec("", "y")], DEFAULT_MAX_RECORD_SIZE)
            .unwrap_err();
        assert!(
            matches!(err, KinesisError::InvalidRecord { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn aggregation_packs_one_key_per_kpl_record_in_order() {
        let records = vec![
            rec("a", "a0"),
            rec("b", "b0"),
            rec("a", "a1"),
            rec("c", "c0"),
            rec("a", "a2"),
            rec("b", "b1"),
        ];
        let entries = aggregate_entries(records, DEFAULT_MAX_RECORD_SIZE).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.partition_key.as_str()).collect();
        assert_eq!(keys, vec!["a", "b", "c"]);
        let a = iot_crr_kpl::deaggregate(&entries[0].data, "a").unwrap();
        assert_eq!(
            a.iter().map(|u| u.data.as_slice()).collect::<Vec<_>>(),
            vec![b"a0".as_slice(), b"a1", b"a2"]
        );
        assert!(a.iter().all(|u| u.partition_key == "a"));
        assert_eq!((entries[0].index, entries[0].user_records), (0, 3));
        assert_eq!((entries[1].index, entries[1].user_records), (1, 2));
        // A lone record goes plain.
        assert_eq!(entries[2].data, b"c0");
        assert!(!iot_crr_kpl::is_aggregated(&entries[2].data));
    }

    #[test]
    fn aggregation_splits_full_records_keeping_order() {
        let records: Vec<OutRecord> = (0..50)
            .map(|i| OutRecord::new("k", format!("{i:04}-{}", "x".repeat(95))))
            .collect();
        let entries = aggregate_entries(records, 1024).unwrap();
        assert!(entries.len() > 5);
        let mut seen = Vec::new();
        let mut next_index = 0;
        for e in &entries {
            assert!(e.size() <= 1024);
            assert_eq!(e.index, next_index);
            next_index += e.user_records;
            for u in iot_crr_kpl::deaggregate(&e.data, &e.partition_key).unwrap() {
                seen.push(String::from_utf8(u.data).unwrap()[..4].to_string());
            }
        }
        let want: Vec<String> = (0..50).map(|i| format!("{i:04}")).collect();
        assert_eq!(seen, want);
    }

    /// A fake PutRecords: refuses given (data, attempt) pairs, records what landed.
    struct Fake {
        /// Data refused on the first `n` sends: (data, n, code).
        refuse: Vec<(&'static str, u32, &'static str)>,
        /// Whole-request failures to answer first.
        request_failures: Mutex<u32>,
        sends: Mutex<HashMap<String, u32>>,
        stream: Mutex<Vec<(String, String)>>,
        requests: Mutex<Vec<Vec<String>>>,
    }

    impl Fake {
        fn new(refuse: Vec<(&'static str, u32, &'static str)>) -> Self {
            Fake {
                refuse,
                request_failures: Mutex::new(0),
                sends: Mutex::default(),
                stream: Mutex::default(),
                requests: Mutex::default(),
            }
        }

        fn landed(&self) -> Vec<(String, String)> {
            self.stream.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl PutRecordsApi for Fake {
        async fn put_records(
            &self,
            _stream: &str,
            entries: &[Entry],
        ) -> Result<Vec<Outcome>, KinesisError> {
            self.requests.lock().unwrap().push(
                entries
                    .iter()
                    .map(|e| String::from_utf8_lossy(&e.data).into_owned())
                    .collect(),
            );
            {
                let mut f = self.request_failures.lock().unwrap();
                if *f > 0 {
                    *f -= 1;
                    return Err(KinesisError::Api {
                        api: "PutRecords",
                        class: ErrorClass::Transient,
                        code: None,
                        status: Some(503),
                        message: "unavailable".into(),
                    });
                }
            }
            let mut out = Vec::new();
            for e in entries {
                let data = String::from_utf8_lossy(&e.data).into_owned();
                let n = {
                    let mut sends = self.sends.lock().unwrap();
                    let n = sends.entry(data.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                match self.refuse.iter().find(|(d, _, _)| *d == data) {
                    Some((_, times, code)) if n <= *times => out.push(Outcome::Refused {
                        code: (*code).into(),
                        message: format!("refused {data}"),
                    }),
                    _ => {
                        self.stream
                            .lock()
                            .unwrap()
                            .push((e.partition_key.clone(), data));
                        out.push(Outcome::Written);
                    }
                }
            }
            Ok(out)
        }
    }

    fn producer(fake: Arc<Fake>, attempts: u32) -> Producer {
        Producer::with_api(
            fake,
            ProducerOptions {
                retry: RetryPolicy::fast(attempts),
                ..ProducerOptions::default()
            },
        )
    }

    /// For each key, the order of the last copy of each record in the stream.
    fn last_copies(landed: &[(String, String)], key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, d) in landed {
            if k == key {
                out.retain(|x| x != d);
                out.push(d.clone());
            }
        }
        out
    }

    #[tokio::test]
    async fn partial_failure_resends_the_failed_record_and_later_ones_of_its_key() {
        let fake = Arc::new(Fake::new(vec![
            ("a1", 1, "ProvisionedThroughputExceededException"),
            ("b0", 2, "InternalFailure"),
        ]));
        let p = producer(fake.clone(), 5);
        let records = vec![
            rec("a", "a0"),
            rec("b", "b0"),
            rec("a", "a1"),
            rec("c", "c0"),
            rec("a", "a2"),
            rec("b", "b1"),
            rec("a", "a3"),
        ];
        let report = p.put(records).await.unwrap();
        let landed = fake.landed();
        assert_eq!(last_copies(&landed, "a"), vec!["a0", "a1", "a2", "a3"]);
        assert_eq!(last_copies(&landed, "b"), vec!["b0", "b1"]);
        assert_eq!(last_copies(&landed, "c"), vec!["c0"]);
        // c0 and a0 were never re-sent; a2, a3 and b1 were written early and again.
        let count = |d: &str| landed.iter().filter(|(_, x)| x == d).count();
        assert_eq!((count("a0"), count("c0")), (1, 1));
        assert_eq!((count("a2"), count("a3"), count("b1")), (2, 2, 3));
        let requests = fake.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        // The second request re-sends in the original order, failed keys only.
        assert_eq!(requests[1], vec!["b0", "a1", "a2", "b1", "a3"]);
        assert_eq!(requests[2], vec!["b0", "b1"]);
        assert_eq!(report.user_records, 7);
        assert_eq!(report.requests, 3);
        assert_eq!(report.retried, 3);
        assert_eq!(report.duplicated, 4);
    }

    #[tokio::test]
    async fn resent_records_go_before_later_batches() {
        // 600 records of one key: the first request is 500, one of them refused once.
        let fake = Arc::new(Fake::new(vec![("r0100", 1, "InternalFailure")]));
        let p = producer(fake.clone(), 3);
        let records: Vec<OutRecord> = (0..600).map(|i| rec("k", &format!("r{i:04}"))).collect();
        p.put(records).await.unwrap();
        let want: Vec<String> = (0..600).map(|i| format!("r{i:04}")).collect();
        assert_eq!(last_copies(&fake.landed(), "k"), want);
        let requests = fake.requests.lock().unwrap().clone();
        assert_eq!(requests[0].len(), 500);
        assert_eq!(requests[1][0], "r0100");
        assert_eq!(requests[1].len(), 500);
    }

    #[tokio::test]
    async fn a_record_failing_every_attempt_is_named() {
        let fake = Arc::new(Fake::new(vec![(
            "b0",
            99,
            "ProvisionedThroughputExceededException",
        )]));
        let p = producer(fake, 3);
        let err = p
            .put(vec![rec("a", "a0"), rec("b", "b0")])
            .await
            .unwrap_err();
        match &err {
            KinesisError::RecordFailed {
                index,
                partition_key,
                attempts,
                code,
                ..
            } => {
                assert_eq!((*index, partition_key.as_str(), *attempts), (1, "b", 3));
                assert_eq!(code, "ProvisionedThroughputExceededException");
            }
            other => panic!("{other}"),
        }
    }

    #[tokio::test]
    async fn a_refusal_that_is_not_retryable_fails_at_once() {
        let fake = Arc::new(Fake::new(vec![("a0", 99, "KMSAccessDeniedException")]));
        let p = producer(fake.clone(), 5);
        let err = p.put(vec![rec("a", "a0")]).await.unwrap_err();
        assert!(
            matches!(err, KinesisError::RecordFailed { attempts: 1, .. }),
            "{err}"
        );
        assert_eq!(fake.requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn whole_request_failures_are_retried_then_reported() {
        let fake = Arc::new(Fake::new(vec![]));
        *fake.request_failures.lock().unwrap() = 2;
        let p = producer(fake.clone(), 3);
        let report = p.put(vec![rec("a", "a0"), rec("a", "a1")]).await.unwrap();
        assert_eq!(report.requests, 3);
        assert_eq!(last_copies(&fake.landed(), "a"), vec!["a0", "a1"]);

        let fake = Arc::new(Fake::new(vec![]));
        *fake.request_failures.lock().unwrap() = 5;
        let p = producer(fake.clone(), 3);
        let err = p.put(vec![rec("a", "a0")]).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert_eq!(fake.requests.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn aggregated_records_keep_their_order_through_failures() {
        let fake = Arc::new(Fake::new(vec![]));
        let p = Producer::with_api(
            fake.clone(),
            ProducerOptions {
                aggregate: true,
                retry: RetryPolicy::fast(3),
                ..ProducerOptions::default()
            },
        );
        let records = vec![rec("a", "a0"), rec("b", "b0"), rec("a", "a1")];
        let report = p.put(records).await.unwrap();
        assert_eq!(
            (report.user_records, report.kinesis_records, report.requests),
            (3, 2, 1)
        );
    }
}
