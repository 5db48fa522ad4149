//! Classification of AWS SDK errors into [`ErrorClass`]es.
//!
//! The decision is made from the parts of an answer ([`classify_parts`], a pure function
//! with unit tests): the HTTP status, the error code AWS sends (`x-amzn-ErrorType` or the
//! body's `__type`, as the SDK parses it), the message, and whether the body is HTML
//! (moto answers an operation it lacks with HTTP 500 and an HTML page; AWS itself never
//! answers the IoT API with HTML).

use std::error::Error as StdError;

use aws_sdk_iot::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
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
    RegistryError::new(class, message).with_api(api)
}

/// Classifies an SDK error of operation `api`.
pub fn classify<E>(api: &str, err: SdkError<E, HttpResponse>) -> RegistryError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => {
            RegistryError::new(ErrorClass::Transient, "the request timed out").with_api(api)
        }
        SdkError::DispatchFailure(d) => {
            // A connection that could not be made or was reset; a missing credential
            // also surfaces here and is not worth retrying.
            let text = DisplayErrorContext(&err).to_string();
            let class = if d.is_user() || text.contains("credentials") {
                ErrorClass::AccessDenied
            } else {
                ErrorClass::Transient
            };
            RegistryError::new(class, format!("the request could not be sent: {text}"))
                .with_api(api)
        }
        SdkError::ConstructionFailure(_) => {
            let text = DisplayErrorContext(&err).to_string();
            let class = if text.contains("credentials") {
                ErrorClass::AccessDenied
            } else {
                ErrorClass::Other
            };
            RegistryError::new(class, format!("the request could not be built: {text}"))
                .with_api(api)
        }
        SdkError::ResponseError(r) => {
            let raw = r.raw();
            let body = raw.body().bytes().unwrap_or_default();
            let parts = ErrorParts {
                status: Some(raw.status().as_u16()),
                code: None,
                message: None,
                html: is_html(raw, body),
            };
            let mut e = classify_parts(api, &parts);
            if e.class == ErrorClass::Other || e.class == ErrorClass::Invalid {
                e.message = format!("unreadable answer: {}", DisplayErrorContext(&err));
            }
            e
        }
        SdkError::ServiceError(s) => {
            let raw = s.raw();
            let body = raw.body().bytes().unwrap_or_default();
            let parts = ErrorParts {
                status: Some(raw.status().as_u16()),
                code: s.err().code(),
                message: s.err().message(),
                html: is_html(raw, body),
            };
            classify_parts(api, &parts)
        }
        _ => RegistryError::new(ErrorClass::Other, DisplayErrorContext(&err).to_string())
            .with_api(api),
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

/// Whether `e` carries the AWS error code `code` (the message starts with it).
pub(crate) fn has_code(e: &RegistryError, code: &str) -> bool {
    e.message.starts_with(code)
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
        assert!(has_code(&e, "ResourceAlreadyExistsException"));
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

    #[test]
    fn no_answer_is_described() {
        let e = classify_parts("X", &ErrorParts::default());
        assert_eq!(e.class, ErrorClass::Other);
        assert_eq!(e.message, "no answer");
    }
}
