//! The CLI on file registries in temporary directories: the quickstart, every command,
//! exit codes, and a clear error for each malformed input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("iot-crr").unwrap()
}

fn fleet_file(dir: &Path, name: &str, things: usize, seed: u64) -> PathBuf {
    let p = dir.join(name);
    bin()
        .args([
            "gen-fleet",
            "--things",
            &things.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .arg("--output")
        .arg(&p)
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote"));
    p
}

fn loc(p: &Path) -> String {
    format!("file:{}", p.display())
}

#[test]
fn quickstart_sync_then_verify_then_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 200, 7);
    let replica = dir.path().join("replica.jsonl");
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&replica)])
        .assert()
        .success()
        .stdout(predicate::str::contains("Plan: file:"))
        .stdout(predicate::str::contains("thing"))
        .stderr(predicate::str::contains("0 failed"));
    bin()
        .args([
            "verify",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("equal:"));
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&replica)])
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes"));
    // The replica is a faithful copy: the same lines as the source, but for the thing
    // versions, which each registry counts itself.
    let strip = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if v["kind"] == "thing" {
                    v.as_object_mut().unwrap().remove("version");
                }
                v
            })
            .collect()
    };
    assert_eq!(strip(&fleet), strip(&replica));
}

#[test]
fn verify_lists_differences_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let a = fleet_file(dir.path(), "a.jsonl", 50, 1);
    let b = fleet_file(dir.path(), "b.jsonl", 50, 2);
    bin()
        .args(["verify", "--source", &loc(&a), "--target", &loc(&b)])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("different:"))
        .stdout(predicate::str::contains("thing/"));
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 20, 3);
    let replica = dir.path().join("replica.jsonl");
    bin()
        .args([
            "sync",
            "--dry-run",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("dry run"));
    assert!(!replica.exists());
}

#[test]
fn plan_apply_and_stale_plan_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 30, 4);
    let replica = dir.path().join("replica.jsonl");
    let plan = dir.path().join("plan.json");
    bin()
        .args([
            "plan",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
            "--format",
            "json",
        ])
        .arg("--output")
        .arg(&plan)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"formatVersion\": 1"));
    // Apply it once: works. Apply it again: the target changed, refused.
    bin()
        .arg("apply")
        .arg(&plan)
        .args(["--target", &loc(&replica)])
        .assert()
        .success();
    bin()
        .arg("apply")
        .arg(&plan)
        .args(["--target", &loc(&replica)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "changed since the plan was computed",
        ));
}

#[test]
fn prune_deletes_only_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let small = fleet_file(dir.path(), "small.jsonl", 10, 5);
    let big = fleet_file(dir.path(), "big.jsonl", 20, 5);
    bin()
        .args(["plan", "--source", &loc(&small), "--target", &loc(&big)])
        .assert()
        .success()
        .stdout(predicate::str::contains("delete thing").not());
    bin()
        .args([
            "plan",
            "--prune",
            "--source",
            &loc(&small),
            "--target",
            &loc(&big),
            "--max-lines",
            "0",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("delete thing"));
    // 20 of 67 resources: more than the default bound (10%) allows.
    let before = std::fs::read(&big).unwrap();
    bin()
        .args([
            "sync",
            "--prune",
            "--source",
            &loc(&small),
            "--target",
            &loc(&big),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refusing to delete 20 of the 67 resources",
        ))
        .stderr(predicate::str::contains("--max-delete"));
    assert_eq!(
        std::fs::read(&big).unwrap(),
        before,
        "the target is untouched"
    );
    bin()
        .args([
            "sync",
            "--prune",
            "--max-delete",
            "30%",
            "--source",
            &loc(&small),
            "--target",
            &loc(&big),
        ])
        .assert()
        .success();
    bin()
        .args([
            "verify",
            "--prune",
            "--source",
            &loc(&small),
            "--target",
            &loc(&big),
        ])
        .assert()
        .code(0);
}

