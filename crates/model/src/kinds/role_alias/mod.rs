//! Role aliases (`CreateRoleAlias`): the name a device's certificate presents to the
//! AWS IoT credentials provider (`iot:AssumeRoleWithCertificate`) to get temporary AWS
//! credentials for an IAM role. The role is outside AWS IoT: its ARN is rewritten for the
//! target account by `--rewrite-arns` (IAM is global, so only the account changes) and
//! is never created.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::{RoleAliasChange, same_role_alias};
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// The credential duration AWS IoT gives a role alias created without one.
pub const DEFAULT_CREDENTIAL_DURATION_SECONDS: u32 = 3600;

fn default_duration() -> u32 {
    DEFAULT_CREDENTIAL_DURATION_SECONDS
}

/// A role alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAlias {
    /// `roleAlias`, its name.
    pub role_alias: Name,
    /// `roleArn`: the IAM role the credentials are for.
    pub role_arn: String,
    /// `credentialDurationSeconds` (900 to 43200; AWS's default 3600).
    #[serde(default = "default_duration")]
    pub credential_duration_seconds: u32,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl KindSpec for RoleAlias {
    const KIND: Kind = Kind::RoleAlias;
    const TAG: &'static str = "roleAlias";
    const NOUN: &'static str = "role alias";
    const PLURAL: &'static str = "role aliases";
    const NAME_FIELD: &'static str = "roleAlias";
    const ARN_TYPE: &'static str = "rolealias";
    const TAGGABLE: bool = true;

    fn name(&self) -> &Name {
        &self.role_alias
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.role_aliases
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.role_aliases
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.role_aliases
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.role_aliases
    }

    fn into_resource(self) -> Resource {
        Resource::RoleAlias(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::RoleAlias(self)
    }

    fn check(&self) -> Result<(), Violation> {
        check_fields(
            &self.role_alias,
            &self.role_arn,
            self.credential_duration_seconds,
        )?;
        let c = constraints::Ctx::new(Self::KIND, &self.role_alias);
        constraints::tags(&c, &self.tags)
    }
}

/// The checks of what `CreateRoleAlias` and `UpdateRoleAlias` send.
fn check_fields(name: &str, role_arn: &str, duration: u32) -> Result<(), Violation> {
    let c = constraints::Ctx::new(RoleAlias::KIND, name);
    constraints::own_name(&c)?;
    constraints::check_role_arn(role_arn).map_err(|p| c.err("roleArn", p))?;
    constraints::check_credential_duration(duration)
        .map_err(|p| c.err("credentialDurationSeconds", p))
}
