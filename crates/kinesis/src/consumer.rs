//! [`Consumer`]: reads every shard of a stream in lineage order, hands batches to a
//! [`Handler`], checkpoints what the handler accepted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_smithy_types::DateTime;
use iot_crr_registry::{ErrorClass, RetryPolicy};
use iot_crr_state::{StateStore, compare_sequence_numbers};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::KinesisError;
use crate::shards::{ShardInfo, ShardStart, StartPosition, shard_start, startable_shards};

/// Most records one GetRecords may return.
pub const MAX_GET_RECORDS_LIMIT: i32 = 10_000;

/// One Kinesis record as read (a KPL aggregated record is one record here: the
/// handler de-aggregates it with `iot_crr_kpl::deaggregate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number (decimal digits; unique and increasing within a shard).
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
    /// When Kinesis received it, in milliseconds since the Unix epoch.
    pub approximate_arrival_millis: Option<i64>,
}

/// Consecutive records of one shard, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The stream name.
    pub stream: String,
    /// The shard they come from.
    pub shard_id: String,
    /// The records, in shard order; never empty.
    pub records: Vec<Record>,
    /// How far behind the newest record of the shard this batch is, when Kinesis said
    /// (0: caught up).
    pub millis_behind_latest: Option<i64>,
}

/// A handler's error: anything, logged with the batch it refused.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`Consumer`] hands batches to.
///
/// The batches of one shard come strictly in order, one at a time; batches of
/// different shards may be handled concurrently. When [`Handler::handle`] returns
/// `Ok`, the consumer checkpoints the shard at the batch's last record and moves on;
/// when it returns `Err`, nothing is checkpointed and the *same* batch is handed
/// again after a back-off, until it succeeds (or the consumer is shut down: the batch
/// then comes again on the next run). Delivery is at least once: after a crash
/// between the handler's success and the checkpoint, a batch comes again.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Handles one batch.
    async fn handle(&self, batch: &Batch) -> Result<(), HandlerError>;
}

/// How a [`Consumer`] reads.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Where shards without a checkpoint start (default [`StartPosition::TrimHorizon`]).
    /// A shard with a checkpoint always resumes just after it, and a shard whose parent
    /// this consumer read starts at `TRIM_HORIZON` (see [`shard_start`]).
    pub start: StartPosition,
    /// Most records per GetRecords, 1 to [`MAX_GET_RECORDS_LIMIT`] (default 1000).
    pub limit: i32,
    /// Least time between two GetRecords calls on one shard (default 200 ms: Kinesis
    /// allows 5 per second per shard); a shard with no new records is polled at this
    /// pace.
    pub poll_interval: Duration,
    /// How often the shards are listed again to follow reshards (default 5 s; at once
    /// when a shard finishes).
    pub relist_interval: Duration,
    /// Return from [`Consumer::run`] once, for this long, no shard delivered a record
    /// and every shard is caught up (`MillisBehindLatest` 0) or finished (default
    /// `None`: run until shut down).
    pub exit_when_idle: Option<Duration>,
    /// Back-off after a throttled or transient Kinesis error (default
    /// [`RetryPolicy::default`]). Such errors are retried for as long as the consumer
    /// runs (its `max_attempts` is not used); other errors end [`Consumer::run`].
    pub retry: RetryPolicy,
    /// Back-off between deliveries of a batch the handler refused (default: from 500 ms
    /// up to 30 s). Retried for as long as the consumer runs.
    pub handler_retry: RetryPolicy,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            start: StartPosition::TrimHorizon,
            limit: 1000,
            poll_interval: Duration::from_millis(200),
            relist_interval: Duration::from_secs(5),
            exit_when_idle: None,
            retry: RetryPolicy::default(),
            handler_retry: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: Duration::from_millis(500),
                throttle_base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                ..RetryPolicy::default()
            },
        }
    }
}

/// What one [`Consumer::run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumeSummary {
    /// Records handled successfully (and checkpointed).
    pub records: u64,
    /// Batches handled successfully.
    pub batches: u64,
    /// Shards read to their end in this run.
    pub shards_finished: u64,
}

