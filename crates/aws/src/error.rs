//! Classification of AWS SDK errors into [`ErrorClass`]es.
//!
//! The decision is made from the parts of an answer ([`classify_parts`], a pure function
//! with unit tests): the HTTP status, the error code AWS sends (`x-amzn-ErrorType` or the
//! body's `__type`, as the SDK parses it), the message, and whether the body is HTML
//! (moto answers an operation it lacks with HTTP 500 and an HTML page; AWS itself never
//! answers the IoT API with HTML).
//!
//! The error keeps what it was decided on as data, so that callers decide on
//! [`RegistryError::has_code`], the class and the status, never on the message: the
//! error code, the HTTP status, the `Retry-After` hint when the answer had one, and
//! whether the request may have been applied although it failed
//! ([`RegistryError::maybe_applied`]: a timeout, a connection lost after sending, an
//! unreadable answer, or a 5xx answer).

use std::error::Error as StdError;
use std::time::Duration;

use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use iot_crr_registry::{ErrorClass, RegistryError};

/// The parts of a failed answer that decide its class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorParts<'a> {
    /// HTTP status, when an answer arrived.
    pub status: Option<u16>,
    /// The AWS error code (`ResourceNotFoundException`).
    pub code: Option<&'a str>,
    /// The AWS error message.
    pub message: Option<&'a str>,
    /// Whether the body is an HTML page (moto's "not implemented").
    pub html: bool,
    /// The wait the answer asked for (its `Retry-After` header), when it had one.
    pub retry_after: Option<Duration>,
}

/// Codes that mean "slow down".
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
];

