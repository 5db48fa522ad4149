//! Syncs through faults, end to end: the binary syncs a generated fleet of more than
//! 500 resources into a moto region through `scripts/fault_proxy.py`, which throttles
//! writes above 20 a second per method and path segment (so several APIs share one
//! limit the tool does not know, as AWS quotas are unknown to it), answers 5 % of the
//! requests with a server error (half of them after the write was applied), drops 1 %
//! of the connections (half after applying) and adds latency, from a fixed seed. The
//! sync must converge in one run: no change failed, and `verify` straight against moto
//! finds the region equal to the fleet. The retries per API (the `--stats` table) and
//! the proxy's counts are printed. A second test syncs one moto region into another
//! through the same faults, the things written page by page as they are read.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};

use assert_cmd::Command;
use iot_crr_testkit::{command_at, moto_endpoint};

fn bin(endpoint: &str) -> Command {
    Command::from_std(command_at(
        assert_cmd::cargo::cargo_bin("iot-crr"),
        endpoint,
    ))
}

/// The fault proxy, stopped (SIGTERM, so it writes its counts) when dropped.
struct Proxy {
    child: Child,
    url: String,
}

impl Proxy {
    fn start(stats: &std::path::Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/fault_proxy.py");
        let mut child = Process::new("python3")
            .arg(script)
            .args(["--upstream", &moto_endpoint(), "--seed", "20261126"])
            .args([
                "--write-rate",
                "20",
                "--error-rate",
                "0.05",
                "--drop-rate",
                "0.01",
            ])
            .args(["--latency-ms", "0-10", "--stats-file"])
            .arg(stats)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs scripts/fault_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line of the proxy: {line:?}"))
            .to_string();
        Proxy { child, url }
    }

    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Process::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The tests run one at a time: sharing the moto server, each would slow the other's
/// calls below the rate at which the proxy throttles, and the first test checks that
/// its run met throttling.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `dir/fleet.jsonl`: a generated fleet (a certificate per thing).
fn gen_fleet(dir: &std::path::Path, things: &str, seed: &str) -> std::path::PathBuf {
    let fleet = dir.join("fleet.jsonl");
    bin(&moto_endpoint())
        .args(["gen-fleet", "--things", things, "--seed", seed, "--output"])
        .arg(&fleet)
        .assert()
        .success();
    fleet
}

/// `iot-crr verify --rewrite-arns` straight against moto says the two are equal;
/// answers its report.
fn assert_equal(source: &str, target: &str) -> String {
    let verify = bin(&moto_endpoint())
        .args([
            "verify",
            "--source",
            source,
            "--target",
            target,
            "--rewrite-arns",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(
        verify.status.success() && report.starts_with("equal:"),
        "{report}\n{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    report
}

/// Runs `iot-crr sync ARGS --rewrite-arns --stats` through a fresh fault proxy, prints
/// what it said and the proxy's counts, and checks that it succeeded with nothing
/// failed. Answers its standard error and the proxy's totals.
fn sync_through_proxy(dir: &std::path::Path, args: &[&str]) -> (String, serde_json::Value) {
    let stats = dir.join("proxy-stats.json");
    let mut proxy = Proxy::start(&stats);
    let out = bin(&proxy.url)
        .arg("sync")
        .args(args)
        .args(["--rewrite-arns", "--stats"])
        .timeout(std::time::Duration::from_secs(900))
        .output()
        .unwrap();
    proxy.stop();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stderr}");
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).expect("the proxy wrote its counts"))
            .unwrap();
    let totals = counts["totals"].clone();
    eprintln!(
        "fault proxy: {}",
        serde_json::to_string_pretty(&totals).unwrap()
    );
    assert!(
        out.status.success(),
        "the sync failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stderr.contains(" 0 failed, 0 skipped"), "{stderr}");
    (stderr, totals)
}

#[test]
fn a_sync_through_throttling_errors_and_dropped_connections_converges_in_one_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fleet = gen_fleet(dir.path(), "240", "5");
    let source = format!("file:{}", fleet.display());
    // A region of its own: nothing else writes there.
    let target = "ca-central-1";

    let (stderr, totals) = sync_through_proxy(
        dir.path(),
        &["--source", &source, "--target", &format!("aws:{target}")],
    );
    // The floor the plan implies at the quotas was printed before applying.
    assert!(
        stderr.contains("at the quotas this takes at least"),
        "{stderr}"
    );

    // The proxy did its work: the run met every kind of fault.
    let n = |k: &str| totals[k].as_u64().unwrap_or(0);
    assert!(n("throttled") > 0, "{totals}");
    assert!(n("errors_before") + n("errors_after") > 0, "{totals}");
    assert!(n("dropped_before") + n("dropped_after") > 0, "{totals}");
    assert!(n("requests") > 1000, "{totals}");

    // Straight against moto: the region equals the fleet, more than 500 resources.
    let report = assert_equal(&source, &format!("aws:{target}"));
    let compared: u64 = report
        .split('(')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(compared >= 500, "{report}");
}

/// Region to region through the same faults: the source's things (a certificate each,
/// so their principals are read per thing) are handed over a page at a time as they
/// are read, through throttling, server errors and dropped connections on both sides,
/// and the overlapped sync still converges in one run.
#[test]
fn a_region_to_region_sync_written_page_by_page_through_faults_converges_in_one_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fleet = gen_fleet(dir.path(), "300", "8");
    // Regions of their own; the source loaded straight into moto, quotas lifted.
    let (source, target) = ("me-south-1", "ap-northeast-1");
    bin(&moto_endpoint())
        .args(["sync", "--source", &format!("file:{}", fleet.display())])
        .args(["--target", &format!("aws:{source}"), "--rewrite-arns"])
        .args(["--quota", "*=1000"])
        .assert()
        .success();

    let (stderr, totals) = sync_through_proxy(
        dir.path(),
        &[
            "--source",
            &format!("aws:{source}"),
            "--target",
            &format!("aws:{target}"),
        ],
    );
    assert!(
        stderr.contains("and the things as they are read"),
        "{stderr}"
    );
    let n = |k: &str| totals[k].as_u64().unwrap_or(0);
    assert!(n("errors_before") + n("errors_after") > 0, "{totals}");
    assert!(n("dropped_before") + n("dropped_after") > 0, "{totals}");

    // Straight against moto: the two regions are equal.
    assert_equal(&format!("aws:{source}"), &format!("aws:{target}"));
}
