//! Readiness on small registries built by hand: a healthy standby, one synced without
//! rewriting ARNs, and six kinds of damage, each found on exactly the devices it hits.

use iot_crr_model::{
    ArnRewrite, Certificate, CertificateStatus, NameSet, Policy as ModelPolicy, PolicyVersion,
    Snapshot, StringMap, Thing, ThingGroup, ThingType, cert_principal,
};

use super::*;

const SRC_REGION: &str = "us-east-1";
const DST_REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

fn cert_id(i: usize) -> String {
    format!("{i:064x}")
}

fn policy(name: &str, doc: &str) -> ModelPolicy {
    ModelPolicy {
        policy_name: name.into(),
        default_version_id: "1".into(),
        versions: vec![PolicyVersion {
            version_id: "1".into(),
            policy_document: doc.to_string(),
        }],
        tags: StringMap::new(),
    }
}

fn doc(region: &str, statements: &[(&str, &str, &str)]) -> String {
    let st: Vec<serde_json::Value> = statements
        .iter()
        .map(|(effect, action, tail)| {
            serde_json::json!({
                "Effect": effect,
                "Action": action,
                "Resource": format!("arn:aws:iot:{region}:{ACCOUNT}:{tail}"),
            })
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": st}).to_string()
}

/// Ten devices under a three-level hierarchy (fleet > site-a > line-1 for the first
/// five, fleet > site-b for the rest): a connect policy on each certificate, a
/// telemetry policy on the root group (inherited), a site policy whose topic reads an
/// attribute, and one certificate attached to no thing.
fn source() -> Snapshot {
    let mut s = Snapshot::new();
    s.origin.region = Some(SRC_REGION.into());
    s.origin.account_id = Some(ACCOUNT.into());
    s.thing_types.insert(
        "sensor".into(),
        ThingType {
            thing_type_name: "sensor".into(),
            ..ThingType::default()
        },
    );
    let group = |name: &str, parent: Option<&str>, policies: &[&str]| ThingGroup {
        thing_group_name: name.into(),
        parent_group_name: parent.map(Into::into),
        policies: policies.iter().copied().collect(),
        ..ThingGroup::default()
    };
    s.thing_groups
        .insert("fleet".into(), group("fleet", None, &["telemetry"]));
    s.thing_groups
        .insert("site-a".into(), group("site-a", Some("fleet"), &["site"]));
    s.thing_groups
        .insert("line-1".into(), group("line-1", Some("site-a"), &[]));
    s.thing_groups
        .insert("site-b".into(), group("site-b", Some("fleet"), &["site"]));
    let thing_var = "${iot:Connection.Thing.ThingName}";
    s.policies.insert(
        "connect".into(),
        policy(
            "connect",
            &doc(
                SRC_REGION,
                &[("Allow", "iot:Connect", &format!("client/{thing_var}"))],
            ),
        ),
    );
    s.policies.insert(
        "telemetry".into(),
        policy(
            "telemetry",
            &doc(
                SRC_REGION,
                &[
                    (
                        "Allow",
                        "iot:Publish",
                        &format!("topic/dt/{thing_var}/telemetry"),
                    ),
                    (
                        "Allow",
                        "iot:Subscribe",
                        &format!("topicfilter/cmd/{thing_var}/*"),
                    ),
                    ("Allow", "iot:Receive", &format!("topic/cmd/{thing_var}/*")),
                ],
            ),
        ),
    );
    s.policies.insert(
        "site".into(),
        policy(
            "site",
            &doc(
                SRC_REGION,
                &[(
                    "Allow",
                    "iot:Publish",
                    "topic/site/${iot:Connection.Thing.Attributes[site]}/status",
                )],
            ),
        ),
    );
    s.policies.insert(
        "lockout".into(),
        policy(
            "lockout",
            &doc(SRC_REGION, &[("Deny", "iot:Connect", "client/*")]),
        ),
    );
    s.policies.insert(
        "standalone".into(),
        policy(
            "standalone",
            &doc(
                SRC_REGION,
                &[
                    ("Allow", "iot:Connect", "client/gateway-probe"),
                    ("Allow", "iot:Publish", "topic/gw/up"),
                ],
            ),
        ),
    );
    for i in 0..10 {
        let id = cert_id(i);
        s.certificates.insert(
            id.as_str().into(),
            Certificate {
                certificate_id: id.as_str().into(),
                certificate_pem: String::new(),
                status: CertificateStatus::Active,
                ca_certificate_id: None,
                policies: ["connect"].into_iter().collect(),
            },
        );
        let name = format!("dev-{i}");
        let mut attributes = StringMap::new();
        let site = if i < 5 { "a" } else { "b" };
        attributes.insert("site", site);
        s.things.insert(
            name.as_str().into(),
            Thing {
                thing_name: name.as_str().into(),
                thing_type_name: Some("sensor".into()),
                attributes,
                thing_groups: [if i < 5 { "line-1" } else { "site-b" }]
                    .into_iter()
                    .collect::<NameSet>(),
                billing_group_name: None,
                principals: [cert_principal(&id)].into_iter().collect(),
                version: None,
            },
        );
    }
    let id = cert_id(99);
    s.certificates.insert(
        id.as_str().into(),
        Certificate {
            certificate_id: id.as_str().into(),
            certificate_pem: String::new(),
            status: CertificateStatus::Active,
            ca_certificate_id: None,
            policies: ["standalone"].into_iter().collect(),
        },
    );
    s
}

/// The source as `sync` writes it to another region: ARNs rewritten, or not.
fn standby(source: &Snapshot, rewrite: bool) -> Snapshot {
    let mut t = source.clone();
    t.origin.region = Some(DST_REGION.into());
    if rewrite {
        let r = ArnRewrite {
            from_region: Some(SRC_REGION.into()),
            to_region: Some(DST_REGION.into()),
            from_account: Some(ACCOUNT.into()),
            to_account: Some(ACCOUNT.into()),
            map: Default::default(),
        };
        for p in t.policies.values_mut() {
            for v in &mut p.versions {
                if let Some(d) = r.rewrite(&v.policy_document) {
                    v.policy_document = d;
                }
            }
        }
    }
    t
}

fn assess(s: &Snapshot, t: &Snapshot) -> Assessment {
    Assessor::new(
        s,
        Place::new(SRC_REGION, ACCOUNT),
        t,
        Place::new(DST_REGION, ACCOUNT),
    )
    .assess(&Filter::default())
}

fn not_ready(a: &Assessment) -> BTreeMap<String, Vec<ReasonCode>> {
    a.devices
        .iter()
        .filter(|d| !d.is_ready())
        .map(|d| {
            (
                d.device
                    .thing
                    .as_deref()
                    .unwrap_or(d.device.certificate.as_str())
                    .to_string(),
                d.reasons.iter().map(|r| r.code).collect(),
            )
        })
        .collect()
}

#[test]
fn a_standby_synced_with_rewritten_arns_is_ready() {
    let s = source();
    let a = assess(&s, &standby(&s, true));
    assert_eq!(a.devices.len(), 11);
    assert!(a.all_ready(), "{:#?}", not_ready(&a));
    let sum = a.summary();
    assert_eq!((sum.devices, sum.ready), (11, 11));
}

#[test]
fn probes_agree_with_the_proof_on_a_healthy_standby() {
    // Every probe of every device is evaluated (no shortcut), and every one the source
    // allows the standby allows.
    let s = source();
    let t = standby(&s, true);
    let a = Assessor::new(
        &s,
        Place::new(SRC_REGION, ACCOUNT),
        &t,
        Place::new(DST_REGION, ACCOUNT),
    );
    for d in a.devices(&Filter::default()) {
        let probes = a.probes(&d);
        assert!(!probes.is_empty(), "{d}");
        for p in probes {
            assert_eq!(p.target_allows, Some(true), "{d}: {p:?}");
        }
    }
    // A thing device probes its connect, its inherited telemetry topics, the topic
    // its attribute names and its shadow topics.
    let dev0 = Device {
        thing: Some("dev-0".into()),
        certificate: cert_id(0).into(),
    };
    let tails: Vec<String> = a.probes(&dev0).into_iter().map(|p| p.resource).collect();
    for want in [
        "client/dev-0",
        "topic/dt/dev-0/telemetry",
        "topicfilter/cmd/dev-0/*",
        "topic/site/a/status",
    ] {
        assert!(tails.iter().any(|t| t == want), "{want} in {tails:?}");
    }
}

#[test]
fn a_standby_synced_without_rewriting_arns_accepts_no_device() {
    let s = source();
    let a = assess(&s, &standby(&s, false));
    let sum = a.summary();
    assert_eq!(sum.ready, 0, "{:#?}", not_ready(&a));
    assert_eq!(sum.devices, 11);
    for d in &a.devices {
        assert!(
            d.reasons
                .iter()
                .any(|r| r.code == ReasonCode::ArnsNotRewritten),
            "{:?}",
            d.reasons
        );
    }
    assert!(sum.fixes.contains(&Fix::SyncRewritingArns));
}

#[test]
fn each_damage_is_found_on_exactly_the_devices_it_hits() {
    let s = source();
    let mut t = standby(&s, true);
    // dev-1: its certificate deactivated.
    t.certificates.get_mut(cert_id(1).as_str()).unwrap().status = CertificateStatus::Inactive;
    // dev-2: the connect policy detached from its certificate.
    t.certificates
        .get_mut(cert_id(2).as_str())
        .unwrap()
        .policies = NameSet::new();
    // dev-3: taken out of its group.
    t.things.get_mut("dev-3").unwrap().thing_groups = NameSet::new();
    // dev-4: its principal detached.
    t.things.get_mut("dev-4").unwrap().principals = NameSet::new();
    // dev-6: its attribute changed.
    t.things
        .get_mut("dev-6")
        .unwrap()
        .attributes
        .insert("site", "z");
    // site-b (dev-5 to dev-9) gets a Deny-all-connects policy only the standby has.
    let lockout = t.policies.get("lockout").unwrap().clone();
    t.policies.insert("lockout".into(), lockout);
    t.thing_groups
        .get_mut("site-b")
        .unwrap()
        .policies
        .insert("lockout");

    let a = assess(&s, &t);
    let found = not_ready(&a);
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6", "dev-7", "dev-8", "dev-9"
        ],
        "{found:#?}"
    );
    assert_eq!(found["dev-1"], [ReasonCode::CertificateInactive]);
    assert_eq!(found["dev-2"], [ReasonCode::PolicyNotAttached]);
    assert!(
        found["dev-3"].contains(&ReasonCode::GroupsDiffer),
        "{found:?}"
    );
    assert!(found["dev-4"].contains(&ReasonCode::CertificateNotAttached));
    assert!(found["dev-6"].contains(&ReasonCode::AttributeDiffers));
    for d in ["dev-5", "dev-7", "dev-8", "dev-9"] {
        assert_eq!(found[d], [ReasonCode::Denied], "{d}");
    }
    // The Deny is detached by hand (no sync removes an attachment only the standby
    // has), and the reason says where it is attached.
    assert!(a.summary().fixes.contains(&Fix::DetachInStandby));
    let dev5 = a
        .devices
        .iter()
        .find(|d| d.device.thing.as_deref() == Some("dev-5"))
        .unwrap();
    assert!(
        dev5.reasons[0].detail.contains("thing group site-b"),
        "{:?}",
        dev5.reasons
    );
    // The unattached certificate and dev-0 are untouched.
    assert!(!found.contains_key(&cert_id(99)));
}

