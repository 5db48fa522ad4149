//! Property tests of diff and the reference apply:
//! - applying `diff(a, b)` to `b` succeeds change by change (so the plan respects every
//!   dependency AWS IoT enforces) and yields `a`;
//! - a second diff plans nothing;
//! - stages never go backwards, and deletes of a kind run children first.

use std::collections::BTreeSet;

use iot_crr_model::{
    BillingGroup, Certificate, CertificateStatus, DiffOptions, KeyedDiff, PartialView, Policy,
    PolicyVersion, PrincipalCoverage, Resource, ResourceKey, Snapshot, Thing, ThingGroup,
    ThingType, apply_change, cert_principal, diff, diff_keys,
};
use proptest::prelude::*;

const DOCS: [&str; 4] = [
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}]}"#,
    r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iot:*", "Resource": "*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[]}"#,
];

fn cert_id(i: usize) -> String {
    format!("{i:x}").repeat(64)[..64].to_string()
}

/// Raw random choices, turned into a consistent registry by `build`.
#[derive(Debug, Clone)]
struct Spec {
    types: Vec<(bool, bool, u8)>, // present, deprecated, description
    billing: Vec<(bool, u8)>,     // present, description
    groups: Vec<(bool, u8, bool, u8, u8)>, // present, parent choice, dynamic, attr, policies mask
    policies: Vec<(bool, Vec<u8>, u8, u8)>, // present, docs, default choice, id gap
    certs: Vec<(bool, u8, u8)>,   // present, status, policies mask
    things: Vec<(bool, u8, u8, u8, u8, u8)>, // present, type, attrs, groups mask, billing, certs mask
    tags: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec((any::<bool>(), prop::bool::weighted(0.3), 0u8..3), 3),
        prop::collection::vec((any::<bool>(), 0u8..3), 2),
        prop::collection::vec(
            (
                prop::bool::weighted(0.7),
                any::<u8>(),
                prop::bool::weighted(0.15),
                0u8..3,
                any::<u8>(),
            ),
            6,
        ),
        prop::collection::vec(
            (
                any::<bool>(),
                prop::collection::vec(0u8..4, 1..=5),
                any::<u8>(),
                0u8..3,
            ),
            3,
        ),
        prop::collection::vec((any::<bool>(), 0u8..4, any::<u8>()), 4),
        prop::collection::vec(
            (
                prop::bool::weighted(0.7),
                any::<u8>(),
                0u8..4,
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
            ),
            6,
        ),
        any::<u8>(),
    )
        .prop_map(
            |(types, billing, groups, policies, certs, things, tags)| Spec {
                types,
                billing,
                groups,
                policies,
                certs,
                things,
                tags,
            },
        )
}

