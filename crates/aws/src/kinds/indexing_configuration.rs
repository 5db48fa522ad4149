//! The fleet indexing configuration: `GetIndexingConfiguration` (one call, no list) and
//! `UpdateIndexingConfiguration` with the whole configuration.
//!
//! moto (5.2.1) implements both, but merges an update into the stored configuration
//! instead of replacing it (a field not sent keeps its value) and validates nothing;
//! iot-crr always sends every field, so the result is the same. AWS computes the
//! managed fields; they are not read.

use aws_sdk_iot::types::{
    DeviceDefenderIndexingMode, Field, FieldType, GeoLocationTarget, IndexingFilter as AwsFilter,
    NamedShadowIndexingMode, TargetFieldOrder, ThingConnectivityIndexingMode,
    ThingGroupIndexingConfiguration, ThingGroupIndexingMode, ThingIndexingConfiguration,
    ThingIndexingMode,
};
use iot_crr_model::kinds::SINGLETON;
use iot_crr_model::{
    GeoLocation, IndexMode, IndexingConfiguration, IndexingConfigurationChange, IndexingFilter,
    Name, Outcome, Resource,
};
use iot_crr_registry::{ErrorClass, RegistryError, Result};
use std::collections::BTreeMap;

use crate::registry::AwsRegistry;
use crate::write::applied;

fn fields(list: &[Field]) -> BTreeMap<Name, String> {
    list.iter()
        .filter_map(|f| {
            Some((
                Name::from(f.name()?),
                f.r#type().map_or("String", |t| t.as_str()).to_string(),
            ))
        })
        .collect()
}

fn aws_fields(map: &BTreeMap<Name, String>) -> Vec<Field> {
    map.iter()
        .map(|(n, t)| {
            Field::builder()
                .name(n.as_str())
                .r#type(FieldType::from(t.as_str()))
                .build()
        })
        .collect()
}

fn invalid(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::new(
        ErrorClass::Invalid,
        format!("the fleet indexing configuration cannot be sent: {e}"),
    )
}

impl AwsRegistry {
    /// `GetIndexingConfiguration`: the region's configuration (AWS always has one).
    pub(crate) async fn read_indexing_configuration(&self) -> Result<IndexingConfiguration> {
        let out = self
            .call("GetIndexingConfiguration", || {
                self.client.get_indexing_configuration().send()
            })
            .await?;
        let mut c = IndexingConfiguration::default();
        // A mode newer than this build is an error, not a silent OFF.
        let mode = |m: Option<&str>| -> Result<IndexMode> {
            let m = m.unwrap_or("OFF");
            IndexMode::parse(m).ok_or_else(|| {
                RegistryError::new(
                    ErrorClass::Invalid,
                    format!("the fleet indexing configuration has the unknown mode {m:?}"),
                )
            })
        };
        if let Some(t) = out.thing_indexing_configuration() {
            c.thing_indexing_mode = mode(Some(t.thing_indexing_mode().as_str()))?;
            c.thing_connectivity_indexing_mode =
                mode(t.thing_connectivity_indexing_mode().map(|m| m.as_str()))?;
            c.device_defender_indexing_mode =
                mode(t.device_defender_indexing_mode().map(|m| m.as_str()))?;
            c.named_shadow_indexing_mode =
                mode(t.named_shadow_indexing_mode().map(|m| m.as_str()))?;
            c.custom_fields = fields(t.custom_fields());
            if let Some(f) = t.filter() {
                let mut geo: Vec<GeoLocation> = f
                    .geo_locations()
                    .iter()
                    .filter_map(|g| {
                        Some(GeoLocation {
                            name: g.name()?.to_string(),
                            order: g.order().map_or("LatLon", |o| o.as_str()).to_string(),
                        })
                    })
                    .collect();
                geo.sort();
                c.filter = IndexingFilter {
                    named_shadow_names: f.named_shadow_names().iter().map(String::as_str).collect(),
                    geo_locations: geo,
                };
            }
        }
        if let Some(g) = out.thing_group_indexing_configuration() {
            c.thing_group_indexing_mode = mode(Some(g.thing_group_indexing_mode().as_str()))?;
            c.thing_group_custom_fields = fields(g.custom_fields());
        }
        Ok(c)
    }

    /// The configuration as a resource, under its one key.
    pub(crate) async fn read_indexing_resource(&self, name: &str) -> Result<Option<Resource>> {
        if name != SINGLETON {
            return Ok(None);
        }
        Ok(Some(Resource::IndexingConfiguration(
            self.read_indexing_configuration().await?,
        )))
    }

    /// `UpdateIndexingConfiguration` with every field of the wanted configuration.
    pub(crate) async fn apply_indexing_configuration(
        &self,
        change: &IndexingConfigurationChange,
    ) -> Result<Outcome> {
        let IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration: c,
        } = change;
        let mut filter = AwsFilter::builder();
        for n in &c.filter.named_shadow_names {
            filter = filter.named_shadow_names(n.as_str());
        }
        for g in &c.filter.geo_locations {
            filter = filter.geo_locations(
                GeoLocationTarget::builder()
                    .name(&g.name)
                    .order(TargetFieldOrder::from(g.order.as_str()))
                    .build(),
            );
        }
        let things = ThingIndexingConfiguration::builder()
            .thing_indexing_mode(ThingIndexingMode::from(c.thing_indexing_mode.as_str()))
            .thing_connectivity_indexing_mode(ThingConnectivityIndexingMode::from(
                c.thing_connectivity_indexing_mode.as_str(),
            ))
            .device_defender_indexing_mode(DeviceDefenderIndexingMode::from(
                c.device_defender_indexing_mode.as_str(),
            ))
            .named_shadow_indexing_mode(NamedShadowIndexingMode::from(
                c.named_shadow_indexing_mode.as_str(),
            ))
            .set_custom_fields(Some(aws_fields(&c.custom_fields)))
            .filter(filter.build())
            .build()
            .map_err(invalid)?;
        let groups = ThingGroupIndexingConfiguration::builder()
            .thing_group_indexing_mode(ThingGroupIndexingMode::from(
                c.thing_group_indexing_mode.as_str(),
            ))
            .set_custom_fields(Some(aws_fields(&c.thing_group_custom_fields)))
            .build()
            .map_err(invalid)?;
        self.call("UpdateIndexingConfiguration", || {
            self.client
                .update_indexing_configuration()
                .thing_indexing_configuration(things.clone())
                .thing_group_indexing_configuration(groups.clone())
                .send()
        })
        .await?;
        applied()
    }
}
