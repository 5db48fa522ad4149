use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::rewrite::ArnRewrite;

const SOURCE_CERT: &str = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e-src";
const TARGET_CERT: &str = "arn:aws:acm:eu-west-1:111122223333:certificate/9a8b-dst";

fn domain(name: &str, cert: &str) -> DomainConfiguration {
    DomainConfiguration {
        domain_configuration_name: name.into(),
        domain_name: Some("iot.example.com".into()),
        server_certificate_arns: vec![cert.into()],
        service_type: Some("DATA".into()),
        status: DomainStatus::Enabled,
        authorizer_config: Some(DomainAuthorizerConfig {
            default_authorizer_name: Some("tokens".into()),
            allow_authorizer_override: true,
        }),
        security_policy: Some("IoTSecurityPolicy_TLS13_1_2_2022_10".into()),
        authentication_type: None,
        application_protocol: None,
        tags: StringMap::default(),
    }
}

fn authorizer(s: &mut Snapshot) {
    let line = r#"{"kind":"authorizer","authorizerName":"tokens","authorizerFunctionArn":"arn:aws:lambda:eu-west-1:111122223333:function:auth","status":"ACTIVE","signingDisabled":true}"#;
    s.insert(serde_json::from_str(line).unwrap());
}

fn snapshot(domains: &[DomainConfiguration]) -> Snapshot {
    let mut s = Snapshot::new();
    authorizer(&mut s);
    for d in domains {
        s.domain_configurations
            .insert(d.domain_configuration_name.clone(), d.clone());
    }
    s
}

fn mapped() -> DiffOptions {
    let mut rewrite = ArnRewrite {
        from_region: Some("us-east-1".into()),
        to_region: Some("eu-west-1".into()),
        ..ArnRewrite::default()
    };
    rewrite.map.insert(SOURCE_CERT.into(), TARGET_CERT.into());
    DiffOptions {
        rewrite: Some(rewrite),
        ..DiffOptions::default()
    }
}

#[test]
fn a_line_reads_and_writes_back_the_same() {
    let line = r#"{"kind":"domainConfiguration","domainConfigurationName":"fleet","domainName":"iot.example.com","serverCertificateArns":["arn:aws:acm:us-east-1:111122223333:certificate/0f1e-src"],"serviceType":"DATA","status":"ENABLED"}"#;
    let r: Resource = serde_json::from_str(line).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), line);
    assert_eq!(r.key().to_string(), "domainConfiguration/fleet");
    assert_eq!(
        crate::Kind::parse("domain-configurations"),
        Some(Kind::DomainConfiguration)
    );
    assert!(is_aws_managed("iot:Data-ATS"));
    let v = domain("iot:Data-ATS", SOURCE_CERT).check().unwrap_err();
    assert!(v.to_string().contains("iot:"), "{v}");
}

#[test]
fn diff_maps_the_certificate_and_orders_the_authorizer_first() {
    let mut desired = snapshot(&[domain("fleet", SOURCE_CERT)]);
    desired.authorizers.clear();
    authorizer(&mut desired);
    let target = Snapshot::new();
    let plan = crate::diff(&desired, &target, &mapped());
    let apis: Vec<&str> = plan.changes.iter().map(|c| c.change.api()).collect();
    assert_eq!(apis, ["CreateAuthorizer", "CreateDomainConfiguration"]);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let c = &plan.changes[1].change;
    assert_eq!(
        c.to_string(),
        "create domain configuration fleet for iot.example.com"
    );
    assert_eq!(
        c.requires(),
        [crate::ResourceKey::new(Kind::Authorizer, "tokens")]
    );
    let Change::DomainConfiguration(DomainConfigurationChange::CreateDomainConfiguration {
        domain_configuration,
    }) = c
    else {
        panic!()
    };
    assert_eq!(domain_configuration.server_certificate_arns, [TARGET_CERT]);
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &mapped()).is_empty());

    // Unmapped, the ACM certificate is named in a warning.
    let options = DiffOptions {
        rewrite: Some(ArnRewrite {
            from_region: Some("us-east-1".into()),
            to_region: Some("eu-west-1".into()),
            ..ArnRewrite::default()
        }),
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &Snapshot::new(), &options);
    assert!(
        plan.warnings.iter().any(
            |w| w.starts_with("unmapped ARN in domain configuration fleet")
                && w.contains("certificate/0f1e-src")
        ),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn settings_are_updated_fixed_fields_reported_and_prune_deletes() {
    let d = domain("fleet", TARGET_CERT);
    let mut a = d.clone();
    a.status = DomainStatus::Disabled;
    a.authorizer_config = None;
    a.domain_name = Some("old.example.com".into());
    let desired = snapshot(std::slice::from_ref(&d));
    let target = snapshot(&[a, domain("gone", TARGET_CERT)]);
    let options = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &target, &options);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "update domain configuration fleet (enabled)",
            "delete domain configuration gone"
        ]
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("differs in domainName")),
        "{:?}",
        plan.warnings
    );
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert_eq!(t.domain_configurations["fleet"].settings(), d.settings());
    assert!(!t.domain_configurations.contains_key("gone"));
}

#[test]
fn apply_is_idempotent_and_needs_the_authorizer() {
    let mut s = Snapshot::new();
    let create = DomainConfigurationChange::CreateDomainConfiguration {
        domain_configuration: Box::new(domain("fleet", TARGET_CERT)),
    };
    let err = create.apply(&mut s).unwrap_err();
    assert!(err.message.contains("authorizer tokens"), "{}", err.message);
    authorizer(&mut s);
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let other = DomainConfigurationChange::CreateDomainConfiguration {
        domain_configuration: Box::new(domain("fleet", SOURCE_CERT)),
    };
    assert!(
        other
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("other properties")
    );
    let delete = DomainConfigurationChange::DeleteDomainConfiguration {
        domain_configuration_name: "fleet".into(),
    };
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
}

#[test]
fn checks_certificates_and_service_type() {
    assert!(domain("fleet", TARGET_CERT).check().is_ok());
    let mut d = domain("fleet", TARGET_CERT);
    d.server_certificate_arns.push(SOURCE_CERT.into());
    assert!(
        d.check()
            .unwrap_err()
            .to_string()
            .contains("2 certificates")
    );
    let d = domain("fleet", "arn:aws:iam::1:server-certificate/x");
    assert!(d.check().unwrap_err().to_string().contains("ACM"));
    let mut d = domain("fleet", TARGET_CERT);
    d.service_type = Some("MQTT".into());
    assert!(d.check().unwrap_err().to_string().contains("serviceType"));
}

#[test]
fn plan_files_read_the_changes() {
    let c = Change::DomainConfiguration(DomainConfigurationChange::UpdateDomainConfiguration {
        domain_configuration_name: "fleet".into(),
        settings: Box::new(domain("fleet", TARGET_CERT).settings()),
    });
    assert_eq!(
        (c.api(), c.action()),
        ("UpdateDomainConfiguration", Action::Update)
    );
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    let json = r#"{"op":"deleteDomainConfiguration","domainConfigurationName":"fleet"}"#;
    let c: Change = serde_json::from_str(json).unwrap();
    assert_eq!(c.action(), Action::Delete);
}
