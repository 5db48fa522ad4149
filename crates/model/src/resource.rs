//! The resource kinds of an AWS IoT registry that a device needs to fail over.
//!
//! Field names follow the AWS IoT API (camelCase) so that a snapshot line reads like the
//! API's own JSON. Collections are kept sorted and deduplicated ([`StringMap`],
//! [`NameSet`]) so that equality is structural and serialisation is deterministic.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::collections::{NameSet, StringMap};
pub use crate::kinds::authorizer::Authorizer;
pub use crate::kinds::billing_group::BillingGroup;
pub use crate::kinds::ca_certificate::CaCertificate;
pub use crate::kinds::domain_configuration::DomainConfiguration;
pub use crate::kinds::event_configurations::EventConfigurations;
pub use crate::kinds::indexing_configuration::IndexingConfiguration;
pub use crate::kinds::provisioning_template::ProvisioningTemplate;
pub use crate::kinds::role_alias::RoleAlias;
pub use crate::kinds::topic_rule::TopicRule;
pub use crate::kinds::topic_rule_destination::TopicRuleDestination;

/// A resource name or short string value. Short strings (up to 24 bytes) live inline,
/// which keeps a million-thing registry compact in memory.
pub type Name = CompactString;

/// The kinds of resource the model knows, in dependency order (a kind may refer to the
/// kinds before it, never to those after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// The registry event configuration (`UpdateEventConfigurations`), one per region.
    EventConfigurations,
    /// The fleet indexing configuration (`UpdateIndexingConfiguration`), one per region.
    IndexingConfiguration,
    /// A thing type (`CreateThingType`).
    ThingType,
    /// A billing group (`CreateBillingGroup`).
    BillingGroup,
    /// A static or dynamic thing group (`CreateThingGroup`, `CreateDynamicThingGroup`).
    ThingGroup,
    /// A policy with its versions (`CreatePolicy`, `CreatePolicyVersion`).
    Policy,
    /// A role alias for the credentials provider (`CreateRoleAlias`).
    RoleAlias,
    /// A custom authorizer (`CreateAuthorizer`).
    Authorizer,
    /// A domain configuration (`CreateDomainConfiguration`).
    DomainConfiguration,
    /// An HTTP topic rule destination (`CreateTopicRuleDestination`).
    TopicRuleDestination,
    /// A topic rule (`CreateTopicRule`).
    TopicRule,
    /// A provisioning template (`CreateProvisioningTemplate`).
    ProvisioningTemplate,
    /// A CA certificate (`RegisterCACertificate`).
    CaCertificate,
    /// A device certificate (`RegisterCertificate*`).
    Certificate,
    /// A thing (`CreateThing`).
    Thing,
}

impl Kind {
    /// Every kind, in dependency order.
    pub const ALL: [Kind; 15] = [
        Kind::EventConfigurations,
        Kind::IndexingConfiguration,
        Kind::ThingType,
        Kind::BillingGroup,
        Kind::ThingGroup,
        Kind::Policy,
        Kind::RoleAlias,
        Kind::Authorizer,
        Kind::DomainConfiguration,
        Kind::TopicRuleDestination,
        Kind::TopicRule,
        Kind::ProvisioningTemplate,
        Kind::CaCertificate,
        Kind::Certificate,
        Kind::Thing,
    ];

    /// The `kind` field value used in snapshot files and plans.
    pub fn as_str(self) -> &'static str {
        crate::with_kind!(self, K => K::TAG)
    }

    /// How the kind is named in messages (`billing group`).
    pub fn noun(self) -> &'static str {
        crate::with_kind!(self, K => K::NOUN)
    }

    /// The plural of [`Kind::noun`] (`billing groups`).
    pub fn plural(self) -> &'static str {
        crate::with_kind!(self, K => K::PLURAL)
    }

    /// The API field that holds a resource's name (`billingGroupName`).
    pub fn name_field(self) -> &'static str {
        crate::with_kind!(self, K => K::NAME_FIELD)
    }

    /// The resource type segment of the kind's ARNs (`billinggroup`, `cert`).
    pub fn arn_type(self) -> &'static str {
        crate::with_kind!(self, K => K::ARN_TYPE)
    }

    /// Parses a kind from its snapshot name, also accepting kebab-case and plurals
    /// (`thing-group`, `thingGroups`, `things`) as typed on a command line.
    pub fn parse(s: &str) -> Option<Kind> {
        // The longest spelling, `billinggroups`, has 13 letters.
        let mut buf = [0u8; 24];
        let mut n = 0;
        for b in s.bytes().filter(|b| *b != b'-' && *b != b'_') {
            *buf.get_mut(n)? = b.to_ascii_lowercase();
            n += 1;
        }
        let norm = &buf[..n];
        // Singular, plural in -s, plural in -es (`roleAliases`).
        let forms = [
            Some(norm),
            norm.strip_suffix(b"s"),
            norm.strip_suffix(b"es"),
        ];
        Kind::ALL.into_iter().find(|k| {
            crate::with_kind!(*k, K => forms.iter().flatten().any(|f| {
                K::TAG.as_bytes().eq_ignore_ascii_case(f)
                    || K::ALIASES.iter().any(|a| a.as_bytes() == *f)
            }))
        })
    }

    /// Whether AWS IoT lets this kind carry tags (`TagResource`).
    pub fn is_taggable(self) -> bool {
        crate::with_kind!(self, K => K::TAGGABLE)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one resource: its kind and its name (the certificate id for certificates).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    /// The resource kind.
    pub kind: Kind,
    /// The resource name, or the certificate id.
    pub name: Name,
}

