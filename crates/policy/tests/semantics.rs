//! Decision rules, matching rules, variables and conditions.

mod common;

use common::*;
use iot_crr_policy::{Action, CertificateInfo, Context, Decision, DnAttribute, Effect, Pattern};

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"iot:*","Resource":"*"}"#;

#[test]
fn deny_in_one_policy_wins_over_allow_in_another() {
    let allow = policy(&doc(ALLOW_ALL));
    let deny = policy(&doc(
        r#"{"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/secret"}"#,
    ));
    let d = |a, r: &str| decide_all(&[&allow, &deny], a, r, "c", None, None);
    assert_eq!(
        d(Action::Publish, "topic/secret"),
        Decision::ExplicitDeny {
            policy: 1,
            statement: 0
        }
    );
    assert_eq!(d(Action::Publish, "topic/open"), allowed(0));
    assert_eq!(d(Action::Receive, "topic/secret"), allowed(0));
}

#[test]
fn default_is_implicit_deny() {
    let p = policy(&doc(
        r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}"#,
    ));
    assert_eq!(
        decide_all(&[&p], Action::Publish, "topic/x", "c", None, None),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide_all(&[], Action::Connect, "client/c", "c", None, None),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_action_and_not_resource() {
    let d = doc(
        r#"{"Effect":"Allow","NotAction":["iot:Connect","iot:*Shadow"],"NotResource":"arn:aws:iot:us-east-1:123456789012:topic/private/*"}"#,
    );
    let p = policy(&d);
    assert!(p.statements()[0].is_not_action());
    assert!(p.statements()[0].actions().is_empty());
    assert!(p.statements()[0].is_not_resource());
    assert!(p.statements()[0].resources().is_empty());
    assert_eq!(p.statements()[0].not_resources().len(), 1);
    let e = |a, r: &str| decide(&d, a, r, "c", None, None);
    assert_eq!(e(Action::Publish, "topic/public/x"), allowed(0));
    assert_eq!(
        e(Action::Publish, "topic/private/x"),
        Decision::ImplicitDeny
    );
    assert_eq!(e(Action::Connect, "client/c"), Decision::ImplicitDeny);
    assert_eq!(e(Action::GetThingShadow, "thing/c"), Decision::ImplicitDeny);
    assert_eq!(
        e(Action::AssumeRoleWithCertificate, "rolealias/r"),
        allowed(0)
    );
}

#[test]
fn action_wildcards_and_case() {
    let actions = |pattern: &str| {
        policy(&doc(&format!(
            r#"{{"Effect":"Allow","Action":"{pattern}","Resource":"*"}}"#
        )))
        .statements()[0]
            .actions()
    };
    assert_eq!(actions("iot:*"), Action::ALL.to_vec());
    assert_eq!(actions("*"), Action::ALL.to_vec());
    assert_eq!(actions("iot:Pub*"), vec![Action::Publish]);
    assert_eq!(actions("IOT:publish"), vec![Action::Publish]);
    assert_eq!(
        actions("iot:*Publish"),
        vec![Action::Publish, Action::RetainPublish]
    );
    assert_eq!(
        actions("iot:??????ThingShadow"),
        vec![Action::UpdateThingShadow, Action::DeleteThingShadow]
    );
    assert_eq!(actions("iot:DescribeThing"), vec![]);
    assert_eq!(actions("s3:*"), vec![]);
}

#[test]
fn action_names_and_resource_types() {
    assert_eq!(Action::Connect.as_str(), "iot:Connect");
    assert_eq!(
        Action::AssumeRoleWithCertificate.as_str(),
        "iot:AssumeRoleWithCertificate"
    );
    assert_eq!(Action::Connect.resource_type(), "client");
    assert_eq!(Action::Publish.resource_type(), "topic");
    assert_eq!(Action::Receive.resource_type(), "topic");
    assert_eq!(Action::RetainPublish.resource_type(), "topic");
    assert_eq!(Action::Subscribe.resource_type(), "topicfilter");
    assert_eq!(Action::GetThingShadow.resource_type(), "thing");
    assert_eq!(Action::UpdateThingShadow.resource_type(), "thing");
    assert_eq!(Action::DeleteThingShadow.resource_type(), "thing");
    assert_eq!(
        Action::AssumeRoleWithCertificate.resource_type(),
        "rolealias"
    );
    for a in Action::ALL {
        assert_eq!(Action::from_name(&a.as_str().to_uppercase()), Some(a));
    }
}

#[test]
fn resource_question_mark_star_and_case() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":["arn:aws:iot:us-east-1:123456789012:topic/a?c","arn:aws:iot:*:topic/star/*"]}"#,
    );
    let e = |r: &str| decide(&d, Action::Publish, r, "c", None, None);
    assert_eq!(e("topic/abc"), allowed(0));
    assert_eq!(e("topic/ac"), Decision::ImplicitDeny);
    assert_eq!(e("topic/ABC"), Decision::ImplicitDeny);
    assert_eq!(e("topic/star/x/y"), allowed(0));
    assert_eq!(e("arn:aws:iot:eu-west-1:999:topic/star/x"), allowed(0));
    assert_eq!(e("topic/Star/x"), Decision::ImplicitDeny);
}

#[test]
fn escapes_are_literal_characters() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/${*}/${?}/${$}x"}"#,
    );
    let e = |r: &str| decide(&d, Action::Publish, r, "c", None, None);
    assert_eq!(e("topic/*/?/$x"), allowed(0));
    assert_eq!(e("topic/a/?/$x"), Decision::ImplicitDeny);
    assert_eq!(e("topic/*/b/$x"), Decision::ImplicitDeny);
    let ctx = Context {
        client_id: "c",
        thing: None,
        certificate: None,
    };
    let p = Pattern::new("a/${*}/*/${iot:ClientId}");
    assert_eq!(p.substitute(&ctx).as_deref(), Some("a/*/*/c"));
    assert_eq!(p.matches("a/*/zz/c", &ctx), Some(true));
    assert_eq!(p.matches("a/b/zz/c", &ctx), Some(false));
}

