//! The plan file's `op` objects, byte for byte: every operation written as it is today,
//! read back equal, and rejected by name when unknown. A reshape of [`Change`] (kinds in
//! modules of their own) must leave every line of this table as it is.

use iot_crr_model::{
    BillingGroup, BillingGroupChange, CertificateStatus, Change, Kind, NameSet, PolicyTarget,
    Resource, ResourceKey, StringMap, ThingGroup, ThingType,
};

fn tags() -> StringMap {
    StringMap::from_iter([("team", "ops")])
}

/// One change of every operation, with the JSON a plan file holds for it.
fn table() -> Vec<(Change, &'static str)> {
    let cert = "a".repeat(64);
    let cert = cert.as_str();
    vec![
        (
            Change::CreateThingType {
                thing_type: ThingType {
                    thing_type_name: "sensor".into(),
                    thing_type_description: Some("d".into()),
                    searchable_attributes: NameSet::from_iter(["site"]),
                    deprecated: false,
                    tags: tags(),
                },
            },
            r#"{"op":"createThingType","thingType":{"thingTypeName":"sensor","thingTypeDescription":"d","searchableAttributes":["site"],"tags":{"team":"ops"}}}"#,
        ),
        (
            Change::UpdateThingType {
                thing_type_name: "sensor".into(),
                thing_type_description: None,
                searchable_attributes: NameSet::default(),
            },
            r#"{"op":"updateThingType","thingTypeName":"sensor","thingTypeDescription":null,"searchableAttributes":[]}"#,
        ),
        (
            Change::DeprecateThingType {
                thing_type_name: "sensor".into(),
                undo_deprecate: true,
            },
            r#"{"op":"deprecateThingType","thingTypeName":"sensor","undoDeprecate":true}"#,
        ),
        (
            Change::DeleteThingType {
                thing_type_name: "sensor".into(),
            },
            r#"{"op":"deleteThingType","thingTypeName":"sensor"}"#,
        ),
        (
            Change::BillingGroup(BillingGroupChange::CreateBillingGroup {
                billing_group: BillingGroup {
                    billing_group_name: "fleet".into(),
                    billing_group_description: Some("d".into()),
                    tags: tags(),
                },
            }),
            r#"{"op":"createBillingGroup","billingGroup":{"billingGroupName":"fleet","billingGroupDescription":"d","tags":{"team":"ops"}}}"#,
        ),
        (
            Change::BillingGroup(BillingGroupChange::UpdateBillingGroup {
                billing_group_name: "fleet".into(),
                billing_group_description: None,
            }),
            r#"{"op":"updateBillingGroup","billingGroupName":"fleet","billingGroupDescription":null}"#,
        ),
        (
            Change::BillingGroup(BillingGroupChange::DeleteBillingGroup {
                billing_group_name: "fleet".into(),
            }),
            r#"{"op":"deleteBillingGroup","billingGroupName":"fleet"}"#,
        ),
        (
            Change::CreateThingGroup {
                thing_group: ThingGroup {
                    thing_group_name: "line-1".into(),
                    parent_group_name: Some("site".into()),
                    ..ThingGroup::default()
                },
            },
            r#"{"op":"createThingGroup","thingGroup":{"thingGroupName":"line-1","parentGroupName":"site"}}"#,
        ),
        (
            Change::UpdateThingGroup {
                thing_group: ThingGroup {
                    thing_group_name: "ring".into(),
                    query_string: Some("attributes.ring:1".into()),
                    ..ThingGroup::default()
                },
            },
            r#"{"op":"updateThingGroup","thingGroup":{"thingGroupName":"ring","queryString":"attributes.ring:1"}}"#,
        ),
        (
            Change::DeleteThingGroup {
                thing_group_name: "ring".into(),
            },
            r#"{"op":"deleteThingGroup","thingGroupName":"ring"}"#,
        ),
        (
            Change::CreatePolicy {
                policy_name: "p".into(),
                policy_document: "{}".into(),
                tags: StringMap::default(),
            },
            r#"{"op":"createPolicy","policyName":"p","policyDocument":"{}","tags":{}}"#,
        ),
        (
            Change::CreatePolicyVersion {
                policy_name: "p".into(),
                policy_document: "{}".into(),
                set_as_default: true,
                versions_before: Some(2),
            },
            r#"{"op":"createPolicyVersion","policyName":"p","policyDocument":"{}","setAsDefault":true,"versionsBefore":2}"#,
        ),
        (
            Change::SetDefaultPolicyVersion {
                policy_name: "p".into(),
                policy_version_id: "3".into(),
            },
            r#"{"op":"setDefaultPolicyVersion","policyName":"p","policyVersionId":"3"}"#,
        ),
        (
            Change::DeletePolicyVersion {
                policy_name: "p".into(),
                policy_version_id: "1".into(),
            },
            r#"{"op":"deletePolicyVersion","policyName":"p","policyVersionId":"1"}"#,
        ),
        (
            Change::DeletePolicy {
                policy_name: "p".into(),
            },
            r#"{"op":"deletePolicy","policyName":"p"}"#,
        ),
        (
            Change::RegisterCertificate {
                certificate_id: cert.into(),
                certificate_pem: "PEM".into(),
                status: CertificateStatus::Active,
                ca_certificate_id: None,
            },
            r#"{"op":"registerCertificate","certificateId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","certificatePem":"PEM","status":"ACTIVE","caCertificateId":null}"#,
        ),
        (
            Change::UpdateCertificate {
                certificate_id: cert.into(),
                new_status: CertificateStatus::Inactive,
            },
            r#"{"op":"updateCertificate","certificateId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","newStatus":"INACTIVE"}"#,
        ),
        (
            Change::DeleteCertificate {
                certificate_id: cert.into(),
            },
            r#"{"op":"deleteCertificate","certificateId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
        ),
        (
            Change::CreateThing {
                thing_name: "t".into(),
                thing_type_name: Some("sensor".into()),
                attributes: StringMap::from_iter([("site", "x")]),
                billing_group_name: Some("fleet".into()),
            },
            r#"{"op":"createThing","thingName":"t","thingTypeName":"sensor","attributes":{"site":"x"},"billingGroupName":"fleet"}"#,
        ),
        (
            Change::UpdateThing {
                thing_name: "t".into(),
                thing_type_name: None,
                attributes: StringMap::default(),
            },
            r#"{"op":"updateThing","thingName":"t","thingTypeName":null,"attributes":{}}"#,
        ),
        (
            Change::DeleteThing {
                thing_name: "t".into(),
            },
            r#"{"op":"deleteThing","thingName":"t"}"#,
        ),
        (
            Change::AddThingToThingGroup {
                thing_name: "t".into(),
                thing_group_name: "g".into(),
            },
            r#"{"op":"addThingToThingGroup","thingName":"t","thingGroupName":"g"}"#,
        ),
        (
            Change::RemoveThingFromThingGroup {
                thing_name: "t".into(),
                thing_group_name: "g".into(),
            },
            r#"{"op":"removeThingFromThingGroup","thingName":"t","thingGroupName":"g"}"#,
        ),
        (
            Change::AddThingToBillingGroup {
                thing_name: "t".into(),
                billing_group_name: "fleet".into(),
            },
            r#"{"op":"addThingToBillingGroup","thingName":"t","billingGroupName":"fleet"}"#,
        ),
        (
            Change::RemoveThingFromBillingGroup {
                thing_name: "t".into(),
                billing_group_name: "fleet".into(),
            },
            r#"{"op":"removeThingFromBillingGroup","thingName":"t","billingGroupName":"fleet"}"#,
        ),
        (
            Change::AttachPolicy {
                policy_name: "p".into(),
                target: PolicyTarget::Certificate(cert.into()),
            },
            r#"{"op":"attachPolicy","policyName":"p","target":{"certificate":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}"#,
        ),
        (
            Change::DetachPolicy {
                policy_name: "p".into(),
                target: PolicyTarget::ThingGroup("g".into()),
            },
            r#"{"op":"detachPolicy","policyName":"p","target":{"thingGroup":"g"}}"#,
        ),
        (
            Change::AttachThingPrincipal {
                thing_name: "t".into(),
                principal: format!("cert/{cert}").into(),
            },
            r#"{"op":"attachThingPrincipal","thingName":"t","principal":"cert/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
        ),
        (
            Change::DetachThingPrincipal {
                thing_name: "t".into(),
                principal: "arn:aws:iam::123456789012:role/r".into(),
            },
            r#"{"op":"detachThingPrincipal","thingName":"t","principal":"arn:aws:iam::123456789012:role/r"}"#,
        ),
        (
            Change::TagResource {
                resource: ResourceKey::new(Kind::BillingGroup, "fleet"),
                tags: tags(),
            },
            r#"{"op":"tagResource","resource":{"kind":"billingGroup","name":"fleet"},"tags":{"team":"ops"}}"#,
        ),
        (
            Change::UntagResource {
                resource: ResourceKey::new(Kind::Policy, "p"),
                tag_keys: NameSet::from_iter(["team"]),
            },
            r#"{"op":"untagResource","resource":{"kind":"policy","name":"p"},"tagKeys":["team"]}"#,
        ),
    ]
}

