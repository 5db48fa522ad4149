//! The fleet indexing configuration (`GetIndexingConfiguration`,
//! `UpdateIndexingConfiguration`): an account setting of a region, one per registry,
//! named [`SINGLETON`]. Dynamic thing groups are queries over the index, so the target
//! needs the index before them (their stage comes after this one's).
//!
//! What is compared is what an operator sets: the thing and thing-group indexing modes,
//! the connectivity, Device Defender and named-shadow modes, the custom fields and the
//! filter. The managed fields are AWS's own and left out. There is nothing to delete: a
//! source without a configuration (a file written before this kind) leaves the target's
//! alone.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::apply::{ApplyError, Outcome, done};
use crate::collections::NameSet;
use crate::constraints::{self, Violation};
use crate::diff::{Builder, Ctx, stage};
use crate::kinds::{KindChange, KindSpec, SINGLETON, check_singleton};
use crate::plan::{Action, Change};
use crate::resource::{Kind, Name, Resource, ResourceKey, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// A geolocation field of the index filter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeoLocation {
    /// `name`: the field holding the location.
    pub name: String,
    /// `order`: `LatLon` or `LonLat`.
    pub order: String,
}

/// The index filter (`filter`): which named shadows and geolocations are indexed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexingFilter {
    /// `namedShadowNames`.
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub named_shadow_names: NameSet,
    /// `geoLocations`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geo_locations: Vec<GeoLocation>,
}

impl IndexingFilter {
    fn is_empty(&self) -> bool {
        self.named_shadow_names.is_empty() && self.geo_locations.is_empty()
    }
}

/// An indexing mode (the values of `thingIndexingMode`, `thingConnectivityIndexingMode`,
/// `deviceDefenderIndexingMode`, `namedShadowIndexingMode` and `thingGroupIndexingMode`;
/// which field takes which is checked). One byte, so a snapshot's blocks stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IndexMode {
    /// `OFF`.
    Off,
    /// `REGISTRY`.
    Registry,
    /// `REGISTRY_AND_SHADOW`.
    RegistryAndShadow,
    /// `STATUS`.
    Status,
    /// `VIOLATIONS`.
    Violations,
    /// `ON`.
    On,
}

impl IndexMode {
    const ALL: [IndexMode; 6] = [
        IndexMode::Off,
        IndexMode::Registry,
        IndexMode::RegistryAndShadow,
        IndexMode::Status,
        IndexMode::Violations,
        IndexMode::On,
    ];

    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexMode::Off => "OFF",
            IndexMode::Registry => "REGISTRY",
            IndexMode::RegistryAndShadow => "REGISTRY_AND_SHADOW",
            IndexMode::Status => "STATUS",
            IndexMode::Violations => "VIOLATIONS",
            IndexMode::On => "ON",
        }
    }

    /// The mode of an AWS API spelling.
    pub fn parse(s: &str) -> Option<IndexMode> {
        IndexMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for IndexMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn off() -> IndexMode {
    IndexMode::Off
}

fn is_off(m: &IndexMode) -> bool {
    *m == IndexMode::Off
}

fn is_empty_filter(f: &IndexingFilter) -> bool {
    f.is_empty()
}

/// The fleet indexing configuration of a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexingConfiguration {
    /// Always [`SINGLETON`].
    pub name: Name,
    /// `thingIndexingMode`: `OFF`, `REGISTRY` or `REGISTRY_AND_SHADOW`.
    #[serde(default = "off", skip_serializing_if = "is_off")]
    pub thing_indexing_mode: IndexMode,
    /// `thingConnectivityIndexingMode`: `OFF` or `STATUS`.
    #[serde(default = "off", skip_serializing_if = "is_off")]
    pub thing_connectivity_indexing_mode: IndexMode,
    /// `deviceDefenderIndexingMode`: `OFF` or `VIOLATIONS`.
    #[serde(default = "off", skip_serializing_if = "is_off")]
    pub device_defender_indexing_mode: IndexMode,
    /// `namedShadowIndexingMode`: `OFF` or `ON`.
    #[serde(default = "off", skip_serializing_if = "is_off")]
    pub named_shadow_indexing_mode: IndexMode,
    /// The thing index's `customFields`, name to type (`Number`, `String`, `Boolean`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<Name, String>,
    /// The thing index's `filter`.
    #[serde(default, skip_serializing_if = "is_empty_filter")]
    pub filter: IndexingFilter,
    /// `thingGroupIndexingMode`: `OFF` or `ON`.
    #[serde(default = "off", skip_serializing_if = "is_off")]
    pub thing_group_indexing_mode: IndexMode,
    /// The thing-group index's `customFields`, name to type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thing_group_custom_fields: BTreeMap<Name, String>,
}

impl Default for IndexingConfiguration {
    fn default() -> Self {
        IndexingConfiguration {
            name: SINGLETON.into(),
            thing_indexing_mode: off(),
            thing_connectivity_indexing_mode: off(),
            device_defender_indexing_mode: off(),
            named_shadow_indexing_mode: off(),
            custom_fields: BTreeMap::new(),
            filter: IndexingFilter::default(),
            thing_group_indexing_mode: off(),
            thing_group_custom_fields: BTreeMap::new(),
        }
    }
}

