//! Property test of the scheduled engine: for random registries A and B, the plan
//! `diff(A, B)` applied to B by the engine, with each stage's changes submitted in a
//! random order (the changes of one resource keep theirs), calls that take random
//! (virtual) times, and answers lost at random after the change was applied, yields A.
//! The reference order (stage after stage) is shown to work by the model's own
//! property test; this one shows that the engine's dependencies are enough.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use iot_crr_engine::{ApplyOptions, RetryPolicy, apply_plan};
use iot_crr_model::{
    BillingGroup, Certificate, CertificateStatus, Change, DiffOptions, Name, NameSet, Outcome,
    Plan, PlannedChange, Policy, PolicyVersion, Resource, ResourceKey, Snapshot, StringMap, Thing,
    ThingGroup, ThingType, apply_change, canonical_document, cert_principal, diff,
};
use iot_crr_registry::{Fault, MemoryRegistry, ReadRequest, Registry, RegistryError, Related};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DOCUMENTS: [&str; 3] = [
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}]}"#,
    r#"{"Statement": [], "Version": "2012-10-17"}"#,
];

/// Random choices that `registry` turns into a registry AWS IoT would accept.
#[derive(Debug, Clone)]
struct Shape {
    /// present, deprecated, description
    types: Vec<(bool, bool, u8)>,
    /// present, description
    billing: Vec<(bool, u8)>,
    /// present, version documents, default
    policies: Vec<(bool, Vec<u8>, u8)>,
    /// present, parent, dynamic, attribute, policies
    groups: Vec<(bool, u8, bool, u8, u8)>,
    /// present, status, policies
    certs: Vec<(bool, u8, u8)>,
    /// present, type, attribute, groups, billing group, certificates
    things: Vec<(bool, u8, u8, u8, u8, u8)>,
    tags: u8,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::collection::vec((any::<bool>(), prop::bool::weighted(0.4), 0u8..2), 3),
        prop::collection::vec((any::<bool>(), 0u8..2), 2),
        prop::collection::vec(
            (
                any::<bool>(),
                prop::collection::vec(0u8..3, 1..=4),
                any::<u8>(),
            ),
            3,
        ),
        prop::collection::vec(
            (
                prop::bool::weighted(0.7),
                any::<u8>(),
                prop::bool::weighted(0.15),
                0u8..2,
                any::<u8>(),
            ),
            5,
        ),
        prop::collection::vec((any::<bool>(), 0u8..3, any::<u8>()), 4),
        prop::collection::vec(
            (
                prop::bool::weighted(0.7),
                any::<u8>(),
                0u8..3,
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
            ),
            6,
        ),
        any::<u8>(),
    )
        .prop_map(
            |(types, billing, policies, groups, certs, things, tags)| Shape {
                types,
                billing,
                policies,
                groups,
                certs,
                things,
                tags,
            },
        )
}

/// The members of `names` that `mask` selects.
fn chosen(mask: u8, names: &[String]) -> NameSet {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
        .map(|(_, n)| n.as_str())
        .collect()
}