fn build(s: &Spec) -> Snapshot {
    let mut snap = Snapshot::new();
    let tags = |salt: u8| -> iot_crr_model::StringMap {
        let v = s.tags.wrapping_add(salt);
        match v % 3 {
            0 => Default::default(),
            1 => [("env", "prod")].into_iter().collect(),
            _ => [("env", "dev"), ("team", "a")].into_iter().collect(),
        }
    };
    for (i, (present, deprecated, desc)) in s.types.iter().enumerate() {
        if *present {
            snap.insert(Resource::ThingType(ThingType {
                thing_type_name: format!("type{i}").into(),
                thing_type_description: (*desc > 0).then(|| format!("desc {desc}")),
                searchable_attributes: if *desc == 2 {
                    ["model"].into_iter().collect()
                } else {
                    Default::default()
                },
                deprecated: *deprecated,
                tags: tags(i as u8),
            }));
        }
    }
    for (i, (present, desc)) in s.billing.iter().enumerate() {
        if *present {
            snap.insert(Resource::BillingGroup(BillingGroup {
                billing_group_name: format!("bill{i}").into(),
                billing_group_description: (*desc > 0).then(|| format!("d{desc}")),
                tags: tags(i as u8 + 1),
            }));
        }
    }
    let mut policy_names = Vec::new();
    for (i, (present, docs, default, gap)) in s.policies.iter().enumerate() {
        if *present {
            let start = 1 + *gap as usize;
            let versions: Vec<PolicyVersion> = docs
                .iter()
                .enumerate()
                .map(|(j, d)| PolicyVersion {
                    version_id: (start + j * (1 + *gap as usize)).to_string().into(),
                    policy_document: DOCS[*d as usize].to_string(),
                })
                .collect();
            let default_version_id = versions[*default as usize % versions.len()]
                .version_id
                .clone();
            let name = format!("pol{i}");
            policy_names.push(name.clone());
            snap.insert(Resource::Policy(Policy {
                policy_name: name.into(),
                default_version_id,
                versions,
                tags: tags(i as u8 + 2),
            }));
        }
    }
    let pick = |mask: u8, names: &[String]| -> iot_crr_model::NameSet {
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
            .map(|(_, n)| n.as_str())
            .collect()
    };
    let mut static_groups: Vec<String> = Vec::new();
    for (i, (present, parent, dynamic, attr, pmask)) in s.groups.iter().enumerate() {
        if !*present {
            continue;
        }
        let name = format!("grp{i}");
        let parent = if *dynamic || static_groups.is_empty() || parent % 3 == 0 {
            None
        } else {
            Some(static_groups[*parent as usize % static_groups.len()].clone())
        };
        snap.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: name.clone().into(),
            parent_group_name: parent.map(Into::into),
            thing_group_description: (*attr == 1).then(|| "a group".to_string()),
            attributes: (0..*attr)
                .map(|k| (format!("k{k}"), format!("v{attr}")))
                .collect(),
            query_string: dynamic.then(|| format!("attributes.k:{attr}")),
            index_name: None,
            query_version: None,
            policies: pick(*pmask, &policy_names),
            tags: tags(i as u8 + 3),
        }));
        if !*dynamic {
            static_groups.push(name);
        }
    }
    let mut cert_ids = Vec::new();
    for (i, (present, status, pmask)) in s.certs.iter().enumerate() {
        if *present {
            let id = cert_id(i + 1);
            cert_ids.push(id.clone());
            snap.insert(Resource::Certificate(Certificate {
                certificate_id: id.into(),
                certificate_pem: format!(
                    "-----BEGIN CERTIFICATE-----\n{i}\n-----END CERTIFICATE-----\n"
                ),
                status: match status {
                    0 | 1 => CertificateStatus::Active,
                    2 => CertificateStatus::Inactive,
                    _ => CertificateStatus::Revoked,
                },
                ca_certificate_id: None,
                policies: pick(*pmask, &policy_names),
            }));
        }
    }
    let types: Vec<String> = snap.thing_types.keys().map(|k| k.to_string()).collect();
    let billing: Vec<String> = snap.billing_groups.keys().map(|k| k.to_string()).collect();
    for (i, (present, ty, attrs, gmask, bill, cmask)) in s.things.iter().enumerate() {
        if !*present {
            continue;
        }
        snap.insert(Resource::Thing(Thing {
            thing_name: format!("thing{i}").into(),
            thing_type_name: if types.is_empty() || ty % 4 == 0 {
                None
            } else {
                Some(types[*ty as usize % types.len()].clone().into())
            },
            // Values cycle through "0", "1", "2" and "" (AWS IoT's "no attribute").
            attributes: (0..*attrs)
                .map(|k| {
                    let v = (*ty as u32 + k as u32) % 4;
                    (
                        format!("a{k}"),
                        if v == 3 { String::new() } else { v.to_string() },
                    )
                })
                .collect(),
            thing_groups: pick(*gmask, &static_groups),
            billing_group_name: if billing.is_empty() || bill % 3 == 0 {
                None
            } else {
                Some(billing[*bill as usize % billing.len()].clone().into())
            },
            principals: cert_ids
                .iter()
                .enumerate()
                .filter(|(j, _)| cmask & (1 << j) != 0)
                .map(|(_, id)| cert_principal(id))
                .chain((cmask & 0x80 != 0).then(|| "us-east-1:cognito-identity".into()))
                .collect(),
            version: None,
        }));
    }
    snap
}

