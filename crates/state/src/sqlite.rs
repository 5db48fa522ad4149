//! The SQLite store.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use iot_crr_model::ResourceKey;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{Applied, DeadLetter, Progress, Result, StateError, StateStore, sequence};

/// The schema version this build writes (kept in the `schema_version` table).
///
/// Still 1 with the `finished_shards` and `progress` tables: they are created when
/// missing (`CREATE TABLE IF NOT EXISTS`) and a build that does not know them ignores
/// them (it then re-reads a finished shard, or a reconcile pass starts over: a repeat,
/// never a loss).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    stream TEXT NOT NULL,
    shard TEXT NOT NULL,
    sequence TEXT NOT NULL,
    PRIMARY KEY (stream, shard)
);
CREATE TABLE IF NOT EXISTS finished_shards (
    stream TEXT NOT NULL,
    shard TEXT NOT NULL,
    PRIMARY KEY (stream, shard)
);
CREATE TABLE IF NOT EXISTS applied (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER,
    time_millis INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX IF NOT EXISTS applied_tombstones ON applied (time_millis) WHERE deleted = 1;
CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    source TEXT NOT NULL,
    time_millis INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters (time_millis, id);
CREATE TABLE IF NOT EXISTS progress (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    revision INTEGER NOT NULL
);
";

/// A state store in a SQLite file.
///
/// The file is in WAL mode with `synchronous=FULL`: every committed transaction is on
/// disk before the call returns, even across a power loss. `NORMAL` would only lose
/// the last commits on an OS crash or power loss, but a lost applied-version record
/// after the change reached the target region would let a re-delivered older event
/// overwrite it; registry event rates are low enough for an fsync per commit.
///
/// Each method is one `BEGIN IMMEDIATE` transaction on tokio's blocking pool, the
/// connection behind a mutex; a busy timeout lets several processes share a file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating it if needed) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// A store in memory, lost when dropped (for tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // An in-memory database answers "memory" and stays so.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA)?;
        let found: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .optional()?
            .flatten();
        match found {
            None => {
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [SCHEMA_VERSION],
                )?;
            }
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StateError::SchemaTooNew {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(_) => {}
        }
        tx.commit()?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` in one immediate transaction on the blocking pool, committing when it
    /// returns `Ok` (and rolling back otherwise).
    async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` dropped its transaction, which rolled it back: the
            // connection is usable.
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
        .map_err(|e| StateError::Task(e.to_string()))?
    }
}

