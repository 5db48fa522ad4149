//! Domain configurations: `ListDomainConfigurations`, `DescribeDomainConfiguration`,
//! `CreateDomainConfiguration` (with tags), `UpdateDomainConfiguration`,
//! `DeleteDomainConfiguration`; tags through `ListTagsForResource` on the
//! configuration's ARN. AWS IoT's own configurations (`iot:Data-ATS`, ...) are left
//! out of every list.
//!
//! moto (5.2.1) implements the five calls with differences: it keeps no TLS policy,
//! authentication type or protocol (a configuration reads back without them, so a
//! source that sets them plans an update against moto every time), it does not check
//! that the certificate exists in ACM, it deletes an enabled configuration (AWS refuses
//! until it is disabled), its list has no paging, and it keeps no tags.

use aws_sdk_iot::types::{
    ApplicationProtocol, AuthenticationType, AuthorizerConfig, DomainConfigurationStatus,
    ServiceType, TlsConfig,
};
use iot_crr_model::kinds::domain_configuration::is_aws_managed;
use iot_crr_model::{
    DomainAuthorizerConfig, DomainConfiguration, DomainConfigurationChange, DomainSettings,
    DomainStatus, Kind, Name, Outcome, Resource, ResourceKey, same_domain_configuration,
};
use iot_crr_registry::{KeyPage, ReadRequest, Result};

