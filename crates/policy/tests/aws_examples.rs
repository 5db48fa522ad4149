//! The example policies of the AWS IoT Core developer guide, with the outcomes the guide
//! describes for them. Each test is named after its example (page and example).
//!
//! Pages: connect-policy.html, pub-sub-policy.html, thing-policy-examples.html,
//! certificate-policy-examples.html, cert-policy-variables.html, use-policy-variables.html
//! (https://docs.aws.amazon.com/iot/latest/developerguide/...).

mod common;

use common::*;
use iot_crr_policy::{Action, CertificateInfo, Decision, DnAttribute};

const CONNECT_CLIENT1: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["iot:Connect"],
    "Resource": ["arn:aws:iot:us-east-1:123456789012:client/client1"]
  }]
}"#;

#[test]
fn connect_policy_allow_client1() {
    let d = |cid: &str| {
        decide(
            CONNECT_CLIENT1,
            Action::Connect,
            &format!("client/{cid}"),
            cid,
            None,
            None,
        )
    };
    assert_eq!(d("client1"), allowed(0));
    assert_eq!(d("client2"), Decision::ImplicitDeny);
    assert_eq!(
        d("Client1"),
        Decision::ImplicitDeny,
        "resources are case-sensitive"
    );
    assert_eq!(
        decide(
            CONNECT_CLIENT1,
            Action::Publish,
            "client/client1",
            "client1",
            None,
            None
        ),
        Decision::ImplicitDeny
    );
}

const CONNECT_DENY_CLIENTS_ALLOW_THING: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Deny",
      "Action": ["iot:Connect"],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:client/client1",
        "arn:aws:iot:us-east-1:123456789012:client/client2"
      ]
    },
    {
      "Effect": "Allow",
      "Action": ["iot:Connect"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]
    }
  ]
}"#;

#[test]
fn connect_policy_deny_client1_client2_allow_thing_name() {
    let doc = CONNECT_DENY_CLIENTS_ALLOW_THING;
    let thing7 = Thing::new("thing-7");
    assert_eq!(
        decide(
            doc,
            Action::Connect,
            "client/thing-7",
            "thing-7",
            Some(&thing7),
            None
        ),
        allowed(1)
    );
    // A thing named client1 is still denied: the explicit deny wins.
    let client1 = Thing::new("client1");
    assert_eq!(
        decide(
            doc,
            Action::Connect,
            "client/client1",
            "client1",
            Some(&client1),
            None
        ),
        denied(0)
    );
    // No registered thing: the variable does not resolve, nothing allows.
    assert_eq!(
        decide(doc, Action::Connect, "client/other", "other", None, None),
        Decision::ImplicitDeny
    );
}

const PUBLISH_THING_PREFIX: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iot:Connect"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]
    },
    {
      "Effect": "Allow",
      "Action": ["iot:Publish"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"]
    }
  ]
}"#;

#[test]
fn pub_sub_registered_devices_publish_under_thing_name() {
    let t1 = Thing::new("t1");
    let d = |res: &str, thing: Option<&Thing>| {
        decide(
            PUBLISH_THING_PREFIX,
            Action::Publish,
            res,
            "t1",
            thing,
            None,
        )
    };
    assert_eq!(d("topic/t1/x", Some(&t1)), allowed(1));
    assert_eq!(d("topic/t1/x/y/z", Some(&t1)), allowed(1));
    assert_eq!(d("topic/t2/x", Some(&t1)), Decision::ImplicitDeny);
    assert_eq!(d("topic/t1", Some(&t1)), Decision::ImplicitDeny);
    assert_eq!(d("topic/t1/x", None), Decision::ImplicitDeny);
    assert_eq!(
        decide(
            PUBLISH_THING_PREFIX,
            Action::Connect,
            "client/t1",
            "t1",
            Some(&t1),
            None
        ),
        allowed(0)
    );
}

