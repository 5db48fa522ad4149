//! Faults never lose or corrupt data: a sync whose changes partly fail (permanent
//! faults injected at random, throttles retried, answers lost after the change was
//! applied and the change retried) leaves the target in a state from which the next sync
//! converges, a third plans nothing, and the target holds nothing extra. Fleets come
//! from `iot-crr-fleet` (things with types, groups, billing groups, certificates and
//! versioned policies).

use iot_crr_engine::{ApplyOptions, ChangeResult, RetryPolicy, apply_plan};
use iot_crr_fleet::{FleetSpec, generate, mutate};
use iot_crr_model::{DiffOptions, diff};
use iot_crr_registry::{ErrorClass, Fault, MemoryRegistry};
use rand::{Rng, SeedableRng};

const APIS: [&str; 12] = [
    "CreateThing",
    "UpdateThing",
    "DeleteThing",
    "CreateThingGroup",
    "DeleteThingGroup",
    "AddThingToThingGroup",
    "RemoveThingFromThingGroup",
    "RegisterCertificate",
    "AttachPolicy",
    "AttachThingPrincipal",
    "DetachThingPrincipal",
    "CreatePolicyVersion",
];

fn options() -> ApplyOptions {
    ApplyOptions {
        concurrency: 8,
        retry: RetryPolicy::fast(4),
        ..ApplyOptions::default()
    }
}

#[tokio::test]
async fn partial_failures_heal_on_the_next_sync() {
    let opts = DiffOptions {
        prune: true,
        ..Default::default()
    };
    let (mut failed, mut skipped, mut retries, mut lost) = (0, 0, 0, 0);
    for seed in 0..12u64 {
        let base = generate(&FleetSpec {
            things: 24,
            seed,
            certificate_ratio: 0.5,
            ..FleetSpec::default()
        });
        let desired = mutate(&base, seed + 100, 0.3, 0.2, 0.2);
        let target = MemoryRegistry::with_snapshot(base.clone());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..6 {
            let api = APIS[rng.random_range(0..APIS.len())];
            let class = if rng.random_bool(0.5) {
                ErrorClass::Throttled
            } else {
                ErrorClass::Conflict
            };
            target.inject(Fault::fail(Some(api), class));
        }
        for _ in 0..4 {
            let api = APIS[rng.random_range(0..APIS.len())];
            target.inject(Fault::lost_answer(Some(api)));
        }

        let first = diff(&desired, &target.snapshot(), &opts);
        let report = apply_plan(&first, &target, &options(), None).await;
        // Every change is accounted for: applied, already in state, failed with a
        // reason, or skipped because something it needs failed.
        assert_eq!(report.changes.len(), first.changes.len());
        assert_eq!(report.counts.total(), first.changes.len());
        failed += report.counts.failed;
        skipped += report.counts.skipped;
        retries += report.retries;
        // A lost answer shows as a retry that found the change already in place.
        lost += report
            .changes
            .iter()
            .filter(|c| c.attempts > 1 && c.result == ChangeResult::AlreadyInState)
            .count();
        for r in report.failures() {
            assert!(report.to_string().contains(&r.description));
        }

        // The next sync (no more faults) plans only what is still missing and converges.
        target.clear_faults();
        let second = diff(&desired, &target.snapshot(), &opts);
        assert!(second.changes.len() <= first.changes.len() + report.counts.failed);
        let report2 = apply_plan(&second, &target, &options(), None).await;
        assert!(
            report2.is_success(),
            "seed {seed}: second sync failed:\n{report2}"
        );
        let third = diff(&desired, &target.snapshot(), &opts);
        assert!(
            third.is_empty(),
            "seed {seed}: third plan not empty: {:?}",
            third
                .changes
                .iter()
                .map(|c| c.change.to_string())
                .collect::<Vec<_>>()
        );
        // Nothing the source has was lost on the way.
        let after = target.snapshot();
        for name in desired.things.keys() {
            assert!(
                after.things.contains_key(name),
                "seed {seed}: thing {name} missing"
            );
        }
        for id in desired.certificates.keys() {
            assert!(
                after.certificates.contains_key(id),
                "seed {seed}: certificate {id} missing"
            );
        }
        // Nothing extra either: a change repeated after a lost answer created nothing
        // twice.
        let keys =
            |s: &iot_crr_model::Snapshot| -> Vec<_> { s.resources().map(|r| r.key()).collect() };
        assert_eq!(keys(&after), keys(&desired), "seed {seed}");
        for (name, p) in &desired.policies {
            assert_eq!(after.policies[name].versions.len(), p.versions.len());
        }
    }
    // The faults did fire: permanent ones failed changes (and skipped their
    // dependents), throttles were retried.
    assert!(
        failed > 0 && skipped > 0 && retries > 0 && lost > 0,
        "{failed} {skipped} {retries} {lost}"
    );
}
