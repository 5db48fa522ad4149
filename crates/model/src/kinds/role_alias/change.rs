//! The operations on role aliases, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{RoleAlias, check_fields};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to a role alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RoleAliasChange {
    /// `CreateRoleAlias`, with its tags.
    CreateRoleAlias {
        /// The alias as it should be (its role ARN already rewritten for the target).
        role_alias: RoleAlias,
    },
    /// `UpdateRoleAlias`: the role and the credential duration.
    UpdateRoleAlias {
        /// Alias name.
        role_alias: Name,
        /// The new role ARN.
        role_arn: String,
        /// The new credential duration.
        credential_duration_seconds: u32,
    },
    /// `DeleteRoleAlias`.
    DeleteRoleAlias {
        /// Alias name.
        role_alias: Name,
    },
}

impl RoleAliasChange {
    fn name(&self) -> &Name {
        match self {
            RoleAliasChange::CreateRoleAlias { role_alias } => &role_alias.role_alias,
            RoleAliasChange::UpdateRoleAlias { role_alias, .. }
            | RoleAliasChange::DeleteRoleAlias { role_alias } => role_alias,
        }
    }
}

/// Whether an existing role alias is the one `CreateRoleAlias` would make (tags are
/// compared apart, as they are applied apart).
pub fn same_role_alias(existing: &RoleAlias, wanted: &RoleAlias) -> bool {
    existing.role_arn == wanted.role_arn
        && existing.credential_duration_seconds == wanted.credential_duration_seconds
}

impl KindChange for RoleAliasChange {
    const OPS: &'static [&'static str] = &["createRoleAlias", "updateRoleAlias", "deleteRoleAlias"];

    fn api(&self) -> &'static str {
        match self {
            RoleAliasChange::CreateRoleAlias { .. } => "CreateRoleAlias",
            RoleAliasChange::UpdateRoleAlias { .. } => "UpdateRoleAlias",
            RoleAliasChange::DeleteRoleAlias { .. } => "DeleteRoleAlias",
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(RoleAlias::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            RoleAliasChange::CreateRoleAlias { .. } => Action::Create,
            RoleAliasChange::UpdateRoleAlias { .. } => Action::Update,
            RoleAliasChange::DeleteRoleAlias { .. } => Action::Delete,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        match self {
            RoleAliasChange::CreateRoleAlias { role_alias } => role_alias.check(),
            RoleAliasChange::UpdateRoleAlias {
                role_alias,
                role_arn,
                credential_duration_seconds,
            } => check_fields(role_alias, role_arn, *credential_duration_seconds),
            RoleAliasChange::DeleteRoleAlias { role_alias } => {
                constraints::own_name(&constraints::Ctx::new(RoleAlias::KIND, role_alias))
            }
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            RoleAliasChange::CreateRoleAlias { role_alias } => {
                let name = &role_alias.role_alias;
                if let Some(existing) = s.role_aliases.get(name) {
                    return if same_role_alias(existing, role_alias) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "role alias {name} already exists with other properties"
                        )))
                    };
                }
                s.role_aliases.insert(name.clone(), role_alias.clone());
                done(true)
            }
            RoleAliasChange::UpdateRoleAlias {
                role_alias,
                role_arn,
                credential_duration_seconds,
            } => {
                let r = s
                    .role_aliases
                    .get_mut(role_alias)
                    .ok_or_else(|| not_found(format!("role alias {role_alias} does not exist")))?;
                let changed = r.role_arn != *role_arn
                    || r.credential_duration_seconds != *credential_duration_seconds;
                r.role_arn = role_arn.clone();
                r.credential_duration_seconds = *credential_duration_seconds;
                done(changed)
            }
            RoleAliasChange::DeleteRoleAlias { role_alias } => {
                done(s.role_aliases.remove(role_alias).is_some())
            }
        }
    }
}

impl fmt::Display for RoleAliasChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            RoleAliasChange::CreateRoleAlias { .. } => "create",
            RoleAliasChange::UpdateRoleAlias { .. } => "update",
            RoleAliasChange::DeleteRoleAlias { .. } => "delete",
        };
        write!(f, "{verb} {} {}", RoleAlias::NOUN, self.name())?;
        match self {
            RoleAliasChange::CreateRoleAlias { role_alias } => {
                write!(f, " for {}", role_alias.role_arn)
            }
            RoleAliasChange::UpdateRoleAlias { role_arn, .. } => write!(f, " to {role_arn}"),
            RoleAliasChange::DeleteRoleAlias { .. } => Ok(()),
        }
    }
}
