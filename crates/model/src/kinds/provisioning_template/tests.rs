use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::rewrite::ArnRewrite;

const SRC: &str = "111122223333";
const DST: &str = "444455556666";

fn body(policy: &str) -> String {
    format!(
        r#"{{"Parameters":{{"SerialNumber":{{"Type":"String"}}}},"Resources":{{"policy":{{"Type":"AWS::IoT::Policy","Properties":{{"PolicyName":"{policy}"}}}}}}}}"#
    )
}

fn template(name: &str, account: &str, bodies: &[(&str, bool)]) -> ProvisioningTemplate {
    ProvisioningTemplate {
        template_name: name.into(),
        description: "fleet by claim".into(),
        enabled: true,
        provisioning_role_arn: format!("arn:aws:iam::{account}:role/provisioning"),
        pre_provisioning_hook: Some(ProvisioningHook {
            target_arn: format!("arn:aws:lambda:us-east-1:{account}:function:hook"),
            payload_version: Some("2020-04-01".into()),
        }),
        template_type: Some("FLEET_PROVISIONING".into()),
        versions: bodies
            .iter()
            .enumerate()
            .map(|(i, (p, default))| TemplateVersion {
                version_id: i as u32 + 1,
                template_body: body(p),
                is_default_version: *default,
            })
            .collect(),
        tags: StringMap::default(),
    }
}

fn snapshot(templates: &[ProvisioningTemplate]) -> Snapshot {
    let mut s = Snapshot::new();
    for t in templates {
        s.provisioning_templates
            .insert(t.template_name.clone(), t.clone());
    }
    s
}

fn rewrite() -> DiffOptions {
    DiffOptions {
        rewrite: Some(ArnRewrite {
            from_region: Some("us-east-1".into()),
            to_region: Some("eu-west-1".into()),
            from_account: Some(SRC.into()),
            to_account: Some(DST.into()),
            ..ArnRewrite::default()
        }),
        ..DiffOptions::default()
    }
}

fn apply_all(t: &mut Snapshot, plan: &crate::Plan) {
    for c in &plan.changes {
        crate::apply_change(t, &c.change).unwrap();
    }
}

#[test]
fn a_line_reads_and_writes_back_the_same() {
    let t = template("claim", SRC, &[("a", false), ("b", true)]);
    let line = serde_json::to_string(&t.clone().into_resource()).unwrap();
    assert!(line.starts_with(r#"{"kind":"provisioningTemplate","templateName":"claim""#));
    assert!(line.contains(r#""type":"FLEET_PROVISIONING""#), "{line}");
    let back: Resource = serde_json::from_str(&line).unwrap();
    assert_eq!(back, Resource::ProvisioningTemplate(t));
    assert_eq!(
        crate::Kind::parse("provisioning-templates"),
        Some(Kind::ProvisioningTemplate)
    );
}

#[test]
fn a_new_template_gets_its_default_then_its_other_versions_for_the_target() {
    let desired = snapshot(&[template("claim", SRC, &[("a", false), ("b", true)])]);
    let plan = crate::diff(&desired, &Snapshot::new(), &rewrite());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "create provisioning template claim (FLEET_PROVISIONING)",
            "create a version of provisioning template claim"
        ]
    );
    let mut t = Snapshot::new();
    apply_all(&mut t, &plan);
    let got = &t.provisioning_templates["claim"];
    assert_eq!(
        got.provisioning_role_arn,
        format!("arn:aws:iam::{DST}:role/provisioning")
    );
    assert_eq!(
        got.pre_provisioning_hook.as_ref().unwrap().target_arn,
        format!("arn:aws:lambda:eu-west-1:{DST}:function:hook")
    );
    assert_eq!(got.default_version().unwrap().template_body, body("b"));
    assert!(crate::diff(&desired, &t, &rewrite()).is_empty());
}

#[test]
fn versions_are_matched_by_body_and_the_default_moves_before_the_old_one_goes() {
    // Target: versions a (default), x, y, z, w (the limit). Source: b (default), a.
    let target = snapshot(&[template(
        "claim",
        DST,
        &[
            ("a", true),
            ("x", false),
            ("y", false),
            ("z", false),
            ("w", false),
        ],
    )]);
    let desired = snapshot(&[template("claim", DST, &[("b", true), ("a", false)])]);
    let options = DiffOptions::default();
    let plan = crate::diff(&desired, &target, &options);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "delete version 2 of provisioning template claim",
            "delete version 3 of provisioning template claim",
            "delete version 4 of provisioning template claim",
            "delete version 5 of provisioning template claim",
            "create a version of provisioning template claim as its default"
        ]
    );
    let mut t = target.clone();
    apply_all(&mut t, &plan);
    assert!(crate::diff(&desired, &t, &options).is_empty());
    // Back to a as the default: an existing version, moved by an update; b goes (the
    // model numbers a new version after the highest it has; AWS never reuses an id).
    let back = snapshot(&[template("claim", DST, &[("a", true)])]);
    let plan = crate::diff(&back, &t, &options);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "update provisioning template claim (default version 1)",
            "delete version 2 of provisioning template claim"
        ]
    );
    apply_all(&mut t, &plan);
    assert!(crate::diff(&back, &t, &options).is_empty());
}