/// Reads one stream: every shard, parents before children, each shard's batches in
/// order through a [`Handler`], checkpointing in a [`StateStore`].
///
/// * **Shards**: listed with ListShards (all pages) at start and every
///   [`ConsumerOptions::relist_interval`]. A shard is read once each of its parents is
///   finished or no longer listed ([`startable_shards`]); one task per shard being
///   read.
/// * **Finished shards**: a closed shard is finished when GetRecords returns no next
///   shard iterator (`SHARD_END`), or returns no records from a position at or past
///   its ending sequence number. Its finish is recorded in the store
///   ([`StateStore::finish_shard`]), so that a restart neither reads it again nor
///   holds its children back.
/// * **Reading**: GetRecords with [`ConsumerOptions::limit`], at most one call per
///   [`ConsumerOptions::poll_interval`] per shard. An expired iterator is replaced by
///   one after the last checkpoint; throttled and transient errors are retried with
///   back-off; no record is ever skipped.
/// * **Checkpoints**: after the handler accepted a batch, at its last record. A
///   refused batch is handed again (see [`Handler`]).
/// * **Stopping**: when `shutdown` turns true, each shard task finishes the batch it
///   has in hand (handler call and checkpoint) and stops; a batch the handler is
///   refusing is left unchecked-pointed. With [`ConsumerOptions::exit_when_idle`], the
///   run also ends when idle.
#[derive(Clone)]
pub struct Consumer {
    client: Client,
    stream: String,
    store: Arc<dyn StateStore>,
    options: ConsumerOptions,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.stream)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

enum Event {
    Delivered { records: usize },
    Polled { shard: String, caught_up: bool },
}

enum ShardEnd {
    Finished,
    Stopped,
}

struct Running {
    ending: watch::Sender<Option<String>>,
    caught_up: bool,
}

impl Consumer {
    /// A consumer of `stream` through `client`, keeping checkpoints in `store`.
    pub fn new(
        client: Client,
        stream: impl Into<String>,
        store: Arc<dyn StateStore>,
        options: ConsumerOptions,
    ) -> Self {
        Consumer {
            client,
            stream: stream.into(),
            store,
            options,
        }
    }

    /// The stream name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Lists the stream's shards (every page).
    pub async fn list_shards(&self) -> Result<Vec<ShardInfo>, KinesisError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // AWS refuses StreamName together with NextToken.
            let req = match &token {
                None => self.client.list_shards().stream_name(&self.stream),
                Some(t) => self.client.list_shards().next_token(t),
            };
            let page = req
                .send()
                .await
                .map_err(|e| KinesisError::from_sdk("ListShards", e))?;
            out.extend(page.shards().iter().map(ShardInfo::from));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Marks the newly listed shards that the store knows as finished.
    async fn load_finished(
        &self,
        shards: &[ShardInfo],
        loaded: &mut HashSet<String>,
        finished: &mut HashSet<String>,
    ) -> Result<(), KinesisError> {
        for s in shards {
            if !loaded.contains(&s.shard_id) {
                if self
                    .store
                    .is_shard_finished(&self.stream, &s.shard_id)
                    .await?
                {
                    finished.insert(s.shard_id.clone());
                }
                loaded.insert(s.shard_id.clone());
            }
        }
        Ok(())
    }

    /// A shard's checkpoint and where it starts ([`shard_start`]).
    async fn plan_start(
        &self,
        shard: &ShardInfo,
        finished: &HashSet<String>,
    ) -> Result<(Option<String>, ShardStart), KinesisError> {
        let checkpoint = self
            .store
            .get_checkpoint(&self.stream, &shard.shard_id)
            .await?;
        let mut parent_read = false;
        for p in shard.parents() {
            if finished.contains(p) || self.store.get_checkpoint(&self.stream, p).await?.is_some() {
                parent_read = true;
            }
        }
        let start = shard_start(checkpoint.as_deref(), parent_read, self.options.start);
        Ok((checkpoint, start))
    }

