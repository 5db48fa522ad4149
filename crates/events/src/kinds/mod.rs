//! Each resource kind's CloudTrail calls, one module per kind. Kinds here so far:
//! billing groups, role aliases, authorizers, domain configurations, topic rules,
//! provisioning templates, CA
//! certificates and the
//! account settings;
//! the calls of the other kinds, and those that cross kinds, are still
//! declared in `cloudtrail.rs`.

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

use iot_crr_model::{KindSpec, ResourceKey};

use crate::cloudtrail::ApiCall;
use crate::error::DecodeError;
use crate::json::Fields;

/// The key of a call about one resource of `K`, named by the request's
/// [`KindSpec::NAME_FIELD`] (a non-empty string).
pub(crate) fn request_name<K: KindSpec>(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(K::KIND, req.name(K::NAME_FIELD)?)])
}

/// The key of a call about an account setting `K`: its one resource
/// ([`SINGLETON`](iot_crr_model::kinds::SINGLETON)).
pub(crate) fn singleton<K: KindSpec>(
    _call: ApiCall,
    _req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(
        K::KIND,
        iot_crr_model::kinds::SINGLETON,
    )])
}
