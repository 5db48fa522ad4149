//! [`AwsRegistry`]: the `aws:REGION` registry.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iot::Client;
use aws_sdk_iot::config::Region;
use aws_sdk_iot::config::retry::RetryConfig;
use aws_sdk_iot::config::timeout::TimeoutConfig;
use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use iot_crr_model::{
    Change, Kind, Name, Origin, Outcome, Related, Resource, ResourceKey, Snapshot,
};
use iot_crr_registry::{
    AuthorizationAnswer, AuthorizationQuery, Capabilities, ErrorClass, LocalBudget, RateBudget,
    ReadRequest, Registry, RegistryError, Result, RetryPolicy,
};

use crate::arn::{Arn, ArnBuilder, partition_of_region};
use crate::error::classify;
use crate::options::{AwsOptions, CertStrategy, TagMode};
use crate::rate::{Limiter, Repeat};

/// The most checks (`authInfos`) one `TestAuthorization` call takes.
pub const TEST_AUTHORIZATION_BATCH: usize = 10;

/// How many per-resource detail calls a read keeps in flight by default.
pub const DEFAULT_READ_CONCURRENCY: usize = 8;

const TAGS_UNKNOWN: u8 = 0;
const TAGS_ON: u8 = 1;
const TAGS_OFF: u8 = 2;

/// The AWS IoT registry of one region, read and written through the AWS SDK.
///
/// Every SDK call takes one call of its API from the registry's [`RateBudget`] (per-API
/// token buckets with adaptive back-off; see [`AwsRegistry::with_budget`] to share one)
/// and is retried on throttling and transient faults with
/// [`iot_crr_registry::RetryPolicy`]; the SDK's own retries are turned off so that each
/// request is counted once in [`Registry::api_calls`] and paced by the budget.
#[derive(Debug)]
pub struct AwsRegistry {
    pub(crate) client: Client,
    pub(crate) region: String,
    pub(crate) cert_strategy: CertStrategy,
    pub(crate) tag_mode: TagMode,
    tags_state: AtomicU8,
    tags_warned: AtomicBool,
    /// Held by the one tag call that probes the endpoint while `tags_state` is unknown,
    /// so that concurrent reads do not all probe.
    tags_probe: tokio::sync::Mutex<()>,
    pub(crate) limiter: Limiter,
    account: OnceLock<String>,
    partition: OnceLock<String>,
    pub(crate) read_concurrency: usize,
}

