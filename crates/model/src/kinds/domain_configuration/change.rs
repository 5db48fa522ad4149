//! The operations on domain configurations, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainAuthorizerConfig, DomainConfiguration, DomainStatus};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Kind, Name, ResourceKey};
use crate::snapshot::Snapshot;

/// What `UpdateDomainConfiguration` sets: everything but the domain, its certificates
/// and its service type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainSettings {
    /// `domainConfigurationStatus`.
    pub status: DomainStatus,
    /// `authorizerConfig`; none sends `removeAuthorizerConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_config: Option<DomainAuthorizerConfig>,
    /// `tlsConfig.securityPolicy`; none leaves AWS IoT's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<Box<str>>,
    /// `authenticationType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_type: Option<Box<str>>,
    /// `applicationProtocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_protocol: Option<Box<str>>,
}

impl DomainSettings {
    pub(crate) fn check(&self, c: &constraints::Ctx<'_>) -> Result<(), Violation> {
        if let Some(name) = self
            .authorizer_config
            .as_ref()
            .and_then(|a| a.default_authorizer_name.as_ref())
        {
            constraints::check_name_of(Kind::Authorizer, name)
                .map_err(|p| c.err("authorizerConfig.defaultAuthorizerName", p))?;
        }
        Ok(())
    }

    fn authorizer(&self) -> Option<&Name> {
        self.authorizer_config
            .as_ref()
            .and_then(|a| a.default_authorizer_name.as_ref())
    }
}

/// A write to a domain configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum DomainConfigurationChange {
    /// `CreateDomainConfiguration` with its tags (then `UpdateDomainConfiguration` to
    /// disable it, when it should be disabled: a configuration is created enabled).
    CreateDomainConfiguration {
        /// The configuration as it should be (its certificates mapped for the target).
        domain_configuration: Box<DomainConfiguration>,
    },
    /// `UpdateDomainConfiguration`.
    UpdateDomainConfiguration {
        /// Configuration name.
        domain_configuration_name: Name,
        /// What it sets.
        settings: Box<DomainSettings>,
    },
    /// `DeleteDomainConfiguration` (after `UpdateDomainConfiguration` to disable it:
    /// AWS IoT deletes only a disabled configuration).
    DeleteDomainConfiguration {
        /// Configuration name.
        domain_configuration_name: Name,
    },
}

impl DomainConfigurationChange {
    fn name(&self) -> &Name {
        match self {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration,
            } => &domain_configuration.domain_configuration_name,
            DomainConfigurationChange::UpdateDomainConfiguration {
                domain_configuration_name,
                ..
            }
            | DomainConfigurationChange::DeleteDomainConfiguration {
                domain_configuration_name,
            } => domain_configuration_name,
        }
    }
}

/// Whether an existing configuration is the one `CreateDomainConfiguration` would make
/// (tags are compared apart, as they are applied apart).
pub fn same_domain_configuration(
    existing: &DomainConfiguration,
    wanted: &DomainConfiguration,
) -> bool {
    existing.domain_name == wanted.domain_name
        && existing.server_certificate_arns == wanted.server_certificate_arns
        && existing.service_type == wanted.service_type
        && existing.settings() == wanted.settings()
}

impl KindChange for DomainConfigurationChange {
    const OPS: &'static [&'static str] = &[
        "createDomainConfiguration",
        "updateDomainConfiguration",
        "deleteDomainConfiguration",
    ];

    fn api(&self) -> &'static str {
        match self {
            DomainConfigurationChange::CreateDomainConfiguration { .. } => {
                "CreateDomainConfiguration"
            }
            DomainConfigurationChange::UpdateDomainConfiguration { .. } => {
                "UpdateDomainConfiguration"
            }
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => {
                "DeleteDomainConfiguration"
            }
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(DomainConfiguration::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            DomainConfigurationChange::CreateDomainConfiguration { .. } => Action::Create,
            DomainConfigurationChange::UpdateDomainConfiguration { .. } => Action::Update,
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => Action::Delete,
        }
    }

    fn requires(&self, out: &mut Vec<ResourceKey>) {
        let authorizer = match self {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration,
            } => domain_configuration
                .authorizer_config
                .as_ref()
                .and_then(|a| a.default_authorizer_name.as_ref()),
            DomainConfigurationChange::UpdateDomainConfiguration { settings, .. } => {
                settings.authorizer()
            }
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => None,
        };
        if let Some(a) = authorizer {
            out.push(ResourceKey::new(Kind::Authorizer, a.clone()));
        }
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(DomainConfiguration::KIND, self.name());
        match self {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration,
            } => domain_configuration.check(),
            DomainConfigurationChange::UpdateDomainConfiguration { settings, .. } => {
                constraints::own_name(&c)?;
                settings.check(&c)
            }
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => {
                constraints::own_name(&c)
            }
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration: d,
            } => {
                let name = &d.domain_configuration_name;
                if let Some(existing) = s.domain_configurations.get(name) {
                    return if same_domain_configuration(existing, d) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "domain configuration {name} already exists with other properties"
                        )))
                    };
                }
                if let Some(a) = d
                    .authorizer_config
                    .as_ref()
                    .and_then(|a| a.default_authorizer_name.as_ref())
                    && !s.authorizers.contains_key(a)
                {
                    return Err(not_found(format!(
                        "domain configuration {name} names authorizer {a}, which does not exist"
                    )));
                }
                s.domain_configurations.insert(name.clone(), (**d).clone());
                done(true)
            }
            DomainConfigurationChange::UpdateDomainConfiguration {
                domain_configuration_name: name,
                settings,
            } => {
                if let Some(a) = settings.authorizer()
                    && !s.authorizers.contains_key(a)
                {
                    return Err(not_found(format!(
                        "domain configuration {name} names authorizer {a}, which does not exist"
                    )));
                }
                let d = s.domain_configurations.get_mut(name).ok_or_else(|| {
                    not_found(format!("domain configuration {name} does not exist"))
                })?;
                let changed = d.settings() != **settings;
                d.status = settings.status;
                d.authorizer_config = settings.authorizer_config.clone();
                d.security_policy = settings.security_policy.clone();
                d.authentication_type = settings.authentication_type.clone();
                d.application_protocol = settings.application_protocol.clone();
                done(changed)
            }
            DomainConfigurationChange::DeleteDomainConfiguration {
                domain_configuration_name,
            } => done(
                s.domain_configurations
                    .remove(domain_configuration_name)
                    .is_some(),
            ),
        }
    }
}

impl fmt::Display for DomainConfigurationChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            DomainConfigurationChange::CreateDomainConfiguration { .. } => "create",
            DomainConfigurationChange::UpdateDomainConfiguration { .. } => "update",
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => "delete",
        };
        write!(f, "{verb} {} {}", DomainConfiguration::NOUN, self.name())?;
        match self {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration: d,
            } => {
                if let Some(domain) = &d.domain_name {
                    write!(f, " for {domain}")?;
                }
                if d.status == DomainStatus::Disabled {
                    write!(f, ", disabled")?;
                }
                Ok(())
            }
            DomainConfigurationChange::UpdateDomainConfiguration { settings, .. } => {
                write!(f, " ({})", settings.status.as_str().to_ascii_lowercase())
            }
            DomainConfigurationChange::DeleteDomainConfiguration { .. } => Ok(()),
        }
    }
}
