//! Provisioning templates: `ListProvisioningTemplates`, `DescribeProvisioningTemplate`,
//! `ListProvisioningTemplateVersions`, `DescribeProvisioningTemplateVersion` (the
//! versions other than the default, whose body the template's description carries),
//! `CreateProvisioningTemplate` (with tags), `UpdateProvisioningTemplate`,
//! `CreateProvisioningTemplateVersion`, `DeleteProvisioningTemplateVersion`,
//! `DeleteProvisioningTemplate`; tags through `ListTagsForResource` on the template's
//! ARN.
//!
//! moto (5.2.1) implements none of these (an HTML page, HTTP 500): a full read from
//! moto marks the kind unlisted and a comparison leaves it out; `request_shape.rs`
//! tests what AWS takes.

use aws_sdk_iot::operation::describe_provisioning_template::DescribeProvisioningTemplateOutput;
use aws_sdk_iot::types::{ProvisioningHook as AwsHook, TemplateType};
use iot_crr_model::{
    Kind, Name, Outcome, ProvisioningHook, ProvisioningTemplate, ProvisioningTemplateChange,
    Resource, ResourceKey, TemplateSettings, TemplateVersion, same_provisioning_template,
};
use iot_crr_registry::{ErrorClass, KeyPage, ReadRequest, RegistryError, Result};