#[test]
fn settings_update_type_differences_are_reported_and_prune_deletes() {
    let mut d = template("claim", DST, &[("a", true)]);
    d.enabled = false;
    d.pre_provisioning_hook = None;
    let mut a = template("claim", DST, &[("a", true)]);
    a.template_type = Some("JITP".into());
    let desired = snapshot(std::slice::from_ref(&d));
    let target = snapshot(&[a, template("old", DST, &[("a", true)])]);
    let options = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &target, &options);
    let apis: Vec<&str> = plan.changes.iter().map(|c| c.change.api()).collect();
    assert_eq!(
        apis,
        ["UpdateProvisioningTemplate", "DeleteProvisioningTemplate"]
    );
    assert!(plan.warnings.iter().any(|w| w.contains("differs in type")));
    let mut t = target.clone();
    apply_all(&mut t, &plan);
    assert_eq!(t.provisioning_templates["claim"].settings(), d.settings());
}

#[test]
fn a_ca_needs_the_template_its_registration_config_names() {
    let line = format!(
        r#"{{"kind":"caCertificate","certificateId":"{}","certificatePem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","status":"ACTIVE","registrationConfig":{{"templateName":"claim"}}}}"#,
        "a".repeat(64)
    );
    let mut desired = snapshot(&[template("claim", DST, &[("a", true)])]);
    desired.insert(serde_json::from_str(&line).unwrap());
    let plan = crate::diff(&desired, &Snapshot::new(), &DiffOptions::default());
    let apis: Vec<&str> = plan.changes.iter().map(|c| c.change.api()).collect();
    assert_eq!(
        apis,
        ["CreateProvisioningTemplate", "RegisterCACertificate"]
    );
    assert_eq!(
        plan.changes[1].change.requires(),
        [crate::ResourceKey::new(Kind::ProvisioningTemplate, "claim")]
    );
}

#[test]
fn apply_is_idempotent_and_refuses_what_aws_refuses() {
    let mut s = Snapshot::new();
    let t = template("claim", DST, &[("a", true)]);
    let create = ProvisioningTemplateChange::CreateProvisioningTemplate {
        provisioning_template: Box::new(t.clone()),
    };
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let delete_default = ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
        template_name: "claim".into(),
        version_id: 1,
    };
    assert!(
        delete_default
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("default")
    );
    for i in 0..4 {
        let v = ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
            template_name: "claim".into(),
            template_body: body(&format!("v{i}")),
            set_as_default: false,
        };
        assert_eq!(v.apply(&mut s), Ok(Outcome::Applied));
    }
    let sixth = ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
        template_name: "claim".into(),
        template_body: body("v9"),
        set_as_default: true,
    };
    assert!(
        sixth
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("5 versions")
    );
    let gone = ProvisioningTemplateChange::DeleteProvisioningTemplate {
        template_name: "claim".into(),
    };
    assert_eq!(gone.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(gone.apply(&mut s), Ok(Outcome::AlreadyInState));
}

#[test]
fn checks_bodies_versions_and_arns() {
    assert!(template("claim", DST, &[("a", true)]).check().is_ok());
    let v = template("claim", DST, &[("a", false)]).check().unwrap_err();
    assert!(v.to_string().contains("0 versions as the default"), "{v}");
    let mut t = template("claim", DST, &[("a", true)]);
    t.versions[0].template_body = "{not json".into();
    assert!(t.check().unwrap_err().to_string().contains("not JSON"));
    let mut t = template("claim", DST, &[("a", true)]);
    t.provisioning_role_arn = "role".into();
    assert!(
        t.check()
            .unwrap_err()
            .to_string()
            .contains("provisioningRoleArn")
    );
    let v = template("has space", DST, &[("a", true)])
        .check()
        .unwrap_err();
    assert!(v.to_string().contains("templateName"), "{v}");
}

#[test]
fn plan_files_read_the_changes() {
    let c = Change::ProvisioningTemplate(
        ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
            template_name: "claim".into(),
            template_body: body("a"),
            set_as_default: true,
        },
    );
    assert_eq!(
        (c.api(), c.action()),
        ("CreateProvisioningTemplateVersion", Action::Update)
    );
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
}
