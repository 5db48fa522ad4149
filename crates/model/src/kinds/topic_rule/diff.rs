//! What turns a target's topic rule into the desired one.

use serde_json::Value;

use super::{TopicRule, TopicRuleChange};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

fn subject(name: &Name) -> String {
    format!("{} {name}", TopicRule::NOUN)
}

/// An action (or any JSON value in it) as it goes into the target: every string in it
/// through [`Builder::value_for_target`], object keys kept.
fn for_target(b: &mut Builder, ctx: &Ctx<'_>, subject: &str, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(b.value_for_target(ctx, subject, s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| for_target(b, ctx, subject, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), for_target(b, ctx, subject, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The desired rule as the target should hold it: its actions and error action
/// rewritten and mapped for the target.
fn wanted(ctx: &Ctx<'_>, b: &mut Builder, d: &TopicRule) -> TopicRule {
    let subject = subject(&d.rule_name);
    TopicRule {
        actions: d
            .actions
            .iter()
            .map(|a| for_target(b, ctx, &subject, a))
            .collect(),
        error_action: d
            .error_action
            .as_ref()
            .map(|e| Box::new(for_target(b, ctx, &subject, e))),
        tags: b.tags(&d.tags),
        ..d.clone()
    }
}

/// The changes for one topic rule: created with its tags and its actions for the
/// target, replaced when its payload differs (SQL, actions, error action, enabled),
/// tags set and removed, deleted with `--prune`.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&TopicRule>,
    a: Option<&TopicRule>,
) {
    let push = |b: &mut Builder, base, change| b.push(base, 0, Change::TopicRule(change));
    match (d, a) {
        (Some(d), None) => {
            let topic_rule = wanted(ctx, b, d);
            push(
                b,
                stage::DEFINITIONS,
                TopicRuleChange::CreateTopicRule { topic_rule },
            )
        }
        (Some(d), Some(a)) => {
            let topic_rule = wanted(ctx, b, d);
            if !super::same_topic_rule(a, &topic_rule) {
                push(
                    b,
                    stage::DEFINITIONS,
                    TopicRuleChange::ReplaceTopicRule {
                        topic_rule: TopicRule {
                            tags: Default::default(),
                            ..topic_rule
                        },
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(TopicRule::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(_)) => {
            if ctx.pruned(TopicRule::KIND, name) {
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    TopicRuleChange::DeleteTopicRule {
                        rule_name: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
