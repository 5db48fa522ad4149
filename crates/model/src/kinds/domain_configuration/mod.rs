//! Domain configurations (`CreateDomainConfiguration`): a custom domain devices connect
//! to (`iot.example.com`), with its server certificate, the service it serves, its
//! custom authorizer, TLS policy, authentication type, protocol and status. A fleet that
//! fails over by DNS needs the same domain configured in the standby.
//!
//! Only the configurations an account made are replicated: the `iot:`-named ones every
//! region has (`iot:Data-ATS`, `iot:Jobs`, `iot:CredentialProvider`) are AWS IoT's own
//! and never read. The server certificates are ACM certificates, issued per region with
//! random ids: they must be mapped (`--map-arn SOURCE_CERT=TARGET_CERT`), and an
//! unmapped one is a warning (an error with `--strict-arns`). The domain name, its
//! certificates and its service type cannot be changed on an existing configuration: a
//! difference there is reported, not planned.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::{DomainConfigurationChange, DomainSettings, same_domain_configuration};
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// How AWS IoT's own domain configurations are named; they are never replicated.
pub const AWS_MANAGED_PREFIX: &str = "iot:";
/// How many server certificates a domain configuration may have.
pub const MAX_SERVER_CERTIFICATES: usize = 1;

/// Whether a domain configuration is AWS IoT's own (`iot:Data-ATS`).
pub fn is_aws_managed(name: &str) -> bool {
    name.starts_with(AWS_MANAGED_PREFIX)
}

/// A domain configuration's status (`DomainConfigurationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DomainStatus {
    /// Devices may connect.
    Enabled,
    /// Connections are refused.
    Disabled,
}

impl DomainStatus {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Enabled => "ENABLED",
            DomainStatus::Disabled => "DISABLED",
        }
    }
}

/// The custom authorizer of a domain (`AuthorizerConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainAuthorizerConfig {
    /// `defaultAuthorizerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_authorizer_name: Option<Name>,
    /// `allowAuthorizerOverride`.
    #[serde(default)]
    pub allow_authorizer_override: bool,
}

fn enabled() -> DomainStatus {
    DomainStatus::Enabled
}

/// A domain configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainConfiguration {
    /// `domainConfigurationName`.
    pub domain_configuration_name: Name,
    /// `domainName`: the custom domain (none for a configuration of AWS IoT's endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<Box<str>>,
    /// `serverCertificateArns`: the ACM certificates it presents (mapped for the target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_certificate_arns: Vec<String>,
    /// `serviceType`: `DATA`, `CREDENTIAL_PROVIDER` or `JOBS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<Box<str>>,
    /// `domainConfigurationStatus`.
    #[serde(default = "enabled")]
    pub status: DomainStatus,
    /// `authorizerConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_config: Option<DomainAuthorizerConfig>,
    /// `tlsConfig.securityPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<Box<str>>,
    /// `authenticationType` (`AWS_X509`, `CUSTOM_AUTH`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_type: Option<Box<str>>,
    /// `applicationProtocol` (`SECURE_MQTT`, `MQTT_WSS`, `HTTPS`, `DEFAULT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_protocol: Option<Box<str>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl DomainConfiguration {
    /// What `UpdateDomainConfiguration` can change.
    pub fn settings(&self) -> DomainSettings {
        DomainSettings {
            status: self.status,
            authorizer_config: self.authorizer_config.clone(),
            security_policy: self.security_policy.clone(),
            authentication_type: self.authentication_type.clone(),
            application_protocol: self.application_protocol.clone(),
        }
    }
}

impl KindSpec for DomainConfiguration {
    const KIND: Kind = Kind::DomainConfiguration;
    const TAG: &'static str = "domainConfiguration";
    const NOUN: &'static str = "domain configuration";
    const PLURAL: &'static str = "domain configurations";
    const NAME_FIELD: &'static str = "domainConfigurationName";
    const ARN_TYPE: &'static str = "domainconfiguration";
    const TAGGABLE: bool = true;
    const ALIASES: &'static [&'static str] = &["domain"];

    fn name(&self) -> &Name {
        &self.domain_configuration_name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.domain_configurations
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.domain_configurations
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.domain_configurations
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.domain_configurations
    }

    fn into_resource(self) -> Resource {
        Resource::DomainConfiguration(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::DomainConfiguration(self)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.domain_configuration_name);
        constraints::own_name(&c)?;
        if let Some(d) = &self.domain_name
            && (d.is_empty() || d.len() > 253)
        {
            return Err(c.err(
                "domainName",
                format!("is {} characters long (AWS IoT allows 1 to 253)", d.len()),
            ));
        }
        if self.server_certificate_arns.len() > MAX_SERVER_CERTIFICATES {
            return Err(c.err(
                "serverCertificateArns",
                format!(
                    "holds {} certificates (AWS IoT allows {MAX_SERVER_CERTIFICATES})",
                    self.server_certificate_arns.len()
                ),
            ));
        }
        for arn in &self.server_certificate_arns {
            if crate::arn::ArnHead::parse(arn).is_none_or(|h| h.service != "acm") {
                return Err(c.err(
                    "serverCertificateArns",
                    format!("holds {arn:?}, which is not an ACM certificate ARN"),
                ));
            }
        }
        if let Some(s) = &self.service_type
            && !["DATA", "CREDENTIAL_PROVIDER", "JOBS"].contains(&&**s)
        {
            return Err(c.err(
                "serviceType",
                format!("is {s:?} (AWS IoT knows DATA, CREDENTIAL_PROVIDER, JOBS)"),
            ));
        }
        self.settings().check(&c)?;
        constraints::tags(&c, &self.tags)
    }
}

/// A domain configuration name: 1 to 128 of `[\w.:-]`, not beginning `iot:`.
pub fn check_domain_configuration_name(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 {
        return Err(format!(
            "is {} characters long (AWS IoT allows 1 to 128)",
            value.chars().count()
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "holds {c:?} (AWS IoT allows letters, digits and _ . : -)"
        ));
    }
    if is_aws_managed(value) {
        return Err("begins with iot: (AWS IoT's own configurations)".into());
    }
    Ok(())
}
