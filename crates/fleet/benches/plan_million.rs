//! Plan benchmark: read two snapshot files of a million things with their
//! certificates and diff them, as `iot-crr plan` does.
//!
//! ```text
//! cargo bench -p iot-crr-fleet --bench plan_million            # 1,000,000 things
//! cargo bench -p iot-crr-fleet --bench plan_million -- 100000  # another size
//! IOT_CRR_BENCH_CERT_RATIO=0 cargo bench -p iot-crr-fleet --bench plan_million
//! ```
//!
//! Setup (not timed): generate the base fleet (a certificate per thing, as a real
//! fleet has; `IOT_CRR_BENCH_CERT_RATIO` for another share) and a second version with
//! 1% of things changed, 0.5% added (new devices with new certificates) and 0.5%
//! removed, and write both snapshot files to a temporary directory. With
//! `IOT_CRR_BENCH_DIR`, the files are kept there and reused by the next run of the same
//! size and ratio (generating a million certificates takes minutes).
//!
//! Timed, in a fresh process each time so that the setup's memory does not count (the
//! bench binary re-executes itself with `--timed-child`): read both files as `iot-crr
//! plan` reads two snapshot files, side by side (`read_pair_without_pems`: every line
//! checked, what both files hold alike kept once as its line, no PEM kept), then
//! `diff_pair(mutated, base, &DiffOptions::default())`, then read from the mutated file
//! the PEMs of the certificates the plan registers (what `plan --output` saves). Each
//! run reports the wall time of each phase, the plan's change count and the process's
//! peak resident memory (`VmHWM`); the summary gives the median of the runs
//! (`IOT_CRR_BENCH_RUNS`, default 3). `IOT_CRR_BENCH_ONE_BY_ONE=1` reads each file on
//! its own instead (`format::read_file_without_pems`, on two threads, as a file not in
//! the writer's form is read), `IOT_CRR_BENCH_SEQUENTIAL=1` then one after the other;
//! `IOT_CRR_BENCH_KEEP_PEMS=1` reads them one by one with their PEMs, as comparisons
//! did before the PEM index. The target is the whole under 3 s and 1.5 GiB peak.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use iot_crr_fleet::{FleetSpec, generate, mutate};
use iot_crr_model::{
    Change, DiffOptions, Filter, SameLines, Snapshot, diff_pair, format, read_pair_without_pems,
};

const TARGET_SECS: f64 = 3.0;
const TARGET_PEAK_GIB: f64 = 1.5;

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
        .or_else(|| env_usize("IOT_CRR_BENCH_THINGS"))
        .unwrap_or(1_000_000);
    let runs = env_usize("IOT_CRR_BENCH_RUNS").unwrap_or(3).max(1);
    let ratio: f64 = std::env::var("IOT_CRR_BENCH_CERT_RATIO")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);

    println!("plan_million: {things} things, certificate ratio {ratio}, {runs} timed run(s)");
    println!("machine: {} cpus, {}", cpus(), cpu_model());

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
    let base_path = dir.join(format!("base-{things}-{ratio}.jsonl"));
    let next_path = dir.join(format!("mutated-{things}-{ratio}.jsonl"));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    if keep.is_some() && size(&base_path) > 0 && size(&next_path) > 0 {
        println!(
            "setup: reusing {} ({}) and {} ({})",
            base_path.display(),
            mib(size(&base_path)),
            next_path.display(),
            mib(size(&next_path))
        );
    } else {
        setup(things, ratio, &base_path, &next_path);
    }

    // Timed runs, each in a fresh process.
    let exe = std::env::current_exe().expect("own path");
    let mut results = Vec::new();
    for run in 1..=runs {
        let out = Command::new(&exe)
            .arg("--timed-child")
            .arg(&base_path)
            .arg(&next_path)
            .output()
            .expect("re-run the bench binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let r = ChildResult::parse(&stdout);
        match (&r, out.status.success()) {
            (Some(r), true) => {
                println!(
                    "run {run}: read {} + diff {} + {} PEMs {} = {}; {} changes; peak {} (after read {}); drop {}",
                    secs(r.read),
                    secs(r.diff),
                    r.registered,
                    secs(r.pems),
                    secs(r.read + r.diff + r.pems),
                    r.changes,
                    mib(r.peak_kib * 1024),
                    mib(r.read_peak_kib * 1024),
                    secs(r.drop),
                );
                if run == 1 {
                    print!("{}", r.summary);
                }
                results.push(r.clone());
            }
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                println!("run {run} failed ({}):", out.status);
                for line in stdout.lines().chain(stderr.lines()).take(20) {
                    println!("  | {line}");
                }
                std::process::exit(1);
            }
        }
    }

    let median = |f: fn(&ChildResult) -> f64| {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let read = median(|r| r.read.as_secs_f64());
    let dif = median(|r| r.diff.as_secs_f64());
    let pems = median(|r| r.pems.as_secs_f64());
    let total = median(|r| (r.read + r.diff + r.pems).as_secs_f64());
    let peak = median(|r| r.peak_kib as f64) / (1024.0 * 1024.0);
    println!(
        "median of {}: read {read:.3} s, diff {dif:.3} s, PEMs {pems:.3} s, all {total:.3} s (target < {TARGET_SECS} s: {}), peak {peak:.2} GiB (target < {TARGET_PEAK_GIB} GiB: {})",
        results.len(),
        if total < TARGET_SECS {
            "met"
        } else {
            "NOT met"
        },
        if peak < TARGET_PEAK_GIB {
            "met"
        } else {
            "NOT met"
        },
    );
}

