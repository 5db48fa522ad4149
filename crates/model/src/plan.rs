//! Changes and plans: the reviewable, serialisable result of a diff.
//!
//! A [`Change`] is one registry write, named after the AWS IoT API call that performs it
//! (one call for most changes). A [`Plan`] is an ordered list of changes, each with a
//! *stage*: changes of one stage do not depend on each other and may run concurrently;
//! a stage starts once every earlier stage has finished.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::collections::{NameSet, StringMap};
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::kinds::authorizer::AuthorizerChange;
use crate::kinds::billing_group::BillingGroupChange;
use crate::kinds::ca_certificate::CaCertificateChange;
use crate::kinds::domain_configuration::DomainConfigurationChange;
use crate::kinds::event_configurations::EventConfigurationsChange;
use crate::kinds::indexing_configuration::IndexingConfigurationChange;
use crate::kinds::provisioning_template::ProvisioningTemplateChange;
use crate::kinds::role_alias::RoleAliasChange;
use crate::kinds::topic_rule::TopicRuleChange;
use crate::kinds::topic_rule_destination::TopicRuleDestinationChange;
use crate::resource::{
    CertificateStatus, Kind, Name, ResourceKey, ThingGroup, ThingType, principal_certificate_id,
};
use crate::snapshot::Counts;

/// The current version of the plan file format.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What a policy is attached to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyTarget {
    /// A certificate, by id.
    Certificate(Name),
    /// A thing group, by name.
    ThingGroup(Name),
}

impl PolicyTarget {
    /// The key of the target resource.
    pub fn key(&self) -> ResourceKey {
        match self {
            PolicyTarget::Certificate(id) => ResourceKey::new(Kind::Certificate, id.clone()),
            PolicyTarget::ThingGroup(n) => ResourceKey::new(Kind::ThingGroup, n.clone()),
        }
    }
}

impl fmt::Display for PolicyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key())
    }
}

