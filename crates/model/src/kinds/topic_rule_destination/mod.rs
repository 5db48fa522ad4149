//! HTTP topic rule destinations (`CreateTopicRuleDestination`): the HTTPS endpoints the
//! `http` actions of topic rules may send to, each confirmed by its endpoint before AWS
//! IoT uses it.
//!
//! A destination's ARN ends in an id the region draws, so destinations are keyed by their
//! confirmation URL, which is the same in both regions. A destination created in the
//! target starts `IN_PROGRESS`: AWS IoT sends the endpoint a confirmation request, and it
//! is enabled only once the endpoint (or its operator, with
//! `ConfirmTopicRuleDestination`) answers with the token; iot-crr cannot confirm for it,
//! and says so in the plan. Its status (enabled or disabled) follows the source once
//! confirmed. VPC destinations name subnets, security groups and a VPC of their region,
//! which have no counterpart by name in another: they are not replicated.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::TopicRuleDestinationChange;
pub(crate) use diff::diff;

use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// A destination's status (`TopicRuleDestinationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DestinationStatus {
    /// Confirmed and in use.
    Enabled,
    /// Confirmed, not in use.
    Disabled,
    /// Awaiting its endpoint's confirmation.
    InProgress,
    /// Confirmation failed.
    Error,
    /// Being deleted.
    Deleting,
}

impl DestinationStatus {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationStatus::Enabled => "ENABLED",
            DestinationStatus::Disabled => "DISABLED",
            DestinationStatus::InProgress => "IN_PROGRESS",
            DestinationStatus::Error => "ERROR",
            DestinationStatus::Deleting => "DELETING",
        }
    }

    /// Whether the endpoint has confirmed it (its status may then be set).
    pub fn is_confirmed(self) -> bool {
        matches!(
            self,
            DestinationStatus::Enabled | DestinationStatus::Disabled
        )
    }
}

/// An HTTP topic rule destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicRuleDestination {
    /// `httpUrlConfiguration.confirmationUrl`: its key.
    pub confirmation_url: Name,
    /// `status`.
    pub status: DestinationStatus,
}

impl KindSpec for TopicRuleDestination {
    const KIND: Kind = Kind::TopicRuleDestination;
    const TAG: &'static str = "topicRuleDestination";
    const NOUN: &'static str = "topic rule destination";
    const PLURAL: &'static str = "topic rule destinations";
    const NAME_FIELD: &'static str = "confirmationUrl";
    const ARN_TYPE: &'static str = "ruledestination";
    const TAGGABLE: bool = false;
    const ALIASES: &'static [&'static str] = &["destination", "ruledestination"];

    fn name(&self) -> &Name {
        &self.confirmation_url
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.topic_rule_destinations
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.topic_rule_destinations
    }

    fn count(c: &Counts) -> usize {
        c.topic_rule_destinations
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.topic_rule_destinations
    }

    fn into_resource(self) -> Resource {
        Resource::TopicRuleDestination(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::TopicRuleDestination(self)
    }

    fn check(&self) -> Result<(), Violation> {
        constraints::own_name(&constraints::Ctx::new(Self::KIND, &self.confirmation_url))
    }
}

/// A confirmation URL: `https://`, at most 2000 characters.
pub fn check_confirmation_url(value: &str) -> Result<(), String> {
    if value.len() > 2000 {
        return Err(format!(
            "is {} characters long (AWS IoT allows 2000)",
            value.len()
        ));
    }
    match value.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.chars().any(char::is_whitespace) => Ok(()),
        _ => Err("is not an https:// URL".into()),
    }
}
