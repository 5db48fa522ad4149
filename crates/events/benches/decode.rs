//! Decodes 1,000,000 mixed events (every fixture in turn) on one core and prints the
//! rate. No timed assertion: run with `cargo bench -p iot-crr-events --bench decode`.

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    // Compact JSON, as the forwarder writes one event per record.
    let events: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json");
            serde_json::to_vec(&v).expect("write")
        })
        .collect();
    let total: usize = 1_000_000;
    let bytes: usize = (0..total).map(|i| events[i % events.len()].len()).sum();
    let start = Instant::now();
    let mut keys = 0usize;
    for i in 0..total {
        let e = iot_crr_events::decode(black_box(&events[i % events.len()])).expect("fixture");
        keys += e.keys.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "decoded {total} events ({} kinds, {keys} keys, {:.0} MB) in {secs:.2} s: {:.0} events/s, {:.1} MB/s",
        events.len(),
        bytes as f64 / 1e6,
        total as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}
