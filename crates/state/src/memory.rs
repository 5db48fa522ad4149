//! The in-memory store, for tests: the same semantics as [`crate::SqliteStore`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use iot_crr_model::ResourceKey;

use crate::{Applied, DeadLetter, Progress, Result, StateStore, sequence};

#[derive(Default)]
struct Inner {
    checkpoints: HashMap<(String, String), String>,
    finished: HashSet<(String, String)>,
    applied: HashMap<ResourceKey, Applied>,
    dead_letters: BTreeMap<String, DeadLetter>,
    progress: HashMap<String, Progress>,
}

/// A state store in memory, lost when dropped.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the maps consistent before it can panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get_checkpoint(&self, stream: &str, shard: &str) -> Result<Option<String>> {
        let key = (stream.to_owned(), shard.to_owned());
        Ok(self.lock().checkpoints.get(&key).cloned())
    }

    async fn put_checkpoint(&self, stream: &str, shard: &str, sequence: &str) -> Result<bool> {
        let mut inner = self.lock();
        let key = (stream.to_owned(), shard.to_owned());
        let moved = sequence::moves(inner.checkpoints.get(&key).map(String::as_str), sequence)?;
        if moved {
            inner.checkpoints.insert(key, sequence.to_owned());
        }
        Ok(moved)
    }

    async fn finish_shard(&self, stream: &str, shard: &str) -> Result<()> {
        let key = (stream.to_owned(), shard.to_owned());
        self.lock().finished.insert(key);
        Ok(())
    }

    async fn is_shard_finished(&self, stream: &str, shard: &str) -> Result<bool> {
        let key = (stream.to_owned(), shard.to_owned());
        Ok(self.lock().finished.contains(&key))
    }

    async fn get_progress(&self, name: &str) -> Result<Option<Progress>> {
        Ok(self.lock().progress.get(name).cloned())
    }

    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<Option<u64>> {
        let mut inner = self.lock();
        let stored = inner.progress.get(name).map(|p| p.revision);
        if stored != expected {
            return Ok(None);
        }
        let revision = expected.unwrap_or(0) + 1;
        inner.progress.insert(
            name.to_owned(),
            Progress {
                value: value.to_owned(),
                revision,
            },
        );
        Ok(Some(revision))
    }

    async fn last_applied(&self, key: &ResourceKey) -> Result<Option<Applied>> {
        Ok(self.lock().applied.get(key).copied())
    }

    async fn record_applied(&self, key: &ResourceKey, applied: Applied) -> Result<bool> {
        let mut inner = self.lock();
        let store = inner
            .applied
            .get(key)
            .is_none_or(|stored| applied.supersedes(stored));
        if store {
            inner.applied.insert(key.clone(), applied);
        }
        Ok(store)
    }

    async fn is_tombstoned(&self, key: &ResourceKey, event_time_millis: i64) -> Result<bool> {
        Ok(self
            .lock()
            .applied
            .get(key)
            .is_some_and(|a| a.deleted && event_time_millis <= a.time_millis))
    }

    async fn purge_tombstones(&self, older_than_millis: i64) -> Result<u64> {
        let mut inner = self.lock();
        let before = inner.applied.len();
        inner
            .applied
            .retain(|_, a| !(a.deleted && a.time_millis < older_than_millis));
        Ok((before - inner.applied.len()) as u64)
    }

    async fn put_dead_letter(&self, letter: DeadLetter) -> Result<()> {
        self.lock().dead_letters.insert(letter.id.clone(), letter);
        Ok(())
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let inner = self.lock();
        let mut letters: Vec<&DeadLetter> = inner.dead_letters.values().collect();
        letters.sort_by(|a, b| (a.time_millis, &a.id).cmp(&(b.time_millis, &b.id)));
        Ok(letters.into_iter().take(limit).cloned().collect())
    }

    async fn remove_dead_letter(&self, id: &str) -> Result<bool> {
        Ok(self.lock().dead_letters.remove(id).is_some())
    }

    async fn count_dead_letters(&self) -> Result<u64> {
        Ok(self.lock().dead_letters.len() as u64)
    }
}