    /// Reads the stream until `shutdown` turns true (or its sender is dropped with
    /// it true), the run is idle ([`ConsumerOptions::exit_when_idle`]), or an error
    /// that is not worth retrying happens (a missing stream, denied access, a state
    /// store failure): see [`Consumer`].
    pub async fn run(
        &self,
        handler: Arc<dyn Handler>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<ConsumeSummary, KinesisError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
        let mut tasks: JoinSet<(String, Result<ShardEnd, KinesisError>)> = JoinSet::new();
        let mut task_shards: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut listing: Vec<ShardInfo> = Vec::new();
        let mut listed_once = false;
        let mut loaded: HashSet<String> = HashSet::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut summary = ConsumeSummary::default();
        let mut last_activity = Instant::now();
        let mut next_list = Instant::now();
        let mut list_failures = 0u32;
        let mut shutdown_open = true;
        let mut fatal: Option<KinesisError> = None;
        let stream = self.stream.as_str();

        'main: loop {
            if *shutdown.borrow() {
                tracing::info!(stream, "shutdown requested");
                break;
            }
            if Instant::now() >= next_list {
                match self.list_shards().await {
                    Ok(shards) => {
                        list_failures = 0;
                        listed_once = true;
                        next_list = Instant::now() + self.options.relist_interval;
                        if let Err(e) = self
                            .load_finished(&shards, &mut loaded, &mut finished)
                            .await
                        {
                            fatal = Some(e);
                            break;
                        }
                        for s in &shards {
                            if let Some(r) = running.get(&s.shard_id) {
                                r.ending.send_if_modified(|e| {
                                    let changed = *e != s.ending_sequence_number;
                                    e.clone_from(&s.ending_sequence_number);
                                    changed
                                });
                            }
                        }
                        listing = shards;
                    }
                    Err(e) if e.is_retryable() => {
                        list_failures += 1;
                        let wait = self.options.retry.backoff(e.class(), list_failures, None);
                        tracing::warn!(stream, error = %e, ?wait, "ListShards failed; retrying");
                        next_list = Instant::now() + wait;
                    }
                    Err(e) => {
                        fatal = Some(e);
                        break;
                    }
                }
            }

            let started: HashSet<String> = running.keys().cloned().collect();
            let ready: Vec<ShardInfo> = startable_shards(&listing, &finished, &started)
                .into_iter()
                .cloned()
                .collect();
            for shard in ready {
                let (checkpoint, start) = match self.plan_start(&shard, &finished).await {
                    Ok(planned) => planned,
                    Err(e) => {
                        fatal = Some(e);
                        break 'main;
                    }
                };
                tracing::info!(stream, shard = %shard.shard_id, ?start, "reading shard");
                let (ending_tx, ending_rx) = watch::channel(shard.ending_sequence_number.clone());
                let task = ShardTask {
                    client: self.client.clone(),
                    stream: self.stream.clone(),
                    store: Arc::clone(&self.store),
                    handler: Arc::clone(&handler),
                    options: self.options.clone(),
                    shard_id: shard.shard_id.clone(),
                    starting_sequence_number: shard.starting_sequence_number.clone(),
                    start,
                    checkpoint,
                    ending: ending_rx,
                    stop: stop_rx.clone(),
                    events: ev_tx.clone(),
                };
                let id = shard.shard_id.clone();
                let handle = tasks.spawn(async move { (id, task.run().await) });
                task_shards.insert(handle.id(), shard.shard_id.clone());
                running.insert(
                    shard.shard_id.clone(),
                    Running {
                        ending: ending_tx,
                        caught_up: false,
                    },
                );
            }

            if let Some(idle) = self.options.exit_when_idle {
                let all_read = listing
                    .iter()
                    .all(|s| finished.contains(&s.shard_id) || running.contains_key(&s.shard_id));
                if listed_once
                    && all_read
                    && last_activity.elapsed() >= idle
                    && running.values().all(|r| r.caught_up)
                {
                    tracing::info!(stream, ?idle, "idle: every shard caught up");
                    break;
                }
            }

            tokio::select! {
                changed = shutdown.changed(), if shutdown_open => {
                    if changed.is_err() {
                        // The sender is gone: its last value stays.
                        shutdown_open = false;
                    }
                }
                Some(ev) = ev_rx.recv() => match ev {
                    Event::Delivered { records } => {
                        summary.records += records as u64;
                        summary.batches += 1;
                        last_activity = Instant::now();
                    }
                    Event::Polled { shard, caught_up } => {
                        if let Some(r) = running.get_mut(&shard) {
                            r.caught_up = caught_up;
                        }
                    }
                },
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let joined = joined.map(|(id, out)| {
                        task_shards.remove(&id);
                        out
                    });
                    if let Some(e) = on_join(stream, joined, &mut task_shards, &mut running, &mut finished, &mut summary) {
                        fatal = Some(e);
                        break 'main;
                    }
                    // A finished shard's children may be listed already, or soon.
                    next_list = Instant::now();
                }
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }

