//! Diff scenarios that matter for a fleet operator, each checked change by change.

use iot_crr_model::{
    ArnRewrite, Change, DiffOptions, Filter, Kind, Policy, PolicyVersion, Resource, Snapshot,
    Thing, ThingGroup, ThingType, apply_change, cert_principal, diff,
};

fn group(name: &str, parent: Option<&str>) -> Resource {
    Resource::ThingGroup(ThingGroup {
        thing_group_name: name.into(),
        parent_group_name: parent.map(Into::into),
        ..Default::default()
    })
}

fn thing(name: &str, groups: &[&str]) -> Resource {
    Resource::Thing(Thing {
        thing_name: name.into(),
        thing_groups: groups.iter().copied().collect(),
        ..Default::default()
    })
}

fn policy(name: &str, docs: &[&str], default: usize) -> Resource {
    Resource::Policy(Policy {
        policy_name: name.into(),
        default_version_id: (default + 1).to_string().into(),
        versions: docs
            .iter()
            .enumerate()
            .map(|(i, d)| PolicyVersion {
                version_id: (i + 1).to_string().into(),
                policy_document: d.to_string(),
            })
            .collect(),
        tags: Default::default(),
    })
}

fn snap(rs: Vec<Resource>) -> Snapshot {
    let mut s = Snapshot::new();
    for r in rs {
        s.insert(r);
    }
    s
}

fn lines(plan: &iot_crr_model::Plan) -> Vec<String> {
    plan.changes.iter().map(|c| c.change.to_string()).collect()
}

fn apply(plan: &iot_crr_model::Plan, s: &mut Snapshot) {
    for c in &plan.changes {
        apply_change(s, &c.change).unwrap_or_else(|e| panic!("{}: {e}", c.change));
    }
}

#[test]
fn a_reparented_group_is_recreated_with_its_subtree_and_memberships() {
    let desired = snap(vec![
        group("usa", None),
        group("eu", None),
        group("ny", Some("eu")),
        group("queens", Some("ny")),
        thing("t1", &["queens"]),
    ]);
    let mut actual = snap(vec![
        group("usa", None),
        group("eu", None),
        group("ny", Some("usa")),
        group("queens", Some("ny")),
        thing("t1", &["queens"]),
    ]);
    let plan = diff(&desired, &actual, &DiffOptions::default());
    assert_eq!(
        lines(&plan),
        [
            "delete thing group queens",
            "delete thing group ny",
            "create thing group ny under eu",
            "create thing group queens under ny",
            "add thing t1 to group queens",
        ]
    );
    apply(&plan, &mut actual);
    assert!(diff(&desired, &actual, &DiffOptions::default()).is_empty());
}

#[test]
fn a_move_blocked_by_a_target_only_child_is_a_warning_not_a_deletion() {
    let desired = snap(vec![
        group("a", None),
        group("b", None),
        group("c", Some("b")),
    ]);
    let actual = snap(vec![
        group("a", None),
        group("b", None),
        group("c", Some("a")),
        group("local", Some("c")),
    ]);
    let plan = diff(&desired, &actual, &DiffOptions::default());
    assert!(plan.is_empty(), "{:?}", lines(&plan));
    assert_eq!(plan.warnings.len(), 1);
    assert!(plan.warnings[0].contains("--prune"), "{}", plan.warnings[0]);
    let pruned = diff(
        &desired,
        &actual,
        &DiffOptions {
            prune: true,
            ..Default::default()
        },
    );
    assert_eq!(
        lines(&pruned),
        [
            "delete thing group local",
            "delete thing group c",
            "create thing group c under b"
        ]
    );
}

#[test]
fn a_full_policy_rolls_its_versions_within_the_limit() {
    let docs = [
        "{\"v\":1}",
        "{\"v\":2}",
        "{\"v\":3}",
        "{\"v\":4}",
        "{\"v\":5}",
        "{\"v\":6}",
    ];
    // The target has versions 1..5 with 1 as default; the source dropped 1 and added 6,
    // which is the default.
    let desired = snap(vec![policy("p", &docs[1..6], 4)]);
    let mut actual = snap(vec![policy("p", &docs[0..5], 0)]);
    let plan = diff(&desired, &actual, &DiffOptions::default());
    assert_eq!(
        lines(&plan),
        [
            "set default version of policy p to 2",
            "delete version 1 of policy p",
            "create a version of policy p (default)",
        ]
    );
    apply(&plan, &mut actual);
    assert!(diff(&desired, &actual, &DiffOptions::default()).is_empty());
    assert_eq!(actual.policies["p"].default_version_id, "6");
}

