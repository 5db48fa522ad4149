use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::rewrite::ArnRewrite;

const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";

fn authorizer(name: &str, region: &str, default: bool) -> Authorizer {
    Authorizer {
        authorizer_name: name.into(),
        authorizer_function_arn: format!("arn:aws:lambda:{region}:111122223333:function:auth"),
        token_key_name: Some("x-token".into()),
        token_signing_public_keys: StringMap::from_iter([("k1", KEY)]),
        status: AuthorizerStatus::Active,
        signing_disabled: false,
        enable_caching_for_http: false,
        default,
        tags: StringMap::default(),
    }
}

fn snapshot(list: &[Authorizer]) -> Snapshot {
    let mut s = Snapshot::new();
    for a in list {
        s.authorizers.insert(a.authorizer_name.clone(), a.clone());
    }
    s
}

fn rewrite() -> DiffOptions {
    DiffOptions {
        prune: true,
        rewrite: Some(ArnRewrite {
            from_region: Some("us-east-1".into()),
            to_region: Some("eu-west-1".into()),
            ..ArnRewrite::default()
        }),
        ..DiffOptions::default()
    }
}

#[test]
fn a_line_reads_and_writes_back_the_same() {
    let line = format!(
        r#"{{"kind":"authorizer","authorizerName":"tok","authorizerFunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:auth","tokenKeyName":"x-token","tokenSigningPublicKeys":{{"k1":{}}},"status":"ACTIVE","default":true}}"#,
        serde_json::to_string(KEY).unwrap()
    );
    let r: Resource = serde_json::from_str(&line).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), line);
    assert_eq!(r.key().to_string(), "authorizer/tok");
    assert_eq!(Kind::parse("authorizers"), Some(Kind::Authorizer));
    assert_eq!(Kind::parse("custom-authorizer"), Some(Kind::Authorizer));
}

#[test]
fn created_with_the_function_for_the_target_then_made_the_default() {
    let desired = snapshot(&[authorizer("tok", "us-east-1", true)]);
    let plan = crate::diff(&desired, &Snapshot::new(), &rewrite());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "create authorizer tok for arn:aws:lambda:eu-west-1:111122223333:function:auth (ACTIVE)",
            "make authorizer tok the default",
        ]
    );
    assert!(plan.changes[0].stage < plan.changes[1].stage);
    let mut t = Snapshot::new();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &rewrite()).is_empty());
}

#[test]
fn updates_the_default_moves_and_prune_clears_before_deleting() {
    let desired = snapshot(&[
        {
            let mut a = authorizer("tok", "us-east-1", false);
            a.status = AuthorizerStatus::Inactive;
            a
        },
        authorizer("new-default", "us-east-1", true),
    ]);
    let target = snapshot(&[
        authorizer("tok", "eu-west-1", true),
        authorizer("new-default", "eu-west-1", false),
        authorizer("old", "eu-west-1", false),
    ]);
    let plan = crate::diff(&desired, &target, &rewrite());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "update authorizer tok to arn:aws:lambda:eu-west-1:111122223333:function:auth (INACTIVE)",
            "clear the default authorizer tok",
            "make authorizer new-default the default",
            "delete authorizer old",
        ],
        "{plan:?}"
    );
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &rewrite()).is_empty());
    // The default pruned: cleared first.
    let plan = crate::diff(&Snapshot::new(), &target, &rewrite());
    assert_eq!(plan.changes[0].change.api(), "ClearDefaultAuthorizer");
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(t.authorizers.is_empty());
}

#[test]
fn signing_disabled_differs_is_reported_not_planned() {
    let mut d = authorizer("tok", "eu-west-1", false);
    d.signing_disabled = true;
    let plan = crate::diff(
        &snapshot(&[d]),
        &snapshot(&[authorizer("tok", "eu-west-1", false)]),
        &DiffOptions::default(),
    );
    assert!(plan.changes.is_empty());
    assert!(
        plan.warnings[0].contains("signingDisabled"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn apply_is_idempotent_and_refuses_what_aws_refuses() {
    let mut s = Snapshot::new();
    let create = AuthorizerChange::CreateAuthorizer {
        authorizer: authorizer("tok", "eu-west-1", false),
    };
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let set = AuthorizerChange::SetDefaultAuthorizer {
        authorizer_name: "tok".into(),
    };
    assert_eq!(set.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(set.apply(&mut s), Ok(Outcome::AlreadyInState));
    let delete = AuthorizerChange::DeleteAuthorizer {
        authorizer_name: "tok".into(),
    };
    assert!(
        delete
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("default")
    );
    let clear = AuthorizerChange::ClearDefaultAuthorizer {
        authorizer_name: "tok".into(),
    };
    assert_eq!(clear.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
    assert!(
        set.apply(&mut s)
            .unwrap_err()
            .message
            .contains("does not exist")
    );
}

#[test]
fn checks_function_token_key_and_keys() {
    assert!(authorizer("tok", "eu-west-1", false).check().is_ok());
    let mut bad = authorizer("tok", "eu-west-1", false);
    bad.authorizer_function_arn = "arn:aws:iam::1:role/x".into();
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("authorizerFunctionArn")
    );
    let mut bad = authorizer("tok", "eu-west-1", false);
    bad.token_key_name = Some("no spaces".into());
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("tokenKeyName")
    );
    let mut bad = authorizer("tok", "eu-west-1", false);
    bad.token_signing_public_keys = StringMap::from_iter([("k1", "not a key")]);
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("tokenSigningPublicKeys.k1")
    );
    let c = Change::Authorizer(AuthorizerChange::DeleteAuthorizer {
        authorizer_name: "tok".into(),
    });
    assert_eq!((c.api(), c.action()), ("DeleteAuthorizer", Action::Delete));
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, r#"{"op":"deleteAuthorizer","authorizerName":"tok"}"#);
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
}
