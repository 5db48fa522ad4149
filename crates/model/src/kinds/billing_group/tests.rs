use super::*;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::resource::Thing;

fn group(name: &str, description: Option<&str>) -> BillingGroup {
    BillingGroup {
        billing_group_name: name.into(),
        billing_group_description: description.map(str::to_string),
        tags: StringMap::default(),
    }
}

#[test]
fn create_is_idempotent_and_refuses_another_group_of_that_name() {
    let mut s = Snapshot::new();
    let create = BillingGroupChange::CreateBillingGroup {
        billing_group: group("fleet", Some("d")),
    };
    assert_eq!(create.apply(&mut s), Ok(crate::apply::Outcome::Applied));
    assert_eq!(
        create.apply(&mut s),
        Ok(crate::apply::Outcome::AlreadyInState)
    );
    let other = BillingGroupChange::CreateBillingGroup {
        billing_group: group("fleet", Some("e")),
    };
    let err = other.apply(&mut s).unwrap_err();
    assert!(err.message.contains("other properties"), "{err}");
}

#[test]
fn update_needs_the_group_and_delete_frees_its_things() {
    let mut s = Snapshot::new();
    let update = BillingGroupChange::UpdateBillingGroup {
        billing_group_name: "fleet".into(),
        billing_group_description: Some("x".into()),
    };
    assert!(
        update
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("does not exist")
    );
    s.billing_groups
        .insert("fleet".into(), group("fleet", None));
    s.things.insert(
        "t".into(),
        Thing {
            thing_name: "t".into(),
            billing_group_name: Some("fleet".into()),
            ..Thing::default()
        },
    );
    assert_eq!(update.apply(&mut s), Ok(crate::apply::Outcome::Applied));
    assert_eq!(
        s.billing_groups["fleet"]
            .billing_group_description
            .as_deref(),
        Some("x")
    );
    let delete = BillingGroupChange::DeleteBillingGroup {
        billing_group_name: "fleet".into(),
    };
    assert_eq!(delete.apply(&mut s), Ok(crate::apply::Outcome::Applied));
    assert_eq!(s.things["t"].billing_group_name, None);
    assert_eq!(
        delete.apply(&mut s),
        Ok(crate::apply::Outcome::AlreadyInState)
    );
}

#[test]
fn the_outer_change_delegates() {
    let c = Change::BillingGroup(BillingGroupChange::DeleteBillingGroup {
        billing_group_name: "fleet".into(),
    });
    assert_eq!(c.api(), "DeleteBillingGroup");
    assert_eq!(c.action(), Action::Delete);
    assert_eq!(c.key().to_string(), "billingGroup/fleet");
    assert_eq!(c.to_string(), "delete billing group fleet");
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        r#"{"op":"deleteBillingGroup","billingGroupName":"fleet"}"#
    );
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
}

#[test]
fn checks_name_description_and_tags() {
    let mut g = group("fleet", Some("ok"));
    assert!(g.check().is_ok());
    g.billing_group_description = Some("line\nbreak".into());
    let v = g.check().unwrap_err();
    assert!(v.to_string().contains("billingGroupDescription"), "{v}");
    let bad = BillingGroupChange::DeleteBillingGroup {
        billing_group_name: "no spaces allowed".into(),
    };
    let v = bad.check().unwrap_err();
    assert!(v.to_string().contains("billing group"), "{v}");
}
