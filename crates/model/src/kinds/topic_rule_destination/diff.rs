//! What turns a target's topic rule destination into the desired one.

use super::{TopicRuleDestination, TopicRuleDestinationChange};
use crate::diff::{Builder, Ctx, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::Name;

/// A pruned destination goes after the topic rules that may send to it.
const PRUNE_SUB_STAGE: u32 = 1;

/// The changes for one destination: created (to be confirmed by its endpoint), enabled
/// or disabled as the source once confirmed, deleted with `--prune`. One the target's
/// endpoint has not confirmed yet is named in a warning.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    url: &Name,
    d: Option<&TopicRuleDestination>,
    a: Option<&TopicRuleDestination>,
) {
    let push = |b: &mut Builder, base, sub, change| {
        b.push(base, sub, Change::TopicRuleDestination(change))
    };
    let unconfirmed = |b: &mut Builder| {
        b.warn(format!(
            "{} {url} awaits confirmation by its endpoint in the target (AWS IoT sent it a \
             confirmation request; confirm it there, or with ConfirmTopicRuleDestination): \
             until then the topic rules' http actions to it do not send",
            TopicRuleDestination::NOUN
        ))
    };
    match (d, a) {
        (Some(_), None) => {
            push(
                b,
                stage::DEFINITIONS,
                0,
                TopicRuleDestinationChange::CreateTopicRuleDestination {
                    confirmation_url: url.clone(),
                },
            );
            unconfirmed(b);
        }
        (Some(d), Some(a)) => {
            if !a.status.is_confirmed() {
                unconfirmed(b);
            } else if d.status.is_confirmed() && d.status != a.status {
                push(
                    b,
                    stage::DEFINITIONS,
                    0,
                    TopicRuleDestinationChange::UpdateTopicRuleDestination {
                        confirmation_url: url.clone(),
                        status: d.status,
                    },
                );
            }
        }
        (None, Some(_)) => {
            if ctx.pruned(TopicRuleDestination::KIND, url) {
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    PRUNE_SUB_STAGE,
                    TopicRuleDestinationChange::DeleteTopicRuleDestination {
                        confirmation_url: url.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
