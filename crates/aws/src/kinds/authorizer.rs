//! Custom authorizers: `ListAuthorizers`, `DescribeAuthorizer`,
//! `DescribeDefaultAuthorizer`, `CreateAuthorizer` (with tags), `UpdateAuthorizer`,
//! `SetDefaultAuthorizer`, `ClearDefaultAuthorizer`, `DeleteAuthorizer`; tags through
//! `ListTagsForResource` on the authorizer's ARN.
//!
//! moto (5.2.1) implements none of these (an HTML page, HTTP 500): a full read from
//! moto marks the kind unlisted and a comparison leaves it out; `request_shape.rs`
//! tests what AWS takes.

use aws_sdk_iot::types::AuthorizerStatus as AwsStatus;
use iot_crr_model::{
    Authorizer, AuthorizerChange, AuthorizerStatus, Kind, Name, Outcome, Resource, ResourceKey,
    same_authorizer,
};
use iot_crr_registry::{ErrorClass, KeyPage, ReadRequest, RegistryError, Result};

use crate::read::{non_empty, page, string_map};
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, conflict, found, gone_ok};

/// The largest page `ListAuthorizers` returns.
const AUTHORIZER_PAGE: i32 = 250;

fn aws_status(s: AuthorizerStatus) -> AwsStatus {
    match s {
        AuthorizerStatus::Active => AwsStatus::Active,
        AuthorizerStatus::Inactive => AwsStatus::Inactive,
    }
}