/// Generates the base fleet and its mutation and writes both files.
fn setup(things: usize, ratio: f64, base_path: &Path, next_path: &Path) {
    let spec = FleetSpec {
        things,
        seed: 42,
        certificate_ratio: ratio,
        ..FleetSpec::default()
    };
    let (base, t) = timed(|| generate(&spec));
    println!(
        "setup: generate {things} things, {} certificates: {} ({:.0} things/s)",
        base.certificates.len(),
        secs(t),
        things as f64 / t.as_secs_f64()
    );
    let (next, t) = timed(|| mutate(&base, 43, 0.01, 0.005, 0.005));
    println!(
        "setup: mutate (1% changed, 0.5% added, 0.5% removed): {}",
        secs(t)
    );
    let ((), t) = timed(|| {
        write(&base, base_path);
        write(&next, next_path);
    });
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "setup: write both files: {}; base {} ({} resources), mutated {} ({} resources)",
        secs(t),
        mib(size(base_path)),
        base.counts().total(),
        mib(size(next_path)),
        next.counts().total()
    );
}

/// The timed part, in its own process: prints `key=value` lines for the parent.
fn timed_child(base_path: &Path, next_path: &Path) {
    let start = Instant::now();
    let one_by_one = std::env::var_os("IOT_CRR_BENCH_ONE_BY_ONE").is_some()
        || std::env::var_os("IOT_CRR_BENCH_KEEP_PEMS").is_some();
    // (source, its PEM index, target, lines both hold alike)
    let (next, next_pems, base, same) = if !one_by_one {
        // As `iot-crr plan` reads two snapshot files: side by side.
        let p = read_pair_without_pems(next_path, base_path, &Filter::default())
            .expect("generated files are in the writer's form and order");
        (p.source, Some(p.source_pems), p.target, p.same)
    } else {
        let (base, next) = if std::env::var_os("IOT_CRR_BENCH_SEQUENTIAL").is_some() {
            (read(base_path), read(next_path))
        } else {
            std::thread::scope(|s| {
                let b = s.spawn(|| read(base_path));
                let n = s.spawn(|| read(next_path));
                (
                    b.join().expect("read base"),
                    n.join().expect("read mutated"),
                )
            })
        };
        (next.0, next.1, base.0, SameLines::default())
    };
    let read_time = start.elapsed();
    println!("read_ns={}", read_time.as_nanos());
    println!("read_cpu_ms={}", cpu_ms());
    println!("read_peak_kib={}", vm_hwm_kib());
    println!("same={}", same.things() + same.certificates());
    let start = Instant::now();
    let mut plan = diff_pair(&next, &base, &same, &DiffOptions::default());
    let diff_time = start.elapsed();
    println!("diff_ns={}", diff_time.as_nanos());
    println!("diff_cpu_ms={}", cpu_ms());
    // The PEMs of the certificates to register, from the source file (what a saved
    // plan holds).
    let start = Instant::now();
    let mut filled = 0usize;
    for c in &mut plan.changes {
        if let Change::RegisterCertificate {
            certificate_id,
            certificate_pem,
            ..
        } = &mut c.change
        {
            let cert = match &next_pems {
                Some(index) => index
                    .certificate(certificate_id)
                    .unwrap_or_else(|e| panic!("{e}")),
                None => next.certificates.get(certificate_id.as_str()).cloned(),
            }
            .expect("the source file has every certificate it registers");
            *certificate_pem = cert.certificate_pem;
            filled += 1;
        }
    }
    println!("pems_ns={}", start.elapsed().as_nanos());
    println!("pems={filled}");
    println!("changes={}", plan.changes.len());
    println!("peak_kib={}", vm_hwm_kib());
    let mut summary: std::collections::BTreeMap<
        (iot_crr_model::Kind, iot_crr_model::Action),
        usize,
    > = Default::default();
    for c in &plan.changes {
        *summary
            .entry((c.change.key().kind, c.change.action()))
            .or_default() += 1;
    }
    for ((kind, action), n) in summary {
        println!("summary=  {kind} {action:?}: {n}");
    }
    let start = Instant::now();
    drop((plan, base, next, same));
    println!("drop_ns={}", start.elapsed().as_nanos());
}

