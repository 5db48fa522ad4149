//! The AWS IoT registry model of iot-crr.
//!
//! A registry is a set of resources; replication makes the target's set equal to the
//! source's. This crate is the pure heart of that: no network, no AWS SDK, no async.
//!
//! - [`resource`]: the resource kinds a device needs to fail over (things, thing types,
//!   thing groups, billing groups, policies with their versions, certificates) with
//!   their relations (memberships, principals, policy attachments) and tags.
//! - [`Snapshot`]: a whole registry in deterministic order; [`format`](mod@format) reads and writes
//!   it as a JSON Lines snapshot file.
//! - [`diff`](diff::diff): turns (desired, actual, options) into a [`Plan`], an ordered,
//!   staged list of [`Change`]s that respects dependencies and AWS IoT's rules.
//! - [`apply_change`]: the reference semantics of every change, with AWS IoT's
//!   preconditions, used by the embedded registries and by the property tests;
//!   [`create`] says when a resource that already exists is the one a create wants
//!   (shared with the AWS backend).
//! - [`Filter`] and [`ArnRewrite`]: which resources take part, and how region- and
//!   account-specific ARNs are rewritten for the target ([`arn`] parses ARNs).
//! - [`constraints`]: AWS IoT's documented limits, checked by the snapshot and plan
//!   readers.

pub mod apply;
pub mod arn;
pub mod collections;
pub mod constraints;
pub mod create;
pub mod diff;
pub mod document;
mod fastline;
pub mod filter;
pub mod fingerprint;
pub mod format;
pub mod kinds;
pub mod pair;
pub mod plan;
pub mod related;
pub mod resource;
pub mod rewrite;
pub mod same;
pub mod snapshot;
pub mod view;

pub use apply::{ApplyError, ApplyErrorKind, MAX_POLICY_VERSIONS, Outcome, apply_change};
pub use arn::{Arn, ArnBuilder};
pub use collections::{NameSet, StringMap};
pub use constraints::Violation;
pub use create::{
    DEFAULT_INDEX_NAME, DEFAULT_QUERY_VERSION, certificate_status_update, same_billing_group,
    same_policy, same_thing, same_thing_group, same_thing_type, settable_status,
};
pub use diff::{KeyedDiff, diff, diff_keys, diff_pair};
pub use document::{canonical_document, same_document};
pub use filter::{CompiledFilter, DiffOptions, Filter, PatternError};
pub use fingerprint::{fingerprint, fingerprint_pair};
pub use format::SnapshotError;
pub use kinds::authorizer::{AuthorizerChange, AuthorizerStatus, same_authorizer};
pub use kinds::billing_group::BillingGroupChange;
pub use kinds::ca_certificate::{
    CaCertificateChange, CaMode, CaStatus, RegistrationConfig, same_ca_certificate,
};
pub use kinds::domain_configuration::{
    DomainAuthorizerConfig, DomainConfigurationChange, DomainSettings, DomainStatus,
    same_domain_configuration,
};
pub use kinds::event_configurations::EventConfigurationsChange;
pub use kinds::indexing_configuration::{
    GeoLocation, IndexMode, IndexingConfigurationChange, IndexingFilter,
};
pub use kinds::provisioning_template::{
    ProvisioningHook, ProvisioningTemplateChange, TemplateSettings, TemplateVersion,
    same_provisioning_template,
};
pub use kinds::role_alias::{RoleAliasChange, same_role_alias};
pub use kinds::topic_rule::{TopicRuleChange, same_topic_rule};
pub use kinds::topic_rule_destination::{DestinationStatus, TopicRuleDestinationChange};
pub use kinds::{KindChange, KindSpec};
pub use pair::{PairRead, StepAside, read_pair_without_pems};
pub use plan::{Action, Change, Plan, PlanFileError, PlannedChange, PolicyTarget};
pub use related::Related;
pub use resource::{
    Authorizer, BillingGroup, CERT_PRINCIPAL_PREFIX, CaCertificate, Certificate, CertificateStatus,
    DomainConfiguration, EventConfigurations, IndexingConfiguration, Kind, Name, Policy,
    PolicyVersion, ProvisioningTemplate, Resource, ResourceKey, ResourceRef, RoleAlias, Thing,
    ThingGroup, ThingType, TopicRule, TopicRuleDestination, cert_principal,
    principal_certificate_id,
};
pub use rewrite::ArnRewrite;
pub use same::SameLines;
pub use snapshot::{Counts, Origin, PrincipalCoverage, Snapshot};
pub use view::{Misses, PartialView, SnapshotView, View};