#[test]
fn substituted_client_id_is_literal() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}"}"#,
    );
    assert_eq!(
        decide(&d, Action::Publish, "topic/*", "*", None, None),
        allowed(0)
    );
    assert_eq!(
        decide(&d, Action::Publish, "topic/x", "*", None, None),
        Decision::ImplicitDeny
    );
}

#[test]
fn unresolved_thing_variable_without_thing() {
    let ctx = Context {
        client_id: "c",
        thing: None,
        certificate: None,
    };
    let p = Pattern::new("topic/${iot:Connection.Thing.ThingName}/x");
    assert_eq!(p.substitute(&ctx), None);
    assert_eq!(p.matches("topic/c/x", &ctx), Some(false));
    // AWS leaves the text of an unresolved variable in place.
    assert_eq!(
        p.matches("topic/${iot:Connection.Thing.ThingName}/x", &ctx),
        Some(true)
    );
    // A Deny with NotResource on an unresolved variable does apply.
    let d = doc(r#"{"Effect":"Allow","Action":"iot:*","Resource":"*"},
           {"Effect":"Deny","Action":"iot:Publish","NotResource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"}"#);
    assert_eq!(
        decide(&d, Action::Publish, "topic/c/x", "c", None, None),
        denied(1)
    );
    let t = Thing::new("c");
    assert_eq!(
        decide(&d, Action::Publish, "topic/c/x", "c", Some(&t), None),
        allowed(0)
    );
}

#[test]
fn thing_type_and_is_attached_variables() {
    let ctx_none = Context {
        client_id: "c",
        thing: None,
        certificate: None,
    };
    let untyped = Thing::new("c");
    let typed = Thing::new("c").typed("lamp");
    let ctx_untyped = Context {
        client_id: "c",
        thing: Some(untyped.context()),
        certificate: None,
    };
    let ctx_typed = Context {
        client_id: "c",
        thing: Some(typed.context()),
        certificate: None,
    };
    let p =
        Pattern::new("${iot:Connection.Thing.ThingTypeName}/${iot:Connection.Thing.IsAttached}");
    assert_eq!(p.substitute(&ctx_typed).as_deref(), Some("lamp/true"));
    assert_eq!(p.substitute(&ctx_untyped), None);
    let attached = Pattern::new("${iot:Connection.Thing.IsAttached}");
    assert_eq!(attached.substitute(&ctx_none).as_deref(), Some("false"));
}

#[test]
fn if_exists_and_null() {
    let d = doc(r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"StringEqualsIfExists":{"iot:Connection.Thing.ThingTypeName":"lamp"}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*",
            "Condition":{"Null":{"iot:Connection.Thing.ThingTypeName":"true"}}},
           {"Effect":"Allow","Action":"iot:Subscribe","Resource":"*",
            "Condition":{"StringEquals":{"iot:Connection.Thing.ThingTypeName":"lamp"}}},
           {"Effect":"Allow","Action":"iot:Receive","Resource":"*",
            "Condition":{"StringNotEquals":{"iot:Connection.Thing.ThingTypeName":"lamp"}}}"#);
    let untyped = Thing::new("c");
    let lamp = Thing::new("c").typed("lamp");
    let fan = Thing::new("c").typed("fan");
    let e = |a, t: &Thing| decide(&d, a, "x", "c", Some(t), None).is_allowed();
    // IfExists: true when absent, else the comparison.
    assert!(e(Action::Connect, &untyped));
    assert!(e(Action::Connect, &lamp));
    assert!(!e(Action::Connect, &fan));
    // Null "true": only when absent.
    assert!(e(Action::Publish, &untyped));
    assert!(!e(Action::Publish, &lamp));
    // A plain operator is false on an absent key; a negated one true (IAM).
    assert!(!e(Action::Subscribe, &untyped));
    assert!(e(Action::Subscribe, &lamp));
    assert!(e(Action::Receive, &untyped));
    assert!(e(Action::Receive, &fan));
    assert!(!e(Action::Receive, &lamp));
}

#[test]
fn multiple_values_or_negated_nor_keys_and() {
    let d = doc(r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"StringEquals":{"iot:ClientId":["a","b"]}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*",
            "Condition":{"StringNotEquals":{"iot:ClientId":["a","b"]}}},
           {"Effect":"Allow","Action":"iot:Subscribe","Resource":"*",
            "Condition":{"StringLike":{"iot:ClientId":"dev-*","iot:Connection.Thing.ThingName":"dev-?"}}},
           {"Effect":"Allow","Action":"iot:Receive","Resource":"*",
            "Condition":{"StringEqualsIgnoreCase":{"iot:ClientId":"ABC"},"StringNotLike":{"iot:ClientId":"*z"}}}"#);
    let e = |a, cid: &str, t: Option<&Thing>| decide(&d, a, "x", cid, t, None).is_allowed();
    assert!(e(Action::Connect, "a", None));
    assert!(e(Action::Connect, "b", None));
    assert!(!e(Action::Connect, "c", None));
    assert!(!e(Action::Publish, "a", None));
    assert!(!e(Action::Publish, "b", None));
    assert!(e(Action::Publish, "c", None));
    let t = Thing::new("dev-1");
    assert!(e(Action::Subscribe, "dev-1", Some(&t)));
    assert!(!e(Action::Subscribe, "dev-1", None));
    assert!(e(Action::Receive, "abc", None));
    assert!(!e(Action::Receive, "abz", None));
}

#[test]
fn condition_values_with_variables_and_bool_arn() {
    let d = doc(r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"StringEquals":{"iot:Connection.Thing.ThingName":"${iot:ClientId}"}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*",
            "Condition":{"Bool":{"iot:Connection.Thing.IsAttached":false}}},
           {"Effect":"Allow","Action":"iot:Subscribe","Resource":"*",
            "Condition":{"ArnLike":{"iot:ClientId":"arn:aws:iot:*:123:client/*"}}},
           {"Effect":"Allow","Action":"iot:Receive","Resource":"*",
            "Condition":{"StringLike":{"iot:ClientId":"${*}x"}}}"#);
    let t = Thing::new("dev");
    let e = |a, cid: &str, t: Option<&Thing>| decide(&d, a, "x", cid, t, None).is_allowed();
    assert!(e(Action::Connect, "dev", Some(&t)));
    assert!(!e(Action::Connect, "dev", None));
    assert!(e(Action::Publish, "dev", None));
    assert!(!e(Action::Publish, "dev", Some(&t)));
    assert!(e(
        Action::Subscribe,
        "arn:aws:iot:eu-west-1:123:client/a",
        None
    ));
    assert!(!e(
        Action::Subscribe,
        "arn:aws:iot:eu-west-1:124:client/a",
        None
    ));
    assert!(e(Action::Receive, "*x", None));
    assert!(!e(Action::Receive, "ax", None));
}

#[test]
fn for_any_and_for_all_values() {
    let d = doc(r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"ForAnyValue:StringLike":{"iot:Certificate.Subject.OrganizationalUnit.List":"Fleet*"}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*",
            "Condition":{"ForAllValues:StringEquals":{"iot:Certificate.Subject.OrganizationalUnit.List":["A","B"]}}}"#);
    let ab = CertificateInfo::default()
        .with_subject(DnAttribute::OrganizationalUnit, "A")
        .with_subject(DnAttribute::OrganizationalUnit, "Fleet-1");
    let none = CertificateInfo::default();
    let e = |a, c: &CertificateInfo| decide(&d, a, "x", "c", None, Some(c)).is_allowed();
    assert!(e(Action::Connect, &ab));
    assert!(
        !e(Action::Connect, &none),
        "ForAnyValue on an absent key is false"
    );
    assert!(!e(Action::Publish, &ab));
    assert!(
        e(Action::Publish, &none),
        "ForAllValues on an absent key is true"
    );
}

#[test]
fn unknown_operator_key_and_variable_are_undecidable_naming_the_statement() {
    let d = doc(
        r#"{"Sid":"date","Effect":"Allow","Action":"iot:Connect","Resource":"*",
            "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
           {"Sid":"ip","Effect":"Allow","Action":"iot:Publish","Resource":"*",
            "Condition":{"StringEquals":{"aws:SourceIp":"1.2.3.4"}}},
           {"Sid":"var","Effect":"Allow","Action":"iot:Subscribe","Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/${aws:SourceIp}"}"#,
    );
    let p = policy(&d);
    let reasons: Vec<_> = p.statements().iter().map(|s| s.undecidable()).collect();
    assert_eq!(
        reasons,
        vec![
            Some("unknown condition operator \"DateGreaterThan\""),
            Some("unknown condition key \"aws:SourceIp\""),
            Some("unknown policy variable ${aws:SourceIp}"),
        ]
    );
    assert!(!p.is_decidable());
    for (i, a) in [Action::Connect, Action::Publish, Action::Subscribe]
        .into_iter()
        .enumerate()
    {
        let r = decide(&d, a, "topicfilter/x", "c", None, None);
        assert_eq!(
            undecidable_at(&r).map(|u| (u.0, u.1)),
            Some((0, i)),
            "{r:?}"
        );
    }
    // Not undecidable when the action does not match.
    assert_eq!(
        decide(&d, Action::Receive, "x", "c", None, None),
        Decision::ImplicitDeny
    );
}

#[test]
fn decidable_deny_beats_undecidable_allow_and_undecidable_deny_blocks_allow() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"NumericEquals":{"iot:ClientId":"1"}}},
           {"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/deny"},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/ok"},
           {"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/ok","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
    );
    let e = |r: &str| decide(&d, Action::Publish, r, "c", None, None);
    assert_eq!(e("topic/deny"), denied(1));
    assert_eq!(undecidable_at(&e("topic/ok")).map(|u| u.1), Some(3));
    assert_eq!(undecidable_at(&e("topic/other")).map(|u| u.1), Some(0));
    let ok_only = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"NumericEquals":{"iot:ClientId":"1"}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*"}"#,
    );
    assert_eq!(
        decide(&ok_only, Action::Publish, "topic/x", "c", None, None),
        allowed(1)
    );
}

