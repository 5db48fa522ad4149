//! Each resource kind's CloudTrail calls, one module per kind. Kinds here so far:
//! billing groups, role aliases, authorizers, CA certificates and the account settings;
//! the calls of the other kinds, and those that cross kinds, are still
//! declared in `cloudtrail.rs`.

pub(crate) mod authorizer;
pub(crate) mod billing_group;
pub(crate) mod ca_certificate;
pub(crate) mod event_configurations;
pub(crate) mod indexing_configuration;
pub(crate) mod role_alias;
