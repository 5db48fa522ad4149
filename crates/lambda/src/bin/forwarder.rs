//! `iot-crr-forwarder`: the source region's Lambda function (see `iot_crr_lambda::forward`).

use iot_crr_kinesis::{Producer, ProducerOptions};
use iot_crr_lambda::{Config, forward, init_logging};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = Config::from_env()?;
    let stream = Config::require(&config.stream_name, "IOT_CRR_STREAM_NAME")?.to_owned();
    let region = Config::require(&config.stream_region, "IOT_CRR_STREAM_REGION")?;
    // Built once per container, reused by every invocation.
    let client = iot_crr_kinesis::client(region, None, None).await;
    let producer = Producer::new(
        client,
        stream,
        ProducerOptions {
            aggregate: config.aggregate,
            ..Default::default()
        },
    );
    let producer = &producer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let outcome = forward(producer, &event.payload).await?;
        Ok::<_, Error>(outcome)
    }))
    .await
}