fn one_of(
    c: &constraints::Ctx<'_>,
    field: &str,
    v: &str,
    allowed: &[&str],
) -> Result<(), Violation> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(c.err(
            field,
            format!("is {v:?} (AWS IoT allows {})", allowed.join(", ")),
        ))
    }
}

const FIELD_TYPES: &[&str] = &["Number", "String", "Boolean"];

impl KindSpec for IndexingConfiguration {
    const KIND: Kind = Kind::IndexingConfiguration;
    const TAG: &'static str = "indexingConfiguration";
    const NOUN: &'static str = "fleet indexing configuration";
    const PLURAL: &'static str = "fleet indexing configurations";
    const NAME_FIELD: &'static str = "name";
    const ARN_TYPE: &'static str = "";
    const TAGGABLE: bool = false;
    const ALIASES: &'static [&'static str] = &["indexing", "fleetindexing"];

    fn name(&self) -> &Name {
        &self.name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.indexing_configurations
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.indexing_configurations
    }

    fn count(c: &Counts) -> usize {
        c.indexing_configurations
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.indexing_configurations
    }

    fn into_resource(self) -> Resource {
        Resource::IndexingConfiguration(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::IndexingConfiguration(self)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.name);
        check_singleton(&c, &self.name)?;
        one_of(
            &c,
            "thingIndexingMode",
            self.thing_indexing_mode.as_str(),
            &["OFF", "REGISTRY", "REGISTRY_AND_SHADOW"],
        )?;
        one_of(
            &c,
            "thingConnectivityIndexingMode",
            self.thing_connectivity_indexing_mode.as_str(),
            &["OFF", "STATUS"],
        )?;
        one_of(
            &c,
            "deviceDefenderIndexingMode",
            self.device_defender_indexing_mode.as_str(),
            &["OFF", "VIOLATIONS"],
        )?;
        one_of(
            &c,
            "namedShadowIndexingMode",
            self.named_shadow_indexing_mode.as_str(),
            &["OFF", "ON"],
        )?;
        one_of(
            &c,
            "thingGroupIndexingMode",
            self.thing_group_indexing_mode.as_str(),
            &["OFF", "ON"],
        )?;
        for (field, map) in [
            ("customFields", &self.custom_fields),
            ("thingGroupCustomFields", &self.thing_group_custom_fields),
        ] {
            for (name, ty) in map {
                if name.is_empty() {
                    return Err(c.err(field, "holds a field with an empty name".into()));
                }
                one_of(&c, &format!("{field}.{name}"), ty, FIELD_TYPES)?;
            }
        }
        for g in &self.filter.geo_locations {
            one_of(
                &c,
                "filter.geoLocations.order",
                &g.order,
                &["LatLon", "LonLat"],
            )?;
        }
        Ok(())
    }
}

/// A write to the fleet indexing configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum IndexingConfigurationChange {
    /// `UpdateIndexingConfiguration` with the whole configuration as it should be.
    UpdateIndexingConfiguration {
        /// The configuration.
        indexing_configuration: IndexingConfiguration,
    },
}

impl KindChange for IndexingConfigurationChange {
    const OPS: &'static [&'static str] = &["updateIndexingConfiguration"];

    fn api(&self) -> &'static str {
        "UpdateIndexingConfiguration"
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(IndexingConfiguration::KIND, SINGLETON)
    }

    fn action(&self) -> Action {
        Action::Update
    }

    fn check(&self) -> Result<(), Violation> {
        let IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration,
        } = self;
        indexing_configuration.check()
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        let IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration,
        } = self;
        let old = s
            .indexing_configurations
            .insert(SINGLETON.into(), indexing_configuration.clone());
        done(old.as_ref() != Some(indexing_configuration))
    }
}

impl fmt::Display for IndexingConfigurationChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration: c,
        } = self;
        write!(
            f,
            "update {}: things {}, thing groups {}",
            IndexingConfiguration::NOUN,
            c.thing_indexing_mode,
            c.thing_group_indexing_mode
        )?;
        if !c.custom_fields.is_empty() {
            write!(f, ", {} custom field(s)", c.custom_fields.len())?;
        }
        Ok(())
    }
}

/// The change for the configuration: the desired one written whole where the target's
/// differs or is absent; nothing where the source has none.
pub(crate) fn diff(
    _ctx: &Ctx<'_>,
    b: &mut Builder,
    _name: &Name,
    d: Option<&IndexingConfiguration>,
    a: Option<&IndexingConfiguration>,
) {
    if let Some(d) = d
        && a != Some(d)
    {
        b.push(
            stage::DEFINITIONS,
            0,
            Change::IndexingConfiguration(
                IndexingConfigurationChange::UpdateIndexingConfiguration {
                    indexing_configuration: d.clone(),
                },
            ),
        );
    }
}
