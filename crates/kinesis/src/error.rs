//! [`KinesisError`]: every failure of the Kinesis transport, classified for retries.

use std::error::Error as StdError;

use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use iot_crr_registry::ErrorClass;
use iot_crr_state::StateError;

/// The error code of a shard iterator older than 5 minutes (or otherwise expired).
pub const EXPIRED_ITERATOR: &str = "ExpiredIteratorException";

/// Codes that mean "slow down" (a shard's or the account's throughput, or KMS).
const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ThrottlingException",
    "TooManyRequestsException",
    "KMSThrottlingException",
    "RequestLimitExceeded",
];

/// Codes of faults on AWS's side that may go away.
const TRANSIENT: &[&str] = &[
    "InternalFailure",
    "InternalFailureException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Codes of missing permissions or bad credentials.
const ACCESS_DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "KMSAccessDeniedException",
];

/// An error of the Kinesis transport.
///
/// [`KinesisError::class`] tells whether a retry may succeed
/// ([`KinesisError::is_retryable`]); [`KinesisError::code`] is the AWS error code when
/// there is one, so that callers decide on data, never on message text.
#[derive(Debug, thiserror::Error)]
pub enum KinesisError {
    /// A stream location is not `kinesis:REGION/STREAM`.
    #[error(
        "invalid Kinesis stream location {input:?}: {reason} (expected kinesis:REGION/STREAM, e.g. kinesis:eu-west-1/iot-events)"
    )]
    InvalidLocation {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A Kinesis API call failed.
    #[error("kinesis:{api}: {}{message}{}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Api {
        /// The operation (`PutRecords`).
        api: &'static str,
        /// How the failure should be handled.
        class: ErrorClass,
        /// The AWS error code (`ProvisionedThroughputExceededException`), when the
        /// answer had one.
        code: Option<String>,
        /// The HTTP status, when an answer arrived.
        status: Option<u16>,
        /// The AWS message, or a description of the failure.
        message: String,
    },
    /// A record to put cannot be sent at all (empty or too long partition key, too
    /// large); nothing of the call was sent.
    #[error("record {index} (partition key {partition_key:?}) cannot be put: {reason}")]
    InvalidRecord {
        /// Its index in the records given to [`crate::Producer::put`].
        index: usize,
        /// Its partition key.
        partition_key: String,
        /// Why.
        reason: String,
    },
    /// A record was refused by PutRecords on every attempt (or with a code that is not
    /// worth retrying). Records before it in the call may have been written.
    #[error(
        "record {index} (partition key {partition_key:?}{}) was not written after {attempts} attempt(s): {code}: {message}",
        if *user_records > 1 { format!(", a KPL record of {user_records} user records") } else { String::new() }
    )]
    RecordFailed {
        /// The index of its (first) user record in the records given to
        /// [`crate::Producer::put`].
        index: usize,
        /// Its partition key.
        partition_key: String,
        /// How many user records it carries (more than 1 when KPL-aggregated).
        user_records: usize,
        /// The per-record error code (`ProvisionedThroughputExceededException`,
        /// `InternalFailure`).
        code: String,
        /// The per-record error message.
        message: String,
        /// How many times it was sent.
        attempts: u32,
    },
    /// The state store failed (reading or writing a checkpoint).
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// A shard's consumer task ended abnormally (panicked).
    #[error("consumer task of shard {shard} failed: {message}")]
    Task {
        /// The shard.
        shard: String,
        /// What happened.
        message: String,
    },
}

impl KinesisError {
    /// How the failure should be handled; [`ErrorClass::Other`] for local errors.
    pub fn class(&self) -> ErrorClass {
        match self {
            KinesisError::Api { class, .. } => *class,
            KinesisError::RecordFailed { code, .. } => classify_code(Some(code), None),
            KinesisError::InvalidLocation { .. } | KinesisError::InvalidRecord { .. } => {
                ErrorClass::Invalid
            }
            KinesisError::State(_) | KinesisError::Task { .. } => ErrorClass::Other,
        }
    }