/// One registry write. Field names are camelCase in JSON, like the AWS API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "op",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Change {
    /// `CreateThingType`, with its tags. The type is created not deprecated; a
    /// deprecated source type gets a [`Change::DeprecateThingType`] after it.
    CreateThingType {
        /// The type as it should be (its `deprecated` flag is not part of creation).
        thing_type: ThingType,
    },
    /// `UpdateThingType`: description and searchable attributes.
    UpdateThingType {
        /// Type name.
        thing_type_name: Name,
        /// The new description.
        thing_type_description: Option<String>,
        /// The new searchable attributes.
        searchable_attributes: NameSet,
    },
    /// `DeprecateThingType` (with `undoDeprecate` to undeprecate).
    DeprecateThingType {
        /// Type name.
        thing_type_name: Name,
        /// `true` to undeprecate.
        undo_deprecate: bool,
    },
    /// `DeleteThingType`; AWS requires the type to have been deprecated five minutes
    /// before.
    DeleteThingType {
        /// Type name.
        thing_type_name: Name,
    },
    /// `CreateThingGroup` or, for a group with a query, `CreateDynamicThingGroup`, with
    /// its tags in the same call. Policies are attached by their own changes.
    CreateThingGroup {
        /// The group as it should be.
        thing_group: ThingGroup,
    },
    /// `UpdateThingGroup` (or `UpdateDynamicThingGroup`): description, attributes (the
    /// full set, merge off) and, for a dynamic group, its query.
    UpdateThingGroup {
        /// The group as it should be; parent, policies and tags are not updated here.
        thing_group: ThingGroup,
    },
    /// `DeleteThingGroup` (or `DeleteDynamicThingGroup`).
    DeleteThingGroup {
        /// Group name.
        thing_group_name: Name,
    },
    /// `CreatePolicy` with the first version's document.
    CreatePolicy {
        /// Policy name.
        policy_name: Name,
        /// The document of its first version.
        policy_document: String,
        /// Tags.
        tags: StringMap,
    },
    /// `CreatePolicyVersion`.
    CreatePolicyVersion {
        /// Policy name.
        policy_name: Name,
        /// The new version's document.
        policy_document: String,
        /// `setAsDefault`.
        set_as_default: bool,
        /// How many versions the policy has just before this change, as planned. It
        /// makes the change safe to repeat: a registry that finds one version more,
        /// the newest with this document, knows an earlier attempt was applied (its
        /// answer was lost) and creates nothing; any other count is a conflict (the
        /// policy changed since the plan). `None` (hand-written plans) creates
        /// unconditionally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        versions_before: Option<u32>,
    },
    /// `SetDefaultPolicyVersion` to a version the target already has.
    SetDefaultPolicyVersion {
        /// Policy name.
        policy_name: Name,
        /// The target's version id.
        policy_version_id: Name,
    },
    /// `DeletePolicyVersion` (never the default version).
    DeletePolicyVersion {
        /// Policy name.
        policy_name: Name,
        /// The target's version id.
        policy_version_id: Name,
    },
    /// `DeletePolicy` (after its non-default versions and attachments are gone).
    DeletePolicy {
        /// Policy name.
        policy_name: Name,
    },
    /// `RegisterCertificateWithoutCA` or `RegisterCertificate`, depending on the
    /// backend's certificate strategy. The id stays the same in every region.
    RegisterCertificate {
        /// The certificate id (SHA-256 of the DER).
        certificate_id: Name,
        /// The PEM.
        certificate_pem: String,
        /// Initial status.
        status: CertificateStatus,
        /// The CA that signed it, when known.
        ca_certificate_id: Option<Name>,
    },
    /// `UpdateCertificate` (status).
    UpdateCertificate {
        /// Certificate id.
        certificate_id: Name,
        /// New status.
        new_status: CertificateStatus,
    },
    /// `DeleteCertificate` (after its attachments are gone and it is not active).
    DeleteCertificate {
        /// Certificate id.
        certificate_id: Name,
    },
    /// `CreateThing`, with its type, attributes and billing group in the same call.
    CreateThing {
        /// Thing name.
        thing_name: Name,
        /// Type name.
        thing_type_name: Option<Name>,
        /// Attributes.
        attributes: StringMap,
        /// Billing group.
        billing_group_name: Option<Name>,
    },
    /// `UpdateThing` with the full attribute set (merge off) and type (removed when
    /// `None`).
    UpdateThing {
        /// Thing name.
        thing_name: Name,
        /// Type name; `None` removes the type.
        thing_type_name: Option<Name>,
        /// The complete attribute set.
        attributes: StringMap,
    },
    /// `DeleteThing` (after its principals are detached).
    DeleteThing {
        /// Thing name.
        thing_name: Name,
    },
    /// `AddThingToThingGroup`.
    AddThingToThingGroup {
        /// Thing name.
        thing_name: Name,
        /// Group name.
        thing_group_name: Name,
    },
    /// `RemoveThingFromThingGroup`.
    RemoveThingFromThingGroup {
        /// Thing name.
        thing_name: Name,
        /// Group name.
        thing_group_name: Name,
    },
    /// `AddThingToBillingGroup`.
    AddThingToBillingGroup {
        /// Thing name.
        thing_name: Name,
        /// Billing group name.
        billing_group_name: Name,
    },
    /// `RemoveThingFromBillingGroup`.
    RemoveThingFromBillingGroup {
        /// Thing name.
        thing_name: Name,
        /// Billing group name.
        billing_group_name: Name,
    },
    /// `AttachPolicy` to a certificate or a thing group.
    AttachPolicy {
        /// Policy name.
        policy_name: Name,
        /// Target.
        target: PolicyTarget,
    },
    /// `DetachPolicy`.
    DetachPolicy {
        /// Policy name.
        policy_name: Name,
        /// Target.
        target: PolicyTarget,
    },
    /// `AttachThingPrincipal`.
    AttachThingPrincipal {
        /// Thing name.
        thing_name: Name,
        /// Principal (`cert/<id>` for a certificate).
        principal: Name,
    },
    /// `DetachThingPrincipal`.
    DetachThingPrincipal {
        /// Thing name.
        thing_name: Name,
        /// Principal.
        principal: Name,
    },
    /// `TagResource`: sets these tags (others are left alone).
    TagResource {
        /// The tagged resource (a taggable kind).
        resource: ResourceKey,
        /// Tags to set.
        tags: StringMap,
    },
    /// `UntagResource`.
    UntagResource {
        /// The tagged resource.
        resource: ResourceKey,
        /// Keys to remove.
        tag_keys: NameSet,
    },
    /// A billing group's own changes.
    #[serde(untagged)]
    BillingGroup(BillingGroupChange),
    /// A role alias's changes.
    #[serde(untagged)]
    RoleAlias(RoleAliasChange),
    /// An authorizer's changes.
    #[serde(untagged)]
    Authorizer(AuthorizerChange),
    /// A domain configuration's changes.
    #[serde(untagged)]
    DomainConfiguration(DomainConfigurationChange),
    /// A topic rule destination's changes.
    #[serde(untagged)]
    TopicRuleDestination(TopicRuleDestinationChange),
    /// A topic rule's changes.
    #[serde(untagged)]
    TopicRule(TopicRuleChange),
    /// A provisioning template's changes.
    #[serde(untagged)]
    ProvisioningTemplate(ProvisioningTemplateChange),
    /// A CA certificate's changes.
    #[serde(untagged)]
    CaCertificate(CaCertificateChange),
    /// The fleet indexing configuration's change.
    #[serde(untagged)]
    IndexingConfiguration(IndexingConfigurationChange),
    /// The registry event configuration's change.
    #[serde(untagged)]
    EventConfigurations(EventConfigurationsChange),
}

/// The `op` values of the changes still defined in this file; the kinds in modules of
/// their own list theirs in [`KindChange::OPS`].
const SHARED_OPS: &[&str] = &[
    "createThingType",
    "updateThingType",
    "deprecateThingType",
    "deleteThingType",
    "createThingGroup",
    "updateThingGroup",
    "deleteThingGroup",
    "createPolicy",
    "createPolicyVersion",
    "setDefaultPolicyVersion",
    "deletePolicyVersion",
    "deletePolicy",
    "registerCertificate",
    "updateCertificate",
    "deleteCertificate",
    "createThing",
    "updateThing",
    "deleteThing",
    "addThingToThingGroup",
    "removeThingFromThingGroup",
    "addThingToBillingGroup",
    "removeThingFromBillingGroup",
    "attachPolicy",
    "detachPolicy",
    "attachThingPrincipal",
    "detachThingPrincipal",
    "tagResource",
    "untagResource",
];

impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The derived form (`remote = "Self"`): a kind's own changes write themselves,
        // with their `op`, as the untagged variants they are.
        Change::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Change {
    /// Reads the `op` first and hands the object to the module that owns it, so that an
    /// error names the op or the missing field rather than "no variant matched".
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let object = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let op = match object.get("op") {
            Some(serde_json::Value::String(op)) => op.clone(),
            Some(other) => {
                return Err(D::Error::custom(format_args!(
                    "op is {other}, not an operation name"
                )));
            }
            None => return Err(D::Error::missing_field("op")),
        };
        let value = serde_json::Value::Object(object);
        let read = if BillingGroupChange::OPS.contains(&op.as_str()) {
            BillingGroupChange::deserialize(value).map(Change::BillingGroup)
        } else if RoleAliasChange::OPS.contains(&op.as_str()) {
            RoleAliasChange::deserialize(value).map(Change::RoleAlias)
        } else if AuthorizerChange::OPS.contains(&op.as_str()) {
            AuthorizerChange::deserialize(value).map(Change::Authorizer)
        } else if DomainConfigurationChange::OPS.contains(&op.as_str()) {
            DomainConfigurationChange::deserialize(value).map(Change::DomainConfiguration)
        } else if TopicRuleDestinationChange::OPS.contains(&op.as_str()) {
            TopicRuleDestinationChange::deserialize(value).map(Change::TopicRuleDestination)
        } else if TopicRuleChange::OPS.contains(&op.as_str()) {
            TopicRuleChange::deserialize(value).map(Change::TopicRule)
        } else if ProvisioningTemplateChange::OPS.contains(&op.as_str()) {
            ProvisioningTemplateChange::deserialize(value).map(Change::ProvisioningTemplate)
        } else if CaCertificateChange::OPS.contains(&op.as_str()) {
            CaCertificateChange::deserialize(value).map(Change::CaCertificate)
        } else if IndexingConfigurationChange::OPS.contains(&op.as_str()) {
            IndexingConfigurationChange::deserialize(value).map(Change::IndexingConfiguration)
        } else if EventConfigurationsChange::OPS.contains(&op.as_str()) {
            EventConfigurationsChange::deserialize(value).map(Change::EventConfigurations)
        } else if SHARED_OPS.contains(&op.as_str()) {
            Change::deserialize(value)
        } else {
            return Err(D::Error::custom(format_args!("unknown op {op:?}")));
        };
        read.map_err(D::Error::custom)
    }
}

/// The broad effect of a change, for summaries and the apply report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// A resource is created.
    Create,
    /// A resource or relation is modified.
    Update,
    /// A resource or relation is removed.
    Delete,
}

