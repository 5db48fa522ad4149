//! Topic rules: `ListTopicRules`, `GetTopicRule`, `CreateTopicRule` (with tags),
//! `ReplaceTopicRule`, `DeleteTopicRule`; tags through `ListTagsForResource` on the
//! rule's ARN.
//!
//! The rule's payload is read and sent as AWS IoT's JSON ([`crate::raw`]): the SDK's
//! typed actions would drop an action type newer than its model. `EnableTopicRule` and
//! `DisableTopicRule` are not needed: `ReplaceTopicRule` sends `ruleDisabled` with the
//! rest.
//!
//! moto (5.2.1) implements the five calls and keeps the payload as sent; its
//! `ListTopicRules` has no paging (one page of every rule), it keeps no tags for rules,
//! and a rule created without `awsIotSqlVersion` gets `2016-03-23` there (AWS:
//! `2015-10-08`; iot-crr always sends the source's).

use std::sync::Arc;

use aws_sdk_iot::types::TopicRulePayload;
use iot_crr_model::{
    Kind, Name, Outcome, Resource, ResourceKey, TopicRule, TopicRuleChange, same_topic_rule,
};
use iot_crr_registry::{ErrorClass, KeyPage, ReadRequest, RegistryError, Result};

use crate::raw::{KeepBody, SendBody, tagging_header};
use crate::read::page;
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListTopicRules` returns.
const TOPIC_RULE_PAGE: i32 = 10_000;

/// The typed payload the SDK insists on building; [`SendBody`] replaces what it
/// serialises by the rule's JSON.
fn placeholder(rule: &TopicRule, api: &str) -> Result<TopicRulePayload> {
    TopicRulePayload::builder()
        .sql(&rule.sql)
        .set_actions(Some(Vec::new()))
        .build()
        .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()).with_api(api))
}

/// The rule's payload as the request body.
fn body(rule: &TopicRule) -> Arc<Vec<u8>> {
    Arc::new(rule.payload().to_string().into_bytes())
}

impl AwsRegistry {
    /// `GetTopicRule`: the rule without its tags, and its ARN; `None` when absent.
    async fn get_topic_rule(&self, name: &str) -> Result<Option<(TopicRule, Option<String>)>> {
        let kept = KeepBody::default();
        let Some(out) = found(
            self.call("GetTopicRule", || {
                self.client
                    .get_topic_rule()
                    .rule_name(name)
                    .customize()
                    .interceptor(kept.clone())
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let unreadable = |why: String| {
            RegistryError::new(
                ErrorClass::Other,
                format!("GetTopicRule answered for topic rule {name} with {why}"),
            )
            .with_api("GetTopicRule")
        };
        let json = kept
            .json()
            .ok_or_else(|| unreadable("a body that is not JSON".into()))?;
        let rule =
            TopicRule::from_api(name, &json).map_err(|e| unreadable(format!("a rule that {e}")))?;
        let arn = out.rule_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((rule, arn)))
    }

    /// One topic rule with its tags.
    pub(crate) async fn read_topic_rule(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut rule, arn)) = self.get_topic_rule(name).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            rule.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::TopicRule(rule)))
    }

    /// The ARN of a topic rule, `None` when it does not exist.
    pub(crate) async fn topic_rule_arn(&self, name: &str) -> Result<Option<String>> {
        Ok(self.get_topic_rule(name).await?.and_then(|(_, a)| a))
    }

    /// One page of topic rule names.
    pub(crate) async fn topic_rule_keys(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListTopicRules", || {
                self.client
                    .list_topic_rules()
                    .max_results(size.clamp(1, TOPIC_RULE_PAGE))
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.rules()
                .iter()
                .filter_map(|r| r.rule_name())
                .map(|n| ResourceKey::new(Kind::TopicRule, n))
                .collect(),
            out.next_token(),
        ))
    }

    /// Every topic rule the filter selects, each read with its tags.
    pub(crate) async fn read_topic_rules(&self, req: &ReadRequest) -> Result<Vec<TopicRule>> {
        let mut names: Vec<Name> = Vec::new();
        let mut token = None;
        loop {
            let page = self.topic_rule_keys(token, TOPIC_RULE_PAGE).await?;
            names.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::TopicRule, n)),
            );
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let read = self
            .each(
                names,
                |name| async move { self.read_topic_rule(&name).await },
            )
            .await?;
        // A rule deleted between the list and its read is simply gone.
        Ok(read
            .into_iter()
            .flatten()
            .filter_map(|r| match r {
                Resource::TopicRule(t) => Some(t),
                _ => None,
            })
            .collect())
    }

    /// Applies a topic rule change, with the model's semantics.
    pub(crate) async fn apply_topic_rule(&self, change: &TopicRuleChange) -> Result<Outcome> {
        match change {
            TopicRuleChange::CreateTopicRule { topic_rule } => {
                let name = topic_rule.rule_name.as_str();
                let payload = placeholder(topic_rule, "CreateTopicRule")?;
                let sent = SendBody(body(topic_rule));
                let tags = (!topic_rule.tags.is_empty() && self.tags_enabled())
                    .then(|| tagging_header(topic_rule.tags.iter()));
                let r = self
                    .call("CreateTopicRule", || {
                        self.client
                            .create_topic_rule()
                            .rule_name(name)
                            .topic_rule_payload(payload.clone())
                            .set_tags(tags.clone())
                            .customize()
                            .interceptor(sent.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(_) => applied(),
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.get_topic_rule(name).await? {
                            Some((existing, _)) if same_topic_rule(&existing, topic_rule) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateTopicRule",
                                format!("topic rule {name} already exists with another payload"),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            TopicRuleChange::ReplaceTopicRule { topic_rule } => {
                let payload = placeholder(topic_rule, "ReplaceTopicRule")?;
                let sent = SendBody(body(topic_rule));
                self.call("ReplaceTopicRule", || {
                    self.client
                        .replace_topic_rule()
                        .rule_name(topic_rule.rule_name.as_str())
                        .topic_rule_payload(payload.clone())
                        .customize()
                        .interceptor(sent.clone())
                        .send()
                })
                .await?;
                applied()
            }
            TopicRuleChange::DeleteTopicRule { rule_name } => gone_ok(
                self.call("DeleteTopicRule", || {
                    self.client
                        .delete_topic_rule()
                        .rule_name(rule_name.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
