//! The desired side of an event applied without a source: the target as it is, with
//! the resources the events carry laid over it.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use iot_crr_model::Outcome;
use iot_crr_model::{Change, Origin, Related, Resource, ResourceKey, Snapshot};
use iot_crr_registry::{
    Capabilities, ErrorClass, ReadRequest, Registry, RegistryError, Result as RegResult,
};

/// A read-only registry: `base` (the target) with some resources replaced (`Some`) or
/// removed (`None`). A keyed reconcile of the replaced keys from an overlay into its
/// base applies exactly the events' states.
pub(crate) struct Overlay<'a> {
    base: &'a dyn Registry,
    overrides: BTreeMap<ResourceKey, Option<Resource>>,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(
        base: &'a dyn Registry,
        overrides: BTreeMap<ResourceKey, Option<Resource>>,
    ) -> Self {
        Overlay { base, overrides }
    }
}

#[async_trait]
impl Registry for Overlay<'_> {
    fn location(&self) -> String {
        format!("events over {}", self.base.location())
    }

    async fn read(&self, _request: &ReadRequest) -> RegResult<Snapshot> {
        Err(RegistryError::new(
            ErrorClass::Unsupported,
            "an event overlay is read key by key",
        ))
    }

    async fn read_resource(&self, key: &ResourceKey) -> RegResult<Option<Resource>> {
        match self.overrides.get(key) {
            Some(r) => Ok(r.clone()),
            None => self.base.read_resource(key).await,
        }
    }

    async fn apply(&self, _change: &Change) -> RegResult<Outcome> {
        Err(RegistryError::new(
            ErrorClass::Unsupported,
            "an event overlay is read-only",
        ))
    }

    async fn related(&self, query: &Related) -> RegResult<Vec<ResourceKey>> {
        // The base's answer, with the overridden resources answered from their new
        // state: drop them, then add those whose new state relates.
        let mut keys: BTreeSet<ResourceKey> = self
            .base
            .related(query)
            .await?
            .into_iter()
            .filter(|k| !self.overrides.contains_key(k))
            .collect();
        let mut laid = Snapshot::new();
        for r in self.overrides.values().flatten() {
            laid.insert(r.clone());
        }
        keys.extend(laid.related(query));
        Ok(keys.into_iter().collect())
    }

    fn origin(&self) -> Origin {
        self.base.origin()
    }

    fn capabilities(&self) -> Capabilities {
        self.base.capabilities()
    }
}