impl Change {
    /// The AWS IoT API operation that performs this change (the first one, where a
    /// backend needs more than one).
    pub fn api(&self) -> &'static str {
        match self {
            Change::CreateThingType { .. } => "CreateThingType",
            Change::UpdateThingType { .. } => "UpdateThingType",
            Change::DeprecateThingType { .. } => "DeprecateThingType",
            Change::DeleteThingType { .. } => "DeleteThingType",
            Change::CreateThingGroup { thing_group } if thing_group.is_dynamic() => {
                "CreateDynamicThingGroup"
            }
            Change::CreateThingGroup { .. } => "CreateThingGroup",
            Change::UpdateThingGroup { thing_group } if thing_group.is_dynamic() => {
                "UpdateDynamicThingGroup"
            }
            Change::UpdateThingGroup { .. } => "UpdateThingGroup",
            Change::DeleteThingGroup { .. } => "DeleteThingGroup",
            Change::CreatePolicy { .. } => "CreatePolicy",
            Change::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            Change::SetDefaultPolicyVersion { .. } => "SetDefaultPolicyVersion",
            Change::DeletePolicyVersion { .. } => "DeletePolicyVersion",
            Change::DeletePolicy { .. } => "DeletePolicy",
            Change::RegisterCertificate { .. } => "RegisterCertificate",
            Change::UpdateCertificate { .. } => "UpdateCertificate",
            Change::DeleteCertificate { .. } => "DeleteCertificate",
            Change::CreateThing { .. } => "CreateThing",
            Change::UpdateThing { .. } => "UpdateThing",
            Change::DeleteThing { .. } => "DeleteThing",
            Change::AddThingToThingGroup { .. } => "AddThingToThingGroup",
            Change::RemoveThingFromThingGroup { .. } => "RemoveThingFromThingGroup",
            Change::AddThingToBillingGroup { .. } => "AddThingToBillingGroup",
            Change::RemoveThingFromBillingGroup { .. } => "RemoveThingFromBillingGroup",
            Change::AttachPolicy { .. } => "AttachPolicy",
            Change::DetachPolicy { .. } => "DetachPolicy",
            Change::AttachThingPrincipal { .. } => "AttachThingPrincipal",
            Change::DetachThingPrincipal { .. } => "DetachThingPrincipal",
            Change::TagResource { .. } => "TagResource",
            Change::UntagResource { .. } => "UntagResource",
            Change::BillingGroup(c) => c.api(),
            Change::RoleAlias(c) => c.api(),
            Change::CaCertificate(c) => c.api(),
            Change::Authorizer(c) => c.api(),
            Change::DomainConfiguration(c) => c.api(),
            Change::TopicRuleDestination(c) => c.api(),
            Change::TopicRule(c) => c.api(),
            Change::ProvisioningTemplate(c) => c.api(),
            Change::IndexingConfiguration(c) => c.api(),
            Change::EventConfigurations(c) => c.api(),
        }
    }

    /// The resource this change is about. Relation changes are about their owning side
    /// (the thing for memberships and principals, the target for policy attachments).
    pub fn key(&self) -> ResourceKey {
        use Kind::*;
        match self {
            Change::CreateThingType { thing_type } => {
                ResourceKey::new(ThingType, thing_type.thing_type_name.clone())
            }
            Change::UpdateThingType {
                thing_type_name, ..
            }
            | Change::DeprecateThingType {
                thing_type_name, ..
            }
            | Change::DeleteThingType { thing_type_name } => {
                ResourceKey::new(ThingType, thing_type_name.clone())
            }
            Change::BillingGroup(c) => c.key(),
            Change::RoleAlias(c) => c.key(),
            Change::CaCertificate(c) => c.key(),
            Change::Authorizer(c) => c.key(),
            Change::DomainConfiguration(c) => c.key(),
            Change::TopicRuleDestination(c) => c.key(),
            Change::TopicRule(c) => c.key(),
            Change::ProvisioningTemplate(c) => c.key(),
            Change::IndexingConfiguration(c) => c.key(),
            Change::EventConfigurations(c) => c.key(),
            Change::CreateThingGroup { thing_group } | Change::UpdateThingGroup { thing_group } => {
                ResourceKey::new(ThingGroup, thing_group.thing_group_name.clone())
            }
            Change::DeleteThingGroup { thing_group_name } => {
                ResourceKey::new(ThingGroup, thing_group_name.clone())
            }
            Change::CreatePolicy { policy_name, .. }
            | Change::CreatePolicyVersion { policy_name, .. }
            | Change::SetDefaultPolicyVersion { policy_name, .. }
            | Change::DeletePolicyVersion { policy_name, .. }
            | Change::DeletePolicy { policy_name } => ResourceKey::new(Policy, policy_name.clone()),
            Change::RegisterCertificate { certificate_id, .. }
            | Change::UpdateCertificate { certificate_id, .. }
            | Change::DeleteCertificate { certificate_id } => {
                ResourceKey::new(Certificate, certificate_id.clone())
            }
            Change::CreateThing { thing_name, .. }
            | Change::UpdateThing { thing_name, .. }
            | Change::DeleteThing { thing_name }
            | Change::AddThingToThingGroup { thing_name, .. }
            | Change::RemoveThingFromThingGroup { thing_name, .. }
            | Change::AddThingToBillingGroup { thing_name, .. }
            | Change::RemoveThingFromBillingGroup { thing_name, .. }
            | Change::AttachThingPrincipal { thing_name, .. }
            | Change::DetachThingPrincipal { thing_name, .. } => {
                ResourceKey::new(Thing, thing_name.clone())
            }
            Change::AttachPolicy { target, .. } | Change::DetachPolicy { target, .. } => {
                target.key()
            }
            Change::TagResource { resource, .. } | Change::UntagResource { resource, .. } => {
                resource.clone()
            }
        }
    }

    /// The broad effect of the change.
    pub fn action(&self) -> Action {
        match self {
            Change::CreateThingType { .. }
            | Change::CreateThingGroup { .. }
            | Change::CreatePolicy { .. }
            | Change::RegisterCertificate { .. }
            | Change::CreateThing { .. } => Action::Create,
            Change::DeleteThingType { .. }
            | Change::DeleteThingGroup { .. }
            | Change::DeletePolicy { .. }
            | Change::DeletePolicyVersion { .. }
            | Change::DeleteCertificate { .. }
            | Change::DeleteThing { .. }
            | Change::RemoveThingFromThingGroup { .. }
            | Change::RemoveThingFromBillingGroup { .. }
            | Change::DetachPolicy { .. }
            | Change::DetachThingPrincipal { .. }
            | Change::UntagResource { .. } => Action::Delete,
            Change::BillingGroup(c) => c.action(),
            Change::RoleAlias(c) => c.action(),
            Change::CaCertificate(c) => c.action(),
            Change::Authorizer(c) => c.action(),
            Change::DomainConfiguration(c) => c.action(),
            Change::TopicRuleDestination(c) => c.action(),
            Change::TopicRule(c) => c.action(),
            Change::ProvisioningTemplate(c) => c.action(),
            Change::IndexingConfiguration(c) => c.action(),
            Change::EventConfigurations(c) => c.action(),
            _ => Action::Update,
        }
    }

    /// Whether the change deletes a resource (not a version, a relation or tags): what
    /// `--max-deletes` counts in the prune stages.
    pub fn deletes_resource(&self) -> bool {
        match self {
            Change::DeleteThing { .. }
            | Change::DeleteThingGroup { .. }
            | Change::DeleteThingType { .. }
            | Change::DeletePolicy { .. }
            | Change::DeleteCertificate { .. } => true,
            Change::BillingGroup(c) => c.deletes_resource(),
            Change::RoleAlias(c) => c.deletes_resource(),
            Change::CaCertificate(c) => c.deletes_resource(),
            Change::Authorizer(c) => c.deletes_resource(),
            Change::DomainConfiguration(c) => c.deletes_resource(),
            Change::TopicRuleDestination(c) => c.deletes_resource(),
            Change::TopicRule(c) => c.deletes_resource(),
            Change::ProvisioningTemplate(c) => c.deletes_resource(),
            Change::IndexingConfiguration(c) => c.deletes_resource(),
            Change::EventConfigurations(c) => c.deletes_resource(),
            _ => false,
        }
    }

    /// Whether the change adds or removes a relation (a membership, an attachment, tags)
    /// rather than a resource or its own properties.
    pub fn is_relation(&self) -> bool {
        matches!(
            self,
            Change::AddThingToThingGroup { .. }
                | Change::RemoveThingFromThingGroup { .. }
                | Change::AddThingToBillingGroup { .. }
                | Change::RemoveThingFromBillingGroup { .. }
                | Change::AttachPolicy { .. }
                | Change::DetachPolicy { .. }
                | Change::AttachThingPrincipal { .. }
                | Change::DetachThingPrincipal { .. }
                | Change::TagResource { .. }
                | Change::UntagResource { .. }
        )
    }

    /// The resources that must exist in the target for this change to succeed, other
    /// than [`Change::key`] itself. When one of them failed to be created, the change is
    /// skipped instead of sent.
    pub fn requires(&self) -> Vec<ResourceKey> {
        let mut out = Vec::new();
        match self {
            Change::CreateThingGroup { thing_group } => {
                if let Some(p) = &thing_group.parent_group_name {
                    out.push(ResourceKey::new(Kind::ThingGroup, p.clone()));
                }
            }
            Change::CreateThing {
                thing_type_name,
                billing_group_name,
                ..
            } => {
                if let Some(t) = thing_type_name {
                    out.push(ResourceKey::new(Kind::ThingType, t.clone()));
                }
                if let Some(b) = billing_group_name {
                    out.push(ResourceKey::new(Kind::BillingGroup, b.clone()));
                }
            }
            Change::UpdateThing {
                thing_type_name: Some(t),
                ..
            } => out.push(ResourceKey::new(Kind::ThingType, t.clone())),
            Change::AddThingToThingGroup {
                thing_group_name, ..
            } => out.push(ResourceKey::new(Kind::ThingGroup, thing_group_name.clone())),
            Change::AddThingToBillingGroup {
                billing_group_name, ..
            } => out.push(ResourceKey::new(
                Kind::BillingGroup,
                billing_group_name.clone(),
            )),
            Change::AttachPolicy { policy_name, .. } => {
                out.push(ResourceKey::new(Kind::Policy, policy_name.clone()))
            }
            Change::AttachThingPrincipal { principal, .. } => {
                if let Some(id) = principal_certificate_id(principal) {
                    out.push(ResourceKey::new(Kind::Certificate, id))
                }
            }
            Change::RegisterCertificate {
                ca_certificate_id: Some(ca),
                ..
            } => out.push(ResourceKey::new(Kind::CaCertificate, ca.clone())),
            Change::BillingGroup(c) => c.requires(&mut out),
            Change::RoleAlias(c) => c.requires(&mut out),
            Change::CaCertificate(c) => c.requires(&mut out),
            Change::Authorizer(c) => c.requires(&mut out),
            Change::DomainConfiguration(c) => c.requires(&mut out),
            Change::TopicRuleDestination(c) => c.requires(&mut out),
            Change::TopicRule(c) => c.requires(&mut out),
            Change::ProvisioningTemplate(c) => c.requires(&mut out),
            Change::IndexingConfiguration(c) => c.requires(&mut out),
            Change::EventConfigurations(c) => c.requires(&mut out),
            _ => {}
        }
        out
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::CreateThingType { thing_type } => {
                write!(f, "create thing type {}", thing_type.thing_type_name)
            }
            Change::UpdateThingType {
                thing_type_name, ..
            } => write!(f, "update thing type {thing_type_name}"),
            Change::DeprecateThingType {
                thing_type_name,
                undo_deprecate,
            } => {
                let verb = if *undo_deprecate {
                    "undeprecate"
                } else {
                    "deprecate"
                };
                write!(f, "{verb} thing type {thing_type_name}")
            }
            Change::DeleteThingType { thing_type_name } => {
                write!(f, "delete thing type {thing_type_name}")
            }
            Change::BillingGroup(c) => c.fmt(f),
            Change::RoleAlias(c) => c.fmt(f),
            Change::CaCertificate(c) => c.fmt(f),
            Change::Authorizer(c) => c.fmt(f),
            Change::DomainConfiguration(c) => c.fmt(f),
            Change::TopicRuleDestination(c) => c.fmt(f),
            Change::TopicRule(c) => c.fmt(f),
            Change::ProvisioningTemplate(c) => c.fmt(f),
            Change::IndexingConfiguration(c) => c.fmt(f),
            Change::EventConfigurations(c) => c.fmt(f),
            Change::CreateThingGroup { thing_group } => {
                let dynamic = if thing_group.is_dynamic() {
                    "dynamic "
                } else {
                    ""
                };
                write!(
                    f,
                    "create {dynamic}thing group {}",
                    thing_group.thing_group_name
                )?;
                if let Some(p) = &thing_group.parent_group_name {
                    write!(f, " under {p}")?;
                }
                Ok(())
            }
            Change::UpdateThingGroup { thing_group } => {
                write!(f, "update thing group {}", thing_group.thing_group_name)
            }
            Change::DeleteThingGroup { thing_group_name } => {
                write!(f, "delete thing group {thing_group_name}")
            }
            Change::CreatePolicy { policy_name, .. } => write!(f, "create policy {policy_name}"),
            Change::CreatePolicyVersion {
                policy_name,
                set_as_default,
                ..
            } => {
                write!(f, "create a version of policy {policy_name}")?;
                if *set_as_default {
                    write!(f, " (default)")?;
                }
                Ok(())
            }
            Change::SetDefaultPolicyVersion {
                policy_name,
                policy_version_id,
            } => write!(
                f,
                "set default version of policy {policy_name} to {policy_version_id}"
            ),
            Change::DeletePolicyVersion {
                policy_name,
                policy_version_id,
            } => write!(
                f,
                "delete version {policy_version_id} of policy {policy_name}"
            ),
            Change::DeletePolicy { policy_name } => write!(f, "delete policy {policy_name}"),
            Change::RegisterCertificate {
                certificate_id,
                status,
                ..
            } => write!(f, "register certificate {certificate_id} ({status})"),
            Change::UpdateCertificate {
                certificate_id,
                new_status,
            } => write!(f, "set certificate {certificate_id} to {new_status}"),
            Change::DeleteCertificate { certificate_id } => {
                write!(f, "delete certificate {certificate_id}")
            }
            Change::CreateThing { thing_name, .. } => write!(f, "create thing {thing_name}"),
            Change::UpdateThing { thing_name, .. } => write!(f, "update thing {thing_name}"),
            Change::DeleteThing { thing_name } => write!(f, "delete thing {thing_name}"),
            Change::AddThingToThingGroup {
                thing_name,
                thing_group_name,
            } => write!(f, "add thing {thing_name} to group {thing_group_name}"),
            Change::RemoveThingFromThingGroup {
                thing_name,
                thing_group_name,
            } => write!(f, "remove thing {thing_name} from group {thing_group_name}"),
            Change::AddThingToBillingGroup {
                thing_name,
                billing_group_name,
            } => write!(
                f,
                "add thing {thing_name} to billing group {billing_group_name}"
            ),
            Change::RemoveThingFromBillingGroup {
                thing_name,
                billing_group_name,
            } => write!(
                f,
                "remove thing {thing_name} from billing group {billing_group_name}"
            ),
            Change::AttachPolicy {
                policy_name,
                target,
            } => write!(f, "attach policy {policy_name} to {target}"),
            Change::DetachPolicy {
                policy_name,
                target,
            } => write!(f, "detach policy {policy_name} from {target}"),
            Change::AttachThingPrincipal {
                thing_name,
                principal,
            } => write!(f, "attach {principal} to thing {thing_name}"),
            Change::DetachThingPrincipal {
                thing_name,
                principal,
            } => write!(f, "detach {principal} from thing {thing_name}"),
            Change::TagResource { resource, tags } => {
                write!(f, "tag {resource} with {} tag(s)", tags.len())
            }
            Change::UntagResource { resource, tag_keys } => {
                write!(f, "remove {} tag(s) from {resource}", tag_keys.len())
            }
        }
    }
}