#[test]
fn filters_and_arn_rewriting() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 20, 6);
    let replica = dir.path().join("replica.jsonl");
    bin()
        .args([
            "sync",
            "--kind",
            "policy",
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
        ])
        .args(["--source", &loc(&fleet), "--target", &loc(&replica)])
        .assert()
        .success();
    let text = std::fs::read_to_string(&replica).unwrap();
    assert!(text.contains("\"kind\":\"policy\""));
    assert!(!text.contains("\"kind\":\"thing\""));
    assert!(text.contains("arn:aws:iot:eu-west-1:"));
    assert!(!text.contains("arn:aws:iot:us-east-1:"));
    bin()
        .args([
            "verify",
            "--kind",
            "policy",
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
        ])
        .args(["--source", &loc(&fleet), "--target", &loc(&replica)])
        .assert()
        .code(0);
    // Without rewriting the documents differ.
    bin()
        .args([
            "verify",
            "--kind",
            "policy",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .code(1);
}

#[test]
fn snapshot_copies_a_registry_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 25, 8);
    let copy = dir.path().join("copy.jsonl");
    bin()
        .args(["snapshot", "--source", &loc(&fleet)])
        .arg("--output")
        .arg(&copy)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&fleet).unwrap(),
        std::fs::read(&copy).unwrap()
    );
}

#[test]
fn gen_fleet_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let a = fleet_file(dir.path(), "a.jsonl", 40, 9);
    let b = fleet_file(dir.path(), "b.jsonl", 40, 9);
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn bad_inputs_fail_with_exit_2_and_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 5, 1);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n{\"kind\":\"thing\",\"thingName\":\"a\"}\n{\"kind\":\"thing\",\"thingName\":}\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "verify".into(),
                "--source".into(),
                loc(&bad),
                "--target".into(),
                loc(&fleet),
            ],
            "bad.jsonl:3:",
        ),
        (
            vec![
                "plan".into(),
                "--source".into(),
                "s3:bucket".into(),
                "--target".into(),
                loc(&fleet),
            ],
            "unknown scheme \"s3\"",
        ),
        (
            vec![
                "plan".into(),
                "--source".into(),
                loc(&fleet),
                "--target".into(),
                loc(&fleet),
                "--kind".into(),
                "gizmo".into(),
            ],
            "unknown kind \"gizmo\"",
        ),
        (
            vec![
                "plan".into(),
                "--source".into(),
                loc(&fleet),
                "--target".into(),
                loc(&fleet),
                "--include".into(),
                "thing:".into(),
            ],
            "invalid name pattern",
        ),
        (
            vec![
                "sync".into(),
                "--source".into(),
                loc(&fleet),
                "--target".into(),
                loc(&dir.path().join("new.jsonl")),
                "--rewrite-arns".into(),
            ],
            "--target-region",
        ),
        (
            vec![
                "gen-fleet".into(),
                "--things".into(),
                "3".into(),
                "--certificate-ratio".into(),
                "2".into(),
                "--output".into(),
                dir.path().join("x.jsonl").display().to_string(),
            ],
            "certificate ratio",
        ),
    ];
    for (args, needle) in cases {
        bin()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
    }
    // A malformed quota file (checked before any AWS call is made).
    let quotas = dir.path().join("quotas.json");
    std::fs::write(&quotas, "{\"CreateThing\": \"fast\"}").unwrap();
    bin()
        .args([
            "plan",
            "--source",
            &loc(&fleet),
            "--target",
            "aws:eu-west-1",
            "--quota-file",
        ])
        .arg(&quotas)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "quotas.json: expected a JSON object",
        ));
    std::fs::write(&quotas, "{\"CreateThing\": -1}").unwrap();
    bin()
        .args([
            "plan",
            "--source",
            &loc(&fleet),
            "--target",
            "aws:eu-west-1",
            "--quota-file",
        ])
        .arg(&quotas)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be a positive number"));
    // A plan file that is not a plan.
    let not_plan = dir.path().join("p.json");
    std::fs::write(&not_plan, "{\"changes\": []}").unwrap();
    bin()
        .arg("apply")
        .arg(&not_plan)
        .args(["--target", &loc(&fleet)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an iot-crr plan"));
    std::fs::write(&not_plan, "{\"formatVersion\":1,").unwrap();
    bin()
        .arg("apply")
        .arg(&not_plan)
        .args(["--target", &loc(&fleet)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("p.json"))
        .stderr(predicate::str::contains("line 1"));
    // Clap rejects a missing required flag with its own usage error (exit 2).
    bin()
        .args(["sync", "--source", &loc(&fleet)])
        .assert()
        .code(2);
    // The target file was never touched by the failed commands.
    assert!(!dir.path().join("new.jsonl").exists());
}

#[test]
fn values_beyond_aws_limits_fail_with_exit_2_naming_the_line_or_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 5, 1);
    // A snapshot with a 300-character thing name: refused on read, naming the line.
    let long = dir.path().join("long.jsonl");
    std::fs::write(
        &long,
        format!(
            "{{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}}\n{{\"kind\":\"thing\",\"thingName\":\"{}\"}}\n",
            "a".repeat(300)
        ),
    )
    .unwrap();
    bin()
        .args(["verify", "--source", &loc(&long), "--target", &loc(&fleet)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("long.jsonl:2: thing"))
        .stderr(predicate::str::contains(
            "thingName is 300 characters long (AWS IoT allows 1 to 128)",
        ));
    // A plan edited by hand: refused before anything is applied, naming the change.
    let replica = dir.path().join("replica.jsonl");
    let plan = dir.path().join("plan.json");
    bin()
        .args([
            "plan",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
            "--format",
            "json",
        ])
        .arg("--output")
        .arg(&plan)
        .assert()
        .success();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let changes = json["changes"].as_array_mut().unwrap();
    let index = changes
        .iter()
        .position(|c| c["op"] == "createThing")
        .unwrap();
    changes[index]["thingName"] = "sensor 1".into();
    std::fs::write(&plan, json.to_string()).unwrap();
    bin()
        .arg("apply")
        .arg(&plan)
        .args(["--target", &loc(&replica)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "invalid plan: changes[{index}] (CreateThing): thing \"sensor 1\": thingName contains ' '"
        )));
    assert!(!replica.exists(), "nothing was applied");
}

