//! Resource kinds, each in a module of its own.
//!
//! A kind's module holds its resource type with its [`KindSpec`] (name, messages, ARN
//! type, tags, checks), its changes with their [`KindChange`] (API names, keys,
//! reference semantics, checks) and its diff. The shared machinery (plans, ordering,
//! fingerprints, snapshot files) reaches a kind through these traits and through
//! [`with_kind!`](crate::with_kind), the one list that maps a [`Kind`] to its type.
//!
//! Kinds here so far: billing groups, role aliases, custom authorizers, domain
//! configurations, topic rule destinations, topic rules, provisioning templates, CA certificates, and the fleet
//! indexing and registry event configurations (account settings: one resource each,
//! [`SINGLETON`]). The five other original kinds still live in the shared files
//! (`resource.rs`, `plan.rs`, `diff.rs`, `apply.rs`, `constraints.rs`) and move one at a
//! time; `docs/kinds-reshape.md` has the plan.

pub mod authorizer;
pub mod billing_group;
pub mod ca_certificate;
pub mod domain_configuration;
pub mod event_configurations;
pub mod indexing_configuration;
mod legacy;
pub mod provisioning_template;
pub mod role_alias;
mod spec;
pub mod topic_rule;
pub mod topic_rule_destination;

pub use spec::{KindChange, KindSpec};

#[allow(unused_imports)]
use crate::resource::Kind;

/// The name of the one resource of an account-setting kind (the fleet indexing and the
/// registry event configurations): `indexingConfiguration/default`.
pub const SINGLETON: &str = "default";

/// An account setting has one resource, named [`SINGLETON`].
pub(crate) fn check_singleton(
    c: &crate::constraints::Ctx<'_>,
    name: &str,
) -> Result<(), crate::constraints::Violation> {
    if name == SINGLETON {
        Ok(())
    } else {
        Err(c.err(
            "name",
            format!("is {name:?}: an account setting has one resource, named \"{SINGLETON}\""),
        ))
    }
}

/// Runs `$body` with `$K` the resource type of the kind `$kind`: the one list that maps
/// each [`Kind`] to the type implementing [`KindSpec`], in dependency order.
#[macro_export]
#[doc(hidden)]
macro_rules! with_kind {
    ($kind:expr, $K:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::kinds::KindSpec as _;
        match $kind {
            $crate::Kind::EventConfigurations => {
                type $K = $crate::EventConfigurations;
                $body
            }
            $crate::Kind::IndexingConfiguration => {
                type $K = $crate::IndexingConfiguration;
                $body
            }
            $crate::Kind::ThingType => {
                type $K = $crate::ThingType;
                $body
            }
            $crate::Kind::BillingGroup => {
                type $K = $crate::BillingGroup;
                $body
            }
            $crate::Kind::ThingGroup => {
                type $K = $crate::ThingGroup;
                $body
            }
            $crate::Kind::Policy => {
                type $K = $crate::Policy;
                $body
            }
            $crate::Kind::RoleAlias => {
                type $K = $crate::RoleAlias;
                $body
            }
            $crate::Kind::Authorizer => {
                type $K = $crate::Authorizer;
                $body
            }
            $crate::Kind::DomainConfiguration => {
                type $K = $crate::DomainConfiguration;
                $body
            }
            $crate::Kind::TopicRuleDestination => {
                type $K = $crate::TopicRuleDestination;
                $body
            }
            $crate::Kind::TopicRule => {
                type $K = $crate::TopicRule;
                $body
            }
            $crate::Kind::ProvisioningTemplate => {
                type $K = $crate::ProvisioningTemplate;
                $body
            }
            $crate::Kind::CaCertificate => {
                type $K = $crate::CaCertificate;
                $body
            }
            $crate::Kind::Certificate => {
                type $K = $crate::Certificate;
                $body
            }
            $crate::Kind::Thing => {
                type $K = $crate::Thing;
                $body
            }
        }
    }};
}

