//! `iot-crr-reconciler`: the destination region's scheduled Lambda function, the full
//! reconcile in resumable runs (see `iot_crr_lambda::Reconciler`).

use std::sync::Arc;

use iot_crr_lambda::{
    Config, DEFAULT_TIME_BUDGET, Destination, ReadinessMetrics, Reconciler, init_logging,
};
use iot_crr_reconcile::{ReconcileOptions, RewriteSpec};
use iot_crr_replicator::pass::PassOptions;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = Config::from_env()?;
    if config.prune && config.max_delete.is_none() {
        return Err(iot_crr_lambda::ConfigError::Missing("IOT_CRR_MAX_DELETE").into());
    }
    // Built once per container, reused by every invocation.
    let destination = Destination::open(&config).await?;
    let options = PassOptions {
        reconcile: ReconcileOptions {
            prune: config.prune,
            rewrite: RewriteSpec {
                enabled: config.rewrite_arns,
                map: config.arn_map.clone(),
                strict: config.strict_arns,
                ..Default::default()
            },
            ..Default::default()
        },
        max_delete_per_pass: config.max_delete,
        pass_interval: config.pass_interval,
        ..Default::default()
    };
    let reconciler = Reconciler::new(
        destination.source,
        destination.target,
        Arc::new(destination.state),
        options,
        config.time_budget.unwrap_or(DEFAULT_TIME_BUDGET),
    )
    // The readiness metrics go to stdout, which Lambda sends to the log group.
    .with_readiness(
        config
            .readiness
            .then(|| ReadinessMetrics::stdout(config.metrics_namespace.clone())),
    );
    let reconciler = &reconciler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The payload (an EventBridge scheduled event, or anything when invoked by
        // hand) carries nothing the run needs.
        let report = reconciler.run(Some(event.context.deadline())).await?;
        Ok::<_, Error>(report)
    }))
    .await
}
