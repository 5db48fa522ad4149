use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};

const URL: &str = "https://hooks.example.com/iot";

fn destination(url: &str, status: DestinationStatus) -> TopicRuleDestination {
    TopicRuleDestination {
        confirmation_url: url.into(),
        status,
    }
}

fn snapshot(ds: &[TopicRuleDestination]) -> Snapshot {
    let mut s = Snapshot::new();
    for d in ds {
        s.topic_rule_destinations
            .insert(d.confirmation_url.clone(), d.clone());
    }
    s
}

#[test]
fn a_line_reads_and_writes_back_the_same() {
    let line = r#"{"kind":"topicRuleDestination","confirmationUrl":"https://hooks.example.com/iot","status":"ENABLED"}"#;
    let r: Resource = serde_json::from_str(line).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), line);
    assert_eq!(
        r.key().to_string(),
        "topicRuleDestination/https://hooks.example.com/iot"
    );
    assert_eq!(
        crate::Kind::parse("topic-rule-destinations"),
        Some(Kind::TopicRuleDestination)
    );
    let v = destination("http://plain.example.com", DestinationStatus::Enabled)
        .check()
        .unwrap_err();
    assert!(v.to_string().contains("https://"), "{v}");
}

#[test]
fn created_it_awaits_its_endpoint_then_follows_the_source_status() {
    let desired = snapshot(&[destination(URL, DestinationStatus::Disabled)]);
    let plan = crate::diff(&desired, &Snapshot::new(), &DiffOptions::default());
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "create topic rule destination https://hooks.example.com/iot (to be confirmed by its endpoint)"
        ]
    );
    assert!(
        plan.warnings[0].contains("awaits confirmation"),
        "{:?}",
        plan.warnings
    );
    let mut t = Snapshot::new();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    // Unconfirmed: no change, the warning again.
    let plan = crate::diff(&desired, &t, &DiffOptions::default());
    assert!(plan.changes.is_empty());
    assert_eq!(plan.warnings.len(), 1);
    // Confirmed (enabled by its endpoint): disabled as the source is.
    t.topic_rule_destinations.get_mut(URL).unwrap().status = DestinationStatus::Enabled;
    let plan = crate::diff(&desired, &t, &DiffOptions::default());
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].change.to_string(),
        "update topic rule destination https://hooks.example.com/iot to DISABLED"
    );
    crate::apply_change(&mut t, &plan.changes[0].change).unwrap();
    assert!(crate::diff(&desired, &t, &DiffOptions::default()).is_empty());
}

#[test]
fn prune_deletes_after_the_rules_and_apply_is_idempotent() {
    let target = snapshot(&[destination(URL, DestinationStatus::Enabled)]);
    let options = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = crate::diff(&Snapshot::new(), &target, &options);
    assert_eq!(plan.changes[0].change.api(), "DeleteTopicRuleDestination");
    assert_eq!(plan.changes[0].change.action(), Action::Delete);
    let mut s = target.clone();
    let delete = TopicRuleDestinationChange::DeleteTopicRuleDestination {
        confirmation_url: URL.into(),
    };
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
    let create = TopicRuleDestinationChange::CreateTopicRuleDestination {
        confirmation_url: URL.into(),
    };
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let update = TopicRuleDestinationChange::UpdateTopicRuleDestination {
        confirmation_url: URL.into(),
        status: DestinationStatus::Enabled,
    };
    assert!(
        update
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("not confirmed")
    );
    let bad = TopicRuleDestinationChange::UpdateTopicRuleDestination {
        confirmation_url: URL.into(),
        status: DestinationStatus::InProgress,
    };
    assert!(bad.check().is_err());
    let c = Change::TopicRuleDestination(update);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
}
