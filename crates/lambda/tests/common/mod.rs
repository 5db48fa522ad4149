//! What the moto tests of the handlers share: the moto endpoint, SDK configurations
//! with fake credentials, registries, unique names, and a stream's records shaped as
//! the Lambda payload of a Kinesis event source mapping.

#![allow(dead_code)]

use aws_lambda_events::event::kinesis::KinesisEvent;
use iot_crr_aws::{AwsOptions, AwsRegistry};
use iot_crr_kinesis::aws_sdk_kinesis::types::ShardIteratorType;
pub use iot_crr_testkit::{moto_endpoint as endpoint, moto_sdk_config as sdk_config};

/// The source region of the handler tests.
pub const SOURCE: &str = "us-east-1";
/// The destination region of the handler tests.
pub const TARGET: &str = "eu-west-1";

pub fn registry(region: &str) -> AwsRegistry {
    let mut opts = AwsOptions::new(region);
    opts.endpoint_url = Some(endpoint());
    AwsRegistry::from_sdk_config(&sdk_config(region), opts)
}

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{n}")
}

/// Reads every record of a one-shard stream, as the event source mapping would, and
/// shapes them as the Lambda payload it would deliver.
pub async fn read_as_lambda_event(
    kinesis: &iot_crr_kinesis::aws_sdk_kinesis::Client,
    stream: &str,
    region: &str,
) -> KinesisEvent {
    let shards = kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap();
    let shard = shards.shards()[0].shard_id().to_owned();
    let it = kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .unwrap()
        .to_owned();
    let got = kinesis
        .get_records()
        .shard_iterator(it)
        .send()
        .await
        .unwrap();
    let records: Vec<serde_json::Value> = got
        .records()
        .iter()
        .map(|r| {
            let seq = r.sequence_number();
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key(),
                    "sequenceNumber": seq,
                    "data": aws_smithy_types::base64::encode(r.data().as_ref()),
                    "approximateArrivalTimestamp": 1_764_000_000.0
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{shard}:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/applier",
                "awsRegion": region,
                "eventSourceARN": format!("arn:aws:kinesis:{region}:123456789012:stream/{stream}")
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// Creates a thing group and a thing in it in `SOURCE` (through the SDK), and returns
/// the source, the thing's name and the three registry events AWS would publish.
pub async fn source_events(
    prefix: &str,
    attribute: (&str, &str),
) -> (
    std::sync::Arc<iot_crr_replicator::emit::EventEmitter<AwsRegistry>>,
    String,
    Vec<serde_json::Value>,
) {
    use iot_crr_model::Change;
    use iot_crr_registry::Registry;

    let source = std::sync::Arc::new(iot_crr_replicator::emit::EventEmitter::new(registry(
        SOURCE,
    )));
    let thing = unique(&format!("{prefix}-thing"));
    let group = unique(&format!("{prefix}-group"));
    for c in [
        Change::CreateThingGroup {
            thing_group: iot_crr_model::ThingGroup {
                thing_group_name: group.as_str().into(),
                ..Default::default()
            },
        },
        Change::CreateThing {
            thing_name: thing.as_str().into(),
            thing_type_name: None,
            attributes: [attribute].into_iter().collect(),
            billing_group_name: None,
        },
        Change::AddThingToThingGroup {
            thing_name: thing.as_str().into(),
            thing_group_name: group.as_str().into(),
        },
    ] {
        source.apply(&c).await.unwrap();
    }
    let events = source
        .take_events()
        .iter()
        .map(|e| serde_json::from_slice(e).unwrap())
        .collect();
    (source, thing, events)
}

/// A new one-shard stream in `TARGET`, with a client.
pub async fn new_stream(prefix: &str) -> (iot_crr_kinesis::aws_sdk_kinesis::Client, String) {
    let kinesis = iot_crr_kinesis::client_from_config(&sdk_config(TARGET), Some(&endpoint()));
    let stream = unique(&format!("{prefix}-stream"));
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    (kinesis, stream)
}

/// The user records (JSON) of a Kinesis event's records, de-aggregated, in order.
pub fn user_records(batch: &KinesisEvent) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in &batch.records {
        for u in iot_crr_kpl::deaggregate(&r.kinesis.data.0, &r.kinesis.partition_key).unwrap() {
            out.push(serde_json::from_slice(&u.data).unwrap());
        }
    }
    out
}

/// A new state table in `region`, with a client.
pub async fn new_state_table(
    region: &str,
    prefix: &str,
) -> (iot_crr_state_dynamodb::aws_sdk_dynamodb::Client, String) {
    let dynamo = iot_crr_state_dynamodb::client_from_config(&sdk_config(region), Some(&endpoint()));
    let table = unique(&format!("{prefix}-state"));
    iot_crr_state_dynamodb::create_table(&dynamo, &table)
        .await
        .unwrap();
    (dynamo, table)
}

/// A new SQS queue in `TARGET`: the client and the queue's URL.
pub async fn new_queue(prefix: &str) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(TARGET));
    let queue = sqs
        .create_queue()
        .queue_name(unique(&format!("{prefix}-dlq")))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    (sqs, queue)
}
