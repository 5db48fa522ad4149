//! Readiness benchmark: judge every device of a million-device source against a
//! standby, from two snapshot files, as `iot-crr readiness --source file:A --target
//! file:B` does.
//!
//! ```text
//! cargo bench -p iot-crr-readiness --bench readiness_million            # 1,000,000 things
//! cargo bench -p iot-crr-readiness --bench readiness_million -- 100000  # another size
//! ```
//!
//! Setup (not timed): a generated fleet of N things with a certificate each (the
//! source, its ARNs in us-east-1), the same fleet generated for eu-west-1 (what `sync
//! --rewrite-arns` writes: the healthy standby), and a damaged copy of it (1% of the
//! certificates INACTIVE, a `Deny iot:Connect` policy attached to one top-level group,
//! the ARNs of one policy left unrewritten), written as snapshot files. With
//! `IOT_CRR_BENCH_DIR` the files are kept there and reused.
//!
//! Timed, each in a fresh process (the bench re-executes itself with `--timed-child`)
//! so that the setup's memory does not count: read both files without PEMs (on two
//! threads, as the file registry reads them), prepare the assessor (every policy
//! parsed once), judge every device in parallel, count. Each run prints the phases, the
//! counts and the peak resident memory (`VmHWM`); the target is 10 s and 2 GiB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{CertificateStatus, Filter, Snapshot, format};
use iot_crr_readiness::{Assessor, Place};

const TARGET_SECS: f64 = 10.0;
const TARGET_PEAK_GIB: f64 = 2.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--timed-child") {
        timed_child(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
        return;
    }
    let things = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.replace('_', "").parse::<usize>().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("IOT_CRR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!("readiness_million: {things} things, {runs} timed run(s) per standby");
    println!(
        "machine: {} cpus",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let keep = std::env::var_os("IOT_CRR_BENCH_DIR").map(PathBuf::from);
    let tmp;
    let dir = match &keep {
        Some(d) => {
            std::fs::create_dir_all(d).expect("bench dir");
            d.as_path()
        }
        None => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path()
        }
    };
    let source = dir.join(format!("readiness-source-{things}.jsonl"));
    let healthy = dir.join(format!("readiness-standby-{things}.jsonl"));
    let damaged = dir.join(format!("readiness-damaged-{things}.jsonl"));
    let exists = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    if keep.is_some() && exists(&source) && exists(&healthy) && exists(&damaged) {
        println!("setup: reusing the files in {}", dir.display());
    } else {
        setup(things, &source, &healthy, &damaged);
    }
    let exe = std::env::current_exe().expect("own path");
    for (label, standby) in [("healthy standby", &healthy), ("damaged standby", &damaged)] {
        let mut totals = Vec::new();
        let mut peaks = Vec::new();
        for run in 1..=runs {
            let out = Command::new(&exe)
                .arg("--timed-child")
                .arg(&source)
                .arg(standby)
                .output()
                .expect("re-run the bench binary");
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                println!(
                    "{label}, run {run} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::process::exit(1);
            }
            let get = |k: &str| -> f64 {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            let (read, prepare, assess) = (get("read_s"), get("prepare_s"), get("assess_s"));
            let peak = get("peak_kib") / (1024.0 * 1024.0);
            println!(
                "{label}, run {run}: read {read:.2} s + prepare {prepare:.3} s + assess {assess:.2} s = {:.2} s; {} devices, {} ready, {} not ready, {} refused by the source; peak {peak:.2} GiB",
                read + prepare + assess,
                get("devices"),
                get("ready"),
                get("not_ready"),
                get("in_source"),
            );
            totals.push(read + prepare + assess);
            peaks.push(peak);
        }
        totals.sort_by(f64::total_cmp);
        peaks.sort_by(f64::total_cmp);
        let (t, p) = (totals[totals.len() / 2], peaks[peaks.len() / 2]);
        println!(
            "{label}: median {t:.2} s (target {TARGET_SECS} s: {}), peak {p:.2} GiB (target {TARGET_PEAK_GIB} GiB: {})",
            if t <= TARGET_SECS { "met" } else { "NOT met" },
            if p <= TARGET_PEAK_GIB {
                "met"
            } else {
                "NOT met"
            },
        );
    }
}

/// The source, its healthy standby and a damaged standby.
fn setup(things: usize, source: &Path, healthy: &Path, damaged: &Path) {
    let t = Instant::now();
    let spec = |region: &str| FleetSpec {
        things,
        seed: 42,
        region: region.into(),
        ..FleetSpec::default()
    };
    let (s, h) = rayon::join(
        || generate(&spec("us-east-1")),
        || generate(&spec("eu-west-1")),
    );
    println!(
        "setup: generated the source and its standby ({} things, {} certificates each) in {:.1} s",
        s.things.len(),
        s.certificates.len(),
        t.elapsed().as_secs_f64()
    );
    let d = damage(&s, &h);
    let t = Instant::now();
    format::write_file(&s, source).expect("write the source");
    format::write_file(&h, healthy).expect("write the standby");
    format::write_file(&d, damaged).expect("write the damaged standby");
    println!(
        "setup: wrote the three files in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// 1% of the certificates INACTIVE, a Deny of every connection on the first root
/// group, one policy with the source's ARNs.
fn damage(source: &Snapshot, standby: &Snapshot) -> Snapshot {
    let mut d = standby.clone();
    for (i, c) in d.certificates.values_mut().enumerate() {
        if i % 100 == 7 {
            c.status = CertificateStatus::Inactive;
        }
    }
    let deny = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "iot:Connect", "Resource": "arn:aws:iot:eu-west-1:123456789012:client/*"
    }]})
    .to_string();
    d.policies.insert(
        "standby-lockout".into(),
        iot_crr_model::Policy {
            policy_name: "standby-lockout".into(),
            default_version_id: "1".into(),
            versions: vec![iot_crr_model::PolicyVersion {
                version_id: "1".into(),
                policy_document: deny,
            }],
            tags: Default::default(),
        },
    );
    if let Some(g) = d
        .thing_groups
        .values_mut()
        .find(|g| g.parent_group_name.is_none() && !g.is_dynamic())
    {
        g.policies.insert("standby-lockout");
    }
    if let Some((name, p)) = source.policies.iter().next() {
        d.policies.insert(name.clone(), p.clone());
    }
    d
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The timed part: prints `key=value` lines for the parent.
fn timed_child(source: &Path, standby: &Path) {
    let start = Instant::now();
    let (s, t) = std::thread::scope(|sc| {
        let a = sc.spawn(|| format::read_file_without_pems(source).expect("source").0);
        let b = sc.spawn(|| format::read_file_without_pems(standby).expect("standby").0);
        (
            a.join().expect("read source"),
            b.join().expect("read standby"),
        )
    });
    println!("read_s={}", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let assessor = Assessor::new(
        &s,
        Place::new("us-east-1", "123456789012"),
        &t,
        Place::new("eu-west-1", "123456789012"),
    );
    println!("prepare_s={}", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let a = assessor.assess(&Filter::default());
    let sum = a.summary();
    println!("assess_s={}", start.elapsed().as_secs_f64());
    println!("devices={}", sum.devices);
    println!("ready={}", sum.ready);
    println!("not_ready={}", sum.not_ready + sum.cannot_decide);
    println!("in_source={}", sum.not_ready_in_source);
    println!("peak_kib={}", vm_hwm_kib());
}
