//! The [`Registry`] trait of iot-crr and its embedded backends.
//!
//! A registry is anything that holds AWS IoT registry resources: the real AWS IoT
//! control plane of one region (crate `iot-crr-aws`), a snapshot file ([`FileRegistry`],
//! the embedded default, also used for backup and export) or memory ([`MemoryRegistry`],
//! for tests, with fault injection).
//!
//! The trait is async and fallible per change so that a remote, rate-limited backend
//! fits it: reads return a whole (filtered) [`Snapshot`], paginated inside the backend
//! (a backend whose things are slow to read may hand them over page by page before the
//! read ends, [`ThingPages`]); writes are one [`Change`] at a time, each with its own
//! outcome, so one failure never hides the others.
//!
//! [`rate`] holds what paces calls to a rate-limited API: [`Quotas`], the
//! [`RateBudget`] a backend (or the [`Paced`] wrapper) acquires each call from, and
//! [`LocalBudget`], the in-process budget that several registries can share.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
pub use iot_crr_model::Related;
use iot_crr_model::{
    Change, Counts, Filter, Kind, Name, Origin, Outcome, Resource, ResourceKey, Snapshot, Thing,
};

mod file;
mod location;
mod memory;
pub mod rate;
mod retry;

pub use file::FileRegistry;
pub use location::{Location, LocationError};

pub use memory::{Fault, FaultKind, MemoryRegistry};
pub use rate::{Floor, LocalBudget, Paced, QuotaError, Quotas, RateBudget};
pub use retry::RetryPolicy;

/// How an error should be handled: the engine retries [`ErrorClass::Throttled`] and
/// [`ErrorClass::Transient`] and reports the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The API's rate limit was hit: back off and retry.
    Throttled,
    /// A fault that may go away (timeout, 5xx, connection reset): retry.
    Transient,
    /// The target's state conflicts with the change (a version mismatch, a resource in
    /// use, already exists with other properties).
    Conflict,
    /// A resource the change needs does not exist.
    NotFound,
    /// The request is invalid for this registry (a bad name, a limit exceeded).
    Invalid,
    /// The credentials lack a permission.
    AccessDenied,
    /// The registry cannot do this at all (e.g. an API that an emulator lacks).
    Unsupported,
    /// Anything else: a local I/O error, an unparsable response.
    Other,
}

impl ErrorClass {
    /// Whether a retry may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Throttled | ErrorClass::Transient)
    }

    /// A short label for reports and metrics.
    pub fn label(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::Transient => "transient",
            ErrorClass::Conflict => "conflict",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Invalid => "invalid",
            ErrorClass::AccessDenied => "access_denied",
            ErrorClass::Unsupported => "unsupported",
            ErrorClass::Other => "other",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An error of a registry operation, classified for retry decisions.
///
/// Besides its [`ErrorClass`], an error keeps what the registry said as data rather
/// than only as text, so that callers decide on fields, never on message substrings:
/// the AWS error code, the HTTP status, a retry-after hint, and whether a write may
/// have been applied although it failed (a timeout or a dropped connection after the
/// request was sent). Its `Display` stays one line: `API: message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{message}", match api { Some(a) => format!("{a}: "), None => String::new() })]
pub struct RegistryError {
    /// How to handle it.
    pub class: ErrorClass,
    /// The API operation that failed, when there is one (`CreateThing`).
    pub api: Option<String>,
    /// What went wrong, for a person.
    pub message: String,
    /// The registry's own error code (`ResourceAlreadyExistsException`), when it sent
    /// one.
    pub code: Option<String>,
    /// The HTTP status of the answer, when an answer arrived.
    pub status: Option<u16>,
    /// How long the registry asked the caller to wait before retrying, when it said.
    pub retry_after: Option<Duration>,
    /// Whether the write may have taken effect although no success was seen: the
    /// request was sent and the answer was lost (timeout, dropped connection, a server
    /// fault after the request was accepted). A retry of such a write must first find
    /// out whether the first attempt was applied.
    pub maybe_applied: bool,
}

impl RegistryError {
    /// Builds an error.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        RegistryError {
            class,
            api: None,
            message: message.into(),
            code: None,
            status: None,
            retry_after: None,
            maybe_applied: false,
        }
    }

    /// Sets the API operation.
    pub fn with_api(mut self, api: impl Into<String>) -> Self {
        self.api = Some(api.into());
        self
    }

    /// Sets the registry's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the retry-after hint.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Marks the error as one after which the write may have been applied.
    pub fn maybe_applied(mut self) -> Self {
        self.maybe_applied = true;
        self
    }

    /// Whether the registry answered with this error code.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The same error with another class (the message and data are kept).
    pub fn reclassified(mut self, class: ErrorClass) -> Self {
        self.class = class;
        self
    }
}

impl From<iot_crr_model::ApplyError> for RegistryError {
    fn from(e: iot_crr_model::ApplyError) -> Self {
        use iot_crr_model::ApplyErrorKind as K;
        let class = match e.kind {
            K::NotFound => ErrorClass::NotFound,
            K::Conflict => ErrorClass::Conflict,
            K::Invalid => ErrorClass::Invalid,
        };
        RegistryError::new(class, e.message)
    }
}

