//! Properties of generated and mutated fleets.

use std::collections::{BTreeMap, BTreeSet};

use iot_crr_fleet::{FleetSpec, ca_certificate_pem, generate, mutate};
use iot_crr_model::{CertificateStatus, Snapshot, format, principal_certificate_id};
use sha2::{Digest, Sha256};

fn spec(things: usize, seed: u64) -> FleetSpec {
    FleetSpec {
        things,
        seed,
        ..FleetSpec::default()
    }
}

/// A larger fleet without certificates (signing is slow in debug builds).
fn bare(things: usize, seed: u64) -> FleetSpec {
    FleetSpec {
        certificate_ratio: 0.0,
        ..spec(things, seed)
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = format::to_bytes(&generate(&spec(300, 1)));
    let b = format::to_bytes(&generate(&spec(300, 1)));
    let c = format::to_bytes(&generate(&spec(300, 2)));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // And through a file, read back equal.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fleet.jsonl");
    format::write_file(&generate(&spec(300, 1)), &p).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), a);
    assert_eq!(format::read_file(&p).unwrap(), generate(&spec(300, 1)));
}

#[test]
fn things_do_not_depend_on_the_certificate_ratio() {
    let with = generate(&spec(200, 5));
    let without = generate(&FleetSpec {
        certificate_ratio: 0.0,
        ..spec(200, 5)
    });
    assert!(without.certificates.is_empty());
    assert_eq!(with.certificates.len(), 200);
    for (name, t) in &with.things {
        let mut t = t.clone();
        t.principals = Default::default();
        assert_eq!(&t, &without.things[name]);
    }
}

#[test]
fn shape_of_a_fleet() {
    let s = generate(&bare(6000, 3));
    assert_eq!(s.things.len(), 6000);
    assert!(s.things.contains_key("sensor-000042"));
    assert_eq!(s.origin.region.as_deref(), Some("us-east-1"));
    assert_eq!(s.origin.account_id.as_deref(), Some("123456789012"));
    // Types: several with searchable attributes, one deprecated without things.
    assert!(s.thing_types.len() >= 5);
    assert!(
        s.thing_types
            .values()
            .filter(|t| !t.searchable_attributes.is_empty())
            .count()
            >= 3
    );
    let deprecated: Vec<_> = s.thing_types.values().filter(|t| t.deprecated).collect();
    assert_eq!(deprecated.len(), 1);
    let used: BTreeSet<_> = s
        .things
        .values()
        .filter_map(|t| t.thing_type_name.as_ref())
        .collect();
    assert!(!used.contains(&deprecated[0].thing_type_name));
    for t in s.things.values() {
        if let Some(tt) = &t.thing_type_name {
            assert!(s.thing_types.contains_key(tt));
        } else {
            assert!(
                t.attributes.len() <= 3,
                "untyped {} has too many attributes",
                t.thing_name
            );
        }
        for (k, v) in t.attributes.iter() {
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.,@/:#-".contains(&b)),
                "{k}={v} has a character AWS rejects"
            );
        }
    }
    // Billing groups: most things have one, all exist.
    let billed = s
        .things
        .values()
        .filter(|t| t.billing_group_name.is_some())
        .count();
    assert!(billed > 6000 * 8 / 10, "{billed}");
    for t in s.things.values() {
        if let Some(b) = &t.billing_group_name {
            assert!(s.billing_groups.contains_key(b));
        }
    }
    // Tags on some groups, types and policies; group attributes and policies.
    assert!(s.thing_groups.values().any(|g| !g.tags.is_empty()));
    assert!(s.thing_types.values().any(|g| !g.tags.is_empty()));
    assert!(s.policies.values().any(|g| !g.tags.is_empty()));
    assert!(
        s.thing_groups
            .values()
            .filter(|g| !g.policies.is_empty())
            .count()
            >= 2
    );
    assert!(
        s.thing_groups
            .values()
            .all(|g| g.policies.iter().all(|p| s.policies.contains_key(p)))
    );
    assert!(s.thing_groups.values().any(|g| !g.attributes.is_empty()));
}

