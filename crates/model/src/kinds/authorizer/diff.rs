//! What turns a target's authorizer into the desired one.

use super::{Authorizer, AuthorizerChange};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

/// The sub-stage of the default's changes: after every authorizer's create and update.
const DEFAULT_SUB_STAGE: u32 = 1;

fn subject(name: &Name) -> String {
    format!("{} {name}", Authorizer::NOUN)
}

/// The changes for one authorizer: created with its tags and its function ARN for the
/// target, updated, made the default or no longer the default, tags set and removed;
/// with `--prune`, cleared as the default and deleted.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&Authorizer>,
    a: Option<&Authorizer>,
) {
    let push = |b: &mut Builder, base, sub, change| b.push(base, sub, Change::Authorizer(change));
    match (d, a) {
        (Some(d), None) => {
            let authorizer_function_arn =
                b.arn_for_target(ctx, &subject(name), &d.authorizer_function_arn);
            let authorizer = Authorizer {
                authorizer_function_arn,
                tags: b.tags(&d.tags),
                default: false,
                ..d.clone()
            };
            push(
                b,
                stage::DEFINITIONS,
                0,
                AuthorizerChange::CreateAuthorizer { authorizer },
            );
            if d.default {
                push(
                    b,
                    stage::DEFINITIONS,
                    DEFAULT_SUB_STAGE,
                    AuthorizerChange::SetDefaultAuthorizer {
                        authorizer_name: name.clone(),
                    },
                );
            }
        }
        (Some(d), Some(a)) => {
            let function = b.arn_for_target(ctx, &subject(name), &d.authorizer_function_arn);
            if function != a.authorizer_function_arn
                || d.token_key_name != a.token_key_name
                || d.token_signing_public_keys != a.token_signing_public_keys
                || d.status != a.status
                || d.enable_caching_for_http != a.enable_caching_for_http
            {
                push(
                    b,
                    stage::DEFINITIONS,
                    0,
                    AuthorizerChange::UpdateAuthorizer {
                        authorizer_name: name.clone(),
                        authorizer_function_arn: function,
                        token_key_name: d.token_key_name.clone(),
                        token_signing_public_keys: d.token_signing_public_keys.clone(),
                        status: d.status,
                        enable_caching_for_http: d.enable_caching_for_http,
                    },
                );
            }
            if d.signing_disabled != a.signing_disabled {
                b.warn(format!(
                    "authorizer {name}: signingDisabled is {} in the source and {} in the \
                     target, and AWS IoT sets it at creation only: delete the target's \
                     authorizer for iot-crr to create it again",
                    d.signing_disabled, a.signing_disabled
                ));
            }
            match (d.default, a.default) {
                (true, false) => push(
                    b,
                    stage::DEFINITIONS,
                    DEFAULT_SUB_STAGE,
                    AuthorizerChange::SetDefaultAuthorizer {
                        authorizer_name: name.clone(),
                    },
                ),
                (false, true) => push(
                    b,
                    stage::DEFINITIONS,
                    0,
                    AuthorizerChange::ClearDefaultAuthorizer {
                        authorizer_name: name.clone(),
                    },
                ),
                _ => {}
            }
            diff_tags(
                b,
                ResourceKey::new(Authorizer::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(a)) => {
            if ctx.pruned(Authorizer::KIND, name) {
                if a.default {
                    push(
                        b,
                        stage::PRUNE_DETACH,
                        0,
                        AuthorizerChange::ClearDefaultAuthorizer {
                            authorizer_name: name.clone(),
                        },
                    );
                }
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    0,
                    AuthorizerChange::DeleteAuthorizer {
                        authorizer_name: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
