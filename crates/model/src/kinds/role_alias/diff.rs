//! What turns a target's role alias into the desired one.

use super::{RoleAlias, RoleAliasChange};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

fn subject(name: &Name) -> String {
    format!("{} {name}", RoleAlias::NOUN)
}

/// The changes for one role alias: created with its tags and its role ARN rewritten for
/// the target, role or duration updated, tags set and removed, deleted with `--prune`.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&RoleAlias>,
    a: Option<&RoleAlias>,
) {
    let push = |b: &mut Builder, base, change| b.push(base, 0, Change::RoleAlias(change));
    match (d, a) {
        (Some(d), None) => {
            let role_arn = b.arn_for_target(ctx, &subject(name), &d.role_arn);
            let role_alias = RoleAlias {
                role_arn,
                tags: b.tags(&d.tags),
                ..d.clone()
            };
            push(
                b,
                stage::DEFINITIONS,
                RoleAliasChange::CreateRoleAlias { role_alias },
            )
        }
        (Some(d), Some(a)) => {
            let role_arn = b.arn_for_target(ctx, &subject(name), &d.role_arn);
            if role_arn != a.role_arn
                || d.credential_duration_seconds != a.credential_duration_seconds
            {
                push(
                    b,
                    stage::DEFINITIONS,
                    RoleAliasChange::UpdateRoleAlias {
                        role_alias: name.clone(),
                        role_arn,
                        credential_duration_seconds: d.credential_duration_seconds,
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(RoleAlias::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(_)) => {
            if ctx.pruned(RoleAlias::KIND, name) {
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    RoleAliasChange::DeleteRoleAlias {
                        role_alias: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
