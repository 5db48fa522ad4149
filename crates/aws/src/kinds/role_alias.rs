//! Role aliases: `ListRoleAliases`, `DescribeRoleAlias`, `CreateRoleAlias` (with tags),
//! `UpdateRoleAlias`, `DeleteRoleAlias`; tags through `ListTagsForResource` on the
//! alias's ARN.
//!
//! moto implements the five calls; it keeps no tags for role aliases (its
//! `ListTagsForResource` answers for things, groups and types only), so tags of role
//! aliases are tested on the request shape.

use iot_crr_model::{
    Kind, Name, Outcome, Resource, ResourceKey, RoleAlias, RoleAliasChange, same_role_alias,
};
use iot_crr_registry::{KeyPage, ReadRequest, Result};

use crate::read::page;
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListRoleAliases` returns.
const ROLE_ALIAS_PAGE: i32 = 250;

impl AwsRegistry {
    /// `DescribeRoleAlias`: the alias without its tags, and its ARN; `None` when absent.
    async fn describe_role_alias(&self, name: &str) -> Result<Option<(RoleAlias, Option<String>)>> {
        let Some(out) = found(
            self.call("DescribeRoleAlias", || {
                self.client.describe_role_alias().role_alias(name).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let Some(d) = out.role_alias_description() else {
            return Ok(None);
        };
        let alias = RoleAlias {
            role_alias: name.into(),
            role_arn: d.role_arn().unwrap_or_default().to_string(),
            credential_duration_seconds: d
                .credential_duration_seconds()
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(iot_crr_model::kinds::role_alias::DEFAULT_CREDENTIAL_DURATION_SECONDS),
            tags: Default::default(),
        };
        let arn = d.role_alias_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((alias, arn)))
    }

    /// One role alias with its tags.
    pub(crate) async fn read_role_alias(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut alias, arn)) = self.describe_role_alias(name).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            alias.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::RoleAlias(alias)))
    }

    /// The ARN of a role alias, `None` when it does not exist.
    pub(crate) async fn role_alias_arn(&self, name: &str) -> Result<Option<String>> {
        Ok(self.describe_role_alias(name).await?.and_then(|(_, a)| a))
    }

    /// One page of role alias names.
    pub(crate) async fn role_alias_keys(
        &self,
        marker: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListRoleAliases", || {
                self.client
                    .list_role_aliases()
                    .page_size(size.min(ROLE_ALIAS_PAGE))
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.role_aliases()
                .iter()
                .map(|n| ResourceKey::new(Kind::RoleAlias, n.as_str()))
                .collect(),
            out.next_marker(),
        ))
    }

    /// Every role alias the filter selects, each described and its tags read.
    pub(crate) async fn read_role_aliases(&self, req: &ReadRequest) -> Result<Vec<RoleAlias>> {
        let mut names: Vec<Name> = Vec::new();
        let mut marker = None;
        loop {
            let page = self.role_alias_keys(marker, ROLE_ALIAS_PAGE).await?;
            names.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::RoleAlias, n)),
            );
            match page.next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        let read = self
            .each(
                names,
                |name| async move { self.read_role_alias(&name).await },
            )
            .await?;
        // An alias deleted between the list and its description is simply gone.
        Ok(read
            .into_iter()
            .flatten()
            .filter_map(|r| match r {
                Resource::RoleAlias(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Applies a role alias change, with the model's semantics.
    pub(crate) async fn apply_role_alias(&self, change: &RoleAliasChange) -> Result<Outcome> {
        match change {
            RoleAliasChange::CreateRoleAlias { role_alias } => {
                let name = role_alias.role_alias.as_str();
                let tags = self.create_tags(&role_alias.tags)?;
                let seconds = i32::try_from(role_alias.credential_duration_seconds).ok();
                let r = self
                    .call("CreateRoleAlias", || {
                        self.client
                            .create_role_alias()
                            .role_alias(name)
                            .role_arn(&role_alias.role_arn)
                            .set_credential_duration_seconds(seconds)
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.role_alias_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_role_alias(name).await? {
                            Some((existing, _)) if same_role_alias(&existing, role_alias) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateRoleAlias",
                                format!("role alias {name} already exists with other properties"),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            RoleAliasChange::UpdateRoleAlias {
                role_alias,
                role_arn,
                credential_duration_seconds,
            } => {
                let seconds = i32::try_from(*credential_duration_seconds).ok();
                self.call("UpdateRoleAlias", || {
                    self.client
                        .update_role_alias()
                        .role_alias(role_alias.as_str())
                        .role_arn(role_arn)
                        .set_credential_duration_seconds(seconds)
                        .send()
                })
                .await?;
                applied()
            }
            RoleAliasChange::DeleteRoleAlias { role_alias } => gone_ok(
                self.call("DeleteRoleAlias", || {
                    self.client
                        .delete_role_alias()
                        .role_alias(role_alias.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