const PUBLISH_CLIENT_PREFIX: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iot:Connect"],
      "Resource": [
        "arn:aws:iot:us-east-1:123456789012:client/client1",
        "arn:aws:iot:us-east-1:123456789012:client/client2",
        "arn:aws:iot:us-east-1:123456789012:client/client3"
      ]
    },
    {
      "Effect": "Allow",
      "Action": ["iot:Publish"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/*"]
    }
  ]
}"#;

#[test]
fn pub_sub_unregistered_devices_publish_under_client_id() {
    let d = |a, res: &str, cid: &str| decide(PUBLISH_CLIENT_PREFIX, a, res, cid, None, None);
    assert_eq!(d(Action::Connect, "client/client2", "client2"), allowed(0));
    assert_eq!(
        d(Action::Connect, "client/client4", "client4"),
        Decision::ImplicitDeny
    );
    assert_eq!(d(Action::Publish, "topic/client2/a", "client2"), allowed(1));
    assert_eq!(
        d(Action::Publish, "topic/client1/a", "client2"),
        Decision::ImplicitDeny
    );
}

const SUBSCRIBE_ROOM: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iot:Connect"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]
    },
    {
      "Effect": "Allow",
      "Action": ["iot:Subscribe"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/${iot:Connection.Thing.ThingName}/room*"]
    },
    {
      "Effect": "Allow",
      "Action": ["iot:Receive"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/room*"]
    }
  ]
}"#;

#[test]
fn pub_sub_registered_devices_subscribe_rooms_topic_vs_topicfilter() {
    let t = Thing::new("thing1");
    let d = |a, res: &str| decide(SUBSCRIBE_ROOM, a, res, "thing1", Some(&t), None);
    assert_eq!(d(Action::Subscribe, "topicfilter/thing1/room1"), allowed(1));
    assert_eq!(d(Action::Subscribe, "topicfilter/thing1/room2"), allowed(1));
    assert_eq!(d(Action::Receive, "topic/thing1/room1"), allowed(2));
    // Subscribe is checked on topicfilter, Receive on topic: not interchangeable.
    assert_eq!(
        d(Action::Subscribe, "topic/thing1/room1"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        d(Action::Receive, "topicfilter/thing1/room1"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        d(Action::Publish, "topic/thing1/room1"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        d(Action::Subscribe, "topicfilter/thing1/kitchen"),
        Decision::ImplicitDeny
    );
}

const MQTT_WILDCARDS_LITERAL: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/*"
    },
    {
      "Effect": "Deny",
      "Action": "iot:Subscribe",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/restricted/*"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Receive",
      "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/a/restricted/*"
    }
  ]
}"#;

#[test]
fn pub_sub_mqtt_wildcards_are_literal_and_not_resource_for_receive() {
    let d = |a, res: &str| decide(MQTT_WILDCARDS_LITERAL, a, res, "c", None, None);
    // `a/#` is not matched by the Deny's `a/restricted/*`: subscribing is allowed, as the guide warns.
    assert_eq!(d(Action::Subscribe, "topicfilter/a/#"), allowed(0));
    assert_eq!(
        d(Action::Subscribe, "topicfilter/a/restricted/x"),
        denied(1)
    );
    // The NotResource statement keeps the restricted topics from being received.
    assert_eq!(d(Action::Receive, "topic/a/b"), allowed(2));
    assert_eq!(
        d(Action::Receive, "topic/a/restricted/x"),
        Decision::ImplicitDeny
    );
}

const SUBSCRIBE_DENY_RECEIVE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/device/update"
    },
    {
      "Effect": "Deny",
      "Action": "iot:Receive",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topic/device/update"
    }
  ]
}"#;

#[test]
fn pub_sub_allow_subscribe_deny_receive_device_update() {
    let d = |a, res: &str| decide(SUBSCRIBE_DENY_RECEIVE, a, res, "c", None, None);
    assert_eq!(
        d(Action::Subscribe, "topicfilter/device/update"),
        allowed(0)
    );
    assert_eq!(d(Action::Receive, "topic/device/update"), denied(1));
}

#[test]
fn pub_sub_registered_devices_subscribe_some_plus_topic_literal() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]},
        {"Effect": "Allow", "Action": ["iot:Subscribe"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/some/+/topic"]}
      ]
    }"#;
    let t = Thing::new("d1");
    let d = |res: &str| decide(doc, Action::Subscribe, res, "d1", Some(&t), None);
    assert_eq!(d("topicfilter/some/+/topic"), allowed(1));
    assert_eq!(d("topicfilter/some/sensor/topic"), Decision::ImplicitDeny);
}

#[test]
fn pub_sub_registered_devices_subscribe_some_star_topic() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["iot:Subscribe"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/some/*/topic"]}
      ]
    }"#;
    let d = |res: &str| decide(doc, Action::Subscribe, res, "d1", None, None);
    assert_eq!(d("topicfilter/some/sensor/topic"), allowed(0));
    assert_eq!(d("topicfilter/some/+/topic"), allowed(0));
    // `*` is not confined to one level.
    assert_eq!(d("topicfilter/some/a/b/topic"), allowed(0));
    assert_eq!(d("topicfilter/some/topic"), Decision::ImplicitDeny);
}

