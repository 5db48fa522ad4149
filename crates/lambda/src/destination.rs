//! What the destination region's handlers (applier, reconciler) open once per container.

use std::sync::Arc;

use iot_crr_reconcile::{BackendOptions, Endpoint, ReconcileError, Role, open};
use iot_crr_registry::Registry;
use iot_crr_state_dynamodb::DynamoStore;

use crate::{Config, ConfigError};

/// Why the destination's clients could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The environment is incomplete or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A registry location could not be opened.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

/// The source region's registry, this region's registry and the DynamoDB state table,
/// from `IOT_CRR_SOURCE_REGION`, `AWS_REGION`, `IOT_CRR_STATE_TABLE` and
/// `IOT_CRR_CERT_STRATEGY`.
pub struct Destination {
    /// The registry replicated from.
    pub source: Arc<dyn Registry>,
    /// This region's registry.
    pub target: Arc<dyn Registry>,
    /// The state table.
    pub state: DynamoStore,
    /// This region (`AWS_REGION`).
    pub region: String,
}

impl Destination {
    /// Opens the clients. No call is made yet, except with `IOT_CRR_QUOTAS=live`: one
    /// `ListServiceQuotas` per region, whose outcome is logged (the defaults stay when
    /// it is refused).
    pub async fn open(config: &Config) -> Result<Self, OpenError> {
        let source_region = Config::require(&config.source_region, "IOT_CRR_SOURCE_REGION")?;
        let table = Config::require(&config.state_table, "IOT_CRR_STATE_TABLE")?;
        let region = std::env::var("AWS_REGION").map_err(|_| ConfigError::Missing("AWS_REGION"))?;
        let registry = |region: &str, role| {
            let location = format!("aws:{region}");
            let mut backend = BackendOptions {
                cert_strategy: config.cert_strategy,
                ..Default::default()
            };
            let region = region.to_string();
            async move {
                if config.live_quotas {
                    let live =
                        iot_crr_aws::live_quotas(&iot_crr_aws::AwsOptions::new(region)).await;
                    let summary = live.summary(&location);
                    if live.rates.is_empty() {
                        tracing::warn!("{summary}");
                    } else {
                        tracing::info!("{summary}");
                    }
                    live.apply_to(&mut backend.quotas);
                }
                open(&Endpoint::parse(&location)?, role, &backend).await
            }
        };
        Ok(Destination {
            source: registry(source_region, Role::Source).await?,
            target: registry(&region, Role::Target).await?,
            state: DynamoStore::new(
                iot_crr_state_dynamodb::connect_client(Some(&region), None).await,
                table,
            ),
            region,
        })
    }
}
