//! Property tests: for random registries, a standby that a sync made equal to the
//! source (ARNs rewritten for its region) accepts every device the source accepts, and
//! the proof the assessor takes instead of probes agrees with the probes.

use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{ArnRewrite, DiffOptions, Filter, Snapshot, apply_change, diff};
use iot_crr_readiness::{Assessor, Place, Verdict};
use proptest::prelude::*;

const SOURCE: &str = "us-east-1";
const STANDBY: &str = "eu-central-1";
const ACCOUNT: &str = "123456789012";

/// The standby a sync writes: the plan of `source` against an empty registry, with
/// ARNs rewritten, applied change by change under AWS IoT's rules.
fn synced(source: &Snapshot) -> Snapshot {
    let options = DiffOptions {
        rewrite: Some(ArnRewrite {
            from_region: Some(SOURCE.into()),
            to_region: Some(STANDBY.into()),
            from_account: Some(ACCOUNT.into()),
            to_account: Some(ACCOUNT.into()),
            map: Default::default(),
        }),
        ..DiffOptions::default()
    };
    let mut target = Snapshot::new();
    for c in diff(source, &target.clone(), &options).changes {
        apply_change(&mut target, &c.change).unwrap_or_else(|e| panic!("{}: {e}", c.change));
    }
    target
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_synced_standby_is_fully_ready(
        things in 1usize..60,
        seed in 0u64..1_000_000,
        ratio in prop_oneof![Just(1.0f64), 0.2f64..1.0],
    ) {
        let source = generate(&FleetSpec {
            things,
            seed,
            certificate_ratio: ratio,
            region: SOURCE.into(),
            account_id: ACCOUNT.into(),
        });
        let standby = synced(&source);
        let a = Assessor::new(
            &source,
            Place::new(SOURCE, ACCOUNT),
            &standby,
            Place::new(STANDBY, ACCOUNT),
        );
        let assessment = a.assess(&Filter::default());
        for d in &assessment.devices {
            prop_assert!(
                matches!(d.verdict, Verdict::Ready | Verdict::NotReadyInSource),
                "{}: {:?}",
                d.device,
                d.reasons
            );
        }
        prop_assert!(assessment.all_ready());
        // The proof agrees with the probes: every request the source allows, the
        // standby allows.
        for d in assessment.devices.iter().filter(|d| d.verdict == Verdict::Ready) {
            for p in a.probes(&d.device) {
                prop_assert_eq!(p.source_allows, Some(true), "{}: {:?}", d.device, p);
                prop_assert_eq!(p.target_allows, Some(true), "{}: {:?}", d.device, p);
            }
        }
    }

    #[test]
    fn a_standby_synced_without_rewriting_accepts_none(
        things in 1usize..30,
        seed in 0u64..1_000_000,
    ) {
        let source = generate(&FleetSpec {
            things,
            seed,
            certificate_ratio: 1.0,
            region: SOURCE.into(),
            account_id: ACCOUNT.into(),
        });
        let mut standby = source.clone();
        standby.origin.region = Some(STANDBY.into());
        let a = Assessor::new(
            &source,
            Place::new(SOURCE, ACCOUNT),
            &standby,
            Place::new(STANDBY, ACCOUNT),
        );
        let sum = a.assess(&Filter::default()).summary();
        // Every policy names its ARNs in the source's region: no device the source
        // accepts connects to the standby.
        prop_assert_eq!(sum.ready, 0);
        prop_assert_eq!(sum.not_ready, sum.devices);
    }
}