        let _ = stop_tx.send(true);
        while let Some(joined) = tasks.join_next_with_id().await {
            let joined = joined.map(|(id, out)| {
                task_shards.remove(&id);
                out
            });
            if let Some(e) = on_join(
                stream,
                joined,
                &mut task_shards,
                &mut running,
                &mut finished,
                &mut summary,
            ) {
                fatal.get_or_insert(e);
            }
        }
        while let Ok(ev) = ev_rx.try_recv() {
            if let Event::Delivered { records } = ev {
                summary.records += records as u64;
                summary.batches += 1;
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => {
                tracing::info!(stream, ?summary, "consumer stopped");
                Ok(summary)
            }
        }
    }
}

type Joined = Result<(String, Result<ShardEnd, KinesisError>), tokio::task::JoinError>;

/// Books a shard task's end; returns the error that ends the run, if any.
fn on_join(
    stream: &str,
    joined: Joined,
    task_shards: &mut HashMap<tokio::task::Id, String>,
    running: &mut HashMap<String, Running>,
    finished: &mut HashSet<String>,
    summary: &mut ConsumeSummary,
) -> Option<KinesisError> {
    match joined {
        Ok((shard, result)) => {
            running.remove(&shard);
            match result {
                Ok(ShardEnd::Finished) => {
                    finished.insert(shard);
                    summary.shards_finished += 1;
                    None
                }
                Ok(ShardEnd::Stopped) => None,
                Err(e) => {
                    tracing::error!(stream, shard, error = %e, "shard consumer failed");
                    Some(e)
                }
            }
        }
        Err(e) => {
            let shard = task_shards.remove(&e.id()).unwrap_or_default();
            running.remove(&shard);
            Some(KinesisError::Task {
                shard,
                message: e.to_string(),
            })
        }
    }
}

/// Waits `d`, or less when `stop` turns true. Returns whether to stop.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = async { let _ = stop.wait_for(|s| *s).await; } => true,
    }
}

/// The reader of one shard.
struct ShardTask {
    client: Client,
    stream: String,
    store: Arc<dyn StateStore>,
    handler: Arc<dyn Handler>,
    options: ConsumerOptions,
    shard_id: String,
    starting_sequence_number: Option<String>,
    start: ShardStart,
    checkpoint: Option<String>,
    /// The shard's ending sequence number, updated by the coordinator's listings.
    ending: watch::Receiver<Option<String>>,
    stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<Event>,
}

