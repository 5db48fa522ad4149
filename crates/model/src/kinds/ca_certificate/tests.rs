use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::resource::{Certificate, CertificateStatus};
use crate::rewrite::ArnRewrite;

const CA1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const CA2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const CERT: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn ca(id: &str, status: CaStatus, account: &str) -> CaCertificate {
    CaCertificate {
        certificate_id: id.into(),
        certificate_pem: PEM.into(),
        status,
        certificate_mode: CaMode::Default,
        auto_registration: true,
        registration_config: Some(RegistrationConfig {
            template_body: Some(r#"{"Resources":{}}"#.into()),
            role_arn: Some(format!("arn:aws:iam::{account}:role/jitp")),
            template_name: None,
        }),
        tags: StringMap::default(),
    }
}

fn signed_cert(id: &str, ca: &str) -> Certificate {
    Certificate {
        certificate_id: id.into(),
        certificate_pem: PEM.into(),
        status: CertificateStatus::Active,
        ca_certificate_id: Some(ca.into()),
        policies: Default::default(),
    }
}

fn snapshot(cas: &[CaCertificate], certs: &[Certificate]) -> Snapshot {
    let mut s = Snapshot::new();
    for c in cas {
        s.ca_certificates
            .insert(c.certificate_id.clone(), c.clone());
    }
    for c in certs {
        s.certificates.insert(c.certificate_id.clone(), c.clone());
    }
    s
}

fn rewrite() -> DiffOptions {
    DiffOptions {
        prune: true,
        rewrite: Some(ArnRewrite {
            from_account: Some("111122223333".into()),
            to_account: Some("444455556666".into()),
            ..ArnRewrite::default()
        }),
        ..DiffOptions::default()
    }
}

#[test]
fn a_line_reads_with_defaults_and_writes_back_the_same() {
    let line = format!(
        r#"{{"kind":"caCertificate","certificateId":"{CA1}","certificatePem":"x-----BEGIN CERTIFICATE-----","status":"ACTIVE"}}"#
    );
    let r: Resource = serde_json::from_str(&line).unwrap();
    let Resource::CaCertificate(c) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (c.certificate_mode, c.auto_registration),
        (CaMode::Default, false)
    );
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        line.replace(r#""}"#, r#"","certificateMode":"DEFAULT"}"#)
    );
    assert_eq!(r.key().to_string(), format!("caCertificate/{CA1}"));
    for spelling in ["ca-certificate", "caCertificates", "ca", "cacert"] {
        assert_eq!(
            Kind::parse(spelling),
            Some(Kind::CaCertificate),
            "{spelling}"
        );
    }
    let bad = line.replace("ACTIVE", "REVOKED");
    assert!(serde_json::from_str::<Resource>(&bad).is_err());
}

#[test]
fn a_new_ca_is_registered_sni_only_before_the_certificates_it_signed() {
    let desired = snapshot(
        &[ca(CA1, CaStatus::Active, "111122223333")],
        &[signed_cert(CERT, CA1)],
    );
    let plan = crate::diff(&desired, &Snapshot::new(), &rewrite());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown[0],
        format!("register CA certificate {CA1} (SNI_ONLY, ACTIVE, auto-registration)")
    );
    let Change::CaCertificate(CaCertificateChange::RegisterCaCertificate { ca_certificate }) =
        &plan.changes[0].change
    else {
        panic!("{:?}", plan.changes[0])
    };
    assert_eq!(
        ca_certificate
            .registration_config
            .as_ref()
            .unwrap()
            .role_arn
            .as_deref(),
        Some("arn:aws:iam::444455556666:role/jitp")
    );
    let cert = plan
        .changes
        .iter()
        .find(|c| c.change.api() == "RegisterCertificate")
        .unwrap();
    assert!(cert.stage > plan.changes[0].stage, "{plan:?}");
    assert!(
        cert.change
            .requires()
            .contains(&crate::ResourceKey::new(Kind::CaCertificate, CA1))
    );
    let mut t = Snapshot::new();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &rewrite()).is_empty());
}

#[test]
fn status_auto_registration_and_config_are_updated_and_the_mode_is_left_alone() {
    let desired = snapshot(&[ca(CA1, CaStatus::Inactive, "111122223333")], &[]);
    let mut theirs = ca(CA1, CaStatus::Active, "444455556666");
    theirs.certificate_mode = CaMode::SniOnly;
    let target = snapshot(std::slice::from_ref(&theirs), &[]);
    let plan = crate::diff(&desired, &target, &rewrite());
    assert_eq!(plan.changes.len(), 1, "{plan:?}");
    assert_eq!(
        plan.changes[0].change.to_string(),
        format!("update CA certificate {CA1} to INACTIVE, auto-registration on")
    );
    // Only the mode differs: equal.
    let mut same = ca(CA1, CaStatus::Inactive, "444455556666");
    same.certificate_mode = CaMode::SniOnly;
    assert!(crate::diff(&desired, &snapshot(&[same], &[]), &rewrite()).is_empty());
    // The configuration removed: updated to none.
    let mut bare = ca(CA1, CaStatus::Inactive, "111122223333");
    bare.registration_config = None;
    let plan = crate::diff(&snapshot(&[bare], &[]), &target, &rewrite());
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert_eq!(t.ca_certificates[CA1].registration_config, None);
}