/// The result type of registry operations.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Receives progress of a long read (resources read so far, per kind).
pub trait ReadProgress: Send + Sync {
    /// `n` more resources of `kind` were read.
    fn read(&self, kind: Kind, n: u64);
}

/// What to read.
#[derive(Clone, Default)]
pub struct ReadRequest {
    /// Only resources this filter selects are needed; a backend may read more and let
    /// the caller filter, but should skip kinds that are not selected.
    pub filter: Filter,
    /// Where to report progress.
    pub progress: Option<Arc<dyn ReadProgress>>,
    /// The caller does not need the certificates' PEMs (a comparison: AWS IoT's
    /// certificate id is the SHA-256 of the certificate, so an equal id is an equal
    /// certificate, and a diff never compares PEMs). A backend that needs a call per
    /// certificate for its PEM (`DescribeCertificate`, 10 a second by default) then
    /// leaves `certificate_pem` empty and `ca_certificate_id` unknown; the caller reads
    /// those of the certificates it must register, one by one. Others may ignore it.
    pub skip_certificate_pems: bool,
    /// Where things may be handed over before the read ends ([`ThingPages`]). A
    /// backend whose things take long to read (AWS: a `ListThingPrincipals` per
    /// thing) sends each page of things here once it is complete, and leaves the
    /// things it sent out of the snapshot it returns; others ignore it.
    pub thing_pages: Option<ThingPages>,
}

/// The sending end of a channel of things read before the rest of a read
/// ([`ReadRequest::thing_pages`]): what lets a sync write the first things while the
/// last are still being read.
///
/// A page is a set of things complete in every respect a whole read gives them (type,
/// attributes, version, groups, billing group, principals), all selected by the
/// request's filter, none in another page or in the returned snapshot. A backend
/// sends pages only when its principals cover everything a thing has
/// ([`PrincipalCoverage::All`](iot_crr_model::PrincipalCoverage::All)); when the
/// things' principals are read another way, everything stays in the snapshot.
#[derive(Debug, Clone)]
pub struct ThingPages {
    tx: tokio::sync::mpsc::UnboundedSender<Vec<Thing>>,
}

impl ThingPages {
    /// A channel: the sender for the [`ReadRequest`], the receiver for the caller.
    pub fn channel() -> (ThingPages, tokio::sync::mpsc::UnboundedReceiver<Vec<Thing>>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (ThingPages { tx }, rx)
    }

    /// Hands a page over. When the receiver is gone the page comes back, and the
    /// backend keeps its things in the snapshot it returns.
    pub fn send(&self, page: Vec<Thing>) -> std::result::Result<(), Vec<Thing>> {
        if page.is_empty() {
            return Ok(());
        }
        self.tx.send(page).map_err(|e| e.0)
    }
}

impl fmt::Debug for ReadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadRequest")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl ReadRequest {
    /// Reports progress, if anyone listens.
    pub fn report(&self, kind: Kind, n: u64) {
        if let Some(p) = &self.progress {
            p.read(kind, n);
        }
    }

    /// Reports a whole read at once: the count of each kind.
    pub fn report_counts(&self, counts: &Counts) {
        for k in Kind::ALL {
            self.report(k, counts.get(k) as u64);
        }
    }
}

/// One page of a registry's resource keys of one kind ([`Registry::list_keys`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys of this page, in the registry's listing order.
    pub keys: Vec<ResourceKey>,
    /// The cursor of the next page, or `None` when this page was the last. Opaque: an
    /// AWS `nextToken`/`marker`, or the last name for registries that list in name
    /// order. A cursor may expire (AWS does not promise how long a token lives); the
    /// caller then starts the listing again.
    pub next: Option<String>,
}

/// The largest page [`Registry::list_keys`] returns (the IoT list APIs' maximum).
pub const MAX_KEY_PAGE: usize = 250;

/// A page of `snapshot`'s keys of `kind` after the name `cursor` (the default
/// [`Registry::list_keys`], and the one of registries held in memory).
pub fn key_page(snapshot: &Snapshot, kind: Kind, cursor: Option<&str>, limit: usize) -> KeyPage {
    let (names, more) = snapshot.names_after(kind, cursor, limit.clamp(1, MAX_KEY_PAGE));
    let next = if more {
        names.last().map(|n| n.to_string())
    } else {
        None
    };
    KeyPage {
        keys: names
            .into_iter()
            .map(|n| ResourceKey::new(kind, n))
            .collect(),
        next,
    }
}

/// A registry of AWS IoT resources: read it whole or one resource at a time, change it
/// one [`Change`] at a time.
#[async_trait]
pub trait Registry: Send + Sync {
    /// The location string of this registry (`file:fleet.jsonl`, `aws:eu-west-1`).
    fn location(&self) -> String;

    /// Reads every resource the request's filter selects. Relations (memberships,
    /// principals, policy attachments) are read with their owning resource.
    async fn read(&self, request: &ReadRequest) -> Result<Snapshot>;

    /// Reads one resource with its relations, or `None` when it does not exist.
    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>>;