use crate::read::page;
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListProvisioningTemplates` and its versions' list return.
const TEMPLATE_PAGE: i32 = 250;

fn aws_hook(h: &ProvisioningHook, api: &str) -> Result<AwsHook> {
    AwsHook::builder()
        .target_arn(&h.target_arn)
        .set_payload_version(h.payload_version.clone())
        .build()
        .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()).with_api(api))
}

fn version_id(id: u32) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
}

impl AwsRegistry {
    /// `DescribeProvisioningTemplate` alone; `None` when absent.
    async fn describe_template_call(
        &self,
        name: &str,
    ) -> Result<Option<DescribeProvisioningTemplateOutput>> {
        found(
            self.call("DescribeProvisioningTemplate", || {
                self.client
                    .describe_provisioning_template()
                    .template_name(name)
                    .send()
            })
            .await,
        )
    }

    /// `DescribeProvisioningTemplate` and the template's versions: the template without
    /// its tags, and its ARN; `None` when absent.
    async fn describe_provisioning_template(
        &self,
        name: &str,
    ) -> Result<Option<(ProvisioningTemplate, Option<String>)>> {
        let Some(d) = self.describe_template_call(name).await? else {
            return Ok(None);
        };
        let default_id = d.default_version_id().and_then(|v| u32::try_from(v).ok());
        let mut versions = Vec::new();
        let mut token = None;
        loop {
            let Some(out) = found(
                self.call("ListProvisioningTemplateVersions", || {
                    self.client
                        .list_provisioning_template_versions()
                        .template_name(name)
                        .max_results(TEMPLATE_PAGE)
                        .set_next_token(token.clone())
                        .send()
                })
                .await,
            )?
            else {
                return Ok(None);
            };
            versions.extend(
                out.versions()
                    .iter()
                    .filter_map(|v| v.version_id().and_then(|id| u32::try_from(id).ok())),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        versions.sort_unstable();
        let default_body = d.template_body().unwrap_or_default();
        let read = self
            .each(versions, |id| async move {
                if Some(id) == default_id {
                    return Ok(Some(TemplateVersion {
                        version_id: id,
                        template_body: default_body.to_string(),
                        is_default_version: true,
                    }));
                }
                let Some(v) = found(
                    self.call("DescribeProvisioningTemplateVersion", || {
                        self.client
                            .describe_provisioning_template_version()
                            .template_name(name)
                            .version_id(version_id(id))
                            .send()
                    })
                    .await,
                )?
                else {
                    return Ok(None);
                };
                Ok(Some(TemplateVersion {
                    version_id: id,
                    template_body: v.template_body().unwrap_or_default().to_string(),
                    is_default_version: false,
                }))
            })
            .await?;
        let t = ProvisioningTemplate {
            template_name: name.into(),
            description: d.description().unwrap_or_default().to_string(),
            enabled: d.enabled().unwrap_or(false),
            provisioning_role_arn: d.provisioning_role_arn().unwrap_or_default().to_string(),
            pre_provisioning_hook: d.pre_provisioning_hook().map(|h| ProvisioningHook {
                target_arn: h.target_arn().to_string(),
                payload_version: h.payload_version().map(str::to_string),
            }),
            template_type: d.r#type().map(|t| t.as_str().into()),
            versions: read.into_iter().flatten().collect(),
            tags: Default::default(),
        };
        let arn = d.template_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((t, arn)))
    }

    /// One provisioning template with its versions and tags.
    pub(crate) async fn read_provisioning_template(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut t, arn)) = self.describe_provisioning_template(name).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            t.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::ProvisioningTemplate(t)))
    }

    /// The ARN of a provisioning template, `None` when it does not exist.
    pub(crate) async fn provisioning_template_arn(&self, name: &str) -> Result<Option<String>> {
        let Some(d) = self.describe_template_call(name).await? else {
            return Ok(None);
        };
        Ok(d.template_arn().map(str::to_string))
    }

    /// One page of provisioning template names.
    pub(crate) async fn provisioning_template_keys(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListProvisioningTemplates", || {
                self.client
                    .list_provisioning_templates()
                    .max_results(size.clamp(1, TEMPLATE_PAGE))
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.templates()
                .iter()
                .filter_map(|t| t.template_name())
                .map(|n| ResourceKey::new(Kind::ProvisioningTemplate, n))
                .collect(),
            out.next_token(),
        ))
    }

    /// Every provisioning template the filter selects, each read whole; `None` when the
    /// endpoint lacks `ListProvisioningTemplates` (moto), so that the kind is left out
    /// of comparisons rather than taken as empty.
    pub(crate) async fn read_provisioning_templates(
        &self,
        req: &ReadRequest,
    ) -> Result<Option<Vec<ProvisioningTemplate>>> {
        let mut names: Vec<Name> = Vec::new();
        let mut token = None;
        loop {
            let page = match self.provisioning_template_keys(token, TEMPLATE_PAGE).await {
                Ok(p) => p,
                Err(e) if e.class == ErrorClass::Unsupported => {
                    tracing::warn!(
                        region = %self.region,
                        "the endpoint does not implement ListProvisioningTemplates: \
                         provisioning templates are not compared"
                    );
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            names.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::ProvisioningTemplate, n)),
            );
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let read = self
            .each(names, |name| async move {
                self.read_provisioning_template(&name).await
            })
            .await?;
        Ok(Some(
            read.into_iter()
                .flatten()
                .filter_map(|r| match r {
                    Resource::ProvisioningTemplate(t) => Some(t),
                    _ => None,
                })
                .collect(),
        ))
    }

    async fn update_provisioning_template(
        &self,
        name: &str,
        s: &TemplateSettings,
        default_version: Option<u32>,
    ) -> Result<()> {
        let hook = s
            .pre_provisioning_hook
            .as_ref()
            .map(|h| aws_hook(h, "UpdateProvisioningTemplate"))
            .transpose()?;
        self.call("UpdateProvisioningTemplate", || {
            self.client
                .update_provisioning_template()
                .template_name(name)
                .description(&s.description)
                .enabled(s.enabled)
                .provisioning_role_arn(&s.provisioning_role_arn)
                .set_default_version_id(default_version.map(version_id))
                .set_pre_provisioning_hook(hook.clone())
                .set_remove_pre_provisioning_hook(hook.is_none().then_some(true))
                .send()
        })
        .await?;
        Ok(())
    }

    /// Applies a provisioning template change, with the model's semantics.
    pub(crate) async fn apply_provisioning_template(
        &self,
        change: &ProvisioningTemplateChange,
    ) -> Result<Outcome> {
        match change {
            ProvisioningTemplateChange::CreateProvisioningTemplate {
                provisioning_template: t,
            } => {
                let name = t.template_name.as_str();
                let tags = self.create_tags(&t.tags)?;
                let hook = t
                    .pre_provisioning_hook
                    .as_ref()
                    .map(|h| aws_hook(h, "CreateProvisioningTemplate"))
                    .transpose()?;
                let body = t
                    .default_version()
                    .map(|v| v.template_body.clone())
                    .unwrap_or_default();
                let r = self
                    .call("CreateProvisioningTemplate", || {
                        self.client
                            .create_provisioning_template()
                            .template_name(name)
                            .description(&t.description)
                            .template_body(&body)
                            .enabled(t.enabled)
                            .provisioning_role_arn(&t.provisioning_role_arn)
                            .set_pre_provisioning_hook(hook.clone())
                            .set_type(t.template_type.as_deref().map(TemplateType::from))
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.template_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_provisioning_template(name).await? {
                            Some((existing, _)) if same_provisioning_template(&existing, t) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateProvisioningTemplate",
                                format!(
                                    "provisioning template {name} already exists with other properties"
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            ProvisioningTemplateChange::UpdateProvisioningTemplate {
                template_name,
                settings,
                default_version_id,
            } => {
                self.update_provisioning_template(template_name, settings, *default_version_id)
                    .await?;
                applied()
            }
            ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                template_name,
                template_body,
                set_as_default,
            } => {
                // Not repeated after a reply that may have been lost: a repeat would add
                // a second version with the same body.
                self.call_once("CreateProvisioningTemplateVersion", || {
                    self.client
                        .create_provisioning_template_version()
                        .template_name(template_name.as_str())
                        .template_body(template_body)
                        .set_as_default(*set_as_default)
                        .send()
                })
                .await?;
                applied()
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
                template_name,
                version_id: id,
            } => gone_ok(
                self.call("DeleteProvisioningTemplateVersion", || {
                    self.client
                        .delete_provisioning_template_version()
                        .template_name(template_name.as_str())
                        .version_id(version_id(*id))
                        .send()
                })
                .await,
            ),
            ProvisioningTemplateChange::DeleteProvisioningTemplate { template_name } => gone_ok(
                self.call("DeleteProvisioningTemplate", || {
                    self.client
                        .delete_provisioning_template()
                        .template_name(template_name.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
