//! End to end through the binary against moto (two regions in one server): a generated
//! fleet is loaded into one region, synced to another with ARN rewriting, verified
//! equal, and a second sync plans nothing. `--dry-run --stats` proves no write call is
//! made.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use std::path::Path;

use assert_cmd::Command;
use iot_crr_testkit::{command_at, moto_endpoint};
use predicates::prelude::*;

fn bin() -> Command {
    Command::from_std(command_at(
        assert_cmd::cargo::cargo_bin("iot-crr"),
        &moto_endpoint(),
    ))
}

/// The tests of this file share one moto server and reset it: one at a time.
static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn reset() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    // Other test binaries run before or after this one, never at the same time.
    let url = format!("{}/moto-api/reset", moto_endpoint());
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='POST'))",
            &url,
        ])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "resetting moto at {url}");
    guard
}

fn loc(p: &Path) -> String {
    format!("file:{}", p.display())
}

/// Generates a fleet (`dir/fleet.jsonl`) and loads it into `region` (its ARNs name
/// us-east-1: rewritten), checking that nothing failed.
fn load_fleet(dir: &Path, things: &str, seed: &str, region: &str) {
    let fleet = dir.join("fleet.jsonl");
    bin()
        .args(["gen-fleet", "--things", things, "--seed", seed, "--output"])
        .arg(&fleet)
        .assert()
        .success();
    bin()
        .args(["sync", "--source", &loc(&fleet), "--target"])
        .arg(format!("aws:{region}"))
        .arg("--rewrite-arns")
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
}

