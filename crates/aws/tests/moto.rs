//! Integration tests of the AWS backend against a moto server (two regions in one
//! server: us-east-1 and eu-west-1 are separate registries).
//!
//! The server's URL comes from `IOT_CRR_MOTO_ENDPOINT` (`scripts/test.sh` starts moto
//! and sets it). The tests share the server and reset it, so they run one at a time
//! (a global lock).

use std::time::Duration;

use aws_sdk_iot::Client;
use aws_sdk_iot::types::{AttributePayload, ThingGroupProperties, ThingTypeProperties};
use iot_crr_aws::{AwsOptions, AwsRegistry, CertStrategy};
use iot_crr_model::{
    BillingGroup, BillingGroupChange, CertificateStatus, Change, DiffOptions, Filter, Kind,
    NameSet, Outcome, PolicyTarget, PrincipalCoverage, Related, ResourceKey, Snapshot, StringMap,
    ThingGroup, ThingType, cert_principal,
};
use iot_crr_registry::{ErrorClass, ReadRequest, Registry};
use iot_crr_testkit::{moto_endpoint, moto_sdk_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

const SOURCE: &str = "us-east-1";
const TARGET: &str = "eu-west-1";

static LOCK: Mutex<()> = Mutex::const_new(());

fn client(region: &str) -> Client {
    Client::new(&moto_sdk_config(region))
}

fn registry(region: &str) -> AwsRegistry {
    registry_with(region, CertStrategy::WithoutCa)
}

fn registry_with(region: &str, cert_strategy: CertStrategy) -> AwsRegistry {
    let mut opts = AwsOptions::new(region);
    opts.endpoint_url = Some(moto_endpoint());
    opts.cert_strategy = cert_strategy;
    opts.max_attempts = 2;
    AwsRegistry::from_sdk_config(&moto_sdk_config(region), opts)
}

/// `POST /moto-api/reset`: clears every region of the server.
async fn reset() {
    let ep = moto_endpoint();
    let host = ep
        .strip_prefix("http://")
        .expect("the moto endpoint is plain http://HOST:PORT");
    let mut s = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("cannot reach moto at {ep}: {e}"));
    let req = format!(
        "POST /moto-api/reset HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let head = String::from_utf8_lossy(&resp);
    assert!(head.starts_with("HTTP/1.1 200"), "reset failed: {head}");
}

fn map(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn doc(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

/// What the rich fixture created: the certificate ids and PEMs.
struct Fixture {
    active_cert: String,
    inactive_cert: String,
}

/// Builds a rich registry in `region` directly through the SDK.
async fn build_rich_registry(region: &str) -> Fixture {
    let c = client(region);
    // Thing types, one deprecated.
    c.create_thing_type()
        .thing_type_name("sensor")
        .thing_type_properties(
            ThingTypeProperties::builder()
                .thing_type_description("temperature sensor")
                .searchable_attributes("model")
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.create_thing_type()
        .thing_type_name("gateway")
        .send()
        .await
        .unwrap();
    c.create_thing_type()
        .thing_type_name("legacy")
        .send()
        .await
        .unwrap();
    c.deprecate_thing_type()
        .thing_type_name("legacy")
        .send()
        .await
        .unwrap();
    // A hierarchy four levels deep, and a standalone group with attributes.
    let mut parent: Option<&str> = None;
    for (name, desc) in [
        ("site", "the site"),
        ("building", "building A"),
        ("floor", "floor 1"),
        ("room", "room 101"),
    ] {
        c.create_thing_group()
            .thing_group_name(name)
            .set_parent_group_name(parent.map(str::to_string))
            .thing_group_properties(
                ThingGroupProperties::builder()
                    .thing_group_description(desc)
                    .attribute_payload(
                        AttributePayload::builder()
                            .set_attributes(Some(map(&[("level", name)])))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        parent = Some(name);
    }
    c.create_thing_group()
        .thing_group_name("fleet-b")
        .send()
        .await
        .unwrap();
    c.create_billing_group()
        .billing_group_name("billing-a")
        .billing_group_properties(
            aws_sdk_iot::types::BillingGroupProperties::builder()
                .billing_group_description("cost centre A")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Things.
    c.create_thing()
        .thing_name("t1")
        .thing_type_name("sensor")
        .attribute_payload(
            AttributePayload::builder()
                .set_attributes(Some(map(&[("model", "x1"), ("color", "red")])))
                .build(),
        )
        .billing_group_name("billing-a")
        .send()
        .await
        .unwrap();
    c.create_thing()
        .thing_name("t2")
        .thing_type_name("gateway")
        .send()
        .await
        .unwrap();
    c.create_thing()
        .thing_name("t3")
        .attribute_payload(
            AttributePayload::builder()
                .set_attributes(Some(map(&[("serial", "0003")])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.create_thing().thing_name("t4").send().await.unwrap();
    for (thing, group) in [("t1", "room"), ("t1", "fleet-b"), ("t2", "floor")] {
        c.add_thing_to_thing_group()
            .thing_name(thing)
            .thing_group_name(group)
            .send()
            .await
            .unwrap();
    }
    // Policies: one with three versions and the middle one default.
    c.create_policy()
        .policy_name("p-multi")
        .policy_document(doc("iot:Connect"))
        .send()
        .await
        .unwrap();
    c.create_policy_version()
        .policy_name("p-multi")
        .policy_document(doc("iot:Publish"))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    c.create_policy_version()
        .policy_name("p-multi")
        .policy_document(doc("iot:Subscribe"))
        .set_as_default(false)
        .send()
        .await
        .unwrap();
    c.create_policy()
        .policy_name("p-single")
        .policy_document(doc("iot:Receive"))
        .send()
        .await
        .unwrap();
    // Certificates: one active, one inactive, with policies and things attached.
    let active = c
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .unwrap();
    let inactive = c
        .create_keys_and_certificate()
        .set_as_active(false)
        .send()
        .await
        .unwrap();
    let (a_id, a_arn) = (
        active.certificate_id().unwrap().to_string(),
        active.certificate_arn().unwrap().to_string(),
    );
    let (i_id, i_arn) = (
        inactive.certificate_id().unwrap().to_string(),
        inactive.certificate_arn().unwrap().to_string(),
    );
    let building_arn = c
        .describe_thing_group()
        .thing_group_name("building")
        .send()
        .await
        .unwrap()
        .thing_group_arn()
        .unwrap()
        .to_string();
    for (policy, target) in [
        ("p-multi", a_arn.as_str()),
        ("p-single", i_arn.as_str()),
        ("p-single", building_arn.as_str()),
    ] {
        c.attach_policy()
            .policy_name(policy)
            .target(target)
            .send()
            .await
            .unwrap();
    }
    for (thing, principal) in [("t1", a_arn.as_str()), ("t2", i_arn.as_str())] {
        c.attach_thing_principal()
            .thing_name(thing)
            .principal(principal)
            .send()
            .await
            .unwrap();
    }
    Fixture {
        active_cert: a_id,
        inactive_cert: i_id,
    }
}

fn names<'a>(it: impl IntoIterator<Item = &'a iot_crr_model::Name>) -> Vec<&'a str> {
    it.into_iter().map(|n| n.as_str()).collect()
}

fn calls(r: &AwsRegistry, api: &str) -> u64 {
    r.api_calls()
        .into_iter()
        .find(|(a, _)| a == api)
        .map(|(_, n)| n)
        .unwrap_or(0)
}

fn check_rich_snapshot(s: &Snapshot, fx: &Fixture, with_principals: bool) {
    // Types.
    assert_eq!(names(s.thing_types.keys()), ["gateway", "legacy", "sensor"]);
    let sensor = &s.thing_types["sensor"];
    assert_eq!(
        sensor.thing_type_description.as_deref(),
        Some("temperature sensor")
    );
    assert_eq!(names(&sensor.searchable_attributes), ["model"]);
    assert!(!sensor.deprecated);
    assert!(s.thing_types["legacy"].deprecated);
    // Groups and hierarchy.
    assert_eq!(
        names(s.thing_groups.keys()),
        ["building", "fleet-b", "floor", "room", "site"]
    );
    assert_eq!(s.thing_groups["site"].parent_group_name, None);
    assert_eq!(
        s.thing_groups["room"].parent_group_name.as_deref(),
        Some("floor")
    );
    assert_eq!(
        s.thing_groups["floor"].parent_group_name.as_deref(),
        Some("building")
    );
    assert_eq!(s.group_depth("room"), 3);
    assert_eq!(s.thing_groups["room"].attributes.get("level"), Some("room"));
    assert_eq!(
        s.thing_groups["building"]
            .thing_group_description
            .as_deref(),
        Some("building A")
    );
    assert_eq!(names(&s.thing_groups["building"].policies), ["p-single"]);
    assert!(s.thing_groups["room"].policies.is_empty());
    assert!(!s.thing_groups["room"].is_dynamic());
    // Billing groups.
    assert_eq!(
        s.billing_groups["billing-a"]
            .billing_group_description
            .as_deref(),
        Some("cost centre A")
    );
    // Things with attributes, groups, billing group.
    let t1 = &s.things["t1"];
    assert_eq!(t1.thing_type_name.as_deref(), Some("sensor"));
    assert_eq!(t1.attributes.get("model"), Some("x1"));
    assert_eq!(t1.attributes.get("color"), Some("red"));
    assert_eq!(names(&t1.thing_groups), ["fleet-b", "room"]);
    assert_eq!(t1.billing_group_name.as_deref(), Some("billing-a"));
    assert!(t1.version.is_some());
    assert_eq!(names(&s.things["t2"].thing_groups), ["floor"]);
    assert_eq!(s.things["t3"].thing_type_name, None);
    assert!(s.things["t4"].attributes.is_empty());
    if with_principals {
        assert_eq!(
            s.things["t1"].principals,
            NameSet::from_iter([cert_principal(&fx.active_cert)])
        );
        assert_eq!(
            s.things["t2"].principals,
            NameSet::from_iter([cert_principal(&fx.inactive_cert)])
        );
        assert!(s.things["t3"].principals.is_empty());
    }
    // Policies: every version in order, default not the latest.
    let p = &s.policies["p-multi"];
    assert_eq!(p.versions.len(), 3);
    assert_eq!(p.default_index(), Some(1));
    assert!(p.versions[2].policy_document.contains("iot:Subscribe"));
    assert_eq!(s.policies["p-single"].versions.len(), 1);
}

#[tokio::test]
async fn read_rich_registry_with_few_calls() {
    let _g = LOCK.lock().await;
    reset().await;
    let fx = build_rich_registry(SOURCE).await;
    let reg = registry(SOURCE);
    assert_eq!(reg.location(), "aws:us-east-1");
    let s = reg.read(&ReadRequest::default()).await.unwrap();
    check_rich_snapshot(&s, &fx, true);
    // Certificates with PEM, status and policies.
    let a = &s.certificates[fx.active_cert.as_str()];
    assert_eq!(a.status, CertificateStatus::Active);
    assert!(a.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(names(&a.policies), ["p-multi"]);
    let i = &s.certificates[fx.inactive_cert.as_str()];
    assert_eq!(i.status, CertificateStatus::Inactive);
    assert_eq!(names(&i.policies), ["p-single"]);
    // The account comes from the ARNs; moto's default account.
    assert_eq!(s.origin.region.as_deref(), Some(SOURCE));
    assert_eq!(s.origin.account_id.as_deref(), Some("123456789012"));
    assert_eq!(reg.origin(), s.origin);

    // Fewest calls: no DescribeThing at all, one ListThings page, one
    // ListThingsInThingGroup per static group, principals per certificate (2 < 4
    // things), one GetPolicyVersion per version.
    assert_eq!(calls(&reg, "DescribeThing"), 0);
    assert_eq!(calls(&reg, "ListThings"), 1);
    assert_eq!(calls(&reg, "DescribeThingGroup"), 5);
    assert_eq!(calls(&reg, "ListThingsInThingGroup"), 5);
    assert_eq!(calls(&reg, "ListThingsInBillingGroup"), 1);
    assert_eq!(calls(&reg, "ListPrincipalThings"), 2);
    assert_eq!(calls(&reg, "ListThingPrincipals"), 0);
    assert_eq!(calls(&reg, "GetPolicyVersion"), 4);
    assert_eq!(calls(&reg, "ListTargetsForPolicy"), 2);
    assert_eq!(calls(&reg, "DescribeCertificate"), 2);
    // moto lacks ListTagsForResource: tried once, then tags are off (TagMode::Auto).
    assert!(!reg.tags_enabled());
    assert_eq!(calls(&reg, "ListTagsForResource"), 1, "probed once");
    let total: u64 = reg.api_calls().iter().map(|(_, n)| n).sum();
    eprintln!(
        "full read of the rich registry: {total} calls: {:?}",
        reg.api_calls()
    );

    // A comparison's read: no DescribeCertificate; the statuses come from the list,
    // the policies from the policies' targets, as in the full read.
    let reg4 = registry(SOURCE);
    let without_pems = ReadRequest {
        skip_certificate_pems: true,
        ..Default::default()
    };
    let s4 = reg4.read(&without_pems).await.unwrap();
    assert_eq!(calls(&reg4, "DescribeCertificate"), 0);
    assert_eq!(s4.certificates.len(), s.certificates.len());
    for (id, c) in &s4.certificates {
        let full = &s.certificates[id];
        assert!(c.certificate_pem.is_empty(), "{id}");
        assert_eq!(
            (c.status, &c.policies),
            (full.status, &full.policies),
            "{id}"
        );
    }
    assert_eq!(s4.things, s.things);
    // What a registration needs of one certificate: one DescribeCertificate, no more.
    let reg5 = registry(SOURCE);
    let (id, full) = s.certificates.iter().next().unwrap();
    let (pem, ca) = reg5.certificate_pem(id).await.unwrap().unwrap();
    assert_eq!(
        (&pem, &ca),
        (&full.certificate_pem, &full.ca_certificate_id)
    );
    assert_eq!(
        reg5.api_calls(),
        vec![("DescribeCertificate".to_string(), 1)]
    );
    assert_eq!(reg5.certificate_pem(&"0".repeat(64)).await.unwrap(), None);

    // Without certificates selected, principals are read per thing.
    let reg2 = registry(SOURCE);
    let only_things = ReadRequest {
        filter: Filter {
            kinds: vec![
                Kind::Thing,
                Kind::ThingType,
                Kind::ThingGroup,
                Kind::Policy,
                Kind::BillingGroup,
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    let s2 = reg2.read(&only_things).await.unwrap();
    check_rich_snapshot(&s2, &fx, true);
    assert!(s2.certificates.is_empty());
    // The certificates are listed (one page) to choose how principals are read: two
    // certificates for four things, so per certificate.
    assert_eq!(calls(&reg2, "ListThingPrincipals"), 0);
    assert_eq!(calls(&reg2, "ListPrincipalThings"), 2);
    assert_eq!(calls(&reg2, "ListCertificates"), 1);

    // A name filter skips the detail calls of what it does not select.
    let reg3 = registry(SOURCE);
    let filtered = ReadRequest {
        filter: Filter {
            kinds: vec![Kind::Policy],
            include: vec!["policy:p-single".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let s3 = reg3.read(&filtered).await.unwrap();
    assert_eq!(names(s3.policies.keys()), ["p-single"]);
    assert_eq!(calls(&reg3, "GetPolicyVersion"), 1);
    assert_eq!(calls(&reg3, "ListThings"), 0);
    assert_eq!(calls(&reg3, "ListTargetsForPolicy"), 0);

    // Single resources.
    for key in [
        ResourceKey::new(Kind::Thing, "t1"),
        ResourceKey::new(Kind::ThingGroup, "building"),
        ResourceKey::new(Kind::ThingType, "legacy"),
        ResourceKey::new(Kind::BillingGroup, "billing-a"),
        ResourceKey::new(Kind::Policy, "p-multi"),
        ResourceKey::new(Kind::Certificate, fx.active_cert.as_str()),
    ] {
        let one = reg.read_resource(&key).await.unwrap();
        assert_eq!(one, s.get(&key), "{key}");
    }
    for key in [
        ResourceKey::new(Kind::Thing, "nope"),
        ResourceKey::new(Kind::ThingGroup, "nope"),
        ResourceKey::new(Kind::ThingType, "nope"),
        ResourceKey::new(Kind::BillingGroup, "nope"),
        ResourceKey::new(Kind::Policy, "nope"),
        ResourceKey::new(Kind::Certificate, "00".repeat(32)),
    ] {
        assert_eq!(reg.read_resource(&key).await.unwrap(), None, "{key}");
    }
}

#[tokio::test]
async fn principal_coverage_follows_how_principals_were_read() {
    let _g = LOCK.lock().await;
    reset().await;
    let fx = build_rich_registry(SOURCE).await;
    // Four things, two certificates: principals are read per certificate, which sees
    // certificate principals only, and the snapshot says so.
    let reg = registry(SOURCE);
    let s = reg.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(calls(&reg, "ListPrincipalThings"), 2);
    assert_eq!(s.principal_coverage, PrincipalCoverage::CertificatesOnly);
    check_rich_snapshot(&s, &fx, true);
    // The things alone are read the same way (the certificates are listed to count
    // them), and say so.
    let only_things = ReadRequest {
        filter: Filter {
            kinds: vec![Kind::Thing],
            ..Default::default()
        },
        ..Default::default()
    };
    let s = registry(SOURCE).read(&only_things).await.unwrap();
    assert_eq!(s.principal_coverage, PrincipalCoverage::CertificatesOnly);
    assert!(s.certificates.is_empty());

    // More certificates than things: per thing again.
    let c = client(SOURCE);
    for _ in 0..3 {
        c.create_keys_and_certificate()
            .set_as_active(false)
            .send()
            .await
            .unwrap();
    }
    let reg = registry(SOURCE);
    let s = reg.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(s.certificates.len(), 5);
    assert_eq!(calls(&reg, "ListPrincipalThings"), 0);
    assert_eq!(calls(&reg, "ListThingPrincipals"), 4);
    assert_eq!(s.principal_coverage, PrincipalCoverage::All);
    check_rich_snapshot(&s, &fx, true);
}

/// With a taker for early pages, the things are handed over a page (250) at a time as
/// their principals are read, each complete (groups, billing group, principals), and
/// the snapshot keeps only what was not handed over: together exactly the things of a
/// whole read. With principals read per certificate nothing is handed over.
#[tokio::test]
async fn things_are_handed_over_in_pages_as_their_principals_are_read() {
    let _g = LOCK.lock().await;
    reset().await;
    let fleet = iot_crr_fleet::generate(&iot_crr_fleet::FleetSpec::new(260));
    let c = client(SOURCE);
    c.create_thing_group()
        .thing_group_name("paged")
        .send()
        .await
        .unwrap();
    c.create_billing_group()
        .billing_group_name("bill")
        .send()
        .await
        .unwrap();
    for (i, (cert, thing)) in fleet
        .certificates
        .values()
        .zip(fleet.things.keys())
        .enumerate()
    {
        c.create_thing()
            .thing_name(thing.as_str())
            .send()
            .await
            .unwrap();
        let arn = c
            .register_certificate_without_ca()
            .certificate_pem(&cert.certificate_pem)
            .status(aws_sdk_iot::types::CertificateStatus::Active)
            .send()
            .await
            .unwrap()
            .certificate_arn
            .unwrap();
        c.attach_thing_principal()
            .thing_name(thing.as_str())
            .principal(arn)
            .send()
            .await
            .unwrap();
        if i % 3 == 0 {
            c.add_thing_to_thing_group()
                .thing_name(thing.as_str())
                .thing_group_name("paged")
                .send()
                .await
                .unwrap();
        }
        if i % 5 == 0 {
            c.add_thing_to_billing_group()
                .thing_name(thing.as_str())
                .billing_group_name("bill")
                .send()
                .await
                .unwrap();
        }
    }
    let lifted = || {
        let mut opts = AwsOptions::new(SOURCE);
        opts.endpoint_url = Some(moto_endpoint());
        opts.max_attempts = 2;
        opts.quotas.apply_overrides("*=1000").unwrap();
        AwsRegistry::from_sdk_config(&moto_sdk_config(SOURCE), opts)
    };
    let things_only = Filter {
        kinds: vec![Kind::Thing],
        ..Default::default()
    };
    let whole = lifted()
        .read(&ReadRequest {
            filter: things_only.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(whole.things.len(), 260);
    assert_eq!(whole.principal_coverage, PrincipalCoverage::All);

    let (pages, mut rx) = iot_crr_registry::ThingPages::channel();
    let reg = lifted();
    let rest = reg
        .read(&ReadRequest {
            filter: things_only.clone(),
            thing_pages: Some(pages),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(calls(&reg, "ListThingPrincipals"), 260);
    let mut seen = Vec::new();
    while let Ok(page) = rx.try_recv() {
        assert!(page.len() <= 250, "a page of {}", page.len());
        seen.push(page.len());
        for t in page {
            assert_eq!(
                Some(&t),
                whole.things.get(t.thing_name.as_str()),
                "{}",
                t.thing_name
            );
            assert!(!rest.things.contains_key(t.thing_name.as_str()));
        }
    }
    assert_eq!(seen, [250, 10], "two pages, everything handed over");
    assert!(rest.things.is_empty());
    let grouped = whole
        .things
        .values()
        .filter(|t| !t.thing_groups.is_empty())
        .count();
    assert_eq!(grouped, 87);
    assert_eq!(
        whole
            .things
            .values()
            .filter(|t| t.billing_group_name.is_some())
            .count(),
        52
    );
    assert!(whole.things.values().all(|t| t.principals.len() == 1));

    // Nobody takes the pages: everything stays in the snapshot.
    let (pages, rx) = iot_crr_registry::ThingPages::channel();
    drop(rx);
    let kept = lifted()
        .read(&ReadRequest {
            filter: things_only.clone(),
            thing_pages: Some(pages),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(kept.things, whole.things);

    // Fewer certificates than things: principals are read per certificate, and the
    // things come with the snapshot.
    let first = whole.things.values().next().unwrap();
    let cert = iot_crr_model::principal_certificate_id(first.principals.iter().next().unwrap())
        .unwrap()
        .to_string();
    c.update_certificate()
        .certificate_id(&cert)
        .new_status(aws_sdk_iot::types::CertificateStatus::Inactive)
        .send()
        .await
        .unwrap();
    c.detach_thing_principal()
        .thing_name(first.thing_name.as_str())
        .principal(format!("arn:aws:iot:{SOURCE}:123456789012:cert/{cert}"))
        .send()
        .await
        .unwrap();
    c.delete_certificate()
        .certificate_id(&cert)
        .send()
        .await
        .unwrap();
    let (pages, mut rx) = iot_crr_registry::ThingPages::channel();
    let by_cert = lifted()
        .read(&ReadRequest {
            filter: things_only,
            thing_pages: Some(pages),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_cert.principal_coverage,
        PrincipalCoverage::CertificatesOnly
    );
    assert_eq!(by_cert.things.len(), 260);
    assert!(rx.try_recv().is_err(), "no page is handed over");
}

#[tokio::test]
async fn related_queries_answer_like_the_snapshot() {
    let _g = LOCK.lock().await;
    reset().await;
    let fx = build_rich_registry(SOURCE).await;
    let reg = registry(SOURCE);
    let s = reg.read(&ReadRequest::default()).await.unwrap();
    let mut queries = Vec::new();
    for g in ["site", "building", "floor", "room", "fleet-b", "nope"] {
        queries.push(Related::ChildGroups(g.into()));
        queries.push(Related::GroupMembers(g.into()));
    }
    for t in ["sensor", "gateway", "legacy", "nope"] {
        queries.push(Related::ThingsOfType(t.into()));
    }
    for p in ["p-multi", "p-single", "nope"] {
        queries.push(Related::PolicyTargets(p.into()));
    }
    for p in [
        cert_principal(&fx.active_cert),
        cert_principal(&fx.inactive_cert),
        cert_principal(&"00".repeat(32)),
        // A principal that is not a certificate, attached to nothing.
        "us-east-1:00000000-0000-0000-0000-000000000000".into(),
    ] {
        queries.push(Related::ThingsWithPrincipal(p));
    }
    for q in &queries {
        let got = reg.related(q).await.unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!(got, s.related(q), "{q}");
    }
    // The answers are not vacuous.
    let key = |k, n: &str| ResourceKey::new(k, n);
    assert_eq!(
        reg.related(&Related::ChildGroups("building".into()))
            .await
            .unwrap(),
        [key(Kind::ThingGroup, "floor")]
    );
    assert_eq!(
        reg.related(&Related::GroupMembers("room".into()))
            .await
            .unwrap(),
        [key(Kind::Thing, "t1")]
    );
    assert_eq!(
        reg.related(&Related::ThingsOfType("sensor".into()))
            .await
            .unwrap(),
        [key(Kind::Thing, "t1")]
    );
    assert_eq!(
        reg.related(&Related::PolicyTargets("p-single".into()))
            .await
            .unwrap(),
        [
            key(Kind::ThingGroup, "building"),
            key(Kind::Certificate, &fx.inactive_cert)
        ]
    );
    // A registry that has seen no ARN yet looks the certificate up for its ARN.
    let fresh = registry(SOURCE);
    assert_eq!(
        fresh
            .related(&Related::ThingsWithPrincipal(cert_principal(
                &fx.active_cert
            )))
            .await
            .unwrap(),
        [key(Kind::Thing, "t1")]
    );
    assert_eq!(calls(&fresh, "DescribeCertificate"), 1);
    assert_eq!(
        registry(SOURCE)
            .related(&Related::ThingsWithPrincipal(cert_principal(
                &"00".repeat(32)
            )))
            .await
            .unwrap(),
        []
    );
    // Each question is one list call (plus a describe for group members).
    let counted = registry(SOURCE);
    counted
        .related(&Related::ChildGroups("site".into()))
        .await
        .unwrap();
    counted
        .related(&Related::GroupMembers("floor".into()))
        .await
        .unwrap();
    assert_eq!(
        counted.api_calls(),
        [
            ("DescribeThingGroup".to_string(), 1),
            ("ListThingGroups".to_string(), 1),
            ("ListThingsInThingGroup".to_string(), 1)
        ]
    );
}

async fn apply(reg: &AwsRegistry, change: Change) -> Outcome {
    match reg.apply(&change).await {
        Ok(o) => o,
        Err(e) => panic!("{change}: {e} ({})", e.class),
    }
}

#[tokio::test]
async fn apply_every_change_moto_supports() {
    let _g = LOCK.lock().await;
    reset().await;
    let fx = build_rich_registry(SOURCE).await;
    let src = client(SOURCE);
    let reg = registry(TARGET);
    let c = client(TARGET);

    // Thing types.
    let sensor = ThingType {
        thing_type_name: "sensor".into(),
        thing_type_description: Some("temperature sensor".into()),
        searchable_attributes: NameSet::from_iter(["model"]),
        ..Default::default()
    };
    let create_type = Change::CreateThingType {
        thing_type: sensor.clone(),
    };
    assert_eq!(apply(&reg, create_type.clone()).await, Outcome::Applied);
    let d = c
        .describe_thing_type()
        .thing_type_name("sensor")
        .send()
        .await
        .unwrap();
    let props = d.thing_type_properties().unwrap();
    assert_eq!(props.thing_type_description(), Some("temperature sensor"));
    assert_eq!(props.searchable_attributes(), ["model"]);
    apply(
        &reg,
        Change::DeprecateThingType {
            thing_type_name: "sensor".into(),
            undo_deprecate: false,
        },
    )
    .await;
    let d = c
        .describe_thing_type()
        .thing_type_name("sensor")
        .send()
        .await
        .unwrap();
    assert!(d.thing_type_metadata().unwrap().deprecated());
    apply(
        &reg,
        Change::DeprecateThingType {
            thing_type_name: "sensor".into(),
            undo_deprecate: true,
        },
    )
    .await;
    let d = c
        .describe_thing_type()
        .thing_type_name("sensor")
        .send()
        .await
        .unwrap();
    assert!(!d.thing_type_metadata().unwrap().deprecated());
    // UpdateThingType: moto lacks it; the error is classified, not a panic.
    let e = reg
        .apply(&Change::UpdateThingType {
            thing_type_name: "sensor".into(),
            thing_type_description: Some("new".into()),
            searchable_attributes: NameSet::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported, "{e}");
    assert!(e.to_string().contains("iot:UpdateThingType"), "{e}");
    // Delete (moto does not enforce the five minutes after deprecation).
    apply(
        &reg,
        Change::CreateThingType {
            thing_type: ThingType {
                thing_type_name: "old".into(),
                ..Default::default()
            },
        },
    )
    .await;
    apply(
        &reg,
        Change::DeprecateThingType {
            thing_type_name: "old".into(),
            undo_deprecate: false,
        },
    )
    .await;
    let del = Change::DeleteThingType {
        thing_type_name: "old".into(),
    };
    assert_eq!(apply(&reg, del.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, del).await, Outcome::AlreadyInState);

    // Billing groups.
    apply(
        &reg,
        Change::BillingGroup(BillingGroupChange::CreateBillingGroup {
            billing_group: BillingGroup {
                billing_group_name: "billing-a".into(),
                billing_group_description: Some("cost centre A".into()),
                ..Default::default()
            },
        }),
    )
    .await;
    apply(
        &reg,
        Change::BillingGroup(BillingGroupChange::UpdateBillingGroup {
            billing_group_name: "billing-a".into(),
            billing_group_description: Some("cost centre B".into()),
        }),
    )
    .await;
    let d = c
        .describe_billing_group()
        .billing_group_name("billing-a")
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.billing_group_properties()
            .unwrap()
            .billing_group_description(),
        Some("cost centre B")
    );

    // Thing groups with a parent; update removes attributes (merge off).
    let root = ThingGroup {
        thing_group_name: "root".into(),
        thing_group_description: Some("r".into()),
        attributes: StringMap::from_iter([("a", "1"), ("b", "2")]),
        ..Default::default()
    };
    let child = ThingGroup {
        thing_group_name: "child".into(),
        parent_group_name: Some("root".into()),
        ..Default::default()
    };
    let create_root = Change::CreateThingGroup {
        thing_group: root.clone(),
    };
    assert_eq!(apply(&reg, create_root.clone()).await, Outcome::Applied);
    // AWS (and moto) answer a create of an identical group with success, so a repeat
    // succeeds (reported as applied: no read is spent to tell).
    apply(&reg, create_root).await;
    let mut other_root = root.clone();
    other_root.thing_group_description = Some("other".into());
    let e = reg
        .apply(&Change::CreateThingGroup {
            thing_group: other_root,
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    apply(
        &reg,
        Change::CreateThingGroup {
            thing_group: child.clone(),
        },
    )
    .await;
    let d = c
        .describe_thing_group()
        .thing_group_name("child")
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.thing_group_metadata().unwrap().parent_group_name(),
        Some("root")
    );
    let mut root2 = root.clone();
    root2.attributes = StringMap::from_iter([("a", "9")]);
    apply(&reg, Change::UpdateThingGroup { thing_group: root2 }).await;
    let d = c
        .describe_thing_group()
        .thing_group_name("root")
        .send()
        .await
        .unwrap();
    let attrs = d
        .thing_group_properties()
        .unwrap()
        .attribute_payload()
        .unwrap()
        .attributes()
        .unwrap();
    assert_eq!(attrs, &map(&[("a", "9")]));
    // A group with a child cannot be deleted: a conflict.
    let e = reg
        .apply(&Change::DeleteThingGroup {
            thing_group_name: "root".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    // Dynamic groups: moto lacks CreateDynamicThingGroup.
    let e = reg
        .apply(&Change::CreateThingGroup {
            thing_group: ThingGroup {
                thing_group_name: "dyn".into(),
                query_string: Some("attributes.model:x1".into()),
                ..Default::default()
            },
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported, "{e}");

    // Things: create with type, attributes, billing group; update with merge off and
    // type removal.
    let create_thing = Change::CreateThing {
        thing_name: "dev".into(),
        thing_type_name: Some("sensor".into()),
        attributes: StringMap::from_iter([("model", "x1"), ("color", "red")]),
        billing_group_name: Some("billing-a".into()),
    };
    assert_eq!(apply(&reg, create_thing.clone()).await, Outcome::Applied);
    let d = c.describe_thing().thing_name("dev").send().await.unwrap();
    assert_eq!(d.thing_type_name(), Some("sensor"));
    assert_eq!(d.billing_group_name(), Some("billing-a"));
    assert_eq!(d.attributes().unwrap().len(), 2);
    apply(
        &reg,
        Change::UpdateThing {
            thing_name: "dev".into(),
            thing_type_name: None,
            attributes: StringMap::from_iter([("model", "x2")]),
        },
    )
    .await;
    let d = c.describe_thing().thing_name("dev").send().await.unwrap();
    assert_eq!(d.thing_type_name(), None);
    assert_eq!(d.attributes().unwrap(), &map(&[("model", "x2")]));
    apply(
        &reg,
        Change::UpdateThing {
            thing_name: "dev".into(),
            thing_type_name: Some("sensor".into()),
            attributes: StringMap::new(),
        },
    )
    .await;
    let d = c.describe_thing().thing_name("dev").send().await.unwrap();
    assert_eq!(d.thing_type_name(), Some("sensor"));
    assert!(d.attributes().is_none_or(|a| a.is_empty()));

    // Memberships.
    apply(
        &reg,
        Change::AddThingToThingGroup {
            thing_name: "dev".into(),
            thing_group_name: "child".into(),
        },
    )
    .await;
    let members = c
        .list_things_in_thing_group()
        .thing_group_name("child")
        .send()
        .await
        .unwrap();
    assert_eq!(members.things(), ["dev"]);
    let remove = Change::RemoveThingFromThingGroup {
        thing_name: "dev".into(),
        thing_group_name: "child".into(),
    };
    apply(&reg, remove.clone()).await;
    let members = c
        .list_things_in_thing_group()
        .thing_group_name("child")
        .send()
        .await
        .unwrap();
    assert!(members.things().is_empty());
    apply(
        &reg,
        Change::RemoveThingFromBillingGroup {
            thing_name: "dev".into(),
            billing_group_name: "billing-a".into(),
        },
    )
    .await;
    let members = c
        .list_things_in_billing_group()
        .billing_group_name("billing-a")
        .send()
        .await
        .unwrap();
    assert!(members.things().is_empty());
    apply(
        &reg,
        Change::AddThingToBillingGroup {
            thing_name: "dev".into(),
            billing_group_name: "billing-a".into(),
        },
    )
    .await;
    let members = c
        .list_things_in_billing_group()
        .billing_group_name("billing-a")
        .send()
        .await
        .unwrap();
    assert_eq!(members.things(), ["dev"]);

    // Policies: create, versions up to the limit (a sixth is refused: the backend never
    // deletes a version by itself, the plan does), default, delete version.
    let create_policy = Change::CreatePolicy {
        policy_name: "pol".into(),
        policy_document: doc("iot:Connect"),
        tags: StringMap::new(),
    };
    assert_eq!(apply(&reg, create_policy.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, create_policy).await, Outcome::AlreadyInState);
    for (i, action) in ["iot:A", "iot:B", "iot:C", "iot:D"].into_iter().enumerate() {
        apply(
            &reg,
            Change::CreatePolicyVersion {
                policy_name: "pol".into(),
                policy_document: doc(action),
                set_as_default: i == 0,
                versions_before: None,
            },
        )
        .await;
    }
    let sixth = Change::CreatePolicyVersion {
        policy_name: "pol".into(),
        policy_document: doc("iot:E"),
        set_as_default: false,
        versions_before: Some(4),
    };
    let e = reg.apply(&sixth).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(e.message.contains("changed since the plan"), "{e}");
    assert!(e.has_code("VersionsLimitExceededException"), "{e:?}");
    let versions = c
        .list_policy_versions()
        .policy_name("pol")
        .send()
        .await
        .unwrap();
    let mut ids: Vec<&str> = versions
        .policy_versions()
        .iter()
        .map(|v| v.version_id().unwrap())
        .collect();
    ids.sort();
    // Versions 1..5 made, none deleted.
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let default = versions
        .policy_versions()
        .iter()
        .find(|v| v.is_default_version())
        .unwrap();
    assert_eq!(default.version_id(), Some("2"));
    apply(
        &reg,
        Change::SetDefaultPolicyVersion {
            policy_name: "pol".into(),
            policy_version_id: "5".into(),
        },
    )
    .await;
    let del_version = Change::DeletePolicyVersion {
        policy_name: "pol".into(),
        policy_version_id: "2".into(),
    };
    assert_eq!(apply(&reg, del_version.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, del_version).await, Outcome::AlreadyInState);
    let p = c.get_policy().policy_name("pol").send().await.unwrap();
    assert_eq!(p.default_version_id(), Some("5"));

    // Certificates: registered without CA, same id as in the source.
    let pem = src
        .describe_certificate()
        .certificate_id(&fx.active_cert)
        .send()
        .await
        .unwrap()
        .certificate_description()
        .unwrap()
        .certificate_pem()
        .unwrap()
        .to_string();
    let register = Change::RegisterCertificate {
        certificate_id: fx.active_cert.as_str().into(),
        certificate_pem: pem.clone(),
        status: CertificateStatus::Active,
        ca_certificate_id: None,
    };
    assert_eq!(apply(&reg, register.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, register.clone()).await, Outcome::AlreadyInState);
    let d = c
        .describe_certificate()
        .certificate_id(&fx.active_cert)
        .send()
        .await
        .unwrap();
    let d = d.certificate_description().unwrap();
    assert_eq!(d.status().unwrap().as_str(), "ACTIVE");
    assert!(d.certificate_arn().unwrap().contains(":eu-west-1:"));
    // A wrong planned id is a conflict.
    let wrong = Change::RegisterCertificate {
        certificate_id: "ab".repeat(32).into(),
        certificate_pem: src
            .describe_certificate()
            .certificate_id(&fx.inactive_cert)
            .send()
            .await
            .unwrap()
            .certificate_description()
            .unwrap()
            .certificate_pem()
            .unwrap()
            .to_string(),
        status: CertificateStatus::Inactive,
        ca_certificate_id: None,
    };
    let e = reg.apply(&wrong).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    // Strategies: skip refuses; with-ca needs the CA in the target.
    let e = registry_with(TARGET, CertStrategy::Skip)
        .apply(&register)
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported);
    assert!(e.message.contains("--cert-strategy skip"), "{e}");
    let with_ca = Change::RegisterCertificate {
        certificate_id: fx.active_cert.as_str().into(),
        certificate_pem: pem.clone(),
        status: CertificateStatus::Active,
        ca_certificate_id: Some("cd".repeat(32).into()),
    };
    let e = registry_with(TARGET, CertStrategy::WithCa)
        .apply(&with_ca)
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e}");
    assert!(e.message.contains("not registered in eu-west-1"), "{e}");

    // Attachments: policy to certificate and group, principal to thing.
    let attach_cert = Change::AttachPolicy {
        policy_name: "pol".into(),
        target: PolicyTarget::Certificate(fx.active_cert.as_str().into()),
    };
    apply(&reg, attach_cert).await;
    apply(
        &reg,
        Change::AttachPolicy {
            policy_name: "pol".into(),
            target: PolicyTarget::ThingGroup("child".into()),
        },
    )
    .await;
    let targets = c
        .list_targets_for_policy()
        .policy_name("pol")
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets().len(), 2);
    let principal = cert_principal(&fx.active_cert);
    apply(
        &reg,
        Change::AttachThingPrincipal {
            thing_name: "dev".into(),
            principal: principal.clone(),
        },
    )
    .await;
    let p = c
        .list_thing_principals()
        .thing_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(p.principals().len(), 1);
    assert!(p.principals()[0].ends_with(&format!("cert/{}", fx.active_cert)));
    // The target's view, read back through the backend.
    let t = reg.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(names(&t.things["dev"].principals), [principal.as_str()]);
    assert_eq!(
        names(&t.certificates[fx.active_cert.as_str()].policies),
        ["pol"]
    );
    assert_eq!(names(&t.thing_groups["child"].policies), ["pol"]);

    // Detach and delete everything again; repeats are already in state.
    let detach_principal = Change::DetachThingPrincipal {
        thing_name: "dev".into(),
        principal: principal.clone(),
    };
    assert_eq!(
        apply(&reg, detach_principal.clone()).await,
        Outcome::Applied
    );
    for change in [
        Change::DetachPolicy {
            policy_name: "pol".into(),
            target: PolicyTarget::Certificate(fx.active_cert.as_str().into()),
        },
        Change::DetachPolicy {
            policy_name: "pol".into(),
            target: PolicyTarget::ThingGroup("child".into()),
        },
    ] {
        apply(&reg, change).await;
    }
    let targets = c
        .list_targets_for_policy()
        .policy_name("pol")
        .send()
        .await
        .unwrap();
    assert!(targets.targets().is_empty());
    // An active certificate cannot be deleted: a conflict.
    let del_cert = Change::DeleteCertificate {
        certificate_id: fx.active_cert.as_str().into(),
    };
    let e = reg.apply(&del_cert).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    apply(
        &reg,
        Change::UpdateCertificate {
            certificate_id: fx.active_cert.as_str().into(),
            new_status: CertificateStatus::Inactive,
        },
    )
    .await;
    assert_eq!(apply(&reg, del_cert.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, del_cert).await, Outcome::AlreadyInState);
    let del_thing = Change::DeleteThing {
        thing_name: "dev".into(),
    };
    assert_eq!(apply(&reg, del_thing.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, del_thing).await, Outcome::AlreadyInState);
    for v in ["1", "3", "4"] {
        apply(
            &reg,
            Change::DeletePolicyVersion {
                policy_name: "pol".into(),
                policy_version_id: v.into(),
            },
        )
        .await;
    }
    let del_policy = Change::DeletePolicy {
        policy_name: "pol".into(),
    };
    assert_eq!(apply(&reg, del_policy.clone()).await, Outcome::Applied);
    assert_eq!(apply(&reg, del_policy).await, Outcome::AlreadyInState);
    for g in ["child", "root"] {
        apply(
            &reg,
            Change::DeleteThingGroup {
                thing_group_name: g.into(),
            },
        )
        .await;
    }
    assert!(
        c.list_thing_groups()
            .send()
            .await
            .unwrap()
            .thing_groups()
            .is_empty()
    );
    let del_billing = Change::BillingGroup(BillingGroupChange::DeleteBillingGroup {
        billing_group_name: "billing-a".into(),
    });
    apply(&reg, del_billing.clone()).await;
    apply(&reg, del_billing).await;
    // Detaching from a thing that is gone is already in state.
    assert_eq!(apply(&reg, detach_principal).await, Outcome::AlreadyInState);
    // Tags are off against moto (auto mode found no tag API in the read above).
    let e = reg
        .apply(&Change::TagResource {
            resource: ResourceKey::new(Kind::ThingType, "sensor"),
            tags: StringMap::from_iter([("k", "v")]),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported, "{e}");

    // Every change was counted per API.
    assert!(calls(&reg, "CreateThing") >= 1);
    assert!(calls(&reg, "RegisterCertificateWithoutCA") >= 2);
}

/// Applies a plan change by change, in order, and returns the failures.
async fn apply_plan(reg: &AwsRegistry, plan: &iot_crr_model::Plan) -> Vec<String> {
    let mut failures = Vec::new();
    for c in &plan.changes {
        if let Err(e) = reg.apply(&c.change).await {
            failures.push(format!("{}: {e} ({})", c.change, e.class));
        }
    }
    failures
}

#[tokio::test]
async fn sync_rich_registry_between_regions() {
    let _g = LOCK.lock().await;
    reset().await;
    let fx = build_rich_registry(SOURCE).await;
    let source = registry(SOURCE);
    let target = registry(TARGET);
    let desired = source.read(&ReadRequest::default()).await.unwrap();
    let actual = target.read(&ReadRequest::default()).await.unwrap();
    let opts = DiffOptions::default();
    let plan = iot_crr_model::diff(&desired, &actual, &opts);
    assert!(!plan.is_empty());
    let failures = apply_plan(&target, &plan).await;
    assert!(failures.is_empty(), "{failures:#?}");

    let after = target.read(&ReadRequest::default()).await.unwrap();
    check_rich_snapshot(&after, &fx, true);
    assert_eq!(after.certificates.len(), 2);
    assert_eq!(
        after.certificates[fx.inactive_cert.as_str()].status,
        CertificateStatus::Inactive
    );
    assert_eq!(after.origin.region.as_deref(), Some(TARGET));
    let again = iot_crr_model::diff(&desired, &after, &opts);
    assert!(
        again.is_empty(),
        "a second sync plans nothing, got {:#?}",
        again.changes
    );

    // Change the source: attributes removed, a group re-parented (AWS fixes the parent
    // at creation: delete and re-create), a new default policy version, a deactivated
    // certificate, deletions. Then sync with prune.
    let c = client(SOURCE);
    c.update_thing()
        .thing_name("t1")
        .attribute_payload(
            AttributePayload::builder()
                .set_attributes(Some(map(&[("model", "x2")])))
                .merge(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.delete_thing_group()
        .thing_group_name("fleet-b")
        .send()
        .await
        .unwrap();
    c.create_thing_group()
        .thing_group_name("fleet-b")
        .parent_group_name("site")
        .send()
        .await
        .unwrap();
    c.add_thing_to_thing_group()
        .thing_name("t3")
        .thing_group_name("fleet-b")
        .send()
        .await
        .unwrap();
    c.create_policy_version()
        .policy_name("p-multi")
        .policy_document(doc("iot:GetRetainedMessage"))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    c.update_certificate()
        .certificate_id(&fx.active_cert)
        .new_status(aws_sdk_iot::types::CertificateStatus::Inactive)
        .send()
        .await
        .unwrap();
    c.delete_thing().thing_name("t4").send().await.unwrap();
    c.delete_thing_type()
        .thing_type_name("legacy")
        .send()
        .await
        .unwrap();

    let desired = source.read(&ReadRequest::default()).await.unwrap();
    let actual = target.read(&ReadRequest::default()).await.unwrap();
    let prune = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = iot_crr_model::diff(&desired, &actual, &prune);
    let failures = apply_plan(&target, &plan).await;
    assert!(failures.is_empty(), "{failures:#?}");
    let after = target.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(
        after.things["t1"].attributes,
        StringMap::from_iter([("model", "x2")])
    );
    assert_eq!(
        after.thing_groups["fleet-b"].parent_group_name.as_deref(),
        Some("site")
    );
    assert_eq!(names(&after.things["t3"].thing_groups), ["fleet-b"]);
    assert!(after.things["t1"].thing_groups.contains("room"));
    assert!(!after.things.contains_key("t4"));
    assert!(!after.thing_types.contains_key("legacy"));
    let p = &after.policies["p-multi"];
    assert_eq!(p.versions.len(), 4);
    assert_eq!(p.default_index(), Some(3));
    assert_eq!(
        after.certificates[fx.active_cert.as_str()].status,
        CertificateStatus::Inactive
    );
    let third = iot_crr_model::diff(&desired, &after, &prune);
    assert!(
        third.is_empty(),
        "a third sync plans nothing, got {:#?}",
        third.changes
    );
    eprintln!("sync calls on the target: {:?}", target.api_calls());
    // Give moto a moment between tests that reset it.
    tokio::time::sleep(Duration::from_millis(10)).await;
}
