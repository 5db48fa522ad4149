//! The event path end to end against moto (IoT and Kinesis in one server, three
//! regions): a source region changed through the SDK, the events AWS would publish for
//! those changes written to a Kinesis stream by `iot-crr forward` (plain and
//! KPL-aggregated, in order and shuffled with duplicates, with poison records), and
//! `iot-crr replicate` applying them to a target region, then `iot-crr verify`. Also a
//! replicator killed with SIGKILL mid-stream and restarted, and a reshard in the middle.
//!
//! moto publishes no registry events: the source's changes go through
//! `EventEmitter`, which records the events AWS IoT would have sent.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use iot_crr_aws::{AwsOptions, AwsRegistry, CertStrategy};
use iot_crr_engine::ApplyOptions;
use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_kinesis::aws_sdk_kinesis::Client as KinesisClient;
use iot_crr_kinesis::aws_sdk_kinesis::primitives::Blob;
use iot_crr_model::{Change, Kind, ResourceKey};
use iot_crr_reconcile::{Progress, ReconcileOptions, sync};
use iot_crr_registry::{MemoryRegistry, Registry};
use iot_crr_replicator::emit::EventEmitter;
use iot_crr_testkit::{command_at, moto_endpoint, moto_sdk_config};
use predicates::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;

const SOURCE: &str = "us-east-1";

fn bin() -> Command {
    Command::from_std(command_at(
        assert_cmd::cargo::cargo_bin("iot-crr"),
        &moto_endpoint(),
    ))
}

fn registry(region: &str) -> AwsRegistry {
    let mut opts = AwsOptions::new(region);
    opts.endpoint_url = Some(moto_endpoint());
    opts.cert_strategy = CertStrategy::WithoutCa;
    AwsRegistry::from_sdk_config(&moto_sdk_config(region), opts)
}

fn kinesis() -> KinesisClient {
    iot_crr_kinesis::client_from_config(&moto_sdk_config(SOURCE), Some(&moto_endpoint()))
}

/// The tests of this file share one moto server and reset it: one at a time.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn reset() -> tokio::sync::MutexGuard<'static, ()> {
    let guard = SERVER.lock().await;
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

async fn create_stream(name: &str, shards: i32) {
    let k = kinesis();
    k.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        let d = k
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if d.stream_description_summary()
            .map(|s| s.stream_status().as_str())
            == Some("ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} did not become active");
}

/// A source region with a generated fleet and then updates, deletes and relation
/// changes, made through the SDK; returns the events AWS would have published, in
/// order.
async fn source_history(things: usize) -> Vec<Vec<u8>> {
    let source = EventEmitter::new(registry(SOURCE));
    let fleet = MemoryRegistry::with_snapshot(generate(&FleetSpec::new(things)));
    let done = sync(
        &fleet,
        &source,
        &ReconcileOptions::default(),
        &ApplyOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_eq!(done.report.unwrap().counts.failed, 0);
    // Later changes: an update, a group left, a thing deleted.
    let snapshot = source.inner().read(&Default::default()).await.unwrap();
    let mut things_of = snapshot.things.values();
    let updated = things_of.next().unwrap().clone();
    let left = things_of.next().unwrap().clone();
    let deleted = things_of.next().unwrap().clone();
    let mut attributes = updated.attributes.clone();
    attributes.insert("firmware", "9.9.9");
    let changes = [
        Change::UpdateThing {
            thing_name: updated.thing_name.clone(),
            thing_type_name: updated.thing_type_name.clone(),
            attributes,
        },
        Change::RemoveThingFromThingGroup {
            thing_name: left.thing_name.clone(),
            thing_group_name: left.thing_groups.iter().next().unwrap().clone(),
        },
    ];
    for c in &changes {
        source.apply(c).await.unwrap();
    }
    for p in &deleted.principals {
        source
            .apply(&Change::DetachThingPrincipal {
                thing_name: deleted.thing_name.clone(),
                principal: p.clone(),
            })
            .await
            .unwrap();
    }
    source
        .apply(&Change::DeleteThing {
            thing_name: deleted.thing_name.clone(),
        })
        .await
        .unwrap();
    assert!(
        source
            .inner()
            .read_resource(&ResourceKey::new(Kind::Thing, deleted.thing_name.clone()))
            .await
            .unwrap()
            .is_none()
    );
    source.take_events()
}

fn write_lines(path: &Path, events: &[Vec<u8>]) {
    let mut text = Vec::new();
    for e in events {
        text.extend_from_slice(e);
        text.push(b'\n');
    }
    std::fs::write(path, text).unwrap();
}

fn forward(events: &Path, stream: &str, aggregate: bool) {
    let mut c = bin();
    c.args([
        "forward",
        "--stream",
        &format!("kinesis:{SOURCE}/{stream}"),
        "--input",
    ])
    .arg(events);
    if aggregate {
        c.arg("--aggregate");
    }
    c.assert()
        .success()
        .stderr(predicate::str::contains("forwarded"));
}

fn state(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("state.db").display())
}

