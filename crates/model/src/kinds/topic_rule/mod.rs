//! Topic rules (`CreateTopicRule`): the SQL that selects a device's messages and the
//! actions that carry them on (a Lambda function, an SNS topic, an SQS queue, a Kinesis
//! stream, a republish, ...), with the error action, the SQL version, whether the rule
//! is disabled, and tags.
//!
//! The actions are kept in AWS IoT's own JSON form (`{"lambda":{"functionArn":...}}`),
//! exactly as `GetTopicRule` returns them and `CreateTopicRule` takes them, so that every
//! action type AWS IoT has, including those newer than this build, is carried whole and
//! nothing is dropped. Going into the target, every value in them is rewritten: ARNs for
//! the target region and account, SQS queue URLs likewise, mappings (`--map-arn`)
//! applied; a regional endpoint or ARN region rewriting cannot place (an OpenSearch
//! domain's endpoint, an ACM certificate) is written as it is, with a warning. The
//! resources the actions name are outside AWS IoT and never created.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use change::{TopicRuleChange, same_topic_rule};
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// The SQL version AWS IoT gives a rule created without one.
pub const DEFAULT_SQL_VERSION: &str = "2015-10-08";
/// The SQL versions AWS IoT knows.
pub const SQL_VERSIONS: &[&str] = &["2015-10-08", "2016-03-23", "beta"];
/// How many actions a rule may have.
pub const MAX_ACTIONS: usize = 10;

fn default_sql_version() -> String {
    DEFAULT_SQL_VERSION.to_string()
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A topic rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicRule {
    /// `ruleName`.
    pub rule_name: Name,
    /// `sql`: the query that selects and shapes messages.
    pub sql: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `awsIotSqlVersion`.
    #[serde(default = "default_sql_version")]
    pub aws_iot_sql_version: String,
    /// `ruleDisabled`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rule_disabled: bool,
    /// `actions`, each an object of one action type (`{"sns":{...}}`) as AWS IoT's API
    /// spells it.
    #[serde(default)]
    pub actions: Vec<Value>,
    /// `errorAction`, in the same form (boxed: a JSON value is large, and rules are few
    /// beside the things a snapshot holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_action: Option<Box<Value>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl TopicRule {
    /// The `topicRulePayload` that `CreateTopicRule` and `ReplaceTopicRule` send.
    pub fn payload(&self) -> Value {
        let mut p = serde_json::Map::new();
        p.insert("sql".into(), Value::String(self.sql.clone()));
        p.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        p.insert("actions".into(), Value::Array(self.actions.clone()));
        p.insert("ruleDisabled".into(), Value::Bool(self.rule_disabled));
        p.insert(
            "awsIotSqlVersion".into(),
            Value::String(self.aws_iot_sql_version.clone()),
        );
        if let Some(e) = &self.error_action {
            p.insert("errorAction".into(), (**e).clone());
        }
        Value::Object(p)
    }

    /// The rule `GetTopicRule` describes (`{"ruleArn":...,"rule":{...}}`, or the `rule`
    /// object alone), without tags. An empty `errorAction` object (as some endpoints
    /// return for none) is none.
    pub fn from_api(name: &str, body: &Value) -> Result<TopicRule, String> {
        let rule = body.get("rule").unwrap_or(body);
        let text = |field: &str| rule.get(field).and_then(Value::as_str);
        let sql = text("sql").ok_or("has no sql")?.to_string();
        let actions = match rule.get("actions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(other) => return Err(format!("has actions that are not a list: {other}")),
        };
        let error_action = match rule.get("errorAction") {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) if o.is_empty() => None,
            Some(v) => Some(Box::new(v.clone())),
        };
        Ok(TopicRule {
            rule_name: name.into(),
            sql,
            description: text("description").unwrap_or_default().to_string(),
            aws_iot_sql_version: text("awsIotSqlVersion")
                .unwrap_or(DEFAULT_SQL_VERSION)
                .to_string(),
            rule_disabled: rule
                .get("ruleDisabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            actions,
            error_action,
            tags: StringMap::default(),
        })
    }

    /// The action types it uses (`lambda`, `sqs`), the error action's last.
    pub fn action_types(&self) -> Vec<&str> {
        self.actions
            .iter()
            .chain(self.error_action.as_deref())
            .filter_map(|a| a.as_object()?.keys().next().map(String::as_str))
            .collect()
    }
}

impl KindSpec for TopicRule {
    const KIND: Kind = Kind::TopicRule;
    const TAG: &'static str = "topicRule";
    const NOUN: &'static str = "topic rule";
    const PLURAL: &'static str = "topic rules";
    const NAME_FIELD: &'static str = "ruleName";
    const ARN_TYPE: &'static str = "rule";
    const TAGGABLE: bool = true;
    const ALIASES: &'static [&'static str] = &["rule"];

    fn name(&self) -> &Name {
        &self.rule_name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.topic_rules
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.topic_rules
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.topic_rules
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.topic_rules
    }

    fn into_resource(self) -> Resource {
        Resource::TopicRule(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::TopicRule(self)
    }

    fn check(&self) -> Result<(), Violation> {
        check_payload(self)?;
        let c = constraints::Ctx::new(Self::KIND, &self.rule_name);
        constraints::tags(&c, &self.tags)
    }
}

/// A rule name: 1 to 128 of `[a-zA-Z0-9_]`.
pub fn check_rule_name(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 {
        return Err(format!(
            "is {} characters long (AWS IoT allows 1 to 128)",
            value.chars().count()
        ));
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        Some(c) => Err(format!(
            "holds {c:?} (AWS IoT allows letters, digits and _)"
        )),
        None => Ok(()),
    }
}

/// One action: an object holding exactly one action type, whose value is an object.
fn check_action(value: &Value) -> Result<(), String> {
    match value.as_object() {
        Some(o) if o.len() == 1 && o.values().all(Value::is_object) => Ok(()),
        Some(o) if o.len() != 1 => Err(format!(
            "names {} action types (an action is an object of exactly one, such as \
             {{\"lambda\":{{\"functionArn\":...}}}})",
            o.len()
        )),
        _ => Err("is not an action object (such as {\"lambda\":{\"functionArn\":...}})".into()),
    }
}

/// The checks of what `CreateTopicRule` and `ReplaceTopicRule` send.
pub(crate) fn check_payload(rule: &TopicRule) -> Result<(), Violation> {
    let c = constraints::Ctx::new(TopicRule::KIND, &rule.rule_name);
    constraints::own_name(&c)?;
    if rule.sql.trim().is_empty() {
        return Err(c.err("sql", "is empty".into()));
    }
    if !SQL_VERSIONS.contains(&rule.aws_iot_sql_version.as_str()) {
        return Err(c.err(
            "awsIotSqlVersion",
            format!(
                "is {:?} (AWS IoT knows {})",
                rule.aws_iot_sql_version,
                SQL_VERSIONS.join(", ")
            ),
        ));
    }
    if rule.description.chars().count() > 2028 {
        return Err(c.err(
            "description",
            "is longer than 2028 characters (AWS IoT's limit)".into(),
        ));
    }
    if rule.actions.len() > MAX_ACTIONS {
        return Err(c.err(
            "actions",
            format!(
                "holds {} actions (AWS IoT allows {MAX_ACTIONS})",
                rule.actions.len()
            ),
        ));
    }
    for (i, a) in rule.actions.iter().enumerate() {
        check_action(a).map_err(|p| c.err(format_args!("actions[{i}]"), p))?;
    }
    if let Some(e) = &rule.error_action {
        check_action(e).map_err(|p| c.err("errorAction", p))?;
    }
    Ok(())
}
