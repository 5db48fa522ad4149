//! Where a stream lives (`kinesis:REGION/STREAM`) and how its client is built.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::Region;

use crate::KinesisError;

/// How long one request attempt of a [`client`] may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take (the SDK's default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The prefix of a stream location.
pub const SCHEME: &str = "kinesis:";

/// A Kinesis data stream: `kinesis:REGION/STREAM` (`kinesis:eu-west-1/iot-events`).
///
/// The region is lower-case letters, digits and dashes; the stream name is 1 to 128 of
/// `A-Z a-z 0-9 _ . -` (the Kinesis rule). [`fmt::Display`] writes the location back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamLocation {
    /// The AWS region (`eu-west-1`).
    pub region: String,
    /// The stream name.
    pub stream: String,
}

impl StreamLocation {
    /// A location from its parts, checked like [`StreamLocation::from_str`].
    pub fn new(region: &str, stream: &str) -> Result<Self, KinesisError> {
        format!("{SCHEME}{region}/{stream}").parse()
    }

    /// A client for this location's region: see [`client`].
    pub async fn client(&self, endpoint_url: Option<&str>, profile: Option<&str>) -> Client {
        client(&self.region, endpoint_url, profile).await
    }
}

impl FromStr for StreamLocation {
    type Err = KinesisError;

    fn from_str(input: &str) -> Result<Self, KinesisError> {
        let bad = |reason: &str| KinesisError::InvalidLocation {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = input
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("it does not start with \"kinesis:\""))?;
        let (region, stream) = rest
            .split_once('/')
            .ok_or_else(|| bad("no \"/\" between the region and the stream name"))?;
        if region.is_empty() {
            return Err(bad("the region is empty"));
        }
        if !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(&format!(
                "region {region:?} is not lower-case letters, digits and dashes"
            )));
        }
        if stream.is_empty() {
            return Err(bad("the stream name is empty"));
        }
        if stream.len() > 128 {
            return Err(bad(&format!(
                "the stream name has {} characters, Kinesis allows at most 128",
                stream.len()
            )));
        }
        if let Some(c) = stream
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(bad(&format!(
                "the stream name contains {c:?}: only A-Z a-z 0-9 _ . - are allowed"
            )));
        }
        Ok(StreamLocation {
            region: region.to_owned(),
            stream: stream.to_owned(),
        })
    }
}

impl fmt::Display for StreamLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.region, self.stream)
    }
}

/// A Kinesis client for `region` from the standard AWS configuration chain (environment
/// variables such as `AWS_PROFILE`, `AWS_ACCESS_KEY_ID` and `AWS_ENDPOINT_URL`, the
/// shared config and credentials files, SSO, web identity, container and instance
/// credentials), with `profile` and `endpoint_url` (an emulator such as moto, or a VPC
/// endpoint) overriding it when given. No call is made: credentials are resolved on
/// the first request.
///
/// Each request attempt is bounded by [`ATTEMPT_TIMEOUT`] (the SDK sets no read
/// timeout by default, and a hung GetRecords would stall its shard), connecting by
/// [`CONNECT_TIMEOUT`].
pub async fn client(region: &str, endpoint_url: Option<&str>, profile: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = endpoint_url {
        loader = loader.endpoint_url(e);
    }
    Client::new(&loader.load().await)
}

/// A Kinesis client from an already loaded configuration (tests use static
/// credentials), with `endpoint_url` overriding the configuration's when given.
pub fn client_from_config(config: &SdkConfig, endpoint_url: Option<&str>) -> Client {
    let mut conf = aws_sdk_kinesis::config::Builder::from(config);
    if let Some(e) = endpoint_url {
        conf = conf.endpoint_url(e);
    }
    Client::from_conf(conf.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let l: StreamLocation = "kinesis:eu-west-1/iot-events_v1.2".parse().unwrap();
        assert_eq!(l.region, "eu-west-1");
        assert_eq!(l.stream, "iot-events_v1.2");
        assert_eq!(l.to_string(), "kinesis:eu-west-1/iot-events_v1.2");
        assert_eq!(
            StreamLocation::new("us-east-1", "s").unwrap().to_string(),
            "kinesis:us-east-1/s"
        );
    }

    #[test]
    fn refuses_bad_locations_naming_the_input() {
        let long = format!("kinesis:eu-west-1/{}", "s".repeat(129));
        for (input, reason) in [
            ("eu-west-1/s", "does not start with"),
            ("aws:eu-west-1/s", "does not start with"),
            ("kinesis:eu-west-1", "no \"/\""),
            ("kinesis:/s", "region is empty"),
            ("kinesis:EU_West/s", "lower-case"),
            ("kinesis:eu-west-1/", "stream name is empty"),
            ("kinesis:eu-west-1/a/b", "contains '/'"),
            ("kinesis:eu-west-1/a b", "contains ' '"),
            (long.as_str(), "129 characters"),
        ] {
            let err = input.parse::<StreamLocation>().unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("{input:?}")), "{text}");
            assert!(text.contains(reason), "{input}: {text}");
            assert!(matches!(err, KinesisError::InvalidLocation { .. }));
        }
    }
}
