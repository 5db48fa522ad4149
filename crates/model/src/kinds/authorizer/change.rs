//! The operations on authorizers, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Authorizer, AuthorizerStatus, check_fields};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to an authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AuthorizerChange {
    /// `CreateAuthorizer`, with its tags (then `SetDefaultAuthorizer` when it is the
    /// default: a change of its own).
    CreateAuthorizer {
        /// The authorizer as it should be (its function ARN already for the target;
        /// `default` is set apart).
        authorizer: Authorizer,
    },
    /// `UpdateAuthorizer`: function, token key name, signing keys, status, caching.
    UpdateAuthorizer {
        /// Authorizer name.
        authorizer_name: Name,
        /// The function ARN.
        authorizer_function_arn: String,
        /// The token key name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_key_name: Option<String>,
        /// The signing keys.
        #[serde(default, skip_serializing_if = "StringMap::is_empty")]
        token_signing_public_keys: StringMap,
        /// The status.
        status: AuthorizerStatus,
        /// HTTP caching.
        #[serde(default)]
        enable_caching_for_http: bool,
    },
    /// `SetDefaultAuthorizer`.
    SetDefaultAuthorizer {
        /// Authorizer name.
        authorizer_name: Name,
    },
    /// `ClearDefaultAuthorizer`, when this authorizer is the default.
    ClearDefaultAuthorizer {
        /// The authorizer that is the default now.
        authorizer_name: Name,
    },
    /// `DeleteAuthorizer` (AWS IoT refuses while it is the default or a domain
    /// configuration uses it).
    DeleteAuthorizer {
        /// Authorizer name.
        authorizer_name: Name,
    },
}

impl AuthorizerChange {
    fn name(&self) -> &Name {
        match self {
            AuthorizerChange::CreateAuthorizer { authorizer } => &authorizer.authorizer_name,
            AuthorizerChange::UpdateAuthorizer {
                authorizer_name, ..
            }
            | AuthorizerChange::SetDefaultAuthorizer { authorizer_name }
            | AuthorizerChange::ClearDefaultAuthorizer { authorizer_name }
            | AuthorizerChange::DeleteAuthorizer { authorizer_name } => authorizer_name,
        }
    }
}

/// Whether an existing authorizer is the one `CreateAuthorizer` would make (tags and
/// the default flag are compared apart, as they are applied apart).
pub fn same_authorizer(existing: &Authorizer, wanted: &Authorizer) -> bool {
    existing.authorizer_function_arn == wanted.authorizer_function_arn
        && existing.token_key_name == wanted.token_key_name
        && existing.token_signing_public_keys == wanted.token_signing_public_keys
        && existing.status == wanted.status
        && existing.signing_disabled == wanted.signing_disabled
        && existing.enable_caching_for_http == wanted.enable_caching_for_http
}

impl KindChange for AuthorizerChange {
    const OPS: &'static [&'static str] = &[
        "createAuthorizer",
        "updateAuthorizer",
        "setDefaultAuthorizer",
        "clearDefaultAuthorizer",
        "deleteAuthorizer",
    ];

    fn api(&self) -> &'static str {
        match self {
            AuthorizerChange::CreateAuthorizer { .. } => "CreateAuthorizer",
            AuthorizerChange::UpdateAuthorizer { .. } => "UpdateAuthorizer",
            AuthorizerChange::SetDefaultAuthorizer { .. } => "SetDefaultAuthorizer",
            AuthorizerChange::ClearDefaultAuthorizer { .. } => "ClearDefaultAuthorizer",
            AuthorizerChange::DeleteAuthorizer { .. } => "DeleteAuthorizer",
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(Authorizer::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            AuthorizerChange::CreateAuthorizer { .. } => Action::Create,
            AuthorizerChange::DeleteAuthorizer { .. } => Action::Delete,
            _ => Action::Update,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        match self {
            AuthorizerChange::CreateAuthorizer { authorizer } => authorizer.check(),
            AuthorizerChange::UpdateAuthorizer {
                authorizer_name,
                authorizer_function_arn,
                token_key_name,
                token_signing_public_keys,
                ..
            } => check_fields(
                authorizer_name,
                authorizer_function_arn,
                token_key_name.as_deref(),
                token_signing_public_keys,
            ),
            _ => constraints::own_name(&constraints::Ctx::new(Authorizer::KIND, self.name())),
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        let name = self.name();
        match self {
            AuthorizerChange::CreateAuthorizer { authorizer } => {
                if let Some(existing) = s.authorizers.get(name) {
                    return if same_authorizer(existing, authorizer) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "authorizer {name} already exists with other properties"
                        )))
                    };
                }
                let mut a = authorizer.clone();
                a.default = false;
                s.authorizers.insert(name.clone(), a);
                done(true)
            }
            AuthorizerChange::UpdateAuthorizer {
                authorizer_function_arn,
                token_key_name,
                token_signing_public_keys,
                status,
                enable_caching_for_http,
                ..
            } => {
                let a = s
                    .authorizers
                    .get_mut(name)
                    .ok_or_else(|| not_found(format!("authorizer {name} does not exist")))?;
                let before = a.clone();
                a.authorizer_function_arn = authorizer_function_arn.clone();
                a.token_key_name = token_key_name.clone();
                a.token_signing_public_keys = token_signing_public_keys.clone();
                a.status = *status;
                a.enable_caching_for_http = *enable_caching_for_http;
                done(*a != before)
            }
            AuthorizerChange::SetDefaultAuthorizer { .. } => {
                if !s.authorizers.contains_key(name) {
                    return Err(not_found(format!("authorizer {name} does not exist")));
                }
                let mut changed = false;
                for (n, a) in s.authorizers.iter_mut() {
                    let want = n == name;
                    changed |= a.default != want;
                    a.default = want;
                }
                done(changed)
            }
            AuthorizerChange::ClearDefaultAuthorizer { .. } => {
                let mut changed = false;
                for a in s.authorizers.values_mut() {
                    changed |= a.default;
                    a.default = false;
                }
                done(changed)
            }
            AuthorizerChange::DeleteAuthorizer { .. } => match s.authorizers.get(name) {
                None => done(false),
                Some(a) if a.default => Err(conflict(format!(
                    "authorizer {name} is the default authorizer: clear it first"
                ))),
                Some(_) => done(s.authorizers.remove(name).is_some()),
            },
        }
    }
}

impl fmt::Display for AuthorizerChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            AuthorizerChange::CreateAuthorizer { authorizer } => write!(
                f,
                "create authorizer {name} for {} ({})",
                authorizer.authorizer_function_arn,
                authorizer.status.as_str()
            ),
            AuthorizerChange::UpdateAuthorizer {
                authorizer_function_arn,
                status,
                ..
            } => write!(
                f,
                "update authorizer {name} to {authorizer_function_arn} ({})",
                status.as_str()
            ),
            AuthorizerChange::SetDefaultAuthorizer { .. } => {
                write!(f, "make authorizer {name} the default")
            }
            AuthorizerChange::ClearDefaultAuthorizer { .. } => {
                write!(f, "clear the default authorizer {name}")
            }
            AuthorizerChange::DeleteAuthorizer { .. } => write!(f, "delete authorizer {name}"),
        }
    }
}
