//! Opening registries from locations.

use std::sync::Arc;

use iot_crr_aws::{AwsOptions, AwsRegistry, CertStrategy, Quotas, TagMode};
use iot_crr_registry::{FileRegistry, Location, MemoryRegistry, Registry};

use crate::{ReconcileError, Result};

/// Where a registry is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The location (`file:PATH`, `aws:REGION`, `memory:`).
    pub location: Location,
    /// For `aws:`: an endpoint URL overriding the standard one (`AWS_ENDPOINT_URL` is
    /// honoured too).
    pub endpoint_url: Option<String>,
    /// For `aws:`: a profile of the shared AWS config files (`AWS_PROFILE` is honoured
    /// too).
    pub profile: Option<String>,
}

impl Endpoint {
    /// An endpoint with the standard AWS configuration.
    pub fn new(location: Location) -> Self {
        Endpoint {
            location,
            endpoint_url: None,
            profile: None,
        }
    }

    /// Parses a location string into an endpoint with the standard AWS configuration.
    pub fn parse(location: &str) -> Result<Self> {
        Ok(Endpoint::new(location.parse()?))
    }
}

/// Which side of a replication a registry is on: it decides what a missing snapshot
/// file means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read from: a `file:` source must exist (a typo must not read as an empty
    /// registry, which a prune would then mirror by deleting the whole target).
    Source,
    /// Written to: a missing `file:` target is an empty registry, created on first
    /// write.
    Target,
}

/// How `aws:` registries are used (ignored by other backends).
#[derive(Debug, Clone, PartialEq)]
pub struct BackendOptions {
    /// How certificates are registered in the target.
    pub cert_strategy: CertStrategy,
    /// Whether tags are read and written.
    pub tags: TagMode,
    /// Rate quotas per API operation.
    pub quotas: Quotas,
    /// Attempts per API call, the first included.
    pub max_attempts: u32,
}

impl Default for BackendOptions {
    fn default() -> Self {
        let aws = AwsOptions::new("");
        BackendOptions {
            cert_strategy: aws.cert_strategy,
            tags: aws.tags,
            quotas: aws.quotas,
            max_attempts: aws.max_attempts,
        }
    }
}

/// Opens the registry at `endpoint` for the given role. No call is made to AWS yet
/// (credentials are resolved by the first request); a snapshot file is not parsed yet.
pub async fn open(
    endpoint: &Endpoint,
    role: Role,
    options: &BackendOptions,
) -> Result<Arc<dyn Registry>> {
    let location = endpoint.location.to_string();
    let fail = |reason: String| ReconcileError::Open {
        location: location.clone(),
        reason,
    };
    Ok(match &endpoint.location {
        Location::File(path) => {
            if role == Role::Source && !path.exists() {
                return Err(fail(format!(
                    "no such snapshot file {}: a source must exist (only a missing target \
                     is created)",
                    path.display()
                )));
            }
            Arc::new(FileRegistry::open(path).map_err(|e| fail(e.message))?)
        }
        Location::Aws { region } => {
            if options.max_attempts == 0 {
                return Err(fail(
                    "the number of attempts per call must be at least 1".into(),
                ));
            }
            let mut o = AwsOptions::new(region.clone());
            o.endpoint_url = endpoint.endpoint_url.clone();
            o.profile = endpoint.profile.clone();
            o.cert_strategy = options.cert_strategy;
            o.tags = options.tags;
            o.quotas = options.quotas.clone();
            o.max_attempts = options.max_attempts;
            Arc::new(AwsRegistry::connect(o).await.map_err(|e| fail(e.message))?)
        }
        Location::Memory => Arc::new(MemoryRegistry::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_source_file_is_an_error_but_a_missing_target_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing =
            Endpoint::parse(&format!("file:{}/typo.jsonl", dir.path().display())).unwrap();
        let o = BackendOptions::default();
        let e = open(&missing, Role::Source, &o)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no such snapshot file"), "{e}");
        assert!(e.contains("typo.jsonl"), "{e}");
        assert!(open(&missing, Role::Target, &o).await.is_ok());
        assert!(Endpoint::parse("nope").is_err());
    }
}
