//! The operations on topic rules, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{TopicRule, check_payload};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to a topic rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum TopicRuleChange {
    /// `CreateTopicRule`, with its tags.
    CreateTopicRule {
        /// The rule as it should be (its actions already rewritten for the target).
        topic_rule: TopicRule,
    },
    /// `ReplaceTopicRule`: the whole payload (SQL, actions, error action, enabled),
    /// tags apart.
    ReplaceTopicRule {
        /// The rule as it should be (its tags are not sent).
        topic_rule: TopicRule,
    },
    /// `DeleteTopicRule`.
    DeleteTopicRule {
        /// Rule name.
        rule_name: Name,
    },
}

impl TopicRuleChange {
    fn name(&self) -> &Name {
        match self {
            TopicRuleChange::CreateTopicRule { topic_rule }
            | TopicRuleChange::ReplaceTopicRule { topic_rule } => &topic_rule.rule_name,
            TopicRuleChange::DeleteTopicRule { rule_name } => rule_name,
        }
    }
}

/// Whether an existing rule has the payload a wanted one would send (tags are compared
/// apart, as they are applied apart).
pub fn same_topic_rule(existing: &TopicRule, wanted: &TopicRule) -> bool {
    existing.sql == wanted.sql
        && existing.description == wanted.description
        && existing.aws_iot_sql_version == wanted.aws_iot_sql_version
        && existing.rule_disabled == wanted.rule_disabled
        && existing.actions == wanted.actions
        && existing.error_action == wanted.error_action
}

impl KindChange for TopicRuleChange {
    const OPS: &'static [&'static str] =
        &["createTopicRule", "replaceTopicRule", "deleteTopicRule"];

    fn api(&self) -> &'static str {
        match self {
            TopicRuleChange::CreateTopicRule { .. } => "CreateTopicRule",
            TopicRuleChange::ReplaceTopicRule { .. } => "ReplaceTopicRule",
            TopicRuleChange::DeleteTopicRule { .. } => "DeleteTopicRule",
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(TopicRule::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            TopicRuleChange::CreateTopicRule { .. } => Action::Create,
            TopicRuleChange::ReplaceTopicRule { .. } => Action::Update,
            TopicRuleChange::DeleteTopicRule { .. } => Action::Delete,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        match self {
            TopicRuleChange::CreateTopicRule { topic_rule } => topic_rule.check(),
            TopicRuleChange::ReplaceTopicRule { topic_rule } => check_payload(topic_rule),
            TopicRuleChange::DeleteTopicRule { rule_name } => {
                constraints::own_name(&constraints::Ctx::new(TopicRule::KIND, rule_name))
            }
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            TopicRuleChange::CreateTopicRule { topic_rule } => {
                let name = &topic_rule.rule_name;
                if let Some(existing) = s.topic_rules.get(name) {
                    return if same_topic_rule(existing, topic_rule) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "topic rule {name} already exists with another payload"
                        )))
                    };
                }
                s.topic_rules.insert(name.clone(), topic_rule.clone());
                done(true)
            }
            TopicRuleChange::ReplaceTopicRule { topic_rule } => {
                let name = &topic_rule.rule_name;
                let r = s
                    .topic_rules
                    .get_mut(name)
                    .ok_or_else(|| not_found(format!("topic rule {name} does not exist")))?;
                let changed = !same_topic_rule(r, topic_rule);
                let tags = std::mem::take(&mut r.tags);
                *r = TopicRule {
                    tags,
                    ..topic_rule.clone()
                };
                done(changed)
            }
            TopicRuleChange::DeleteTopicRule { rule_name } => {
                done(s.topic_rules.remove(rule_name).is_some())
            }
        }
    }
}

impl fmt::Display for TopicRuleChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            TopicRuleChange::CreateTopicRule { .. } => "create",
            TopicRuleChange::ReplaceTopicRule { .. } => "replace",
            TopicRuleChange::DeleteTopicRule { .. } => "delete",
        };
        write!(f, "{verb} {} {}", TopicRule::NOUN, self.name())?;
        match self {
            TopicRuleChange::CreateTopicRule { topic_rule }
            | TopicRuleChange::ReplaceTopicRule { topic_rule } => {
                let types = topic_rule.action_types();
                if !types.is_empty() {
                    write!(f, " ({})", types.join(", "))?;
                }
                if topic_rule.rule_disabled {
                    write!(f, ", disabled")?;
                }
                Ok(())
            }
            TopicRuleChange::DeleteTopicRule { .. } => Ok(()),
        }
    }
}
