//! CA certificates (`RegisterCACertificate`): the certificate authorities whose client
//! certificates a region accepts, with their status, auto-registration (just-in-time
//! registration and provisioning) and registration configuration.
//!
//! A CA certificate keeps its id in every region (the id is the SHA-256 of its DER), so
//! it is keyed by id, as device certificates are. A CA registered in `DEFAULT` mode by
//! one account of a region can be registered by no other account there, and `DEFAULT`
//! mode needs a verification certificate signed with the CA's private key, which
//! iot-crr never has: the target's CA is registered in `SNI_ONLY` mode (devices send
//! the server name, as every current SDK does). The mode is the region's own and is not
//! compared: a CA an operator registered in `DEFAULT` mode in the target stays so.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::{CaCertificateChange, same_ca_certificate};
pub(crate) use diff::{CA_SUB_STAGE, diff};

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// The status of a CA certificate (`CACertificateStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaStatus {
    /// Client certificates it signed may be registered and connect.
    Active,
    /// Registered, not usable.
    Inactive,
}

impl CaStatus {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaStatus::Active => "ACTIVE",
            CaStatus::Inactive => "INACTIVE",
        }
    }
}

/// How a CA is registered (`certificateMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaMode {
    /// Registered with a verification certificate; one account of a region only.
    Default,
    /// Registered without one; devices must send SNI. Any number of accounts.
    SniOnly,
}

impl CaMode {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaMode::Default => "DEFAULT",
            CaMode::SniOnly => "SNI_ONLY",
        }
    }
}

/// The registration configuration of a CA (`registrationConfig`): the template
/// just-in-time provisioning applies to the certificates it signs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationConfig {
    /// `templateBody`: a provisioning template given inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_body: Option<String>,
    /// `roleArn`: the role that provisions (rewritten for the target account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// `templateName`: a provisioning template of the region, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<Name>,
}

impl RegistrationConfig {
    /// Whether it configures nothing (AWS answers an unconfigured CA with an empty one).
    pub fn is_empty(&self) -> bool {
        self.template_body.is_none() && self.role_arn.is_none() && self.template_name.is_none()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaCertificate {
    /// `certificateId` (64 lowercase hex digits), the same in every region.
    pub certificate_id: Name,
    /// `certificatePem`.
    pub certificate_pem: String,
    /// `status`.
    pub status: CaStatus,
    /// `certificateMode` in the registry it was read from (not compared: see the
    /// module's documentation).
    #[serde(default = "default_mode")]
    pub certificate_mode: CaMode,
    /// `autoRegistrationStatus` is `ENABLE`: client certificates it signed register
    /// themselves when they first connect.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_registration: bool,
    /// `registrationConfig`, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_config: Option<RegistrationConfig>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

fn default_mode() -> CaMode {
    CaMode::Default
}

impl KindSpec for CaCertificate {
    const KIND: Kind = Kind::CaCertificate;
    const TAG: &'static str = "caCertificate";
    const NOUN: &'static str = "CA certificate";
    const PLURAL: &'static str = "CA certificates";
    const NAME_FIELD: &'static str = "certificateId";
    const ARN_TYPE: &'static str = "cacert";
    const TAGGABLE: bool = true;
    const ALIASES: &'static [&'static str] = &["ca", "cacert"];

    fn name(&self) -> &Name {
        &self.certificate_id
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.ca_certificates
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.ca_certificates
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.ca_certificates
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.ca_certificates
    }

    fn into_resource(self) -> Resource {
        Resource::CaCertificate(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::CaCertificate(self)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.certificate_id);
        constraints::own_name(&c)?;
        constraints::check_certificate_pem(&self.certificate_pem)
            .map_err(|p| c.err("certificatePem", p))?;
        check_registration_config(&c, self.registration_config.as_ref())?;
        constraints::tags(&c, &self.tags)
    }
}

/// The largest `templateBody` AWS IoT takes (10,240 characters).
pub const MAX_TEMPLATE_BODY_LEN: usize = 10_240;

/// The checks of a registration configuration.
pub(crate) fn check_registration_config(
    c: &constraints::Ctx<'_>,
    rc: Option<&RegistrationConfig>,
) -> Result<(), Violation> {
    let Some(rc) = rc else {
        return Ok(());
    };
    if let Some(body) = &rc.template_body {
        if body.is_empty() || body.chars().count() > MAX_TEMPLATE_BODY_LEN {
            return Err(c.err(
                "registrationConfig.templateBody",
                format!(
                    "has {} characters (AWS IoT allows 1 to {MAX_TEMPLATE_BODY_LEN})",
                    body.chars().count()
                ),
            ));
        }
        if serde_json::from_str::<serde_json::Value>(body).is_err() {
            return Err(c.err(
                "registrationConfig.templateBody",
                "is not JSON (a provisioning template is a JSON document)".into(),
            ));
        }
    }
    if let Some(role) = &rc.role_arn {
        constraints::check_role_arn(role).map_err(|p| c.err("registrationConfig.roleArn", p))?;
    }
    if let Some(name) = &rc.template_name {
        constraints::check_template_name(name)
            .map_err(|p| c.err("registrationConfig.templateName", p))?;
    }
    Ok(())
}
