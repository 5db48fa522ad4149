//! CA certificates: `ListCACertificates`, `DescribeCACertificate`,
//! `RegisterCACertificate` (with tags, `SNI_ONLY` unless the change says otherwise),
//! `UpdateCACertificate`, `DeleteCACertificate`; tags through `ListTagsForResource` on
//! the CA's ARN.
//!
//! moto (5.2.1) implements all but `ListCACertificates`, which it answers with an HTML
//! page (HTTP 500): a full read from such an endpoint marks the kind unlisted
//! ([`Snapshot::unlisted`](iot_crr_model::Snapshot::unlisted)) and a comparison leaves it
//! out, while keyed reads (`--key caCertificate/ID`, CloudTrail events) describe the CA
//! and work. moto also ignores `certificateMode`, `allowAutoRegistration` and
//! `newAutoRegistrationStatus`, answers `DescribeCACertificate` without the mode or the
//! auto-registration status, re-registers an existing CA instead of refusing it, names
//! the CA's ARN `cert/` instead of `cacert/` and computes the id from the PEM text, not
//! the DER; `request_shape.rs` tests what AWS does.

use aws_sdk_iot::types::{
    AutoRegistrationStatus, CaCertificateStatus, CertificateMode,
    RegistrationConfig as AwsRegistrationConfig,
};
use iot_crr_model::{
    CaCertificate, CaCertificateChange, CaMode, CaStatus, Kind, Name, Outcome, RegistrationConfig,
    Resource, ResourceKey, same_ca_certificate,
};
use iot_crr_registry::{ErrorClass, KeyPage, ReadRequest, Result};