/// The registry as the diff compares it: policy version ids and thing versions are per
/// registry, documents are compared as JSON.
fn normalized(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    for t in s.things.values_mut() {
        t.version = None;
        t.attributes = iot_crr_model::diff::effective_attributes(&t.attributes);
    }
    for p in s.policies.values_mut() {
        let default = p.default_index().unwrap();
        let mut versions: Vec<PolicyVersion> = p.versions.clone();
        versions.sort_by_key(|v| v.version_id.parse::<u64>().unwrap());
        let default_doc_pos = versions
            .iter()
            .position(|v| v.version_id == p.versions[default].version_id)
            .unwrap();
        for (i, v) in versions.iter_mut().enumerate() {
            v.version_id = (i + 1).to_string().into();
            v.policy_document = serde_json::from_str::<serde_json::Value>(&v.policy_document)
                .unwrap()
                .to_string();
        }
        p.default_version_id = (default_doc_pos + 1).to_string().into();
        p.versions = versions;
    }
    s
}

fn apply_all(plan: &iot_crr_model::Plan, target: &mut Snapshot) {
    for (i, c) in plan.changes.iter().enumerate() {
        if let Err(e) = apply_change(target, &c.change) {
            panic!(
                "change {i} ({}) failed: {e}\nplan:\n{}",
                c.change,
                plan.changes
                    .iter()
                    .map(|c| format!("  [{}] {}", c.stage, c.change))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// The keyed diff of `keys` over partial views that start empty and are filled from
/// the two snapshots with exactly what the diff asks, run after run, until a run asks
/// nothing new. Returns the diff and the number of questions asked.
fn keyed(
    desired: &Snapshot,
    actual: &Snapshot,
    keys: &BTreeSet<ResourceKey>,
    opts: &DiffOptions,
) -> (KeyedDiff, usize) {
    let mut dv = PartialView::new(desired.principal_coverage);
    let mut av = PartialView::new(actual.principal_coverage);
    let mut asked = 0;
    for _ in 0..64 {
        let k = diff_keys(&dv, &av, keys, opts);
        let n = dv.fill_from(desired) + av.fill_from(actual);
        if n == 0 {
            return (k, asked);
        }
        asked += n;
    }
    panic!("the keyed diff kept asking new questions");
}

/// Every key of both registries plus a few that neither has.
fn all_keys(a: &Snapshot, b: &Snapshot) -> Vec<ResourceKey> {
    let mut keys: BTreeSet<ResourceKey> = a
        .resources()
        .chain(b.resources())
        .map(|r| r.key())
        .collect();
    keys.insert(ResourceKey::new(
        iot_crr_model::Kind::Thing,
        "no-such-thing",
    ));
    keys.insert(ResourceKey::new(
        iot_crr_model::Kind::ThingGroup,
        "no-such-group",
    ));
    keys.into_iter().collect()
}

fn pick_keys(all: &[ResourceKey], seed: u64) -> BTreeSet<ResourceKey> {
    let mut x = seed | 1;
    all.iter()
        .filter(|_| {
            // xorshift: about one key in three.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.is_multiple_of(3)
        })
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn keyed_plan_equals_the_full_plan_restricted_to_its_keys(
        a in spec(),
        b in spec(),
        prune in any::<bool>(),
        certs_only in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (desired, mut target) = (build(&a), build(&b));
        if certs_only {
            target.principal_coverage = PrincipalCoverage::CertificatesOnly;
        }
        let opts = DiffOptions { prune, ..Default::default() };
        let full = diff(&desired, &target, &opts);
        let keys = pick_keys(&all_keys(&desired, &target), seed);
        let (k, _) = keyed(&desired, &target, &keys, &opts);
        let restricted: Vec<_> = full
            .changes
            .iter()
            .filter(|c| keys.contains(&c.change.key()))
            .cloned()
            .collect();
        prop_assert_eq!(&k.changes, &restricted);
        // Every warning of the keyed plan is one of the full plan's.
        for w in &k.warnings {
            prop_assert!(full.warnings.contains(w), "{}", w);
        }
    }

    /// What the overlapped sync of `iot-crr-reconcile` does with things handed over in
    /// pages: with the things alone selected and nothing pruned, the keyed diffs of the
    /// pages (each page alone on the desired side, in any order) and the whole diff of
    /// what is left add up to the whole things' diff, change for change.
    #[test]
    fn things_diffed_page_by_page_add_up_to_the_whole_things_diff(
        a in spec(),
        b in spec(),
        certs_only in any::<bool>(),
        page in 1usize..6,
        rest in 0usize..3,
        seed in any::<u64>(),
    ) {
        let only_things = |s: Snapshot| Snapshot {
            things: s.things,
            principal_coverage: s.principal_coverage,
            ..Snapshot::default()
        };
        let (desired, mut target) = (only_things(build(&a)), only_things(build(&b)));
        if certs_only {
            target.principal_coverage = PrincipalCoverage::CertificatesOnly;
        }
        let opts = DiffOptions {
            filter: iot_crr_model::Filter {
                kinds: vec![iot_crr_model::Kind::Thing],
                ..Default::default()
            },
            ..Default::default()
        };
        let whole = diff(&desired, &target, &opts);
        // Pages in an order of the seed (a backend hands things over as it reads them).
        let mut names: Vec<_> = desired.things.keys().cloned().collect();
        let mut x = seed | 1;
        for i in (1..names.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            names.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let handed = names.len().saturating_sub(rest);
        let mut left = desired.clone();
        let mut paged = Vec::new();
        let av = iot_crr_model::view::SnapshotView::new(&target);
        for chunk in names[..handed].chunks(page) {
            let page = Snapshot {
                things: chunk
                    .iter()
                    .map(|n| (n.clone(), left.things.remove(n.as_str()).unwrap()))
                    .collect(),
                ..Snapshot::default()
            };
            let keys: BTreeSet<ResourceKey> = chunk
                .iter()
                .map(|n| ResourceKey::new(iot_crr_model::Kind::Thing, n.clone()))
                .collect();
            let k = diff_keys(&iot_crr_model::view::SnapshotView::new(&page), &av, &keys, &opts);
            prop_assert!(k.changes.windows(2).all(|w| w[0].stage <= w[1].stage));
            for w in &k.warnings {
                prop_assert!(whole.warnings.contains(w), "{}", w);
            }
            paged.extend(k.changes);
        }
        paged.extend(diff(&left, &target, &opts).changes);
        // Each thing's changes, in the order they come.
        let by_thing = |v: &[iot_crr_model::PlannedChange]| {
            let mut m: std::collections::BTreeMap<ResourceKey, Vec<String>> = Default::default();
            for c in v {
                m.entry(c.change.key())
                    .or_default()
                    .push(format!("{} {}", c.stage, c.change));
            }
            m
        };
        prop_assert_eq!(by_thing(&paged), by_thing(&whole.changes));
        prop_assert_eq!(paged.len(), whole.changes.len());
    }

    #[test]
    fn a_keyed_plan_with_its_companions_applies_on_its_own_and_converges_its_keys(
        a in spec(),
        b in spec(),
        prune in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (desired, mut target) = (build(&a), build(&b));
        let opts = DiffOptions { prune, ..Default::default() };
        let mut keys = pick_keys(&all_keys(&desired, &target), seed);
        let plan = loop {
            let (k, _) = keyed(&desired, &target, &keys, &opts);
            if k.companions.is_empty() {
                break k;
            }
            keys.extend(k.companions);
        };
        for (i, c) in plan.changes.iter().enumerate() {
            if let Err(e) = apply_change(&mut target, &c.change) {
                panic!(
                    "change {i} ({}) failed: {e}\nkeys: {keys:?}\nplan:\n{}",
                    c.change,
                    plan.changes
                        .iter()
                        .map(|c| format!("  [{}] {}", c.stage, c.change))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
        // Converged for its keys: a second keyed plan changes nothing. (It may still
        // undeprecate and deprecate again a type that desired things outside the keys
        // will need: the full plan does the same, and the pair leaves the type as it
        // is.)
        let (again, _) = keyed(&desired, &target, &keys, &opts);
        let mut after = target.clone();
        for c in &again.changes {
            prop_assert!(
                matches!(c.change, iot_crr_model::Change::DeprecateThingType { .. }),
                "second keyed plan: {:?}", again.changes
            );
            apply_change(&mut after, &c.change).unwrap();
        }
        prop_assert_eq!(after, target);
    }

    #[test]
    fn a_side_read_per_certificate_never_loses_other_principals(a in spec(), b in spec()) {
        let (desired, mut target) = (build(&a), build(&b));
        target.principal_coverage = PrincipalCoverage::CertificatesOnly;
        let before = target.clone();
        let opts = DiffOptions::default();
        let plan = diff(&desired, &target, &opts);
        for c in &plan.changes {
            if let iot_crr_model::Change::DetachThingPrincipal { principal, .. }
            | iot_crr_model::Change::AttachThingPrincipal { principal, .. } = &c.change
            {
                prop_assert!(principal.starts_with("cert/"), "{}", c.change);
            }
        }
        apply_all(&plan, &mut target);
        for (name, t) in &before.things {
            let other = |t: &Thing| t.principals.iter().filter(|p| !p.starts_with("cert/")).cloned().collect::<Vec<_>>();
            prop_assert_eq!(other(&target.things[name]), other(t));
        }
    }

    #[test]
    fn prune_sync_converges_exactly(a in spec(), b in spec()) {
        let (desired, mut target) = (build(&a), build(&b));
        let opts = DiffOptions { prune: true, ..Default::default() };
        let plan = diff(&desired, &target, &opts);
        prop_assert!(plan.changes.windows(2).all(|w| w[0].stage <= w[1].stage));
        apply_all(&plan, &mut target);
        let again = diff(&desired, &target, &opts);
        prop_assert!(again.changes.is_empty(), "second plan: {:?}", again.changes);
        if plan.warnings.is_empty() {
            prop_assert_eq!(normalized(&target), normalized(&desired));
        } else {
            // Only kept (protected) resources may differ: everything desired is there.
            for r in desired.resources() {
                prop_assert!(target.contains(&r.key()), "missing {}", r.key());
            }
        }
    }

    #[test]
    fn additive_sync_converges_and_keeps_target_only_resources(a in spec(), b in spec()) {
        let (desired, mut target) = (build(&a), build(&b));
        let before = target.clone();
        let opts = DiffOptions::default();
        let plan = diff(&desired, &target, &opts);
        let deletes_resource = plan.changes.iter().any(|c| matches!(c.change,
            iot_crr_model::Change::DeleteThing { .. }
            | iot_crr_model::Change::DeleteCertificate { .. }
            | iot_crr_model::Change::DeletePolicy { .. }
            | iot_crr_model::Change::DeleteThingType { .. }
            | iot_crr_model::Change::BillingGroup(iot_crr_model::BillingGroupChange::DeleteBillingGroup { .. })));
        prop_assert!(!deletes_resource);
        apply_all(&plan, &mut target);
        let again = diff(&desired, &target, &opts);
        prop_assert!(again.changes.is_empty(), "second plan: {:?}", again.changes);
        for r in before.resources() {
            let k = r.key();
            let kept = target.contains(&k);
            // A target-only group may only vanish... never: without prune nothing that
            // only the target has is deleted.
            if !desired.contains(&k) {
                prop_assert!(kept, "target-only {} was deleted", k);
            }
        }
    }

    #[test]
    fn a_filtered_plan_touches_only_what_the_filter_selects(
        a in spec(),
        b in spec(),
        kinds in prop::sample::subsequence(iot_crr_model::Kind::ALL.to_vec(), 0..=6),
        include in prop::sample::select(vec!["", "thing*", "*1", "grp?", "pol*"]),
        exclude in prop::sample::select(vec!["", "*0", "thing:thing2", "type*"]),
    ) {
        let filter = iot_crr_model::Filter {
            kinds,
            include: [include].into_iter().filter(|s| !s.is_empty()).map(String::from).collect(),
            exclude: [exclude].into_iter().filter(|s| !s.is_empty()).map(String::from).collect(),
        };
        let opts = DiffOptions { prune: true, filter: filter.clone(), ..Default::default() };
        let plan = diff(&build(&a), &build(&b), &opts);
        for c in &plan.changes {
            prop_assert!(filter.matches_key(&c.change.key()), "{} is outside {:?}", c.change, filter);
        }
    }

    /// What `plan` of two snapshot files does: the files read side by side (the
    /// things and certificates written alike kept once, as lines) plan exactly what
    /// the whole files read one by one plan, fingerprint and counts included.
    #[test]
    fn two_files_read_side_by_side_plan_what_the_whole_files_plan(
        a in spec(),
        b in spec(),
        mix in any::<u64>(),
        prune in any::<bool>(),
        certs_only in any::<bool>(),
        rewrite in any::<bool>(),
        pending in any::<bool>(),
        filter in 0usize..4,
    ) {
        let mut desired = build(&a);
        let mut target = build(&b);
        if pending && let Some(c) = desired.certificates.values_mut().next() {
            c.status = CertificateStatus::PendingTransfer;
        }
        // Much of the target as the source has it, as in a sync: each thing,
        // certificate and group by a bit of `mix`.
        let bit = |i: usize| mix >> (i % 64) & 1 == 1;
        for (i, (n, t)) in desired.things.iter().enumerate() {
            if bit(i) {
                target.things.insert(n.clone(), t.clone());
            }
        }
        for (i, (n, c)) in desired.certificates.iter().enumerate() {
            if bit(i + 20) {
                target.certificates.insert(n.clone(), c.clone());
            }
        }
        for (i, (n, g)) in desired.thing_groups.iter().enumerate() {
            if bit(i + 40) {
                target.thing_groups.insert(n.clone(), g.clone());
            }
        }
        // (A copied group may leave a target group's parent missing: skip such a mix.)
        prop_assume!(iot_crr_model::constraints::check_hierarchy(&target.thing_groups).is_ok());
        desired.origin.region = Some("us-east-1".into());
        target.origin.region = Some("eu-west-1".into());
        if certs_only {
            target.principal_coverage = PrincipalCoverage::CertificatesOnly;
        }
        let filter = match filter {
            0 => iot_crr_model::Filter::default(),
            1 => iot_crr_model::Filter {
                kinds: vec![iot_crr_model::Kind::Thing, iot_crr_model::Kind::ThingGroup],
                ..Default::default()
            },
            2 => iot_crr_model::Filter { include: vec!["thing*".into()], ..Default::default() },
            _ => iot_crr_model::Filter { exclude: vec!["*1".into()], ..Default::default() },
        };
        let opts = DiffOptions {
            prune,
            filter: filter.clone(),
            rewrite: rewrite.then(|| iot_crr_model::ArnRewrite {
                from_region: Some("us-east-1".into()),
                to_region: Some("eu-west-1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
        iot_crr_model::format::write_file(&desired, &pa).unwrap();
        iot_crr_model::format::write_file(&target, &pb).unwrap();

        let pair = iot_crr_model::read_pair_without_pems(&pa, &pb, &filter)
            .expect("files in the writer's form read side by side");
        let read = |p: &std::path::Path| {
            let (mut s, i) = iot_crr_model::format::read_file_without_pems(p).unwrap();
            s.retain_selected(&filter);
            (s, i)
        };
        let ((ds, di), (ts, ti)) = (read(&pa), read(&pb));
        let whole = diff(&ds, &ts, &opts);
        let paired = iot_crr_model::diff_pair(&pair.source, &pair.target, &pair.same, &opts);
        prop_assert_eq!(paired, whole);
        prop_assert_eq!(pair.source_pems.len(), di.len());
        prop_assert_eq!(pair.target_pems.len(), ti.len());
        // Nothing is on both sides of the split.
        for n in pair.same.names(iot_crr_model::Kind::Thing) {
            prop_assert!(!pair.source.things.contains_key(n) && !pair.target.things.contains_key(n));
        }
    }

    #[test]
    fn diff_of_equal_registries_is_empty(a in spec()) {
        let s = build(&a);
        let plan = diff(&s, &s.clone(), &DiffOptions { prune: true, ..Default::default() });
        prop_assert!(plan.changes.is_empty());
        prop_assert!(plan.warnings.is_empty());
    }

    #[test]
    fn snapshot_files_round_trip(a in spec()) {
        let s = build(&a);
        let bytes = iot_crr_model::format::to_bytes(&s);
        let back = iot_crr_model::format::parse(bytes.clone(), "p").unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(iot_crr_model::format::to_bytes(&back), bytes);
    }
}