#[test]
fn hierarchy_is_four_levels_and_scales() {
    let small = generate(&spec(100, 1));
    let big = generate(&bare(20_000, 1));
    for s in [&small, &big] {
        let depth = s
            .thing_groups
            .keys()
            .map(|g| s.group_depth(g))
            .max()
            .unwrap();
        assert!(
            depth >= 3,
            "deepest group at depth {depth} (4 levels need depth 3)"
        );
        for g in s.thing_groups.values() {
            if let Some(p) = &g.parent_group_name {
                assert!(s.thing_groups.contains_key(p), "{p} missing");
            }
        }
    }
    assert!(big.thing_groups.len() > 2 * small.thing_groups.len());
}

/// The root of a group's hierarchy.
fn root(s: &Snapshot, g: &str) -> String {
    let mut cur = g.to_string();
    while let Some(p) = s.thing_groups[cur.as_str()].parent_group_name.as_ref() {
        cur = p.to_string();
    }
    cur
}

fn check_memberships(s: &Snapshot) {
    for t in s.things.values() {
        assert!((1..=10).contains(&t.thing_groups.len()), "{}", t.thing_name);
        let mut roots = BTreeSet::new();
        for g in &t.thing_groups {
            assert!(s.thing_groups.contains_key(g), "{g} missing");
            assert!(
                roots.insert(root(s, g)),
                "{} is in two groups of the hierarchy {}",
                t.thing_name,
                root(s, g)
            );
        }
    }
}

#[test]
fn no_thing_in_two_groups_of_one_hierarchy() {
    let s = generate(&bare(5000, 9));
    check_memberships(&s);
    assert!(s.things.values().any(|t| t.thing_groups.len() == 2));
    check_memberships(&mutate(&s, 4, 0.3, 0.05, 0.05));
}

fn der_of(pem_text: &str) -> Vec<u8> {
    let (rest, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).expect("PEM parses");
    assert!(rest.is_empty() || rest.iter().all(u8::is_ascii_whitespace));
    assert_eq!(pem.label, "CERTIFICATE");
    pem.contents
}

/// Checks that `issuer`'s key signed `cert` (ECDSA P-256 with SHA-256).
fn verify(
    cert: &x509_parser::certificate::X509Certificate<'_>,
    issuer: &x509_parser::certificate::X509Certificate<'_>,
) {
    use p256::ecdsa::signature::Verifier;
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.2"
    );
    let key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&issuer.public_key().subject_public_key.data)
            .expect("a P-256 key");
    let sig =
        p256::ecdsa::Signature::from_der(&cert.signature_value.data).expect("a DER signature");
    key.verify(cert.tbs_certificate.as_ref(), &sig)
        .expect("the signature verifies");
}

#[test]
fn certificates_are_x509_with_sha256_ids() {
    let s = generate(&spec(120, 11));
    assert_eq!(s.certificates.len(), 120);
    let ca_der = der_of(&ca_certificate_pem(11));
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("CA parses");
    assert!(ca.is_ca());
    verify(&ca, &ca);
    let mut principals: BTreeMap<String, usize> = BTreeMap::new();
    for t in s.things.values() {
        for p in &t.principals {
            let id = principal_certificate_id(p).expect("a cert principal");
            *principals.entry(id.to_string()).or_default() += 1;
            // The certificate is issued to its thing.
            let der = der_of(&s.certificates[id].certificate_pem);
            let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
            let cn = c
                .subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap();
            assert_eq!(cn, t.thing_name.as_str());
        }
    }
    let mut statuses = BTreeSet::new();
    for (id, c) in &s.certificates {
        let der = der_of(&c.certificate_pem);
        let (rest, x) = x509_parser::parse_x509_certificate(&der).expect("X.509 parses");
        assert!(rest.is_empty());
        assert_eq!(x.version(), x509_parser::x509::X509Version::V3);
        assert_eq!(x.issuer(), ca.subject());
        verify(&x, &ca);
        let digest: String = Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(id.as_str(), digest);
        assert_eq!(
            principals.get(id.as_str()),
            Some(&1),
            "attached to one thing"
        );
        assert!(!c.policies.is_empty());
        assert!(c.policies.iter().all(|p| s.policies.contains_key(p)));
        statuses.insert(c.status);
    }
    assert!(statuses.contains(&CertificateStatus::Active));
    assert!(statuses.contains(&CertificateStatus::Inactive));
}

#[test]
fn openssl_accepts_a_certificate_when_available() {
    let s = generate(&spec(3, 2));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&ca, ca_certificate_pem(2)).unwrap();
    std::fs::write(
        &leaf,
        &s.certificates.values().next().unwrap().certificate_pem,
    )
    .unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca)
        .arg(&leaf)
        .output();
    match out {
        Ok(o) => assert!(
            o.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("openssl not available ({e}); skipped"),
    }
}

