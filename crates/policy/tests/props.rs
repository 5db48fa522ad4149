//! Property tests: no panics, determinism, deny monotonicity, matching against a reference.

use std::collections::BTreeMap;

use iot_crr_policy::{
    Action, CertificateInfo, Context, Decision, DnAttribute, Pattern, Policy, Request,
    ThingContext, evaluate, wildcard_match,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const PIECES: &[&str] = &[
    "arn:aws:iot:us-east-1:123456789012:",
    "topic/",
    "client/",
    "topicfilter/",
    "*",
    "?",
    "a",
    "b",
    "/",
    ":",
    "+",
    "#",
    "${iot:ClientId}",
    "${iot:Connection.Thing.ThingName}",
    "${iot:Connection.Thing.ThingTypeName}",
    "${iot:Connection.Thing.Attributes[k]}",
    "${iot:Connection.Thing.IsAttached}",
    "${iot:Certificate.Subject.CommonName}",
    "${iot:Certificate.Subject.Organization.1}",
    "${iot:Certificate.Subject.Organization.List}",
    "${aws:SourceIp}",
    "${*}",
    "${?}",
    "${$}",
    "${",
    "}",
    "é",
];

const ACTIONS: &[&str] = &[
    "iot:*",
    "*",
    "iot:Connect",
    "iot:Pub*",
    "IOT:publish",
    "iot:?ubscribe",
    "iot:Receive",
    "iot:*Shadow",
    "s3:*",
];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "Bool",
    "ArnLike",
    "ArnNotEquals",
    "Null",
    "StringEqualsIfExists",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEquals",
    "ForAllValues:StringNotEqualsIfExists",
    "DateGreaterThan",
    "NullIfExists",
];

const KEYS: &[&str] = &[
    "iot:ClientId",
    "iot:Connection.Thing.ThingName",
    "iot:Connection.Thing.ThingTypeName",
    "iot:Connection.Thing.Attributes[k]",
    "iot:Connection.Thing.IsAttached",
    "iot:Certificate.Subject.CommonName",
    "iot:Certificate.Subject.Organization.List",
    "iot:certificate.serialnumber",
    "aws:SourceIp",
];

fn text(max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..max)
        .prop_map(|v| v.concat())
        .boxed()
}

fn string_or_list(s: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
    prop_oneof![
        s.clone().prop_map(Value::String),
        prop::collection::vec(s.prop_map(Value::String), 1..3).prop_map(Value::Array),
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(OPERATORS),
            prop::sample::select(KEYS),
            prop_oneof![
                string_or_list(text(4)),
                any::<bool>().prop_map(Value::Bool),
                prop::sample::select(&["true", "false"][..]).prop_map(|s| json!(s)),
            ],
        ),
        1..3,
    )
    .prop_map(|entries| {
        let mut ops = serde_json::Map::new();
        for (op, key, values) in entries {
            let entry = ops.entry(op.to_string()).or_insert_with(|| json!({}));
            if let Value::Object(keys) = entry {
                keys.insert(key.to_string(), values);
            }
        }
        Value::Object(ops)
    })
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop::sample::select(&["Allow", "Deny"][..]).boxed(),
    };
    (
        effect,
        any::<bool>(),
        string_or_list(
            prop::sample::select(ACTIONS)
                .prop_map(str::to_string)
                .boxed(),
        ),
        any::<bool>(),
        string_or_list(prop_oneof![Just("*".to_string()), text(6)].boxed()),
        prop::option::of(condition()),
    )
        .prop_map(
            |(effect, not_action, actions, not_resource, resources, condition)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    actions,
                );
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    resources,
                );
                if let Some(c) = condition {
                    s.insert("Condition".into(), c);
                }
                Value::Object(s)
            },
        )
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&[None, Some("2012-10-17"), Some("2008-10-17")][..]),
        prop::collection::vec(statement(None), 1..4),
    )
        .prop_map(|(version, statements)| {
            let mut d = serde_json::Map::new();
            if let Some(v) = version {
                d.insert("Version".into(), json!(v));
            }
            d.insert("Statement".into(), Value::Array(statements));
            Value::Object(d)
        })
}

/// A request's parts: action, resource, client id, thing?, certificate?
#[derive(Debug, Clone)]
struct Req {
    action: Action,
    resource: String,
    client_id: String,
    thing: Option<(String, Option<String>, Option<String>)>,
    cert: Option<(Option<String>, Vec<String>)>,
}

fn literal() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            &[
                "a",
                "b",
                "/",
                "*",
                "?",
                "+",
                "#",
                "$",
                "${iot:ClientId}",
                "é",
            ][..],
        ),
        0..5,
    )
    .prop_map(|v| v.concat())
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(&Action::ALL[..]),
        prop::sample::select(
            &[
                "arn:aws:iot:us-east-1:123456789012:topic/",
                "arn:aws:iot:us-east-1:123456789012:client/",
                "x",
            ][..],
        ),
        literal(),
        literal(),
        prop::option::of((
            literal(),
            prop::option::of(literal()),
            prop::option::of(literal()),
        )),
        prop::option::of((
            prop::option::of(literal()),
            prop::collection::vec(literal(), 0..3),
        )),
    )
        .prop_map(|(action, prefix, rest, client_id, thing, cert)| Req {
            action,
            resource: format!("{prefix}{rest}"),
            client_id,
            thing,
            cert,
        })
}