#[test]
fn a_false_part_decides_an_otherwise_undecidable_statement() {
    let d = doc(
        r#"{"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/a",
            "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*"}"#,
    );
    assert_eq!(
        decide(&d, Action::Publish, "topic/b", "c", None, None),
        allowed(1)
    );
    assert!(undecidable_at(&decide(&d, Action::Publish, "topic/a", "c", None, None)).is_some());
}

#[test]
fn certificate_variables_without_certificate_are_undecidable() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:Certificate.Subject.CommonName":"dev"}}},
           {"Effect":"Deny","Action":"iot:Publish","NotResource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.CommonName}/*"},
           {"Effect":"Allow","Action":"iot:Publish","Resource":"*"}"#,
    );
    let p = policy(&d);
    assert!(p.is_decidable());
    assert!(p.uses_certificate());
    let cert = CertificateInfo::default().with_subject(DnAttribute::CommonName, "dev");
    let e = |a, r: &str, c: Option<&CertificateInfo>| decide(&d, a, r, "c", None, c);
    assert_eq!(
        undecidable_at(&e(Action::Connect, "client/c", None)),
        Some((0, 0, "the certificate was not read"))
    );
    assert_eq!(
        undecidable_at(&e(Action::Publish, "topic/dev/x", None)),
        Some((0, 1, "the certificate was not read"))
    );
    assert_eq!(e(Action::Connect, "client/c", Some(&cert)), allowed(0));
    assert_eq!(e(Action::Publish, "topic/dev/x", Some(&cert)), allowed(2));
    assert_eq!(e(Action::Publish, "topic/other/x", Some(&cert)), denied(1));
}

