//! Keyed reconcile: a set of resources, without reading whole registries.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt, stream};
use iot_crr_engine::{ApplyOptions, ApplyProgress, ApplyReport};
use iot_crr_model::{
    Counts, DiffOptions, Misses, PartialView, Plan, PrincipalCoverage, ResourceKey, Snapshot,
    diff_keys, fingerprint, plan::PLAN_FORMAT_VERSION,
};
use iot_crr_registry::Registry;

use crate::apply::apply_fresh;
use crate::compare::{origin_of, tags_note, without_tags};
use crate::{ReconcileError, ReconcileOptions, Result};

/// Reads in flight at once while filling a view.
const READ_CONCURRENCY: usize = 8;
/// Rounds of reads before a keyed reconcile gives up (the deepest chain of questions
/// is a group hierarchy of 7 levels plus a few relations; registries that change under
/// the reconcile can make it longer).
const MAX_ROUNDS: usize = 48;

/// A keyed plan and how it was made.
#[derive(Debug)]
pub struct KeyedPlan {
    /// The plan: the full plan's changes about [`KeyedPlan::keys`]. Its fingerprint
    /// covers those resources of the target only.
    pub plan: Plan,
    /// The keys planned: the ones asked for (within the filter) and the companions
    /// their changes need.
    pub keys: BTreeSet<ResourceKey>,
    /// Resources and relations read from the two registries.
    pub reads: usize,
    /// Things a person should know (e.g. tags left out).
    pub notes: Vec<String>,
    /// Region and account of the source, as far as known.
    pub source_origin: iot_crr_model::Origin,
    /// The keys asked for (within the filter) that the source does not have. An event
    /// handler uses it to tell a resource the source no longer has from one in sync.
    pub source_absent: BTreeSet<ResourceKey>,
}

/// What a keyed reconcile did.
#[derive(Debug)]
pub struct KeyedOutcome {
    /// The plan applied.
    pub plan: Plan,
    /// The keys reconciled (with companions).
    pub keys: BTreeSet<ResourceKey>,
    /// Resources and relations read.
    pub reads: usize,
    /// What the apply did (empty when the plan was).
    pub report: ApplyReport,
}