#[test]
fn prune_deactivates_then_deletes_unless_a_certificate_that_stays_was_registered_with_it() {
    let target = snapshot(
        &[
            ca(CA1, CaStatus::Active, "444455556666"),
            ca(CA2, CaStatus::Active, "444455556666"),
        ],
        &[signed_cert(CERT, CA2)],
    );
    let desired = snapshot(&[], &[signed_cert(CERT, CA2)]);
    let plan = crate::diff(&desired, &target, &rewrite());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            format!("update CA certificate {CA1} to INACTIVE, auto-registration off"),
            format!("delete CA certificate {CA1}"),
        ]
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains(CA2) && w.contains(CERT)),
        "{:?}",
        plan.warnings
    );
    // When the certificate goes too, its CA goes after it.
    let plan = crate::diff(&Snapshot::new(), &target, &rewrite());
    let stage_of = |api: &str, id: &str| {
        plan.changes
            .iter()
            .find(|c| c.change.api() == api && c.change.key().name == id)
            .map(|c| c.stage)
            .unwrap()
    };
    assert!(stage_of("DeleteCACertificate", CA2) > stage_of("DeleteCertificate", CERT));
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(t.ca_certificates.is_empty() && t.certificates.is_empty());
}

#[test]
fn apply_is_idempotent_and_refuses_what_aws_refuses() {
    let mut s = Snapshot::new();
    let register = CaCertificateChange::RegisterCaCertificate {
        ca_certificate: ca(CA1, CaStatus::Active, "111122223333"),
    };
    assert_eq!(register.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(register.apply(&mut s), Ok(Outcome::AlreadyInState));
    let other = CaCertificateChange::RegisterCaCertificate {
        ca_certificate: ca(CA1, CaStatus::Inactive, "111122223333"),
    };
    assert!(
        other
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("already registered")
    );
    let delete = CaCertificateChange::DeleteCaCertificate {
        certificate_id: CA1.into(),
    };
    assert!(
        delete
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("INACTIVE")
    );
    let deactivate = CaCertificateChange::UpdateCaCertificate {
        certificate_id: CA1.into(),
        new_status: CaStatus::Inactive,
        auto_registration: false,
        registration_config: None,
    };
    assert_eq!(deactivate.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(deactivate.apply(&mut s), Ok(Outcome::AlreadyInState));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
    assert!(
        deactivate
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("does not exist")
    );
}

#[test]
fn checks_id_pem_template_and_role() {
    assert!(ca(CA1, CaStatus::Active, "111122223333").check().is_ok());
    let v = ca("nothex", CaStatus::Active, "1").check().unwrap_err();
    assert!(v.to_string().contains("CA certificate"), "{v}");
    let mut bad = ca(CA1, CaStatus::Active, "111122223333");
    bad.certificate_pem = "hello".into();
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("certificatePem")
    );
    let mut bad = ca(CA1, CaStatus::Active, "111122223333");
    bad.registration_config.as_mut().unwrap().template_body = Some("{not json".into());
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("templateBody")
    );
    let mut bad = ca(CA1, CaStatus::Active, "111122223333");
    bad.registration_config.as_mut().unwrap().role_arn = Some("arn:aws:s3:::b".into());
    assert!(bad.check().unwrap_err().to_string().contains("roleArn"));
    let mut bad = ca(CA1, CaStatus::Active, "111122223333");
    bad.registration_config.as_mut().unwrap().template_name = Some("no spaces".into());
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("templateName")
    );
}

#[test]
fn the_outer_change_delegates_and_plan_files_read_it() {
    let c = Change::CaCertificate(CaCertificateChange::DeleteCaCertificate {
        certificate_id: CA1.into(),
    });
    assert_eq!(
        (c.api(), c.action()),
        ("DeleteCACertificate", Action::Delete)
    );
    assert!(c.deletes_resource());
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"op":"deleteCaCertificate","certificateId":"{CA1}"}}"#)
    );
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    let err = serde_json::from_str::<Change>(&format!(
        r#"{{"op":"updateCaCertificate","certificateId":"{CA1}"}}"#
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("newStatus"), "{err}");
}
