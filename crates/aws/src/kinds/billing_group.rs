//! Billing groups: `ListBillingGroups`, `DescribeBillingGroup`, `ListThingsInBillingGroup`
//! (members, which the things carry), `CreateBillingGroup` (with tags),
//! `UpdateBillingGroup`, `DeleteBillingGroup`.

use aws_sdk_iot::types::BillingGroupProperties;
use iot_crr_model::{
    BillingGroup, BillingGroupChange, Kind, Name, Outcome, Resource, same_billing_group,
};
use iot_crr_registry::{KeyPage, ReadRequest, Result};

use crate::read::{PAGE, non_empty, page, paginate};
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

impl AwsRegistry {
    /// `DescribeBillingGroup`: the group without its tags, and its ARN; `None` when absent.
    async fn describe_billing_group(
        &self,
        name: &str,
    ) -> Result<Option<(BillingGroup, Option<String>)>> {
        let Some(d) = found(
            self.call("DescribeBillingGroup", || {
                self.client
                    .describe_billing_group()
                    .billing_group_name(name)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let group = BillingGroup {
            billing_group_name: name.into(),
            billing_group_description: non_empty(
                d.billing_group_properties()
                    .and_then(|p| p.billing_group_description()),
            ),
            ..BillingGroup::default()
        };
        let arn = d.billing_group_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((group, arn)))
    }

    /// One billing group with its tags.
    pub(crate) async fn read_billing_group(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut g, arn)) = self.describe_billing_group(name).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            g.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::BillingGroup(g)))
    }

    /// The ARN of a billing group, `None` when it does not exist.
    pub(crate) async fn billing_group_arn(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .describe_billing_group(name)
            .await?
            .and_then(|(_, a)| a))
    }

    /// One page of billing group names.
    pub(crate) async fn billing_group_keys(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListBillingGroups", || {
                self.client
                    .list_billing_groups()
                    .max_results(size)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.billing_groups()
                .iter()
                .filter_map(|g| g.group_name())
                .map(|n| iot_crr_model::ResourceKey::new(Kind::BillingGroup, n))
                .collect(),
            out.next_token(),
        ))
    }

    /// Every billing group with its member things. A group is described (and its tags
    /// read) only when `details` and the filter selects it; members are read only when
    /// `members` (the things need them even when billing groups are filtered out).
    pub(crate) async fn read_billing_groups(
        &self,
        req: &ReadRequest,
        details: bool,
        members: bool,
    ) -> Result<Vec<(BillingGroup, Vec<Name>)>> {
        let mut list: Vec<(String, String)> = Vec::new();
        paginate!(
            self,
            "ListBillingGroups",
            self.client.list_billing_groups().max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for g in out.billing_groups() {
                    if let (Some(n), Some(a)) = (g.group_name(), g.group_arn()) {
                        self.note_arn(a);
                        list.push((n.to_string(), a.to_string()));
                    }
                }
            }
        );
        self.each(list, |(name, group_arn)| async move {
            let selected = details && req.filter.matches(Kind::BillingGroup, &name);
            let mut group = BillingGroup {
                billing_group_name: name.as_str().into(),
                ..Default::default()
            };
            if selected {
                if let Some((described, _)) = self.describe_billing_group(&name).await? {
                    group = described;
                }
                group.tags = self.tags_of(&group_arn).await?;
            }
            let mut things = Vec::new();
            if members {
                paginate!(
                    self,
                    "ListThingsInBillingGroup",
                    self.client
                        .list_things_in_billing_group()
                        .billing_group_name(&name)
                        .max_results(PAGE),
                    set_next_token,
                    next_token,
                    |out| {
                        things.extend(out.things().iter().map(|s| Name::from(s.as_str())));
                    }
                );
            }
            Ok((group, things))
        })
        .await
    }

    /// Applies a billing group's own change, with the model's semantics: a create of a
    /// group that exists alike is already in state, a delete of an absent one too.
    pub(crate) async fn apply_billing_group(&self, change: &BillingGroupChange) -> Result<Outcome> {
        match change {
            BillingGroupChange::CreateBillingGroup { billing_group } => {
                let name = billing_group.billing_group_name.as_str();
                let props = BillingGroupProperties::builder()
                    .set_billing_group_description(billing_group.billing_group_description.clone())
                    .build();
                let tags = self.create_tags(&billing_group.tags)?;
                let r = self
                    .call("CreateBillingGroup", || {
                        self.client
                            .create_billing_group()
                            .billing_group_name(name)
                            .billing_group_properties(props.clone())
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.billing_group_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_billing_group(name).await? {
                            Some((existing, _)) if same_billing_group(&existing, billing_group) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateBillingGroup",
                                format!(
                                    "billing group {name} already exists with other properties"
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            BillingGroupChange::UpdateBillingGroup {
                billing_group_name,
                billing_group_description,
            } => {
                // An empty description clears it (AWS keeps the old one when the field
                // is left out).
                let props = BillingGroupProperties::builder()
                    .billing_group_description(
                        billing_group_description.clone().unwrap_or_default(),
                    )
                    .build();
                self.call("UpdateBillingGroup", || {
                    self.client
                        .update_billing_group()
                        .billing_group_name(billing_group_name.as_str())
                        .billing_group_properties(props.clone())
                        .send()
                })
                .await?;
                applied()
            }
            BillingGroupChange::DeleteBillingGroup { billing_group_name } => gone_ok(
                self.call("DeleteBillingGroup", || {
                    self.client
                        .delete_billing_group()
                        .billing_group_name(billing_group_name.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
