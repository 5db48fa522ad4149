//! The registry event configuration (`DescribeEventConfigurations`,
//! `UpdateEventConfigurations`): which registry events a region publishes to
//! `$aws/events/...`, one per registry, named [`SINGLETON`]. The source publishes the
//! events iot-crr carries; the standby needs them too for fail-back (replicating the
//! other way) and for active-active.
//!
//! Each event type the source names is compared; a type the source does not name is
//! left as the target has it (AWS adds event types over time). There is nothing to
//! delete.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::apply::{ApplyError, Outcome, done};
use crate::constraints::{self, Violation};
use crate::diff::{Builder, Ctx, stage};
use crate::kinds::{KindChange, KindSpec, SINGLETON, check_singleton};
use crate::plan::{Action, Change};
use crate::resource::{Kind, Name, Resource, ResourceKey, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// The event types of `UpdateEventConfigurations` as of 2026 (`EventType`).
pub const EVENT_TYPES: &[&str] = &[
    "THING",
    "THING_GROUP",
    "THING_TYPE",
    "THING_GROUP_MEMBERSHIP",
    "THING_GROUP_HIERARCHY",
    "THING_TYPE_ASSOCIATION",
    "JOB",
    "JOB_EXECUTION",
    "POLICY",
    "CERTIFICATE",
    "CA_CERTIFICATE",
];

/// The event configuration of a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventConfigurations {
    /// Always [`SINGLETON`].
    pub name: Name,
    /// Event type to whether it is enabled.
    #[serde(default)]
    pub events: BTreeMap<Name, bool>,
}

impl KindSpec for EventConfigurations {
    const KIND: Kind = Kind::EventConfigurations;
    const TAG: &'static str = "eventConfigurations";
    const NOUN: &'static str = "registry event configuration";
    const PLURAL: &'static str = "registry event configurations";
    const NAME_FIELD: &'static str = "name";
    const ARN_TYPE: &'static str = "";
    const TAGGABLE: bool = false;
    const ALIASES: &'static [&'static str] = &["events", "eventconfiguration"];

    fn name(&self) -> &Name {
        &self.name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.event_configurations
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.event_configurations
    }

    fn count(c: &Counts) -> usize {
        c.event_configurations
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.event_configurations
    }

    fn into_resource(self) -> Resource {
        Resource::EventConfigurations(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::EventConfigurations(self)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.name);
        check_singleton(&c, &self.name)?;
        check_types(&c, &self.events)
    }
}

/// Event types are upper-case words and `_` (a type newer than [`EVENT_TYPES`] passes).
fn check_types(c: &constraints::Ctx<'_>, events: &BTreeMap<Name, bool>) -> Result<(), Violation> {
    for t in events.keys() {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return Err(c.err(
                "events",
                format!("holds {t:?}, not an event type (such as THING or THING_GROUP_MEMBERSHIP)"),
            ));
        }
    }
    Ok(())
}

/// A write to the event configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum EventConfigurationsChange {
    /// `UpdateEventConfigurations` of the event types that differ.
    UpdateEventConfigurations {
        /// Event type to whether it should be enabled.
        events: BTreeMap<Name, bool>,
    },
}

impl KindChange for EventConfigurationsChange {
    const OPS: &'static [&'static str] = &["updateEventConfigurations"];

    fn api(&self) -> &'static str {
        "UpdateEventConfigurations"
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(EventConfigurations::KIND, SINGLETON)
    }

    fn action(&self) -> Action {
        Action::Update
    }

    fn check(&self) -> Result<(), Violation> {
        let EventConfigurationsChange::UpdateEventConfigurations { events } = self;
        check_types(
            &constraints::Ctx::new(EventConfigurations::KIND, SINGLETON),
            events,
        )
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        let EventConfigurationsChange::UpdateEventConfigurations { events } = self;
        let config = s
            .event_configurations
            .entry(SINGLETON.into())
            .or_insert_with(|| EventConfigurations {
                name: SINGLETON.into(),
                events: BTreeMap::new(),
            });
        let mut changed = false;
        for (t, on) in events {
            changed |= config.events.insert(t.clone(), *on) != Some(*on);
        }
        done(changed)
    }
}

impl fmt::Display for EventConfigurationsChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EventConfigurationsChange::UpdateEventConfigurations { events } = self;
        let list = |on: bool| {
            events
                .iter()
                .filter(|(_, v)| **v == on)
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "update {}", EventConfigurations::NOUN)?;
        let (enable, disable) = (list(true), list(false));
        if !enable.is_empty() {
            write!(f, ": enable {enable}")?;
        }
        if !disable.is_empty() {
            write!(
                f,
                "{} disable {disable}",
                if enable.is_empty() { ":" } else { ";" }
            )?;
        }
        Ok(())
    }
}

/// The change for the configuration: the event types the source names whose setting
/// the target lacks or differs in.
pub(crate) fn diff(
    _ctx: &Ctx<'_>,
    b: &mut Builder,
    _name: &Name,
    d: Option<&EventConfigurations>,
    a: Option<&EventConfigurations>,
) {
    let Some(d) = d else {
        return;
    };
    let events: BTreeMap<Name, bool> = d
        .events
        .iter()
        .filter(|(t, on)| a.and_then(|a| a.events.get(*t)) != Some(*on))
        .map(|(t, on)| (t.clone(), *on))
        .collect();
    if !events.is_empty() {
        b.push(
            stage::DEFINITIONS,
            0,
            Change::EventConfigurations(EventConfigurationsChange::UpdateEventConfigurations {
                events,
            }),
        );
    }
}