#[test]
fn every_command_has_a_manual() {
    for cmd in ["snapshot", "plan", "apply", "sync", "verify", "gen-fleet"] {
        bin()
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example:").or(predicate::str::contains("Usage:")));
    }
}

/// A typo in the source location must not empty the target: a missing file source is
/// an error, an empty source with --prune is refused unless the bound says otherwise,
/// and the target stays byte for byte as it was (exit 2).
#[test]
fn prune_from_a_missing_or_empty_source_leaves_the_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 100, 3);
    let before = std::fs::read(&fleet).unwrap();
    let typo = dir.path().join("flet.jsonl");
    bin()
        .args([
            "sync",
            "--prune",
            "--source",
            &loc(&typo),
            "--target",
            &loc(&fleet),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such snapshot file"))
        .stderr(predicate::str::contains("flet.jsonl"));
    bin()
        .args(["plan", "--source", &loc(&typo), "--target", &loc(&fleet)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such snapshot file"));
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(
        &empty,
        "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n",
    )
    .unwrap();
    for extra in [&[][..], &["--max-delete", "50%"][..], &["--dry-run"][..]] {
        bin()
            .args([
                "sync",
                "--prune",
                "--source",
                &loc(&empty),
                "--target",
                &loc(&fleet),
            ])
            .args(extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("refusing to delete"));
    }
    assert_eq!(std::fs::read(&fleet).unwrap(), before);
    // Said explicitly, it is allowed.
    bin()
        .args([
            "sync",
            "--prune",
            "--max-delete",
            "100%",
            "--source",
            &loc(&empty),
        ])
        .args(["--target", &loc(&fleet), "--max-lines", "0"])
        .assert()
        .success();
    let after = iot_crr_model::format::read_file(&fleet).unwrap();
    assert_eq!(after.counts().total(), 0);
}

#[test]
fn bad_tuning_arguments_are_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // The source does not exist: an argument error must come first.
    let missing = loc(&dir.path().join("missing.jsonl"));
    for (args, says) in [
        (&["--concurrency", "0"][..], "--concurrency"),
        (&["--max-delete", "ten"][..], "--max-delete"),
        (&["--max-delete", "150%"][..], "--max-delete"),
        (&["--max-attempts", "0"][..], "--max-attempts"),
        (&["--key", "thing"][..], "--key"),
        (&["--key", "gadget/x"][..], "unknown kind"),
        (&["--kind", "gadget"][..], "unknown kind"),
        (&["--quotas", "fast"][..], "possible values: default, live"),
    ] {
        bin()
            .args(["sync", "--source", &missing, "--target", &missing])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains("no such snapshot file").not());
    }
}

#[test]
fn keyed_sync_reconciles_only_the_named_resources_and_what_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 50, 4);
    let replica = dir.path().join("replica.jsonl");
    let snap = iot_crr_model::format::read_file(&fleet).unwrap();
    let thing = snap.things.keys().next().unwrap().to_string();
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&replica)])
        .args(["--key", &format!("thing/{thing}"), "--max-lines", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains("keyed comparison"));
    let got = iot_crr_model::format::read_file(&replica).unwrap();
    assert_eq!(got.things.len(), 1, "only the named thing");
    assert_eq!(got.things[thing.as_str()], snap.things[thing.as_str()]);
    // Its type, groups (with their parents), certificate and policies came with it.
    bin()
        .args([
            "verify",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .args(["--key", &format!("thing/{thing}")])
        .assert()
        .code(0);
    bin()
        .args(["plan", "--source", &loc(&fleet), "--target", &loc(&replica)])
        .args(["--key", &format!("thing/{thing}"), "--output"])
        .arg(dir.path().join("p.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be saved"));
}

#[test]
fn a_sync_cut_by_its_time_budget_goes_on_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 30, 8);
    let replica = dir.path().join("replica.jsonl");
    let sync = |extra: &[&str]| {
        let mut c = bin();
        c.args(["sync", "--source", &loc(&fleet), "--target", &loc(&replica)])
            .args(["--max-lines", "0"])
            .args(extra);
        c
    };
    // A budget that has run out before the first write: nothing is sent, exit 1.
    sync(&["--time-budget", "0.000001s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the time budget ran out"));
    sync(&[]).assert().success();
    bin()
        .args([
            "verify",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&replica),
        ])
        .assert()
        .code(0);
    sync(&["--time-budget", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--time-budget"));
}

#[test]
fn readiness_of_file_standbys_exit_codes_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), "fleet.jsonl", 60, 3);
    let standby = dir.path().join("standby.jsonl");
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&standby)])
        .args(["--rewrite-arns", "--target-region", "eu-west-1"])
        .assert()
        .success();
    // Ready: exit 0, and the JSON lines end with the summary.
    let out = bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&standby),
        ])
        .args(["--format", "json"])
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["targetRegion"], "eu-west-1");
    assert_eq!(summary["ready"], summary["devices"]);
    // One line per device: every thing has a certificate here, plus the certificates
    // attached to no thing.
    let unattached = lines[..lines.len() - 1]
        .iter()
        .filter(|l| l["thing"].is_null())
        .count();
    assert_eq!(lines.len() - 1, 60 + unattached);
    for l in &lines[..lines.len() - 1] {
        assert!(l["certificate"].as_str().is_some(), "{l}");
        assert!(l["ready"].is_boolean(), "{l}");
    }

    // The file replica made without rewriting (it records the source's region), judged
    // as a standby in eu-west-1: no device ready, exit 1, and the fix names
    // --rewrite-arns.
    let raw = dir.path().join("raw.jsonl");
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target", &loc(&raw)])
        .assert()
        .success();
    bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&raw),
        ])
        .args(["--target-region", "eu-west-1"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("0 of "))
        .stdout(predicate::str::contains("arns-not-rewritten"))
        .stdout(predicate::str::contains("--rewrite-arns"));

    // A missing standby is an error, not an empty registry.
    bin()
        .args(["readiness", "--source", &loc(&fleet), "--target"])
        .arg(loc(&dir.path().join("typo.jsonl")))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.jsonl"))
        .stderr(predicate::str::contains("must exist"));
    // A malformed standby names the file and line.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"kind\":\"thing\",\"thingName\":3}\n").unwrap();
    let out = bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&bad),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.jsonl:1"));
    // Each cause once (the snapshot error is not repeated after the read error).
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.matches("bad.jsonl:1").count(), 1, "{err}");
    // A standby whose region nothing records: the flag that gives it is named.
    let bare = dir.path().join("bare.jsonl");
    std::fs::write(
        &bare,
        "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n",
    )
    .unwrap();
    bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&bare),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--target-region"));
    // Bad arguments are refused before anything is read.
    bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&standby),
        ])
        .args(["--format", "yaml"])
        .assert()
        .code(2);
    bin()
        .args([
            "readiness",
            "--source",
            &loc(&fleet),
            "--target",
            &loc(&standby),
        ])
        .args(["--cross-check", "many"])
        .assert()
        .code(2);
}