#[test]
fn every_op_is_written_and_read_as_before() {
    let table = table();
    assert_eq!(table.len(), 31, "one row per operation");
    let mut ops: Vec<&str> = Vec::new();
    for (change, json) in &table {
        let written = serde_json::to_string(change).unwrap();
        assert_eq!(&written, json, "{change}");
        let read: Change = serde_json::from_str(json).unwrap();
        assert_eq!(&read, change, "{json}");
        // As a plan file holds it: flattened beside the stage.
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        ops.push(table_op(&v));
    }
    let mut unique = ops.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ops.len(), "an op appears twice: {ops:?}");
}

fn table_op(v: &serde_json::Value) -> &'static str {
    let op = v["op"].as_str().unwrap().to_string();
    Box::leak(op.into_boxed_str())
}

#[test]
fn an_unknown_op_is_refused_by_name() {
    let err = serde_json::from_str::<Change>(r#"{"op":"createGadget","name":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("createGadget"), "{err}");
    let err = serde_json::from_str::<Change>(r#"{"billingGroupName":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("op"), "{err}");
    // A known op with a field missing names the field.
    let err = serde_json::from_str::<Change>(r#"{"op":"deleteBillingGroup"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("billingGroupName"), "{err}");
}

#[test]
fn the_sums_stay_small() {
    // Today's sizes (208 and 216 bytes, a thing group the largest). A snapshot parses into blocks of `Resource` and a plan holds `Change`s by the
    // hundred thousand: a new large kind must be boxed, not grow every element.
    assert!(
        std::mem::size_of::<Resource>() <= 208,
        "Resource is {} bytes",
        std::mem::size_of::<Resource>()
    );
    assert!(
        std::mem::size_of::<Change>() <= 216,
        "Change is {} bytes",
        std::mem::size_of::<Change>()
    );
}