/// What a timed child reported.
#[derive(Clone)]
struct ChildResult {
    read: Duration,
    diff: Duration,
    pems: Duration,
    drop: Duration,
    changes: usize,
    registered: u64,
    read_peak_kib: u64,
    peak_kib: u64,
    summary: String,
}

impl ChildResult {
    fn parse(out: &str) -> Option<ChildResult> {
        let get = |k: &str| -> Option<u64> {
            out.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
        };
        Some(ChildResult {
            read: Duration::from_nanos(get("read_ns")?),
            diff: Duration::from_nanos(get("diff_ns")?),
            pems: Duration::from_nanos(get("pems_ns")?),
            registered: get("pems")?,
            drop: Duration::from_nanos(get("drop_ns")?),
            changes: usize::try_from(get("changes")?).ok()?,
            read_peak_kib: get("read_peak_kib")?,
            peak_kib: get("peak_kib")?,
            summary: out
                .lines()
                .filter_map(|l| l.strip_prefix("summary="))
                .map(|l| format!("{l}\n"))
                .collect(),
        })
    }
}

/// A file as a comparison reads it; with `IOT_CRR_BENCH_KEEP_PEMS=1`, with every PEM
/// in memory (what comparisons did before, for a before/after on the same day), and
/// the PEMs to register then taken from memory.
fn read(p: &Path) -> (Snapshot, Option<format::PemIndex>) {
    if std::env::var_os("IOT_CRR_BENCH_KEEP_PEMS").is_some() {
        return (format::read_file(p).unwrap_or_else(|e| panic!("{e}")), None);
    }
    let (s, i) = format::read_file_without_pems(p).unwrap_or_else(|e| panic!("{e}"));
    (s, Some(i))
}

fn write(s: &Snapshot, p: &Path) {
    format::write_file(s, p).unwrap_or_else(|e| panic!("{e}"));
}

/// CPU time (user and system, all threads) of this process so far, in milliseconds.
fn cpu_ms() -> u64 {
    // Fields 14 and 15 of /proc/self/stat, after the parenthesised command name.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<i64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // After the state letter (not a number): utime is the 11th number, stime the 12th.
    match (fields.get(10), fields.get(11)) {
        (Some(u), Some(s)) => u64::try_from(u + s).unwrap_or(0) * 1000 / 100,
        _ => 0,
    }
}

/// Peak resident set size of this process so far, in KiB.
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

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let v = f();
    (v, start.elapsed())
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.replace('_', "").parse().ok()
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
