//! Certificate PEMs, read from the source only for the certificates the target lacks.
//!
//! A comparison reads no PEM on either side (an equal certificate id is an equal
//! certificate: the id is the SHA-256 of the DER), so a plan from [`compare`](crate::compare)
//! registers certificates without their PEMs. They are read from the source either all
//! before a plan is shown or saved ([`fill_certificate_pems`]), or one by one as each
//! registration is sent ([`SourcePems`], what [`sync`](crate::sync) does): then reading
//! the source (`DescribeCertificate`, 10 a second by default) and writing the target
//! (`RegisterCertificateWithoutCA`, 10 a second) run at the same time, each at its own
//! quota, instead of one after the other.

use std::sync::Arc;

use async_trait::async_trait;
use iot_crr_model::{
    CertificateStatus, Change, Kind, Name, Origin, Outcome, Plan, Related, Resource, ResourceKey,
    Snapshot,
};
use iot_crr_registry::{
    Capabilities, ErrorClass, KeyPage, ReadProgress, ReadRequest, Registry, RegistryError,
    Result as RegResult,
};

use crate::{ReconcileError, Result};

/// Reads in flight at once while reading the PEMs of certificates to register.
const PEM_READ_CONCURRENCY: usize = 8;

/// Whether a change registers a certificate whose PEM is still to be read.
fn lacks_pem(change: &Change) -> Option<&Name> {
    match change {
        Change::RegisterCertificate {
            certificate_id,
            certificate_pem,
            ..
        } if certificate_pem.is_empty() => Some(certificate_id),
        _ => None,
    }
}

/// Whether any change of `plan` registers a certificate without its PEM (a plan from
/// [`compare`](crate::compare) that registers certificates): what
/// [`fill_certificate_pems`] would read.
pub fn plan_lacks_pems(plan: &Plan) -> bool {
    plan.changes.iter().any(|c| lacks_pem(&c.change).is_some())
}

/// Reads from `source` the PEM (and CA) of every certificate the plan registers without
/// one ([`Registry::certificate_pem`]: one `DescribeCertificate` each on AWS, a line of
/// the file for a snapshot), so that the plan can be shown whole, saved and applied
/// later. A certificate gone from the source since the comparison read it is left out
/// of the plan, with a warning (what depends on it fails as skipped; the next
/// comparison no longer plans it).
pub async fn fill_certificate_pems(
    source: &dyn Registry,
    plan: &mut Plan,
    progress: Option<Arc<dyn ReadProgress>>,
) -> Result<()> {
    use futures::{StreamExt, TryStreamExt, stream};

    let missing: Vec<(usize, String)> = plan
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| lacks_pem(&c.change).map(|id| (i, id.to_string())))
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
            Ok::<_, RegistryError>((i, r))
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

/// The target, with each certificate registration that lacks its PEM completed from the
/// source just before it is sent. Everything else goes to the target unchanged.
///
/// A certificate gone from the source since the comparison fails its registration with
/// a `NotFound` error saying so (what depends on it is skipped; the next comparison no
/// longer plans it). An error reading the source fails the registration with the
/// source's error class, so a throttled read is retried like a throttled write.
pub struct SourcePems<'a> {
    target: &'a dyn Registry,
    source: &'a dyn Registry,
}

impl<'a> SourcePems<'a> {
    /// `target`, completing registrations from `source`.
    pub fn new(target: &'a dyn Registry, source: &'a dyn Registry) -> Self {
        SourcePems { target, source }
    }

    /// The registration of `certificate_id` with its PEM (and CA) from the source.
    async fn complete(
        &self,
        certificate_id: &Name,
        status: CertificateStatus,
        ca_certificate_id: &Option<Name>,
    ) -> RegResult<Change> {
        let read = self
            .source
            .certificate_pem(certificate_id)
            .await
            .map_err(|e| {
                let mut e = e.with_api("DescribeCertificate");
                e.message = format!(
                    "reading its PEM from {}: {}",
                    self.source.location(),
                    e.message
                );
                e
            })?;
        match read {
            Some((pem, ca)) if !pem.is_empty() => Ok(Change::RegisterCertificate {
                certificate_id: certificate_id.clone(),
                certificate_pem: pem,
                status,
                ca_certificate_id: ca.or_else(|| ca_certificate_id.clone()),
            }),
            _ => Err(RegistryError::new(
                ErrorClass::NotFound,
                format!(
                    "certificate {certificate_id} is no longer in {} (deleted after the \
                     comparison read it); the next comparison leaves it out",
                    self.source.location()
                ),
            )
            .with_api("DescribeCertificate")),
        }
    }
}

#[async_trait]
impl Registry for SourcePems<'_> {
    fn location(&self) -> String {
        self.target.location()
    }

    async fn read(&self, request: &ReadRequest) -> RegResult<Snapshot> {
        self.target.read(request).await
    }

    async fn read_resource(&self, key: &ResourceKey) -> RegResult<Option<Resource>> {
        self.target.read_resource(key).await
    }

    async fn apply(&self, change: &Change) -> RegResult<Outcome> {
        match change {
            Change::RegisterCertificate {
                certificate_id,
                certificate_pem,
                status,
                ca_certificate_id,
            } if certificate_pem.is_empty() => {
                let complete = self
                    .complete(certificate_id, *status, ca_certificate_id)
                    .await?;
                self.target.apply(&complete).await
            }
            _ => self.target.apply(change).await,
        }
    }

    async fn commit(&self) -> RegResult<()> {
        self.target.commit().await
    }

    async fn list_keys(
        &self,
        kind: Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> RegResult<KeyPage> {
        self.target.list_keys(kind, cursor, limit).await
    }

    async fn certificate_pem(&self, id: &str) -> RegResult<Option<(String, Option<Name>)>> {
        self.target.certificate_pem(id).await
    }

    fn api_calls(&self) -> Vec<(String, u64)> {
        self.target.api_calls()
    }

    fn throttles(&self) -> Vec<(String, u64)> {
        self.target.throttles()
    }

    async fn related(&self, query: &Related) -> RegResult<Vec<ResourceKey>> {
        self.target.related(query).await
    }

    fn origin(&self) -> Origin {
        self.target.origin()
    }

    fn capabilities(&self) -> Capabilities {
        self.target.capabilities()
    }

    async fn adopt_origin(&self, origin: &Origin) -> RegResult<()> {
        self.target.adopt_origin(origin).await
    }
}