impl AwsRegistry {
    /// Connects to the AWS IoT control plane of `opts.region` with the standard AWS
    /// configuration (credentials chain, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, shared config
    /// files), overridden by `opts.profile` and `opts.endpoint_url`. No call is made:
    /// credentials are resolved by the first request.
    pub async fn connect(opts: AwsOptions) -> Result<Self, RegistryError> {
        if opts.region.trim().is_empty() {
            return Err(RegistryError::new(
                ErrorClass::Invalid,
                "no AWS region given (use aws:REGION, e.g. aws:eu-west-1)",
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(opts.region.clone()));
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let sdk = loader.load().await;
        Ok(AwsRegistry::from_sdk_config(&sdk, opts))
    }

    /// Builds the registry from an SDK configuration made by the caller (tests use it to
    /// supply static credentials or a recording HTTP client). `opts.region` and
    /// `opts.endpoint_url` override the configuration's; `opts.profile` is not used.
    pub fn from_sdk_config(sdk: &SdkConfig, opts: AwsOptions) -> Self {
        let mut conf = aws_sdk_iot::config::Builder::from(sdk)
            .region(Region::new(opts.region.clone()))
            // Retries are ours (rate::Limiter), so that every request is paced and counted.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(e) = &opts.endpoint_url {
            conf = conf.endpoint_url(e);
        }
        let client = Client::from_conf(conf.build());
        let tags_state = match opts.tags {
            TagMode::Auto => TAGS_UNKNOWN,
            TagMode::On => TAGS_ON,
            TagMode::Off => TAGS_OFF,
        };
        AwsRegistry {
            client,
            region: opts.region.clone(),
            cert_strategy: opts.cert_strategy,
            tag_mode: opts.tags,
            tags_state: AtomicU8::new(tags_state),
            tags_warned: AtomicBool::new(false),
            tags_probe: tokio::sync::Mutex::new(()),
            limiter: Limiter::new(
                LocalBudget::shared(opts.quotas),
                RetryPolicy {
                    max_attempts: opts.max_attempts.max(1),
                    ..RetryPolicy::default()
                },
            ),
            account: OnceLock::new(),
            partition: OnceLock::new(),
            read_concurrency: DEFAULT_READ_CONCURRENCY,
        }
    }

    /// Paces every call through `budget` instead of the registry's own
    /// [`LocalBudget`] (made from [`AwsOptions::quotas`]). Registries that share a
    /// budget pace together: give one budget to every registry (in this process) that
    /// calls the same account and region, never to two regions, whose quotas are
    /// separate.
    pub fn with_budget(mut self, budget: Arc<dyn RateBudget>) -> Self {
        self.limiter.set_budget(budget);
        self
    }

    /// The budget every call is paced by.
    pub fn budget(&self) -> Arc<dyn RateBudget> {
        self.limiter.budget().clone()
    }

    /// The retry policy of each call.
    pub fn retry_policy(&self) -> RetryPolicy {
        *self.limiter.policy()
    }

    /// Sets how many per-resource detail calls a read keeps in flight (at least 1).
    pub fn with_read_concurrency(mut self, n: usize) -> Self {
        self.read_concurrency = n.max(1);
        self
    }

    /// Sets the account id, when the caller knows it, so that ARNs can be built without
    /// a look-up. An id seen in an ARN later does not replace it.
    pub fn with_account_id(self, account_id: impl Into<String>) -> Self {
        let _ = self.account.set(account_id.into());
        self
    }

    /// The region and, once any ARN has been seen, the account of this registry.
    pub fn origin(&self) -> Origin {
        Origin {
            region: Some(self.region.clone()),
            account_id: self.account.get().cloned(),
        }
    }

    /// The SDK client (for callers that need an operation this crate does not wrap).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Throttled answers per API operation so far, sorted by name.
    pub fn throttles(&self) -> Vec<(String, u64)> {
        self.limiter.throttles()
    }

    /// Whether tags are read and written right now (`TagMode::Auto` turns them off when
    /// the endpoint turns out not to implement the tag API).
    pub fn tags_enabled(&self) -> bool {
        self.tags_state.load(Ordering::Relaxed) != TAGS_OFF
    }

    /// While it is unknown whether the endpoint has the tag API (auto mode, nothing
    /// tried yet), the guard that lets one tag call probe at a time; `None` once known.
    pub(crate) async fn tags_probe(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.tags_state.load(Ordering::Relaxed) != TAGS_UNKNOWN {
            return None;
        }
        let guard = self.tags_probe.lock().await;
        (self.tags_state.load(Ordering::Relaxed) == TAGS_UNKNOWN).then_some(guard)
    }

    /// Records the account (and partition) named by an ARN, the first one seen wins.
    pub(crate) fn note_arn(&self, arn: &str) {
        if self.account.get().is_some() && self.partition.get().is_some() {
            return;
        }
        if let Some(a) = Arn::parse(arn)
            && let Some(account) = a.account_id()
        {
            let _ = self.account.set(account.to_string());
            let _ = self.partition.set(a.partition.to_string());
        }
    }

    /// AWS IoT's own decision on the checks of one connection (`TestAuthorization`, at
    /// most [`TEST_AUTHORIZATION_BATCH`] checks a call, so a query makes one call per
    /// ten). The certificate's ARN needs the account: when no ARN has been seen yet, a
    /// `DescribeCertificate` of the certificate tells it.
    pub async fn test_authorization_of(
        &self,
        query: &AuthorizationQuery,
    ) -> Result<Vec<AuthorizationAnswer>> {
        use aws_sdk_iot::types::{ActionType, AuthDecision, AuthInfo};
        // Every check is one TestAuthorization takes, or nothing is sent.
        let mut infos = Vec::with_capacity(query.checks.len());
        for (action, resource) in &query.checks {
            let action_type = match action.to_ascii_lowercase().as_str() {
                "iot:connect" => ActionType::Connect,
                "iot:publish" => ActionType::Publish,
                "iot:subscribe" => ActionType::Subscribe,
                "iot:receive" => ActionType::Receive,
                _ => {
                    return Err(RegistryError::new(
                        ErrorClass::Invalid,
                        format!(
                            "TestAuthorization cannot test {action} (only iot:Connect, \
                             iot:Publish, iot:Subscribe and iot:Receive)"
                        ),
                    ));
                }
            };
            let info = AuthInfo::builder()
                .action_type(action_type)
                .resources(resource.clone())
                .build()
                .map_err(|e| RegistryError::new(ErrorClass::Other, e.to_string()))?;
            infos.push(info);
        }
        if self.arns().is_none() {
            self.describe_certificate(&query.certificate_id).await?;
        }
        let Some(arns) = self.arns() else {
            return Err(RegistryError::new(
                ErrorClass::NotFound,
                format!(
                    "TestAuthorization needs the certificate's ARN, and {} does not know its \
                     account (certificate {} not found)",
                    self.region, query.certificate_id
                ),
            ));
        };
        let principal = arns.arn(Kind::Certificate, &query.certificate_id);
        let mut answers = Vec::with_capacity(query.checks.len());
        for chunk in infos.chunks(TEST_AUTHORIZATION_BATCH) {
            let out = self
                .call("TestAuthorization", || {
                    self.client
                        .test_authorization()
                        .principal(principal.clone())
                        .client_id(query.client_id.clone())
                        .set_auth_infos(Some(chunk.to_vec()))
                        .send()
                })
                .await?;
            let results = out.auth_results();
            if results.len() != chunk.len() {
                return Err(RegistryError::new(
                    ErrorClass::Other,
                    format!(
                        "TestAuthorization answered {} result(s) for {} check(s)",
                        results.len(),
                        chunk.len()
                    ),
                )
                .with_api("TestAuthorization"));
            }
            for r in results {
                answers.push(match r.auth_decision() {
                    Some(AuthDecision::Allowed) => AuthorizationAnswer::Allowed,
                    Some(AuthDecision::ExplicitDeny) => AuthorizationAnswer::ExplicitDeny,
                    _ => AuthorizationAnswer::ImplicitDeny,
                });
            }
        }
        Ok(answers)
    }

    /// The ARN builder, once the account is known.
    pub(crate) fn arns(&self) -> Option<ArnBuilder> {
        let account = self.account.get()?;
        Some(ArnBuilder {
            partition: self
                .partition
                .get()
                .cloned()
                .unwrap_or_else(|| partition_of_region(&self.region).to_string()),
            region: self.region.clone(),
            account: account.clone(),
        })
    }

    /// Tag reads found the tag API missing: in auto mode, turn tags off (with one
    /// warning) and report `true`; otherwise `false` (the error stands).
    pub(crate) fn tags_unsupported(&self, e: &RegistryError) -> bool {
        if self.tag_mode != TagMode::Auto || e.class != ErrorClass::Unsupported {
            return false;
        }
        self.tags_state.store(TAGS_OFF, Ordering::Relaxed);
        if !self.tags_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                region = %self.region,
                "the endpoint does not implement the tag API ({e}); running without tags \
                 (use --tags off to silence this, --tags on to make it an error)"
            );
        }
        true
    }

    /// A tag call worked: in auto mode, tags are known to be available.
    pub(crate) fn tags_work(&self) {
        let _ = self.tags_state.compare_exchange(
            TAGS_UNKNOWN,
            TAGS_ON,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Makes one logical SDK call through the rate limiter with retries, classifying
    /// errors. `f` builds and sends the request; it is called once per attempt. For
    /// calls that are safe to send again after a lost answer.
    pub(crate) async fn call<T, E, F, Fut>(&self, api: &'static str, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.call_with(api, Repeat::Safe, f).await
    }

    /// [`AwsRegistry::call`] for a call that must not be sent again after an error
    /// that may have been applied: such an error is returned for the caller to find
    /// out what happened (throttled answers are still retried).
    pub(crate) async fn call_once<T, E, F, Fut>(&self, api: &'static str, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.call_with(api, Repeat::NotAfterMaybeApplied, f).await
    }

    async fn call_with<T, E, F, Fut>(
        &self,
        api: &'static str,
        repeat: Repeat,
        mut f: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.limiter
            .run(api, repeat, || {
                let fut = f();
                async move { fut.await.map_err(|e| classify(&self.region, api, e)) }
            })
            .await
    }
}

#[async_trait]
impl Registry for AwsRegistry {
    fn location(&self) -> String {
        format!("aws:{}", self.region)
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        let mut s = self.read_all(request).await?;
        s.origin = self.origin();
        Ok(s)
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        match key.kind {
            Kind::ThingType => self.read_thing_type(&key.name).await,
            Kind::BillingGroup => self.read_billing_group(&key.name).await,
            Kind::RoleAlias => self.read_role_alias(&key.name).await,
            Kind::CaCertificate => self.read_ca_certificate(&key.name).await,
            Kind::Authorizer => self.read_authorizer(&key.name).await,
            Kind::TopicRule => Box::pin(self.read_topic_rule(&key.name)).await,
            Kind::TopicRuleDestination => {
                Box::pin(self.read_topic_rule_destination(&key.name)).await
            }
            Kind::ProvisioningTemplate => {
                Box::pin(self.read_provisioning_template(&key.name)).await
            }
            Kind::DomainConfiguration => Box::pin(self.read_domain_configuration(&key.name)).await,
            Kind::IndexingConfiguration => self.read_indexing_resource(&key.name).await,
            Kind::EventConfigurations => self.read_event_resource(&key.name).await,
            Kind::ThingGroup => self.read_thing_group(&key.name).await,
            Kind::Policy => self.read_policy(&key.name).await,
            Kind::Certificate => self.read_certificate(&key.name).await,
            Kind::Thing => self.read_thing(&key.name).await,
        }
    }

    async fn list_keys(
        &self,
        kind: Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<iot_crr_registry::KeyPage> {
        self.key_page(kind, cursor, limit).await
    }

    async fn certificate_pem(&self, id: &str) -> Result<Option<(String, Option<Name>)>> {
        // One DescribeCertificate, without the policy list read_resource adds.
        Ok(self
            .describe_certificate(id)
            .await?
            .map(|c| (c.certificate_pem, c.ca_certificate_id)))
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        self.apply_change(change).await.map_err(|mut e| {
            if e.api.is_none() {
                e.api = Some(change.api().to_string());
            }
            e
        })
    }

    fn api_calls(&self) -> Vec<(String, u64)> {
        self.limiter.calls()
    }

    fn throttles(&self) -> Vec<(String, u64)> {
        AwsRegistry::throttles(self)
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        self.related_keys(query).await
    }

    async fn test_authorization(
        &self,
        query: &AuthorizationQuery,
    ) -> Result<Vec<AuthorizationAnswer>> {
        self.test_authorization_of(query).await
    }

    fn origin(&self) -> Origin {
        AwsRegistry::origin(self)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            tags: self.tags_enabled(),
            retries_internally: true,
        }
    }
}