impl ShardTask {
    async fn get_iterator(&self, start: &ShardStart) -> Result<String, KinesisError> {
        let req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(&self.shard_id);
        let req = match start {
            ShardStart::After(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            ShardStart::At(StartPosition::TrimHorizon) => {
                req.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            ShardStart::At(StartPosition::Latest) => {
                req.shard_iterator_type(ShardIteratorType::Latest)
            }
            ShardStart::At(StartPosition::AtTimestamp(t)) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from(*t)),
        };
        let out = req
            .send()
            .await
            .map_err(|e| KinesisError::from_sdk("GetShardIterator", e))?;
        out.shard_iterator()
            .map(str::to_owned)
            .ok_or_else(|| KinesisError::Api {
                api: "GetShardIterator",
                class: ErrorClass::Other,
                code: None,
                status: None,
                message: format!("no iterator returned for shard {}", self.shard_id),
            })
    }

    /// Hands `batch` to the handler until it accepts it. Returns false when stopped
    /// first.
    async fn deliver(&mut self, batch: &Batch) -> bool {
        let mut failures = 0u32;
        loop {
            match self.handler.handle(batch).await {
                Ok(()) => return true,
                Err(e) => {
                    failures += 1;
                    let wait =
                        self.options
                            .handler_retry
                            .backoff(ErrorClass::Transient, failures, None);
                    tracing::warn!(
                        stream = %self.stream,
                        shard = %self.shard_id,
                        first = %batch.records[0].sequence_number,
                        records = batch.records.len(),
                        failures,
                        ?wait,
                        error = %e,
                        "handler refused a batch; it comes again after a back-off"
                    );
                    if sleep_or_stop(wait, &mut self.stop).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Whether a closed shard is drained: GetRecords returned nothing from a position
    /// at or past its ending sequence number. (AWS ends a closed shard with no next
    /// iterator; this also covers emulators that never do, see the crate docs.)
    fn drained(&self, position: Option<&str>, latest_on_closed: bool) -> bool {
        let ending = self.ending.borrow().clone();
        let Some(ending) = ending else {
            return false;
        };
        let position = match position {
            Some(p) => p.to_owned(),
            // LATEST on a closed shard is its end.
            None if latest_on_closed => return true,
            // From the trim horizon: the start of the shard's range.
            None if self.start == ShardStart::At(StartPosition::TrimHorizon) => {
                match &self.starting_sequence_number {
                    Some(s) => s.clone(),
                    None => return false,
                }
            }
            None => return false,
        };
        compare_sequence_numbers(&position, &ending).is_ok_and(|o| o.is_ge())
    }

    async fn finish(&self) -> Result<ShardEnd, KinesisError> {
        self.store
            .finish_shard(&self.stream, &self.shard_id)
            .await?;
        tracing::info!(stream = %self.stream, shard = %self.shard_id, "shard finished");
        Ok(ShardEnd::Finished)
    }

    async fn run(mut self) -> Result<ShardEnd, KinesisError> {
        // The last sequence number handled (and checkpointed).
        let mut position: Option<String> = self.checkpoint.clone();
        let mut iterator: Option<String> = None;
        let mut failures = 0u32;
        let mut last_call: Option<Instant> = None;
        let mut latest_on_closed = false;
        loop {
            if *self.stop.borrow() {
                return Ok(ShardEnd::Stopped);
            }
            let it = match iterator.take() {
                Some(it) => it,
                None => {
                    let start = match &position {
                        Some(seq) => ShardStart::After(seq.clone()),
                        None => self.start.clone(),
                    };
                    let closed = self.ending.borrow().is_some();
                    match self.get_iterator(&start).await {
                        Ok(it) => {
                            latest_on_closed =
                                closed && start == ShardStart::At(StartPosition::Latest);
                            it
                        }
                        Err(e) if e.is_retryable() => {
                            failures += 1;
                            let wait = self.options.retry.backoff(e.class(), failures, None);
                            tracing::warn!(stream = %self.stream, shard = %self.shard_id, error = %e, ?wait, "GetShardIterator failed; retrying");
                            if sleep_or_stop(wait, &mut self.stop).await {
                                return Ok(ShardEnd::Stopped);
                            }
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            if let Some(t) = last_call {
                let next = t + self.options.poll_interval;
                let now = Instant::now();
                if now < next && sleep_or_stop(next - now, &mut self.stop).await {
                    return Ok(ShardEnd::Stopped);
                }
            }
            last_call = Some(Instant::now());
            let out = match self
                .client
                .get_records()
                .shard_iterator(&it)
                .limit(self.options.limit.clamp(1, MAX_GET_RECORDS_LIMIT))
                .send()
                .await
                .map_err(|e| KinesisError::from_sdk("GetRecords", e))
            {
                Ok(out) => {
                    failures = 0;
                    out
                }
                Err(e) if e.is_expired_iterator() => {
                    tracing::debug!(stream = %self.stream, shard = %self.shard_id, "shard iterator expired; getting a new one after the checkpoint");
                    continue;
                }
                Err(e) if e.is_retryable() => {
                    failures += 1;
                    iterator = Some(it);
                    let wait = self.options.retry.backoff(e.class(), failures, None);
                    tracing::warn!(stream = %self.stream, shard = %self.shard_id, error = %e, ?wait, "GetRecords failed; retrying");
                    if sleep_or_stop(wait, &mut self.stop).await {
                        return Ok(ShardEnd::Stopped);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let records: Vec<Record> = out
                .records()
                .iter()
                .map(|r| Record {
                    sequence_number: r.sequence_number().to_owned(),
                    partition_key: r.partition_key().to_owned(),
                    data: r.data().as_ref().to_vec(),
                    approximate_arrival_millis: r
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok()),
                })
                .collect();
            let millis_behind_latest = out.millis_behind_latest();
            let next = out.next_shard_iterator().map(str::to_owned);
            let got_records = !records.is_empty();
            if got_records {
                let n = records.len();
                let last = records[n - 1].sequence_number.clone();
                let batch = Batch {
                    stream: self.stream.clone(),
                    shard_id: self.shard_id.clone(),
                    records,
                    millis_behind_latest,
                };
                if !self.deliver(&batch).await {
                    return Ok(ShardEnd::Stopped);
                }
                self.store
                    .put_checkpoint(&self.stream, &self.shard_id, &last)
                    .await?;
                position = Some(last);
                let _ = self.events.send(Event::Delivered { records: n });
            }
            match next {
                None => return self.finish().await,
                Some(n) => iterator = Some(n),
            }
            if !got_records && self.drained(position.as_deref(), latest_on_closed) {
                return self.finish().await;
            }
            let _ = self.events.send(Event::Polled {
                shard: self.shard_id.clone(),
                caught_up: millis_behind_latest == Some(0),
            });
        }
    }
}
