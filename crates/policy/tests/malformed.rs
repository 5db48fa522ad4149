//! Every malformed document is a `PolicyError` naming where it is wrong.

use iot_crr_policy::Policy;

/// `(document, statement index, Sid, a part of the message)`.
const CASES: &[(&str, Option<usize>, Option<&str>, &str)] = &[
    ("not json", None, None, "not JSON"),
    ("[]", None, None, "not an object"),
    (r#"{"Version":"2012-10-17"}"#, None, None, "no Statement"),
    (
        r#"{"Version":"2012-10-17","Statement":[]}"#,
        None,
        None,
        "empty",
    ),
    (
        r#"{"Version":"2012-10-17","Statement":"x"}"#,
        None,
        None,
        "not an object or an array",
    ),
    (
        r#"{"Version":"2019-01-01","Statement":[]}"#,
        None,
        None,
        "Version",
    ),
    (
        r#"{"Version":7,"Statement":[]}"#,
        None,
        None,
        "Version is a number",
    ),
    (r#"{"Statement":[],"Policy":1}"#, None, None, "\"Policy\""),
    (r#"{"Statement":[1]}"#, Some(0), None, "must be an object"),
    (
        r#"{"Statement":[{"Sid":3,"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        Some(0),
        None,
        "Sid is a number",
    ),
    (
        r#"{"Statement":[{"Sid":"s","Action":"*","Resource":"*"}]}"#,
        Some(0),
        Some("s"),
        "missing Effect",
    ),
    (
        r#"{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}"#,
        Some(0),
        None,
        "\"allow\"",
    ),
    (
        r#"{"Statement":[{"Effect":true,"Action":"*","Resource":"*"}]}"#,
        Some(0),
        None,
        "Effect is a boolean",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"two","Effect":"Deny","Action":"*","NotAction":"*","Resource":"*"}]}"#,
        Some(1),
        Some("two"),
        "both Action and NotAction",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        Some(0),
        None,
        "neither Action nor NotAction",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":["iot:Connect",5],"Resource":"*"}]}"#,
        Some(0),
        None,
        "Action[1] is a number",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
        Some(0),
        None,
        "Action is empty",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":{"a":1},"Resource":"*"}]}"#,
        Some(0),
        None,
        "Action is an object",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#,
        Some(0),
        None,
        "neither Resource nor NotResource",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#,
        Some(0),
        None,
        "both Resource and NotResource",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","NotAction":"*","NotResource":[null]}]}"#,
        Some(0),
        None,
        "NotResource[0] is null",
    ),
    (
        r#"{"Statement":[{"Sid":"p","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
        Some(0),
        Some("p"),
        "\"Principal\"",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}]}"#,
        Some(0),
        None,
        "Condition is an array",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}]}"#,
        Some(0),
        None,
        "not an object of keys",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":{"a":1}}}}]}"#,
        Some(0),
        None,
        "is an object",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":[null]}}}]}"#,
        Some(0),
        None,
        "[0] is null",
    ),
    (
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":[]}}}]}"#,
        Some(0),
        None,
        "no values",
    ),
];

#[test]
fn malformed_documents_are_errors_naming_the_statement() {
    for (doc, statement, sid, part) in CASES {
        let err = match Policy::parse(doc) {
            Ok(_) => panic!("parsed: {doc}"),
            Err(e) => e,
        };
        assert_eq!(err.statement, *statement, "{doc}: {err}");
        assert_eq!(err.sid.as_deref(), *sid, "{doc}: {err}");
        assert!(
            err.message.contains(part),
            "{doc}: {err} should say {part:?}"
        );
        if let Some(i) = statement {
            assert!(err.to_string().contains(&format!("statement {i}")), "{err}");
        }
        if let Some(s) = sid {
            assert!(err.to_string().contains(s), "{err}");
        }
    }
}

#[test]
fn a_single_statement_object_and_scalar_condition_values_parse() {
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"Bool":{"iot:Connection.Thing.IsAttached":true},"StringEquals":{"iot:ClientId":12}}}}"#,
    );
    assert!(p.is_ok(), "{p:?}");
}
