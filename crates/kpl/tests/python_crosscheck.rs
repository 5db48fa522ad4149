//! Cross-check against the reference Python package `aws-kinesis-agg` (awslabs
//! kinesis-aggregation), through `tests/agg_helper.py`: their aggregated records decode with
//! ours to the same user records, and ours decode with theirs.
//!
//! The package is installed with pip when missing. The test is skipped (with a message) only
//! when python3 is absent or pip cannot install the package; set
//! `IOT_CRR_REQUIRE_PYTHON_CROSSCHECK=1` to make that a failure instead.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use iot_crr_kpl::{Aggregator, KinesisRecord, aggregate, deaggregate};

type Input = (String, Option<String>, Vec<u8>);

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/agg_helper.py")
}

fn skip_or_fail(why: &str) -> bool {
    if std::env::var_os("IOT_CRR_REQUIRE_PYTHON_CROSSCHECK").is_some_and(|v| v == "1") {
        panic!("Python cross-check required but unavailable: {why}");
    }
    eprintln!("SKIPPED: Python cross-check with aws-kinesis-agg: {why}");
    false
}

/// Whether `aws_kinesis_agg` can be imported, installing it with pip if needed.
fn python_ready() -> bool {
    let import = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    match import("import aws_kinesis_agg.aggregator, aws_kinesis_agg.deaggregator") {
        Err(e) => return skip_or_fail(&format!("python3 cannot be run: {e}")),
        Ok(s) if s.success() => return true,
        Ok(_) => {}
    }
    eprintln!("installing aws-kinesis-agg with pip");
    let pip = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "aws-kinesis-agg",
        ])
        .output();
    match pip {
        Err(e) => skip_or_fail(&format!("pip cannot be run: {e}")),
        Ok(o) if !o.status.success() => skip_or_fail(&format!(
            "pip could not install aws-kinesis-agg (no registry access?): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => match import("import aws_kinesis_agg.aggregator, aws_kinesis_agg.deaggregator") {
            Ok(s) if s.success() => true,
            _ => panic!("aws-kinesis-agg installed but cannot be imported"),
        },
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from helper"))
        .collect()
}

fn key(s: &str) -> Option<String> {
    (s != "-").then(|| String::from_utf8(unhex(s)).expect("UTF-8 key"))
}

fn run_helper(args: &[&str], input: String) -> Vec<Vec<String>> {
    let mut child = Command::new("python3")
        .arg(helper())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "agg_helper.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Deterministic user records: `distinct_pks` partition keys (some non-ASCII), data of
/// 0..max_data bytes, an explicit hash key on every `ehk_every`-th record (0: none).
fn inputs(n: usize, distinct_pks: u64, max_data: u64, ehk_every: usize, seed: u64) -> Vec<Input> {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    (0..n)
        .map(|i| {
            let p = next() % distinct_pks;
            let pk = if p.is_multiple_of(4) {
                format!("thing-é{p}")
            } else {
                format!("thing-{p}")
            };
            let ehk = (ehk_every > 0 && i % ehk_every == 0)
                .then(|| (u128::from(next()) * 0x1_0000_0001).to_string());
            let len = (next() % max_data) as usize;
            let data = (0..len).map(|_| next() as u8).collect();
            (pk, ehk, data)
        })
        .collect()
}

fn ours_to_theirs(records: &[KinesisRecord]) -> Vec<Input> {
    let input: String = records
        .iter()
        .map(|r| format!("{}\t{}\n", hex(r.partition_key.as_bytes()), hex(&r.data)))
        .collect();
    let lines = run_helper(&["deaggregate"], input);
    let mut last = (usize::MAX, 0u64);
    lines
        .into_iter()
        .map(|f| {
            let record: usize = f[0].parse().unwrap();
            let sub: u64 = f[1].parse().unwrap();
            if record == last.0 {
                assert_eq!(sub, last.1 + 1, "sub-sequence numbers in order");
            }
            last = (record, sub);
            let ehk = if f[5] == "1" {
                key(&f[3])
            } else {
                // Plain record: its explicit hash key travels outside the data.
                records[record].explicit_hash_key.clone()
            };
            (key(&f[2]).unwrap(), ehk, unhex(&f[4]))
        })
        .collect()
}

#[test]
fn theirs_decode_with_ours() {
    if !python_ready() {
        return;
    }
    for (n, pks, max_data, ehk_every, max_size, seed) in [
        (2000, 50, 2000, 3, "100000", 1),
        (500, 1, 64, 0, "", 2),
        (300, 300, 5000, 1, "20000", 3),
        (1, 1, 10, 0, "", 4),
    ] {
        let want = inputs(n, pks, max_data, ehk_every, seed);
        let input: String = want
            .iter()
            .map(|(pk, ehk, data)| {
                format!(
                    "{}\t{}\t{}\n",
                    hex(pk.as_bytes()),
                    ehk.as_deref().map_or("-".into(), |k| hex(k.as_bytes())),
                    hex(data)
                )
            })
            .collect();
        let args: Vec<&str> = if max_size.is_empty() {
            vec!["aggregate"]
        } else {
            vec!["aggregate", max_size]
        };
        let theirs = run_helper(&args, input);
        assert!(!theirs.is_empty());
        let mut got = Vec::new();
        for f in &theirs {
            let pk = key(&f[0]).unwrap();
            let users = deaggregate(&unhex(&f[2]), &pk).expect("their record decodes with ours");
            assert_eq!(
                users[0].partition_key, pk,
                "their record key is its first user record's"
            );
            for (i, u) in users.into_iter().enumerate() {
                assert!(u.aggregated);
                assert_eq!(u.sub_sequence_number, i as u64);
                got.push((u.partition_key, u.explicit_hash_key, u.data));
            }
        }
        assert_eq!(
            got,
            want,
            "case n={n} seed={seed}: {} records of theirs",
            theirs.len()
        );
    }
}

#[test]
fn ours_decode_with_theirs() {
    if !python_ready() {
        return;
    }
    // Explicit hash keys on all or none of the records: their deaggregator gives a record
    // without an explicit hash key index the table's first key when the table is not empty.
    for (n, pks, max_data, ehk_every, max_size, seed) in [
        (2000, 50, 2000, 0, 100_000, 11),
        (1500, 20, 3000, 1, 60_000, 12),
        (
            400,
            400,
            10_000,
            0,
            iot_crr_kpl::DEFAULT_MAX_RECORD_SIZE,
            13,
        ),
    ] {
        let want = inputs(n, pks, max_data, ehk_every, seed);
        let mut agg = Aggregator::with_max_size(max_size).unwrap();
        let mut ours = Vec::new();
        for (pk, ehk, data) in &want {
            ours.extend(agg.add(pk, ehk.as_deref(), data).unwrap());
        }
        ours.extend(agg.finish());
        assert!(ours.len() > 1 || n == 400);
        assert_eq!(ours_to_theirs(&ours), want, "case seed={seed}");
    }
    // A lone record goes plain and passes through theirs unchanged; with company, aggregated.
    for n in [1, 2] {
        let want = inputs(n, 3, 100, 1, 21);
        let ours = aggregate(
            want.iter()
                .map(|(p, e, d)| (p.as_str(), e.as_deref(), d.as_slice())),
            iot_crr_kpl::DEFAULT_MAX_RECORD_SIZE,
        )
        .unwrap();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours_to_theirs(&ours), want);
    }
}
