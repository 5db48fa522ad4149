//! Provisioning templates (`CreateProvisioningTemplate`): how AWS IoT provisions a
//! device that has no identity yet (fleet provisioning by claim, `FLEET_PROVISIONING`)
//! or whose CA-signed certificate it sees first (just-in-time provisioning, `JITP`),
//! with every version of the template body and which one is the default, the
//! provisioning role, the pre-provisioning hook (a Lambda function), whether it is
//! enabled, and tags. Devices provisioned during an outage need them in the standby.
//!
//! Version ids are numbered by each region: the target's versions are matched to the
//! source's by their bodies (compared as JSON), not by id. The role, the hook's
//! function and any ARN in a body are rewritten for the target (or mapped); the role
//! and the function are outside AWS IoT and never created. The type cannot be changed
//! on an existing template: a difference there is reported, not planned.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::{ProvisioningTemplateChange, TemplateSettings, same_provisioning_template};
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// How many versions a template may have.
pub const MAX_TEMPLATE_VERSIONS: usize = 5;
/// The longest template body AWS IoT takes (10,240 characters).
pub const MAX_TEMPLATE_BODY: usize = 10_240;

/// One version of a template body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateVersion {
    /// `versionId`, as the region holding it numbers it.
    pub version_id: u32,
    /// `templateBody`: the JSON text of the template.
    pub template_body: String,
    /// `isDefaultVersion`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_default_version: bool,
}

/// A pre-provisioning hook (`ProvisioningHook`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningHook {
    /// `targetArn`: the Lambda function.
    pub target_arn: String,
    /// `payloadVersion` (`2020-04-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_version: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A provisioning template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningTemplate {
    /// `templateName`.
    pub template_name: Name,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `enabled`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// `provisioningRoleArn`: the role AWS IoT assumes to provision.
    pub provisioning_role_arn: String,
    /// `preProvisioningHook`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_provisioning_hook: Option<ProvisioningHook>,
    /// `type`: `FLEET_PROVISIONING` (AWS's default) or `JITP`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub template_type: Option<Box<str>>,
    /// Every version, oldest first; exactly one is the default.
    pub versions: Vec<TemplateVersion>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl ProvisioningTemplate {
    /// The default version, if any.
    pub fn default_version(&self) -> Option<&TemplateVersion> {
        self.versions.iter().find(|v| v.is_default_version)
    }

    /// What `UpdateProvisioningTemplate` sets, the default version aside.
    pub fn settings(&self) -> TemplateSettings {
        TemplateSettings {
            description: self.description.clone(),
            enabled: self.enabled,
            provisioning_role_arn: self.provisioning_role_arn.clone(),
            pre_provisioning_hook: self.pre_provisioning_hook.clone(),
        }
    }
}

impl KindSpec for ProvisioningTemplate {
    const KIND: Kind = Kind::ProvisioningTemplate;
    const TAG: &'static str = "provisioningTemplate";
    const NOUN: &'static str = "provisioning template";
    const PLURAL: &'static str = "provisioning templates";
    const NAME_FIELD: &'static str = "templateName";
    const ARN_TYPE: &'static str = "provisioningtemplate";
    const TAGGABLE: bool = true;
    const ALIASES: &'static [&'static str] = &["template"];

    fn name(&self) -> &Name {
        &self.template_name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.provisioning_templates
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.provisioning_templates
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.provisioning_templates
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.provisioning_templates
    }

    fn into_resource(self) -> Resource {
        Resource::ProvisioningTemplate(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::ProvisioningTemplate(self)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.template_name);
        constraints::own_name(&c)?;
        self.settings().check(&c)?;
        if let Some(t) = &self.template_type
            && !["FLEET_PROVISIONING", "JITP"].contains(&&**t)
        {
            return Err(c.err(
                "type",
                format!("is {t:?} (AWS IoT knows FLEET_PROVISIONING, JITP)"),
            ));
        }
        if self.versions.is_empty() || self.versions.len() > MAX_TEMPLATE_VERSIONS {
            return Err(c.err(
                "versions",
                format!(
                    "holds {} versions (AWS IoT keeps 1 to {MAX_TEMPLATE_VERSIONS})",
                    self.versions.len()
                ),
            ));
        }
        let defaults = self
            .versions
            .iter()
            .filter(|v| v.is_default_version)
            .count();
        if defaults != 1 {
            return Err(c.err(
                "versions",
                format!("mark {defaults} versions as the default (exactly one must be)"),
            ));
        }
        for v in &self.versions {
            check_body(&v.template_body)
                .map_err(|p| c.err(format_args!("version {} templateBody", v.version_id), p))?;
        }
        constraints::tags(&c, &self.tags)
    }
}

/// A template body: a JSON object of at most [`MAX_TEMPLATE_BODY`] characters.
pub(crate) fn check_body(body: &str) -> Result<(), String> {
    let n = body.chars().count();
    if n == 0 || n > MAX_TEMPLATE_BODY {
        return Err(format!(
            "is {n} characters long (AWS IoT allows 1 to {MAX_TEMPLATE_BODY})"
        ));
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err("is not a JSON object".into()),
        Err(e) => Err(format!("is not JSON ({e})")),
    }
}
