//! The `aws:REGION` registry backend of iot-crr: the AWS IoT Core registry of one region,
//! read and written through the official AWS SDK for Rust.
//!
//! [`AwsRegistry`] implements [`iot_crr_registry::Registry`]:
//! - [`Registry::read`](iot_crr_registry::Registry::read) reads every kind of the model
//!   with pagination and the fewest calls (see [`read`](mod@read) for the calls per
//!   resource), honouring the request's filter, with bounded concurrency;
//! - [`Registry::apply`](iot_crr_registry::Registry::apply) performs one
//!   [`Change`](iot_crr_model::Change) with the semantics of
//!   [`iot_crr_model::apply_change`] (idempotent);
//! - every SDK call is paced by a [`RateBudget`] (per-API token buckets with adaptive
//!   back-off, shareable between registries of one account and region) and retried on
//!   throttling and transient faults with [`iot_crr_registry::RetryPolicy`]; failures
//!   are classified into [`ErrorClass`](iot_crr_registry::ErrorClass)es with their
//!   code, status, retry-after hint and whether they may have been applied
//!   ([`error`]).
//!
//! The standard AWS configuration is honoured (credentials chain, `AWS_PROFILE`,
//! `AWS_ENDPOINT_URL`, shared config files), with explicit overrides in [`AwsOptions`].
//!
//! Differences of moto (the emulator the tests run against) are noted where the code
//! works around them: it lacks the tag API, `CreateDynamicThingGroup` and
//! `UpdateThingType` (HTTP 500 with an HTML page, classified as
//! [`ErrorClass::Unsupported`](iot_crr_registry::ErrorClass::Unsupported)).

pub mod arn;
pub mod error;
mod kinds;
mod options;
pub mod quotas;
mod rate;
mod raw;
pub mod read;
mod registry;
mod write;

pub use iot_crr_registry::rate::{LocalBudget, QuotaError, Quotas, RateBudget};
pub use options::{AwsOptions, CertStrategy, OptionError, TagMode};
pub use quotas::{LiveQuotas, LiveRate, live_quotas};
pub use registry::{AwsRegistry, DEFAULT_READ_CONCURRENCY, TEST_AUTHORIZATION_BATCH};