fn registry(s: &Shape) -> Snapshot {
    let mut snap = Snapshot::new();
    let tags = |salt: usize| -> StringMap {
        match (s.tags as usize + salt) % 3 {
            0 => StringMap::new(),
            1 => [("env", "prod")].into_iter().collect(),
            _ => [("env", "test"), ("owner", "ops")].into_iter().collect(),
        }
    };
    for (i, (present, deprecated, desc)) in s.types.iter().enumerate() {
        if *present {
            snap.insert(Resource::ThingType(ThingType {
                thing_type_name: format!("type-{i}").into(),
                thing_type_description: (*desc == 1).then(|| "a type".to_string()),
                searchable_attributes: Default::default(),
                deprecated: *deprecated,
                tags: tags(i),
            }));
        }
    }
    for (i, (present, desc)) in s.billing.iter().enumerate() {
        if *present {
            snap.insert(Resource::BillingGroup(BillingGroup {
                billing_group_name: format!("bill-{i}").into(),
                billing_group_description: (*desc == 1).then(|| "billed".to_string()),
                tags: tags(i + 1),
            }));
        }
    }
    let mut policies = Vec::new();
    for (i, (present, docs, default)) in s.policies.iter().enumerate() {
        if *present {
            let versions: Vec<PolicyVersion> = docs
                .iter()
                .enumerate()
                .map(|(j, d)| PolicyVersion {
                    version_id: (j + 1).to_string().into(),
                    policy_document: DOCUMENTS[*d as usize].to_string(),
                })
                .collect();
            let name = format!("policy-{i}");
            snap.insert(Resource::Policy(Policy {
                policy_name: name.clone().into(),
                default_version_id: versions[*default as usize % versions.len()]
                    .version_id
                    .clone(),
                versions,
                tags: tags(i + 2),
            }));
            policies.push(name);
        }
    }
    let mut static_groups: Vec<String> = Vec::new();
    for (i, (present, parent, dynamic, attr, pmask)) in s.groups.iter().enumerate() {
        if !*present {
            continue;
        }
        let name = format!("group-{i}");
        let parent = (!*dynamic && !static_groups.is_empty() && parent % 3 != 0)
            .then(|| static_groups[*parent as usize % static_groups.len()].clone());
        snap.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: name.clone().into(),
            parent_group_name: parent.map(Into::into),
            thing_group_description: None,
            attributes: (0..*attr).map(|k| (format!("k{k}"), "v")).collect(),
            query_string: dynamic.then(|| format!("attributes.k:{attr}")),
            index_name: None,
            query_version: None,
            policies: chosen(*pmask, &policies),
            tags: tags(i + 3),
        }));
        if !*dynamic {
            static_groups.push(name);
        }
    }
    let mut certs = Vec::new();
    for (i, (present, status, pmask)) in s.certs.iter().enumerate() {
        if *present {
            let id = format!("{:064x}", i + 1);
            snap.insert(Resource::Certificate(Certificate {
                certificate_id: id.clone().into(),
                certificate_pem: format!(
                    "-----BEGIN CERTIFICATE-----\nc{i}\n-----END CERTIFICATE-----\n"
                ),
                status: match status {
                    0 => CertificateStatus::Active,
                    1 => CertificateStatus::Inactive,
                    _ => CertificateStatus::Revoked,
                },
                ca_certificate_id: None,
                policies: chosen(*pmask, &policies),
            }));
            certs.push(id);
        }
    }
    let types: Vec<Name> = snap.thing_types.keys().cloned().collect();
    let billing: Vec<Name> = snap.billing_groups.keys().cloned().collect();
    for (i, (present, ty, attr, gmask, bill, cmask)) in s.things.iter().enumerate() {
        if !*present {
            continue;
        }
        snap.insert(Resource::Thing(Thing {
            thing_name: format!("thing-{i}").into(),
            thing_type_name: (!types.is_empty() && ty % 3 != 0)
                .then(|| types[*ty as usize % types.len()].clone()),
            attributes: (0..*attr).map(|k| (format!("a{k}"), "1")).collect(),
            thing_groups: chosen(*gmask, &static_groups),
            billing_group_name: (!billing.is_empty() && bill % 3 != 0)
                .then(|| billing[*bill as usize % billing.len()].clone()),
            principals: certs
                .iter()
                .enumerate()
                .filter(|(j, _)| cmask & (1 << j) != 0)
                .map(|(_, id)| cert_principal(id))
                .collect(),
            version: None,
        }));
    }
    snap
}

/// What the diff compares: policies by their documents in version order and the
/// position of the default; things without their version.
fn comparable(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    for t in s.things.values_mut() {
        t.version = None;
    }
    for p in s.policies.values_mut() {
        let mut versions = p.versions.clone();
        versions.sort_by_key(|v| v.version_id.parse::<u64>().unwrap());
        let default = versions
            .iter()
            .position(|v| v.version_id == p.default_version_id)
            .unwrap();
        p.versions = versions
            .into_iter()
            .enumerate()
            .map(|(i, v)| PolicyVersion {
                version_id: (i + 1).to_string().into(),
                policy_document: canonical_document(&v.policy_document),
            })
            .collect();
        p.default_version_id = (default + 1).to_string().into();
    }
    s
}