/// A snapshot file of a source in us-east-1 with one role alias.
fn role_alias_file(dir: &Path) -> PathBuf {
    let p = dir.join("aliases.jsonl");
    std::fs::write(
        &p,
        concat!(
            r#"{"format":"iot-crr-snapshot","formatVersion":1,"region":"us-east-1","accountId":"111111111111"}"#,
            "\n",
            r#"{"kind":"roleAlias","roleAlias":"cam","roleArn":"arn:aws:iam::111111111111:role/cam-uploads","credentialDurationSeconds":900}"#,
            "\n",
        ),
    )
    .unwrap();
    p
}

#[test]
fn role_aliases_sync_between_files_with_mapped_and_rewritten_arns() {
    let dir = tempfile::tempdir().unwrap();
    let source = role_alias_file(dir.path());
    let replica = dir.path().join("replica.jsonl");
    // Rewritten for another account: the role of that name there.
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args([
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
            "--target-account",
        ])
        .arg("222222222222")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "create role alias cam for arn:aws:iam::222222222222:role/cam-uploads",
        ));
    // Mapped: another role name in the target; the mapping wins over the rewrite.
    let map = dir.path().join("arns.json");
    std::fs::write(
        &map,
        r#"{"arn:aws:iam::111111111111:role/cam-*": "arn:aws:iam::222222222222:role/eu-cam-*"}"#,
    )
    .unwrap();
    bin()
        .args([
            "sync",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args([
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
            "--arn-map",
        ])
        .arg(&map)
        .assert()
        .success();
    let written = std::fs::read_to_string(&replica).unwrap();
    assert!(
        written.contains(r#""roleArn":"arn:aws:iam::222222222222:role/eu-cam-uploads""#),
        "{written}"
    );
    // --map-arn alone (no region rewrite) maps too, and the replica is then equal.
    bin()
        .args(["verify", "--source", &loc(&source), "--target", &loc(&replica)])
        .arg("--map-arn=arn:aws:iam::111111111111:role/cam-uploads=arn:aws:iam::222222222222:role/eu-cam-uploads")
        .assert()
        .code(0);
    bin()
        .args([
            "snapshot",
            "--source",
            &loc(&replica),
            "--kind",
            "role-aliases",
            "--output",
            "-",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""kind":"roleAlias""#));
}

#[test]
fn malformed_arn_mappings_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let source = role_alias_file(dir.path());
    let replica = dir.path().join("replica.jsonl");
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args(["--map-arn", "arn:aws:iam::1:role/a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not SOURCE=TARGET"));
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args(["--map-arn", "arn:aws:iam::1:role/a=role/b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("neither an ARN"));
    let map = dir.path().join("arns.json");
    std::fs::write(&map, "{\n  \"arn:aws:iam::1:role/a\": 7\n}").unwrap();
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
            "--arn-map",
        ])
        .arg(&map)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(map.display().to_string()))
        .stderr(predicate::str::contains("is not a string"));
    std::fs::write(&map, "[1,2").unwrap();
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
            "--arn-map",
        ])
        .arg(&map)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"));
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
            "--arn-map",
        ])
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the ARN map"));
}