fn run(policies: &[&Policy], r: &Req) -> Decision {
    let attributes: BTreeMap<String, String> = r
        .thing
        .as_ref()
        .and_then(|t| t.2.clone())
        .map(|v| BTreeMap::from([("k".to_string(), v)]))
        .unwrap_or_default();
    let cert = r.cert.as_ref().map(|(cn, orgs)| {
        let mut c = CertificateInfo::default();
        if let Some(cn) = cn {
            c = c.with_subject(DnAttribute::CommonName, cn);
        }
        for o in orgs {
            c = c.with_subject(DnAttribute::Organization, o);
        }
        c.with_serial_number("42")
    });
    let context = Context {
        client_id: &r.client_id,
        thing: r.thing.as_ref().map(|t| ThingContext {
            name: &t.0,
            type_name: t.1.as_deref(),
            attributes: &attributes,
        }),
        certificate: cert.as_ref(),
    };
    evaluate(
        policies,
        &Request {
            action: r.action,
            resource: &r.resource,
            context: &context,
        },
    )
}

/// The reference matcher: plain recursion over characters.
fn reference(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = Policy::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_json_like_strings(s in "[\\[\\]{}\":, a-zA-Z0-9$*?.-]{0,80}") {
        let _ = Policy::parse(&s);
    }

    #[test]
    fn generated_documents_parse_and_evaluate_deterministically(d in document(), r in request()) {
        let text = d.to_string();
        let p = Policy::parse(&text);
        prop_assert!(p.is_ok(), "{:?}\n{}", p.err(), text);
        if let Ok(p) = p {
            let first = run(&[&p], &r);
            prop_assert_eq!(&first, &run(&[&p], &r));
            let _ = p.uses_certificate();
            let _ = p.uses_thing();
            let _ = p.thing_attributes();
            let _ = p.arns_anchored_at("aws", "us-east-1", "123456789012");
            for s in p.statements() {
                for pat in s.resources() {
                    let ctx = Context { client_id: &r.client_id, thing: None, certificate: None };
                    let _ = pat.substitute(&ctx);
                }
            }
        }
    }

    #[test]
    fn adding_a_deny_never_turns_a_non_allow_into_allow(d in document(), deny in statement(Some("Deny")), r in request()) {
        let before = Policy::parse(&d.to_string());
        let mut with_deny = d.clone();
        if let Some(Value::Array(statements)) = with_deny.get_mut("Statement") {
            statements.push(deny);
        }
        let after = Policy::parse(&with_deny.to_string());
        if let (Ok(before), Ok(after)) = (before, after) {
            let b = run(&[&before], &r);
            let a = run(&[&after], &r);
            if !b.is_allowed() {
                prop_assert!(!a.is_allowed(), "{:?} -> {:?}", b, a);
            }
            if let Decision::ExplicitDeny { .. } = b {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn a_deny_in_another_policy_never_turns_a_non_allow_into_allow(d in document(), deny in statement(Some("Deny")), r in request()) {
        if let Ok(p) = Policy::parse(&d.to_string()) {
            let deny_doc = json!({"Version": "2012-10-17", "Statement": [deny]}).to_string();
            if let Ok(q) = Policy::parse(&deny_doc) {
                let b = run(&[&p], &r);
                let a = run(&[&p, &q], &r);
                if !b.is_allowed() {
                    prop_assert!(!a.is_allowed());
                }
            }
        }
    }

    #[test]
    fn a_literal_pattern_matches_exactly_itself(s in "[a-zA-Z0-9/:+#._-]{0,24}", t in "[a-zA-Z0-9/:+#._-]{0,24}") {
        let ctx = Context { client_id: "c", thing: None, certificate: None };
        let p = Pattern::new(&s);
        prop_assert!(p.is_literal());
        prop_assert_eq!(p.matches(&s, &ctx), Some(true));
        prop_assert_eq!(p.matches(&t, &ctx), Some(s == t));
        prop_assert_eq!(p.substitute(&ctx), Some(s.clone()));
    }

    #[test]
    fn glob_agrees_with_the_reference_matcher(p in "[ab*?/é]{0,8}", t in "[ab/é]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        let expected = reference(&pc, &tc);
        prop_assert_eq!(wildcard_match(&p, &t), expected);
        let ctx = Context { client_id: "c", thing: None, certificate: None };
        prop_assert_eq!(Pattern::new(&p).matches(&t, &ctx), Some(expected));
    }

    #[test]
    fn substituted_variables_are_literal(p in "[ab*?]{0,6}", cid in "[ab*?]{0,4}", t in "[ab*?]{0,10}") {
        // A pattern with ${iot:ClientId} matches like the pattern with the client id's
        // characters escaped: the reference sees them as literal.
        let ctx = Context { client_id: &cid, thing: None, certificate: None };
        let pattern = Pattern::new(&format!("{p}${{iot:ClientId}}"));
        let tc: Vec<char> = t.chars().collect();
        let expected = (0..=tc.len()).any(|split| {
            reference(&p.chars().collect::<Vec<_>>(), &tc[..split])
                && tc[split..].iter().collect::<String>() == cid
        });
        prop_assert_eq!(pattern.matches(&t, &ctx), Some(expected));
    }
}
