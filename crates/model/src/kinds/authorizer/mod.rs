//! Custom authorizers (`CreateAuthorizer`): the Lambda function AWS IoT calls to
//! authenticate clients that connect without a certificate (a token, a user name and
//! password, a custom header), with the token's key name and signing keys, its status,
//! HTTP caching, and whether it is the account's default authorizer.
//!
//! The function is outside AWS IoT: its ARN is rewritten for the target region and
//! account by `--rewrite-arns` (or mapped with `--map-arn`) and never created; the
//! function must exist there and allow `iot.amazonaws.com` to invoke it.
//! `signingDisabled` cannot be changed on an existing authorizer (`UpdateAuthorizer`
//! lacks it): a difference there is reported, not planned.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::{AuthorizerChange, same_authorizer};
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};

/// An authorizer's status (`AuthorizerStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizerStatus {
    /// In use.
    Active,
    /// Not called.
    Inactive,
}

impl AuthorizerStatus {
    /// The AWS API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizerStatus::Active => "ACTIVE",
            AuthorizerStatus::Inactive => "INACTIVE",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A custom authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authorizer {
    /// `authorizerName`.
    pub authorizer_name: Name,
    /// `authorizerFunctionArn`: the Lambda function (rewritten for the target).
    pub authorizer_function_arn: String,
    /// `tokenKeyName`: the header or query parameter holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key_name: Option<String>,
    /// `tokenSigningPublicKeys`: key name to PEM public key.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub token_signing_public_keys: StringMap,
    /// `status`.
    pub status: AuthorizerStatus,
    /// `signingDisabled`: tokens are not signed (set at creation only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub signing_disabled: bool,
    /// `enableCachingForHttp`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_caching_for_http: bool,
    /// Whether it is the region's default authorizer (`SetDefaultAuthorizer`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl KindSpec for Authorizer {
    const KIND: Kind = Kind::Authorizer;
    const TAG: &'static str = "authorizer";
    const NOUN: &'static str = "authorizer";
    const PLURAL: &'static str = "authorizers";
    const NAME_FIELD: &'static str = "authorizerName";
    const ARN_TYPE: &'static str = "authorizer";
    const TAGGABLE: bool = true;
    const ALIASES: &'static [&'static str] = &["customauthorizer"];

    fn name(&self) -> &Name {
        &self.authorizer_name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.authorizers
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.authorizers
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    fn count(c: &Counts) -> usize {
        c.authorizers
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.authorizers
    }

    fn into_resource(self) -> Resource {
        Resource::Authorizer(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::Authorizer(self)
    }

    fn check(&self) -> Result<(), Violation> {
        check_fields(
            &self.authorizer_name,
            &self.authorizer_function_arn,
            self.token_key_name.as_deref(),
            &self.token_signing_public_keys,
        )?;
        let c = constraints::Ctx::new(Self::KIND, &self.authorizer_name);
        constraints::tags(&c, &self.tags)
    }
}

/// The checks of what `CreateAuthorizer` and `UpdateAuthorizer` send.
pub(crate) fn check_fields(
    name: &str,
    function_arn: &str,
    token_key_name: Option<&str>,
    keys: &StringMap,
) -> Result<(), Violation> {
    let c = constraints::Ctx::new(Authorizer::KIND, name);
    constraints::own_name(&c)?;
    constraints::check_lambda_arn(function_arn).map_err(|p| c.err("authorizerFunctionArn", p))?;
    if let Some(k) = token_key_name {
        constraints::check_token_key_name(k).map_err(|p| c.err("tokenKeyName", p))?;
    }
    for (name, pem) in keys.iter() {
        if !pem.contains("-----BEGIN PUBLIC KEY-----") {
            return Err(c.err(
                format!("tokenSigningPublicKeys.{name}"),
                "is not a PEM public key (no -----BEGIN PUBLIC KEY----- line)".into(),
            ));
        }
    }
    Ok(())
}
