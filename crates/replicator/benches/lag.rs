//! End-to-end lag of the event path against moto on loopback: a change made in the
//! source region, its event put into a Kinesis stream, the replicator (consumer,
//! applier, keyed reconcile) applying it to the target region, and the change visible
//! there (DescribeThing polled every 5 ms). Prints p50, p90, p99 and max over 200
//! changes. No timed assertion.
//!
//! Needs a moto server: `scripts/with-moto.sh cargo bench -p iot-crr-replicator --bench lag`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use iot_crr_aws::{AwsOptions, AwsRegistry};
use iot_crr_kinesis::{Consumer, ConsumerOptions, OutRecord, Producer, ProducerOptions};
use iot_crr_model::{Change, StringMap};
use iot_crr_registry::Registry;
use iot_crr_replicator::emit::EventEmitter;
use iot_crr_replicator::{Applier, ApplierOptions, ReplicatorOptions, run_replicator};
use iot_crr_state::{MemoryStore, StateStore};
use iot_crr_testkit::sdk_config_at;

const SOURCE: &str = "us-east-1";
const TARGET: &str = "eu-west-1";
const CHANGES: usize = 200;

fn registry(endpoint: &str, region: &str) -> AwsRegistry {
    let mut opts = AwsOptions::new(region);
    opts.endpoint_url = Some(endpoint.to_owned());
    AwsRegistry::from_sdk_config(&sdk_config_at(endpoint, region), opts)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Ok(endpoint) = std::env::var("IOT_CRR_MOTO_ENDPOINT") else {
        println!(
            "IOT_CRR_MOTO_ENDPOINT is not set: run this benchmark with \
             scripts/with-moto.sh cargo bench -p iot-crr-replicator --bench lag"
        );
        return;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let stream = format!("lag-{}", std::process::id());
    let thing = format!("lag-thing-{}", std::process::id());
    let kinesis =
        iot_crr_kinesis::client_from_config(&sdk_config_at(&endpoint, SOURCE), Some(&endpoint));
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .expect("create stream");
    tokio::time::sleep(Duration::from_millis(600)).await;

    let source = Arc::new(EventEmitter::new(registry(&endpoint, SOURCE)));
    let target: Arc<dyn Registry> = Arc::new(registry(&endpoint, TARGET));
    let state: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let applier = Arc::new(Applier::new(
        Some(source.clone() as Arc<dyn Registry>),
        target,
        state.clone(),
        ApplierOptions::default(),
    ));
    let consumer = Consumer::new(
        kinesis.clone(),
        stream.clone(),
        state,
        ConsumerOptions {
            start: iot_crr_kinesis::StartPosition::TrimHorizon,
            ..Default::default()
        },
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let replicator = tokio::spawn(run_replicator(
        consumer,
        applier.clone(),
        ReplicatorOptions::default(),
        shutdown,
    ));
    let producer = Producer::new(kinesis, stream.clone(), ProducerOptions::default());
    let iot = aws_sdk_iot::Client::new(&sdk_config_at(&endpoint, TARGET));

    source
        .apply(&Change::CreateThing {
            thing_name: thing.as_str().into(),
            thing_type_name: None,
            attributes: StringMap::new(),
            billing_group_name: None,
        })
        .await
        .expect("create thing");
    let mut lags = Vec::with_capacity(CHANGES);
    for i in 0..=CHANGES {
        if i > 0 {
            let attributes: StringMap = [("seq", i.to_string())].into_iter().collect();
            source
                .apply(&Change::UpdateThing {
                    thing_name: thing.as_str().into(),
                    thing_type_name: None,
                    attributes,
                })
                .await
                .expect("update thing");
        }
        let records: Vec<OutRecord> = source
            .take_events()
            .into_iter()
            .map(|e| OutRecord::new(format!("thing/{thing}"), e))
            .collect();
        let put = Instant::now();
        producer.put(records).await.expect("put");
        let want = i.to_string();
        loop {
            let seen = iot
                .describe_thing()
                .thing_name(&thing)
                .send()
                .await
                .ok()
                .and_then(|d| {
                    d.attributes()
                        .and_then(|a| a.get("seq").cloned())
                        .or_else(|| (i == 0).then(String::new))
                });
            if seen.as_deref() == Some(want.as_str()) || (i == 0 && seen.is_some()) {
                break;
            }
            assert!(
                put.elapsed() < Duration::from_secs(60),
                "change {i} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if i > 0 {
            lags.push(put.elapsed());
        }
        // Decorrelate from the consumer's polling phase.
        tokio::time::sleep(Duration::from_millis((i as u64 * 37) % 150)).await;
    }
    let _ = stop.send(true);
    let _ = replicator.await;
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "put into Kinesis -> visible in the target, {} changes against moto on loopback: \
         p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        lags.len(),
        ms(percentile(&lags, 0.50)),
        ms(percentile(&lags, 0.90)),
        ms(percentile(&lags, 0.99)),
        ms(*lags.last().expect("lags"))
    );
}