#[test]
fn certificate_values_with_wildcards_are_not_substituted() {
    let d = doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.CommonName}"}"#,
    );
    let star = CertificateInfo::default().with_subject(DnAttribute::CommonName, "*");
    assert_eq!(
        decide(&d, Action::Publish, "topic/*", "c", None, Some(&star)),
        Decision::ImplicitDeny
    );
    let long = CertificateInfo::default().with_subject(DnAttribute::CommonName, &"a".repeat(1025));
    assert_eq!(
        decide(
            &d,
            Action::Publish,
            &format!("topic/{}", "a".repeat(1025)),
            "c",
            None,
            Some(&long)
        ),
        Decision::ImplicitDeny
    );
    let special = CertificateInfo::default().with_subject(DnAttribute::CommonName, "a,b=c");
    assert_eq!(special.common_name(), Some("a\\,b\\=c"));
    assert_eq!(
        decide(
            &d,
            Action::Publish,
            "topic/a\\,b\\=c",
            "c",
            None,
            Some(&special)
        ),
        allowed(0)
    );
}

#[test]
fn old_version_makes_variables_undecidable() {
    let d = r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}}"#;
    let p = policy(d);
    assert_eq!(p.version(), Some("2008-10-17"));
    assert!(!p.is_decidable());
    assert!(undecidable_at(&decide(d, Action::Connect, "client/c", "c", None, None)).is_some());
    let plain = r#"{"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}}"#;
    assert_eq!(
        decide(plain, Action::Connect, "client/c", "c", None, None),
        allowed(0)
    );
}

