//! Decodes 1,000,000 mixed events (every fixture in turn) on one core and prints the
//! rate, then the rates of registry events and CloudTrail events alone, and of the
//! bare JSON parse of the same bytes (the floor `decode` is built on). No timed
//! assertion: run with `cargo bench -p iot-crr-events --bench decode`.

use std::hint::black_box;
use std::time::Instant;

const TOTAL: usize = 1_000_000;

fn run(label: &str, events: &[Vec<u8>], f: impl Fn(&[u8]) -> usize) {
    let bytes: usize = (0..TOTAL).map(|i| events[i % events.len()].len()).sum();
    let start = Instant::now();
    let mut keys = 0usize;
    for i in 0..TOTAL {
        keys += f(black_box(&events[i % events.len()]));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{label:<28} {TOTAL} events ({} kinds, {keys} keys, {:.0} MB) in {secs:.2} s: {:.0} events/s, {:.1} MB/s",
        events.len(),
        bytes as f64 / 1e6,
        TOTAL as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    // Compact JSON, as the forwarder writes one event per record.
    let events: Vec<(bool, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json");
            let cloudtrail = v.get("detail").is_some();
            (cloudtrail, serde_json::to_vec(&v).expect("write"))
        })
        .collect();
    let all: Vec<Vec<u8>> = events.iter().map(|(_, b)| b.clone()).collect();
    let pick = |ct: bool| -> Vec<Vec<u8>> {
        events
            .iter()
            .filter(|(c, _)| *c == ct)
            .map(|(_, b)| b.clone())
            .collect()
    };
    let decode = |b: &[u8]| iot_crr_events::decode(b).expect("fixture").keys.len();
    run("decode, mixed", &all, decode);
    run("decode, registry events", &pick(false), decode);
    run("decode, CloudTrail events", &pick(true), decode);
    run("serde_json::Value parse only", &all, |b| {
        serde_json::from_slice::<serde_json::Value>(b)
            .map(|v| v.is_object() as usize)
            .unwrap_or(0)
    });
}
