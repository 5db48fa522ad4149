use super::*;
use crate::filter::DiffOptions;

fn config(events: &[(&str, bool)]) -> EventConfigurations {
    EventConfigurations {
        name: SINGLETON.into(),
        events: events.iter().map(|(t, on)| (Name::from(*t), *on)).collect(),
    }
}

fn snapshot(c: EventConfigurations) -> Snapshot {
    let mut s = Snapshot::new();
    s.event_configurations.insert(SINGLETON.into(), c);
    s
}

#[test]
fn a_line_reads_and_writes_back_the_same() {
    let line = r#"{"kind":"eventConfigurations","name":"default","events":{"THING":true,"THING_GROUP":false}}"#;
    let r: Resource = serde_json::from_str(line).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), line);
    assert_eq!(r.key().to_string(), "eventConfigurations/default");
    assert_eq!(
        Kind::parse("event-configurations"),
        Some(Kind::EventConfigurations)
    );
    assert!(EVENT_TYPES.contains(&"THING_GROUP_MEMBERSHIP"));
}

#[test]
fn only_the_types_the_source_names_and_the_target_differs_in_are_updated() {
    let desired = snapshot(config(&[
        ("THING", true),
        ("THING_GROUP", true),
        ("JOB", false),
    ]));
    let target = snapshot(config(&[
        ("THING", false),
        ("THING_GROUP", true),
        ("POLICY", true),
    ]));
    let plan = crate::diff(&desired, &target, &DiffOptions::default());
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].change.to_string(),
        "update registry event configuration: enable THING; disable JOB"
    );
    let mut t = target.clone();
    crate::apply_change(&mut t, &plan.changes[0].change).unwrap();
    // POLICY, which the source does not name, stays as the target has it.
    assert!(t.event_configurations[SINGLETON].events["POLICY"]);
    assert!(crate::diff(&desired, &t, &DiffOptions::default()).is_empty());
    assert_eq!(
        crate::apply_change(&mut t, &plan.changes[0].change),
        Ok(Outcome::AlreadyInState)
    );
}

#[test]
fn event_types_are_checked() {
    let e = config(&[("thing", true)]).check().unwrap_err().to_string();
    assert!(e.contains("not an event type"), "{e}");
    let bad = r#"{"op":"updateEventConfigurations","events":{"THING":"yes"}}"#;
    assert!(serde_json::from_str::<Change>(bad).is_err());
}
