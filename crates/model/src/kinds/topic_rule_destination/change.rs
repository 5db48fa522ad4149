//! The operations on topic rule destinations, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DestinationStatus, TopicRuleDestination};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to a topic rule destination, named by its confirmation URL (the AWS backend
/// finds the target's ARN for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum TopicRuleDestinationChange {
    /// `CreateTopicRuleDestination`: it starts `IN_PROGRESS`, awaiting its endpoint.
    CreateTopicRuleDestination {
        /// Confirmation URL.
        confirmation_url: Name,
    },
    /// `UpdateTopicRuleDestination`: enable or disable a confirmed destination.
    UpdateTopicRuleDestination {
        /// Confirmation URL.
        confirmation_url: Name,
        /// `ENABLED` or `DISABLED`.
        status: DestinationStatus,
    },
    /// `DeleteTopicRuleDestination`.
    DeleteTopicRuleDestination {
        /// Confirmation URL.
        confirmation_url: Name,
    },
}

impl TopicRuleDestinationChange {
    fn url(&self) -> &Name {
        match self {
            TopicRuleDestinationChange::CreateTopicRuleDestination { confirmation_url }
            | TopicRuleDestinationChange::UpdateTopicRuleDestination {
                confirmation_url, ..
            }
            | TopicRuleDestinationChange::DeleteTopicRuleDestination { confirmation_url } => {
                confirmation_url
            }
        }
    }
}

impl KindChange for TopicRuleDestinationChange {
    const OPS: &'static [&'static str] = &[
        "createTopicRuleDestination",
        "updateTopicRuleDestination",
        "deleteTopicRuleDestination",
    ];

    fn api(&self) -> &'static str {
        match self {
            TopicRuleDestinationChange::CreateTopicRuleDestination { .. } => {
                "CreateTopicRuleDestination"
            }
            TopicRuleDestinationChange::UpdateTopicRuleDestination { .. } => {
                "UpdateTopicRuleDestination"
            }
            TopicRuleDestinationChange::DeleteTopicRuleDestination { .. } => {
                "DeleteTopicRuleDestination"
            }
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(TopicRuleDestination::KIND, self.url().clone())
    }

    fn action(&self) -> Action {
        match self {
            TopicRuleDestinationChange::CreateTopicRuleDestination { .. } => Action::Create,
            TopicRuleDestinationChange::UpdateTopicRuleDestination { .. } => Action::Update,
            TopicRuleDestinationChange::DeleteTopicRuleDestination { .. } => Action::Delete,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(TopicRuleDestination::KIND, self.url());
        constraints::own_name(&c)?;
        match self {
            TopicRuleDestinationChange::UpdateTopicRuleDestination { status, .. }
                if !status.is_confirmed() =>
            {
                Err(c.err(
                    "status",
                    format!(
                        "is {} (only ENABLED or DISABLED can be set)",
                        status.as_str()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            TopicRuleDestinationChange::CreateTopicRuleDestination { confirmation_url } => {
                if s.topic_rule_destinations.contains_key(confirmation_url) {
                    return done(false);
                }
                s.topic_rule_destinations.insert(
                    confirmation_url.clone(),
                    TopicRuleDestination {
                        confirmation_url: confirmation_url.clone(),
                        status: DestinationStatus::InProgress,
                    },
                );
                done(true)
            }
            TopicRuleDestinationChange::UpdateTopicRuleDestination {
                confirmation_url,
                status,
            } => {
                let d = s
                    .topic_rule_destinations
                    .get_mut(confirmation_url)
                    .ok_or_else(|| {
                        not_found(format!(
                            "topic rule destination {confirmation_url} does not exist"
                        ))
                    })?;
                if !d.status.is_confirmed() {
                    return Err(conflict(format!(
                        "topic rule destination {confirmation_url} is {} (its endpoint has not \
                         confirmed it)",
                        d.status.as_str()
                    )));
                }
                let changed = d.status != *status;
                d.status = *status;
                done(changed)
            }
            TopicRuleDestinationChange::DeleteTopicRuleDestination { confirmation_url } => {
                done(s.topic_rule_destinations.remove(confirmation_url).is_some())
            }
        }
    }
}

impl fmt::Display for TopicRuleDestinationChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = TopicRuleDestination::NOUN;
        let url = self.url();
        match self {
            TopicRuleDestinationChange::CreateTopicRuleDestination { .. } => {
                write!(f, "create {noun} {url} (to be confirmed by its endpoint)")
            }
            TopicRuleDestinationChange::UpdateTopicRuleDestination { status, .. } => {
                write!(f, "update {noun} {url} to {}", status.as_str())
            }
            TopicRuleDestinationChange::DeleteTopicRuleDestination { .. } => {
                write!(f, "delete {noun} {url}")
            }
        }
    }
}
