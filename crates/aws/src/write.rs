//! Applying one [`Change`] with AWS IoT calls, with the semantics of
//! [`iot_crr_model::apply_change`]: idempotent, so a change whose effect is already in
//! place is [`Outcome::AlreadyInState`] (a delete of something absent, a create of
//! something that exists with the same content) rather than an error.
//!
//! Where an AWS call is itself idempotent (DeprecateThingType, AddThingToThingGroup,
//! SetDefaultPolicyVersion, ...) no extra read is spent to find out whether it changed
//! anything: the outcome is then [`Outcome::Applied`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_iot::types::{
    AttributePayload, CertificateStatus as AwsStatus, Tag, ThingGroupProperties, ThingIndexingMode,
    ThingTypeProperties,
};
use iot_crr_model::{
    CertificateStatus, Change, Kind, Name, Outcome, PolicyTarget, StringMap, Thing, ThingGroup,
    certificate_status_update, principal_certificate_id, same_document, same_policy, same_thing,
    same_thing_group, same_thing_type,
};
use iot_crr_registry::{ErrorClass, RegistryError, Result};

use crate::options::CertStrategy;
use crate::read::{string_map, thing_type_from};
use crate::registry::AwsRegistry;

/// AWS IoT deletes a thing type only this long after it was deprecated.
const THING_TYPE_DELETE_DELAY: Duration = Duration::from_secs(5 * 60);

pub(crate) const ALREADY_EXISTS: &str = "ResourceAlreadyExistsException";
const INVALID_REQUEST: &str = "InvalidRequestException";
const VERSIONS_LIMIT: &str = "VersionsLimitExceededException";

pub(crate) fn applied() -> Result<Outcome> {
    Ok(Outcome::Applied)
}

/// A delete or detach: "not found" means it is already gone.
pub(crate) fn gone_ok<T>(r: Result<T>) -> Result<Outcome> {
    match r {
        Ok(_) => Ok(Outcome::Applied),
        Err(e) if e.class == ErrorClass::NotFound => Ok(Outcome::AlreadyInState),
        Err(e) => Err(e),
    }
}

/// A read's answer, `None` when the resource does not exist (the read counterpart of
/// [`gone_ok`]).
pub(crate) fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn conflict(api: &str, msg: impl Into<String>) -> RegistryError {
    RegistryError::new(ErrorClass::Conflict, msg).with_api(api)
}

fn hash_map(m: &StringMap) -> HashMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn aws_status(s: CertificateStatus) -> AwsStatus {
    AwsStatus::from(s.as_str())
}

/// What a `CreatePolicyVersion` whose answer was lost did, judged from the policy's
/// versions afterwards, with the rule of the reference semantics
/// ([`iot_crr_model::apply_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LostCreate {
    /// The version was created: the newest version is ours (and, when the plan said
    /// how many versions there were before, there is exactly one more).
    Applied,
    /// Nothing was created: send the create again.
    NotApplied,
    /// The policy has neither the planned count nor one more: it changed since the plan.
    Changed {
        /// Versions now.
        have: usize,
        /// Versions the plan expected before the create.
        before: usize,
    },
}

/// Judges a lost `CreatePolicyVersion` from the number of versions the policy has now
/// (`have`), whether its newest version (highest id) has our document, and the count
/// the plan expected before the create. Without a planned count, the newest document
/// alone decides (a version created by the lost attempt is the newest one).
fn lost_create(have: usize, newest_is_ours: bool, versions_before: Option<u32>) -> LostCreate {
    match versions_before.map(|b| b as usize) {
        Some(before) if have == before + 1 && newest_is_ours => LostCreate::Applied,
        Some(before) if have == before => LostCreate::NotApplied,
        Some(before) => LostCreate::Changed { have, before },
        None if newest_is_ours => LostCreate::Applied,
        None => LostCreate::NotApplied,
    }
}