#[test]
fn pub_sub_wildcard_table_question_marks() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": "iot:Publish",
         "Resource": "arn:aws:iot:us-east-1:123456789012:topic/some/?????/topic"},
        {"Effect": "Allow", "Action": "iot:Subscribe",
         "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/some/sensor???/topic"}
      ]
    }"#;
    let d = |a, res: &str| decide(doc, a, res, "c", None, None);
    assert_eq!(d(Action::Publish, "topic/some/abcde/topic"), allowed(0));
    assert_eq!(
        d(Action::Publish, "topic/some/abcd/topic"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        d(Action::Subscribe, "topicfilter/some/sensor001/topic"),
        allowed(1)
    );
    assert_eq!(
        d(Action::Subscribe, "topicfilter/some/sensor01/topic"),
        Decision::ImplicitDeny
    );
}

#[test]
fn thing_policy_examples_connect_if_attached() {
    let doc = r#"{
      "Version":"2012-10-17",
      "Statement":[{
        "Effect":"Allow", "Action":["iot:Connect"], "Resource":[ "*" ],
        "Condition": { "Bool": { "iot:Connection.Thing.IsAttached": ["true"] } }
      }]
    }"#;
    let t = Thing::new("dev");
    assert_eq!(
        decide(doc, Action::Connect, "client/dev", "dev", Some(&t), None),
        allowed(0)
    );
    assert_eq!(
        decide(doc, Action::Connect, "client/dev", "dev", None, None),
        Decision::ImplicitDeny
    );
}

#[test]
fn thing_policy_examples_publish_if_type_and_attribute() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [{
        "Effect": "Allow",
        "Action": ["iot:Publish"],
        "Resource": "arn:aws:iot:us-east-1:123456789012:topic/device/stats",
        "Condition": {
          "StringEquals": {
            "iot:Connection.Thing.Attributes[attributeName]": "attributeValue",
            "iot:Connection.Thing.ThingTypeName": "Thing_Type_Name"
          },
          "Bool": { "iot:Connection.Thing.IsAttached": "true" }
        }
      }]
    }"#;
    let good = Thing::new("dev")
        .typed("Thing_Type_Name")
        .attr("attributeName", "attributeValue");
    let wrong_type = Thing::new("dev")
        .typed("Other")
        .attr("attributeName", "attributeValue");
    let no_attr = Thing::new("dev").typed("Thing_Type_Name");
    let d = |t: Option<&Thing>| decide(doc, Action::Publish, "topic/device/stats", "dev", t, None);
    assert_eq!(d(Some(&good)), allowed(0));
    assert_eq!(d(Some(&wrong_type)), Decision::ImplicitDeny);
    assert_eq!(d(Some(&no_attr)), Decision::ImplicitDeny);
    assert_eq!(d(None), Decision::ImplicitDeny);
    let p = policy(doc);
    assert!(p.uses_thing());
    assert!(!p.uses_certificate());
    assert_eq!(p.thing_attributes(), vec!["attributeName"]);
}

#[test]
fn thing_policy_examples_publish_under_attribute() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [{
        "Effect": "Allow",
        "Action": ["iot:Publish"],
        "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.Attributes[attributeName]}/*"
      }]
    }"#;
    let t = Thing::new("dev").attr("attributeName", "floor3");
    let d = |res: &str, t: Option<&Thing>| decide(doc, Action::Publish, res, "dev", t, None);
    assert_eq!(d("topic/floor3/temp", Some(&t)), allowed(0));
    assert_eq!(d("topic/floor4/temp", Some(&t)), Decision::ImplicitDeny);
    // "If the device certificate is not associated with the thing, this variable won't be
    // resolved and will result in an access denied error."
    assert_eq!(d("topic/floor3/temp", None), Decision::ImplicitDeny);
}