/// Answers a view's misses from a registry, `READ_CONCURRENCY` reads at a time.
async fn fill(view: &mut PartialView, registry: &dyn Registry, misses: Misses) -> Result<usize> {
    let n = misses.len();
    let err = |source| ReconcileError::Read {
        location: registry.location(),
        source,
    };
    let resources: Vec<(ResourceKey, Option<iot_crr_model::Resource>)> =
        stream::iter(misses.resources)
            .map(|key| async move {
                let r = registry.read_resource(&key).await?;
                Ok::<_, iot_crr_registry::RegistryError>((key, r))
            })
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await
            .map_err(err)?;
    for (key, r) in resources {
        match r {
            Some(r) => view.insert(r),
            None => view.insert_absent(key),
        }
    }
    let answers: Vec<_> = stream::iter(misses.related)
        .map(|q| async move {
            let a = registry.related(&q).await?;
            Ok::<_, iot_crr_registry::RegistryError>((q, a))
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await
        .map_err(err)?;
    for (q, a) in answers {
        view.insert_related(q, a);
    }
    Ok(n)
}

fn counts_of(view: &PartialView, keys: &BTreeSet<ResourceKey>) -> (Counts, Snapshot) {
    let mut s = Snapshot::new();
    for k in keys {
        if let Some(r) = view.snapshot().get(k) {
            s.insert(r);
        }
    }
    (s.counts(), s)
}

/// Computes the plan for `keys`: reads from the two registries only what the diff of
/// those keys asks (the resources, their neighbours, the relations that decide what
/// survives), round after round until a round asks nothing new, then adds the
/// companions the changes need (resources to create first, a type to undeprecate, the
/// subtree of a re-created group, ...) and goes on until none is new. The result is
/// the full plan restricted to the final keys; it applies on its own.
pub async fn plan_keys(
    source: &dyn Registry,
    target: &dyn Registry,
    keys: &BTreeSet<ResourceKey>,
    options: &ReconcileOptions,
) -> Result<KeyedPlan> {
    options.filter.validate()?;
    let mut keys: BTreeSet<ResourceKey> = keys
        .iter()
        .filter(|k| options.filter.matches_key(k))
        .cloned()
        .collect();
    let asked = keys.clone();
    // Resources read one at a time carry all their principals.
    let mut desired = PartialView::new(PrincipalCoverage::All);
    let mut actual = PartialView::new(PrincipalCoverage::All);
    let mut reads = 0;
    for _ in 0..MAX_ROUNDS {
        let source_origin = origin_of(source, desired.snapshot());
        let target_origin = origin_of(target, actual.snapshot());
        let without = without_tags(&[source, target]);
        let diff_options = DiffOptions {
            prune: options.prune,
            filter: options.filter.clone(),
            // Unknown origins are not an error before anything was read.
            rewrite: match options.rewrite.resolve(&source_origin, &target_origin) {
                Ok(r) => r,
                Err(e) if reads > 0 => return Err(e),
                Err(_) => None,
            },
            ignore_tags: !without.is_empty(),
        };
        let keyed = diff_keys(&desired, &actual, &keys, &diff_options);
        let (dm, am) = (desired.take_misses(), actual.take_misses());
        if !dm.is_empty() || !am.is_empty() {
            let (a, b) = tokio::try_join!(
                async {
                    let mut v = std::mem::take(&mut desired);
                    let n = fill(&mut v, source, dm).await;
                    desired = v;
                    n
                },
                async {
                    let mut v = std::mem::take(&mut actual);
                    let n = fill(&mut v, target, am).await;
                    actual = v;
                    n
                },
            )?;
            reads += a + b;
            continue;
        }
        let new: Vec<ResourceKey> = keyed
            .companions
            .into_iter()
            .filter(|k| options.filter.matches_key(k) && !keys.contains(k))
            .collect();
        if !new.is_empty() {
            keys.extend(new);
            continue;
        }
        // Settled: every question of this round had its answer.
        let (desired_counts, _) = counts_of(&desired, &keys);
        let (target_counts, target_part) = counts_of(&actual, &keys);
        let plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            source: source.location(),
            target: target.location(),
            target_fingerprint: fingerprint(&target_part, &iot_crr_model::Filter::default()),
            options: diff_options,
            desired_counts,
            target_counts,
            changes: keyed.changes,
            warnings: keyed.warnings,
        };
        options.rewrite.check_strict(&plan)?;
        // Every asked key was read (the diff asks for its own key first).
        let source_absent = asked
            .into_iter()
            .filter(|k| desired.snapshot().get(k).is_none())
            .collect();
        return Ok(KeyedPlan {
            plan,
            keys,
            source_absent,
            reads,
            notes: tags_note(&without).into_iter().collect(),
            source_origin,
        });
    }
    Err(ReconcileError::Unsettled {
        rounds: MAX_ROUNDS,
        keys: keys.len(),
    })
}

/// Reconciles `keys`: [`plan_keys`], the delete bound, then the apply. This is the one
/// call an event handler makes for the resources an event names.
pub async fn reconcile_keys(
    source: &dyn Registry,
    target: &dyn Registry,
    keys: &BTreeSet<ResourceKey>,
    options: &ReconcileOptions,
    apply: &ApplyOptions,
) -> Result<KeyedOutcome> {
    reconcile_keys_with(source, target, keys, options, apply, None).await
}

/// [`reconcile_keys`] with a progress callback for each finished change.
pub async fn reconcile_keys_with(
    source: &dyn Registry,
    target: &dyn Registry,
    keys: &BTreeSet<ResourceKey>,
    options: &ReconcileOptions,
    apply: &ApplyOptions,
    progress: Option<&dyn ApplyProgress>,
) -> Result<KeyedOutcome> {
    let planned = plan_keys(source, target, keys, options).await?;
    let report = apply_fresh(
        target,
        &planned.plan,
        source,
        &planned.source_origin,
        &options.max_delete,
        apply,
        progress,
    )
    .await?;
    Ok(KeyedOutcome {
        plan: planned.plan,
        keys: planned.keys,
        reads: planned.reads,
        report,
    })
}
