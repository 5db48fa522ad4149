//! HTTP topic rule destinations: `ListTopicRuleDestinations` (the summaries carry the
//! confirmation URL and status, so no other read is needed), `CreateTopicRuleDestination`,
//! `UpdateTopicRuleDestination`, `DeleteTopicRuleDestination`. A destination is keyed by
//! its confirmation URL; the writes that take its ARN find it in the list. VPC
//! destinations are left out of every list (see the model's kind).
//!
//! moto (5.2.1) implements none of these (an HTML page, HTTP 500): a full read from
//! moto marks the kind unlisted and a comparison leaves it out; `request_shape.rs`
//! tests what AWS takes.

use aws_sdk_iot::types::{
    HttpUrlDestinationConfiguration, TopicRuleDestinationConfiguration,
    TopicRuleDestinationStatus as AwsStatus,
};
use iot_crr_model::{
    DestinationStatus, Kind, Outcome, Resource, ResourceKey, TopicRuleDestination,
    TopicRuleDestinationChange,
};
use iot_crr_registry::{ErrorClass, KeyPage, ReadRequest, RegistryError, Result};

use crate::read::page;
use crate::registry::AwsRegistry;
use crate::write::{ALREADY_EXISTS, applied, gone_ok};

/// The largest page `ListTopicRuleDestinations` returns.
const DESTINATION_PAGE: i32 = 1000;

fn status(s: Option<&AwsStatus>) -> DestinationStatus {
    match s {
        Some(AwsStatus::Enabled) => DestinationStatus::Enabled,
        Some(AwsStatus::Disabled) => DestinationStatus::Disabled,
        Some(AwsStatus::Error) => DestinationStatus::Error,
        Some(AwsStatus::Deleting) => DestinationStatus::Deleting,
        _ => DestinationStatus::InProgress,
    }
}

impl AwsRegistry {
    /// One page of HTTP destinations, each with its ARN.
    async fn destination_page(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<(Vec<(TopicRuleDestination, String)>, Option<String>)> {
        let out = self
            .call("ListTopicRuleDestinations", || {
                self.client
                    .list_topic_rule_destinations()
                    .max_results(size.clamp(1, DESTINATION_PAGE))
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        let found = out
            .destination_summaries()
            .iter()
            .filter_map(|d| {
                let url = d.http_url_summary()?.confirmation_url()?;
                Some((
                    TopicRuleDestination {
                        confirmation_url: url.into(),
                        status: status(d.status()),
                    },
                    d.arn()?.to_string(),
                ))
            })
            .collect();
        let next = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((found, next))
    }

    /// Every HTTP destination with its ARN; `None` when the endpoint lacks the list.
    async fn all_destinations(&self) -> Result<Option<Vec<(TopicRuleDestination, String)>>> {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let (found, next) = match self.destination_page(token, DESTINATION_PAGE).await {
                Ok(p) => p,
                Err(e) if e.class == ErrorClass::Unsupported => return Ok(None),
                Err(e) => return Err(e),
            };
            all.extend(found);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(Some(all)),
            }
        }
    }

    /// The destination of a confirmation URL with its ARN, `None` when absent.
    async fn find_destination(&self, url: &str) -> Result<Option<(TopicRuleDestination, String)>> {
        let all = self.all_destinations().await?.ok_or_else(|| {
            RegistryError::new(
                ErrorClass::Unsupported,
                "the endpoint does not implement ListTopicRuleDestinations",
            )
            .with_api("ListTopicRuleDestinations")
        })?;
        Ok(all.into_iter().find(|(d, _)| d.confirmation_url == url))
    }

    /// One destination by its confirmation URL.
    pub(crate) async fn read_topic_rule_destination(&self, url: &str) -> Result<Option<Resource>> {
        Ok(self
            .find_destination(url)
            .await?
            .map(|(d, _)| Resource::TopicRuleDestination(d)))
    }

    /// The ARN of the destination of a confirmation URL.
    pub(crate) async fn topic_rule_destination_arn(&self, url: &str) -> Result<Option<String>> {
        Ok(self.find_destination(url).await?.map(|(_, arn)| arn))
    }

    /// One page of destination keys (confirmation URLs).
    pub(crate) async fn topic_rule_destination_keys(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<KeyPage> {
        let (found, next) = self.destination_page(token, size).await?;
        Ok(page(
            found
                .into_iter()
                .map(|(d, _)| ResourceKey::new(Kind::TopicRuleDestination, d.confirmation_url))
                .collect(),
            next.as_deref(),
        ))
    }

    /// Every destination the filter selects; `None` when the endpoint lacks the list
    /// (moto), so that the kind is left out of comparisons rather than taken as empty.
    pub(crate) async fn read_topic_rule_destinations(
        &self,
        req: &ReadRequest,
    ) -> Result<Option<Vec<TopicRuleDestination>>> {
        let Some(all) = self.all_destinations().await? else {
            tracing::warn!(
                region = %self.region,
                "the endpoint does not implement ListTopicRuleDestinations: topic rule \
                 destinations are not compared"
            );
            return Ok(None);
        };
        Ok(Some(
            all.into_iter()
                .map(|(d, _)| d)
                .filter(|d| {
                    req.filter
                        .matches(Kind::TopicRuleDestination, &d.confirmation_url)
                })
                .collect(),
        ))
    }

    /// Applies a destination change, with the model's semantics.
    pub(crate) async fn apply_topic_rule_destination(
        &self,
        change: &TopicRuleDestinationChange,
    ) -> Result<Outcome> {
        match change {
            TopicRuleDestinationChange::CreateTopicRuleDestination { confirmation_url } => {
                let config = TopicRuleDestinationConfiguration::builder()
                    .http_url_configuration(
                        HttpUrlDestinationConfiguration::builder()
                            .confirmation_url(confirmation_url.as_str())
                            .build()
                            .map_err(|e| {
                                RegistryError::new(ErrorClass::Other, e.to_string())
                                    .with_api("CreateTopicRuleDestination")
                            })?,
                    )
                    .build();
                let r = self
                    .call("CreateTopicRuleDestination", || {
                        self.client
                            .create_topic_rule_destination()
                            .destination_configuration(config.clone())
                            .send()
                    })
                    .await;
                match r {
                    Ok(_) => applied(),
                    Err(e) if e.has_code(ALREADY_EXISTS) => Ok(Outcome::AlreadyInState),
                    Err(e) => Err(e),
                }
            }
            TopicRuleDestinationChange::UpdateTopicRuleDestination {
                confirmation_url,
                status,
            } => {
                let Some((_, arn)) = self.find_destination(confirmation_url).await? else {
                    return Err(RegistryError::new(
                        ErrorClass::NotFound,
                        format!("topic rule destination {confirmation_url} does not exist"),
                    )
                    .with_api("UpdateTopicRuleDestination"));
                };
                self.call("UpdateTopicRuleDestination", || {
                    self.client
                        .update_topic_rule_destination()
                        .arn(&arn)
                        .status(AwsStatus::from(status.as_str()))
                        .send()
                })
                .await?;
                applied()
            }
            TopicRuleDestinationChange::DeleteTopicRuleDestination { confirmation_url } => {
                let Some((_, arn)) = self.find_destination(confirmation_url).await? else {
                    return Ok(Outcome::AlreadyInState);
                };
                gone_ok(
                    self.call("DeleteTopicRuleDestination", || {
                        self.client.delete_topic_rule_destination().arn(&arn).send()
                    })
                    .await,
                )
            }
        }
    }
}