use crate::read::{non_empty, page};
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListCACertificates` returns.
const CA_PAGE: i32 = 250;

fn status_of(s: Option<&CaCertificateStatus>) -> CaStatus {
    match s {
        Some(CaCertificateStatus::Active) => CaStatus::Active,
        _ => CaStatus::Inactive,
    }
}

fn aws_status(s: CaStatus) -> CaCertificateStatus {
    match s {
        CaStatus::Active => CaCertificateStatus::Active,
        CaStatus::Inactive => CaCertificateStatus::Inactive,
    }
}

fn aws_auto(on: bool) -> AutoRegistrationStatus {
    if on {
        AutoRegistrationStatus::Enable
    } else {
        AutoRegistrationStatus::Disable
    }
}

fn aws_config(c: Option<&RegistrationConfig>) -> AwsRegistrationConfig {
    let c = c.cloned().unwrap_or_default();
    AwsRegistrationConfig::builder()
        .set_template_body(c.template_body)
        .set_role_arn(c.role_arn)
        .set_template_name(c.template_name.map(|n| n.to_string()))
        .build()
}

impl AwsRegistry {
    /// `DescribeCACertificate`: the CA without its tags, and its ARN; `None` when absent.
    async fn describe_ca_certificate(
        &self,
        id: &str,
    ) -> Result<Option<(CaCertificate, Option<String>)>> {
        let Some(out) = found(
            self.call("DescribeCACertificate", || {
                self.client
                    .describe_ca_certificate()
                    .certificate_id(id)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let Some(d) = out.certificate_description() else {
            return Ok(None);
        };
        let config = out.registration_config().map(|c| RegistrationConfig {
            template_body: non_empty(c.template_body()),
            role_arn: non_empty(c.role_arn()),
            template_name: non_empty(c.template_name()).map(Name::from),
        });
        let ca = CaCertificate {
            certificate_id: id.into(),
            certificate_pem: d.certificate_pem().unwrap_or_default().to_string(),
            status: status_of(d.status()),
            certificate_mode: match d.certificate_mode() {
                Some(CertificateMode::SniOnly) => CaMode::SniOnly,
                _ => CaMode::Default,
            },
            auto_registration: d.auto_registration_status()
                == Some(&AutoRegistrationStatus::Enable),
            registration_config: config.filter(|c| !c.is_empty()),
            tags: Default::default(),
        };
        let arn = d.certificate_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((ca, arn)))
    }

    /// One CA certificate with its tags.
    pub(crate) async fn read_ca_certificate(&self, id: &str) -> Result<Option<Resource>> {
        let Some((mut ca, arn)) = self.describe_ca_certificate(id).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            ca.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::CaCertificate(ca)))
    }

    /// The ARN of a CA certificate, `None` when it does not exist.
    pub(crate) async fn ca_certificate_arn(&self, id: &str) -> Result<Option<String>> {
        Ok(self.describe_ca_certificate(id).await?.and_then(|(_, a)| a))
    }

    /// One page of CA certificate ids.
    pub(crate) async fn ca_certificate_keys(
        &self,
        marker: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListCACertificates", || {
                self.client
                    .list_ca_certificates()
                    .page_size(size.min(CA_PAGE))
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.certificates()
                .iter()
                .filter_map(|c| c.certificate_id())
                .map(|id| ResourceKey::new(Kind::CaCertificate, id))
                .collect(),
            out.next_marker(),
        ))
    }

    /// Every CA certificate the filter selects, each described and its tags read;
    /// `None` when the endpoint cannot list them (moto).
    pub(crate) async fn read_ca_certificates(
        &self,
        req: &ReadRequest,
    ) -> Result<Option<Vec<CaCertificate>>> {
        let mut ids: Vec<Name> = Vec::new();
        let mut marker = None;
        loop {
            let page = match self.ca_certificate_keys(marker, CA_PAGE).await {
                Ok(p) => p,
                Err(e) if e.class == ErrorClass::Unsupported => {
                    tracing::warn!(
                        region = %self.region,
                        "the endpoint does not implement ListCACertificates: CA certificates \
                         are not compared (compare them by key: --key caCertificate/ID)"
                    );
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            ids.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::CaCertificate, n)),
            );
            match page.next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        let read = self
            .each(ids, |id| async move { self.read_ca_certificate(&id).await })
            .await?;
        // A CA deleted between the list and its description is simply gone.
        Ok(Some(
            read.into_iter()
                .flatten()
                .filter_map(|r| match r {
                    Resource::CaCertificate(c) => Some(c),
                    _ => None,
                })
                .collect(),
        ))
    }

    /// Applies a CA certificate change, with the model's semantics.
    pub(crate) async fn apply_ca_certificate(
        &self,
        change: &CaCertificateChange,
    ) -> Result<Outcome> {
        match change {
            CaCertificateChange::RegisterCaCertificate { ca_certificate: ca } => {
                let tags = self.create_tags(&ca.tags)?;
                let mode = match ca.certificate_mode {
                    CaMode::SniOnly => CertificateMode::SniOnly,
                    CaMode::Default => CertificateMode::Default,
                };
                let config = ca.registration_config.as_ref().map(|c| aws_config(Some(c)));
                let r = self
                    .call("RegisterCACertificate", || {
                        self.client
                            .register_ca_certificate()
                            .ca_certificate(&ca.certificate_pem)
                            .certificate_mode(mode.clone())
                            .set_as_active(ca.status == CaStatus::Active)
                            .allow_auto_registration(ca.auto_registration)
                            .set_registration_config(config.clone())
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.certificate_arn() {
                            self.note_arn(a);
                        }
                        if let Some(got) = o.certificate_id()
                            && got != ca.certificate_id
                        {
                            return Err(conflict(
                                "RegisterCACertificate",
                                format!(
                                    "the target registered the PEM as CA certificate {got}, not \
                                     {}: the planned id does not match the PEM",
                                    ca.certificate_id
                                ),
                            ));
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_ca_certificate(&ca.certificate_id).await? {
                            Some((existing, _)) if same_ca_certificate(&existing, ca) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "RegisterCACertificate",
                                format!(
                                    "CA certificate {} is already registered with another \
                                     status or configuration",
                                    ca.certificate_id
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            CaCertificateChange::UpdateCaCertificate {
                certificate_id,
                new_status,
                auto_registration,
                registration_config,
            } => {
                let config = aws_config(registration_config.as_ref());
                self.call("UpdateCACertificate", || {
                    self.client
                        .update_ca_certificate()
                        .certificate_id(certificate_id.as_str())
                        .new_status(aws_status(*new_status))
                        .new_auto_registration_status(aws_auto(*auto_registration))
                        .registration_config(config.clone())
                        .send()
                })
                .await?;
                applied()
            }
            CaCertificateChange::DeleteCaCertificate { certificate_id } => gone_ok(
                self.call("DeleteCACertificate", || {
                    self.client
                        .delete_ca_certificate()
                        .certificate_id(certificate_id.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