/// Fills `versions_before` of each `CreatePolicyVersion` as applying the plan in order
/// finds it, which makes the change safe to repeat after a lost answer.
fn with_versions_before(plan: &mut Plan, target: &Snapshot) {
    let mut sim = target.clone();
    for c in &mut plan.changes {
        if let Change::CreatePolicyVersion {
            policy_name,
            versions_before: before @ None,
            ..
        } = &mut c.change
        {
            *before = Some(sim.policies[policy_name].versions.len() as u32);
        }
        apply_change(&mut sim, &c.change).expect("the plan applies in order");
    }
}

/// The plan's changes with each stage's changes in a random order, the changes of one
/// resource keeping theirs.
fn shuffled_within_stages(plan: &Plan, rng: &mut ChaCha8Rng) -> Vec<PlannedChange> {
    let mut out = Vec::with_capacity(plan.changes.len());
    let mut stages: BTreeMap<u32, Vec<&PlannedChange>> = BTreeMap::new();
    for c in &plan.changes {
        stages.entry(c.stage).or_default().push(c);
    }
    for changes in stages.into_values() {
        let mut per_key: Vec<Vec<&PlannedChange>> = Vec::new();
        let mut slot: HashMap<ResourceKey, usize> = HashMap::new();
        for c in changes {
            let i = *slot.entry(c.change.key()).or_insert_with(|| {
                per_key.push(Vec::new());
                per_key.len() - 1
            });
            per_key[i].push(c);
        }
        for run in &mut per_key {
            run.reverse();
        }
        while !per_key.is_empty() {
            let i = rng.random_range(0..per_key.len());
            out.push(per_key[i].pop().expect("runs are not empty").clone());
            if per_key[i].is_empty() {
                per_key.swap_remove(i);
            }
        }
    }
    out
}

/// A registry whose calls take a random time.
struct Jittery {
    inner: MemoryRegistry,
    rng: Mutex<ChaCha8Rng>,
}

#[async_trait]
impl Registry for Jittery {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot, RegistryError> {
        self.inner.read(request).await
    }
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, RegistryError> {
        self.inner.read_resource(key).await
    }
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>, RegistryError> {
        self.inner.related(query).await
    }
    async fn apply(&self, change: &Change) -> Result<Outcome, RegistryError> {
        let ms = self.rng.lock().unwrap().random_range(0..20);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.inner.apply(change).await
    }
}

fn check(a: &Shape, b: &Shape, prune: bool, seed: u64) -> Result<(), TestCaseError> {
    let (desired, before) = (registry(a), registry(b));
    let opts = DiffOptions {
        prune,
        ..Default::default()
    };
    let mut plan = diff(&desired, &before, &opts);
    with_versions_before(&mut plan, &before);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    plan.changes = shuffled_within_stages(&plan, &mut rng);

    let target = Jittery {
        inner: MemoryRegistry::with_snapshot(before.clone()),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed)),
    };
    let mut apis: Vec<&str> = plan.changes.iter().map(|c| c.change.api()).collect();
    apis.shuffle(&mut rng);
    let faults = rng.random_range(0..=4usize).min(apis.len());
    for api in &apis[..faults] {
        target.inner.inject(Fault::lost_answer(Some(api)));
    }
    let options = ApplyOptions {
        concurrency: rng.random_range(1..=8),
        retry: RetryPolicy::fast(8),
        ..ApplyOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let report = runtime.block_on(apply_plan(&plan, &target, &options, None));
    prop_assert!(report.is_success(), "{report}");
    prop_assert_eq!(report.counts.total(), plan.changes.len());
    prop_assert_eq!(target.inner.clear_faults(), 0, "every fault fired");

    let after = target.inner.snapshot();
    let again = diff(&desired, &after, &opts);
    prop_assert!(
        again.is_empty(),
        "second plan: {:?}",
        again
            .changes
            .iter()
            .map(|c| c.change.to_string())
            .collect::<Vec<_>>()
    );
    if prune && plan.warnings.is_empty() {
        prop_assert_eq!(comparable(&after), comparable(&desired));
    } else {
        for r in desired.resources() {
            prop_assert!(after.contains(&r.key()), "missing {}", r.key());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn a_plan_applied_with_random_order_and_lost_answers_yields_the_source(
        a in shape(),
        b in shape(),
        prune in any::<bool>(),
        seed in any::<u64>(),
    ) {
        check(&a, &b, prune, seed)?;
    }
}