#[test]
fn a_device_the_source_refuses_is_not_counted_against_the_standby() {
    let mut s = source();
    s.certificates.get_mut(cert_id(0).as_str()).unwrap().status = CertificateStatus::Inactive;
    s.certificates
        .get_mut(cert_id(1).as_str())
        .unwrap()
        .policies = NameSet::new();
    let t = standby(&s, true);
    let a = assess(&s, &t);
    let sum = a.summary();
    assert_eq!(sum.not_ready_in_source, 2);
    assert_eq!((sum.devices, sum.ready), (9, 9));
    assert!(a.all_ready());
}

#[test]
fn an_undecidable_statement_is_never_ready() {
    let s0 = source();
    let mut s = s0.clone();
    let d = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iot:Publish",
        "Resource": format!("arn:aws:iot:{SRC_REGION}:{ACCOUNT}:topic/x"),
        "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    }, {
        "Effect": "Allow", "Action": "iot:Connect",
        "Resource": format!("arn:aws:iot:{SRC_REGION}:{ACCOUNT}:client/${{iot:Connection.Thing.ThingName}}")
    }]})
    .to_string();
    s.policies.insert("odd".into(), policy("odd", &d));
    s.certificates
        .get_mut(cert_id(0).as_str())
        .unwrap()
        .policies = ["odd"].into_iter().collect();
    let t = standby(&s, true);
    let a = assess(&s, &t);
    let dev0 = a
        .devices
        .iter()
        .find(|d| d.device.thing.as_deref() == Some("dev-0"))
        .unwrap();
    assert_eq!(dev0.verdict, Verdict::CannotDecide, "{:?}", dev0.reasons);
    assert!(dev0.reasons[0].detail.contains("odd"), "{:?}", dev0.reasons);
    assert!(!a.all_ready());
}

