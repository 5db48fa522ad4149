//! The forwarder: registry and CloudTrail events into the destination's stream.

use iot_crr_kinesis::{KinesisError, OutRecord, Producer};
use iot_crr_replicator::input::partition_key;
use serde_json::Value;

/// What one invocation wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardOutcome {
    /// Events written.
    pub events: usize,
    /// Kinesis records they took (fewer when aggregated).
    pub records: usize,
    /// Events that do not decode (written anyway, under the partition key
    /// `undecodable`: the applier puts them in its dead letters with the reason).
    pub undecodable: usize,
}

/// Why an invocation failed: the rule's error action or Lambda's retry takes over.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The payload is neither an event object nor an array of them.
    #[error("the invocation payload is {0}, not an event object or an array of events")]
    NotAnEvent(&'static str),
    /// Writing to the stream failed (after the producer's retries).
    #[error("writing to the stream: {0}")]
    Kinesis(#[from] KinesisError),
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes one invocation's events (an IoT rule's payload with its `topic`, an
/// EventBridge event, or an array of either) to the stream. Every event is written or
/// the invocation fails; nothing is dropped.
pub async fn forward(producer: &Producer, payload: &Value) -> Result<ForwardOutcome, ForwardError> {
    let events: Vec<&Value> = match payload {
        Value::Object(_) => vec![payload],
        Value::Array(items) => {
            if let Some(bad) = items.iter().find(|v| !v.is_object()) {
                return Err(ForwardError::NotAnEvent(type_name(bad)));
            }
            items.iter().collect()
        }
        other => return Err(ForwardError::NotAnEvent(type_name(other))),
    };
    let mut undecodable = 0;
    let records: Vec<OutRecord> = events
        .iter()
        .map(|e| {
            let data = e.to_string().into_bytes();
            let pk = partition_key(&data).unwrap_or_else(|| {
                undecodable += 1;
                "undecodable".to_owned()
            });
            OutRecord::new(pk, data)
        })
        .collect();
    let n = records.len();
    let report = producer.put(records).await?;
    if undecodable > 0 {
        tracing::warn!(
            undecodable,
            "forwarded events that do not decode; the applier dead-letters them"
        );
    }
    Ok(ForwardOutcome {
        events: n,
        records: report.kinesis_records,
        undecodable,
    })
}