#[test]
fn statement_accessors() {
    let p = policy(&doc(
        r#"{"Sid":"s1","Effect":"Deny","Action":["iot:Connect"],"Resource":["a","b"],"Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}}"#,
    ));
    let s = &p.statements()[0];
    assert_eq!(s.index(), 0);
    assert_eq!(s.sid(), Some("s1"));
    assert_eq!(s.effect(), Effect::Deny);
    assert_eq!(s.actions(), vec![Action::Connect]);
    assert_eq!(
        s.resources().iter().map(|r| r.raw()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert!(s.has_conditions());
    assert!(s.undecidable().is_none());
    assert!(p.uses_thing());
}

#[test]
fn thing_attributes_are_sorted_and_deduplicated() {
    let p = policy(&doc(
        r#"{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:r:a:topic/${iot:Connection.Thing.Attributes[zone]}/${iot:Connection.Thing.Attributes[floor]}",
            "Condition":{"StringEquals":{"iot:Connection.Thing.Attributes[zone]":"${iot:Connection.Thing.Attributes[Building]}"}}}"#,
    ));
    assert_eq!(p.thing_attributes(), vec!["Building", "floor", "zone"]);
}

#[test]
fn arns_anchored_at() {
    let anchored = |statements: &str| {
        policy(&doc(statements)).arns_anchored_at("aws", "us-east-1", "123456789012")
    };
    assert!(anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"*"}"#
    ));
    assert!(anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":["arn:aws:iot:us-east-1:123456789012:topic/*","arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"]}"#
    ));
    assert!(anchored(
        r#"{"Effect":"Deny","Action":"iot:*","NotResource":"arn:aws:iot:us-east-1:123456789012:topic/x"}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:*:123456789012:topic/x"}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:us-east-1:12345678901?:topic/x"}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:us-east-1:123456789012"}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"topic/x"}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:eu-west-1:123456789012:topic/x"}"#
    ));
    assert!(anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"ArnLike":{"iot:ClientId":"arn:aws:iot:us-east-1:123456789012:client/*"}}}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"arn:aws:iot:us-east-1:123456789012:client/*"}}}"#
    ));
    assert!(!anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"ArnLike":{"iot:ClientId":"arn:aws:iot:*:123456789012:client/*"}}}"#
    ));
    assert!(anchored(
        r#"{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"dev"}}}"#
    ));
}

#[test]
fn long_resources_and_many_stars_are_fast() {
    let pattern = format!(
        "arn:aws:iot:us-east-1:123456789012:topic/{}b",
        "a*".repeat(100)
    );
    let d = doc(&format!(
        r#"{{"Effect":"Allow","Action":"iot:Publish","Resource":"{pattern}"}}"#
    ));
    let p = policy(&d);
    let resource = format!("topic/{}", "a".repeat(10_000));
    let start = std::time::Instant::now();
    assert_eq!(
        decide_all(&[&p], Action::Publish, &resource, "c", None, None),
        Decision::ImplicitDeny
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
