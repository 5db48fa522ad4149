//! Comparing two whole registries.

use std::sync::Arc;

use iot_crr_model::{DiffOptions, Filter, Origin, Plan, Snapshot, diff};
use iot_crr_registry::{ReadProgress, ReadRequest, Registry};

use crate::{Progress, ReconcileError, ReconcileOptions, Result};

/// The two sides read and compared.
#[derive(Debug)]
pub struct Comparison {
    /// The plan that makes the target equal to the source.
    pub plan: Plan,
    /// Region and account of the source, as far as known.
    pub source_origin: Origin,
    /// Region and account of the target, as far as known.
    pub target_origin: Origin,
    /// Things a person should know about the comparison (e.g. tags left out because a
    /// side cannot use them).
    pub notes: Vec<String>,
}

/// Region and account of a registry: what the backend knows, completed by what a read
/// of it showed (a snapshot file's header).
pub fn origin_of(registry: &dyn Registry, read: &Snapshot) -> Origin {
    let mut o = registry.origin();
    if o.region.is_none() {
        o.region = read.origin.region.clone();
    }
    if o.account_id.is_none() {
        o.account_id = read.origin.account_id.clone();
    }
    o
}

/// Reads the resources of a registry that `filter` selects.
pub async fn read(
    registry: &dyn Registry,
    filter: &Filter,
    progress: Option<Arc<dyn ReadProgress>>,
) -> Result<Snapshot> {
    read_with(registry, filter, progress, false).await
}

/// [`read`], leaving out the certificates' PEMs when `skip_certificate_pems` (what a
/// comparison reads: see [`ReadRequest::skip_certificate_pems`]). The fingerprint of a
/// plan's target and the one `apply` checks are both taken over such a read.
pub(crate) async fn read_with(
    registry: &dyn Registry,
    filter: &Filter,
    progress: Option<Arc<dyn ReadProgress>>,
    skip_certificate_pems: bool,
) -> Result<Snapshot> {
    let request = ReadRequest {
        filter: filter.clone(),
        progress,
        skip_certificate_pems,
    };
    registry
        .read(&request)
        .await
        .map_err(|source| ReconcileError::Read {
            location: registry.location(),
            source,
        })
}

/// Reads in flight at once while reading the PEMs of certificates to register.
const PEM_READ_CONCURRENCY: usize = 8;

/// Reads from `source` the PEM (and CA) of every certificate the plan registers without
/// one (a comparison reads no PEMs; [`Registry::certificate_pem`]): one
/// `DescribeCertificate` for each certificate the target lacks, none for those it has. A certificate gone from the source since the
/// comparison read it is left out of the plan, with what depends on it failing as
/// skipped (the next comparison no longer plans it).
async fn fill_certificate_pems(
    source: &dyn Registry,
    plan: &mut Plan,
    progress: Option<Arc<dyn ReadProgress>>,
) -> Result<()> {
    use futures::{StreamExt, TryStreamExt, stream};
    use iot_crr_model::{Change, Kind};

    let missing: Vec<(usize, String)> = plan
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.change {
            Change::RegisterCertificate {
                certificate_id,
                certificate_pem,
                ..
            } if certificate_pem.is_empty() => Some((i, certificate_id.to_string())),
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let progress = &progress;
    let read: Vec<_> = stream::iter(missing)
        .map(|(i, id)| async move {
            let r = source.certificate_pem(&id).await?;
            if let Some(p) = progress {
                p.read(Kind::Certificate, 1);
            }
            Ok::<_, iot_crr_registry::RegistryError>((i, r))
        })
        .buffer_unordered(PEM_READ_CONCURRENCY)
        .try_collect()
        .await
        .map_err(|source_err| ReconcileError::Read {
            location: source.location(),
            source: source_err,
        })?;
    let mut gone = Vec::new();
    for (i, r) in read {
        match (r, &mut plan.changes[i].change) {
            (
                Some((pem, ca)),
                Change::RegisterCertificate {
                    certificate_pem,
                    ca_certificate_id,
                    ..
                },
            ) if !pem.is_empty() => {
                *certificate_pem = pem;
                *ca_certificate_id = ca;
            }
            _ => gone.push(i),
        }
    }
    if !gone.is_empty() {
        gone.sort_unstable();
        for i in gone.into_iter().rev() {
            let c = plan.changes.remove(i);
            tracing::warn!(
                "{}: the source no longer has it (or shows no PEM); left out of the plan",
                c.change
            );
        }
    }
    Ok(())
}

/// Runs CPU work (a diff, a fingerprint) off the async workers, on any runtime
/// flavour; a panic in it is an error about `registry`'s comparison.
pub(crate) async fn off_async<T: Send + 'static>(
    registry: &dyn Registry,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ReconcileError::Read {
            location: registry.location(),
            source: iot_crr_registry::RegistryError::new(
                iot_crr_registry::ErrorClass::Other,
                format!("{what} stopped: {e}"),
            ),
        })
}

/// Which sides cannot read or write tags (then tags are left out of the comparison).
pub(crate) fn without_tags(sides: &[&dyn Registry]) -> Vec<String> {
    sides
        .iter()
        .filter(|r| !r.capabilities().tags)
        .map(|r| r.location())
        .collect()
}

pub(crate) fn tags_note(without: &[String]) -> Option<String> {
    (!without.is_empty()).then(|| {
        format!(
            "tags are left out of the comparison: {} does not read or write them",
            without.join(" and ")
        )
    })
}

/// Reads both registries (at the same time) and computes the plan that makes the
/// target equal to the source.
pub async fn compare(
    source: &dyn Registry,
    target: &dyn Registry,
    options: &ReconcileOptions,
    progress: &Progress<'_>,
) -> Result<Comparison> {
    options.filter.validate()?;
    // Neither side's PEMs are read: the diff never compares them (an equal id is an
    // equal certificate); those of the certificates to register are read afterwards.
    let (desired, actual) = tokio::try_join!(
        read_with(source, &options.filter, progress.source_read.clone(), true),
        read_with(target, &options.filter, progress.target_read.clone(), true),
    )?;
    let source_origin = origin_of(source, &desired);
    let target_origin = origin_of(target, &actual);
    let rewrite = options.rewrite.resolve(&source_origin, &target_origin)?;
    // Tag support is known once the sides were read (an AWS endpoint is probed then).
    let without = without_tags(&[source, target]);
    let notes: Vec<String> = tags_note(&without).into_iter().collect();
    let diff_options = DiffOptions {
        prune: options.prune,
        filter: options.filter.clone(),
        rewrite,
        ignore_tags: !without.is_empty(),
    };
    // The diff is CPU work: keep it off the async workers (on any runtime flavour).
    let mut plan = off_async(target, "the diff", move || {
        diff(&desired, &actual, &diff_options)
    })
    .await?;
    fill_certificate_pems(source, &mut plan, progress.source_read.clone()).await?;
    plan.source = source.location();
    plan.target = target.location();
    Ok(Comparison {
        plan,
        source_origin,
        target_origin,
        notes,
    })
}