#[test]
fn policies_have_versions_and_existing_defaults() {
    let s = generate(&spec(100, 21));
    assert!(s.policies.len() >= 7);
    let mut not_latest = 0;
    for p in s.policies.values() {
        assert!((2..=5).contains(&p.versions.len()), "{}", p.policy_name);
        assert!(
            p.default_index().is_some(),
            "{} default missing",
            p.policy_name
        );
        if p.default_index() != Some(p.versions.len() - 1) {
            not_latest += 1;
        }
        let docs: BTreeSet<_> = p.versions.iter().map(|v| &v.policy_document).collect();
        assert_eq!(docs.len(), p.versions.len(), "versions differ");
        for v in &p.versions {
            let doc: serde_json::Value = serde_json::from_str(&v.policy_document).unwrap();
            assert_eq!(doc["Version"], "2012-10-17");
            assert!(
                v.policy_document
                    .contains("arn:aws:iot:us-east-1:123456789012:")
            );
        }
    }
    // Across a few seeds some default is not the latest version.
    for seed in 0..5 {
        let s = generate(&spec(10, seed));
        not_latest += s
            .policies
            .values()
            .filter(|p| p.default_index() != Some(p.versions.len() - 1))
            .count();
    }
    assert!(not_latest > 0);
    // Region and account come from the spec.
    let eu = generate(&FleetSpec {
        region: "eu-west-1".into(),
        account_id: "210987654321".into(),
        ..spec(10, 21)
    });
    let doc = eu
        .policies
        .values()
        .next()
        .unwrap()
        .default_document()
        .unwrap();
    assert!(doc.contains("arn:aws:iot:eu-west-1:210987654321:"));
}

#[test]
fn mutate_produces_the_requested_counts() {
    let base = generate(&bare(10_000, 8));
    let next = mutate(&base, 99, 0.01, 0.005, 0.005);
    assert_eq!(counts(&base, &next), (100, 50, 50));
    assert_eq!(next.things.len(), 10_000);
    assert!(next.certificates.is_empty());
    // Deterministic, and a different seed picks different things.
    assert_eq!(mutate(&base, 99, 0.01, 0.005, 0.005), next);
    assert_ne!(mutate(&base, 98, 0.01, 0.005, 0.005), next);
    // Policies, types and groups are untouched.
    assert_eq!(next.policies, base.policies);
    assert_eq!(next.thing_types, base.thing_types);
    assert_eq!(next.thing_groups, base.thing_groups);
    // Nothing asked, nothing changed.
    assert_eq!(mutate(&base, 1, 0.0, 0.0, 0.0), base);
    // Shares beyond the fleet are capped.
    let all = mutate(&base, 1, 1.0, 0.0, 0.5);
    assert_eq!(counts(&base, &all), (5000, 0, 5000));
}

#[test]
fn mutate_keeps_certificates_with_their_things() {
    let base = generate(&spec(400, 8));
    let next = mutate(&base, 7, 0.05, 0.05, 0.05);
    assert_eq!(counts(&base, &next), (20, 20, 20));
    // Removed things took their certificates; added ones brought theirs.
    assert_eq!(next.certificates.len(), 400);
    for t in next.things.values() {
        for p in &t.principals {
            assert!(
                next.certificates
                    .contains_key(principal_certificate_id(p).unwrap())
            );
        }
    }
    let ca_der = der_of(&ca_certificate_pem(7));
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    for (id, c) in next
        .certificates
        .iter()
        .filter(|(id, _)| !base.certificates.contains_key(*id))
    {
        let der = der_of(&c.certificate_pem);
        let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
        verify(&x, &ca);
        let digest: String = Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(id.as_str(), digest);
    }
}

/// (changed, added, removed) things between two snapshots.
fn counts(base: &Snapshot, next: &Snapshot) -> (usize, usize, usize) {
    let removed = base
        .things
        .keys()
        .filter(|k| !next.things.contains_key(*k))
        .count();
    let added = next
        .things
        .keys()
        .filter(|k| !base.things.contains_key(*k))
        .count();
    let changed = base
        .things
        .iter()
        .filter(|(k, t)| next.things.get(*k).is_some_and(|n| n != *t))
        .count();
    (changed, added, removed)
}
