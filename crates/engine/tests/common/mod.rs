//! A registry wrapper for scheduling tests: calls take a (virtual) time, one API
//! operation can be paced (one call at a time, like a rate limit), finishes are
//! recorded with the virtual time they happened at.

#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use iot_crr_model::{Change, Outcome, Resource, ResourceKey, Snapshot};
use iot_crr_registry::{MemoryRegistry, ReadRequest, Registry, RegistryError, Related};
use tokio::time::Instant;

/// See the module documentation.
pub struct Timed {
    pub inner: MemoryRegistry,
    /// How long a call takes.
    pub latency: fn(&Change) -> Duration,
    /// Calls of this API operation run one at a time (each holds the pace for its
    /// latency), as a registry with a rate limit lets them through.
    pub paced: Option<&'static str>,
    pace: tokio::sync::Mutex<()>,
    start: Instant,
    finished: Mutex<Vec<(Duration, String)>>,
}

impl Timed {
    pub fn new(inner: MemoryRegistry, latency: fn(&Change) -> Duration) -> Self {
        Timed {
            inner,
            latency,
            paced: None,
            pace: tokio::sync::Mutex::new(()),
            start: Instant::now(),
            finished: Mutex::new(Vec::new()),
        }
    }

    pub fn paced(mut self, api: &'static str) -> Self {
        self.paced = Some(api);
        self
    }

    /// `(virtual time since creation, change)` of every call that finished, in order.
    pub fn finished(&self) -> Vec<(Duration, String)> {
        self.finished.lock().unwrap().clone()
    }

    /// When the call for this change (by its description) finished last.
    pub fn finished_at(&self, description: &str) -> Duration {
        self.finished()
            .iter()
            .rev()
            .find(|(_, d)| d == description)
            .unwrap_or_else(|| panic!("{description} was not sent"))
            .0
    }
}

#[async_trait]
impl Registry for Timed {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        let _turn = match self.paced {
            Some(api) if api == change.api() => Some(self.pace.lock().await),
            _ => None,
        };
        tokio::time::sleep((self.latency)(change)).await;
        let out = self.inner.apply(change).await;
        self.finished
            .lock()
            .unwrap()
            .push((self.start.elapsed(), change.to_string()));
        out
    }
    fn api_calls(&self) -> Vec<(String, u64)> {
        self.inner.api_calls()
    }
}