#[test]
fn a_policy_that_does_not_parse_is_reported_and_its_devices_cannot_be_decided() {
    let mut s = source();
    s.policies
        .insert("broken".into(), policy("broken", "{\"Statement\": 3}"));
    s.certificates
        .get_mut(cert_id(0).as_str())
        .unwrap()
        .policies
        .insert("broken");
    let t = standby(&s, true);
    let a = assess(&s, &t);
    assert!(
        a.policy_problems.iter().any(|p| p.contains("broken")),
        "{:?}",
        a.policy_problems
    );
    let dev0 = &a.devices[0];
    assert_eq!(dev0.verdict, Verdict::CannotDecide, "{:?}", dev0.reasons);
}

#[test]
fn the_filter_selects_devices_by_thing_and_certificate() {
    let s = source();
    let t = standby(&s, true);
    let a = Assessor::new(
        &s,
        Place::new(SRC_REGION, ACCOUNT),
        &t,
        Place::new(DST_REGION, ACCOUNT),
    );
    let f = Filter {
        include: vec!["thing:dev-1*".into()],
        ..Filter::default()
    };
    // A pattern scoped to things leaves certificates alone, as in every comparison.
    let ds = a.devices(&f);
    assert_eq!(ds.len(), 2, "{ds:?}");
    assert_eq!(ds[0].thing.as_deref(), Some("dev-1"));
    assert_eq!(ds[1].certificate.as_str(), cert_id(99));
    // Only things: no certificate attached to no thing.
    let f = Filter {
        kinds: vec![Kind::Thing],
        ..Filter::default()
    };
    let ds = a.devices(&f);
    assert_eq!(ds.len(), 10, "{ds:?}");
    assert!(ds.iter().all(|d| d.thing.is_some()));
}

