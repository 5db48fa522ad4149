//! What turns a target's billing group into the desired one.

use super::{BillingGroup, BillingGroupChange};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

/// The changes for one billing group: created with its tags, its description updated,
/// tags set and removed, deleted with `--prune` when the desired state lacks it.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&BillingGroup>,
    a: Option<&BillingGroup>,
) {
    let push = |b: &mut Builder, base, change| b.push(base, 0, Change::BillingGroup(change));
    match (d, a) {
        (Some(d), None) => {
            let tags = b.tags(&d.tags);
            push(
                b,
                stage::DEFINITIONS,
                BillingGroupChange::CreateBillingGroup {
                    billing_group: BillingGroup { tags, ..d.clone() },
                },
            )
        }
        (Some(d), Some(a)) => {
            if d.billing_group_description != a.billing_group_description {
                push(
                    b,
                    stage::DEFINITIONS,
                    BillingGroupChange::UpdateBillingGroup {
                        billing_group_name: name.clone(),
                        billing_group_description: d.billing_group_description.clone(),
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(BillingGroup::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(_)) => {
            if ctx.pruned(BillingGroup::KIND, name) {
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    BillingGroupChange::DeleteBillingGroup {
                        billing_group_name: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
