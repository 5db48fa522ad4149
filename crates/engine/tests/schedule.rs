//! Independent API families run side by side: while certificates register slowly
//! (one at a time, 100 ms each, as under a rate limit), things, groups and memberships
//! that do not need them proceed; a thing's principal attachment waits for its
//! certificate. Virtual time (paused), so nothing here depends on the machine's speed.

mod common;

use std::time::Duration;

use common::Timed;
use iot_crr_engine::{ApplyOptions, apply_plan};
use iot_crr_model::{
    CertificateStatus, Change, Counts, DiffOptions, Plan, PlannedChange, ThingGroup,
    plan::PLAN_FORMAT_VERSION,
};
use iot_crr_registry::MemoryRegistry;

fn cert_id(i: usize) -> String {
    format!("{i:064x}")
}

fn latency(c: &Change) -> Duration {
    match c {
        Change::RegisterCertificate { .. } => Duration::from_millis(100),
        _ => Duration::from_millis(5),
    }
}

#[tokio::test(start_paused = true)]
async fn unrelated_changes_proceed_while_certificates_register() {
    let at = |stage: u32, change: Change| PlannedChange { stage, change };
    let mut changes = Vec::new();
    for i in 0..5 {
        changes.push(at(
            3000,
            Change::RegisterCertificate {
                certificate_id: cert_id(i).into(),
                certificate_pem: format!("pem {i}"),
                status: CertificateStatus::Active,
                ca_certificate_id: None,
            },
        ));
    }
    changes.push(at(
        4000,
        Change::CreateThingGroup {
            thing_group: ThingGroup {
                thing_group_name: "fleet".into(),
                ..Default::default()
            },
        },
    ));
    let thing = |name: String| Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: None,
        attributes: Default::default(),
        billing_group_name: None,
    };
    for i in 0..5 {
        changes.push(at(5000, thing(format!("device-{i}"))));
    }
    for i in 0..10 {
        changes.push(at(5000, thing(format!("gateway-{i}"))));
    }
    for i in 0..5 {
        changes.push(at(
            7000,
            Change::AttachThingPrincipal {
                thing_name: format!("device-{i}").into(),
                principal: format!("cert/{}", cert_id(i)).into(),
            },
        ));
    }
    for i in 0..10 {
        changes.push(at(
            7000,
            Change::AddThingToThingGroup {
                thing_name: format!("gateway-{i}").into(),
                thing_group_name: "fleet".into(),
            },
        ));
    }
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        source: String::new(),
        target: String::new(),
        target_fingerprint: String::new(),
        options: DiffOptions::default(),
        desired_counts: Counts::default(),
        target_counts: Counts::default(),
        changes,
        warnings: Vec::new(),
    };
    let target = Timed::new(MemoryRegistry::new(), latency).paced("RegisterCertificate");
    let options = ApplyOptions {
        concurrency: 6,
        ..ApplyOptions::default()
    };
    let report = apply_plan(&plan, &target, &options, None).await;
    assert!(report.is_success(), "{report}");

    let first_cert = target.finished_at(&format!("register certificate {} (ACTIVE)", cert_id(0)));
    assert_eq!(first_cert, Duration::from_millis(100));
    // Everything that does not need a certificate finished while the first one was
    // still registering: with stage barriers, the things would have waited for all
    // five certificates (500 ms) and the memberships for every thing.
    for (at, what) in target.finished() {
        if what.starts_with("create thing") || what.starts_with("add thing") {
            assert!(at < first_cert, "{what} finished at {at:?}");
        }
    }
    // Each attachment waited for its certificate, and only for it.
    for i in 0..5 {
        let cert = target.finished_at(&format!("register certificate {} (ACTIVE)", cert_id(i)));
        let attach = target.finished_at(&format!("attach cert/{} to thing device-{i}", cert_id(i)));
        assert!(
            attach > cert,
            "attachment {i} at {attach:?}, cert at {cert:?}"
        );
        assert!(attach <= cert + Duration::from_millis(5), "{attach:?}");
    }
    // The certificates went at their own pace, back to back.
    let last_cert = target.finished_at(&format!("register certificate {} (ACTIVE)", cert_id(4)));
    assert_eq!(last_cert, Duration::from_millis(500));
}