use crate::read::page;
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListDomainConfigurations` returns.
const DOMAIN_PAGE: i32 = 250;

fn aws_status(s: DomainStatus) -> DomainConfigurationStatus {
    match s {
        DomainStatus::Enabled => DomainConfigurationStatus::Enabled,
        DomainStatus::Disabled => DomainConfigurationStatus::Disabled,
    }
}

fn aws_authorizer(c: &DomainAuthorizerConfig) -> AuthorizerConfig {
    AuthorizerConfig::builder()
        .set_default_authorizer_name(c.default_authorizer_name.as_ref().map(|n| n.to_string()))
        .allow_authorizer_override(c.allow_authorizer_override)
        .build()
}

fn boxed(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

impl AwsRegistry {
    /// `DescribeDomainConfiguration`: the configuration without its tags, and its ARN;
    /// `None` when absent.
    async fn describe_domain_configuration(
        &self,
        name: &str,
    ) -> Result<Option<(DomainConfiguration, Option<String>)>> {
        let Some(d) = found(
            self.call("DescribeDomainConfiguration", || {
                self.client
                    .describe_domain_configuration()
                    .domain_configuration_name(name)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let c = DomainConfiguration {
            domain_configuration_name: name.into(),
            domain_name: d.domain_name().and_then(boxed),
            server_certificate_arns: d
                .server_certificates()
                .iter()
                .filter_map(|s| s.server_certificate_arn())
                .map(str::to_string)
                .collect(),
            service_type: d.service_type().map(ServiceType::as_str).and_then(boxed),
            status: match d.domain_configuration_status() {
                Some(DomainConfigurationStatus::Disabled) => DomainStatus::Disabled,
                _ => DomainStatus::Enabled,
            },
            authorizer_config: d.authorizer_config().and_then(|a| {
                let name = a.default_authorizer_name().filter(|n| !n.is_empty());
                let allow = a.allow_authorizer_override().unwrap_or(false);
                (name.is_some() || allow).then(|| DomainAuthorizerConfig {
                    default_authorizer_name: name.map(Name::from),
                    allow_authorizer_override: allow,
                })
            }),
            security_policy: d
                .tls_config()
                .and_then(|t| t.security_policy())
                .and_then(boxed),
            authentication_type: d
                .authentication_type()
                .map(AuthenticationType::as_str)
                .and_then(boxed),
            application_protocol: d
                .application_protocol()
                .map(ApplicationProtocol::as_str)
                .and_then(boxed),
            tags: Default::default(),
        };
        let arn = d.domain_configuration_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((c, arn)))
    }

    /// One domain configuration with its tags (none for AWS IoT's own).
    pub(crate) async fn read_domain_configuration(&self, name: &str) -> Result<Option<Resource>> {
        if is_aws_managed(name) {
            return Ok(None);
        }
        let Some((mut c, arn)) = self.describe_domain_configuration(name).await? else {
            return Ok(None);
        };
        if let Some(a) = arn {
            c.tags = self.tags_of(&a).await?;
        }
        Ok(Some(Resource::DomainConfiguration(c)))
    }

    /// The ARN of a domain configuration, `None` when it does not exist.
    pub(crate) async fn domain_configuration_arn(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .describe_domain_configuration(name)
            .await?
            .and_then(|(_, a)| a))
    }

    /// One page of domain configuration names, AWS IoT's own left out.
    pub(crate) async fn domain_configuration_keys(
        &self,
        marker: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListDomainConfigurations", || {
                self.client
                    .list_domain_configurations()
                    .page_size(size.clamp(1, DOMAIN_PAGE))
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        Ok(page(
            out.domain_configurations()
                .iter()
                .filter_map(|d| d.domain_configuration_name())
                .filter(|n| !is_aws_managed(n))
                .map(|n| ResourceKey::new(Kind::DomainConfiguration, n))
                .collect(),
            out.next_marker(),
        ))
    }

    /// Every domain configuration the filter selects, each described with its tags.
    pub(crate) async fn read_domain_configurations(
        &self,
        req: &ReadRequest,
    ) -> Result<Vec<DomainConfiguration>> {
        let mut names: Vec<Name> = Vec::new();
        let mut marker = None;
        loop {
            let page = self.domain_configuration_keys(marker, DOMAIN_PAGE).await?;
            names.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::DomainConfiguration, n)),
            );
            match page.next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        let read = self
            .each(names, |name| async move {
                self.read_domain_configuration(&name).await
            })
            .await?;
        Ok(read
            .into_iter()
            .flatten()
            .filter_map(|r| match r {
                Resource::DomainConfiguration(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// `UpdateDomainConfiguration` with every setting.
    async fn update_domain_configuration(&self, name: &str, s: &DomainSettings) -> Result<()> {
        self.call("UpdateDomainConfiguration", || {
            let mut u = self
                .client
                .update_domain_configuration()
                .domain_configuration_name(name)
                .domain_configuration_status(aws_status(s.status))
                .set_authentication_type(
                    s.authentication_type
                        .as_deref()
                        .map(AuthenticationType::from),
                )
                .set_application_protocol(
                    s.application_protocol
                        .as_deref()
                        .map(ApplicationProtocol::from),
                );
            u = match &s.authorizer_config {
                Some(a) => u.authorizer_config(aws_authorizer(a)),
                None => u.remove_authorizer_config(true),
            };
            if let Some(p) = &s.security_policy {
                u = u.tls_config(TlsConfig::builder().security_policy(&**p).build());
            }
            u.send()
        })
        .await?;
        Ok(())
    }

    /// Applies a domain configuration change, with the model's semantics.
    pub(crate) async fn apply_domain_configuration(
        &self,
        change: &DomainConfigurationChange,
    ) -> Result<Outcome> {
        match change {
            DomainConfigurationChange::CreateDomainConfiguration {
                domain_configuration: d,
            } => {
                let name = d.domain_configuration_name.as_str();
                let tags = self.create_tags(&d.tags)?;
                let r = self
                    .call("CreateDomainConfiguration", || {
                        self.client
                            .create_domain_configuration()
                            .domain_configuration_name(name)
                            .set_domain_name(d.domain_name.as_deref().map(str::to_string))
                            .set_server_certificate_arns(
                                (!d.server_certificate_arns.is_empty())
                                    .then(|| d.server_certificate_arns.clone()),
                            )
                            .set_service_type(d.service_type.as_deref().map(ServiceType::from))
                            .set_authorizer_config(d.authorizer_config.as_ref().map(aws_authorizer))
                            .set_tls_config(
                                d.security_policy
                                    .as_deref()
                                    .map(|p| TlsConfig::builder().security_policy(p).build()),
                            )
                            .set_authentication_type(
                                d.authentication_type
                                    .as_deref()
                                    .map(AuthenticationType::from),
                            )
                            .set_application_protocol(
                                d.application_protocol
                                    .as_deref()
                                    .map(ApplicationProtocol::from),
                            )
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.domain_configuration_arn() {
                            self.note_arn(a);
                        }
                        // A configuration is created enabled.
                        if d.status == DomainStatus::Disabled {
                            self.update_domain_configuration(name, &d.settings())
                                .await?;
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_domain_configuration(name).await? {
                            Some((existing, _)) if same_domain_configuration(&existing, d) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateDomainConfiguration",
                                format!(
                                    "domain configuration {name} already exists with other properties"
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            DomainConfigurationChange::UpdateDomainConfiguration {
                domain_configuration_name,
                settings,
            } => {
                self.update_domain_configuration(domain_configuration_name, settings)
                    .await?;
                applied()
            }
            DomainConfigurationChange::DeleteDomainConfiguration {
                domain_configuration_name: name,
            } => {
                // AWS IoT deletes only a disabled configuration.
                let disabled = found(
                    self.call("UpdateDomainConfiguration", || {
                        self.client
                            .update_domain_configuration()
                            .domain_configuration_name(name.as_str())
                            .domain_configuration_status(DomainConfigurationStatus::Disabled)
                            .send()
                    })
                    .await,
                )?;
                if disabled.is_none() {
                    return Ok(Outcome::AlreadyInState);
                }
                gone_ok(
                    self.call("DeleteDomainConfiguration", || {
                        self.client
                            .delete_domain_configuration()
                            .domain_configuration_name(name.as_str())
                            .send()
                    })
                    .await,
                )
            }
        }
    }
}
