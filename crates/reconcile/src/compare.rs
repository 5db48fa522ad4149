//! Comparing two whole registries.

use std::sync::Arc;

use iot_crr_model::{DiffOptions, Filter, Origin, Plan, SameLines, Snapshot, diff_pair};
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
    read_request(registry, &request(filter, progress, skip_certificate_pems)).await
}

/// The request of a whole read of what `filter` selects.
pub(crate) fn request(
    filter: &Filter,
    progress: Option<Arc<dyn ReadProgress>>,
    skip_certificate_pems: bool,
) -> ReadRequest {
    ReadRequest {
        filter: filter.clone(),
        progress,
        skip_certificate_pems,
        thing_pages: None,
    }
}

/// Reads what `request` asks of a registry; an error names the registry.
pub(crate) async fn read_request(
    registry: &dyn Registry,
    request: &ReadRequest,
) -> Result<Snapshot> {
    registry
        .read(request)
        .await
        .map_err(|source| ReconcileError::Read {
            location: registry.location(),
            source,
        })
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

/// Reads both sides of a comparison, without PEMs, at the same time: two snapshot
/// files side by side, keeping what they hold alike once (see
/// [`FileRegistry::read_pair`](iot_crr_registry::FileRegistry::read_pair)); any other
/// pair (or files that way does not apply to) each on its own, with nothing held alike.
async fn read_both(
    source: &dyn Registry,
    target: &dyn Registry,
    filter: &Filter,
    progress: &Progress<'_>,
) -> Result<(Snapshot, Snapshot, SameLines)> {
    let (sr, tr) = (
        request(filter, progress.source_read.clone(), true),
        request(filter, progress.target_read.clone(), true),
    );
    if let (Some(s), Some(t)) = (source.as_file(), target.as_file()) {
        let pair = iot_crr_registry::FileRegistry::read_pair(s, t, &sr, &tr)
            .await
            .map_err(|source| ReconcileError::Read {
                location: s.location(),
                source,
            })?;
        if let Some(p) = pair {
            return Ok(p);
        }
    }
    let (desired, actual) = tokio::try_join!(read_request(source, &sr), read_request(target, &tr))?;
    Ok((desired, actual, SameLines::default()))
}

/// Reads both registries (at the same time) and computes the plan that makes the
/// target equal to the source.
///
/// The plan's certificate registrations carry no PEM yet (no PEM is read on either
/// side): [`fill_certificate_pems`](crate::fill_certificate_pems) reads them before the
/// plan is saved or printed as JSON, and [`apply_fresh`](crate::apply_fresh) reads each
/// as its registration is sent.
pub async fn compare(
    source: &dyn Registry,
    target: &dyn Registry,
    options: &ReconcileOptions,
    progress: &Progress<'_>,
) -> Result<Comparison> {
    options.filter.validate()?;
    // Neither side's PEMs are read: the diff never compares them (an equal id is an
    // equal certificate). Those of the certificates to register are read later, as
    // the plan is filled (`fill_certificate_pems`) or as each registration is sent
    // (`SourcePems`).
    let (desired, actual, same) = read_both(source, target, &options.filter, progress).await?;
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
        diff_pair(&desired, &actual, &same, &diff_options)
    })
    .await?;
    plan.source = source.location();
    plan.target = target.location();
    options.rewrite.check_strict(&plan)?;
    Ok(Comparison {
        plan,
        source_origin,
        target_origin,
        notes,
    })
}
