//! Aggregates and de-aggregates 1,000,000 small user records (200 bytes, 1,000 partition
//! keys) on one core and prints records per second.
//!
//! `cargo bench -p iot-crr-kpl`

use std::hint::black_box;
use std::time::Instant;

use iot_crr_kpl::{Aggregator, deaggregate};
use md5::{Digest, Md5};

const RECORDS: usize = 1_000_000;
const DATA_LEN: usize = 200;

fn main() {
    let keys: Vec<String> = (0..1000).map(|i| format!("thing-{i:05}")).collect();
    let data: Vec<Vec<u8>> = (0..RECORDS.min(4096))
        .map(|i| (0..DATA_LEN).map(|j| (i * 31 + j) as u8).collect())
        .collect();

    // MD5 alone over the same volume, for scale (both directions hash every byte once).
    let blob = vec![7u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..200 {
        black_box(Md5::digest(black_box(&blob)));
    }
    println!(
        "MD5 alone: {:.0} MB/s",
        200.0 * (1 << 20) as f64 / 1e6 / start.elapsed().as_secs_f64()
    );

    for round in 0..3 {
        let start = Instant::now();
        let mut agg = Aggregator::new();
        let mut out = Vec::new();
        for i in 0..RECORDS {
            let r = agg
                .add(&keys[i % keys.len()], None, &data[i % data.len()])
                .expect("fits");
            out.extend(r);
        }
        out.extend(agg.finish());
        let agg_secs = start.elapsed().as_secs_f64();
        let bytes: usize = out.iter().map(|r| r.data.len()).sum();

        let start = Instant::now();
        let mut n = 0;
        for r in &out {
            let users = deaggregate(black_box(&r.data), &r.partition_key).expect("decodes");
            n += users.len();
            black_box(users);
        }
        let deagg_secs = start.elapsed().as_secs_f64();
        assert_eq!(n, RECORDS);

        println!(
            "round {round}: {RECORDS} records of {DATA_LEN} B into {} aggregated records ({:.1} MB): \
             aggregate {:.0} records/s ({:.0} MB/s), de-aggregate {:.0} records/s ({:.0} MB/s)",
            out.len(),
            bytes as f64 / 1e6,
            RECORDS as f64 / agg_secs,
            bytes as f64 / 1e6 / agg_secs,
            RECORDS as f64 / deagg_secs,
            bytes as f64 / 1e6 / deagg_secs,
        );
    }
}