fn read_applied(tx: &rusqlite::Transaction<'_>, kind: &str, name: &str) -> Result<Option<Applied>> {
    Ok(tx
        .query_row(
            "SELECT version, time_millis, deleted FROM applied WHERE kind = ?1 AND name = ?2",
            params![kind, name],
            |r| {
                Ok(Applied {
                    version: r.get(0)?,
                    time_millis: r.get(1)?,
                    deleted: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn key_parts(key: &ResourceKey) -> (&'static str, String) {
    (key.kind.as_str(), key.name.to_string())
}

fn dead_letter(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadLetter> {
    Ok(DeadLetter {
        id: r.get(0)?,
        reason: r.get(1)?,
        raw: r.get(2)?,
        source: r.get(3)?,
        time_millis: r.get(4)?,
    })
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn get_checkpoint(&self, stream: &str, shard: &str) -> Result<Option<String>> {
        let (stream, shard) = (stream.to_owned(), shard.to_owned());
        self.transact(move |tx| {
            Ok(tx
                .query_row(
                    "SELECT sequence FROM checkpoints WHERE stream = ?1 AND shard = ?2",
                    params![stream, shard],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn put_checkpoint(&self, stream: &str, shard: &str, sequence: &str) -> Result<bool> {
        sequence::normalise(sequence)?;
        let (stream, shard, sequence) = (stream.to_owned(), shard.to_owned(), sequence.to_owned());
        self.transact(move |tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT sequence FROM checkpoints WHERE stream = ?1 AND shard = ?2",
                    params![stream, shard],
                    |r| r.get(0),
                )
                .optional()?;
            let moved = sequence::moves(stored.as_deref(), &sequence)?;
            if moved {
                tx.execute(
                    "INSERT INTO checkpoints (stream, shard, sequence) VALUES (?1, ?2, ?3)
                     ON CONFLICT (stream, shard) DO UPDATE SET sequence = excluded.sequence",
                    params![stream, shard, sequence],
                )?;
            }
            Ok(moved)
        })
        .await
    }

    async fn finish_shard(&self, stream: &str, shard: &str) -> Result<()> {
        let (stream, shard) = (stream.to_owned(), shard.to_owned());
        self.transact(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO finished_shards (stream, shard) VALUES (?1, ?2)",
                params![stream, shard],
            )?;
            Ok(())
        })
        .await
    }

    async fn is_shard_finished(&self, stream: &str, shard: &str) -> Result<bool> {
        let (stream, shard) = (stream.to_owned(), shard.to_owned());
        self.transact(move |tx| {
            Ok(tx
                .query_row(
                    "SELECT 1 FROM finished_shards WHERE stream = ?1 AND shard = ?2",
                    params![stream, shard],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
        .await
    }

    async fn get_progress(&self, name: &str) -> Result<Option<Progress>> {
        let name = name.to_owned();
        self.transact(move |tx| {
            let row: Option<(String, i64)> = tx
                .query_row(
                    "SELECT value, revision FROM progress WHERE name = ?1",
                    [&name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(value, revision)| {
                let revision = u64::try_from(revision).map_err(|_| {
                    StateError::Corrupt(format!("progress {name:?}: revision {revision}"))
                })?;
                Ok(Progress { value, revision })
            })
            .transpose()
        })
        .await
    }

    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<Option<u64>> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.transact(move |tx| {
            let stored: Option<i64> = tx
                .query_row(
                    "SELECT revision FROM progress WHERE name = ?1",
                    [&name],
                    |r| r.get(0),
                )
                .optional()?;
            if stored.map(|r| r as u64) != expected {
                return Ok(None);
            }
            let revision = expected.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO progress (name, value, revision) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
                 revision = excluded.revision",
                params![name, value, revision as i64],
            )?;
            Ok(Some(revision))
        })
        .await
    }

    async fn last_applied(&self, key: &ResourceKey) -> Result<Option<Applied>> {
        let (kind, name) = key_parts(key);
        self.transact(move |tx| read_applied(tx, kind, &name)).await
    }

    async fn record_applied(&self, key: &ResourceKey, applied: Applied) -> Result<bool> {
        let (kind, name) = key_parts(key);
        self.transact(move |tx| {
            let store = read_applied(tx, kind, &name)?.is_none_or(|s| applied.supersedes(&s));
            if store {
                tx.execute(
                    "INSERT INTO applied (kind, name, version, time_millis, deleted)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version,
                       time_millis = excluded.time_millis, deleted = excluded.deleted",
                    params![
                        kind,
                        name,
                        applied.version,
                        applied.time_millis,
                        applied.deleted
                    ],
                )?;
            }
            Ok(store)
        })
        .await
    }

    async fn is_tombstoned(&self, key: &ResourceKey, event_time_millis: i64) -> Result<bool> {
        let (kind, name) = key_parts(key);
        self.transact(move |tx| {
            Ok(read_applied(tx, kind, &name)?
                .is_some_and(|a| a.deleted && event_time_millis <= a.time_millis))
        })
        .await
    }

    async fn purge_tombstones(&self, older_than_millis: i64) -> Result<u64> {
        self.transact(move |tx| {
            let n = tx.execute(
                "DELETE FROM applied WHERE deleted = 1 AND time_millis < ?1",
                [older_than_millis],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_dead_letter(&self, letter: DeadLetter) -> Result<()> {
        self.transact(move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO dead_letters (id, reason, raw, source, time_millis)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    letter.id,
                    letter.reason,
                    letter.raw,
                    letter.source,
                    letter.time_millis
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.transact(move |tx| {
            let mut stmt = tx.prepare(
                "SELECT id, reason, raw, source, time_millis FROM dead_letters
                 ORDER BY time_millis, id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], dead_letter)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn remove_dead_letter(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.transact(move |tx| Ok(tx.execute("DELETE FROM dead_letters WHERE id = ?1", [id])? > 0))
            .await
    }

    async fn count_dead_letters(&self) -> Result<u64> {
        self.transact(|tx| {
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?;
            u64::try_from(n).map_err(|_| StateError::Corrupt(format!("dead letter count {n}")))
        })
        .await
    }
}
