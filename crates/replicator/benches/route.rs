//! Decodes and routes 1,000,000 registry events on one core, as the applier's first
//! step does for every Kinesis batch: split the record (plain, or a KPL aggregate of 50
//! user records), decode the event, and group the batch's events by resource key (500
//! per batch). No I/O and no timed assertion: run with
//! `cargo bench -p iot-crr-replicator --bench route`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use iot_crr_model::ResourceKey;
use iot_crr_replicator::input::kinesis_records;

const TOTAL: usize = 1_000_000;
const BATCH: usize = 500;
const PER_AGGREGATE: usize = 50;

/// Registry events of every type, with distinct names: things (created, updated with
/// attributes), groups with a hierarchy, memberships, type associations.
fn events() -> Vec<Vec<u8>> {
    (0..TOTAL)
        .map(|i| {
            let t = format!("sensor-{i:07}");
            let g = format!("site-{:04}", i % 5000);
            let json = match i % 5 {
                0 | 1 => format!(
                    r#"{{"eventType":"THING_EVENT","eventId":"e{i}","timestamp":{},"operation":"UPDATED","accountId":"123456789012","thingId":"id-{i}","thingName":"{t}","versionNumber":{},"thingTypeName":"temperature-sensor","attributes":{{"firmware":"3.1.{}","site":"{g}","model":"TS-200"}},"topic":"$aws/events/thing/{t}/updated"}}"#,
                    1_700_000_000_000i64 + i as i64,
                    i % 7 + 1,
                    i % 40
                ),
                2 => format!(
                    r#"{{"eventType":"THING_GROUP_MEMBERSHIP_EVENT","eventId":"e{i}","timestamp":{},"operation":"ADDED","accountId":"123456789012","groupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/{g}","groupId":"g{i}","thingArn":"arn:aws:iot:us-east-1:123456789012:thing/{t}","thingId":"id-{i}","membershipId":"m{i}","topic":"$aws/events/thingGroupMembership/thingGroup/{g}/thing/{t}/added"}}"#,
                    1_700_000_000_000i64 + i as i64
                ),
                3 => format!(
                    r#"{{"eventType":"THING_GROUP_EVENT","eventId":"e{i}","timestamp":{},"operation":"UPDATED","accountId":"123456789012","thingGroupId":"g{i}","thingGroupName":"{g}","versionNumber":{},"parentGroupName":"region-1","description":"a site","rootToParentThingGroups":[{{"groupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/root","groupId":"r"}},{{"groupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/region-1","groupId":"r1"}}],"attributes":{{"country":"FR"}},"dynamicGroupMappingId":null,"topic":"$aws/events/thingGroup/{g}/updated"}}"#,
                    1_700_000_000_000i64 + i as i64,
                    i % 9 + 1
                ),
                _ => format!(
                    r#"{{"eventType":"THING_TYPE_ASSOCIATION_EVENT","eventId":"e{i}","timestamp":{},"operation":"ADDED","thingId":"id-{i}","thingName":"{t}","thingTypeName":"temperature-sensor","topic":"$aws/events/thingTypeAssociation/thing/{t}/thingType/temperature-sensor/added"}}"#,
                    1_700_000_000_000i64 + i as i64
                ),
            };
            json.into_bytes()
        })
        .collect()
}

/// Splits, decodes and groups the records of one batch; returns the keys routed.
fn route(records: &[(String, Vec<u8>)]) -> usize {
    let mut by_key: HashMap<ResourceKey, Vec<usize>> = HashMap::with_capacity(BATCH);
    let mut n = 0;
    for (seq, (pk, data)) in records.iter().enumerate() {
        let users = kinesis_records("bench", "shardId-000000000000", &seq.to_string(), pk, data)
            .expect("valid record");
        for u in users {
            let e = iot_crr_events::decode(&u.data).expect("valid event");
            for k in e.keys {
                by_key.entry(k).or_default().push(n);
            }
            n += 1;
        }
    }
    black_box(by_key.len())
}

fn run(label: &str, records: &[(String, Vec<u8>)], per_batch: usize) {
    let start = Instant::now();
    let mut keys = 0;
    for batch in records.chunks(per_batch) {
        keys += route(black_box(batch));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label:<34} {TOTAL} events in {} records in {secs:.2} s: {:.0} events/s ({keys} keys routed)",
        records.len(),
        TOTAL as f64 / secs
    );
}

fn main() {
    let events = events();
    let bytes: usize = events.iter().map(Vec::len).sum();
    println!(
        "{TOTAL} registry events, {:.0} MB of JSON",
        bytes as f64 / 1e6
    );
    let plain: Vec<(String, Vec<u8>)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("thing/sensor-{i:07}"), e.clone()))
        .collect();
    let start = Instant::now();
    let mut keys = 0;
    for e in &events {
        keys += iot_crr_events::decode(black_box(e))
            .expect("valid event")
            .keys
            .len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:<34} {TOTAL} events in {secs:.2} s: {:.0} events/s ({keys} keys)",
        "decode only (the floor)",
        TOTAL as f64 / secs
    );
    run("plain records, decode + route", &plain, BATCH);
    let aggregated: Vec<(String, Vec<u8>)> = events
        .chunks(PER_AGGREGATE)
        .map(|chunk| {
            let recs =
                iot_crr_kpl::aggregate(chunk.iter().map(|e| ("pk", None, e.as_slice())), 1 << 20)
                    .expect("aggregate");
            assert_eq!(recs.len(), 1);
            let r = recs.into_iter().next().expect("one");
            (r.partition_key, r.data)
        })
        .collect();
    run(
        "KPL (50 per record), de-agg + decode + route",
        &aggregated,
        BATCH / PER_AGGREGATE,
    );
}
