//! The operations on CA certificates, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CaCertificate, CaStatus, RegistrationConfig, check_registration_config};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to a CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum CaCertificateChange {
    /// `RegisterCACertificate` in the CA's mode (`SNI_ONLY` from a diff: no
    /// verification certificate), with its status, auto-registration, registration
    /// configuration and tags.
    RegisterCaCertificate {
        /// The CA as it should be.
        ca_certificate: CaCertificate,
    },
    /// `UpdateCACertificate`: status, auto-registration and registration configuration,
    /// all three as they should be.
    UpdateCaCertificate {
        /// CA certificate id.
        certificate_id: Name,
        /// `newStatus`.
        new_status: CaStatus,
        /// `newAutoRegistrationStatus` is `ENABLE`.
        auto_registration: bool,
        /// `registrationConfig` (none: an empty one, which clears it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        registration_config: Option<RegistrationConfig>,
    },
    /// `DeleteCACertificate` (AWS IoT deletes only an `INACTIVE` CA).
    DeleteCaCertificate {
        /// CA certificate id.
        certificate_id: Name,
    },
}

impl CaCertificateChange {
    fn id(&self) -> &Name {
        match self {
            CaCertificateChange::RegisterCaCertificate { ca_certificate } => {
                &ca_certificate.certificate_id
            }
            CaCertificateChange::UpdateCaCertificate { certificate_id, .. }
            | CaCertificateChange::DeleteCaCertificate { certificate_id } => certificate_id,
        }
    }
}

/// Whether an existing CA is the one `RegisterCACertificate` would make: same PEM,
/// status, auto-registration and registration configuration (the mode is the region's
/// own; tags are compared apart, as they are applied apart).
pub fn same_ca_certificate(existing: &CaCertificate, wanted: &CaCertificate) -> bool {
    existing.certificate_pem.trim() == wanted.certificate_pem.trim()
        && existing.status == wanted.status
        && existing.auto_registration == wanted.auto_registration
        && config_of(existing) == config_of(wanted)
}

/// The registration configuration, an empty one read as none.
pub(crate) fn config_of(ca: &CaCertificate) -> Option<&RegistrationConfig> {
    ca.registration_config.as_ref().filter(|c| !c.is_empty())
}

impl KindChange for CaCertificateChange {
    const OPS: &'static [&'static str] = &[
        "registerCaCertificate",
        "updateCaCertificate",
        "deleteCaCertificate",
    ];

    fn api(&self) -> &'static str {
        match self {
            CaCertificateChange::RegisterCaCertificate { .. } => "RegisterCACertificate",
            CaCertificateChange::UpdateCaCertificate { .. } => "UpdateCACertificate",
            CaCertificateChange::DeleteCaCertificate { .. } => "DeleteCACertificate",
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(CaCertificate::KIND, self.id().clone())
    }

    fn action(&self) -> Action {
        match self {
            CaCertificateChange::RegisterCaCertificate { .. } => Action::Create,
            CaCertificateChange::UpdateCaCertificate { .. } => Action::Update,
            CaCertificateChange::DeleteCaCertificate { .. } => Action::Delete,
        }
    }

    /// The provisioning template a registration configuration names.
    fn requires(&self, out: &mut Vec<ResourceKey>) {
        let config = match self {
            CaCertificateChange::RegisterCaCertificate { ca_certificate } => {
                ca_certificate.registration_config.as_ref()
            }
            CaCertificateChange::UpdateCaCertificate {
                registration_config,
                ..
            } => registration_config.as_ref(),
            CaCertificateChange::DeleteCaCertificate { .. } => None,
        };
        if let Some(t) = config.and_then(|c| c.template_name.as_ref()) {
            out.push(ResourceKey::new(
                crate::resource::Kind::ProvisioningTemplate,
                t.clone(),
            ));
        }
    }

    fn check(&self) -> Result<(), Violation> {
        match self {
            CaCertificateChange::RegisterCaCertificate { ca_certificate } => ca_certificate.check(),
            CaCertificateChange::UpdateCaCertificate {
                certificate_id,
                registration_config,
                ..
            } => {
                let c = constraints::Ctx::new(CaCertificate::KIND, certificate_id);
                constraints::own_name(&c)?;
                check_registration_config(&c, registration_config.as_ref())
            }
            CaCertificateChange::DeleteCaCertificate { certificate_id } => {
                constraints::own_name(&constraints::Ctx::new(CaCertificate::KIND, certificate_id))
            }
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            CaCertificateChange::RegisterCaCertificate { ca_certificate } => {
                let id = &ca_certificate.certificate_id;
                if let Some(existing) = s.ca_certificates.get(id) {
                    return if same_ca_certificate(existing, ca_certificate) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "CA certificate {id} is already registered with another status or \
                             configuration"
                        )))
                    };
                }
                s.ca_certificates.insert(id.clone(), ca_certificate.clone());
                done(true)
            }
            CaCertificateChange::UpdateCaCertificate {
                certificate_id,
                new_status,
                auto_registration,
                registration_config,
            } => {
                let ca = s.ca_certificates.get_mut(certificate_id).ok_or_else(|| {
                    not_found(format!("CA certificate {certificate_id} does not exist"))
                })?;
                let config = registration_config.clone().filter(|c| !c.is_empty());
                let changed = ca.status != *new_status
                    || ca.auto_registration != *auto_registration
                    || config_of(ca) != config.as_ref();
                ca.status = *new_status;
                ca.auto_registration = *auto_registration;
                ca.registration_config = config;
                done(changed)
            }
            CaCertificateChange::DeleteCaCertificate { certificate_id } => {
                match s.ca_certificates.get(certificate_id) {
                    None => done(false),
                    Some(ca) if ca.status == CaStatus::Active => Err(conflict(format!(
                        "CA certificate {certificate_id} is ACTIVE: AWS IoT deletes only an \
                         INACTIVE CA"
                    ))),
                    Some(_) => done(s.ca_certificates.remove(certificate_id).is_some()),
                }
            }
        }
    }
}

impl fmt::Display for CaCertificateChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaCertificateChange::RegisterCaCertificate { ca_certificate } => write!(
                f,
                "register {} {} ({}, {}{})",
                CaCertificate::NOUN,
                ca_certificate.certificate_id,
                ca_certificate.certificate_mode.as_str(),
                ca_certificate.status.as_str(),
                if ca_certificate.auto_registration {
                    ", auto-registration"
                } else {
                    ""
                }
            ),
            CaCertificateChange::UpdateCaCertificate {
                certificate_id,
                new_status,
                auto_registration,
                ..
            } => write!(
                f,
                "update {} {certificate_id} to {}, auto-registration {}",
                CaCertificate::NOUN,
                new_status.as_str(),
                if *auto_registration { "on" } else { "off" }
            ),
            CaCertificateChange::DeleteCaCertificate { certificate_id } => {
                write!(f, "delete {} {certificate_id}", CaCertificate::NOUN)
            }
        }
    }
}
