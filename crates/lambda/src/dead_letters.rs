//! Dead letters of the Lambda applier go to an SQS queue, with their data.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use iot_crr_model::ResourceKey;
use iot_crr_state::{Applied, DeadLetter, Progress, StateError, StateStore};

/// SQS accepts messages up to 256 KiB; the raw data (base64) is cut to fit.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Where dead letters are sent.
#[async_trait]
pub trait DeadLetterSink: Send + Sync {
    /// Sends one dead letter.
    async fn send(&self, letter: &DeadLetter) -> Result<(), StateError>;
}

/// The message body of a dead letter: JSON with the id, reason, source, time and the
/// raw data in base64 (cut, and said so in `truncated`, when it would not fit).
pub fn message_body(letter: &DeadLetter) -> String {
    let mut data = aws_smithy_types::base64::encode(&letter.raw);
    let budget = MAX_MESSAGE_BYTES - 2048 - letter.reason.len().min(64 * 1024);
    let truncated = data.len() > budget;
    if truncated {
        data.truncate(budget - budget % 4);
    }
    serde_json::json!({
        "id": letter.id,
        "reason": letter.reason,
        "source": letter.source,
        "timeMillis": letter.time_millis,
        "dataBase64": data,
        "dataBytes": letter.raw.len(),
        "truncated": truncated,
    })
    .to_string()
}

/// Sends dead letters to an SQS queue.
pub struct SqsSink {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsSink {
    /// A sink into `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsSink {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl DeadLetterSink for SqsSink {
    async fn send(&self, letter: &DeadLetter) -> Result<(), StateError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message_body(letter))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                StateError::Backend(format!(
                    "SQS SendMessage to {}: {}",
                    self.queue_url,
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            })
    }
}

/// Collects dead letters in memory (tests).
#[derive(Default)]
pub struct MemorySink(pub Mutex<Vec<DeadLetter>>);

#[async_trait]
impl DeadLetterSink for MemorySink {
    async fn send(&self, letter: &DeadLetter) -> Result<(), StateError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(letter.clone());
        Ok(())
    }
}

/// A state store whose dead letters go to a [`DeadLetterSink`] (the applier's SQS
/// queue) instead of the store; everything else is the inner store's (DynamoDB). The
/// queue is where an operator looks and redrives: listing, counting and removing dead
/// letters here answers from the inner store, which holds none.
pub struct SqsDeadLetters {
    inner: Arc<dyn StateStore>,
    sink: Arc<dyn DeadLetterSink>,
}

impl SqsDeadLetters {
    /// Wraps `inner`, sending dead letters to `sink`.
    pub fn new(inner: Arc<dyn StateStore>, sink: Arc<dyn DeadLetterSink>) -> Self {
        SqsDeadLetters { inner, sink }
    }
}

#[async_trait]
impl StateStore for SqsDeadLetters {
    async fn get_checkpoint(
        &self,
        stream: &str,
        shard: &str,
    ) -> Result<Option<String>, StateError> {
        self.inner.get_checkpoint(stream, shard).await
    }
    async fn put_checkpoint(
        &self,
        stream: &str,
        shard: &str,
        sequence: &str,
    ) -> Result<bool, StateError> {
        self.inner.put_checkpoint(stream, shard, sequence).await
    }
    async fn finish_shard(&self, stream: &str, shard: &str) -> Result<(), StateError> {
        self.inner.finish_shard(stream, shard).await
    }
    async fn is_shard_finished(&self, stream: &str, shard: &str) -> Result<bool, StateError> {
        self.inner.is_shard_finished(stream, shard).await
    }
    async fn get_progress(&self, name: &str) -> Result<Option<Progress>, StateError> {
        self.inner.get_progress(name).await
    }
    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<Option<u64>, StateError> {
        self.inner.put_progress(name, value, expected).await
    }
    async fn last_applied(&self, key: &ResourceKey) -> Result<Option<Applied>, StateError> {
        self.inner.last_applied(key).await
    }
    async fn record_applied(
        &self,
        key: &ResourceKey,
        applied: Applied,
    ) -> Result<bool, StateError> {
        self.inner.record_applied(key, applied).await
    }
    async fn is_tombstoned(
        &self,
        key: &ResourceKey,
        event_time_millis: i64,
    ) -> Result<bool, StateError> {
        self.inner.is_tombstoned(key, event_time_millis).await
    }
    async fn purge_tombstones(&self, older_than_millis: i64) -> Result<u64, StateError> {
        self.inner.purge_tombstones(older_than_millis).await
    }
    async fn put_dead_letter(&self, letter: DeadLetter) -> Result<(), StateError> {
        self.sink.send(&letter).await
    }
    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StateError> {
        self.inner.list_dead_letters(limit).await
    }
    async fn remove_dead_letter(&self, id: &str) -> Result<bool, StateError> {
        self.inner.remove_dead_letter(id).await
    }
    async fn count_dead_letters(&self) -> Result<u64, StateError> {
        self.inner.count_dead_letters().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_data_and_fit() {
        let letter = DeadLetter {
            id: "kinesis:s/shard/1".into(),
            reason: "cannot decode".into(),
            raw: b"not json".to_vec(),
            source: "kinesis:s/shard/1".into(),
            time_millis: 5,
        };
        let v: serde_json::Value = serde_json::from_str(&message_body(&letter)).unwrap();
        assert_eq!(
            aws_smithy_types::base64::decode(v["dataBase64"].as_str().unwrap()).unwrap(),
            b"not json"
        );
        assert_eq!(v["truncated"], false);
        let big = DeadLetter {
            raw: vec![7u8; 1 << 20],
            ..letter
        };
        let body = message_body(&big);
        assert!(body.len() <= MAX_MESSAGE_BYTES, "{}", body.len());
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["truncated"], true);
        assert_eq!(v["dataBytes"], 1 << 20);
    }
}
