//! Every fixture decoded and checked field by field; every malformed input gives its
//! specific error.

use iot_crr_events::{ApiCall, DecodeError, Event, EventKind, Operation, decode};
use iot_crr_model::{Kind, Name, NameSet, Resource, ResourceKey, StringMap};
use iot_crr_state::Applied;

/// The change as the state store compares it (its one ordering rule).
fn applied(e: &Event) -> Applied {
    let s = e.state.as_ref().expect("state");
    Applied {
        version: s.version,
        time_millis: e.time_millis,
        deleted: s.deleted,
    }
}

/// An earlier update with this version, as the store would hold it.
fn stored(version: Option<i64>) -> Applied {
    Applied {
        version,
        time_millis: 0,
        deleted: false,
    }
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Event {
    decode(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn key(kind: Kind, name: &str) -> ResourceKey {
    ResourceKey::new(kind, name)
}

const CERT: &str = "aaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const ACCOUNT: &str = "123456789012";

#[test]
fn thing_created_with_topic() {
    let e = fixture("thing_created");
    assert_eq!(e.id, "e-thing-1");
    assert_eq!(e.time_millis, 1_700_000_000_001);
    assert_eq!(e.account.as_deref(), Some(ACCOUNT));
    assert_eq!(e.region, None);
    assert_eq!(
        e.kind,
        EventKind::Thing {
            operation: Operation::Created
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
    let s = e.state.expect("state");
    assert_eq!(s.key, key(Kind::Thing, "pump-7"));
    assert_eq!(s.version, Some(1));
    assert!(!s.deleted);
    let Some(Resource::Thing(t)) = s.resource else {
        panic!("not a thing")
    };
    assert_eq!(t.thing_name, "pump-7");
    assert_eq!(t.thing_type_name.as_deref(), Some("Pump"));
    assert_eq!(
        t.attributes,
        [("site", "lyon"), ("floor", "2")]
            .into_iter()
            .collect::<StringMap>()
    );
    assert_eq!(t.version, Some(1));
    // Not carried by the event.
    assert!(t.thing_groups.is_empty() && t.principals.is_empty() && t.billing_group_name.is_none());
}

#[test]
fn thing_updated_without_topic_and_null_type() {
    let e = fixture("thing_updated_no_topic");
    assert_eq!(
        e.kind,
        EventKind::Thing {
            operation: Operation::Updated
        }
    );
    assert!(applied(&e).supersedes(&stored(Some(3))));
    assert!(!applied(&e).supersedes(&stored(Some(4))));
    // An update without a version earlier in time is superseded too.
    assert!(applied(&e).supersedes(&stored(None)));
    let s = e.state.expect("state");
    assert_eq!(s.version, Some(4));
    let Some(Resource::Thing(t)) = s.resource else {
        panic!("not a thing")
    };
    assert_eq!(t.thing_type_name, None);
    assert!(t.attributes.is_empty());
}

#[test]
fn thing_deleted() {
    let e = fixture("thing_deleted");
    assert_eq!(
        e.kind,
        EventKind::Thing {
            operation: Operation::Deleted
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
    // A delete at the version of the last update wins over it.
    assert!(applied(&e).supersedes(&stored(Some(4))));
    assert!(!applied(&e).supersedes(&stored(Some(5))));
    let s = e.state.expect("state");
    assert!(s.deleted);
    assert_eq!(s.resource, None);
    assert_eq!(s.version, Some(4));
}

#[test]
fn thing_type_updated_deprecated() {
    let e = fixture("thing_type_updated");
    assert_eq!(e.id, "e-type-1");
    assert_eq!(
        e.kind,
        EventKind::ThingType {
            operation: Operation::Updated
        }
    );
    assert_eq!(e.keys, vec![key(Kind::ThingType, "Pump")]);
    // No version: time decides (a later event wins, the same time does not).
    assert!(applied(&e).supersedes(&stored(Some(1))));
    let same_time = Applied {
        time_millis: e.time_millis,
        ..stored(Some(1))
    };
    assert!(!applied(&e).supersedes(&same_time));
    let s = e.state.expect("state");
    assert_eq!(s.version, None);
    let Some(Resource::ThingType(t)) = s.resource else {
        panic!("not a type")
    };
    assert_eq!(t.thing_type_name, "Pump");
    assert!(t.deprecated);
    assert_eq!(t.thing_type_description.as_deref(), Some("Water pumps"));
    assert_eq!(
        t.searchable_attributes,
        ["floor", "site"].into_iter().collect::<NameSet>()
    );
    assert!(t.tags.is_empty());
}

#[test]
fn thing_type_deleted() {
    let e = fixture("thing_type_deleted");
    assert_eq!(
        e.kind,
        EventKind::ThingType {
            operation: Operation::Deleted
        }
    );
    let s = e.state.expect("state");
    assert!(s.deleted);
    assert_eq!(s.resource, None);
}

#[test]
fn thing_type_association_both_spellings() {
    let e = fixture("thing_type_association_added");
    assert_eq!(e.account, None);
    assert_eq!(
        e.kind,
        EventKind::ThingTypeAssociation {
            operation: Operation::Added,
            thing_name: Name::from("pump-7"),
            thing_type_name: Name::from("Pump"),
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
    assert_eq!(e.state, None);

    let e = fixture("thing_type_association_old");
    assert_eq!(
        e.kind,
        EventKind::ThingTypeAssociation {
            operation: Operation::Removed,
            thing_name: Name::from("pump-7"),
            thing_type_name: Name::from("Pump"),
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
}

#[test]
fn thing_group_updated_names_from_arns() {
    let e = fixture("thing_group_updated");
    assert_eq!(e.time_millis, 1_700_000_000_030);
    assert_eq!(
        e.kind,
        EventKind::ThingGroup {
            operation: Operation::Updated,
            root_to_parent: vec![Name::from("france"), Name::from("lyon")],
        }
    );
    assert_eq!(e.keys, vec![key(Kind::ThingGroup, "lyon-floor-2")]);
    let s = e.state.expect("state");
    assert_eq!(s.version, Some(3));
    let Some(Resource::ThingGroup(g)) = s.resource else {
        panic!("not a group")
    };
    assert_eq!(g.thing_group_name, "lyon-floor-2");
    assert_eq!(g.parent_group_name.as_deref(), Some("lyon"));
    assert_eq!(g.thing_group_description.as_deref(), Some("Second floor"));
    assert_eq!(
        g.attributes,
        [("building", "B")].into_iter().collect::<StringMap>()
    );
    assert!(g.policies.is_empty() && g.tags.is_empty() && g.query_string.is_none());
}

#[test]
fn membership_from_topic_and_from_arns() {
    let e = fixture("thing_group_membership_added");
    assert_eq!(
        e.kind,
        EventKind::ThingGroupMembership {
            operation: Operation::Added,
            thing_name: Name::from("pump-7"),
            thing_group_name: Name::from("lyon-floor-2"),
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
    let e = fixture("thing_group_membership_removed_no_topic");
    assert_eq!(
        e.kind,
        EventKind::ThingGroupMembership {
            operation: Operation::Removed,
            thing_name: Name::from("pump-8"),
            thing_group_name: Name::from("lyon"),
        }
    );
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-8")]);
    assert_eq!(e.state, None);
}

#[test]
fn hierarchy_concerns_the_child() {
    let e = fixture("thing_group_hierarchy_added");
    assert_eq!(
        e.kind,
        EventKind::ThingGroupHierarchy {
            operation: Operation::Added,
            parent_group_name: Name::from("lyon"),
            child_group_name: Name::from("lyon-floor-2"),
        }
    );
    assert_eq!(e.keys, vec![key(Kind::ThingGroup, "lyon-floor-2")]);
}

fn api(name: &str) -> (ApiCall, Vec<ResourceKey>) {
    let e = fixture(name);
    assert_eq!(e.id, format!("ct-{}", name.trim_start_matches("ct_")));
    assert_eq!(e.time_millis, 1_700_000_000_000);
    assert_eq!(e.account.as_deref(), Some(ACCOUNT));
    assert_eq!(e.region.as_deref(), Some("eu-west-3"));
    assert_eq!(e.state, None);
    let EventKind::ApiCall { call, error_code } = e.kind else {
        panic!("not an API call")
    };
    assert_eq!(error_code, None);
    (call, e.keys)
}

#[test]
fn cloudtrail_calls() {
    let policy = key(Kind::Policy, "device-policy");
    let cert = key(Kind::Certificate, CERT);
    let cases: Vec<(&str, ApiCall, Vec<ResourceKey>)> = vec![
        (
            "ct_create_policy",
            ApiCall::CreatePolicy,
            vec![policy.clone()],
        ),
        (
            "ct_set_default_policy_version",
            ApiCall::SetDefaultPolicyVersion,
            vec![policy.clone()],
        ),
        (
            "ct_attach_policy_cert",
            ApiCall::AttachPolicy,
            vec![cert.clone(), policy.clone()],
        ),
        (
            "ct_detach_policy_group",
            ApiCall::DetachPolicy,
            vec![key(Kind::ThingGroup, "lyon"), policy.clone()],
        ),
        (
            "ct_attach_principal_policy",
            ApiCall::AttachPrincipalPolicy,
            vec![cert.clone(), policy.clone()],
        ),
        (
            "ct_create_keys_and_certificate",
            ApiCall::CreateKeysAndCertificate,
            vec![cert.clone()],
        ),
        (
            "ct_register_certificate_without_ca",
            ApiCall::RegisterCertificateWithoutCA,
            vec![cert.clone()],
        ),
        (
            "ct_update_certificate",
            ApiCall::UpdateCertificate,
            vec![cert.clone()],
        ),
        (
            "ct_attach_thing_principal",
            ApiCall::AttachThingPrincipal,
            vec![key(Kind::Thing, "pump-7"), cert.clone()],
        ),
        (
            "ct_create_billing_group",
            ApiCall::CreateBillingGroup,
            vec![key(Kind::BillingGroup, "site-lyon")],
        ),
        (
            "ct_add_thing_to_billing_group",
            ApiCall::AddThingToBillingGroup,
            vec![key(Kind::Thing, "pump-7")],
        ),
        (
            "ct_tag_resource",
            ApiCall::TagResource,
            vec![key(Kind::ThingGroup, "lyon")],
        ),
        (
            "ct_create_thing",
            ApiCall::CreateThing,
            vec![key(Kind::Thing, "pump-9")],
        ),
    ];
    for (name, call, keys) in cases {
        assert_eq!(api(name), (call, keys), "{name}");
    }
}

#[test]
fn failed_call_has_no_keys() {
    let e = fixture("ct_failed_delete_policy");
    assert_eq!(
        e.kind,
        EventKind::ApiCall {
            call: ApiCall::DeletePolicy,
            error_code: Some("DeleteConflictException".into()),
        }
    );
    assert!(e.keys.is_empty());
}

#[test]
fn every_api_call_name_round_trips() {
    for c in ApiCall::all() {
        assert_eq!(ApiCall::parse(c.as_str()), Some(c));
    }
}

// ---- malformed inputs ----

fn err(json: &str) -> DecodeError {
    decode(json.as_bytes()).expect_err(json)
}

/// A fixture with one top-level field replaced (or removed, with `None`).
fn patched(name: &str, field: &str, value: Option<serde_json::Value>) -> DecodeError {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    let m = v.as_object_mut().unwrap();
    match value {
        Some(x) => m.insert(field.into(), x),
        None => m.remove(field),
    };
    decode(v.to_string().as_bytes()).expect_err(field)
}

fn patched_detail(name: &str, path: &[&str], value: Option<serde_json::Value>) -> DecodeError {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    let mut m = v["detail"].as_object_mut().unwrap();
    for p in &path[..path.len() - 1] {
        m = m.get_mut(*p).unwrap().as_object_mut().unwrap();
    }
    let last = path[path.len() - 1];
    match value {
        Some(x) => m.insert(last.into(), x),
        None => m.remove(last),
    };
    decode(v.to_string().as_bytes()).expect_err(last)
}

#[test]
fn not_json() {
    let e = err("{\"eventType\": \"THING_EVENT\",, }");
    let DecodeError::Json { line, column, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!((*line, *column), (1, 29));
    assert!(
        e.to_string()
            .starts_with("invalid JSON at line 1 column 29: "),
        "{e}"
    );
    assert!(matches!(decode(b"\xff\xfe"), Err(DecodeError::Json { .. })));
    assert!(matches!(decode(b""), Err(DecodeError::Json { .. })));
}

#[test]
fn not_an_object() {
    assert_eq!(
        err("[1, 2]"),
        DecodeError::NotAnObject { found: "an array" }
    );
    assert_eq!(err("\"x\""), DecodeError::NotAnObject { found: "a string" });
    assert_eq!(err("{}"), DecodeError::UnknownShape);
}

#[test]
fn missing_fields() {
    let e = patched("thing_updated_no_topic", "thingName", None);
    assert_eq!(e.to_string(), "missing field \"thingName\" in THING_EVENT");
    let e = patched("thing_created", "versionNumber", None);
    assert_eq!(
        e.to_string(),
        "missing field \"versionNumber\" in THING_EVENT"
    );
    let e = patched("thing_created", "eventId", None);
    assert_eq!(e.to_string(), "missing field \"eventId\" in THING_EVENT");
    let e = patched("thing_group_membership_removed_no_topic", "thingArn", None);
    assert_eq!(
        e.to_string(),
        "missing field \"thingArn\" in THING_GROUP_MEMBERSHIP_EVENT"
    );
    let e = patched_detail(
        "ct_create_policy",
        &["requestParameters", "policyName"],
        None,
    );
    assert_eq!(
        e.to_string(),
        "missing field \"detail.requestParameters.policyName\" in CreatePolicy"
    );
    let e = patched_detail(
        "ct_create_keys_and_certificate",
        &["responseElements"],
        None,
    );
    assert_eq!(
        e.to_string(),
        "missing field \"detail.responseElements.certificateId\" in CreateKeysAndCertificate"
    );
}

#[test]
fn a_thing_without_topic_takes_its_name_from_the_topic_when_the_field_is_missing() {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture_bytes("thing_created")).unwrap();
    v.as_object_mut().unwrap().remove("thingName");
    let e = decode(v.to_string().as_bytes()).unwrap();
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
}

#[test]
fn wrong_types() {
    use serde_json::json;
    let e = patched("thing_created", "thingName", Some(json!(5)));
    assert_eq!(
        e.to_string(),
        "field \"thingName\" in THING_EVENT is a number, expected a string"
    );
    let e = patched("thing_created", "timestamp", Some(json!("yesterday")));
    assert_eq!(
        e.to_string(),
        "field \"timestamp\" in THING_EVENT is a string, expected an integer"
    );
    let e = patched("thing_created", "versionNumber", Some(json!(1.5)));
    assert!(
        matches!(
            e,
            DecodeError::WrongType {
                expected: "an integer",
                ..
            }
        ),
        "{e}"
    );
    let e = patched("thing_created", "attributes", Some(json!({"site": 3})));
    assert_eq!(
        e.to_string(),
        "field \"attributes.site\" in THING_EVENT is a number, expected a string"
    );
    let e = patched(
        "thing_type_updated",
        "searchableAttributes",
        Some(json!(["a", null])),
    );
    assert_eq!(
        e.to_string(),
        "field \"searchableAttributes[1]\" in THING_TYPE_EVENT is null, expected a string"
    );
    let e = patched("thing_type_updated", "isDeprecated", Some(json!("yes")));
    assert!(
        matches!(
            e,
            DecodeError::WrongType {
                expected: "a boolean",
                ..
            }
        ),
        "{e}"
    );
    let e = patched(
        "thing_group_updated",
        "rootToParentThingGroups",
        Some(json!(["lyon"])),
    );
    assert_eq!(
        e.to_string(),
        "field \"rootToParentThingGroups[0]\" in THING_GROUP_EVENT is a string, expected an object"
    );
    let e = patched("ct_create_policy", "detail", Some(json!([])));
    assert!(
        matches!(
            e,
            DecodeError::WrongType {
                expected: "an object",
                ..
            }
        ),
        "{e}"
    );
    let e = patched("thing_created", "thingName", Some(json!("")));
    assert_eq!(
        e.to_string(),
        "field \"thingName\" in THING_EVENT is an empty name"
    );
}

#[test]
fn unknown_types_and_operations() {
    use serde_json::json;
    let e = patched("thing_created", "eventType", Some(json!("FOO")));
    assert_eq!(e.to_string(), "unknown eventType \"FOO\"");
    let e = patched("thing_updated_no_topic", "operation", Some(json!("ADDED")));
    assert_eq!(e.to_string(), "unknown operation \"ADDED\" in THING_EVENT");
    let e = patched(
        "thing_group_hierarchy_added",
        "operation",
        Some(json!("CREATED")),
    );
    assert!(matches!(e, DecodeError::UnknownOperation { .. }), "{e}");
    let e = patched_detail(
        "ct_create_policy",
        &["eventName"],
        Some(json!("ListThings")),
    );
    assert_eq!(
        e,
        DecodeError::UnknownEvent {
            name: "ListThings".into()
        }
    );
    let e = patched("ct_create_policy", "source", Some(json!("aws.s3")));
    assert!(matches!(e, DecodeError::UnsupportedSource { .. }), "{e}");
    let e = patched_detail(
        "ct_create_policy",
        &["eventSource"],
        Some(json!("s3.amazonaws.com")),
    );
    assert!(matches!(e, DecodeError::UnsupportedSource { .. }), "{e}");
    let e = patched_detail(
        "ct_create_policy",
        &["eventTime"],
        Some(json!("last tuesday")),
    );
    assert_eq!(
        e.to_string(),
        "field \"detail.eventTime\" in CreatePolicy is not an RFC 3339 time: \"last tuesday\""
    );
}

#[test]
fn topics_that_disagree() {
    use serde_json::json;
    let e = patched(
        "thing_created",
        "topic",
        Some(json!("$aws/events/thingGroup/pump-7/created")),
    );
    let DecodeError::TopicMismatch { event_type, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(event_type, "THING_EVENT");
    assert!(
        e.to_string().contains("does not match the THING_EVENT"),
        "{e}"
    );
    let e = patched(
        "thing_created",
        "topic",
        Some(json!("$aws/events/thing/pump-8/created")),
    );
    assert!(
        e.to_string()
            .contains("topic names \"pump-8\", thingName is \"pump-7\""),
        "{e}"
    );
    let e = patched(
        "thing_created",
        "topic",
        Some(json!("$aws/events/thing/pump-7/deleted")),
    );
    assert!(
        e.to_string()
            .contains("topic says deleted, operation is CREATED"),
        "{e}"
    );
    let e = patched("thing_created", "topic", Some(json!("devices/pump-7")));
    assert!(matches!(e, DecodeError::TopicMismatch { .. }), "{e}");
    let e = patched(
        "thing_group_membership_added",
        "topic",
        Some(json!(
            "$aws/events/thingGroupMembership/thingGroup/other/thing/pump-7/added"
        )),
    );
    assert!(matches!(e, DecodeError::TopicMismatch { .. }), "{e}");
}

#[test]
fn arns_that_are_not_arns() {
    use serde_json::json;
    let e = patched(
        "thing_group_membership_added",
        "thingArn",
        Some(json!("pump-7")),
    );
    assert_eq!(
        e.to_string(),
        "field \"thingArn\" in THING_GROUP_MEMBERSHIP_EVENT is not a thing ARN: \"pump-7\""
    );
    let e = patched(
        "thing_group_membership_removed_no_topic",
        "groupArn",
        Some(json!("arn:aws:iot:eu-west-3:123456789012:thing/lyon")),
    );
    assert!(
        matches!(
            e,
            DecodeError::InvalidArn {
                expected: "a thing group",
                ..
            }
        ),
        "{e}"
    );
    let e = patched(
        "thing_group_updated",
        "rootToParentThingGroups",
        Some(json!([{"groupArn": "arn:aws:iot:eu-west-3:1:thinggroup/"}])),
    );
    assert_eq!(
        e.to_string(),
        "field \"rootToParentThingGroups[0].groupArn\" in THING_GROUP_EVENT is not a thing group ARN: \"arn:aws:iot:eu-west-3:1:thinggroup/\""
    );
    let e = patched_detail(
        "ct_attach_policy_cert",
        &["requestParameters", "target"],
        Some(json!("arn:aws:s3:::bucket")),
    );
    assert!(matches!(e, DecodeError::InvalidArn { .. }), "{e}");
    let e = patched_detail(
        "ct_tag_resource",
        &["requestParameters", "resourceArn"],
        Some(json!("lyon")),
    );
    assert!(
        matches!(
            e,
            DecodeError::InvalidArn {
                expected: "an AWS IoT registry resource",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_cognito_target_gives_the_policy_only() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("ct_attach_policy_cert")).unwrap();
    v["detail"]["requestParameters"]["target"] =
        "eu-west-3:0f8e8f1c-1111-2222-3333-444444444444".into();
    let e = decode(v.to_string().as_bytes()).unwrap();
    assert_eq!(e.keys, vec![key(Kind::Policy, "device-policy")]);
}

#[test]
fn escaped_strings_and_repeated_keys() {
    // An escaped name is decoded; a repeated key keeps its last value (as serde_json).
    let json = r#"{"eventType":"THING_EVENT","eventId":"e","timestamp":1,"operation":"CREATED",
        "thingName":"first","thingName":"pump\u002d7","versionNumber":2,
        "attributes":{"k":"a","k":"\u00e9t\u00e9"}}"#;
    let e = decode(json.as_bytes()).unwrap();
    assert_eq!(e.keys, vec![key(Kind::Thing, "pump-7")]);
    let Some(Resource::Thing(t)) = e.state.unwrap().resource else {
        panic!()
    };
    assert_eq!(t.attributes.get("k"), Some("été"));
    assert_eq!(t.attributes.len(), 1);
    // Deep nesting is refused by the parser's recursion limit, not a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(matches!(
        decode(deep.as_bytes()),
        Err(DecodeError::Json { .. })
    ));
}

/// Every handled call, with the request/response fields the API reference gives it,
/// maps to its documented keys (the fixtures above cover the EventBridge envelope).
#[test]
fn every_api_call_maps_to_its_keys() {
    use serde_json::json;
    let cert_arn = format!("arn:aws:iot:eu-west-3:{ACCOUNT}:cert/{CERT}");
    let thing_arn = format!("arn:aws:iot:eu-west-3:{ACCOUNT}:thing/t1");
    let p = || key(Kind::Policy, "p1");
    let c = || key(Kind::Certificate, CERT);
    let t = || key(Kind::Thing, "t1");
    let g = || key(Kind::ThingGroup, "g1");
    let b = || key(Kind::BillingGroup, "b1");
    let ty = || key(Kind::ThingType, "ty1");
    let alias = || key(Kind::RoleAlias, "cam=1");
    let ca = || key(Kind::CaCertificate, CERT);
    let none = json!(null);
    let policy = json!({"policyName": "p1"});
    let cert_resp = json!({"certificateId": CERT, "certificateArn": cert_arn});
    let cases: Vec<(
        ApiCall,
        serde_json::Value,
        serde_json::Value,
        Vec<ResourceKey>,
    )> = vec![
        (
            ApiCall::CreatePolicy,
            policy.clone(),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::CreatePolicyVersion,
            policy.clone(),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::DeletePolicyVersion,
            json!({"policyName": "p1", "policyVersionId": "2"}),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::SetDefaultPolicyVersion,
            policy.clone(),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::DeletePolicy,
            policy.clone(),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::AttachPolicy,
            json!({"policyName": "p1", "target": cert_arn}),
            none.clone(),
            vec![c(), p()],
        ),
        (
            ApiCall::DetachPolicy,
            json!({"policyName": "p1", "target": "arn:aws:iot:eu-west-3:1:thinggroup/g1"}),
            none.clone(),
            vec![g(), p()],
        ),
        (
            ApiCall::AttachPrincipalPolicy,
            json!({"policyName": "p1", "principal": cert_arn}),
            none.clone(),
            vec![c(), p()],
        ),
        (
            ApiCall::DetachPrincipalPolicy,
            json!({"policyName": "p1", "principal": "eu-west-3:cognito-id"}),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::RegisterCertificate,
            json!({}),
            cert_resp.clone(),
            vec![c()],
        ),
        (
            ApiCall::RegisterCertificateWithoutCA,
            json!({}),
            cert_resp.clone(),
            vec![c()],
        ),
        (
            ApiCall::CreateKeysAndCertificate,
            json!({}),
            cert_resp.clone(),
            vec![c()],
        ),
        (
            ApiCall::CreateCertificateFromCsr,
            json!({}),
            json!({"certificateArn": cert_arn}),
            vec![c()],
        ),
        (
            ApiCall::UpdateCertificate,
            json!({"certificateId": CERT}),
            none.clone(),
            vec![c()],
        ),
        (
            ApiCall::DeleteCertificate,
            json!({"certificateId": CERT}),
            none.clone(),
            vec![c()],
        ),
        (
            ApiCall::AttachThingPrincipal,
            json!({"thingName": "t1", "principal": cert_arn}),
            none.clone(),
            vec![t(), c()],
        ),
        (
            ApiCall::DetachThingPrincipal,
            json!({"thingName": "t1", "principal": "eu-west-3:cognito-id"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::CreateBillingGroup,
            json!({"billingGroupName": "b1"}),
            none.clone(),
            vec![b()],
        ),
        (
            ApiCall::UpdateBillingGroup,
            json!({"billingGroupName": "b1"}),
            none.clone(),
            vec![b()],
        ),
        (
            ApiCall::DeleteBillingGroup,
            json!({"billingGroupName": "b1"}),
            none.clone(),
            vec![b()],
        ),
        (
            ApiCall::AddThingToBillingGroup,
            json!({"billingGroupName": "b1", "thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::RemoveThingFromBillingGroup,
            json!({"billingGroupArn": "x", "thingArn": thing_arn}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::TagResource,
            json!({"resourceArn": "arn:aws:iot:eu-west-3:1:billinggroup/b1"}),
            none.clone(),
            vec![b()],
        ),
        (
            ApiCall::UntagResource,
            json!({"resourceArn": "arn:aws:iot:eu-west-3:1:policy/p1"}),
            none.clone(),
            vec![p()],
        ),
        (
            ApiCall::CreateThing,
            json!({"thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::UpdateThing,
            json!({"thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::DeleteThing,
            json!({"thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::CreateThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::UpdateThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::DeleteThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::CreateDynamicThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::UpdateDynamicThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::DeleteDynamicThingGroup,
            json!({"thingGroupName": "g1"}),
            none.clone(),
            vec![g()],
        ),
        (
            ApiCall::AddThingToThingGroup,
            json!({"thingGroupName": "g1", "thingArn": thing_arn}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::RemoveThingFromThingGroup,
            json!({"thingGroupArn": "x", "thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::UpdateThingGroupsForThing,
            json!({"thingName": "t1"}),
            none.clone(),
            vec![t()],
        ),
        (
            ApiCall::CreateThingType,
            json!({"thingTypeName": "ty1"}),
            none.clone(),
            vec![ty()],
        ),
        (
            ApiCall::UpdateThingType,
            json!({"thingTypeName": "ty1"}),
            none.clone(),
            vec![ty()],
        ),
        (
            ApiCall::DeprecateThingType,
            json!({"thingTypeName": "ty1", "undoDeprecate": true}),
            none.clone(),
            vec![ty()],
        ),
        (
            ApiCall::DeleteThingType,
            json!({"thingTypeName": "ty1"}),
            none.clone(),
            vec![ty()],
        ),
        (
            ApiCall::CreateRoleAlias,
            json!({"roleAlias": "cam=1", "roleArn": "arn:aws:iam::123456789012:role/r",
                   "credentialDurationSeconds": 3600}),
            json!({"roleAlias": "cam=1",
                   "roleAliasArn": "arn:aws:iot:us-east-1:123456789012:rolealias/cam=1"}),
            vec![alias()],
        ),
        (
            ApiCall::UpdateRoleAlias,
            json!({"roleAlias": "cam=1", "credentialDurationSeconds": 900}),
            none.clone(),
            vec![alias()],
        ),
        (
            ApiCall::DeleteRoleAlias,
            json!({"roleAlias": "cam=1"}),
            none.clone(),
            vec![alias()],
        ),
        (
            ApiCall::RegisterCACertificate,
            json!({"caCertificate": "-----BEGIN CERTIFICATE-----", "certificateMode": "SNI_ONLY"}),
            json!({"certificateArn": format!("arn:aws:iot:eu-west-3:{ACCOUNT}:cacert/{CERT}")}),
            vec![ca()],
        ),
        (
            ApiCall::UpdateCACertificate,
            json!({"certificateId": CERT, "newStatus": "INACTIVE"}),
            none.clone(),
            vec![ca()],
        ),
        (
            ApiCall::DeleteCACertificate,
            json!({"certificateId": CERT}),
            none.clone(),
            vec![ca()],
        ),
        (
            ApiCall::CreateAuthorizer,
            json!({"authorizerName": "tok", "authorizerFunctionArn": "arn:aws:lambda:eu-west-3:123456789012:function:f"}),
            json!({"authorizerName": "tok", "authorizerArn": format!("arn:aws:iot:eu-west-3:{ACCOUNT}:authorizer/tok")}),
            vec![key(Kind::Authorizer, "tok")],
        ),
        (
            ApiCall::UpdateAuthorizer,
            json!({"authorizerName": "tok", "status": "INACTIVE"}),
            none.clone(),
            vec![key(Kind::Authorizer, "tok")],
        ),
        (
            ApiCall::SetDefaultAuthorizer,
            json!({"authorizerName": "tok"}),
            none.clone(),
            vec![key(Kind::Authorizer, "tok")],
        ),
        (
            ApiCall::DeleteAuthorizer,
            json!({"authorizerName": "tok"}),
            none.clone(),
            vec![key(Kind::Authorizer, "tok")],
        ),
        (
            ApiCall::CreateTopicRule,
            json!({"ruleName": "fanout"}),
            none.clone(),
            vec![key(Kind::TopicRule, "fanout")],
        ),
        (
            ApiCall::ReplaceTopicRule,
            json!({"ruleName": "fanout"}),
            none.clone(),
            vec![key(Kind::TopicRule, "fanout")],
        ),
        (
            ApiCall::EnableTopicRule,
            json!({"ruleName": "fanout"}),
            none.clone(),
            vec![key(Kind::TopicRule, "fanout")],
        ),
        (
            ApiCall::DisableTopicRule,
            json!({"ruleName": "fanout"}),
            none.clone(),
            vec![key(Kind::TopicRule, "fanout")],
        ),
        (
            ApiCall::DeleteTopicRule,
            json!({"ruleName": "fanout"}),
            none.clone(),
            vec![key(Kind::TopicRule, "fanout")],
        ),
        (
            ApiCall::CreateDomainConfiguration,
            json!({"domainConfigurationName": "fleet-domain"}),
            none.clone(),
            vec![key(Kind::DomainConfiguration, "fleet-domain")],
        ),
        (
            ApiCall::UpdateDomainConfiguration,
            json!({"domainConfigurationName": "fleet-domain"}),
            none.clone(),
            vec![key(Kind::DomainConfiguration, "fleet-domain")],
        ),
        (
            ApiCall::DeleteDomainConfiguration,
            json!({"domainConfigurationName": "fleet-domain"}),
            none.clone(),
            vec![key(Kind::DomainConfiguration, "fleet-domain")],
        ),
        (
            ApiCall::CreateProvisioningTemplate,
            json!({"templateName": "claim"}),
            none.clone(),
            vec![key(Kind::ProvisioningTemplate, "claim")],
        ),
        (
            ApiCall::UpdateProvisioningTemplate,
            json!({"templateName": "claim"}),
            none.clone(),
            vec![key(Kind::ProvisioningTemplate, "claim")],
        ),
        (
            ApiCall::CreateProvisioningTemplateVersion,
            json!({"templateName": "claim"}),
            none.clone(),
            vec![key(Kind::ProvisioningTemplate, "claim")],
        ),
        (
            ApiCall::DeleteProvisioningTemplateVersion,
            json!({"templateName": "claim"}),
            none.clone(),
            vec![key(Kind::ProvisioningTemplate, "claim")],
        ),
        (
            ApiCall::DeleteProvisioningTemplate,
            json!({"templateName": "claim"}),
            none.clone(),
            vec![key(Kind::ProvisioningTemplate, "claim")],
        ),
        (
            ApiCall::CreateTopicRuleDestination,
            json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": "https://hooks.example.com/iot"}}}),
            none.clone(),
            vec![key(
                Kind::TopicRuleDestination,
                "https://hooks.example.com/iot",
            )],
        ),
        (
            ApiCall::UpdateIndexingConfiguration,
            json!({"thingIndexingConfiguration": {"thingIndexingMode": "REGISTRY"}}),
            none.clone(),
            vec![key(Kind::IndexingConfiguration, "default")],
        ),
        (
            ApiCall::UpdateEventConfigurations,
            json!({"eventConfigurations": {"THING": {"Enabled": true}}}),
            none.clone(),
            vec![key(Kind::EventConfigurations, "default")],
        ),
    ];
    let mut seen: Vec<ApiCall> = cases.iter().map(|c| c.0).collect();
    seen.sort_by_key(|c| c.as_str());
    let mut all: Vec<ApiCall> = ApiCall::all().collect();
    all.sort_by_key(|c| c.as_str());
    assert_eq!(seen, all, "every call has a case");
    for (call, req, resp, keys) in cases {
        let event = json!({
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iot",
            "id": "eb-1",
            "time": "2023-11-14T22:13:21Z",
            "detail": {
                "eventName": call.as_str(),
                "eventSource": "iot.amazonaws.com",
                "requestParameters": req,
                "responseElements": resp,
            }
        });
        let e = decode(event.to_string().as_bytes()).unwrap_or_else(|e| panic!("{call:?}: {e}"));
        // Without detail.eventID/eventTime/awsRegion the envelope's are used.
        assert_eq!((e.id.as_str(), e.time_millis), ("eb-1", 1_700_000_001_000));
        assert_eq!(
            e.kind,
            EventKind::ApiCall {
                call,
                error_code: None
            }
        );
        assert_eq!(e.keys, keys, "{call:?}");
    }
}
