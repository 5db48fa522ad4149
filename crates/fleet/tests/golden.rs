//! Golden outputs: the exact bytes of plans, snapshot files and fingerprints for a seeded
//! fleet and its mutation.
//!
//! The property tests of the model compare `diff`, `diff_pair` and `diff_keys` with each
//! other, so a change they share (a reshape of the code that moves them together) would
//! pass them unnoticed. These digests pin the output itself: a refactoring must leave
//! every one of them unchanged. A deliberate change of output updates them, and its
//! commit says why.

use iot_crr_fleet::{FleetSpec, generate, mutate};
use iot_crr_model::{
    BillingGroup, DiffOptions, Filter, Kind, Name, Snapshot, StringMap, apply_change, diff,
    fingerprint, format,
};
use sha2::{Digest, Sha256};

fn digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// A fleet of 1,200 things, 40% with certificates (signing is slow in debug builds), and
/// a second version: 3% of things changed, 1% added, 1% removed, and hand-made changes
/// to every kind the mutation leaves alone (billing groups, types, policies, tags).
fn fleets() -> (Snapshot, Snapshot) {
    let base = generate(&FleetSpec {
        things: 1200,
        seed: 20261207,
        certificate_ratio: 0.4,
        ..FleetSpec::default()
    });
    let mut next = mutate(&base, 11, 0.03, 0.01, 0.01);
    let billing: Vec<Name> = next.billing_groups.keys().cloned().collect();
    if let Some(first) = billing.first() {
        let g = next.billing_groups.get_mut(first).unwrap();
        g.billing_group_description = Some("moved to the new cost centre".into());
        g.tags.insert("cost-centre", "cc-7");
    }
    if let Some(last) = billing.last() {
        next.billing_groups.remove(last);
        for t in next.things.values_mut() {
            if t.billing_group_name.as_ref() == Some(last) {
                t.billing_group_name = None;
            }
        }
    }
    next.billing_groups.insert(
        "golden-new".into(),
        BillingGroup {
            billing_group_name: "golden-new".into(),
            billing_group_description: Some("added".into()),
            tags: StringMap::from_iter([("team", "ops")]),
        },
    );
    if let Some(t) = next.thing_types.values_mut().next() {
        t.tags.insert("golden", "1");
    }
    if let Some(p) = next.policies.values_mut().next() {
        p.tags = StringMap::default();
        p.tags.insert("golden", "2");
    }
    if let Some(g) = next.thing_groups.values_mut().nth(2) {
        g.thing_group_description = Some("golden".into());
    }
    (base, next)
}

fn plan_digest(desired: &Snapshot, actual: &Snapshot, options: &DiffOptions) -> (usize, String) {
    let plan = diff(desired, actual, options);
    (plan.changes.len(), digest(plan.to_json().as_bytes()))
}

#[test]
fn plans_files_and_fingerprints_are_unchanged() {
    let (base, next) = fleets();
    let prune = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let billing_only = DiffOptions {
        prune: true,
        filter: Filter {
            kinds: vec![Kind::BillingGroup, Kind::Thing],
            ..Filter::default()
        },
        ..DiffOptions::default()
    };
    let got = [
        ("base file", digest(&format::to_bytes(&base))),
        ("next file", digest(&format::to_bytes(&next))),
        ("base fingerprint", fingerprint(&base, &Filter::default())),
        ("next fingerprint", fingerprint(&next, &Filter::default())),
        ("plan", {
            let (n, d) = plan_digest(&next, &base, &DiffOptions::default());
            format!("{n} {d}")
        }),
        ("plan --prune", {
            let (n, d) = plan_digest(&next, &base, &prune);
            format!("{n} {d}")
        }),
        ("plan --prune back", {
            let (n, d) = plan_digest(&base, &next, &prune);
            format!("{n} {d}")
        }),
        ("plan --prune --kind billingGroup,thing", {
            let (n, d) = plan_digest(&next, &base, &billing_only);
            format!("{n} {d}")
        }),
    ];
    let got: Vec<String> = got.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let want = [
        "base file: cb77e46643c589c3aa03c30b",
        "next file: 82b7d5fe947d8b166002267e",
        "base fingerprint: xxh3-128:3faaa1ed3436c5a4e19923ba6d91f022",
        "next fingerprint: xxh3-128:17262ed702119a162d7b86d40a91ccfb",
        "plan: 102 85f6231031bece3468c05f70",
        "plan --prune: 808 b645eb525932508c2d95d946",
        "plan --prune back: 804 55d312df3deaf341a0b08c91",
        "plan --prune --kind billingGroup,thing: 783 dd2db3ed8b8d3e02f4eb4873",
    ];
    assert_eq!(got, want, "golden outputs changed:\n{}", got.join("\n"));
}

#[test]
fn the_golden_plan_converges() {
    let (base, next) = fleets();
    let options = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = diff(&next, &base, &options);
    assert!(!plan.is_empty());
    let mut target = base.clone();
    for c in &plan.changes {
        apply_change(&mut target, &c.change).unwrap_or_else(|e| panic!("{}: {e}", c.change));
    }
    assert!(diff(&next, &target, &options).is_empty());
    assert_eq!(
        fingerprint(&target, &Filter::default()),
        fingerprint(&next, &Filter::default())
    );
}
