//! The operations on provisioning templates, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    MAX_TEMPLATE_VERSIONS, ProvisioningHook, ProvisioningTemplate, TemplateVersion, check_body,
};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::document::same_document;
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// What `UpdateProvisioningTemplate` sets besides the default version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateSettings {
    /// `description`.
    #[serde(default)]
    pub description: String,
    /// `enabled`.
    #[serde(default)]
    pub enabled: bool,
    /// `provisioningRoleArn`.
    pub provisioning_role_arn: String,
    /// `preProvisioningHook`; none sends `removePreProvisioningHook`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_provisioning_hook: Option<ProvisioningHook>,
}

impl TemplateSettings {
    pub(crate) fn check(&self, c: &constraints::Ctx<'_>) -> Result<(), Violation> {
        constraints::check_role_arn(&self.provisioning_role_arn)
            .map_err(|p| c.err("provisioningRoleArn", p))?;
        if self.description.chars().count() > 500 {
            return Err(c.err(
                "description",
                "is longer than 500 characters (AWS IoT's limit)".into(),
            ));
        }
        if let Some(h) = &self.pre_provisioning_hook {
            constraints::check_lambda_arn(&h.target_arn)
                .map_err(|p| c.err("preProvisioningHook.targetArn", p))?;
        }
        Ok(())
    }
}

/// A write to a provisioning template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ProvisioningTemplateChange {
    /// `CreateProvisioningTemplate` with its default version's body and tags.
    CreateProvisioningTemplate {
        /// The template as it should be, with its one (default) version.
        provisioning_template: Box<ProvisioningTemplate>,
    },
    /// `UpdateProvisioningTemplate`: description, enabled, role, hook, and the default
    /// version when `default_version_id` is given (a version the target has).
    UpdateProvisioningTemplate {
        /// Template name.
        template_name: Name,
        /// What it sets.
        settings: Box<TemplateSettings>,
        /// The target's version to make the default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_version_id: Option<u32>,
    },
    /// `CreateProvisioningTemplateVersion`.
    CreateProvisioningTemplateVersion {
        /// Template name.
        template_name: Name,
        /// The body.
        template_body: String,
        /// `setAsDefault`.
        #[serde(default)]
        set_as_default: bool,
    },
    /// `DeleteProvisioningTemplateVersion` (never the default).
    DeleteProvisioningTemplateVersion {
        /// Template name.
        template_name: Name,
        /// The target's version id.
        version_id: u32,
    },
    /// `DeleteProvisioningTemplate`.
    DeleteProvisioningTemplate {
        /// Template name.
        template_name: Name,
    },
}

impl ProvisioningTemplateChange {
    fn name(&self) -> &Name {
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate {
                provisioning_template,
            } => &provisioning_template.template_name,
            ProvisioningTemplateChange::UpdateProvisioningTemplate { template_name, .. }
            | ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                template_name, ..
            }
            | ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
                template_name, ..
            }
            | ProvisioningTemplateChange::DeleteProvisioningTemplate { template_name } => {
                template_name
            }
        }
    }
}

/// Whether an existing template is the one `CreateProvisioningTemplate` would make: the
/// same settings and type, its default version's body the same JSON (tags and other
/// versions are compared apart).
pub fn same_provisioning_template(
    existing: &ProvisioningTemplate,
    wanted: &ProvisioningTemplate,
) -> bool {
    let body = |t: &ProvisioningTemplate| t.default_version().map(|v| v.template_body.clone());
    existing.settings() == wanted.settings()
        && existing
            .template_type
            .as_deref()
            .unwrap_or("FLEET_PROVISIONING")
            == wanted
                .template_type
                .as_deref()
                .unwrap_or("FLEET_PROVISIONING")
        && match (body(existing), body(wanted)) {
            (Some(a), Some(b)) => same_document(&a, &b),
            (a, b) => a == b,
        }
}

fn missing(name: &Name) -> ApplyError {
    not_found(format!("provisioning template {name} does not exist"))
}

