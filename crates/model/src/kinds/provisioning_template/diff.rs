//! What turns a target's provisioning template into the desired one.

use super::{ProvisioningTemplate, ProvisioningTemplateChange, TemplateVersion};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::document::same_document;
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

/// Sub-stages within a template's changes, so that a target at the version limit makes
/// room before it gets new versions, and the old default goes only once another is.
mod sub {
    pub const CREATE: u32 = 0;
    pub const DELETE_EXTRA: u32 = 0;
    pub const NEW_VERSION: u32 = 1;
    pub const UPDATE: u32 = 2;
    pub const DELETE_OLD_DEFAULT: u32 = 3;
    /// A pruned template goes after the CA certificates that name it.
    pub const PRUNE: u32 = 2;
}

fn subject(name: &Name) -> String {
    format!("{} {name}", ProvisioningTemplate::NOUN)
}

/// The desired template as the target should hold it: its role, hook and bodies
/// rewritten and mapped for the target.
fn wanted(ctx: &Ctx<'_>, b: &mut Builder, d: &ProvisioningTemplate) -> ProvisioningTemplate {
    let subject = subject(&d.template_name);
    let mut t = d.clone();
    t.provisioning_role_arn = b.arn_for_target(ctx, &subject, &d.provisioning_role_arn);
    if let Some(h) = &mut t.pre_provisioning_hook {
        h.target_arn = b.arn_for_target(ctx, &subject, &h.target_arn);
    }
    for v in &mut t.versions {
        v.template_body = b.arn_for_target(ctx, &subject, &v.template_body);
    }
    t.tags = b.tags(&d.tags);
    t
}

/// The changes for one template: created with its default version, its other versions
/// added; versions the target lacks created and those the source lacks deleted
/// (matched by body), the default moved, settings updated, tags set and removed;
/// deleted with `--prune`.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&ProvisioningTemplate>,
    a: Option<&ProvisioningTemplate>,
) {
    let push = |b: &mut Builder, base, sub, change| {
        b.push(base, sub, Change::ProvisioningTemplate(change))
    };
    match (d, a) {
        (Some(d), None) => {
            let t = wanted(ctx, b, d);
            let others: Vec<TemplateVersion> = t
                .versions
                .iter()
                .filter(|v| !v.is_default_version)
                .cloned()
                .collect();
            push(
                b,
                stage::DEFINITIONS,
                sub::CREATE,
                ProvisioningTemplateChange::CreateProvisioningTemplate {
                    provisioning_template: Box::new(t),
                },
            );
            for v in others {
                push(
                    b,
                    stage::DEFINITIONS,
                    sub::NEW_VERSION,
                    ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                        template_name: name.clone(),
                        template_body: v.template_body,
                        set_as_default: false,
                    },
                );
            }
        }
        (Some(d), Some(a)) => {
            let t = wanted(ctx, b, d);
            if t.template_type.as_deref().unwrap_or("FLEET_PROVISIONING")
                != a.template_type.as_deref().unwrap_or("FLEET_PROVISIONING")
            {
                b.warn(format!(
                    "{} differs in type, which AWS IoT cannot change on an existing template: \
                     delete it in the target and sync again to re-create it",
                    subject(name)
                ));
            }
            let matching = |body: &str| {
                a.versions
                    .iter()
                    .find(|v| same_document(&v.template_body, body))
            };
            // Target versions the source lacks: the default one goes last.
            for v in &a.versions {
                if t.versions
                    .iter()
                    .any(|w| same_document(&w.template_body, &v.template_body))
                {
                    continue;
                }
                let sub = if v.is_default_version {
                    sub::DELETE_OLD_DEFAULT
                } else {
                    sub::DELETE_EXTRA
                };
                push(
                    b,
                    stage::DEFINITIONS,
                    sub,
                    ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
                        template_name: name.clone(),
                        version_id: v.version_id,
                    },
                );
            }
            let mut default_version_id = None;
            for w in &t.versions {
                match matching(&w.template_body) {
                    Some(existing) => {
                        if w.is_default_version && !existing.is_default_version {
                            default_version_id = Some(existing.version_id);
                        }
                    }
                    None => push(
                        b,
                        stage::DEFINITIONS,
                        sub::NEW_VERSION,
                        ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
                            template_name: name.clone(),
                            template_body: w.template_body.clone(),
                            set_as_default: w.is_default_version,
                        },
                    ),
                }
            }
            let settings = t.settings();
            if settings != a.settings() || default_version_id.is_some() {
                push(
                    b,
                    stage::DEFINITIONS,
                    sub::UPDATE,
                    ProvisioningTemplateChange::UpdateProvisioningTemplate {
                        template_name: name.clone(),
                        settings: Box::new(settings),
                        default_version_id,
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(ProvisioningTemplate::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(_)) => {
            if ctx.pruned(ProvisioningTemplate::KIND, name) {
                push(
                    b,
                    stage::PRUNE_OTHERS,
                    sub::PRUNE,
                    ProvisioningTemplateChange::DeleteProvisioningTemplate {
                        template_name: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