/// The control-plane kinds beyond the registry, file to file through the binary:
/// account settings, a default authorizer whose function is mapped, a CA with a
/// registration role and a certificate it signed (registered after it), an unlisted
/// kind left out with a warning, and a second plan empty.
#[test]
fn control_plane_kinds_sync_between_files_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let ca = "ca".repeat(32);
    let cert = "cd".repeat(32);
    let pem = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n";
    let key = "-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----\\n";
    let source = dir.path().join("source.jsonl");
    std::fs::write(
        &source,
        [
            r#"{"format":"iot-crr-snapshot","formatVersion":1,"region":"us-east-1","accountId":"111111111111"}"#.to_string(),
            r#"{"kind":"eventConfigurations","name":"default","events":{"THING":true,"THING_GROUP_MEMBERSHIP":true}}"#.to_string(),
            r#"{"kind":"indexingConfiguration","name":"default","thingIndexingMode":"REGISTRY","thingGroupIndexingMode":"ON"}"#.to_string(),
            format!(r#"{{"kind":"authorizer","authorizerName":"tok","authorizerFunctionArn":"arn:aws:lambda:us-east-1:111111111111:function:auth","tokenKeyName":"x-token","tokenSigningPublicKeys":{{"k1":"{key}"}},"status":"ACTIVE","default":true}}"#),
            r#"{"kind":"domainConfiguration","domainConfigurationName":"fleet-domain","domainName":"iot.example.com","serverCertificateArns":["arn:aws:acm:us-east-1:111111111111:certificate/src"],"serviceType":"DATA","status":"ENABLED","authorizerConfig":{"defaultAuthorizerName":"tok","allowAuthorizerOverride":false}}"#.to_string(),
            r#"{"kind":"topicRule","ruleName":"fanout","sql":"SELECT * FROM 't/#'","awsIotSqlVersion":"2016-03-23","actions":[{"sqs":{"queueUrl":"https://sqs.us-east-1.amazonaws.com/111111111111/q","roleArn":"arn:aws:iam::111111111111:role/r"}}]}"#.to_string(),
            r#"{"kind":"provisioningTemplate","templateName":"jitp","enabled":true,"provisioningRoleArn":"arn:aws:iam::111111111111:role/prov","type":"JITP","versions":[{"versionId":1,"templateBody":"{\"Resources\":{}}","isDefaultVersion":true}]}"#.to_string(),
            format!(r#"{{"kind":"caCertificate","certificateId":"{ca}","certificatePem":"{pem}","status":"ACTIVE","autoRegistration":true,"registrationConfig":{{"roleArn":"arn:aws:iam::111111111111:role/jitp","templateName":"jitp"}}}}"#),
            format!(r#"{{"kind":"certificate","certificateId":"{cert}","certificatePem":"{pem}","status":"ACTIVE","caCertificateId":"{ca}"}}"#),
        ]
        .join("\n"),
    )
    .unwrap();
    let replica = dir.path().join("replica.jsonl");
    let map = dir.path().join("map.json");
    std::fs::write(
        &map,
        r#"{"arn:aws:lambda:us-east-1:111111111111:function:auth":"arn:aws:lambda:eu-west-1:111111111111:function:auth-eu",
            "arn:aws:acm:us-east-1:111111111111:certificate/src":"arn:aws:acm:eu-west-1:111111111111:certificate/dst"}"#,
    )
    .unwrap();
    let mapped = &format!("--arn-map={}", map.display());
    let out = bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args([
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
            mapped,
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ops: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["op"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "updateEventConfigurations",
            "updateIndexingConfiguration",
            "createAuthorizer",
            "createDomainConfiguration",
            "createTopicRule",
            "createProvisioningTemplate",
            "setDefaultAuthorizer",
            "registerCaCertificate",
            "registerCertificate"
        ],
        "{plan}"
    );
    bin()
        .args([
            "sync",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args(["--rewrite-arns", "--target-region", "eu-west-1", mapped])
        .assert()
        .success();
    let written = std::fs::read_to_string(&replica).unwrap();
    assert!(
        written.contains(
            r#""authorizerFunctionArn":"arn:aws:lambda:eu-west-1:111111111111:function:auth-eu""#
        ),
        "{written}"
    );
    assert!(
        written.contains(r#""certificateMode":"SNI_ONLY""#),
        "{written}"
    );
    for expected in [
        r#""serverCertificateArns":["arn:aws:acm:eu-west-1:111111111111:certificate/dst"]"#,
        r#""queueUrl":"https://sqs.eu-west-1.amazonaws.com/111111111111/q""#,
        r#""templateName":"jitp""#,
    ] {
        assert!(written.contains(expected), "{expected} in {written}");
    }
    bin()
        .args([
            "verify",
            "--source",
            &loc(&source),
            "--target",
            &loc(&replica),
        ])
        .args(["--rewrite-arns", "--target-region", "eu-west-1", mapped])
        .assert()
        .code(0);
    // A function of another account is placed in the target region of that account
    // (region rewriting changes the region of every ARN, the account only of the
    // source's).
    let foreign = dir.path().join("foreign.jsonl");
    std::fs::write(
        &foreign,
        std::fs::read_to_string(&source).unwrap().replace(
            "lambda:us-east-1:111111111111",
            "lambda:us-east-1:999999999999",
        ),
    )
    .unwrap();
    let other = dir.path().join("other.jsonl");
    bin()
        .args(["plan", "--source", &loc(&foreign), "--target", &loc(&other)])
        .args([
            "--rewrite-arns",
            "--target-region",
            "eu-west-1",
            "--strict-arns",
            mapped,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "create authorizer tok for arn:aws:lambda:eu-west-1:999999999999:function:auth",
        ));
    // A target whose header says it could not list authorizers: they are left out.
    let unlisted = dir.path().join("unlisted.jsonl");
    std::fs::write(
        &unlisted,
        r#"{"format":"iot-crr-snapshot","formatVersion":1,"region":"eu-west-1","accountId":"111111111111","unlisted":["authorizer"]}"#,
    )
    .unwrap();
    bin()
        .args([
            "plan",
            "--source",
            &loc(&source),
            "--target",
            &loc(&unlisted),
        ])
        .args(["--rewrite-arns", "--prune"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "authorizers not compared: the target could not list or read them",
        ))
        .stdout(predicate::str::contains("create authorizer").not());
}