impl AwsRegistry {
    /// The tags to send with a create call: none when empty or when tags are off.
    pub(crate) fn create_tags(&self, tags: &StringMap) -> Result<Option<Vec<Tag>>> {
        if tags.is_empty() || !self.tags_enabled() {
            return Ok(None);
        }
        tags.iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k.to_string())
                    .value(v.to_string())
                    .build()
                    .map_err(|e| {
                        RegistryError::new(ErrorClass::Invalid, format!("invalid tag {k}: {e}"))
                    })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// The ARN of a resource in this region. The account comes from any ARN seen so
    /// far; when none has been seen yet, a describe call on the resource itself gives
    /// it (and shows that the resource exists).
    pub(crate) async fn arn_of(&self, kind: Kind, name: &str) -> Result<String> {
        if let Some(b) = self.arns() {
            return Ok(b.arn(kind, name));
        }
        let not_found = || {
            RegistryError::new(
                ErrorClass::NotFound,
                format!("{kind} {name} does not exist in {}", self.region),
            )
        };
        let found: Option<String> = match kind {
            Kind::Certificate => self
                .call("DescribeCertificate", || {
                    self.client
                        .describe_certificate()
                        .certificate_id(name)
                        .send()
                })
                .await
                .map(|o| {
                    o.certificate_description()
                        .and_then(|d| d.certificate_arn())
                        .map(str::to_string)
                }),
            Kind::ThingGroup => self
                .call("DescribeThingGroup", || {
                    self.client
                        .describe_thing_group()
                        .thing_group_name(name)
                        .send()
                })
                .await
                .map(|o| o.thing_group_arn().map(str::to_string)),
            Kind::ThingType => self
                .call("DescribeThingType", || {
                    self.client
                        .describe_thing_type()
                        .thing_type_name(name)
                        .send()
                })
                .await
                .map(|o| o.thing_type_arn().map(str::to_string)),
            Kind::BillingGroup => self.billing_group_arn(name).await,
            Kind::RoleAlias => self.role_alias_arn(name).await,
            Kind::CaCertificate => self.ca_certificate_arn(name).await,
            Kind::Authorizer => self.authorizer_arn(name).await,
            Kind::TopicRule => Box::pin(self.topic_rule_arn(name)).await,
            Kind::TopicRuleDestination => Box::pin(self.topic_rule_destination_arn(name)).await,
            Kind::ProvisioningTemplate => Box::pin(self.provisioning_template_arn(name)).await,
            Kind::DomainConfiguration => Box::pin(self.domain_configuration_arn(name)).await,
            // Account settings have no ARN (and no tags).
            Kind::IndexingConfiguration | Kind::EventConfigurations => Ok(None),
            Kind::Policy => self
                .call("GetPolicy", || {
                    self.client.get_policy().policy_name(name).send()
                })
                .await
                .map(|o| o.policy_arn().map(str::to_string)),
            Kind::Thing => self
                .call("DescribeThing", || {
                    self.client.describe_thing().thing_name(name).send()
                })
                .await
                .map(|o| o.thing_arn().map(str::to_string)),
        }?;
        let found = found.ok_or_else(not_found)?;
        self.note_arn(&found);
        Ok(found)
    }

    /// The ARN of a thing principal in this region: `cert/<id>` becomes the
    /// certificate's ARN, anything else is used as given.
    async fn principal_arn(&self, principal: &str) -> Result<String> {
        match principal_certificate_id(principal) {
            Some(id) => self.arn_of(Kind::Certificate, id).await,
            None => Ok(principal.to_string()),
        }
    }

    async fn target_arn(&self, target: &PolicyTarget) -> Result<String> {
        match target {
            PolicyTarget::Certificate(id) => self.arn_of(Kind::Certificate, id).await,
            PolicyTarget::ThingGroup(g) => self.arn_of(Kind::ThingGroup, g).await,
        }
    }