impl ResourceKey {
    /// Builds a key.
    pub fn new(kind: Kind, name: impl Into<Name>) -> Self {
        ResourceKey {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// A thing type. AWS IoT lets a type be created, deprecated, undeprecated and deleted
/// (five minutes after deprecation); its properties are otherwise fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThingType {
    /// `thingTypeName`.
    pub thing_type_name: Name,
    /// `thingTypeDescription`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing_type_description: Option<String>,
    /// `searchableAttributes` (at most three attribute names).
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub searchable_attributes: NameSet,
    /// Whether the type is deprecated (`thingTypeMetadata.deprecated`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

/// A thing group: static (with an optional parent) or dynamic (with a query, no parent,
/// no static members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThingGroup {
    /// `thingGroupName`.
    pub thing_group_name: Name,
    /// `parentGroupName`; fixed at creation in AWS IoT, so a change means re-creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_group_name: Option<Name>,
    /// `thingGroupDescription`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing_group_description: Option<String>,
    /// `attributes` of the group's `attributePayload`.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub attributes: StringMap,
    /// `queryString` of a dynamic thing group (a fleet-indexing query); `None` for a
    /// static group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    /// `indexName` of a dynamic thing group (AWS uses `AWS_Things` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<Name>,
    /// `queryVersion` of a dynamic thing group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_version: Option<Name>,
    /// Names of the policies attached to the group (`AttachPolicy` with the group ARN).
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub policies: NameSet,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl ThingGroup {
    /// Whether this is a dynamic thing group.
    pub fn is_dynamic(&self) -> bool {
        self.query_string.is_some()
    }
}

/// One version of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyVersion {
    /// `versionId`, as assigned by the registry that holds it (a decimal number).
    pub version_id: Name,
    /// `policyDocument`, the JSON text.
    pub policy_document: String,
}

/// A policy with every version, oldest first.
///
/// Version ids are assigned by each registry and differ between regions, so two policies
/// are equal when their documents, in order, and the position of the default are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// `policyName`.
    pub policy_name: Name,
    /// `defaultVersionId`.
    pub default_version_id: Name,
    /// Every version, in ascending version order.
    pub versions: Vec<PolicyVersion>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl Policy {
    /// The index of the default version in [`Policy::versions`].
    pub fn default_index(&self) -> Option<usize> {
        self.versions
            .iter()
            .position(|v| v.version_id == self.default_version_id)
    }

    /// The default version's document.
    pub fn default_document(&self) -> Option<&str> {
        self.default_index()
            .map(|i| self.versions[i].policy_document.as_str())
    }

    /// The highest version id as a number (0 when there are no versions).
    pub fn max_version_number(&self) -> u64 {
        self.versions
            .iter()
            .filter_map(|v| v.version_id.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    }
}

/// The status of a certificate (`CertificateStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertificateStatus {
    /// Devices may connect with it.
    Active,
    /// Registered but not usable.
    Inactive,
    /// Revoked.
    Revoked,
    /// Being transferred to another account.
    PendingTransfer,
    /// Registered, waiting for activation.
    RegisterInactive,
    /// Waiting for activation.
    PendingActivation,
}

impl CertificateStatus {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Active => "ACTIVE",
            CertificateStatus::Inactive => "INACTIVE",
            CertificateStatus::Revoked => "REVOKED",
            CertificateStatus::PendingTransfer => "PENDING_TRANSFER",
            CertificateStatus::RegisterInactive => "REGISTER_INACTIVE",
            CertificateStatus::PendingActivation => "PENDING_ACTIVATION",
        }
    }

    /// Parses the AWS API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ACTIVE" => CertificateStatus::Active,
            "INACTIVE" => CertificateStatus::Inactive,
            "REVOKED" => CertificateStatus::Revoked,
            "PENDING_TRANSFER" => CertificateStatus::PendingTransfer,
            "REGISTER_INACTIVE" => CertificateStatus::RegisterInactive,
            "PENDING_ACTIVATION" => CertificateStatus::PendingActivation,
            _ => return None,
        })
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device certificate. Its id is the SHA-256 of its DER bytes, the same in every
/// region; the private key is never seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificate {
    /// `certificateId` (64 lowercase hex digits).
    pub certificate_id: Name,
    /// `certificatePem`.
    pub certificate_pem: String,
    /// `status`.
    pub status: CertificateStatus,
    /// `caCertificateId` of the CA that signed it, when registered with a CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate_id: Option<Name>,
    /// Names of the policies attached to the certificate.
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub policies: NameSet,
}