    /// Whether a retry may succeed (throttled or transient).
    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }

    /// The AWS error code, when the failure came with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            KinesisError::Api { code, .. } => code.as_deref(),
            KinesisError::RecordFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this is a shard iterator that expired (they live 5 minutes): get a new
    /// one from the last checkpoint.
    pub fn is_expired_iterator(&self) -> bool {
        self.code() == Some(EXPIRED_ITERATOR)
    }

    /// Builds the error of a failed SDK call of operation `api`.
    pub(crate) fn from_sdk<E>(api: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (class, code, message) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let code = e.code().map(str::to_owned);
                let message = e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string());
                (classify_code(code.as_deref(), status), code, message)
            }
            SdkError::TimeoutError(_) => (
                ErrorClass::Transient,
                None,
                format!("timed out: {}", chain(&err)),
            ),
            SdkError::DispatchFailure(_) => (
                ErrorClass::Transient,
                None,
                format!("request not sent or connection lost: {}", chain(&err)),
            ),
            SdkError::ResponseError(_) => (
                ErrorClass::Transient,
                None,
                format!("unreadable answer: {}", chain(&err)),
            ),
            // A request that could not be built (a missing region or credentials).
            _ => (ErrorClass::Other, None, chain(&err)),
        };
        KinesisError::Api {
            api,
            class,
            code,
            status,
            message,
        }
    }
}

/// The class of an AWS error code, the HTTP status deciding when the code is unknown.
pub(crate) fn classify_code(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    let code = code.unwrap_or("");
    let is = |list: &[&str]| !code.is_empty() && list.contains(&code);
    if is(THROTTLING) {
        ErrorClass::Throttled
    } else if is(TRANSIENT) {
        ErrorClass::Transient
    } else if is(ACCESS_DENIED) {
        ErrorClass::AccessDenied
    } else if code == "ResourceNotFoundException" {
        ErrorClass::NotFound
    } else if code == "ResourceInUseException" {
        ErrorClass::Conflict
    } else if code == "InvalidArgumentException"
        || code == "ValidationException"
        || code == EXPIRED_ITERATOR
    {
        ErrorClass::Invalid
    } else {
        match status.unwrap_or(0) {
            429 => ErrorClass::Throttled,
            401 | 403 => ErrorClass::AccessDenied,
            404 => ErrorClass::NotFound,
            500.. => ErrorClass::Transient,
            400..500 => ErrorClass::Invalid,
            _ => ErrorClass::Other,
        }
    }
}

/// An error and its sources, one line.
fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_classify() {
        let c = |code: &str| classify_code(Some(code), Some(400));
        assert_eq!(
            c("ProvisionedThroughputExceededException"),
            ErrorClass::Throttled
        );
        assert_eq!(c("LimitExceededException"), ErrorClass::Throttled);
        assert_eq!(c("InternalFailure"), ErrorClass::Transient);
        assert_eq!(c("ResourceNotFoundException"), ErrorClass::NotFound);
        assert_eq!(c("AccessDeniedException"), ErrorClass::AccessDenied);
        assert_eq!(c(EXPIRED_ITERATOR), ErrorClass::Invalid);
        assert_eq!(classify_code(None, Some(503)), ErrorClass::Transient);
        assert_eq!(classify_code(None, Some(429)), ErrorClass::Throttled);
        assert_eq!(classify_code(Some("Odd"), None), ErrorClass::Other);
    }

    #[test]
    fn display_names_api_code_and_record() {
        let e = KinesisError::Api {
            api: "GetRecords",
            class: ErrorClass::Throttled,
            code: Some("ProvisionedThroughputExceededException".into()),
            status: Some(400),
            message: "Rate exceeded".into(),
        };
        assert_eq!(
            e.to_string(),
            "kinesis:GetRecords: ProvisionedThroughputExceededException: Rate exceeded (HTTP 400)"
        );
        assert!(e.is_retryable());
        let e = KinesisError::RecordFailed {
            index: 7,
            partition_key: "thing-1".into(),
            user_records: 1,
            code: "InternalFailure".into(),
            message: "oops".into(),
            attempts: 3,
        };
        assert_eq!(
            e.to_string(),
            "record 7 (partition key \"thing-1\") was not written after 3 attempt(s): InternalFailure: oops"
        );
        assert!(e.is_retryable());
        assert_eq!(e.code(), Some("InternalFailure"));
    }
}