impl AwsRegistry {
    /// `DescribeAuthorizer`: the authorizer without its tags and default flag, and its
    /// ARN; `None` when absent.
    async fn describe_authorizer(
        &self,
        name: &str,
    ) -> Result<Option<(Authorizer, Option<String>)>> {
        let Some(out) = found(
            self.call("DescribeAuthorizer", || {
                self.client
                    .describe_authorizer()
                    .authorizer_name(name)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let Some(d) = out.authorizer_description() else {
            return Ok(None);
        };
        let keys = string_map(d.token_signing_public_keys());
        let a = Authorizer {
            authorizer_name: name.into(),
            authorizer_function_arn: d.authorizer_function_arn().unwrap_or_default().to_string(),
            token_key_name: non_empty(d.token_key_name()),
            token_signing_public_keys: keys,
            status: match d.status() {
                Some(AwsStatus::Inactive) => AuthorizerStatus::Inactive,
                _ => AuthorizerStatus::Active,
            },
            signing_disabled: d.signing_disabled().unwrap_or(false),
            enable_caching_for_http: d.enable_caching_for_http().unwrap_or(false),
            default: false,
            tags: Default::default(),
        };
        let arn = d.authorizer_arn().map(str::to_string);
        if let Some(a) = &arn {
            self.note_arn(a);
        }
        Ok(Some((a, arn)))
    }

    /// `DescribeDefaultAuthorizer`: the default authorizer's name, `None` when there is
    /// none.
    async fn default_authorizer(&self) -> Result<Option<Name>> {
        match self
            .call("DescribeDefaultAuthorizer", || {
                self.client.describe_default_authorizer().send()
            })
            .await
        {
            Ok(o) => Ok(o
                .authorizer_description()
                .and_then(|d| d.authorizer_name())
                .map(Name::from)),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One authorizer with its tags and whether it is the default.
    pub(crate) async fn read_authorizer(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut a, arn)) = self.describe_authorizer(name).await? else {
            return Ok(None);
        };
        if let Some(arn) = arn {
            a.tags = self.tags_of(&arn).await?;
        }
        a.default = self.default_authorizer().await?.as_deref() == Some(name);
        Ok(Some(Resource::Authorizer(a)))
    }

    /// The ARN of an authorizer, `None` when it does not exist.
    pub(crate) async fn authorizer_arn(&self, name: &str) -> Result<Option<String>> {
        Ok(self.describe_authorizer(name).await?.and_then(|(_, a)| a))
    }

    /// One page of authorizer names.
    pub(crate) async fn authorizer_keys(
        &self,
        marker: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let out = self
            .call("ListAuthorizers", || {
                self.client
                    .list_authorizers()
                    .page_size(size.min(AUTHORIZER_PAGE))
                    .set_marker(marker.clone())
                    .send()
            })
            .await
            .map_err(|e| {
                // moto answers a route it lacks with a bare 404 (no error code), where
                // AWS always lists (an empty list, never a 404): the endpoint lacks it.
                if e.class == ErrorClass::NotFound && e.code.is_none() {
                    RegistryError::new(
                        ErrorClass::Unsupported,
                        format!("the endpoint does not implement iot:ListAuthorizers ({e})"),
                    )
                    .with_api("ListAuthorizers")
                } else {
                    e
                }
            })?;
        Ok(page(
            out.authorizers()
                .iter()
                .filter_map(|a| a.authorizer_name())
                .map(|n| ResourceKey::new(Kind::Authorizer, n))
                .collect(),
            out.next_marker(),
        ))
    }

    /// Every authorizer the filter selects, each described, its tags read and the
    /// default marked (one `DescribeDefaultAuthorizer`); `None` when the endpoint cannot
    /// list them (moto).
    pub(crate) async fn read_authorizers(
        &self,
        req: &ReadRequest,
    ) -> Result<Option<Vec<Authorizer>>> {
        let mut names: Vec<Name> = Vec::new();
        let mut marker = None;
        loop {
            let page = match self.authorizer_keys(marker, AUTHORIZER_PAGE).await {
                Ok(p) => p,
                Err(e) if e.class == ErrorClass::Unsupported => {
                    tracing::warn!(
                        region = %self.region,
                        "the endpoint does not implement ListAuthorizers: authorizers are not compared"
                    );
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            names.extend(
                page.keys
                    .into_iter()
                    .map(|k| k.name)
                    .filter(|n| req.filter.matches(Kind::Authorizer, n)),
            );
            match page.next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        if names.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let default = self.default_authorizer().await?;
        let read = self
            .each(names, |name| async move {
                let Some((mut a, arn)) = self.describe_authorizer(&name).await? else {
                    return Ok(None);
                };
                if let Some(arn) = arn {
                    a.tags = self.tags_of(&arn).await?;
                }
                Ok(Some(a))
            })
            .await?;
        // An authorizer deleted between the list and its description is simply gone.
        Ok(Some(
            read.into_iter()
                .flatten()
                .map(|mut a| {
                    a.default = default.as_ref() == Some(&a.authorizer_name);
                    a
                })
                .collect(),
        ))
    }

    /// Applies an authorizer change, with the model's semantics.
    pub(crate) async fn apply_authorizer(&self, change: &AuthorizerChange) -> Result<Outcome> {
        match change {
            AuthorizerChange::CreateAuthorizer { authorizer: a } => {
                let name = a.authorizer_name.as_str();
                let tags = self.create_tags(&a.tags)?;
                let r = self
                    .call("CreateAuthorizer", || {
                        let mut req = self
                            .client
                            .create_authorizer()
                            .authorizer_name(name)
                            .authorizer_function_arn(&a.authorizer_function_arn)
                            .set_token_key_name(a.token_key_name.clone())
                            .status(aws_status(a.status))
                            .signing_disabled(a.signing_disabled)
                            .enable_caching_for_http(a.enable_caching_for_http)
                            .set_tags(tags.clone());
                        for (k, v) in a.token_signing_public_keys.iter() {
                            req = req.token_signing_public_keys(k, v);
                        }
                        req.send()
                    })
                    .await;
                match r {
                    Ok(o) => {
                        if let Some(arn) = o.authorizer_arn() {
                            self.note_arn(arn);
                        }
                        applied()
                    }
                    Err(e) if e.has_code(ALREADY_EXISTS) => {
                        match self.describe_authorizer(name).await? {
                            Some((existing, _)) if same_authorizer(&existing, a) => {
                                Ok(Outcome::AlreadyInState)
                            }
                            _ => Err(conflict(
                                "CreateAuthorizer",
                                format!("authorizer {name} already exists with other properties"),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            AuthorizerChange::UpdateAuthorizer {
                authorizer_name,
                authorizer_function_arn,
                token_key_name,
                token_signing_public_keys,
                status,
                enable_caching_for_http,
            } => {
                self.call("UpdateAuthorizer", || {
                    let mut req = self
                        .client
                        .update_authorizer()
                        .authorizer_name(authorizer_name.as_str())
                        .authorizer_function_arn(authorizer_function_arn)
                        .set_token_key_name(token_key_name.clone())
                        .status(aws_status(*status))
                        .enable_caching_for_http(*enable_caching_for_http);
                    for (k, v) in token_signing_public_keys.iter() {
                        req = req.token_signing_public_keys(k, v);
                    }
                    req.send()
                })
                .await?;
                applied()
            }
            AuthorizerChange::SetDefaultAuthorizer { authorizer_name } => {
                self.call("SetDefaultAuthorizer", || {
                    self.client
                        .set_default_authorizer()
                        .authorizer_name(authorizer_name.as_str())
                        .send()
                })
                .await?;
                applied()
            }
            AuthorizerChange::ClearDefaultAuthorizer { authorizer_name } => {
                // Only when it is still this one: another may have become the default.
                if self.default_authorizer().await?.as_ref() != Some(authorizer_name) {
                    return Ok(Outcome::AlreadyInState);
                }
                gone_ok(
                    self.call("ClearDefaultAuthorizer", || {
                        self.client.clear_default_authorizer().send()
                    })
                    .await,
                )
            }
            AuthorizerChange::DeleteAuthorizer { authorizer_name } => gone_ok(
                self.call("DeleteAuthorizer", || {
                    self.client
                        .delete_authorizer()
                        .authorizer_name(authorizer_name.as_str())
                        .send()
                })
                .await,
            ),
        }
    }
}
