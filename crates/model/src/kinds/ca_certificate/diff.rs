//! What turns a target's CA certificate into the desired one.

use super::change::config_of;
use super::{CaCertificate, CaCertificateChange, CaMode, CaStatus, RegistrationConfig};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Kind, Name, ResourceKey};

/// The sub-stage of CA writes within [`stage::DEFINITIONS`] and [`stage::PRUNE_OTHERS`]:
/// a CA is registered before the certificates it signs (sub-stage 2) and deleted after
/// them (their deletes are sub-stage 0).
pub(crate) const CA_SUB_STAGE: u32 = 1;

fn subject(id: &Name) -> String {
    format!("{} {id}", CaCertificate::NOUN)
}

/// The registration configuration as the target should have it: its role rewritten.
fn config_for_target(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    id: &Name,
    d: &CaCertificate,
) -> Option<RegistrationConfig> {
    config_of(d).map(|c| RegistrationConfig {
        role_arn: c
            .role_arn
            .as_ref()
            .map(|r| b.arn_for_target(ctx, &subject(id), r)),
        ..c.clone()
    })
}

/// Why a target-only CA is kept by `--prune`: a certificate of the target that stays
/// was registered with it (deactivating the CA would lock that device out). A keyed
/// diff (the event path, `--key`) sees no whole registry and follows the source: a CA
/// the source deleted goes.
fn kept(ctx: &Ctx<'_>, id: &Name) -> Option<String> {
    if !ctx.actual.is_complete() {
        return None;
    }
    ctx.actual
        .names(Kind::Certificate)
        .into_iter()
        .filter(|c| ctx.desired.certificate(c).is_some() || !ctx.pruned(Kind::Certificate, c))
        .find(|c| {
            ctx.actual
                .certificate(c)
                .is_some_and(|cert| cert.ca_certificate_id.as_ref() == Some(id))
        })
        .map(|c| {
            format!(
                "kept {} {id}: certificate {c}, registered with it, stays in the target",
                CaCertificate::NOUN
            )
        })
}

/// The changes for one CA certificate: registered (`SNI_ONLY`, no verification
/// certificate) with its tags and its registration role rewritten for the target;
/// status, auto-registration or registration configuration updated; tags set and
/// removed; with `--prune`, deactivated and deleted after the certificates it signed,
/// unless a certificate that stays was registered with it.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    id: &Name,
    d: Option<&CaCertificate>,
    a: Option<&CaCertificate>,
) {
    let push =
        |b: &mut Builder, base, change| b.push(base, CA_SUB_STAGE, Change::CaCertificate(change));
    match (d, a) {
        (Some(d), None) => {
            let ca_certificate = CaCertificate {
                certificate_mode: CaMode::SniOnly,
                registration_config: config_for_target(ctx, b, id, d),
                tags: b.tags(&d.tags),
                ..d.clone()
            };
            push(
                b,
                stage::DEFINITIONS,
                CaCertificateChange::RegisterCaCertificate { ca_certificate },
            )
        }
        (Some(d), Some(a)) => {
            let config = config_for_target(ctx, b, id, d);
            if d.status != a.status
                || d.auto_registration != a.auto_registration
                || config.as_ref() != config_of(a)
            {
                push(
                    b,
                    stage::DEFINITIONS,
                    CaCertificateChange::UpdateCaCertificate {
                        certificate_id: id.clone(),
                        new_status: d.status,
                        auto_registration: d.auto_registration,
                        registration_config: config,
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(CaCertificate::KIND, id.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(a)) => {
            if !ctx.pruned(CaCertificate::KIND, id) {
                return;
            }
            if let Some(why) = kept(ctx, id) {
                b.warn(why);
                return;
            }
            if a.status == CaStatus::Active {
                push(
                    b,
                    stage::PRUNE_DETACH,
                    CaCertificateChange::UpdateCaCertificate {
                        certificate_id: id.clone(),
                        new_status: CaStatus::Inactive,
                        auto_registration: false,
                        registration_config: config_of(a).cloned(),
                    },
                );
            }
            push(
                b,
                stage::PRUNE_OTHERS,
                CaCertificateChange::DeleteCaCertificate {
                    certificate_id: id.clone(),
                },
            );
        }
        (None, None) => {}
    }
}
