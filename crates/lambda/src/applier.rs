//! The applier: a Kinesis event source batch applied to the destination registry.

use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use iot_crr_replicator::input::kinesis_records;
use iot_crr_replicator::{Applier, InRecord};

/// The stream name of an event source ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`).
fn stream_name(arn: Option<&str>) -> &str {
    arn.and_then(|a| a.rsplit_once(":stream/").map(|(_, n)| n))
        .unwrap_or("stream")
}

/// The shard of a record's `eventID` (`shardId-000000000000:SEQUENCE`).
fn shard_id(event_id: Option<&str>) -> &str {
    event_id
        .and_then(|e| e.split_once(':').map(|(s, _)| s))
        .unwrap_or("shard")
}

/// The events of one Kinesis record; a record that cannot be de-aggregated is sent to
/// the dead letters here (an error means that could not be done: retry it).
async fn events_of(applier: &Applier, r: &KinesisEventRecord) -> Result<Vec<InRecord>, String> {
    let stream = stream_name(r.event_source_arn.as_deref());
    let shard = shard_id(r.event_id.as_deref());
    let k = &r.kinesis;
    let seq = k.sequence_number.as_str();
    let pk = k.partition_key.as_str();
    match kinesis_records(stream, shard, seq, pk, &k.data.0) {
        Ok(events) => Ok(events),
        Err(bad) => {
            applier
                .dead_letter_record(bad)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Vec::new())
        }
    }
}

fn failure(r: &KinesisEventRecord) -> KinesisEventResponse {
    KinesisEventResponse {
        batch_item_failures: vec![KinesisBatchItemFailure {
            item_identifier: Some(r.kinesis.sequence_number.clone()),
        }],
    }
}

/// Everything handled.
fn success() -> KinesisEventResponse {
    KinesisEventResponse {
        batch_item_failures: Vec::new(),
    }
}

/// Applies a Kinesis batch. The whole batch is applied at once (its resources in one
/// plan, parents first); when that meets a fault that retrying may cure, the records
/// are applied again one by one, in order, and the response names the first one that
/// still fails: Lambda retries it and what follows it in the shard, and only that.
/// Poison records are dead letters (see [`crate::SqsDeadLetters`]) and count as
/// handled. The response is empty when everything was handled.
pub async fn apply_kinesis(applier: &Applier, event: &KinesisEvent) -> KinesisEventResponse {
    let mut per_record = Vec::with_capacity(event.records.len());
    for r in &event.records {
        match events_of(applier, r).await {
            Ok(events) => per_record.push(events),
            Err(e) => {
                tracing::error!(sequence = %r.kinesis.sequence_number, "cannot dead-letter a bad record: {e}");
                // Nothing after it may be applied before it: retry from here.
                return match event.records.first() {
                    Some(first) if per_record.is_empty() => failure(first),
                    _ => apply_in_order(applier, &event.records[..per_record.len()], &per_record)
                        .await
                        .unwrap_or_else(|| failure(r)),
                };
            }
        }
    }
    let all: Vec<InRecord> = per_record.iter().flatten().cloned().collect();
    match applier.apply_batch(&all).await {
        Ok(out) => {
            tracing::info!(
                records = event.records.len(),
                events = out.received,
                applied = out.applied,
                skipped = out.stale,
                dead_lettered = out.dead_lettered,
                writes = out.writes,
                "batch applied"
            );
            success()
        }
        Err(e) => {
            tracing::warn!("batch failed ({e}); applying record by record");
            apply_in_order(applier, &event.records, &per_record)
                .await
                .unwrap_or_else(success)
        }
    }
}

/// Applies the records one at a time; `Some(failure)` at the first that fails.
async fn apply_in_order(
    applier: &Applier,
    records: &[KinesisEventRecord],
    events: &[Vec<InRecord>],
) -> Option<KinesisEventResponse> {
    for (r, ev) in records.iter().zip(events) {
        if ev.is_empty() {
            continue;
        }
        if let Err(e) = applier.apply_batch(ev).await {
            tracing::warn!(sequence = %r.kinesis.sequence_number, "record failed: {e}");
            return Some(failure(r));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_arns_and_ids() {
        assert_eq!(
            stream_name(Some(
                "arn:aws:kinesis:eu-west-1:123456789012:stream/iot-crr-events"
            )),
            "iot-crr-events"
        );
        assert_eq!(stream_name(None), "stream");
        assert_eq!(
            shard_id(Some("shardId-000000000003:4959")),
            "shardId-000000000003"
        );
    }
}