fn replicate_args(stream: &str, target: &str, state: &str) -> Vec<String> {
    [
        "replicate",
        "--stream",
        &format!("kinesis:{SOURCE}/{stream}"),
        "--source",
        &format!("aws:{SOURCE}"),
        "--target",
        &format!("aws:{target}"),
        "--state",
        state,
        "--exit-when-idle",
        "3s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn verify(target: &str) {
    bin()
        .args(["verify", "--source", &format!("aws:{SOURCE}"), "--target"])
        .arg(format!("aws:{target}"))
        .assert()
        .success()
        .stdout(predicate::str::contains("equal"));
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    (d, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_events_through_kinesis_reach_the_target() {
    let _server = reset().await;
    let (_d, dir) = tmp();
    let events = source_history(12).await;
    let file = dir.join("events.jsonl");
    write_lines(&file, &events);
    create_stream("plain", 2).await;
    forward(&file, "plain", false);
    bin()
        .args(replicate_args("plain", "eu-west-1", &state(&dir)))
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "replicated {} record(s)",
            events.len()
        )));
    verify("eu-west-1");
    // The same stream again from its checkpoints: nothing new, nothing written.
    bin()
        .args(replicate_args("plain", "eu-west-1", &state(&dir)))
        .assert()
        .success()
        .stderr(predicate::str::contains("replicated 0 record(s)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_duplicated_aggregated_events_with_poison_converge() {
    let _server = reset().await;
    let (_d, dir) = tmp();
    let events = source_history(10).await;
    let mut mixed = events.clone();
    mixed.extend(events.iter().step_by(3).cloned());
    mixed.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
    let file = dir.join("mixed.jsonl");
    write_lines(&file, &mixed);
    create_stream("mixed", 1).await;
    forward(&file, "mixed", true);
    // Poison: a record that is not an event, and a KPL record with a bad checksum.
    let k = kinesis();
    let agg = iot_crr_kpl::aggregate([("p", None, &b"{}"[..]), ("p", None, &b"{}"[..])], 1 << 20)
        .unwrap();
    let mut bad = agg[0].data.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    for data in [b"this is not json".to_vec(), bad] {
        k.put_record()
            .stream_name("mixed")
            .partition_key("poison")
            .data(Blob::new(data))
            .send()
            .await
            .unwrap();
    }
    bin()
        .args(replicate_args("mixed", "eu-central-1", &state(&dir)))
        .assert()
        .success();
    verify("eu-central-1");
    bin()
        .args(["dead-letters", "list", "--state", &state(&dir)])
        .assert()
        .success()
        .stdout(predicate::str::contains("cannot decode the event"))
        .stdout(predicate::str::contains(
            "cannot de-aggregate the KPL record",
        ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicator_killed_mid_stream_loses_nothing() {
    let _server = reset().await;
    let (_d, dir) = tmp();
    let events = source_history(40).await;
    let file = dir.join("events.jsonl");
    write_lines(&file, &events);
    create_stream("killed", 2).await;
    forward(&file, "killed", false);
    let mut args = replicate_args("killed", "eu-west-1", &state(&dir));
    // Small batches, so that the kill lands between checkpoints.
    args.retain(|a| a != "--exit-when-idle" && a != "3s");
    let mut c = command_at(assert_cmd::cargo::cargo_bin("iot-crr"), &moto_endpoint());
    c.args(&args).env("RUST_LOG", "warn");
    let mut child = c.spawn().unwrap();
    // Let it apply part of the stream, then kill it without a chance to clean up.
    let db = dir.join("state.db");
    let mut waited = 0;
    while waited < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
        if db.exists() && std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) > 0 && waited > 10 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    bin()
        .args(replicate_args("killed", "eu-west-1", &state(&dir)))
        .assert()
        .success();
    verify("eu-west-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshard_in_the_middle_is_followed() {
    let _server = reset().await;
    let (_d, dir) = tmp();
    let events = source_history(10).await;
    let (first, second) = events.split_at(events.len() / 2);
    let (f1, f2) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    write_lines(&f1, first);
    write_lines(&f2, second);
    create_stream("split", 1).await;
    forward(&f1, "split", false);
    // The first half is applied, then the shard is split, then the rest arrives.
    bin()
        .args(replicate_args("split", "eu-west-1", &state(&dir)))
        .assert()
        .success();
    let k = kinesis();
    let shards = k.list_shards().stream_name("split").send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_owned();
    k.split_shard()
        .stream_name("split")
        .shard_to_split(&shard)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    forward(&f2, "split", false);
    bin()
        .args(replicate_args("split", "eu-west-1", &state(&dir)))
        .assert()
        .success();
    verify("eu-west-1");
}

fn scrape(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_json_logs_and_sigterm() {
    let _server = reset().await;
    let (_d, dir) = tmp();
    let events = source_history(8).await;
    let file = dir.join("events.jsonl");
    write_lines(&file, &events);
    create_stream("metered", 1).await;
    forward(&file, "metered", false);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = replicate_args("metered", "eu-west-1", &state(&dir));
    args.retain(|a| a != "--exit-when-idle" && a != "3s");
    args.extend([
        "--metrics-addr".into(),
        addr.clone(),
        "--log-format".into(),
        "json".into(),
    ]);
    let mut c = command_at(assert_cmd::cargo::cargo_bin("iot-crr"), &moto_endpoint());
    c.args(&args).stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    // Every event is received and accounted for (applied, skipped or dead-lettered).
    let n = events.len() as u64;
    let mut text = String::new();
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Some(t) = scrape(&addr) else { continue };
        let m = |name| metric(&t, name).unwrap_or(0);
        let done = m("iot_crr_events_applied_total")
            + m("iot_crr_events_skipped_total")
            + m("iot_crr_events_dead_lettered_total");
        if m("iot_crr_events_received_total") == n && done == n {
            text = t;
            break;
        }
    }
    assert!(
        !text.is_empty(),
        "the metrics never showed every event received"
    );
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let applied = metric(&text, "iot_crr_events_applied_total").unwrap();
    assert!(applied > 0, "{text}");
    assert!(
        text.contains("iot_crr_event_lag_seconds_bucket{le=\"+Inf\"}"),
        "{text}"
    );
    assert!(
        text.contains("iot_crr_api_calls_total{registry=\"target\",operation=\""),
        "{text}"
    );
    // SIGTERM: the batch in hand is finished and checkpointed, exit 0.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("replicated"), "{stderr}");
    // The logs are JSON, one object a line, the batches with their fields.
    let batch_line = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message"] == "batch applied")
        .unwrap_or_else(|| panic!("no JSON batch log in {stderr}"));
    assert!(
        batch_line["shard"].is_string() && batch_line["applied"].is_u64(),
        "{batch_line}"
    );
    verify("eu-west-1");
    // Everything was checkpointed: a new run reads nothing.
    bin()
        .args(replicate_args("metered", "eu-west-1", &state(&dir)))
        .assert()
        .success()
        .stderr(predicate::str::contains("replicated 0 record(s)"));
}
