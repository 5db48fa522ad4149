//! `iot-crr-applier`: the destination region's Kinesis-triggered Lambda function (see
//! `iot_crr_lambda::apply_kinesis`).

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use iot_crr_lambda::{Config, Destination, SqsDeadLetters, SqsSink, apply_kinesis, init_logging};
use iot_crr_reconcile::{ReconcileOptions, RewriteSpec};
use iot_crr_replicator::{Applier, ApplierOptions};
use iot_crr_state::StateStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = Config::from_env()?;
    let queue = Config::require(
        &config.dead_letter_queue_url,
        "IOT_CRR_DEAD_LETTER_QUEUE_URL",
    )?;
    // Built once per container, reused by every invocation.
    let destination = Destination::open(&config).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sink = SqsSink::new(aws_sdk_sqs::Client::new(&sdk), queue);
    let state: Arc<dyn StateStore> = Arc::new(SqsDeadLetters::new(
        Arc::new(destination.state),
        Arc::new(sink),
    ));
    let options = ApplierOptions {
        reconcile: ReconcileOptions {
            rewrite: RewriteSpec {
                enabled: config.rewrite_arns,
                map: config.arn_map.clone(),
                strict: config.strict_arns,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let applier = Applier::new(Some(destination.source), destination.target, state, options);
    let applier = &applier;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<KinesisEvent>| async move {
            Ok::<_, Error>(apply_kinesis(applier, &event.payload).await)
        },
    ))
    .await
}