/// Codes of faults on AWS's side that may go away.
const TRANSIENT: &[&str] = &[
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailureException",
    "InternalException",
    "InternalServerException",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Codes of a state conflict.
const CONFLICT: &[&str] = &[
    "ResourceAlreadyExistsException",
    "DeleteConflictException",
    "CertificateStateException",
    "CertificateConflictException",
    "VersionConflictException",
    "ConflictingResourceUpdateException",
    "ConflictException",
    "InvalidStateTransitionException",
    "ResourceRegistrationFailureException",
];

/// Codes of a request the target refuses as such.
const INVALID: &[&str] = &[
    "InvalidRequestException",
    "LimitExceededException",
    "VersionsLimitExceededException",
    "MalformedPolicyException",
    "CertificateValidationException",
    "InvalidQueryException",
    "InvalidAggregationException",
    "IndexNotReadyException",
    "SqlParseException",
    "ValidationException",
    "SerializationException",
];

/// Codes of missing permissions or credentials.
const ACCESS_DENIED: &[&str] = &[
    "UnauthorizedException",
    "AccessDeniedException",
    "AccessDenied",
    "ForbiddenException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

/// Classifies a failed answer of operation `api` (`CreateThing`).
pub fn classify_parts(api: &str, parts: &ErrorParts<'_>) -> RegistryError {
    let code = parts.code.unwrap_or("");
    let msg = parts.message.unwrap_or("");
    let detail = match (code.is_empty(), msg.is_empty()) {
        (false, false) => format!("{code}: {msg}"),
        (false, true) => code.to_string(),
        (true, false) => msg.to_string(),
        (true, true) => match parts.status {
            Some(s) => format!("HTTP {s}"),
            None => "no answer".to_string(),
        },
    };
    let in_list = |list: &[&str]| !code.is_empty() && list.contains(&code);
    let status = parts.status.unwrap_or(0);

    let access_denied = |detail: String| {
        let hint = if code == "ExpiredTokenException" {
            "the credentials have expired"
        } else if matches!(
            code,
            "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
        ) {
            "the credentials are not valid for this endpoint"
        } else {
            "the credentials lack a permission"
        };
        (
            ErrorClass::AccessDenied,
            format!("access denied: {hint}; the call needs the IAM action iot:{api} ({detail})"),
        )
    };
    let unsupported = || {
        (
            ErrorClass::Unsupported,
            format!(
                "the endpoint does not implement iot:{api} (HTTP {status}{}); moto answers \
                 operations it lacks this way",
                if parts.html { " with an HTML page" } else { "" }
            ),
        )
    };

    // The error code decides first; the status only when the code is unknown (moto, for
    // one, sends VersionsLimitExceededException with HTTP 409).
    let (class, message) = if in_list(THROTTLING) {
        (ErrorClass::Throttled, detail)
    } else if code == "NotImplemented" || code == "NotImplementedException" {
        unsupported()
    } else if in_list(ACCESS_DENIED) {
        access_denied(detail)
    } else if in_list(CONFLICT) {
        (ErrorClass::Conflict, detail)
    } else if code == "ResourceNotFoundException" || code == "NotFoundException" {
        (ErrorClass::NotFound, detail)
    } else if in_list(INVALID) {
        (ErrorClass::Invalid, detail)
    } else if in_list(TRANSIENT) {
        (ErrorClass::Transient, detail)
    } else if parts.html && (status == 500 || status == 501) {
        unsupported()
    } else {
        match status {
            429 => (ErrorClass::Throttled, detail),
            401 | 403 => access_denied(detail),
            404 => (ErrorClass::NotFound, detail),
            409 => (ErrorClass::Conflict, detail),
            500.. => (ErrorClass::Transient, detail),
            400..500 => (ErrorClass::Invalid, detail),
            _ => (ErrorClass::Other, detail),
        }
    };
    let mut e = RegistryError::new(class, message).with_api(api);
    if !code.is_empty() {
        e = e.with_code(code);
    }
    if let Some(s) = parts.status {
        e = e.with_status(s);
    }
    if let Some(wait) = parts.retry_after {
        e = e.with_retry_after(wait);
    }
    // A server fault may come after the request took effect. A throttle is a refusal
    // whatever its status, and an endpoint that lacks the operation did nothing.
    if status >= 500 && !matches!(class, ErrorClass::Throttled | ErrorClass::Unsupported) {
        e = e.maybe_applied();
    }
    e
}

/// The wait a `Retry-After` header asks for: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, counted from `now`; a date in the past is no
/// wait). `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at =
        aws_smithy_types::DateTime::from_str(value, aws_smithy_types::date_time::Format::HttpDate)
            .ok()?;
    let at = std::time::SystemTime::try_from(at).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` hint of an answer.
fn retry_after(raw: &HttpResponse) -> Option<Duration> {
    let v = raw.headers().get("retry-after")?;
    parse_retry_after(v, std::time::SystemTime::now())
}

/// The longest message made from SDK error text; longer ones are cut with "…".
pub const MAX_MESSAGE_CHARS: usize = 300;

/// The Display texts of `CredentialsError`'s variants (aws-credential-types), which the
/// SDK puts in the error chain when the credentials provider fails. The type is not
/// re-exported by the SDK crates this one uses, so it is recognised by its text.
const CREDENTIALS_ERRORS: &[&str] = &[
    "the credential provider was not enabled",
    "credentials provider timed out after",
    "the credentials provider was not properly configured",
    "an error occurred while loading credentials",
    "unexpected credentials error",
];

/// Links of an error chain that say nothing on their own.
const FILLER: &[&str] = &["other", "service error", "unhandled error"];

/// `text` on one line (whitespace runs collapsed) and at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

/// The Display texts of an error and its sources, joined with ": " — what
/// `DisplayErrorContext` prints without its trailing Debug dump. Links that repeat
/// text already given, and filler links ("other"), are left out.
pub fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        let text = text.trim();
        if !text.is_empty() && !FILLER.contains(&text) && !parts.iter().any(|p| p.contains(text)) {
            parts.push(text.to_string());
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The credentials-provider failure in the chain of `err`, if any: whether the
/// configuration is invalid (rather than no credentials found), and the short cause.
fn credentials_failure(err: &(dyn StdError + 'static)) -> Option<(bool, String)> {
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if CREDENTIALS_ERRORS.iter().any(|c| text.starts_with(c)) {
            let invalid = text.starts_with("the credentials provider was not properly configured");
            let cause = match e.source() {
                Some(src) => chain_text(src),
                None => text,
            };
            return Some((invalid, cause));
        }
        next = e.source();
    }
    None
}

/// The error for a failed credentials provider of the registry `aws:REGION`.
fn credentials_error(region: &str, api: &str, invalid: bool, cause: &str) -> RegistryError {
    let cause = one_line(cause, 160);
    let message = if invalid {
        format!("the AWS credentials configuration for aws:{region} is not valid: {cause}")
    } else {
        format!(
            "no AWS credentials found for aws:{region} (checked the environment, the shared \
             config/credentials files and profile, web identity and container credentials, \
             and the instance metadata service): {cause}"
        )
    };
    RegistryError::new(ErrorClass::AccessDenied, message).with_api(api)
}

/// Classifies an SDK error of operation `api` on the registry of `region`. Every
/// message is one line of at most [`MAX_MESSAGE_CHARS`] characters (plus the
/// fixed text around it), without the SDK's Debug dump.
pub fn classify<E>(region: &str, api: &str, err: SdkError<E, HttpResponse>) -> RegistryError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let short = |err: &SdkError<E, HttpResponse>| one_line(&chain_text(err), MAX_MESSAGE_CHARS);
    match &err {
        // The request may have reached AWS before the time ran out.
        SdkError::TimeoutError(_) => {
            RegistryError::new(ErrorClass::Transient, "the request timed out")
                .with_api(api)
                .maybe_applied()
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
            if credentials_failure(&err).is_some() =>
        {
            let (invalid, cause) = credentials_failure(&err).unwrap_or_default();
            credentials_error(region, api, invalid, &cause)
        }
        SdkError::DispatchFailure(d) => {
            // A connection that could not be made or was reset (transient), or a request
            // the client refuses to send (an invalid endpoint URL, say: not retried).
            // The connector does not say whether the request had gone out before an I/O
            // error or a timeout, so those may have been applied.
            if d.is_user() {
                RegistryError::new(
                    ErrorClass::Invalid,
                    format!("the request could not be sent: {}", short(&err)),
                )
                .with_api(api)
            } else {
                RegistryError::new(
                    ErrorClass::Transient,
                    format!("the request could not be sent: {}", short(&err)),
                )
                .with_api(api)
                .maybe_applied()
            }
        }
        SdkError::ConstructionFailure(_) => RegistryError::new(
            ErrorClass::Other,
            format!("the request could not be built: {}", short(&err)),
        )
        .with_api(api),
        SdkError::ResponseError(r) => {
            let raw = r.raw();
            let body = raw.body().bytes().unwrap_or_default();
            let parts = ErrorParts {
                status: Some(raw.status().as_u16()),
                code: None,
                message: None,
                html: is_html(raw, body),
                retry_after: retry_after(raw),
            };
            let mut e = classify_parts(api, &parts);
            if e.class == ErrorClass::Other || e.class == ErrorClass::Invalid {
                e.message = format!("unreadable answer: {}", short(&err));
            }
            // An answer arrived but could not be read: whatever it said, the request
            // reached AWS (unless the endpoint lacks the operation altogether).
            if e.class != ErrorClass::Unsupported {
                e = e.maybe_applied();
            }
            e
        }
        SdkError::ServiceError(s) => {
            let raw = s.raw();
            let body = raw.body().bytes().unwrap_or_default();
            let message = s.err().message().map(|m| one_line(m, MAX_MESSAGE_CHARS));
            let parts = ErrorParts {
                status: Some(raw.status().as_u16()),
                code: s.err().code(),
                message: message.as_deref(),
                html: is_html(raw, body),
                retry_after: retry_after(raw),
            };
            classify_parts(api, &parts)
        }
        _ => RegistryError::new(ErrorClass::Other, short(&err)).with_api(api),
    }
}

fn is_html(raw: &HttpResponse, body: &[u8]) -> bool {
    let ct_html = raw
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let head: Vec<u8> = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    ct_html || head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(status: u16, code: &'a str, message: &'a str) -> ErrorParts<'a> {
        ErrorParts {
            status: Some(status),
            code: (!code.is_empty()).then_some(code),
            message: (!message.is_empty()).then_some(message),
            html: false,
            retry_after: None,
        }
    }

    #[test]
    fn classes_follow_codes_and_statuses() {
        let cases = [
            (400, "ThrottlingException", ErrorClass::Throttled),
            (429, "TooManyRequestsException", ErrorClass::Throttled),
            (429, "", ErrorClass::Throttled),
            (503, "ServiceUnavailableException", ErrorClass::Transient),
            (500, "InternalFailureException", ErrorClass::Transient),
            (502, "", ErrorClass::Transient),
            (409, "ResourceAlreadyExistsException", ErrorClass::Conflict),
            (409, "DeleteConflictException", ErrorClass::Conflict),
            (406, "CertificateStateException", ErrorClass::Conflict),
            (404, "ResourceNotFoundException", ErrorClass::NotFound),
            (400, "InvalidRequestException", ErrorClass::Invalid),
            (410, "LimitExceededException", ErrorClass::Invalid),
            (400, "VersionsLimitExceededException", ErrorClass::Invalid),
            (409, "VersionsLimitExceededException", ErrorClass::Invalid),
            (409, "", ErrorClass::Conflict),
            (404, "", ErrorClass::NotFound),
            (401, "UnauthorizedException", ErrorClass::AccessDenied),
            (403, "AccessDeniedException", ErrorClass::AccessDenied),
            (403, "", ErrorClass::AccessDenied),
            (400, "SomethingNew", ErrorClass::Invalid),
        ];
        for (status, code, class) in cases {
            let e = classify_parts("CreateThing", &parts(status, code, "m"));
            assert_eq!(e.class, class, "{status} {code}");
            assert_eq!(e.api.as_deref(), Some("CreateThing"));
        }
    }

    #[test]
    fn message_keeps_the_code_first() {
        let e = classify_parts(
            "CreateThingGroup",
            &parts(409, "ResourceAlreadyExistsException", "group g exists"),
        );
        assert_eq!(e.message, "ResourceAlreadyExistsException: group g exists");
        assert!(e.has_code("ResourceAlreadyExistsException"));
        assert_eq!(
            e.to_string(),
            "CreateThingGroup: ResourceAlreadyExistsException: group g exists"
        );
    }

    #[test]
    fn access_denied_names_the_iam_action() {
        let e = classify_parts(
            "AttachPolicy",
            &parts(401, "UnauthorizedException", "not authorized"),
        );
        assert_eq!(e.class, ErrorClass::AccessDenied);
        assert!(e.message.contains("iot:AttachPolicy"), "{e}");
        let e = classify_parts("ListThings", &parts(403, "ExpiredTokenException", ""));
        assert!(e.message.contains("expired"), "{e}");
    }

    #[test]
    fn moto_html_500_is_unsupported_but_aws_500_is_transient() {
        let moto = ErrorParts {
            status: Some(500),
            code: None,
            message: None,
            html: true,
            retry_after: None,
        };
        let e = classify_parts("ListTagsForResource", &moto);
        assert_eq!(e.class, ErrorClass::Unsupported);
        assert!(e.message.contains("iot:ListTagsForResource"), "{e}");
        let aws = parts(500, "InternalFailureException", "oops");
        assert_eq!(
            classify_parts("ListThings", &aws).class,
            ErrorClass::Transient
        );
        let ni = parts(501, "NotImplemented", "");
        assert_eq!(classify_parts("X", &ni).class, ErrorClass::Unsupported);
    }

    /// An error with a text and an optional source, to build SDK-like chains.
    #[derive(Debug)]
    struct Link(&'static str, Option<Box<Link>>);

    impl std::fmt::Display for Link {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Link {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn chain(texts: &[&'static str]) -> Link {
        let mut link: Option<Box<Link>> = None;
        for t in texts.iter().rev() {
            link = Some(Box::new(Link(t, link)));
        }
        *link.expect("a text")
    }

    fn dispatch_failure(
        source: Link,
    ) -> SdkError<aws_sdk_iot::operation::list_things::ListThingsError, HttpResponse> {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        SdkError::dispatch_failure(ConnectorError::other(Box::new(source), None))
    }

    #[test]
    fn chain_text_drops_filler_repeats_and_the_debug_dump() {
        let e = chain(&[
            "dispatch failure",
            "other",
            "failed to load IMDS session token",
            "service error",
            "request forbidden",
            "request forbidden",
        ]);
        assert_eq!(
            chain_text(&e),
            "dispatch failure: failed to load IMDS session token: request forbidden"
        );
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        let long = one_line(&"x".repeat(500), 20);
        assert_eq!(long.chars().count(), 20);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn credentials_failure_is_access_denied_with_a_short_message() {
        // The chain the SDK builds when the default credentials chain finds nothing and
        // the instance metadata service refuses (as seen with aws-config 1.8).
        let err = dispatch_failure(chain(&[
            "an error occurred while loading credentials",
            "failed to load IMDS session token",
            "service error",
            "request forbidden: IMDS is disabled or the caller has insufficient permissions.",
        ]));
        let e = classify("us-west-2", "ListThings", err);
        assert_eq!(e.class, ErrorClass::AccessDenied);
        assert_eq!(e.api.as_deref(), Some("ListThings"));
        assert!(
            e.message.starts_with(
                "no AWS credentials found for aws:us-west-2 (checked the environment, "
            ),
            "{e}"
        );
        assert!(
            e.message.ends_with(
                "): failed to load IMDS session token: request forbidden: IMDS is disabled or \
                 the caller has insufficient permissions."
            ),
            "{e}"
        );
        assert!(!e.message.contains('\n') && !e.message.contains("DispatchFailure"));

        let err = dispatch_failure(chain(&[
            "the credentials provider was not properly configured",
            "ProfileFile provider could not be built: profile `x` was not defined",
        ]));
        let e = classify("eu-west-1", "ListThings", err);
        assert_eq!(e.class, ErrorClass::AccessDenied);
        assert_eq!(
            e.message,
            "the AWS credentials configuration for aws:eu-west-1 is not valid: ProfileFile \
             provider could not be built: profile `x` was not defined"
        );
    }

    #[test]
    fn other_dispatch_failures_are_transient_and_short() {
        let err = dispatch_failure(chain(&[
            "error trying to connect",
            "tcp connect error",
            "Connection refused (os error 111)",
        ]));
        let e = classify("eu-west-1", "ListThings", err);
        assert_eq!(e.class, ErrorClass::Transient);
        assert_eq!(
            e.message,
            "the request could not be sent: dispatch failure: error trying to connect: tcp \
             connect error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn no_answer_is_described() {
        let e = classify_parts("X", &ErrorParts::default());
        assert_eq!(e.class, ErrorClass::Other);
        assert_eq!(e.message, "no answer");
    }

    #[test]
    fn the_code_and_status_are_kept_as_data() {
        let e = classify_parts(
            "CreatePolicyVersion",
            &parts(409, "VersionsLimitExceededException", "five already"),
        );
        assert_eq!(e.code.as_deref(), Some("VersionsLimitExceededException"));
        assert!(e.has_code("VersionsLimitExceededException"));
        assert!(!e.has_code("VersionsLimit"), "whole codes only");
        assert_eq!(e.status, Some(409));
        assert_eq!(e.retry_after, None);
        assert!(!e.maybe_applied);
        let e = classify_parts("X", &parts(502, "", ""));
        assert_eq!(e.code, None);
        assert_eq!(e.status, Some(502));
        let e = classify_parts("X", &ErrorParts::default());
        assert_eq!((e.code, e.status), (None, None));
    }

    #[test]
    fn server_faults_may_have_been_applied_refusals_not() {
        let applied =
            |status, code| classify_parts("CreatePolicyVersion", &parts(status, code, "m"));
        assert!(applied(500, "InternalFailureException").maybe_applied);
        assert!(applied(503, "ServiceUnavailableException").maybe_applied);
        assert!(applied(500, "").maybe_applied);
        assert!(applied(504, "").maybe_applied);
        // An unknown code with a 5xx status: still a server fault.
        assert!(applied(500, "SomethingNew").maybe_applied);
        for (status, code) in [
            (400, "InvalidRequestException"),
            (409, "ResourceAlreadyExistsException"),
            (400, "ThrottlingException"),
            // A throttle refuses, whatever its status.
            (503, "SlowDown"),
            (429, ""),
            (404, "ResourceNotFoundException"),
        ] {
            assert!(!applied(status, code).maybe_applied, "{status} {code}");
        }
        // moto's "not implemented" page did nothing.
        let moto = ErrorParts {
            status: Some(500),
            html: true,
            ..ErrorParts::default()
        };
        let e = classify_parts("TagResource", &moto);
        assert_eq!(e.class, ErrorClass::Unsupported);
        assert!(!e.maybe_applied);
    }

    #[test]
    fn retry_after_is_parsed_from_seconds_or_a_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 2015-10-21T07:28:00Z is 1445412480: 80 s after `now`.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past is no wait"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        let e = classify_parts(
            "CreateThing",
            &ErrorParts {
                retry_after: Some(Duration::from_secs(2)),
                ..parts(429, "ThrottlingException", "slow down")
            },
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
    }

    fn response(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> HttpResponse {
        use aws_smithy_runtime_api::http::StatusCode;
        let mut r = HttpResponse::new(
            StatusCode::try_from(status).expect("a status"),
            aws_smithy_types::body::SdkBody::from(body.to_string()),
        );
        for (k, v) in headers {
            r.headers_mut().insert(*k, *v);
        }
        r
    }

    type ListThingsSdkError =
        SdkError<aws_sdk_iot::operation::list_things::ListThingsError, HttpResponse>;

    #[test]
    fn sdk_errors_carry_code_status_retry_after_and_maybe_applied() {
        use aws_sdk_iot::operation::list_things::ListThingsError;
        use aws_smithy_types::error::ErrorMetadata;

        let service = |status, code: &str, headers| -> ListThingsSdkError {
            SdkError::service_error(
                ListThingsError::generic(ErrorMetadata::builder().code(code).message("m").build()),
                response(status, headers, "{}"),
            )
        };
        let e = classify(
            "eu-west-1",
            "ListThings",
            service(429, "ThrottlingException", &[("retry-after", "3")]),
        );
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(e.code.as_deref(), Some("ThrottlingException"));
        assert_eq!(e.status, Some(429));
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        assert!(!e.maybe_applied);
        assert_eq!(
            e.to_string(),
            "ListThings: ThrottlingException: m",
            "Display unchanged"
        );

        let e = classify(
            "eu-west-1",
            "ListThings",
            service(500, "InternalFailureException", &[]),
        );
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.maybe_applied);
        assert_eq!(e.retry_after, None);

        // Timeouts, I/O failures and unreadable answers may have been applied.
        let timeout: ListThingsSdkError = SdkError::timeout_error("attempt timed out");
        let e = classify("eu-west-1", "ListThings", timeout);
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.maybe_applied);
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let io: ListThingsSdkError =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(chain(&[
                "connection reset by peer",
            ]))));
        let e = classify("eu-west-1", "ListThings", io);
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.maybe_applied);
        let unreadable: ListThingsSdkError =
            SdkError::response_error("bad json", response(200, &[], "{not json"));
        let e = classify("eu-west-1", "ListThings", unreadable);
        assert!(e.maybe_applied, "{e}");
        assert_eq!(e.status, Some(200));

        // A request the client refused to send, or could not build, was never sent.
        let user: ListThingsSdkError =
            SdkError::dispatch_failure(ConnectorError::user(Box::new(chain(&["invalid URI"]))));
        let e = classify("eu-west-1", "ListThings", user);
        assert_eq!(e.class, ErrorClass::Invalid);
        assert!(!e.maybe_applied);
        let built: ListThingsSdkError = SdkError::construction_failure("missing field");
        assert!(!classify("eu-west-1", "ListThings", built).maybe_applied);
        // Neither was a request without credentials.
        let e = classify(
            "eu-west-1",
            "ListThings",
            dispatch_failure(chain(&[
                "an error occurred while loading credentials",
                "none",
            ])),
        );
        assert_eq!(e.class, ErrorClass::AccessDenied);
        assert!(!e.maybe_applied);
    }
}
