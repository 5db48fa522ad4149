//! Each resource kind's reads and writes against AWS IoT, one module per kind.
//!
//! Kinds here so far: billing groups, role aliases, custom authorizers, domain
//! configurations, topic rule destinations, topic rules, provisioning templates, CA certificates and the two
//! account settings. The five other original kinds are still read by `read.rs` and
//! written by `write.rs`, and move one at a time. The joined read of the original six
//! kinds (`read.rs`) keeps calling into these modules for what a kind reads on its own.

pub(crate) mod authorizer;
pub(crate) mod billing_group;
pub(crate) mod ca_certificate;
pub(crate) mod domain_configuration;
pub(crate) mod event_configurations;
pub(crate) mod indexing_configuration;
pub(crate) mod provisioning_template;
pub(crate) mod role_alias;
pub(crate) mod topic_rule;
pub(crate) mod topic_rule_destination;