#[test]
fn documents_are_compared_as_json() {
    let desired = snap(vec![policy("p", &["{\"a\": 1, \"b\": [2]}"], 0)]);
    let actual = snap(vec![policy("p", &["{\"b\":[2],\"a\":1}"], 0)]);
    assert!(diff(&desired, &actual, &DiffOptions::default()).is_empty());
}

#[test]
fn prune_keeps_a_certificate_a_staying_thing_uses() {
    let id = "ab".repeat(32);
    let cert = Resource::Certificate(iot_crr_model::Certificate {
        certificate_id: id.clone().into(),
        certificate_pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".into(),
        status: iot_crr_model::CertificateStatus::Active,
        ca_certificate_id: None,
        policies: Default::default(),
    });
    let desired = snap(vec![thing("dev", &[])]);
    let mut with_cert = Thing {
        thing_name: "dev".into(),
        ..Default::default()
    };
    with_cert.principals.insert(cert_principal(&id));
    let actual = snap(vec![Resource::Thing(with_cert), cert]);
    let plan = diff(
        &desired,
        &actual,
        &DiffOptions {
            prune: true,
            ..Default::default()
        },
    );
    assert!(plan.is_empty(), "{:?}", lines(&plan));
    assert!(plan.warnings[0].contains(&id));
    assert!(plan.warnings[0].contains("thing dev, which stays"));
}

#[test]
fn arns_in_policy_documents_are_rewritten_for_the_target() {
    let doc = r#"{"Statement":[{"Resource":"arn:aws:iot:us-east-1:111111111111:topic/t"}]}"#;
    let desired = snap(vec![policy("p", &[doc], 0)]);
    let opts = DiffOptions {
        rewrite: Some(ArnRewrite {
            from_region: Some("us-east-1".into()),
            to_region: Some("eu-west-1".into()),
            from_account: None,
            to_account: None,
            map: Default::default(),
        }),
        ..Default::default()
    };
    let mut actual = Snapshot::new();
    let plan = diff(&desired, &actual, &opts);
    match &plan.changes[0].change {
        Change::CreatePolicy {
            policy_document, ..
        } => assert!(policy_document.contains("arn:aws:iot:eu-west-1:111111111111:topic/t")),
        other => panic!("{other}"),
    }
    apply(&plan, &mut actual);
    assert!(diff(&desired, &actual, &opts).is_empty());
    // Without the rewrite the two differ.
    assert!(!diff(&desired, &actual, &DiffOptions::default()).is_empty());
}