    /// Applies one change. Idempotent: a change whose effect is already in place returns
    /// [`Outcome::AlreadyInState`] instead of failing.
    async fn apply(&self, change: &Change) -> Result<Outcome>;

    /// Makes applied changes durable where the backend buffers them (the file backend
    /// writes its file here, atomically). A no-op for backends that write through.
    async fn commit(&self) -> Result<()> {
        Ok(())
    }

    /// One page of the keys of the resources of `kind`, from `cursor` (the first page
    /// when `None`), at most `limit` (and at most [`MAX_KEY_PAGE`]) keys: how a
    /// reconcile that must stop and resume (a Lambda function under its time limit)
    /// walks a registry too large to read at once. The default reads the registry and
    /// pages it by name; backends with a list API override it with one call per page.
    async fn list_keys(&self, kind: Kind, cursor: Option<&str>, limit: usize) -> Result<KeyPage> {
        let request = ReadRequest {
            filter: Filter {
                kinds: vec![kind],
                ..Filter::default()
            },
            ..ReadRequest::default()
        };
        let snapshot = self.read(&request).await?;
        Ok(key_page(&snapshot, kind, cursor, limit))
    }

    /// The PEM of a certificate and the id of its CA (when registered with one), or
    /// `None` when the certificate does not exist: what registering it elsewhere needs
    /// and a comparison does not read. The default reads the whole resource; a backend
    /// with a cheaper way (one `DescribeCertificate`, without the policy list) overrides
    /// it.
    async fn certificate_pem(&self, id: &str) -> Result<Option<(String, Option<Name>)>> {
        Ok(
            match self
                .read_resource(&ResourceKey::new(Kind::Certificate, id))
                .await?
            {
                Some(Resource::Certificate(c)) => Some((c.certificate_pem, c.ca_certificate_id)),
                _ => None,
            },
        )
    }

    /// Calls made per API operation so far, sorted by name (for `--stats`). Backends
    /// without an API return nothing.
    fn api_calls(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// Calls answered with throttling per API operation so far, sorted by name (for
    /// metrics). Backends without an API return nothing.
    fn throttles(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// The keys of the resources related to one resource in a given way (the children
    /// of a group, the things a principal is attached to, ...): what a keyed reconcile
    /// asks instead of reading the whole registry. A resource that does not exist has
    /// no related resources.
    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>>;

    /// Region and account of this registry as far as the backend knows them without a
    /// read (an `aws:` registry knows its region, and its account once it has seen an
    /// ARN; a snapshot file knows what its header says once it was read).
    fn origin(&self) -> Origin {
        Origin::default()
    }

    /// What this backend can do; the reconciler decides on these, never on the
    /// backend's concrete type.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// The snapshot file this registry is, when it is one: a comparison of two files
    /// reads them side by side ([`FileRegistry::read_pair`]). Other backends, and
    /// wrappers, answer `None`.
    fn as_file(&self) -> Option<&FileRegistry> {
        None
    }

    /// Asks the registry's own policy engine how it decides requests of one connection
    /// (AWS IoT's `TestAuthorization`: the policies attached to the certificate and,
    /// when the client id names a thing it is attached to, its groups'), one answer per
    /// check in order. Only the AWS backend has such an engine; the default says the
    /// registry cannot (an [`ErrorClass::Unsupported`] error).
    async fn test_authorization(
        &self,
        query: &AuthorizationQuery,
    ) -> Result<Vec<AuthorizationAnswer>> {
        let _ = query;
        Err(RegistryError::new(
            ErrorClass::Unsupported,
            format!(
                "{} has no policy engine to ask (TestAuthorization is AWS IoT's)",
                self.location()
            ),
        ))
    }

    /// Tells a registry that is about to receive a replica which region and account
    /// its content names. A snapshot file that does not record an origin yet records
    /// this one; other backends ignore it.
    async fn adopt_origin(&self, origin: &Origin) -> Result<()> {
        let _ = origin;
        Ok(())
    }
}

/// The requests of one connection to test against a registry's policy engine
/// ([`Registry::test_authorization`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationQuery {
    /// The certificate the connection authenticates with (its id; the backend builds
    /// its ARN).
    pub certificate_id: String,
    /// The MQTT client id.
    pub client_id: String,
    /// The requests: an action (`iot:Connect`, `iot:Publish`, `iot:Subscribe`,
    /// `iot:Receive`) and the resource's full ARN in this registry's region and account.
    pub checks: Vec<(String, String)>,
}

/// A policy engine's decision on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizationAnswer {
    /// Allowed.
    Allowed,
    /// Denied by a statement.
    ExplicitDeny,
    /// Not allowed by any statement.
    ImplicitDeny,
}

impl AuthorizationAnswer {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        self == AuthorizationAnswer::Allowed
    }
}

/// What a registry backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether the registry reads and writes tags (an AWS endpoint without the tag
    /// API, or `--tags off`, does not). When either side of a comparison lacks tags,
    /// tags are left out of it.
    pub tags: bool,
    /// Whether the backend retries each call itself (with its own back-off and
    /// pacing); the engine then sends each change once.
    pub retries_internally: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            tags: true,
            retries_internally: false,
        }
    }
}
