//! A simulated backfill of a generated fleet into an empty region at AWS IoT's default
//! quotas, on a virtual clock (tokio's paused time), compared with the floor those
//! quotas allow.
//!
//! The region is an in-memory registry behind a wrapper that enforces the quotas as the
//! control plane does: one token bucket per API operation at its default rate, a burst
//! of one second, and a call over the limit answered "throttled" (nothing applied).
//! iot-crr's own pieces run unchanged in front of it: the engine (scheduling by
//! dependencies, retries, the throttle patience) and the rate control
//! (`LocalBudget` through `Paced`: a token bucket per API at the quota it believes,
//! with back-off on throttling). Virtual time only advances when every task waits, so
//! the simulated duration is what the scheduler and the rate control achieve, and the
//! run takes as long as the CPU work.
//!
//! The floor: for each API, its calls divided by its quota; all APIs can run at once,
//! so the backfill cannot take less than the largest of those (certificate
//! registration at 10 a second, for a fleet with a certificate per device).
//!
//! `cargo bench -p iot-crr-engine --bench backfill_sim [-- THINGS [SCALE]]` (default
//! 1,000,000 things; generating the certificates takes minutes per million). With
//! `SCALE` (default 1) the region enforces that fraction of the default quotas while
//! iot-crr still believes the defaults: how fast the rate control finds quotas nobody
//! told it, and how many calls are throttled on the way (the floor is then computed at
//! the enforced quotas).

use std::collections::BTreeMap;
use std::time::Duration;

use iot_crr_engine::{ApplyOptions, apply_plan};
use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{DiffOptions, Snapshot, diff};
use iot_crr_registry::{LocalBudget, MemoryRegistry, Paced, Quotas, Registry};
use tokio::time::Instant;

#[path = "sim/enforced.rs"]
mod enforced;
use enforced::Enforced;

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let things: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let scale: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let wall = std::time::Instant::now();
    let fleet = generate(&FleetSpec::new(things));
    let generated = wall.elapsed();
    let plan = diff(&fleet, &Snapshot::new(), &DiffOptions::default());
    let counts = fleet.counts();
    drop(fleet);
    eprintln!(
        "fleet: {} things, {} certificates, {} groups, {} policies; generated in {:.1} s; \
         plan of {} changes",
        counts.things,
        counts.certificates,
        counts.thing_groups,
        counts.policies,
        generated.as_secs_f64(),
        plan.changes.len()
    );

    // The floor: per API, calls / the enforced quota; the APIs run side by side.
    let quotas = Quotas::default();
    let mut enforced = Quotas::default();
    enforced.set_default_tps(quotas.default_tps() * scale);
    for (api, tps) in quotas.iter() {
        enforced.set(api, tps * scale);
    }
    let floor = enforced.floor(plan.changes.iter().map(|c| c.change.api()));
    let mut per_api: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &plan.changes {
        *per_api.entry(c.change.api()).or_default() += 1;
    }
    let floor = floor.seconds();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let (simulated, report, target_throttles) = runtime.block_on(async {
        let region = Enforced::new(MemoryRegistry::new(), enforced.clone());
        let client = Paced::new(region, LocalBudget::shared(quotas.clone()));
        let start = Instant::now();
        let report = apply_plan(&plan, &client, &ApplyOptions::default(), None).await;
        let simulated = start.elapsed();
        let throttles: BTreeMap<String, u64> = client.inner().throttles().into_iter().collect();
        (simulated, report, throttles)
    });
    let wall = wall.elapsed();

    println!(
        "{:<30} {:>10} {:>8} {:>12} {:>10}",
        "API", "calls", "quota/s", "floor", "throttled"
    );
    if scale != 1.0 {
        println!(
            "(the region enforces {scale} times the default quotas; iot-crr believes the defaults)"
        );
    }
    for (api, n) in &per_api {
        println!(
            "{api:<30} {n:>10} {:>8} {:>12} {:>10}",
            enforced.get(api),
            hms(Duration::from_secs_f64(*n as f64 / enforced.get(api))),
            target_throttles.get(*api).copied().unwrap_or(0)
        );
    }
    let calls: u64 = per_api.values().sum();
    let throttled: u64 = target_throttles.values().sum();
    println!(
        "\n{things} things: {} changes, {} applied, {} failed, {} skipped",
        plan.changes.len(),
        report.counts.applied,
        report.counts.failed,
        report.counts.skipped
    );
    println!(
        "simulated backfill {} against the floor {} ({:+.1} %); {throttled} throttled \
         answers ({:.2} % of {calls} calls); {:.0} s of real time",
        hms(simulated),
        hms(Duration::from_secs_f64(floor)),
        100.0 * (simulated.as_secs_f64() / floor - 1.0),
        100.0 * throttled as f64 / calls.max(1) as f64,
        wall.as_secs_f64()
    );
}
