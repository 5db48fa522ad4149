//! The applier handler called directly with real-shaped Kinesis event source payloads
//! (`LambdaEvent` payloads as Lambda delivers them), on in-memory registries: a batch
//! replicates, a poison record goes to the dead-letter sink with its data and reason,
//! and a retryable failure names exactly the first record that failed.

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use iot_crr_lambda::{MemorySink, SqsDeadLetters, apply_kinesis};
use iot_crr_model::{Change, ThingType};
use iot_crr_registry::{ErrorClass, Fault, MemoryRegistry, ReadRequest, Registry, RetryPolicy};
use iot_crr_replicator::emit::EventEmitter;
use iot_crr_replicator::{Applier, ApplierOptions};
use iot_crr_state::{MemoryStore, StateStore};

/// A Kinesis event source payload, one record per data item, as Lambda sends it.
fn kinesis_event(items: &[Vec<u8>]) -> KinesisEvent {
    let records: Vec<serde_json::Value> = items
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let seq = format!("4956816737333333333333333333333333333333333333333333{i:04}");
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": seq,
                    "data": aws_smithy_types::base64::encode(data),
                    "approximateArrivalTimestamp": 1_764_000_000.5
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/applier",
                "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/iot-crr-events"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

struct World {
    source: Arc<EventEmitter<MemoryRegistry>>,
    target: Arc<MemoryRegistry>,
    sink: Arc<MemorySink>,
    applier: Applier,
}

fn world() -> World {
    let source = Arc::new(EventEmitter::new(MemoryRegistry::new()));
    let target = Arc::new(MemoryRegistry::new());
    let sink = Arc::new(MemorySink::default());
    let state: Arc<dyn StateStore> = Arc::new(SqsDeadLetters::new(
        Arc::new(MemoryStore::new()),
        sink.clone(),
    ));
    let mut options = ApplierOptions::default();
    options.apply.retry = RetryPolicy::none();
    let applier = Applier::new(
        Some(source.clone() as Arc<dyn Registry>),
        target.clone() as Arc<dyn Registry>,
        state,
        options,
    );
    World {
        source,
        target,
        sink,
        applier,
    }
}

fn create_thing(name: &str, ty: Option<&str>) -> Change {
    Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: ty.map(Into::into),
        attributes: Default::default(),
        billing_group_name: None,
    }
}

#[tokio::test]
async fn a_batch_replicates_and_poison_is_dead_lettered_with_its_data() {
    let w = world();
    w.source.apply(&create_thing("a", None)).await.unwrap();
    w.source.apply(&create_thing("b", None)).await.unwrap();
    let mut items = w.source.take_events();
    items.insert(1, b"{\"not\": \"an event\"}".to_vec());
    // A KPL record whose checksum is wrong.
    let agg = iot_crr_kpl::aggregate([("k", None, &b"{}"[..]), ("k", None, &b"{}"[..])], 1 << 20)
        .unwrap();
    let mut bad = agg[0].data.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    items.push(bad.clone());
    let response = apply_kinesis(&w.applier, &kinesis_event(&items)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let source = w.source.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(w.target.snapshot(), source);
    let letters = w.sink.0.lock().unwrap().clone();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let not_event = letters
        .iter()
        .find(|l| l.reason.contains("cannot decode"))
        .unwrap();
    assert_eq!(not_event.raw, b"{\"not\": \"an event\"}");
    assert!(
        not_event
            .source
            .starts_with("kinesis:iot-crr-events/shardId-000000000000/")
    );
    let kpl = letters.iter().find(|l| l.reason.contains("KPL")).unwrap();
    assert_eq!(kpl.raw, bad);
}

#[tokio::test]
async fn a_retryable_failure_names_exactly_the_first_record_that_failed() {
    let w = world();
    w.source
        .apply(&Change::CreateThingType {
            thing_type: ThingType {
                thing_type_name: "Pump".into(),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    w.source.apply(&create_thing("pump-1", None)).await.unwrap();
    w.source.apply(&create_thing("pump-2", None)).await.unwrap();
    let items = w.source.take_events();
    assert_eq!(items.len(), 3);
    // CreateThing is throttled three times: the batch meets two (both things), the
    // record-by-record retry meets the third at the second record.
    for _ in 0..3 {
        w.target
            .inject(Fault::fail(Some("CreateThing"), ErrorClass::Throttled));
    }
    let event = kinesis_event(&items);
    let response = apply_kinesis(&w.applier, &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(
        failed,
        vec![event.records[1].kinesis.sequence_number.clone()]
    );
    // The record before it was applied; nothing was dead-lettered.
    assert!(w.sink.0.lock().unwrap().is_empty());
    assert_eq!(w.target.snapshot().counts().total(), 1);
    // Lambda retries from the failed record: everything lands.
    let retry = kinesis_event(&items[1..]);
    let response = apply_kinesis(&w.applier, &retry).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let source = w.source.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(w.target.snapshot(), source);
}