#[test]
fn a_json_line_has_the_documented_shape() {
    let s = source();
    let mut t = standby(&s, true);
    t.certificates.remove(cert_id(0).as_str());
    let a = assess(&s, &t);
    let v: serde_json::Value = serde_json::to_value(&a.devices[0]).unwrap();
    assert_eq!(v["thing"], "dev-0");
    assert_eq!(v["certificate"], cert_id(0));
    assert_eq!(v["ready"], false);
    assert_eq!(v["reasons"][0]["code"], "certificate-missing");
    let v: serde_json::Value = serde_json::to_value(&a.devices[10]).unwrap();
    assert_eq!(v["thing"], serde_json::Value::Null);
    assert_eq!(v["ready"], true);
}

#[test]
fn a_certificate_pem_that_does_not_parse_makes_its_device_undecided_where_a_policy_reads_it() {
    let mut s = source();
    let d = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iot:Publish",
        "Resource": format!("arn:aws:iot:{SRC_REGION}:{ACCOUNT}:topic/by-cn/${{iot:Certificate.Subject.CommonName}}")
    }]})
    .to_string();
    s.policies.insert("by-cn".into(), policy("by-cn", &d));
    s.certificates
        .get_mut(cert_id(0).as_str())
        .unwrap()
        .policies
        .insert("by-cn");
    let t = standby(&s, true);
    let a = Assessor::new(
        &s,
        Place::new(SRC_REGION, ACCOUNT),
        &t,
        Place::new(DST_REGION, ACCOUNT),
    );
    assert!(a.needs_certificates());
    assert!(reads_certificates(&s));
    let a = a.with_certificates([(
        Name::from(cert_id(0)),
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_string(),
    )]);
    let r = a.assess_device(Device {
        thing: Some("dev-0".into()),
        certificate: cert_id(0).into(),
    });
    assert_eq!(r.verdict, Verdict::CannotDecide, "{:?}", r.reasons);
    assert!(
        r.reasons.iter().any(|x| x.detail.contains("PEM")),
        "{:?}",
        r.reasons
    );
    // Devices whose policies do not read certificates are judged as ever.
    let r = a.assess_device(Device {
        thing: Some("dev-1".into()),
        certificate: cert_id(1).into(),
    });
    assert_eq!(r.verdict, Verdict::Ready, "{:?}", r.reasons);
}