#[test]
fn fleet_to_region_to_region_then_verify_equal() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    load_fleet(dir.path(), "30", "11", "us-west-2");

    // Replicate us-west-2 to eu-central-1.
    bin()
        .args([
            "sync",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
        ])
        .args(["--rewrite-arns", "--stats"])
        .assert()
        .success()
        .stderr(predicate::str::contains("while the things are read"))
        .stderr(predicate::str::contains("0 failed"))
        .stderr(predicate::str::contains("API calls on aws:us-west-2"))
        .stderr(predicate::str::contains("RegisterCertificateWithoutCA"));

    bin()
        .args([
            "verify",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
            "--rewrite-arns",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("equal:"));

    // A second sync plans nothing.
    bin()
        .args([
            "sync",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
            "--rewrite-arns",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes"));

    // Without rewriting, the policy documents differ (they name the other region).
    bin()
        .args([
            "verify",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
            "--kind",
            "policy",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("policy/"));

    // The target's snapshot holds every thing, certificate and relation of the fleet.
    let snap = dir.path().join("eu.jsonl");
    bin()
        .args(["snapshot", "--source", "aws:eu-central-1", "--output"])
        .arg(&snap)
        .assert()
        .success();
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(text.starts_with(
        "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1,\"region\":\"eu-central-1\""
    ));
    assert_eq!(text.matches("\"kind\":\"thing\",").count(), 30);
    assert!(text.contains("\"principals\":[\"cert/"));
    assert!(text.contains("arn:aws:iot:eu-central-1:"));
    assert!(!text.contains("arn:aws:iot:us-east-1:"));

    // Snapshots of both regions, compared as files: read side by side (nothing logs a
    // read one file at a time), and equal as the regions are.
    let us = dir.path().join("us.jsonl");
    bin()
        .args(["snapshot", "--source", "aws:us-west-2", "--output"])
        .arg(&us)
        .assert()
        .success();
    let verify = |rewrite: bool| {
        let mut c = bin();
        c.args([
            "-v",
            "verify",
            "--source",
            &loc(&us),
            "--target",
            &loc(&snap),
        ]);
        if rewrite {
            c.arg("--rewrite-arns");
        }
        c.assert()
            .stderr(predicate::str::contains("one at a time").not())
    };
    verify(true)
        .code(0)
        .stdout(predicate::str::contains("equal"));
    // Without rewriting, the files differ as the regions do: in the policies.
    verify(false)
        .code(1)
        .stdout(predicate::str::contains("policy/"));
}

#[test]
fn dry_run_makes_no_write_call() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.jsonl");
    bin()
        .args(["gen-fleet", "--things", "5", "--seed", "2", "--output"])
        .arg(&fleet)
        .assert()
        .success();
    let out = bin()
        .args([
            "sync",
            "--dry-run",
            "--stats",
            "--source",
            &loc(&fleet),
            "--target",
            "aws:ap-southeast-2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("create thing"))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let calls: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("API calls on aws:ap-southeast-2"))
        // The title and the column heads.
        .skip(2)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(!calls.is_empty(), "no stats printed: {stderr}");
    for api in calls {
        assert!(
            api.starts_with("List") || api.starts_with("Describe") || api.starts_with("Get"),
            "dry run made a write call: {api}"
        );
    }
    // And the region is still empty.
    bin()
        .args([
            "verify",
            "--source",
            "memory:",
            "--target",
            "aws:ap-southeast-2",
        ])
        .assert()
        .code(0);
}

#[test]
fn prune_converges_a_region_to_another_fleet() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.jsonl");
    let other = dir.path().join("other.jsonl");
    for (path, things, seed) in [(&big, "12", "5"), (&other, "6", "6")] {
        bin()
            .args(["gen-fleet", "--things", things, "--seed", seed, "--output"])
            .arg(path)
            .assert()
            .success();
    }
    bin()
        .args([
            "sync",
            "--source",
            &loc(&big),
            "--target",
            "aws:us-east-2",
            "--rewrite-arns",
        ])
        .assert()
        .success();
    // moto 5.2's DeleteCertificate fails (HTTP 500, AttributeError) while any policy is
    // attached to a thing group in the region; AWS has no such limit. The second fleet
    // therefore has no group policies: the sync detaches them (stage 6) before it
    // deletes certificates (stage 12).
    let text = std::fs::read_to_string(&other).unwrap();
    let stripped: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["kind"] == "thingGroup" {
                v.as_object_mut().unwrap().remove("policies");
            }
            v.to_string()
        })
        .collect();
    std::fs::write(&other, stripped.join("\n") + "\n").unwrap();
    // Another fleet with --prune: things, certificates (deactivated, detached, deleted),
    // groups (children first) and policy versions of the first one go.
    let out = bin()
        .args([
            "sync",
            "--prune",
            "--max-delete",
            "100%",
            "--max-lines",
            "0",
            "--source",
            &loc(&other),
        ])
        .args(["--target", "aws:us-east-2", "--rewrite-arns"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed, 0 skipped"))
        .get_output()
        .clone();
    let plan = String::from_utf8(out.stdout).unwrap();
    for expected in ["delete thing sensor-", "delete certificate", "detach cert/"] {
        assert!(
            plan.contains(expected),
            "{expected:?} not in the plan:\n{plan}"
        );
    }
    bin()
        .args([
            "verify",
            "--prune",
            "--source",
            &loc(&other),
            "--target",
            "aws:us-east-2",
        ])
        .args(["--rewrite-arns"])
        .assert()
        .code(0);
}

/// Runs a boto3 snippet against moto in `region` (boto3 comes with moto).
fn boto3(region: &str, code: &str) {
    let script = format!(
        "import boto3\niot = boto3.client('iot', region_name='{region}', endpoint_url='{}', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n",
        moto_endpoint()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "boto3: {code}");
}

/// AWS IoT treats an attribute updated to "" as removed: iot-crr takes an empty value
/// and an absent attribute as one state, so a registry holding empty values converges
/// in one sync and verifies equal.
#[test]
fn a_registry_with_empty_attribute_values_converges_in_one_sync() {
    let _server = reset();
    // The source has a thing with an empty-valued attribute (as AWS may hold one made
    // by CreateThing); the target has the same thing with a value there.
    boto3(
        "ap-south-1",
        "iot.create_thing(thingName='t1', attributePayload={'attributes': {'serial': '', 'model': 'x'}})\n\
         iot.create_thing(thingName='t2', attributePayload={'attributes': {'serial': ''}})",
    );
    boto3(
        "ap-southeast-2",
        "iot.create_thing(thingName='t1', attributePayload={'attributes': {'serial': 'old', 'model': 'x'}})",
    );
    let sync = || {
        bin()
            .args([
                "sync",
                "--source",
                "aws:ap-south-1",
                "--target",
                "aws:ap-southeast-2",
            ])
            .assert()
    };
    sync()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    bin()
        .args([
            "verify",
            "--source",
            "aws:ap-south-1",
            "--target",
            "aws:ap-southeast-2",
        ])
        .assert()
        .code(0);
    sync()
        .success()
        .stdout(predicate::str::contains("No changes").or(predicate::str::contains("no changes")));
    // What the target holds: no "serial" on t1 any more, "model" kept.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("target.jsonl");
    bin()
        .args(["snapshot", "--source", "aws:ap-southeast-2", "--output"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let t1 = text.lines().find(|l| l.contains("\"t1\"")).unwrap();
    assert!(!t1.contains("serial\":\"old"), "{t1}");
    assert!(t1.contains("\"model\":\"x\""), "{t1}");
}

/// A keyed reconcile through the real SDK: only the named things (and what they need)
/// are read and replicated, without listing either registry; the result verifies equal
/// for those keys, and a full verify then lists only what was left out.
#[test]
fn a_keyed_sync_between_regions_reads_and_writes_only_what_its_keys_need() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.jsonl");
    bin()
        .args(["gen-fleet", "--things", "20", "--seed", "5", "--output"])
        .arg(&fleet)
        .assert()
        .success();
    bin()
        .args([
            "sync",
            "--source",
            &loc(&fleet),
            "--target",
            "aws:us-west-1",
        ])
        .args(["--rewrite-arns", "--max-lines", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    let snap = iot_crr_model::format::read_file(&fleet).unwrap();
    let things: Vec<String> = snap.things.keys().take(2).map(|t| t.to_string()).collect();
    let keys: Vec<String> = things
        .iter()
        .flat_map(|t| ["--key".to_string(), format!("thing/{t}")])
        .collect();
    let out = bin()
        .args([
            "sync",
            "--source",
            "aws:us-west-1",
            "--target",
            "aws:ca-central-1",
        ])
        .args(["--rewrite-arns", "--stats", "--max-lines", "0"])
        .args(&keys)
        .assert()
        .success()
        .stderr(predicate::str::contains("keyed comparison"))
        .stderr(predicate::str::contains("0 failed"))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // No whole-registry listing on either side.
    for list in [
        "ListThings ",
        "ListCertificates ",
        "ListThingGroups ",
        "ListPolicies ",
    ] {
        assert!(!stderr.contains(list), "{list} in:\n{stderr}");
    }
    bin()
        .args([
            "verify",
            "--source",
            "aws:us-west-1",
            "--target",
            "aws:ca-central-1",
        ])
        .args(["--rewrite-arns"])
        .args(&keys)
        .assert()
        .code(0);
    // The target has those two things and nothing of the other eighteen.
    let target = dir.path().join("target.jsonl");
    bin()
        .args(["snapshot", "--source", "aws:ca-central-1", "--output"])
        .arg(&target)
        .assert()
        .success();
    let got = iot_crr_model::format::read_file(&target).unwrap();
    let names: Vec<String> = got.things.keys().map(|t| t.to_string()).collect();
    assert_eq!(names, things);
}

/// A plan saved between two regions carries the PEMs of the certificates it registers
/// (read after the comparison, which reads none) and applies later. `--quotas live`
/// reads each region's quotas from Service Quotas; moto does not serve IoT's, so each
/// side says it keeps the defaults, and why.
#[test]
fn a_saved_plan_between_regions_carries_its_pems_and_live_quotas_fall_back() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    load_fleet(dir.path(), "12", "5", "us-west-2");

    let plan = dir.path().join("plan.json");
    let out = bin()
        .args([
            "plan",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
            "--rewrite-arns",
            "--quotas",
            "live",
            "--stats",
            "--output",
        ])
        .arg(&plan)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for region in ["us-west-2", "eu-central-1"] {
        assert!(
            stderr.contains(&format!("quotas of aws:{region}: the defaults (")),
            "{stderr}"
        );
    }
    // One DescribeCertificate per certificate to register, after a comparison that
    // read none.
    let describe = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("DescribeCertificate"))
        .unwrap_or_else(|| panic!("no DescribeCertificate in the stats: {stderr}"));
    assert!(
        describe.split_whitespace().nth(1) == Some("12"),
        "{describe}"
    );
    let text = std::fs::read_to_string(&plan).unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 12);

    bin()
        .args(["apply"])
        .arg(&plan)
        .args(["--target", "aws:eu-central-1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    bin()
        .args([
            "verify",
            "--source",
            "aws:us-west-2",
            "--target",
            "aws:eu-central-1",
            "--rewrite-arns",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("equal:"));
}
