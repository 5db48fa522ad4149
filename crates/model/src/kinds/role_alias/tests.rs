use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::rewrite::ArnRewrite;

fn alias(name: &str, account: &str, seconds: u32) -> RoleAlias {
    RoleAlias {
        role_alias: name.into(),
        role_arn: format!("arn:aws:iam::{account}:role/device-role"),
        credential_duration_seconds: seconds,
        tags: StringMap::default(),
    }
}

fn snapshot(aliases: &[RoleAlias]) -> Snapshot {
    let mut s = Snapshot::new();
    for a in aliases {
        s.role_aliases.insert(a.role_alias.clone(), a.clone());
    }
    s
}

#[test]
fn a_line_reads_with_the_default_duration_and_writes_back_the_same() {
    let r: Resource = serde_json::from_str(
        r#"{"kind":"roleAlias","roleAlias":"cam","roleArn":"arn:aws:iam::111122223333:role/r"}"#,
    )
    .unwrap();
    let Resource::RoleAlias(a) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(a.credential_duration_seconds, 3600);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"kind":"roleAlias","roleAlias":"cam","roleArn":"arn:aws:iam::111122223333:role/r","credentialDurationSeconds":3600}"#
    );
    assert_eq!(r.key().to_string(), "roleAlias/cam");
    assert_eq!(crate::Kind::parse("role-aliases"), Some(Kind::RoleAlias));
    assert_eq!(crate::Kind::parse("roleAlias"), Some(Kind::RoleAlias));
}

#[test]
fn diff_creates_updates_and_prunes_with_the_role_rewritten() {
    let desired = snapshot(&[
        alias("cam", "111122223333", 3600),
        alias("gw", "111122223333", 900),
    ]);
    let target = snapshot(&[
        alias("gw", "444455556666", 900),
        alias("old", "444455556666", 3600),
    ]);
    let options = DiffOptions {
        prune: true,
        rewrite: Some(ArnRewrite {
            from_account: Some("111122223333".into()),
            to_account: Some("444455556666".into()),
            ..ArnRewrite::default()
        }),
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &target, &options);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "create role alias cam for arn:aws:iam::444455556666:role/device-role",
            "delete role alias old"
        ]
    );
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &options).is_empty());
    // Without the rewrite the role differs and is updated.
    let plan = crate::diff(&desired, &target, &DiffOptions::default());
    assert!(
        plan.changes
            .iter()
            .any(|c| c.change.api() == "UpdateRoleAlias")
    );
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.change.api() == "DeleteRoleAlias")
    );
}

#[test]
fn apply_is_idempotent_and_conflicts_are_named() {
    let mut s = Snapshot::new();
    let create = RoleAliasChange::CreateRoleAlias {
        role_alias: alias("cam", "111122223333", 3600),
    };
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let other = RoleAliasChange::CreateRoleAlias {
        role_alias: alias("cam", "111122223333", 900),
    };
    assert!(
        other
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("other properties")
    );
    let update = RoleAliasChange::UpdateRoleAlias {
        role_alias: "cam".into(),
        role_arn: "arn:aws:iam::111122223333:role/other".into(),
        credential_duration_seconds: 1200,
    };
    assert_eq!(update.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(s.role_aliases["cam"].credential_duration_seconds, 1200);
    let delete = RoleAliasChange::DeleteRoleAlias {
        role_alias: "cam".into(),
    };
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
    assert!(
        update
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("does not exist")
    );
}

#[test]
fn checks_name_role_and_duration() {
    assert!(alias("cam", "111122223333", 3600).check().is_ok());
    let v = alias("cam", "111122223333", 60).check().unwrap_err();
    assert!(v.to_string().contains("credentialDurationSeconds"), "{v}");
    let mut bad = alias("cam", "111122223333", 3600);
    bad.role_arn = "arn:aws:iot:us-east-1:111122223333:thing/x".into();
    let v = bad.check().unwrap_err();
    assert!(v.to_string().contains("roleArn"), "{v}");
    let v = alias("no spaces", "111122223333", 3600)
        .check()
        .unwrap_err();
    assert!(v.to_string().contains("role alias"), "{v}");
}

#[test]
fn the_outer_change_delegates_and_plan_files_read_it() {
    let c = Change::RoleAlias(RoleAliasChange::DeleteRoleAlias {
        role_alias: "cam".into(),
    });
    assert_eq!((c.api(), c.action()), ("DeleteRoleAlias", Action::Delete));
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, r#"{"op":"deleteRoleAlias","roleAlias":"cam"}"#);
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    let err = serde_json::from_str::<Change>(r#"{"op":"updateRoleAlias","roleAlias":"cam"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("roleArn"), "{err}");
}