impl KindChange for ProvisioningTemplateChange {
    const OPS: &'static [&'static str] = &[
        "createProvisioningTemplate",
        "updateProvisioningTemplate",
        "createProvisioningTemplateVersion",
        "deleteProvisioningTemplateVersion",
        "deleteProvisioningTemplate",
    ];

    fn api(&self) -> &'static str {
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate { .. } => {
                "CreateProvisioningTemplate"
            }
            ProvisioningTemplateChange::UpdateProvisioningTemplate { .. } => {
                "UpdateProvisioningTemplate"
            }
            ProvisioningTemplateChange::CreateProvisioningTemplateVersion { .. } => {
                "CreateProvisioningTemplateVersion"
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplateVersion { .. } => {
                "DeleteProvisioningTemplateVersion"
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplate { .. } => {
                "DeleteProvisioningTemplate"
            }
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(ProvisioningTemplate::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate { .. } => Action::Create,
            ProvisioningTemplateChange::DeleteProvisioningTemplate { .. } => Action::Delete,
            _ => Action::Update,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(ProvisioningTemplate::KIND, self.name());
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate {
                provisioning_template,
            } => provisioning_template.check(),
            ProvisioningTemplateChange::UpdateProvisioningTemplate { settings, .. } => {
                constraints::own_name(&c)?;
                settings.check(&c)
            }
            ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                template_body, ..
            } => {
                constraints::own_name(&c)?;
                check_body(template_body).map_err(|p| c.err("templateBody", p))
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplateVersion { .. }
            | ProvisioningTemplateChange::DeleteProvisioningTemplate { .. } => {
                constraints::own_name(&c)
            }
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate {
                provisioning_template: t,
            } => {
                let name = &t.template_name;
                if let Some(existing) = s.provisioning_templates.get(name) {
                    return if same_provisioning_template(existing, t) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "provisioning template {name} already exists with other properties"
                        )))
                    };
                }
                let body = t
                    .default_version()
                    .map(|v| v.template_body.clone())
                    .unwrap_or_default();
                let created = ProvisioningTemplate {
                    versions: vec![TemplateVersion {
                        version_id: 1,
                        template_body: body,
                        is_default_version: true,
                    }],
                    ..(**t).clone()
                };
                s.provisioning_templates.insert(name.clone(), created);
                done(true)
            }
            ProvisioningTemplateChange::UpdateProvisioningTemplate {
                template_name,
                settings,
                default_version_id,
            } => {
                let t = s
                    .provisioning_templates
                    .get_mut(template_name)
                    .ok_or_else(|| missing(template_name))?;
                let mut changed = t.settings() != **settings;
                if let Some(id) = default_version_id {
                    if !t.versions.iter().any(|v| v.version_id == *id) {
                        return Err(not_found(format!(
                            "provisioning template {template_name} has no version {id}"
                        )));
                    }
                    for v in &mut t.versions {
                        let now = v.version_id == *id;
                        changed |= v.is_default_version != now;
                        v.is_default_version = now;
                    }
                }
                t.description = settings.description.clone();
                t.enabled = settings.enabled;
                t.provisioning_role_arn = settings.provisioning_role_arn.clone();
                t.pre_provisioning_hook = settings.pre_provisioning_hook.clone();
                done(changed)
            }
            ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                template_name,
                template_body,
                set_as_default,
            } => {
                let t = s
                    .provisioning_templates
                    .get_mut(template_name)
                    .ok_or_else(|| missing(template_name))?;
                if t.versions.len() >= MAX_TEMPLATE_VERSIONS {
                    return Err(conflict(format!(
                        "provisioning template {template_name} already has \
                         {MAX_TEMPLATE_VERSIONS} versions"
                    )));
                }
                let id = t.versions.iter().map(|v| v.version_id).max().unwrap_or(0) + 1;
                if *set_as_default {
                    for v in &mut t.versions {
                        v.is_default_version = false;
                    }
                }
                t.versions.push(TemplateVersion {
                    version_id: id,
                    template_body: template_body.clone(),
                    is_default_version: *set_as_default,
                });
                done(true)
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
                template_name,
                version_id,
            } => {
                let Some(t) = s.provisioning_templates.get_mut(template_name) else {
                    return done(false);
                };
                match t.versions.iter().position(|v| v.version_id == *version_id) {
                    None => done(false),
                    Some(i) if t.versions[i].is_default_version => Err(conflict(format!(
                        "version {version_id} of provisioning template {template_name} is \
                         its default"
                    ))),
                    Some(i) => {
                        t.versions.remove(i);
                        done(true)
                    }
                }
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplate { template_name } => {
                done(s.provisioning_templates.remove(template_name).is_some())
            }
        }
    }
}

impl fmt::Display for ProvisioningTemplateChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = ProvisioningTemplate::NOUN;
        let name = self.name();
        match self {
            ProvisioningTemplateChange::CreateProvisioningTemplate {
                provisioning_template: t,
            } => {
                write!(
                    f,
                    "create {noun} {name} ({})",
                    t.template_type.as_deref().unwrap_or("FLEET_PROVISIONING")
                )?;
                if !t.enabled {
                    write!(f, ", disabled")?;
                }
                Ok(())
            }
            ProvisioningTemplateChange::UpdateProvisioningTemplate {
                default_version_id, ..
            } => {
                write!(f, "update {noun} {name}")?;
                if let Some(id) = default_version_id {
                    write!(f, " (default version {id})")?;
                }
                Ok(())
            }
            ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                set_as_default,
                ..
            } => {
                write!(f, "create a version of {noun} {name}")?;
                if *set_as_default {
                    write!(f, " as its default")?;
                }
                Ok(())
            }
            ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
                version_id, ..
            } => write!(f, "delete version {version_id} of {noun} {name}"),
            ProvisioningTemplateChange::DeleteProvisioningTemplate { .. } => {
                write!(f, "delete {noun} {name}")
            }
        }
    }
}