#[test]
fn a_role_alias_the_standby_lacks_is_named_on_the_devices_that_may_assume_it() {
    // Devices of site b may fetch credentials through the `camera` alias.
    let mut s = source();
    s.policies.insert(
        "credentials".into(),
        policy(
            "credentials",
            &doc(
                SRC_REGION,
                &[("Allow", "iot:AssumeRoleWithCertificate", "rolealias/camera")],
            ),
        ),
    );
    s.thing_groups
        .get_mut("site-b")
        .unwrap()
        .policies
        .insert("credentials");
    for name in ["camera", "unused"] {
        s.role_aliases.insert(
            name.into(),
            iot_crr_model::RoleAlias {
                role_alias: name.into(),
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
                credential_duration_seconds: 3600,
                tags: StringMap::new(),
            },
        );
    }
    let mut t = standby(&s, true);
    t.role_aliases.clear();
    let a = assess(&s, &t);
    let bad = not_ready(&a);
    assert_eq!(
        bad.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dev-5", "dev-6", "dev-7", "dev-8", "dev-9"]
    );
    assert!(
        bad.values()
            .all(|codes| codes == &[ReasonCode::RoleAliasMissing]),
        "{bad:?}"
    );
    let report = a.devices.iter().find(|d| !d.is_ready()).unwrap();
    assert!(
        report.reasons[0].detail.contains("role alias camera"),
        "{:?}",
        report.reasons
    );
    assert_eq!(ReasonCode::RoleAliasMissing.fix(), Fix::Sync);
    // With the alias replicated (the unused one need not be), every device is ready.
    t.role_aliases
        .insert("camera".into(), s.role_aliases["camera"].clone());
    assert!(assess(&s, &t).all_ready());
}

#[test]
fn a_certificate_registered_with_a_ca_needs_that_ca_active_in_the_standby() {
    let ca_id = "ca".repeat(32);
    let mut s = source();
    // Devices 1 and 2 were registered with the CA.
    for i in [1, 2] {
        s.certificates
            .get_mut(cert_id(i).as_str())
            .unwrap()
            .ca_certificate_id = Some(ca_id.as_str().into());
    }
    s.ca_certificates.insert(
        ca_id.as_str().into(),
        iot_crr_model::CaCertificate {
            certificate_id: ca_id.as_str().into(),
            certificate_pem: "-----BEGIN CERTIFICATE-----".into(),
            status: iot_crr_model::CaStatus::Active,
            certificate_mode: iot_crr_model::CaMode::Default,
            auto_registration: false,
            registration_config: None,
            tags: StringMap::new(),
        },
    );
    let mut t = standby(&s, true);
    assert!(assess(&s, &t).all_ready());
    t.ca_certificates.clear();
    let a = assess(&s, &t);
    let bad = not_ready(&a);
    assert_eq!(
        bad.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dev-1", "dev-2"]
    );
    assert!(
        bad.values()
            .all(|codes| codes == &[ReasonCode::CaCertificateMissing]),
        "{bad:?}"
    );
    assert_eq!(ReasonCode::CaCertificateMissing.fix(), Fix::Sync);
    // Inactive in the standby.
    let mut inactive = s.ca_certificates[ca_id.as_str()].clone();
    inactive.status = iot_crr_model::CaStatus::Inactive;
    t.ca_certificates.insert(ca_id.as_str().into(), inactive);
    let bad = not_ready(&assess(&s, &t));
    assert!(
        bad.values()
            .all(|codes| codes == &[ReasonCode::CaCertificateInactive]),
        "{bad:?}"
    );
    // A standby that could not list its CAs says nothing about them.
    t.ca_certificates.clear();
    t.unlisted.insert(Kind::CaCertificate);
    assert!(assess(&s, &t).all_ready());
}