#[test]
fn certificate_policy_examples_publish_to_certificate_id_is_undecidable() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["iot:Publish"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:CertificateId}"]},
        {"Effect": "Allow", "Action": ["iot:Connect"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]}
      ]
    }"#;
    let p = policy(doc);
    assert_eq!(
        p.statements()[0].undecidable(),
        Some("unknown policy variable ${iot:CertificateId}")
    );
    let t = Thing::new("dev");
    let d = decide(doc, Action::Publish, "topic/abc", "dev", Some(&t), None);
    assert_eq!(undecidable_at(&d).map(|u| (u.0, u.1)), Some((0, 0)));
    // The connect statement is decidable on its own.
    assert_eq!(
        decide(doc, Action::Connect, "client/dev", "dev", Some(&t), None),
        allowed(1)
    );
}

#[test]
fn certificate_policy_examples_publish_to_subject_common_name() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["iot:Publish"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.CommonName}"]},
        {"Effect": "Allow", "Action": ["iot:Connect"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]}
      ]
    }"#;
    let cert = CertificateInfo::default().with_subject(DnAttribute::CommonName, "dev-1");
    let d =
        |res: &str, c: Option<&CertificateInfo>| decide(doc, Action::Publish, res, "dev", None, c);
    assert_eq!(d("topic/dev-1", Some(&cert)), allowed(0));
    assert_eq!(d("topic/dev-2", Some(&cert)), Decision::ImplicitDeny);
    let u = d("topic/dev-1", None);
    assert_eq!(
        undecidable_at(&u),
        Some((0, 0, "the certificate was not read"))
    );
    assert!(policy(doc).uses_certificate());
}

const ORGANIZATION_LIST: &str = r#"{
  "Version":"2012-10-17",
  "Statement":[
    {"Effect":"Allow", "Action":["iot:Connect"],
     "Resource":["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]},
    {"Effect":"Allow", "Action":["iot:Publish"],
     "Resource":["arn:aws:iot:us-east-1:123456789012:topic/my/topic/${iot:Connection.Thing.ThingName}"],
     "Condition":{
       "ForAllValues:StringEquals":{
         "iot:Certificate.Subject.Organization.List":["Example Corp", "AnyCompany"]
       }
     }}
  ]
}"#;

#[test]
fn cert_policy_variables_registered_devices_organization_list() {
    let t = Thing::new("dev");
    let d = |c: &CertificateInfo| {
        decide(
            ORGANIZATION_LIST,
            Action::Publish,
            "topic/my/topic/dev",
            "dev",
            Some(&t),
            Some(c),
        )
    };
    let example =
        CertificateInfo::default().with_subject(DnAttribute::Organization, "Example Corp");
    let both = CertificateInfo::default()
        .with_subject(DnAttribute::Organization, "AnyCompany")
        .with_subject(DnAttribute::Organization, "Example Corp");
    let other = CertificateInfo::default().with_subject(DnAttribute::Organization, "Other");
    let mixed = example
        .clone()
        .with_subject(DnAttribute::Organization, "Other");
    assert_eq!(d(&example), allowed(1));
    assert_eq!(d(&both), allowed(1));
    assert_eq!(d(&other), Decision::ImplicitDeny);
    assert_eq!(d(&mixed), Decision::ImplicitDeny);
}

#[test]
fn cert_policy_variables_multi_value_index_is_zero_based() {
    // "iot:Certificate.Subject.Country.1 is replaced by the second country name"; an index
    // past the end is not substituted and authorization fails.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",
      "Resource":["arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.Country}/${iot:Certificate.Subject.Country.1}"]}]}"#;
    let cert = CertificateInfo::default()
        .with_subject(DnAttribute::Country, "US")
        .with_subject(DnAttribute::Country, "DE");
    let one = CertificateInfo::default().with_subject(DnAttribute::Country, "US");
    let d = |res: &str, c: &CertificateInfo| decide(doc, Action::Publish, res, "c", None, Some(c));
    assert_eq!(d("topic/US/DE", &cert), allowed(0));
    assert_eq!(d("topic/DE/US", &cert), Decision::ImplicitDeny);
    assert_eq!(d("topic/US/", &one), Decision::ImplicitDeny);
    assert_eq!(d("topic/US/US", &one), Decision::ImplicitDeny);
}

