//! The event commands on file registries: `apply-events` (exit codes, event-only and
//! source modes, stdin), `dead-letters list/export/retry` round trips, and a clear
//! error for each malformed argument.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("iot-crr").unwrap()
}

fn loc(p: &Path) -> String {
    format!("file:{}", p.display())
}

/// A fleet of 10 things synced to a replica.
fn setup(dir: &Path) -> (PathBuf, PathBuf, String) {
    let fleet = dir.join("fleet.jsonl");
    let replica = dir.join("replica.jsonl");
    bin()
        .args(["gen-fleet", "--things", "10", "--seed", "3", "--output"])
        .arg(&fleet)
        .assert()
        .success();
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&replica)])
        .assert()
        .success();
    let state = format!("sqlite:{}", dir.join("state.db").display());
    (fleet, replica, state)
}

const THING_UPDATED: &str = r#"{"eventType":"THING_EVENT","eventId":"e1","timestamp":1764000000000,"operation":"UPDATED","accountId":"123456789012","thingId":"x","thingName":"sensor-000000","versionNumber":5,"attributes":{"firmware":"9.0.0"},"topic":"$aws/events/thing/sensor-000000/updated"}"#;
const MEMBERSHIP: &str = r#"{"eventType":"THING_GROUP_MEMBERSHIP_EVENT","eventId":"e2","timestamp":1764000000001,"operation":"ADDED","accountId":"123456789012","groupArn":"arn:aws:iot:us-east-1:123456789012:thinggroup/amer","groupId":"g","thingArn":"arn:aws:iot:us-east-1:123456789012:thing/sensor-000001","thingId":"t","membershipId":"m"}"#;

fn replica_thing(replica: &Path, name: &str) -> String {
    std::fs::read_to_string(replica)
        .unwrap()
        .lines()
        .find(|l| l.contains(&format!("\"thingName\":\"{name}\"")))
        .unwrap()
        .to_owned()
}

#[test]
fn event_only_mode_applies_states_and_dead_letters_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, replica, state) = setup(dir.path());
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!("{THING_UPDATED}\n{MEMBERSHIP}\nnot json\n\n"),
    )
    .unwrap();
    bin()
        .args([
            "apply-events",
            "--target",
            &loc(&replica),
            "--state",
            &state,
            "--input",
        ])
        .arg(&events)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "3 event(s): 1 applied, 0 skipped (duplicate, stale or older than a delete), 2 \
             dead-lettered; 1 write(s)",
        ))
        .stderr(predicate::str::contains("iot-crr dead-letters list"));
    let thing = replica_thing(&replica, "sensor-000000");
    assert!(thing.contains(r#""firmware":"9.0.0""#), "{thing}");
    // Its groups and principals were kept: the event does not carry them.
    assert!(
        thing.contains("thingGroups") && thing.contains("principals"),
        "{thing}"
    );

    bin()
        .args(["dead-letters", "list", "--state", &state])
        .assert()
        .success()
        .stdout(predicate::str::contains("cannot decode the event"))
        .stdout(predicate::str::contains("no source to re-read"))
        .stdout(predicate::str::contains(format!("{}:3", events.display())))
        .stderr(predicate::str::contains("2 of 2 dead letter(s) listed"));
    bin()
        .args(["dead-letters", "list", "--json", "--state", &state])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""reason":"#));
}

#[test]
fn with_a_source_thin_events_apply_and_retry_empties_the_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, replica, state) = setup(dir.path());
    // Event-only first: the membership event is a dead letter.
    bin()
        .args([
            "apply-events",
            "--target",
            &loc(&replica),
            "--state",
            &state,
        ])
        .write_stdin(format!("{MEMBERSHIP}\n"))
        .assert()
        .code(1);
    // Exported, it reads back with apply-events (here with a source: applied).
    let exported = dir.path().join("letters.jsonl");
    bin()
        .args(["dead-letters", "export", "--state", &state, "--output"])
        .arg(&exported)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 dead letter(s) exported"));
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap().lines().count(),
        1
    );
    let other_state = format!("sqlite:{}", dir.path().join("other.db").display());
    bin()
        .args([
            "apply-events",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
            "--state",
            &other_state,
            "--input",
        ])
        .arg(&exported)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 applied"));
    // Retry with a source: applied and removed.
    bin()
        .args([
            "dead-letters",
            "retry",
            "--state",
            &state,
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "1 dead letter(s) applied and removed, 0 failed again",
        ));
    bin()
        .args(["dead-letters", "list", "--state", &state])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 of 0 dead letter(s) listed"));
    bin()
        .args([
            "verify",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .success();
}

#[test]
fn a_redelivered_event_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, replica, state) = setup(dir.path());
    for expected in ["1 applied, 0 skipped", "0 applied, 1 skipped"] {
        bin()
            .args([
                "apply-events",
                "--target",
                &loc(&replica),
                "--state",
                &state,
            ])
            .write_stdin(format!("{THING_UPDATED}\n"))
            .assert()
            .success()
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn malformed_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, replica, state) = setup(dir.path());
    let missing = dir.path().join("nope.jsonl");
    bin()
        .args([
            "apply-events",
            "--target",
            &loc(&replica),
            "--state",
            &state,
            "--input",
        ])
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot open the events file"));
    bin()
        .args([
            "apply-events",
            "--target",
            &loc(&replica),
            "--state",
            "redis:x",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sqlite:PATH or memory:"));
    // A missing source file is an error, not an empty registry.
    bin()
        .args([
            "apply-events",
            "--source",
            &loc(&missing),
            "--target",
            &loc(&replica),
            "--state",
            &state,
        ])
        .write_stdin(format!("{MEMBERSHIP}\n"))
        .assert()
        .code(2);
    bin()
        .args([
            "replicate",
            "--stream",
            "kinesis:eu-west-1",
            "--target",
            &loc(&replica),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kinesis:eu-west-1"));
    bin()
        .args([
            "replicate",
            "--stream",
            "kinesis:eu-west-1/s",
            "--target",
            &loc(&replica),
            "--from",
            "yesterday",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not trim-horizon, latest, or a time",
        ));
    bin()
        .args([
            "replicate",
            "--stream",
            "kinesis:eu-west-1/s",
            "--target",
            &loc(&replica),
            "--reconcile-every",
            "1h",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--source"));
    bin()
        .args(["forward", "--stream", "s3://bucket", "--input"])
        .arg(&fleet)
        .assert()
        .code(2);
}