/// Runs `$body` with `$r` bound to the resource inside `$resource` (a [`Resource`](crate::Resource),
/// by value or by reference) and `$K` its type.
#[macro_export]
#[doc(hidden)]
macro_rules! with_resource {
    ($resource:expr, $K:ident, $r:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::kinds::KindSpec as _;
        match $resource {
            $crate::Resource::EventConfigurations($r) => {
                #[allow(dead_code)]
                type $K = $crate::EventConfigurations;
                $body
            }
            $crate::Resource::IndexingConfiguration($r) => {
                #[allow(dead_code)]
                type $K = $crate::IndexingConfiguration;
                $body
            }
            $crate::Resource::ThingType($r) => {
                #[allow(dead_code)]
                type $K = $crate::ThingType;
                $body
            }
            $crate::Resource::BillingGroup($r) => {
                #[allow(dead_code)]
                type $K = $crate::BillingGroup;
                $body
            }
            $crate::Resource::ThingGroup($r) => {
                #[allow(dead_code)]
                type $K = $crate::ThingGroup;
                $body
            }
            $crate::Resource::Policy($r) => {
                #[allow(dead_code)]
                type $K = $crate::Policy;
                $body
            }
            $crate::Resource::RoleAlias($r) => {
                #[allow(dead_code)]
                type $K = $crate::RoleAlias;
                $body
            }
            $crate::Resource::Authorizer($r) => {
                #[allow(dead_code)]
                type $K = $crate::Authorizer;
                $body
            }
            $crate::Resource::DomainConfiguration($r) => {
                #[allow(dead_code)]
                type $K = $crate::DomainConfiguration;
                $body
            }
            $crate::Resource::TopicRuleDestination($r) => {
                #[allow(dead_code)]
                type $K = $crate::TopicRuleDestination;
                $body
            }
            $crate::Resource::TopicRule($r) => {
                #[allow(dead_code)]
                type $K = $crate::TopicRule;
                $body
            }
            $crate::Resource::ProvisioningTemplate($r) => {
                #[allow(dead_code)]
                type $K = $crate::ProvisioningTemplate;
                $body
            }
            $crate::Resource::CaCertificate($r) => {
                #[allow(dead_code)]
                type $K = $crate::CaCertificate;
                $body
            }
            $crate::Resource::Certificate($r) => {
                #[allow(dead_code)]
                type $K = $crate::Certificate;
                $body
            }
            $crate::Resource::Thing($r) => {
                #[allow(dead_code)]
                type $K = $crate::Thing;
                $body
            }
        }
    }};
}

/// Runs `$body` once for each kind in dependency order (the order of snapshot files),
/// with `$K` the kind's type.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_kind {
    ($K:ident => $body:block) => {{
        #[allow(unused_imports)]
        use $crate::kinds::KindSpec as _;
        {
            type $K = $crate::EventConfigurations;
            $body
        }
        {
            type $K = $crate::IndexingConfiguration;
            $body
        }
        {
            type $K = $crate::ThingType;
            $body
        }
        {
            type $K = $crate::BillingGroup;
            $body
        }
        {
            type $K = $crate::ThingGroup;
            $body
        }
        {
            type $K = $crate::Policy;
            $body
        }
        {
            type $K = $crate::RoleAlias;
            $body
        }
        {
            type $K = $crate::Authorizer;
            $body
        }
        {
            type $K = $crate::DomainConfiguration;
            $body
        }
        {
            type $K = $crate::TopicRuleDestination;
            $body
        }
        {
            type $K = $crate::TopicRule;
            $body
        }
        {
            type $K = $crate::ProvisioningTemplate;
            $body
        }
        {
            type $K = $crate::CaCertificate;
            $body
        }
        {
            type $K = $crate::Certificate;
            $body
        }
        {
            type $K = $crate::Thing;
            $body
        }
    }};
}
