//! The state store of the event path: what an applier must remember between events and
//! between runs.
//!
//! - **Checkpoints**: the last Kinesis sequence number processed per stream and shard.
//!   A checkpoint never moves backwards.
//! - **Finished shards**: the shards read to their end (a shard closed by a reshard,
//!   whose `GetRecords` returned no next iterator), so that a restarted consumer does
//!   not read a closed parent shard again from its start and starts its children
//!   right away ([`StateStore::finish_shard`]).
//! - **Applied versions**: for each resource, the version (and time) of the last change
//!   applied to the target region. [`StateStore::record_applied`] is a conditional write
//!   that refuses to move a resource backwards, so concurrent appliers (Lambda
//!   invocations, tasks) can race on the same resource safely: see [`Applied::supersedes`]
//!   for the rules.
//! - **Tombstones**: a recorded delete is a tombstone with its time; an event older than
//!   the tombstone is ignored ([`StateStore::is_tombstoned`]) until the tombstone is
//!   purged ([`StateStore::purge_tombstones`], [`DEFAULT_TOMBSTONE_RETENTION_MILLIS`]).
//! - **Dead letters**: events that could not be decoded or applied, kept with their raw
//!   bytes for inspection and replay.
//! - **Progress** of resumable jobs: where a reconcile pass that spans several runs (a
//!   Lambda function under its time limit) stopped, saved with a revision so that two
//!   overlapping runs cannot both advance it ([`StateStore::put_progress`]).
//!
//! Every method is one atomic operation, so that a DynamoDB implementation maps each to
//! one request: `GetItem`/`PutItem` with a condition expression for checkpoints and
//! versions, a TTL attribute on tombstones (its `purge_tombstones` is then a no-op).
//!
//! Two implementations: [`SqliteStore`] (a file, for the CLI and long-running
//! processes) and [`MemoryStore`] (tests). [`StateLocation`] parses where a store lives.
//! Others live in their own crates (`iot-crr-state-dynamodb`) and run the same
//! conformance suite (the `conformance` feature, module `conformance`).

#[cfg(feature = "conformance")]
pub mod conformance;
mod location;
mod memory;
mod sequence;
mod sqlite;

use async_trait::async_trait;
use iot_crr_model::ResourceKey;
use serde::{Deserialize, Serialize};

pub use location::{LocationError, StateLocation};
pub use memory::MemoryStore;
pub use sequence::compare_sequence_numbers;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// How long a tombstone is kept by default: 7 days, well past the 24 hours a Kinesis
/// stream keeps records by default, so that no re-delivered or late event older than a
/// delete can outlive the tombstone that refuses it. The caller passes
/// `now - retention` to [`StateStore::purge_tombstones`].
pub const DEFAULT_TOMBSTONE_RETENTION_MILLIS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The last change applied to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// The resource's `versionNumber` in the change, when the event carries one (things
    /// and thing groups do, thing types do not).
    pub version: Option<i64>,
    /// When the change happened (the event's time), in milliseconds since the epoch.
    pub time_millis: i64,
    /// Whether the change was a delete (the record is then a tombstone).
    pub deleted: bool,
}

impl Applied {
    /// Whether this change may replace `stored`, the one last applied. The rules, in
    /// order:
    ///
    /// 1. After a delete (`stored.deleted`), time decides: only a strictly later change
    ///    is accepted. AWS IoT restarts `versionNumber` at 1 when a deleted resource is
    ///    created again, so versions cannot be compared across a delete; an event at or
    ///    before the delete's time is refused (see [`StateStore::is_tombstoned`]).
    /// 2. When both carry a version, a higher version wins; at an equal version a delete
    ///    wins over an update (a delete event keeps the last version). An older or equal
    ///    version is otherwise refused.
    /// 3. Otherwise (either has no version), time decides the same way: a later time
    ///    wins, and at an equal time a delete wins over an update.
    ///
    /// Equal changes never supersede each other, so a re-delivered event is refused.
    pub fn supersedes(&self, stored: &Applied) -> bool {
        if stored.deleted {
            return self.time_millis > stored.time_millis;
        }
        match (self.version, stored.version) {
            (Some(v), Some(sv)) => v > sv || (v == sv && self.deleted),
            _ => {
                self.time_millis > stored.time_millis
                    || (self.time_millis == stored.time_millis && self.deleted)
            }
        }
    }
}

