//! `iot-crr-applier`: the destination region's Kinesis-triggered Lambda function (see
//! `iot_crr_lambda::apply_kinesis`).

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use iot_crr_lambda::{Config, SqsDeadLetters, SqsSink, apply_kinesis, init_logging};
use iot_crr_reconcile::{BackendOptions, Endpoint, ReconcileOptions, RewriteSpec, Role, open};
use iot_crr_replicator::{Applier, ApplierOptions};
use iot_crr_state::StateStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = Config::from_env()?;
    let source_region = Config::require(&config.source_region, "IOT_CRR_SOURCE_REGION")?;
    let table = Config::require(&config.state_table, "IOT_CRR_STATE_TABLE")?;
    let queue = Config::require(
        &config.dead_letter_queue_url,
        "IOT_CRR_DEAD_LETTER_QUEUE_URL",
    )?;
    let own_region = std::env::var("AWS_REGION")
        .map_err(|_| iot_crr_lambda::ConfigError::Missing("AWS_REGION"))?;

    // Built once per container, reused by every invocation.
    let backend = BackendOptions {
        cert_strategy: config.cert_strategy,
        ..Default::default()
    };
    let source = open(
        &Endpoint::parse(&format!("aws:{source_region}"))?,
        Role::Source,
        &backend,
    )
    .await?;
    let target = open(
        &Endpoint::parse(&format!("aws:{own_region}"))?,
        Role::Target,
        &backend,
    )
    .await?;
    let dynamo = iot_crr_state_dynamodb::DynamoStore::new(
        iot_crr_state_dynamodb::connect_client(Some(&own_region), None).await,
        table,
    );
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sink = SqsSink::new(aws_sdk_sqs::Client::new(&sdk), queue);
    let state: Arc<dyn StateStore> =
        Arc::new(SqsDeadLetters::new(Arc::new(dynamo), Arc::new(sink)));
    let options = ApplierOptions {
        reconcile: ReconcileOptions {
            rewrite: RewriteSpec {
                enabled: config.rewrite_arns,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let applier = Applier::new(Some(source), target, state, options);
    let applier = &applier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, Error>(apply_kinesis(applier, &event.payload).await)
        },
    ))
    .await
}