#[test]
fn a_filter_limits_the_plan_and_prune_to_what_it_selects() {
    let desired = snap(vec![thing("sensor-1", &[]), thing("gw-1", &[])]);
    let actual = snap(vec![thing("sensor-old", &[]), thing("gw-old", &[])]);
    let opts = DiffOptions {
        prune: true,
        filter: Filter {
            include: vec!["thing:sensor-*".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = diff(&desired, &actual, &opts);
    assert_eq!(
        lines(&plan),
        ["create thing sensor-1", "delete thing sensor-old"]
    );
    assert_eq!(plan.desired_counts.things, 1);
    let by_kind = DiffOptions {
        filter: Filter {
            kinds: vec![Kind::ThingGroup],
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(diff(&desired, &actual, &by_kind).is_empty());
}

#[test]
fn a_deprecated_type_is_usable_while_things_are_created_then_deprecated_again() {
    let ty = |deprecated| {
        Resource::ThingType(ThingType {
            thing_type_name: "old".into(),
            deprecated,
            ..Default::default()
        })
    };
    let typed = Resource::Thing(Thing {
        thing_name: "legacy".into(),
        thing_type_name: Some("old".into()),
        ..Default::default()
    });
    let desired = snap(vec![ty(true), typed]);
    let mut actual = snap(vec![ty(true)]);
    let plan = diff(&desired, &actual, &DiffOptions::default());
    assert_eq!(
        lines(&plan),
        [
            "undeprecate thing type old",
            "create thing legacy",
            "deprecate thing type old"
        ]
    );
    apply(&plan, &mut actual);
    assert!(diff(&desired, &actual, &DiffOptions::default()).is_empty());
}

#[test]
fn plans_survive_a_json_round_trip() {
    let desired = snap(vec![
        group("g", None),
        thing("t", &["g"]),
        policy("p", &["{}"], 0),
    ]);
    let mut plan = diff(&desired, &Snapshot::new(), &DiffOptions::default());
    plan.source = "file:a".into();
    plan.target = "file:b".into();
    let back = iot_crr_model::Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(back, plan);
    assert!(plan.target_fingerprint.starts_with("xxh3-128:"));
}

#[test]
fn ignore_tags_leaves_tags_out_of_creates_and_updates() {
    let tagged = |v: &str| {
        Resource::ThingGroup(ThingGroup {
            thing_group_name: "g".into(),
            tags: [("env", v)].into_iter().collect(),
            ..Default::default()
        })
    };
    let opts = DiffOptions {
        ignore_tags: true,
        ..Default::default()
    };
    assert!(
        diff(
            &snap(vec![tagged("prod")]),
            &snap(vec![tagged("dev")]),
            &opts
        )
        .is_empty()
    );
    assert!(
        !diff(
            &snap(vec![tagged("prod")]),
            &snap(vec![tagged("dev")]),
            &DiffOptions::default()
        )
        .is_empty()
    );
    let plan = diff(&snap(vec![tagged("prod")]), &Snapshot::new(), &opts);
    match &plan.changes[0].change {
        Change::CreateThingGroup { thing_group } => assert!(thing_group.tags.is_empty()),
        other => panic!("{other}"),
    }
}

fn thing_with(name: &str, attributes: &[(&str, &str)]) -> Resource {
    Resource::Thing(Thing {
        thing_name: name.into(),
        attributes: attributes.iter().copied().collect(),
        ..Default::default()
    })
}

/// AWS IoT removes an attribute updated to "": an empty value and no attribute are one
/// state, so a registry with empty-valued attributes converges in one sync.
#[test]
fn an_empty_attribute_value_is_the_same_state_as_no_attribute() {
    let desired = snap(vec![thing_with("t", &[("a", ""), ("b", "1")])]);
    let same = snap(vec![thing_with("t", &[("b", "1")])]);
    assert!(diff(&desired, &same, &DiffOptions::default()).is_empty());
    let also_same = snap(vec![thing_with("t", &[("a", ""), ("b", "1")])]);
    assert!(diff(&desired, &also_same, &DiffOptions::default()).is_empty());

    // A value that differs is updated, and the empty one is never sent.
    let mut other = snap(vec![thing_with("t", &[("a", "x"), ("b", "1")])]);
    let plan = diff(&desired, &other, &DiffOptions::default());
    let want: iot_crr_model::StringMap = [("b", "1")].into_iter().collect();
    assert!(matches!(
        &plan.changes[..],
        [c] if matches!(&c.change, Change::UpdateThing { attributes, .. } if *attributes == want)
    ));
    apply(&plan, &mut other);
    assert!(diff(&desired, &other, &DiffOptions::default()).is_empty());

    // A create sends no empty value either, and the reference apply drops one.
    let mut empty = Snapshot::new();
    let plan = diff(&desired, &empty, &DiffOptions::default());
    assert!(matches!(
        &plan.changes[0].change,
        Change::CreateThing { attributes, .. } if *attributes == want
    ));
    apply(&plan, &mut empty);
    assert!(diff(&desired, &empty, &DiffOptions::default()).is_empty());
    let mut s = snap(vec![thing_with("t", &[("a", "x")])]);
    apply_change(
        &mut s,
        &Change::UpdateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: [("a", "")].into_iter().collect(),
        },
    )
    .unwrap();
    assert!(s.things["t"].attributes.is_empty());
}