/// An event that could not be decoded or applied, kept for inspection and replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// A unique id (the event id, or the Kinesis sequence number when the event could
    /// not be decoded). Putting a dead letter with an existing id replaces it.
    pub id: String,
    /// Why it failed, for a human.
    pub reason: String,
    /// The record's bytes as received.
    pub raw: Vec<u8>,
    /// Where it came from (for example `kinesis:STREAM/SHARD`).
    pub source: String,
    /// When it was dead-lettered, in milliseconds since the epoch.
    pub time_millis: i64,
}

/// The saved progress of a resumable job ([`StateStore::get_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What the job saved (opaque to the store; the reconcile pass saves JSON).
    pub value: String,
    /// Incremented by every save, from 1: what the next save must name as expected.
    pub revision: u64,
}

/// A state store error.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A sequence number is not a non-empty string of decimal digits.
    #[error("invalid sequence number {0:?}: expected decimal digits")]
    InvalidSequence(String),
    /// A SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was written by a newer iot-crr (a schema this build does not know).
    #[error("state schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The version in the store.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store holds a value this build cannot read.
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// The blocking task running a store operation failed (panicked or was cancelled).
    #[error("state store task failed: {0}")]
    Task(String),
    /// A remote store's service failed a request (after its client's own retries), or
    /// answered something unexpected: for example a DynamoDB error other than a failed
    /// condition. The message names the service, the operation and the cause.
    #[error("state backend: {0}")]
    Backend(String),
}

/// A result with a [`StateError`].
pub type Result<T, E = StateError> = std::result::Result<T, E>;

/// Where the event path keeps its state. Each method is one atomic operation, safe to
/// call concurrently from many tasks (and, for a shared backend, many processes).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The last checkpointed sequence number of a stream's shard.
    async fn get_checkpoint(&self, stream: &str, shard: &str) -> Result<Option<String>>;

    /// Checkpoints a shard at `sequence`, unless the stored checkpoint is already at or
    /// past it (sequence numbers compare as decimal integers of any length, as Kinesis
    /// ones do). Returns whether the checkpoint moved.
    async fn put_checkpoint(&self, stream: &str, shard: &str, sequence: &str) -> Result<bool>;

    /// Records that a stream's shard was read to its end: it was closed (split or
    /// merged) and every record in it was handled and checkpointed. Idempotent; a
    /// finished shard stays finished (its checkpoint is kept as it was).
    async fn finish_shard(&self, stream: &str, shard: &str) -> Result<()>;

    /// Whether [`StateStore::finish_shard`] was recorded for a stream's shard.
    async fn is_shard_finished(&self, stream: &str, shard: &str) -> Result<bool>;

    /// The saved progress of the resumable job `name` (a reconcile pass split over
    /// several runs: which kind, which page).
    async fn get_progress(&self, name: &str) -> Result<Option<Progress>>;

    /// Saves `value` as the progress of `name` if the stored revision is still
    /// `expected` (`None`: nothing is stored yet): a conditional write, so that of two
    /// runs of one job that overlap, only one advances it and the other learns so.
    /// Returns the new revision, or `None` when the condition failed.
    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<Option<u64>>;

    /// The last change applied to a resource (a tombstone when `deleted`).
    async fn last_applied(&self, key: &ResourceKey) -> Result<Option<Applied>>;

    /// Records `applied` for `key` if it supersedes the stored change
    /// ([`Applied::supersedes`]) or nothing is stored: a conditional write, atomic
    /// against concurrent callers. Returns whether it was stored. A stored delete is a
    /// tombstone at its time.
    async fn record_applied(&self, key: &ResourceKey, applied: Applied) -> Result<bool>;

    /// Whether an event at `event_time_millis` for `key` is at or before a recorded
    /// delete, and must be ignored.
    async fn is_tombstoned(&self, key: &ResourceKey, event_time_millis: i64) -> Result<bool>;

    /// Removes the tombstones of deletes older than `older_than_millis` (the resource is
    /// then unknown again). Returns how many were removed.
    async fn purge_tombstones(&self, older_than_millis: i64) -> Result<u64>;

    /// Stores a dead letter, replacing one with the same id.
    async fn put_dead_letter(&self, letter: DeadLetter) -> Result<()>;

    /// Up to `limit` dead letters, oldest first (by time, then id).
    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Removes a dead letter. Returns whether it existed.
    async fn remove_dead_letter(&self, id: &str) -> Result<bool>;

    /// How many dead letters are stored.
    async fn count_dead_letters(&self) -> Result<u64>;
}