    pub(crate) async fn apply_change(&self, change: &Change) -> Result<Outcome> {
        match change {
            Change::CreateThingType { thing_type } => {
                let name = thing_type.thing_type_name.as_str();
                let props = ThingTypeProperties::builder()
                    .set_thing_type_description(thing_type.thing_type_description.clone())
                    .set_searchable_attributes((!thing_type.searchable_attributes.is_empty()).then(
                        || {
                            thing_type
                                .searchable_attributes
                                .iter()
                                .map(|s| s.to_string())
                                .collect()
                        },
                    ))
                    .build();
                let tags = self.create_tags(&thing_type.tags)?;
                let r = self
                    .call("CreateThingType", || {
                        self.client
                            .create_thing_type()
                            .thing_type_name(name)
                            .thing_type_properties(props.clone())
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.thing_type_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        let d = self
                            .call("DescribeThingType", || {
                                self.client
                                    .describe_thing_type()
                                    .thing_type_name(name)
                                    .send()
                            })
                            .await?;
                        let t = thing_type_from(
                            name,
                            d.thing_type_properties(),
                            d.thing_type_metadata(),
                        );
                        if same_thing_type(&t, thing_type) {
                            Ok(Outcome::AlreadyInState)
                        } else {
                            Err(conflict(
                                "CreateThingType",
                                format!("thing type {name} already exists with other properties"),
                            ))
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Change::UpdateThingType {
                thing_type_name,
                thing_type_description,
                searchable_attributes,
            } => {
                // moto lacks UpdateThingType (HTTP 500): the request shape is tested
                // with a recording HTTP client instead.
                let props = ThingTypeProperties::builder()
                    .thing_type_description(thing_type_description.clone().unwrap_or_default())
                    .set_searchable_attributes(Some(
                        searchable_attributes
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ))
                    .build();
                self.call("UpdateThingType", || {
                    self.client
                        .update_thing_type()
                        .thing_type_name(thing_type_name.as_str())
                        .thing_type_properties(props.clone())
                        .send()
                })
                .await?;
                applied()
            }
            Change::DeprecateThingType {
                thing_type_name,
                undo_deprecate,
            } => {
                self.call("DeprecateThingType", || {
                    self.client
                        .deprecate_thing_type()
                        .thing_type_name(thing_type_name.as_str())
                        .undo_deprecate(*undo_deprecate)
                        .send()
                })
                .await?;
                applied()
            }
            Change::DeleteThingType { thing_type_name } => {
                self.delete_thing_type(thing_type_name).await
            }
            Change::BillingGroup(c) => self.apply_billing_group(c).await,
            Change::RoleAlias(c) => self.apply_role_alias(c).await,
            Change::CaCertificate(c) => self.apply_ca_certificate(c).await,
            Change::Authorizer(c) => self.apply_authorizer(c).await,
            Change::TopicRule(c) => Box::pin(self.apply_topic_rule(c)).await,
            Change::TopicRuleDestination(c) => Box::pin(self.apply_topic_rule_destination(c)).await,
            Change::ProvisioningTemplate(c) => Box::pin(self.apply_provisioning_template(c)).await,
            Change::DomainConfiguration(c) => Box::pin(self.apply_domain_configuration(c)).await,
            Change::IndexingConfiguration(c) => self.apply_indexing_configuration(c).await,
            Change::EventConfigurations(c) => self.apply_event_configurations(c).await,
            Change::CreateThingGroup { thing_group } => self.create_thing_group(thing_group).await,
            Change::UpdateThingGroup { thing_group } => self.update_thing_group(thing_group).await,
            Change::DeleteThingGroup { thing_group_name } => {
                self.delete_thing_group(thing_group_name).await
            }
            Change::CreatePolicy {
                policy_name,
                policy_document,
                tags,
            } => {
                let tags = self.create_tags(tags)?;
                let r = self
                    .call("CreatePolicy", || {
                        self.client
                            .create_policy()
                            .policy_name(policy_name.as_str())
                            .policy_document(policy_document.as_str())
                            .set_tags(tags.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.policy_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        let existing = self.policy_versions(policy_name).await?;
                        match existing {
                            Some(p) if same_policy(&p, policy_document) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreatePolicy",
                                format!("policy {policy_name} already exists"),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Change::CreatePolicyVersion {
                policy_name,
                policy_document,
                set_as_default,
                versions_before,
            } => {
                self.create_policy_version(
                    policy_name,
                    policy_document,
                    *set_as_default,
                    *versions_before,
                )
                .await
            }
            Change::SetDefaultPolicyVersion {
                policy_name,
                policy_version_id,
            } => {
                self.call("SetDefaultPolicyVersion", || {
                    self.client
                        .set_default_policy_version()
                        .policy_name(policy_name.as_str())
                        .policy_version_id(policy_version_id.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            Change::DeletePolicyVersion {
                policy_name,
                policy_version_id,
            } => gone_ok(
                self.call("DeletePolicyVersion", || {
                    self.client
                        .delete_policy_version()
                        .policy_name(policy_name.as_str())
                        .policy_version_id(policy_version_id.as_str())
                        .send()
                })
                .await,
            ),
            Change::DeletePolicy { policy_name } => gone_ok(
                self.call("DeletePolicy", || {
                    self.client
                        .delete_policy()
                        .policy_name(policy_name.as_str())
                        .send()
                })
                .await,
            ),
            Change::RegisterCertificate {
                certificate_id,
                certificate_pem,
                status,
                ca_certificate_id,
            } => {
                self.register_certificate(
                    certificate_id,
                    certificate_pem,
                    *status,
                    ca_certificate_id.as_deref(),
                )
                .await
            }
            Change::UpdateCertificate {
                certificate_id,
                new_status,
            } => {
                self.call("UpdateCertificate", || {
                    self.client
                        .update_certificate()
                        .certificate_id(certificate_id.as_str())
                        .new_status(aws_status(*new_status))
                        .send()
                })
                .await?;
                applied()
            }
            Change::DeleteCertificate { certificate_id } => gone_ok(
                self.call("DeleteCertificate", || {
                    self.client
                        .delete_certificate()
                        .certificate_id(certificate_id.as_str())
                        .force_delete(false)
                        .send()
                })
                .await,
            ),
            Change::CreateThing {
                thing_name,
                thing_type_name,
                attributes,
                billing_group_name,
            } => {
                let payload = AttributePayload::builder()
                    .set_attributes(Some(hash_map(attributes)))
                    .build();
                let r = self
                    .call("CreateThing", || {
                        self.client
                            .create_thing()
                            .thing_name(thing_name.as_str())
                            .set_thing_type_name(thing_type_name.as_ref().map(|s| s.to_string()))
                            .attribute_payload(payload.clone())
                            .set_billing_group_name(
                                billing_group_name.as_ref().map(|s| s.to_string()),
                            )
                            .send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(a) = o.thing_arn() {
                            self.note_arn(a);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        let d = self
                            .call("DescribeThing", || {
                                self.client
                                    .describe_thing()
                                    .thing_name(thing_name.as_str())
                                    .send()
                            })
                            .await?;
                        let existing = Thing {
                            thing_name: thing_name.clone(),
                            thing_type_name: d
                                .thing_type_name()
                                .filter(|s| !s.is_empty())
                                .map(Name::from),
                            attributes: string_map(d.attributes()),
                            billing_group_name: d
                                .billing_group_name()
                                .filter(|s| !s.is_empty())
                                .map(Name::from),
                            ..Default::default()
                        };
                        let same = same_thing(
                            &existing,
                            thing_type_name.as_deref(),
                            attributes,
                            billing_group_name.as_deref(),
                        );
                        if same {
                            Ok(Outcome::AlreadyInState)
                        } else {
                            Err(conflict(
                                "CreateThing",
                                format!("thing {thing_name} already exists with other properties"),
                            ))
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Change::UpdateThing {
                thing_name,
                thing_type_name,
                attributes,
            } => {
                // merge=false replaces the whole attribute set, so attributes the change
                // does not name are removed (AttributePayload in the IoT API reference).
                let payload = AttributePayload::builder()
                    .set_attributes(Some(hash_map(attributes)))
                    .merge(false)
                    .build();
                self.call("UpdateThing", || {
                    let req = self
                        .client
                        .update_thing()
                        .thing_name(thing_name.as_str())
                        .attribute_payload(payload.clone());
                    match thing_type_name {
                        Some(t) => req.thing_type_name(t.as_str()),
                        None => req.remove_thing_type(true),
                    }
                    .send()
                })
                .await?;
                applied()
            }
            Change::DeleteThing { thing_name } => {
                let r = self
                    .call("DeleteThing", || {
                        self.client
                            .delete_thing()
                            .thing_name(thing_name.as_str())
                            .send()
                    })
                    .await;
                match r {
                    // AWS refuses to delete a thing with principals as an invalid request.
                    Err(e) if e.has_code(INVALID_REQUEST) => {
                        Err(e.reclassified(ErrorClass::Conflict))
                    }
                    r => gone_ok(r),
                }
            }
            Change::AddThingToThingGroup {
                thing_name,
                thing_group_name,
            } => {
                self.call("AddThingToThingGroup", || {
                    self.client
                        .add_thing_to_thing_group()
                        .thing_name(thing_name.as_str())
                        .thing_group_name(thing_group_name.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            Change::RemoveThingFromThingGroup {
                thing_name,
                thing_group_name,
            } => gone_ok(
                self.call("RemoveThingFromThingGroup", || {
                    self.client
                        .remove_thing_from_thing_group()
                        .thing_name(thing_name.as_str())
                        .thing_group_name(thing_group_name.as_str())
                        .send()
                })
                .await,
            ),
            Change::AddThingToBillingGroup {
                thing_name,
                billing_group_name,
            } => {
                self.call("AddThingToBillingGroup", || {
                    self.client
                        .add_thing_to_billing_group()
                        .thing_name(thing_name.as_str())
                        .billing_group_name(billing_group_name.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            Change::RemoveThingFromBillingGroup {
                thing_name,
                billing_group_name,
            } => gone_ok(
                self.call("RemoveThingFromBillingGroup", || {
                    self.client
                        .remove_thing_from_billing_group()
                        .thing_name(thing_name.as_str())
                        .billing_group_name(billing_group_name.as_str())
                        .send()
                })
                .await,
            ),
            Change::AttachPolicy {
                policy_name,
                target,
            } => {
                let target = self.target_arn(target).await?;
                self.call("AttachPolicy", || {
                    self.client
                        .attach_policy()
                        .policy_name(policy_name.as_str())
                        .target(target.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            Change::DetachPolicy {
                policy_name,
                target,
            } => {
                let target = match self.target_arn(target).await {
                    Ok(t) => t,
                    Err(e) if e.class == ErrorClass::NotFound => {
                        return Ok(Outcome::AlreadyInState);
                    }
                    Err(e) => return Err(e),
                };
                gone_ok(
                    self.call("DetachPolicy", || {
                        self.client
                            .detach_policy()
                            .policy_name(policy_name.as_str())
                            .target(target.as_str())
                            .send()
                    })
                    .await,
                )
            }
            Change::AttachThingPrincipal {
                thing_name,
                principal,
            } => {
                let p = self.principal_arn(principal).await?;
                self.call("AttachThingPrincipal", || {
                    self.client
                        .attach_thing_principal()
                        .thing_name(thing_name.as_str())
                        .principal(p.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            Change::DetachThingPrincipal {
                thing_name,
                principal,
            } => {
                let p = match self.principal_arn(principal).await {
                    Ok(p) => p,
                    Err(e) if e.class == ErrorClass::NotFound => {
                        return Ok(Outcome::AlreadyInState);
                    }
                    Err(e) => return Err(e),
                };
                gone_ok(
                    self.call("DetachThingPrincipal", || {
                        self.client
                            .detach_thing_principal()
                            .thing_name(thing_name.as_str())
                            .principal(p.as_str())
                            .send()
                    })
                    .await,
                )
            }
            Change::TagResource { resource, tags } => {
                if !resource.kind.is_taggable() {
                    return Err(RegistryError::new(
                        ErrorClass::Invalid,
                        format!("{} resources cannot be tagged", resource.kind),
                    ));
                }
                let Some(list) = self.create_tags(tags)? else {
                    return self.tags_off_or_nothing(tags.is_empty());
                };
                let resource_arn = self.arn_of(resource.kind, &resource.name).await?;
                // moto lacks TagResource (HTTP 500): tested with a recording client.
                self.call("TagResource", || {
                    self.client
                        .tag_resource()
                        .resource_arn(resource_arn.as_str())
                        .set_tags(Some(list.clone()))
                        .send()
                })
                .await?;
                applied()
            }
            Change::UntagResource { resource, tag_keys } => {
                if !resource.kind.is_taggable() {
                    return Err(RegistryError::new(
                        ErrorClass::Invalid,
                        format!("{} resources cannot be tagged", resource.kind),
                    ));
                }
                if tag_keys.is_empty() || !self.tags_enabled() {
                    return self.tags_off_or_nothing(tag_keys.is_empty());
                }
                let resource_arn = self.arn_of(resource.kind, &resource.name).await?;
                let keys: Vec<String> = tag_keys.iter().map(|k| k.to_string()).collect();
                self.call("UntagResource", || {
                    self.client
                        .untag_resource()
                        .resource_arn(resource_arn.as_str())
                        .set_tag_keys(Some(keys.clone()))
                        .send()
                })
                .await?;
                applied()
            }
        }
    }

    fn tags_off_or_nothing(&self, nothing_to_do: bool) -> Result<Outcome> {
        if nothing_to_do {
            Ok(Outcome::AlreadyInState)
        } else {
            Err(RegistryError::new(
                ErrorClass::Unsupported,
                format!(
                    "tags are off for {} (--tags off, or the endpoint lacks the tag API)",
                    self.region
                ),
            ))
        }
    }

    async fn delete_thing_type(&self, name: &str) -> Result<Outcome> {
        let r = self
            .call("DeleteThingType", || {
                self.client.delete_thing_type().thing_type_name(name).send()
            })
            .await;
        let e = match r {
            Ok(_) => return applied(),
            Err(e) if e.class == ErrorClass::NotFound => return Ok(Outcome::AlreadyInState),
            Err(e) if matches!(e.class, ErrorClass::Invalid | ErrorClass::Conflict) => e,
            Err(e) => return Err(e),
        };
        // Refused: find out whether it is the five-minute wait after deprecation, and
        // say when the delete can be retried.
        let d = self
            .call("DescribeThingType", || {
                self.client
                    .describe_thing_type()
                    .thing_type_name(name)
                    .send()
            })
            .await?;
        let meta = d.thing_type_metadata();
        if !meta.is_some_and(|m| m.deprecated()) {
            return Err(conflict(
                "DeleteThingType",
                format!("thing type {name} must be deprecated before it is deleted ({e})"),
            ));
        }
        if let Some(since) = meta.and_then(|m| m.deprecation_date())
            && let Ok(since) = SystemTime::try_from(*since)
        {
            let at = since + THING_TYPE_DELETE_DELAY;
            if let Ok(left) = at.duration_since(SystemTime::now()) {
                let when = aws_smithy_types::DateTime::from(at)
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default();
                return Err(conflict(
                    "DeleteThingType",
                    format!(
                        "thing type {name} was deprecated less than 5 minutes ago; AWS IoT \
                         deletes it from {when} on (in {}s): retry then",
                        left.as_secs() + 1
                    ),
                ));
            }
        }
        Err(e.reclassified(ErrorClass::Conflict))
    }

    /// `DeleteThingGroup`. AWS refuses it with `InvalidRequestException` both for a
    /// dynamic group (which needs `DeleteDynamicThingGroup`) and for a group that still
    /// has child groups, and no other code tells the two apart. Rather than read the
    /// message, the group is described: a dynamic one is deleted with
    /// `DeleteDynamicThingGroup`, a static one is a conflict (its children must go
    /// first).
    async fn delete_thing_group(&self, name: &str) -> Result<Outcome> {
        let r = self
            .call("DeleteThingGroup", || {
                self.client
                    .delete_thing_group()
                    .thing_group_name(name)
                    .send()
            })
            .await;
        let e = match r {
            Err(e) if e.has_code(INVALID_REQUEST) => e,
            r => return gone_ok(r),
        };
        match self.describe_thing_group(name).await? {
            None => Ok(Outcome::AlreadyInState),
            Some(g) if g.is_dynamic() => gone_ok(
                self.call("DeleteDynamicThingGroup", || {
                    self.client
                        .delete_dynamic_thing_group()
                        .thing_group_name(name)
                        .send()
                })
                .await,
            ),
            // moto refuses a group with children this way too.
            Some(_) => Err(e.reclassified(ErrorClass::Conflict)),
        }
    }

    async fn create_thing_group(&self, g: &ThingGroup) -> Result<Outcome> {
        let name = g.thing_group_name.as_str();
        let props = ThingGroupProperties::builder()
            .set_thing_group_description(g.thing_group_description.clone())
            .set_attribute_payload((!g.attributes.is_empty()).then(|| {
                AttributePayload::builder()
                    .set_attributes(Some(hash_map(&g.attributes)))
                    .build()
            }))
            .build();
        let tags = self.create_tags(&g.tags)?;
        let r = if let Some(query) = &g.query_string {
            // moto lacks CreateDynamicThingGroup (HTTP 500): tested with a recording
            // client. AWS needs fleet indexing (thing indexing) on in the target.
            let r = self
                .call("CreateDynamicThingGroup", || {
                    self.client
                        .create_dynamic_thing_group()
                        .thing_group_name(name)
                        .thing_group_properties(props.clone())
                        .query_string(query.as_str())
                        .set_index_name(g.index_name.as_ref().map(|s| s.to_string()))
                        .set_query_version(g.query_version.as_ref().map(|s| s.to_string()))
                        .set_tags(tags.clone())
                        .send()
                })
                .await
                .map(|o| o.thing_group_arn().map(str::to_string));
            match r {
                Err(e) if !e.has_code(ALREADY_EXISTS) => {
                    Err(self.dynamic_group_error(name, e).await)
                }
                r => r,
            }
        } else {
            self.call("CreateThingGroup", || {
                self.client
                    .create_thing_group()
                    .thing_group_name(name)
                    .set_parent_group_name(g.parent_group_name.as_ref().map(|s| s.to_string()))
                    .thing_group_properties(props.clone())
                    .set_tags(tags.clone())
                    .send()
            })
            .await
            .map(|o| o.thing_group_arn().map(str::to_string))
        };
        match r {
            Ok(a) => {
                if let Some(a) = a {
                    self.note_arn(&a);
                }
                applied()
            }
            Err(e) if e.has_code(ALREADY_EXISTS) => {
                let api = if g.is_dynamic() {
                    "CreateDynamicThingGroup"
                } else {
                    "CreateThingGroup"
                };
                match self.describe_thing_group(name).await? {
                    Some(cur) if same_thing_group(&cur, g) => Ok(Outcome::AlreadyInState),
                    _ => Err(conflict(
                        api,
                        format!("thing group {name} already exists with other properties"),
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update_thing_group(&self, g: &ThingGroup) -> Result<Outcome> {
        let name = g.thing_group_name.as_str();
        // merge=false: the attribute set is replaced, so removed attributes go. The
        // description is sent empty to clear it (read back as none).
        let props = ThingGroupProperties::builder()
            .thing_group_description(g.thing_group_description.clone().unwrap_or_default())
            .attribute_payload(
                AttributePayload::builder()
                    .set_attributes(Some(hash_map(&g.attributes)))
                    .merge(false)
                    .build(),
            )
            .build();
        if let Some(query) = &g.query_string {
            let r = self
                .call("UpdateDynamicThingGroup", || {
                    self.client
                        .update_dynamic_thing_group()
                        .thing_group_name(name)
                        .thing_group_properties(props.clone())
                        .query_string(query.as_str())
                        .set_index_name(g.index_name.as_ref().map(|s| s.to_string()))
                        .set_query_version(g.query_version.as_ref().map(|s| s.to_string()))
                        .send()
                })
                .await;
            if let Err(e) = r {
                return Err(self.dynamic_group_error(name, e).await);
            }
        } else {
            self.call("UpdateThingGroup", || {
                self.client
                    .update_thing_group()
                    .thing_group_name(name)
                    .thing_group_properties(props.clone())
                    .send()
            })
            .await?;
        }
        applied()
    }

    /// `CreatePolicyVersion`, safe to repeat. The call is sent without automatic retry
    /// after an error that may have been applied (a lost answer): then the policy's
    /// versions are listed and judged with [`lost_create`] (the rule of the reference
    /// semantics): created means done (the default is set if asked and not yet), not
    /// created means send it again, anything else means the policy changed since the
    /// plan. The backend never deletes a version to make room: the plan deletes
    /// versions before it creates one, so a policy at the limit has changed since.
    async fn create_policy_version(
        &self,
        policy: &str,
        document: &str,
        set_as_default: bool,
        versions_before: Option<u32>,
    ) -> Result<Outcome> {
        const API: &str = "CreatePolicyVersion";
        let retry = self.retry_policy();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = self
                .call_once(API, || {
                    self.client
                        .create_policy_version()
                        .policy_name(policy)
                        .policy_document(document)
                        .set_as_default(set_as_default)
                        .send()
                })
                .await;
            let e = match r {
                Ok(_) => return applied(),
                Err(e) if e.has_code(VERSIONS_LIMIT) => {
                    let planned = versions_before
                        .map(|b| format!(" (the plan expected {b})"))
                        .unwrap_or_default();
                    return Err(RegistryError {
                        class: ErrorClass::Conflict,
                        message: format!(
                            "policy {policy} already has the maximum number of \
                             versions{planned}: it changed since the plan was made (a plan \
                             deletes old versions before it creates one); plan again ({})",
                            e.message
                        ),
                        ..e
                    });
                }
                Err(e) if e.maybe_applied => e,
                Err(e) => return Err(e),
            };
            // The answer was lost: look whether the version was made.
            let (have, newest) = self.newest_policy_version(policy).await?;
            let newest_is_ours = newest
                .as_ref()
                .is_some_and(|(_, _, doc)| same_document(doc, document));
            match lost_create(have, newest_is_ours, versions_before) {
                LostCreate::Applied => {
                    tracing::info!(
                        policy,
                        "CreatePolicyVersion lost its answer but the version was created"
                    );
                    if let Some((id, is_default, _)) = newest
                        && set_as_default
                        && !is_default
                    {
                        self.call("SetDefaultPolicyVersion", || {
                            self.client
                                .set_default_policy_version()
                                .policy_name(policy)
                                .policy_version_id(id.as_str())
                                .send()
                        })
                        .await?;
                    }
                    return applied();
                }
                LostCreate::Changed { have, before } => {
                    return Err(conflict(
                        API,
                        format!(
                            "policy {policy} has {have} versions where the plan expects \
                             {before} (or {} once this version is created): it changed \
                             since the plan was made; plan again ({e})",
                            before + 1
                        ),
                    ));
                }
                LostCreate::NotApplied if attempt >= retry.attempts() => {
                    let mut e = e;
                    if attempt > 1 {
                        e.message = format!("{} (gave up after {attempt} attempts)", e.message);
                    }
                    return Err(e);
                }
                LostCreate::NotApplied => {
                    let delay = retry.backoff(e.class, attempt, e.retry_after);
                    tracing::debug!(policy, attempt, ?delay, error = %e, "version not created: retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// How many versions a policy has, and its newest version (highest id): id,
    /// whether it is the default, document. One `ListPolicyVersions` and one
    /// `GetPolicyVersion`.
    async fn newest_policy_version(
        &self,
        policy: &str,
    ) -> Result<(usize, Option<(String, bool, String)>)> {
        let list = self
            .call("ListPolicyVersions", || {
                self.client
                    .list_policy_versions()
                    .policy_name(policy)
                    .send()
            })
            .await?;
        let versions = list.policy_versions();
        let newest = versions
            .iter()
            .filter_map(|v| Some((v.version_id()?, v.is_default_version())))
            .max_by_key(|(id, _)| id.parse::<u64>().unwrap_or(0));
        let Some((id, is_default)) = newest else {
            return Ok((versions.len(), None));
        };
        let v = self
            .call("GetPolicyVersion", || {
                self.client
                    .get_policy_version()
                    .policy_name(policy)
                    .policy_version_id(id)
                    .send()
            })
            .await?;
        let doc = v.policy_document().unwrap_or_default().to_string();
        Ok((versions.len(), Some((id.to_string(), is_default, doc))))
    }

    async fn register_certificate(
        &self,
        id: &str,
        pem: &str,
        status: CertificateStatus,
        ca_id: Option<&str>,
    ) -> Result<Outcome> {
        // Registration takes ACTIVE or INACTIVE (REGISTER_INACTIVE with a CA); a revoked
        // certificate is registered inactive, then revoked.
        let initial = match status {
            CertificateStatus::Active => CertificateStatus::Active,
            _ => CertificateStatus::Inactive,
        };
        let r = match self.cert_strategy {
            CertStrategy::Skip => {
                return Err(RegistryError::new(
                    ErrorClass::Unsupported,
                    "certificate replication disabled (--cert-strategy skip)",
                ));
            }
            CertStrategy::WithoutCa => self
                .call("RegisterCertificateWithoutCA", || {
                    self.client
                        .register_certificate_without_ca()
                        .certificate_pem(pem)
                        .status(aws_status(initial))
                        .send()
                })
                .await
                .map(|o| {
                    (
                        o.certificate_id().map(str::to_string),
                        o.certificate_arn().map(str::to_string),
                    )
                }),
            CertStrategy::WithCa => {
                let Some(ca_id) = ca_id else {
                    return Err(RegistryError::new(
                        ErrorClass::Invalid,
                        format!(
                            "certificate {id} has no CA in the source; register it with \
                             --cert-strategy without-ca"
                        ),
                    ));
                };
                let ca = self
                    .call("DescribeCACertificate", || {
                        self.client
                            .describe_ca_certificate()
                            .certificate_id(ca_id)
                            .send()
                    })
                    .await
                    .map_err(|e| {
                        if e.class == ErrorClass::NotFound {
                            RegistryError::new(
                                ErrorClass::Invalid,
                                format!(
                                    "CA certificate {ca_id} of certificate {id} is not \
                                     registered in {}: register the CA there first (SNI_ONLY \
                                     mode needs no verification certificate) or use \
                                     --cert-strategy without-ca",
                                    self.region
                                ),
                            )
                        } else {
                            e
                        }
                    })?;
                let ca_pem = ca
                    .certificate_description()
                    .and_then(|d| d.certificate_pem())
                    .unwrap_or_default()
                    .to_string();
                self.call("RegisterCertificate", || {
                    self.client
                        .register_certificate()
                        .certificate_pem(pem)
                        .ca_certificate_pem(ca_pem.as_str())
                        .status(aws_status(initial))
                        .send()
                })
                .await
                .map(|o| {
                    (
                        o.certificate_id().map(str::to_string),
                        o.certificate_arn().map(str::to_string),
                    )
                })
            }
        };
        let api = match self.cert_strategy {
            CertStrategy::WithCa => "RegisterCertificate",
            _ => "RegisterCertificateWithoutCA",
        };
        match r {
            Ok((got, arn)) => {
                if let Some(a) = &arn {
                    self.note_arn(a);
                }
                if let Some(got) = got
                    && got != id
                {
                    return Err(conflict(
                        api,
                        format!(
                            "the target registered the PEM as certificate {got}, not {id}: \
                             the planned id does not match the PEM"
                        ),
                    ));
                }
                // Only REVOKED is worth a second call; the transfer and registration
                // states cannot be set with UpdateCertificate, so they stay INACTIVE.
                if let Some(update) = certificate_status_update(initial, status) {
                    self.update_certificate(id, update).await?;
                }
                applied()
            }
            // Registered before (a repeat, or a lost answer): the certificate is there,
            // maybe with another status. (CertificateConflictException is not this: it
            // says that two registered CAs have the subject and key of this
            // certificate's CA, and stays an error.)
            Err(e) if e.has_code(ALREADY_EXISTS) => {
                let Some(existing) = self.describe_certificate(id).await? else {
                    return Err(conflict(
                        api,
                        format!(
                            "the target has the PEM registered, but not as certificate {id}: \
                             the planned id does not match the PEM ({e})"
                        ),
                    ));
                };
                match certificate_status_update(existing.status, status) {
                    Some(update) => {
                        self.update_certificate(id, update).await?;
                        applied()
                    }
                    None => Ok(Outcome::AlreadyInState),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update_certificate(&self, id: &str, status: CertificateStatus) -> Result<()> {
        self.call("UpdateCertificate", || {
            self.client
                .update_certificate()
                .certificate_id(id)
                .new_status(aws_status(status))
                .send()
        })
        .await
        .map(|_| ())
    }

    /// A refused `CreateDynamicThingGroup` or `UpdateDynamicThingGroup`: when fleet
    /// indexing (thing indexing) is off in the target, which AWS needs for dynamic
    /// groups, say so as unsupported. AWS documents no error code for that case, so the
    /// indexing configuration is read (`GetIndexingConfiguration`) instead of the
    /// message; when it cannot be read, the error stands as it is.
    async fn dynamic_group_error(&self, name: &str, e: RegistryError) -> RegistryError {
        if !matches!(e.class, ErrorClass::Invalid | ErrorClass::NotFound) {
            return e;
        }
        let indexing_off = match self
            .call("GetIndexingConfiguration", || {
                self.client.get_indexing_configuration().send()
            })
            .await
        {
            Ok(c) => c
                .thing_indexing_configuration()
                .is_none_or(|t| *t.thing_indexing_mode() == ThingIndexingMode::Off),
            Err(lookup) => {
                tracing::debug!(error = %lookup, "cannot read the indexing configuration");
                false
            }
        };
        if !indexing_off {
            return e;
        }
        RegistryError {
            class: ErrorClass::Unsupported,
            message: format!(
                "dynamic thing group {name} needs fleet indexing (thing indexing) enabled in \
                 the target region, and it is off: {}",
                e.message
            ),
            ..e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_create_is_judged_like_the_reference_semantics() {
        use LostCreate::*;
        // One more version than planned, and the newest is ours: it was created.
        assert_eq!(lost_create(3, true, Some(2)), Applied);
        // As many as planned: nothing was created, send it again.
        assert_eq!(lost_create(2, false, Some(2)), NotApplied);
        assert_eq!(lost_create(2, true, Some(2)), NotApplied);
        // One more, but the newest is someone else's; or another count: changed.
        assert_eq!(
            lost_create(3, false, Some(2)),
            Changed { have: 3, before: 2 }
        );
        assert_eq!(
            lost_create(1, false, Some(2)),
            Changed { have: 1, before: 2 }
        );
        assert_eq!(
            lost_create(4, true, Some(2)),
            Changed { have: 4, before: 2 }
        );
        // Without a planned count the newest document decides.
        assert_eq!(lost_create(5, true, None), Applied);
        assert_eq!(lost_create(4, false, None), NotApplied);
    }
}
