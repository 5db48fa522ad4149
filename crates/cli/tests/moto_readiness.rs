//! `iot-crr readiness` end to end through the binary against moto: a source region with
//! policies that use thing and certificate variables, group policies inherited through
//! a hierarchy and an attribute in a topic; synced with `--rewrite-arns` every device is
//! ready (exit 0); synced without it no device is; after six kinds of damage in the
//! standby exactly the damaged devices are reported, each with its reason. And
//! `--cross-check` against moto, which lacks `TestAuthorization`, says so.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use std::collections::BTreeMap;

use assert_cmd::Command;
use aws_sdk_iot::Client;
use aws_sdk_iot::types::{AttributePayload, ThingGroupProperties};
use iot_crr_testkit::{command_at, moto_endpoint, moto_sdk_config};

const SOURCE: &str = "us-west-1";
const STANDBY: &str = "eu-north-1";
const UNREWRITTEN: &str = "ap-south-1";
const DEVICES: usize = 8;

fn bin() -> Command {
    Command::from_std(command_at(
        assert_cmd::cargo::cargo_bin("iot-crr"),
        &moto_endpoint(),
    ))
}

fn reset() {
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
}

fn policy_doc(statements: serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn arn(tail: &str) -> String {
    format!("arn:aws:iot:{SOURCE}:123456789012:{tail}")
}

/// The source fleet: `fleet` > `site-a` > `line-1` (devices 0 to 3) and `fleet` >
/// `site-b` (devices 4 to 7); `connect` on each certificate, `telemetry` on the root
/// (inherited), `site` on each site (its topic reads the `site` attribute), and a
/// statement that reads the certificate's common name. Returns the certificate id of
/// each device.
async fn build_source(c: &Client) -> Vec<String> {
    let thing = "${iot:Connection.Thing.ThingName}";
    let docs = [
        (
            "connect",
            policy_doc(serde_json::json!([
                {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn(&format!("client/{thing}"))},
                {"Effect": "Allow", "Action": "iot:Publish",
                 "Resource": arn("topic/certs/${iot:Certificate.Subject.CommonName}/hello")},
            ])),
        ),
        (
            "telemetry",
            policy_doc(serde_json::json!([
                {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
                 "Resource": [arn(&format!("topic/dt/{thing}/telemetry")), arn(&format!("topic/$aws/things/{thing}/shadow/*"))]},
                {"Effect": "Allow", "Action": "iot:Subscribe",
                 "Resource": arn(&format!("topicfilter/$aws/things/{thing}/shadow/*"))},
            ])),
        ),
        (
            "site",
            policy_doc(serde_json::json!([
                {"Effect": "Allow", "Action": "iot:Publish",
                 "Resource": arn("topic/site/${iot:Connection.Thing.Attributes[site]}/status"),
                 "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
            ])),
        ),
    ];
    for (name, d) in &docs {
        c.create_policy()
            .policy_name(*name)
            .policy_document(d)
            .send()
            .await
            .unwrap();
    }
    for (g, parent) in [
        ("fleet", None),
        ("site-a", Some("fleet")),
        ("line-1", Some("site-a")),
        ("site-b", Some("fleet")),
    ] {
        let mut req = c
            .create_thing_group()
            .thing_group_name(g)
            .thing_group_properties(ThingGroupProperties::builder().build());
        if let Some(p) = parent {
            req = req.parent_group_name(p);
        }
        let out = req.send().await.unwrap();
        let garn = out.thing_group_arn().unwrap().to_string();
        let policy = match g {
            "fleet" => Some("telemetry"),
            "site-a" | "site-b" => Some("site"),
            _ => None,
        };
        if let Some(p) = policy {
            c.attach_policy()
                .policy_name(p)
                .target(garn)
                .send()
                .await
                .unwrap();
        }
    }
    let mut ids = Vec::new();
    for i in 0..DEVICES {
        let name = format!("dev-{i}");
        let site = if i < 4 { "a" } else { "b" };
        c.create_thing()
            .thing_name(&name)
            .attribute_payload(AttributePayload::builder().attributes("site", site).build())
            .send()
            .await
            .unwrap();
        let group = if i < 4 { "line-1" } else { "site-b" };
        c.add_thing_to_thing_group()
            .thing_name(&name)
            .thing_group_name(group)
            .send()
            .await
            .unwrap();
        let cert = c
            .create_keys_and_certificate()
            .set_as_active(true)
            .send()
            .await
            .unwrap();
        let carn = cert.certificate_arn().unwrap().to_string();
        c.attach_thing_principal()
            .thing_name(&name)
            .principal(&carn)
            .send()
            .await
            .unwrap();
        c.attach_policy()
            .policy_name("connect")
            .target(&carn)
            .send()
            .await
            .unwrap();
        ids.push(cert.certificate_id().unwrap().to_string());
    }
    ids
}

fn sync(target: &str, rewrite: bool) {
    let mut cmd = bin();
    cmd.args(["sync", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{target}"));
    if rewrite {
        cmd.arg("--rewrite-arns");
    }
    cmd.assert().success();
}

/// Runs readiness against `target` as JSON: the exit code, each device's reason codes
/// (ready devices have none) by thing name, and the summary.
fn readiness(target: &str) -> (i32, BTreeMap<String, Vec<String>>, serde_json::Value) {
    let out = bin()
        .args(["readiness", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{target}"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut devices = BTreeMap::new();
    let mut summary = serde_json::Value::Null;
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{stderr}"));
        if let Some(s) = v.get("summary") {
            summary = s.clone();
            continue;
        }
        let codes: Vec<String> = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(v["ready"].as_bool().unwrap(), codes.is_empty(), "{line}");
        devices.insert(v["thing"].as_str().unwrap().to_string(), codes);
    }
    (out.status.code().unwrap(), devices, summary)
}

#[test]
fn readiness_of_a_standby_before_and_after_damage() {
    reset();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let src = Client::new(&moto_sdk_config(SOURCE));
    let ids = rt.block_on(build_source(&src));

    sync(STANDBY, true);
    let (code, devices, summary) = readiness(STANDBY);
    assert_eq!(code, 0, "{devices:#?} {summary}");
    assert_eq!(devices.len(), DEVICES);
    assert!(devices.values().all(Vec::is_empty), "{devices:#?}");
    assert_eq!(summary["ready"], DEVICES);

    // The text output says so too, and that it read the PEMs (a policy reads the
    // certificate's common name).
    let out = bin()
        .args(["readiness", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{STANDBY}"))
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains(&format!("{DEVICES} of {DEVICES} devices ready")),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("certificate PEM"), "{err}");

    // Synced without rewriting ARNs: equal policies, and no device would connect.
    sync(UNREWRITTEN, false);
    let (code, devices, summary) = readiness(UNREWRITTEN);
    assert_eq!(code, 1);
    assert_eq!(summary["ready"], 0, "{summary}");
    for (d, codes) in &devices {
        assert!(
            codes.iter().any(|c| c == "arns-not-rewritten"),
            "{d}: {codes:?}"
        );
    }
    let out = bin()
        .args(["readiness", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{UNREWRITTEN}"))
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains(&format!("0 of {DEVICES} devices ready")),
        "{text}"
    );
    assert!(text.contains("--rewrite-arns"), "{text}");

    // Damage in the standby.
    let dst = Client::new(&moto_sdk_config(STANDBY));
    rt.block_on(async {
        // dev-1: its certificate deactivated.
        dst.update_certificate()
            .certificate_id(&ids[1])
            .new_status(aws_sdk_iot::types::CertificateStatus::Inactive)
            .send()
            .await
            .unwrap();
        let cert_arn = |id: &str| format!("arn:aws:iot:{STANDBY}:123456789012:cert/{id}");
        // dev-2: the connect policy detached from its certificate.
        dst.detach_policy()
            .policy_name("connect")
            .target(cert_arn(&ids[2]))
            .send()
            .await
            .unwrap();
        // dev-3: taken out of its group.
        dst.remove_thing_from_thing_group()
            .thing_name("dev-3")
            .thing_group_name("line-1")
            .send()
            .await
            .unwrap();
        // dev-4: its principal detached.
        dst.detach_thing_principal()
            .thing_name("dev-4")
            .principal(cert_arn(&ids[4]))
            .send()
            .await
            .unwrap();
        // dev-5: its attribute changed.
        dst.update_thing()
            .thing_name("dev-5")
            .attribute_payload(
                AttributePayload::builder()
                    .attributes("site", "z")
                    .merge(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // site-a (dev-0 to dev-3) gets a Deny of every connection only the standby has.
        let deny = policy_doc(serde_json::json!([
            {"Effect": "Deny", "Action": "iot:Connect",
             "Resource": format!("arn:aws:iot:{STANDBY}:123456789012:client/*")}
        ]));
        dst.create_policy()
            .policy_name("lockout")
            .policy_document(deny)
            .send()
            .await
            .unwrap();
        let g = dst
            .describe_thing_group()
            .thing_group_name("site-a")
            .send()
            .await
            .unwrap();
        dst.attach_policy()
            .policy_name("lockout")
            .target(g.thing_group_arn().unwrap())
            .send()
            .await
            .unwrap();
    });
    let (code, devices, _) = readiness(STANDBY);
    assert_eq!(code, 1);
    let has = |d: &str, c: &str| devices[d].iter().any(|x| x == c);
    // dev-0 is under site-a: the Deny locks it out.
    assert!(has("dev-0", "denied"), "{devices:#?}");
    assert!(has("dev-1", "certificate-inactive"), "{devices:#?}");
    assert!(has("dev-2", "policy-not-attached"), "{devices:#?}");
    assert!(has("dev-3", "groups-differ"), "{devices:#?}");
    assert!(has("dev-4", "certificate-not-attached"), "{devices:#?}");
    assert!(has("dev-5", "attribute-differs"), "{devices:#?}");
    // Only the damaged devices: dev-6 and dev-7 (site-b, untouched) are ready.
    assert!(devices["dev-6"].is_empty(), "{devices:#?}");
    assert!(devices["dev-7"].is_empty(), "{devices:#?}");

    // The text output names the fixes: a sync for five devices, detaching the Deny
    // only the standby has for the others (no sync removes it, even with --prune).
    let out = bin()
        .args(["readiness", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{STANDBY}"))
        .arg("--rewrite-arns")
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains(&format!("2 of {DEVICES} devices ready")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "iot-crr sync --source aws:{SOURCE} --target aws:{STANDBY} --rewrite-arns"
        )),
        "{text}"
    );
    assert!(text.contains("aws iot detach-policy"), "{text}");
    assert!(text.contains("thing group site-a"), "{text}");

    // Those fixes make every device ready again.
    bin()
        .args(["sync", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{STANDBY}"))
        .arg("--rewrite-arns")
        .assert()
        .success();
    rt.block_on(async {
        let g = dst
            .describe_thing_group()
            .thing_group_name("site-a")
            .send()
            .await
            .unwrap();
        dst.detach_policy()
            .policy_name("lockout")
            .target(g.thing_group_arn().unwrap())
            .send()
            .await
            .unwrap();
    });
    let (code, devices, _) = readiness(STANDBY);
    assert_eq!(code, 0, "{devices:#?}");

    // The cross-check asks TestAuthorization, which moto lacks: the run says so and
    // still gives its verdicts.
    let out = bin()
        .args(["readiness", "--source"])
        .arg(format!("aws:{SOURCE}"))
        .arg("--target")
        .arg(format!("aws:{STANDBY}"))
        .args(["--cross-check", "2"])
        .assert()
        .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("cross-check with AWS IoT"), "{text}");
    assert!(text.contains("not asked"), "{text}");
}