/// A change with its stage in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// Changes of one stage are independent of each other; stages run in order.
    pub stage: u32,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

/// A reviewable plan: the ordered changes that make a target equal to the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// Plan file format version ([`PLAN_FORMAT_VERSION`]).
    pub format_version: u32,
    /// Where the desired state was read (for people).
    pub source: String,
    /// Where the target was read (for people).
    pub target: String,
    /// The fingerprint of the target (after filtering) the plan was computed against.
    pub target_fingerprint: String,
    /// The options the plan was computed with.
    pub options: DiffOptions,
    /// Resource counts of the desired state, after filtering.
    pub desired_counts: Counts,
    /// Resource counts of the target, after filtering.
    pub target_counts: Counts,
    /// The changes, in order.
    pub changes: Vec<PlannedChange>,
    /// Things the plan deliberately does not do, with the reason (e.g. a certificate
    /// kept by `--prune` because a thing that stays still uses it).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serialises")
    }

    /// Parses a plan file, checking its format version, then every change against AWS
    /// IoT's documented constraints (see [`constraints`](crate::constraints)), so that
    /// a hand-edited plan fails here, naming the change, rather than at the API.
    pub fn from_json(text: &str) -> Result<Plan, PlanFileError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| PlanFileError::Json {
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        })?;
        match v.get("formatVersion").and_then(|x| x.as_u64()) {
            Some(n) if n == u64::from(PLAN_FORMAT_VERSION) => {}
            Some(n) => return Err(PlanFileError::Version(n)),
            None => return Err(PlanFileError::NotAPlan),
        }
        let plan: Plan = serde_json::from_value(v).map_err(|e| PlanFileError::Json {
            line: 0,
            column: 0,
            reason: e.to_string(),
        })?;
        plan.validate()?;
        Ok(plan)
    }

    /// Checks the filter's patterns, then every change against AWS IoT's documented
    /// constraints; the first change that breaks one is named by its index in
    /// `changes`.
    pub fn validate(&self) -> Result<(), PlanFileError> {
        self.options
            .filter
            .validate()
            .map_err(|e| PlanFileError::Json {
                line: 0,
                column: 0,
                reason: format!("options.filter: {e}"),
            })?;
        for (index, c) in self.changes.iter().enumerate() {
            crate::constraints::check_change(&c.change).map_err(|violation| {
                PlanFileError::Invalid {
                    index,
                    op: c.change.api(),
                    violation,
                }
            })?;
        }
        Ok(())
    }
}

