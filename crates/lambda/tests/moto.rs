//! The handlers called directly against moto (IoT in two regions, Kinesis, DynamoDB
//! and SQS in one server): the forwarder's records read back from the stream
//! de-aggregate to its inputs; the applier, with the DynamoDB state store and the SQS
//! dead-letter queue the templates create, replicates a batch read from that stream
//! and sends a poison record to the queue with its data and reason; the reconciler,
//! one page per invocation and a new container each time, resumes from its progress in
//! DynamoDB until the pass is done and the regions are equal.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use std::sync::Arc;
use std::time::Duration;

use iot_crr_kinesis::{Producer, ProducerOptions};
use iot_crr_lambda::{SqsDeadLetters, SqsSink, apply_kinesis, forward};
use iot_crr_model::{Kind, ResourceKey};
use iot_crr_registry::Registry;
use iot_crr_replicator::{Applier, ApplierOptions};
use iot_crr_state::StateStore;
use iot_crr_state_dynamodb::DynamoStore;

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarder_then_applier_replicate_through_kinesis_dynamodb_and_sqs() {
    // The source region changes (through the SDK); the events AWS would publish.
    let (source, thing, events) = source_events("lambda", ("site", "lyon")).await;
    assert_eq!(events.len(), 3);

    // The forwarder: one invocation per event (as the IoT rule invokes it), and one
    // with an array, KPL-aggregated, into the destination's stream.
    let (kinesis, stream) = new_stream("lambda").await;
    let producer = Producer::new(
        kinesis.clone(),
        stream.clone(),
        ProducerOptions {
            aggregate: true,
            ..Default::default()
        },
    );
    for e in &events[..2] {
        let out = forward(&producer, e).await.unwrap();
        assert_eq!((out.events, out.undecodable), (1, 0));
    }
    let poison =
        serde_json::json!({"eventType": "NOT_A_REGISTRY_EVENT", "eventId": "x", "timestamp": 1});
    let out = forward(
        &producer,
        &serde_json::json!([events[2].clone(), poison.clone()]),
    )
    .await
    .unwrap();
    assert_eq!((out.events, out.undecodable), (2, 1));
    assert!(
        forward(&producer, &serde_json::json!("text"))
            .await
            .is_err()
    );

    // What the stream holds de-aggregates to the forwarder's inputs, in order.
    let batch = read_as_lambda_event(&kinesis, &stream, TARGET).await;
    let mut expected = events.clone();
    expected.push(poison);
    assert_eq!(user_records(&batch), expected);

    // The applier, with the DynamoDB state and the SQS dead-letter queue.
    let (dynamo, table) = new_state_table(TARGET, "lambda").await;
    let (sqs, queue) = new_queue("lambda").await;
    let store = Arc::new(DynamoStore::new(dynamo, table));
    let state: Arc<dyn StateStore> = Arc::new(SqsDeadLetters::new(
        store.clone(),
        Arc::new(SqsSink::new(sqs.clone(), queue.clone())),
    ));
    let applier = Applier::new(
        Some(source.clone() as Arc<dyn Registry>),
        Arc::new(registry(TARGET)) as Arc<dyn Registry>,
        state,
        ApplierOptions::default(),
    );
    let response = apply_kinesis(&applier, &batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // Replicated, with the thing's version recorded in DynamoDB.
    let target = registry(TARGET);
    let key = ResourceKey::new(Kind::Thing, thing.as_str());
    assert_eq!(
        target.read_resource(&key).await.unwrap(),
        source.inner().read_resource(&key).await.unwrap()
    );
    assert_eq!(
        store.last_applied(&key).await.unwrap().unwrap().version,
        Some(1)
    );
    // The poison event is in the queue with its data and reason.
    let msgs = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<serde_json::Value> = msgs
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(
        bodies[0]["reason"]
            .as_str()
            .unwrap()
            .contains("NOT_A_REGISTRY_EVENT"),
        "{}",
        bodies[0]
    );
    let data = aws_smithy_types::base64::decode(bodies[0]["dataBase64"].as_str().unwrap()).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&data).unwrap()["eventType"],
        "NOT_A_REGISTRY_EVENT"
    );

    // Delivered again (at least once): handled again, the thing's version unchanged.
    let response = apply_kinesis(&applier, &batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        store.last_applied(&key).await.unwrap().unwrap().version,
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_resumes_across_invocations_from_dynamodb() {
    use iot_crr_lambda::Reconciler;
    use iot_crr_reconcile::{Progress, ReconcileOptions, compare, sync};
    use iot_crr_replicator::pass::{PassOptions, PassProgress, Stop, progress_name};

    // Regions of their own: the pass reads the whole source region.
    const PASS_SOURCE: &str = "sa-east-1";
    const PASS_TARGET: &str = "ap-northeast-2";
    let mut spec = iot_crr_fleet::FleetSpec::new(8);
    spec.region = PASS_SOURCE.into();
    let fleet = iot_crr_registry::MemoryRegistry::with_snapshot(iot_crr_fleet::generate(&spec));
    let source: Arc<dyn Registry> = Arc::new(registry(PASS_SOURCE));
    let seeded = sync(
        &fleet,
        source.as_ref(),
        &ReconcileOptions::default(),
        &Default::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_eq!(seeded.report.map_or(0, |r| r.counts.failed), 0);
    let target: Arc<dyn Registry> = Arc::new(registry(PASS_TARGET));
    let before = compare(
        source.as_ref(),
        target.as_ref(),
        &ReconcileOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(
        before.plan.changes.len() > 20,
        "{}",
        before.plan.changes.len()
    );

    let (dynamo, table) = new_state_table(PASS_TARGET, "reconciler").await;
    let options = PassOptions {
        page_size: 3,
        pages_per_run: Some(1),
        ..Default::default()
    };
    let name = progress_name(source.as_ref(), target.as_ref());
    let mut invocations = 0;
    let mut stages = std::collections::BTreeSet::new();
    let finished = loop {
        invocations += 1;
        assert!(invocations < 100, "the pass does not finish");
        // A new container each time: nothing survives but the table.
        let state: Arc<dyn StateStore> = Arc::new(DynamoStore::new(dynamo.clone(), table.clone()));
        let reconciler = Reconciler::new(
            Arc::new(registry(PASS_SOURCE)),
            Arc::new(registry(PASS_TARGET)),
            state.clone(),
            options.clone(),
            Duration::from_secs(600),
        );
        let deadline = std::time::SystemTime::now() + Duration::from_secs(900);
        let report = reconciler.run(Some(deadline)).await.unwrap().segment;
        let saved: PassProgress =
            serde_json::from_str(&state.get_progress(&name).await.unwrap().unwrap().value).unwrap();
        assert_eq!(saved, report.progress);
        stages.insert(saved.stage.clone());
        if let Some(done) = report.finished_pass {
            assert_eq!(report.stopped, Stop::Finished);
            break done;
        }
        assert_eq!((report.stopped, report.pages), (Stop::PageLimit, 1));
        assert_eq!(saved.pages, invocations);
    };
    assert!(invocations > 5, "{invocations}");
    assert!(stages.len() >= 4, "{stages:?}");
    assert_eq!(finished.runs, invocations);
    assert_eq!(finished.failed, 0, "{finished:?}");
    assert!(
        finished.applied >= before.plan.changes.len() as u64 / 2,
        "{finished:?}"
    );
    let after = compare(
        source.as_ref(),
        target.as_ref(),
        &ReconcileOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert!(
        after.plan.changes.is_empty(),
        "{:?}",
        after
            .plan
            .changes
            .iter()
            .map(|c| c.change.api())
            .collect::<Vec<_>>()
    );
}