fn lightbulb_cert() -> CertificateInfo {
    // The example certificate of "Using X.509 certificate policy variables".
    CertificateInfo::default()
        .with_serial_number("10525622389124227206")
        .with_subject(DnAttribute::Country, "US")
        .with_subject(DnAttribute::Organization, "IoT Devices")
        .with_subject(DnAttribute::OrganizationalUnit, "LightBulb")
        .with_subject(DnAttribute::State, "NY")
        .with_subject(DnAttribute::CommonName, "LightBulb Device Cert")
}

#[test]
fn use_policy_variables_connect_with_serial_publish_under_organization() {
    let doc = r#"{
      "Version":"2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Certificate.SerialNumber}"]},
        {"Effect": "Allow", "Action": ["iot:Publish"],
         "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.Organization}/device-stats/${iot:ClientId}/*"]}
      ]
    }"#;
    let cert = lightbulb_cert();
    let serial = "10525622389124227206";
    assert_eq!(
        decide(
            doc,
            Action::Connect,
            &format!("client/{serial}"),
            serial,
            None,
            Some(&cert)
        ),
        allowed(0)
    );
    // The serial in hex is not the client id AWS expects.
    assert_eq!(
        decide(
            doc,
            Action::Connect,
            "client/921285cbb7a5e086",
            "921285cbb7a5e086",
            None,
            Some(&cert)
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(
            doc,
            Action::Publish,
            &format!("topic/IoT Devices/device-stats/{serial}/t"),
            serial,
            None,
            Some(&cert)
        ),
        allowed(1)
    );
    // Without the Organization attribute the variable is not substituted: no access.
    let no_org = CertificateInfo::default().with_serial_number(serial);
    assert_eq!(
        decide(
            doc,
            Action::Publish,
            &format!("topic/IoT Devices/device-stats/{serial}/t"),
            serial,
            None,
            Some(&no_org)
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn use_policy_variables_null_serial_and_common_name() {
    let doc = r#"{
      "Version":"2012-10-17",
      "Statement": [{
        "Effect": "Allow", "Action": ["iot:Connect"],
        "Resource": ["arn:aws:iot:us-east-1:123456789012:client/*"],
        "Condition": {"Null": {
          "iot:Certificate.SerialNumber": "false",
          "iot:Certificate.Subject.CommonName": "false"
        }}
      }]
    }"#;
    let d = |c: Option<&CertificateInfo>| decide(doc, Action::Connect, "client/x", "x", None, c);
    assert_eq!(d(Some(&lightbulb_cert())), allowed(0));
    let no_cn = CertificateInfo::default().with_serial_number("1");
    assert_eq!(d(Some(&no_cn)), Decision::ImplicitDeny);
    assert!(undecidable_at(&d(None)).is_some());
}

#[test]
fn use_policy_variables_alternative_names() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",
      "Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.AlternativeName.DNSName}/${iot:Certificate.Issuer.AlternativeName.IPAddress}",
      "Condition":{"StringEquals":{"iot:Certificate.Subject.AlternativeName.DirectoryName":"cn=LightBulbCert,ou=SmartHome,o=IoT,c=US"}}}]}"#;
    let cert = CertificateInfo::default()
        .with_subject_alternative_name(iot_crr_policy::AltNameKind::DnsName, "example.com")
        .with_subject_alternative_name(
            iot_crr_policy::AltNameKind::DirectoryName,
            "cn=LightBulbCert,ou=SmartHome,o=IoT,c=US",
        )
        .with_issuer_alternative_name(iot_crr_policy::AltNameKind::IpAddress, "5.6.7.8");
    assert_eq!(
        decide(
            doc,
            Action::Publish,
            "topic/example.com/5.6.7.8",
            "c",
            None,
            Some(&cert)
        ),
        allowed(0)
    );
}

#[test]
fn connect_policy_persistent_sessions_connect_attributes_is_undecidable() {
    let doc = r#"{
      "Version": "2012-10-17",
      "Statement": [{
        "Effect": "Allow", "Action": ["iot:Connect"], "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]}}
      }]
    }"#;
    let p = policy(doc);
    assert_eq!(
        p.statements()[0].undecidable(),
        Some("unknown condition key \"iot:ConnectAttributes\"")
    );
    assert!(!p.is_decidable());
    let d = decide(doc, Action::Connect, "client/x", "x", None, None);
    assert!(undecidable_at(&d).is_some());
}
