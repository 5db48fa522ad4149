//! What can be wrong with an event, and where.

/// Why an event could not be decoded. Every variant names the field (as a dotted path
/// inside the event) and the context (the `eventType`, or the CloudTrail `eventName`)
/// where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The JSON value is not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found (`array`, `string`...).
        found: &'static str,
    },
    /// The object is neither a registry event (no `eventType`) nor an EventBridge
    /// event (no `detail-type`).
    #[error(
        "neither a registry event (no \"eventType\") nor an EventBridge event (no \"detail-type\")"
    )]
    UnknownShape,
    /// A required field is absent or null.
    #[error("missing field \"{field}\" in {context}")]
    MissingField {
        /// The field's path.
        field: String,
        /// The event it is missing from.
        context: String,
    },
    /// A field has the wrong JSON type.
    #[error("field \"{field}\" in {context} is {found}, expected {expected}")]
    WrongType {
        /// The field's path.
        field: String,
        /// The event it is in.
        context: String,
        /// The type expected.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A name field is the empty string.
    #[error("field \"{field}\" in {context} is an empty name")]
    EmptyName {
        /// The field's path.
        field: String,
        /// The event it is in.
        context: String,
    },
    /// A registry event with an `eventType` this crate does not know.
    #[error("unknown eventType \"{event_type}\"")]
    UnknownEventType {
        /// The `eventType` value.
        event_type: String,
    },
    /// An `operation` that is not valid for the event type.
    #[error("unknown operation \"{operation}\" in {context}")]
    UnknownOperation {
        /// The `operation` value.
        operation: String,
        /// The event type.
        context: String,
    },
    /// A CloudTrail API call this crate does not map to resource keys.
    #[error("unknown CloudTrail eventName \"{name}\"")]
    UnknownEvent {
        /// The `eventName` value.
        name: String,
    },
    /// An EventBridge event that is not an AWS IoT API call via CloudTrail.
    #[error(
        "unsupported EventBridge event: source \"{event_source}\", detail-type \"{detail_type}\""
    )]
    UnsupportedSource {
        /// `source` (or `detail.eventSource` when that is what is wrong).
        event_source: String,
        /// `detail-type`.
        detail_type: String,
    },
    /// The `topic` is not an AWS IoT registry event topic, or disagrees with the
    /// payload (another event type, another name, another operation).
    #[error("topic \"{topic}\" does not match the {event_type}: {reason}")]
    TopicMismatch {
        /// The topic.
        topic: String,
        /// The payload's `eventType`.
        event_type: String,
        /// What disagrees.
        reason: String,
    },
    /// A field that should hold an AWS IoT ARN of some kind does not.
    #[error("field \"{field}\" in {context} is not {expected} ARN: \"{value}\"")]
    InvalidArn {
        /// The field's path.
        field: String,
        /// The event it is in.
        context: String,
        /// What was expected (`a thing`, `a thing group`...).
        expected: &'static str,
        /// The value found.
        value: String,
    },
    /// A time field that is not an RFC 3339 UTC time.
    #[error("field \"{field}\" in {context} is not an RFC 3339 time: \"{value}\"")]
    InvalidTime {
        /// The field's path.
        field: String,
        /// The event it is in.
        context: String,
        /// The value found.
        value: String,
    },
}