/// Why a plan file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The text is not valid JSON or not a valid plan.
    #[error("invalid plan JSON{}: {reason}", if *line > 0 { format!(" at line {line}, column {column}") } else { String::new() })]
    Json {
        /// Line (1-based; 0 when unknown).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The parser's message.
        reason: String,
    },
    /// The JSON has no `formatVersion` field.
    #[error("not an iot-crr plan: the JSON has no \"formatVersion\" field")]
    NotAPlan,
    /// The plan was written by a newer or older incompatible version.
    #[error("unsupported plan format version {0} (this build reads version {PLAN_FORMAT_VERSION})")]
    Version(u64),
    /// A change breaks one of AWS IoT's documented constraints.
    #[error("invalid plan: changes[{index}] ({op}): {violation}")]
    Invalid {
        /// The change's index in `changes` (0-based).
        index: usize,
        /// The change's API operation.
        op: &'static str,
        /// What is wrong.
        violation: crate::constraints::Violation,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_json_is_camel_case_with_op_tag() {
        let c = Change::AddThingToThingGroup {
            thing_name: "t1".into(),
            thing_group_name: "g1".into(),
        };
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(
            j,
            r#"{"op":"addThingToThingGroup","thingName":"t1","thingGroupName":"g1"}"#
        );
        assert_eq!(serde_json::from_str::<Change>(&j).unwrap(), c);
        assert_eq!(c.api(), "AddThingToThingGroup");
        assert_eq!(c.key(), ResourceKey::new(Kind::Thing, "t1"));
        assert_eq!(c.action(), Action::Update);
    }

    #[test]
    fn requires_lists_dependencies() {
        let c = Change::AttachThingPrincipal {
            thing_name: "t".into(),
            principal: "cert/abc".into(),
        };
        assert_eq!(
            c.requires(),
            vec![ResourceKey::new(Kind::Certificate, "abc")]
        );
    }

    #[test]
    fn plan_file_errors_are_specific() {
        assert!(matches!(
            Plan::from_json("{").unwrap_err(),
            PlanFileError::Json { .. }
        ));
        assert!(matches!(
            Plan::from_json("{}").unwrap_err(),
            PlanFileError::NotAPlan
        ));
        assert!(matches!(
            Plan::from_json(r#"{"formatVersion": 99}"#).unwrap_err(),
            PlanFileError::Version(99)
        ));
        let e = Plan::from_json(r#"{"formatVersion": 1, "source": 3}"#).unwrap_err();
        assert!(e.to_string().contains("invalid plan"), "{e}");
    }

    /// A plan file holding `changes` (JSON objects).
    fn plan_with(changes: &[String]) -> String {
        let staged: Vec<String> = changes
            .iter()
            .map(|c| format!("{{\"stage\":0,{}", &c[1..]))
            .collect();
        format!(
            r#"{{"formatVersion":1,"source":"s","target":"t","targetFingerprint":"x","options":{{}},"desiredCounts":{{"thingTypes":0,"billingGroups":0,"thingGroups":0,"policies":0,"certificates":0,"things":0}},"targetCounts":{{"thingTypes":0,"billingGroups":0,"thingGroups":0,"policies":0,"certificates":0,"things":0}},"changes":[{}]}}"#,
            staged.join(",")
        )
    }

    fn plan_err(changes: &[String]) -> String {
        Plan::from_json(&plan_with(changes))
            .unwrap_err()
            .to_string()
    }

    fn create_thing(name: &str) -> String {
        format!(
            r#"{{"op":"createThing","thingName":"{name}","thingTypeName":null,"attributes":{{}},"billingGroupName":null}}"#
        )
    }

    #[test]
    fn a_valid_plan_round_trips() {
        let text = plan_with(&[create_thing("a"), create_thing("b")]);
        let plan = Plan::from_json(&text).unwrap();
        assert_eq!(plan.changes.len(), 2);
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    }

    #[test]
    fn an_invalid_filter_pattern_is_refused() {
        let text = plan_with(&[create_thing("a")]).replace(
            r#""options":{}"#,
            r#""options":{"filter":{"include":["thing:"]}}"#,
        );
        let e = Plan::from_json(&text).unwrap_err().to_string();
        assert!(
            e.contains("options.filter: invalid name pattern \"thing:\""),
            "{e}"
        );
    }

    #[test]
    fn a_change_beyond_aws_limits_is_named_by_index_op_and_field() {
        let e = plan_err(&[create_thing("ok"), create_thing(&"a".repeat(300))]);
        assert!(
            e.starts_with("invalid plan: changes[1] (CreateThing): thing \"aaaa"),
            "{e}"
        );
        assert!(
            e.ends_with("thingName is 300 characters long (AWS IoT allows 1 to 128)"),
            "{e}"
        );
        let e = plan_err(&[create_thing("a b")]);
        assert!(
            e.contains("changes[0] (CreateThing): thing \"a b\": thingName contains ' '"),
            "{e}"
        );
    }

    #[test]
    fn each_malformed_change_is_refused() {
        let cases: Vec<(String, &str)> = vec![
            (
                r#"{"op":"createThing","thingName":"t","thingTypeName":null,"attributes":{"a":"1","b":"2","c":"3","d":"4"},"billingGroupName":null}"#.into(),
                "attributes has 4 entries without a thing type",
            ),
            (
                format!(r#"{{"op":"updateThing","thingName":"t","thingTypeName":"ty","attributes":{{"a":"{}"}}}}"#, "v".repeat(801)),
                "attribute \"a\" value is 801 characters long",
            ),
            (
                r#"{"op":"createPolicy","policyName":"p","policyDocument":"","tags":{}}"#.into(),
                "policyDocument is empty",
            ),
            (
                format!(r#"{{"op":"createPolicyVersion","policyName":"p","policyDocument":"{}","setAsDefault":true}}"#, "x".repeat(2049)),
                "policyDocument has 2049 characters besides whitespace",
            ),
            (
                r#"{"op":"setDefaultPolicyVersion","policyName":"p","policyVersionId":"one"}"#.into(),
                "policyVersionId contains 'o'",
            ),
            (
                r#"{"op":"registerCertificate","certificateId":"xyz","certificatePem":"-----BEGIN CERTIFICATE-----","status":"ACTIVE","caCertificateId":null}"#.into(),
                "certificateId is not 64 hexadecimal digits",
            ),
            (
                r#"{"op":"updateThingType","thingTypeName":"s","thingTypeDescription":null,"searchableAttributes":["a","b","c","d"]}"#.into(),
                "searchableAttributes has 4 names",
            ),
            (
                format!(r#"{{"op":"updateBillingGroup","billingGroupName":"b","billingGroupDescription":"{}"}}"#, "d".repeat(2029)),
                "billingGroupDescription is 2029 characters long",
            ),
            (
                r#"{"op":"createThingGroup","thingGroup":{"thingGroupName":"g","parentGroupName":"a.b"}}"#.into(),
                "parentGroupName contains '.'",
            ),
            (
                r#"{"op":"addThingToBillingGroup","thingName":"t","billingGroupName":"b b"}"#.into(),
                "billingGroupName contains ' '",
            ),
            (
                r#"{"op":"attachPolicy","policyName":"p","target":{"certificate":"abc"}}"#.into(),
                "target certificate is not 64 hexadecimal digits",
            ),
            (
                r#"{"op":"attachThingPrincipal","thingName":"t","principal":"cert/abc"}"#.into(),
                "principal certificate id is not 64 hexadecimal digits",
            ),
            (
                r#"{"op":"tagResource","resource":{"kind":"policy","name":"p"},"tags":{"a!":"v"}}"#.into(),
                "tag key \"a!\" contains '!'",
            ),
            (
                r#"{"op":"untagResource","resource":{"kind":"policy","name":"p"},"tagKeys":[""]}"#.into(),
                "tagKeys entry \"\" is empty",
            ),
            (
                r#"{"op":"tagResource","resource":{"kind":"thing","name":"t"},"tags":{"a":"v"}}"#.into(),
                "AWS IoT does not tag a thing",
            ),
            (
                format!(r#"{{"op":"deleteThingGroup","thingGroupName":"{}"}}"#, "g".repeat(129)),
                "thingGroupName is 129 characters long",
            ),
        ];
        for (change, needle) in cases {
            let e = plan_err(&[create_thing("ok"), change.clone()]);
            assert!(e.starts_with("invalid plan: changes[1] ("), "{change}: {e}");
            assert!(e.contains(needle), "{change}: {e}");
        }
    }
}
