//! Options of the AWS backend.

use std::fmt;
use std::str::FromStr;

use iot_crr_registry::Quotas;

/// How certificates are registered in the target region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CertStrategy {
    /// `RegisterCertificateWithoutCA`: multi-account registration, no CA needed in the
    /// target; devices must send SNI when they connect.
    #[default]
    WithoutCa,
    /// `RegisterCertificate` with the PEM of the certificate's CA, which must already be
    /// registered in the target (`DescribeCACertificate`).
    WithCa,
    /// Certificates are not replicated: registering one fails as unsupported.
    Skip,
}

impl CertStrategy {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CertStrategy::WithoutCa => "without-ca",
            CertStrategy::WithCa => "with-ca",
            CertStrategy::Skip => "skip",
        }
    }
}

impl fmt::Display for CertStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of an option that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {option} {input:?}: expected one of {expected}")]
pub struct OptionError {
    /// The option (`certificate strategy`).
    pub option: &'static str,
    /// The value as given.
    pub input: String,
    /// The accepted values.
    pub expected: &'static str,
}

impl FromStr for CertStrategy {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "without-ca" => Ok(CertStrategy::WithoutCa),
            "with-ca" => Ok(CertStrategy::WithCa),
            "skip" => Ok(CertStrategy::Skip),
            _ => Err(OptionError {
                option: "certificate strategy",
                input: s.to_string(),
                expected: "without-ca, with-ca, skip",
            }),
        }
    }
}

/// Whether tags are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum TagMode {
    /// Tags are used unless the endpoint does not implement the tag API (moto): then a
    /// warning is logged once and the backend runs without tags.
    #[default]
    Auto,
    /// Tags are always used; an endpoint without the tag API is an error.
    On,
    /// Tags are neither read nor written.
    Off,
}

impl TagMode {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TagMode::Auto => "auto",
            TagMode::On => "on",
            TagMode::Off => "off",
        }
    }
}

impl fmt::Display for TagMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TagMode {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(TagMode::Auto),
            "on" | "true" | "yes" => Ok(TagMode::On),
            "off" | "false" | "no" => Ok(TagMode::Off),
            _ => Err(OptionError {
                option: "tag mode",
                input: s.to_string(),
                expected: "auto, on, off",
            }),
        }
    }
}

/// How to reach and use the AWS IoT control plane of one region.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsOptions {
    /// The region (`eu-west-1`).
    pub region: String,
    /// An endpoint URL that overrides the standard one (`AWS_ENDPOINT_URL` is honoured
    /// too when this is `None`), e.g. a moto server.
    pub endpoint_url: Option<String>,
    /// A named profile of the shared AWS config files (`AWS_PROFILE` is honoured too
    /// when this is `None`).
    pub profile: Option<String>,
    /// How certificates are registered.
    pub cert_strategy: CertStrategy,
    /// Rate quotas per API operation, for the registry's own budget (not used when a
    /// shared budget is given with [`AwsRegistry::with_budget`](crate::AwsRegistry::with_budget)).
    pub quotas: Quotas,
    /// Whether tags are read and written.
    pub tags: TagMode,
    /// Attempts per API call, the first included, for throttled and transient failures.
    pub max_attempts: u32,
}

impl AwsOptions {
    /// The defaults for a region: standard endpoint and credentials, certificates
    /// without CA, default quotas, tags auto, 6 attempts per call.
    pub fn new(region: impl Into<String>) -> Self {
        AwsOptions {
            region: region.into(),
            endpoint_url: None,
            profile: None,
            cert_strategy: CertStrategy::default(),
            quotas: Quotas::default(),
            tags: TagMode::default(),
            max_attempts: 6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_and_tag_modes_parse() {
        assert_eq!("without-ca".parse(), Ok(CertStrategy::WithoutCa));
        assert_eq!("WITH_CA".parse(), Ok(CertStrategy::WithCa));
        assert_eq!("skip".parse(), Ok(CertStrategy::Skip));
        let e = "ca".parse::<CertStrategy>().unwrap_err();
        assert!(e.to_string().contains("without-ca, with-ca, skip"), "{e}");
        for s in [
            CertStrategy::WithoutCa,
            CertStrategy::WithCa,
            CertStrategy::Skip,
        ] {
            assert_eq!(s.to_string().parse(), Ok(s));
        }
        assert_eq!("auto".parse(), Ok(TagMode::Auto));
        assert_eq!("off".parse(), Ok(TagMode::Off));
        assert_eq!("On".parse(), Ok(TagMode::On));
        assert!("maybe".parse::<TagMode>().is_err());
        let o = AwsOptions::new("eu-west-1");
        assert_eq!(o.cert_strategy, CertStrategy::WithoutCa);
        assert_eq!(o.tags, TagMode::Auto);
    }
}