/// A thing. Its static group memberships, billing group and principals are part of it.
///
/// Equality compares the content only, not [`Thing::version`] (metadata: each registry
/// counts its own versions, so two equal registries have different ones).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Thing {
    /// `thingName`.
    pub thing_name: Name,
    /// `thingTypeName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing_type_name: Option<Name>,
    /// `attributes`.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub attributes: StringMap,
    /// Names of the static thing groups the thing is a direct member of.
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub thing_groups: NameSet,
    /// `billingGroupName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_group_name: Option<Name>,
    /// Attached principals. A certificate is written `cert/<certificateId>` (the
    /// region-neutral tail of its ARN); any other principal is kept as given.
    #[serde(default, skip_serializing_if = "NameSet::is_empty")]
    pub principals: NameSet,
    /// `version` in the registry it was read from: metadata, not content. It is never
    /// compared (two equal things in two registries have different versions) and not
    /// written to snapshot files (so that a file's content, and its fingerprint, do
    /// not change when only a counter did); a file that has it is still read.
    #[serde(default, skip_serializing)]
    pub version: Option<i64>,
}

impl PartialEq for Thing {
    fn eq(&self, other: &Self) -> bool {
        self.thing_name == other.thing_name
            && self.thing_type_name == other.thing_type_name
            && self.attributes == other.attributes
            && self.thing_groups == other.thing_groups
            && self.billing_group_name == other.billing_group_name
            && self.principals == other.principals
    }
}

impl Eq for Thing {}

/// The prefix of a certificate principal in [`Thing::principals`].
pub const CERT_PRINCIPAL_PREFIX: &str = "cert/";

/// The principal string of a certificate id (`cert/<id>`).
pub fn cert_principal(certificate_id: &str) -> Name {
    let mut s = Name::with_capacity(CERT_PRINCIPAL_PREFIX.len() + certificate_id.len());
    s.push_str(CERT_PRINCIPAL_PREFIX);
    s.push_str(certificate_id);
    s
}

/// The certificate id of a principal, if it names a certificate.
pub fn principal_certificate_id(principal: &str) -> Option<&str> {
    principal.strip_prefix(CERT_PRINCIPAL_PREFIX)
}

/// A borrowed [`Resource`], serialised exactly as the resource is (its snapshot line),
/// so that writing or fingerprinting a registry clones nothing.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum ResourceRef<'a> {
    EventConfigurations(&'a EventConfigurations),
    IndexingConfiguration(&'a IndexingConfiguration),
    ThingType(&'a ThingType),
    BillingGroup(&'a BillingGroup),
    ThingGroup(&'a ThingGroup),
    Policy(&'a Policy),
    RoleAlias(&'a RoleAlias),
    Authorizer(&'a Authorizer),
    DomainConfiguration(&'a DomainConfiguration),
    TopicRuleDestination(&'a TopicRuleDestination),
    TopicRule(&'a TopicRule),
    ProvisioningTemplate(&'a ProvisioningTemplate),
    CaCertificate(&'a CaCertificate),
    Certificate(&'a Certificate),
    Thing(&'a Thing),
}

/// One resource of any kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Resource {
    /// The registry event configuration.
    EventConfigurations(EventConfigurations),
    /// The fleet indexing configuration.
    IndexingConfiguration(IndexingConfiguration),
    /// A thing type.
    ThingType(ThingType),
    /// A billing group.
    BillingGroup(BillingGroup),
    /// A thing group.
    ThingGroup(ThingGroup),
    /// A policy.
    Policy(Policy),
    /// A role alias.
    RoleAlias(RoleAlias),
    /// A custom authorizer.
    Authorizer(Authorizer),
    /// A domain configuration (`CreateDomainConfiguration`).
    DomainConfiguration(DomainConfiguration),
    /// An HTTP topic rule destination (`CreateTopicRuleDestination`).
    TopicRuleDestination(TopicRuleDestination),
    /// A topic rule (`CreateTopicRule`).
    TopicRule(TopicRule),
    /// A provisioning template (`CreateProvisioningTemplate`).
    ProvisioningTemplate(ProvisioningTemplate),
    /// A CA certificate.
    CaCertificate(CaCertificate),
    /// A certificate.
    Certificate(Certificate),
    /// A thing.
    Thing(Thing),
}

impl Resource {
    /// The resource's kind.
    pub fn kind(&self) -> Kind {
        crate::with_resource!(self, K, _r => K::KIND)
    }

    /// The resource's name (certificate id for a certificate).
    pub fn name(&self) -> &Name {
        crate::with_resource!(self, K, r => r.name())
    }

    /// The resource borrowed, serialised as it is.
    pub fn as_borrowed(&self) -> ResourceRef<'_> {
        crate::with_resource!(self, K, r => r.as_resource())
    }

    /// The resource's key.
    pub fn key(&self) -> ResourceKey {
        ResourceKey::new(self.kind(), self.name().clone())
    }
}
