//! What iot-crr's integration tests and benchmarks share: the moto server they run
//! against.
//!
//! `scripts/test.sh` starts moto on loopback and sets `IOT_CRR_MOTO_ENDPOINT`; every
//! test that needs AWS reaches it through these helpers, with test credentials, whatever
//! the caller's own AWS configuration holds.

use std::ffi::OsStr;
use std::process::Command;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::region::Region;

/// The variable that names the moto server.
pub const MOTO_ENDPOINT_VAR: &str = "IOT_CRR_MOTO_ENDPOINT";

/// The moto server's URL, from `IOT_CRR_MOTO_ENDPOINT` (without a trailing `/`).
///
/// # Panics
///
/// When the variable is unset or empty, saying how to start a server.
pub fn moto_endpoint() -> String {
    match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(e) if !e.is_empty() => e.trim_end_matches('/').to_string(),
        _ => panic!(
            "{MOTO_ENDPOINT_VAR} is not set: this test needs a moto server. Run \
             `scripts/test.sh` (it starts moto on loopback and sets the variable), or start \
             `python3 scripts/moto_server.py -H 127.0.0.1 -p 5077` yourself and set \
             {MOTO_ENDPOINT_VAR}=http://127.0.0.1:5077"
        ),
    }
}

/// An SDK configuration for the moto server at `endpoint`, in `region`, with test
/// credentials.
pub fn sdk_config_at(endpoint: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "moto-test",
        )))
        .build()
}

/// An SDK configuration for the moto server of [`moto_endpoint`], in `region`.
pub fn moto_sdk_config(region: &str) -> SdkConfig {
    sdk_config_at(&moto_endpoint(), region)
}

/// A command for `program` that reaches AWS at `endpoint` with test credentials: the
/// caller's profile and session token removed, so that nothing of the environment
/// the tests run in reaches a real account.
pub fn command_at(program: impl AsRef<OsStr>, endpoint: &str) -> Command {
    let mut c = Command::new(program);
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ENDPOINT_URL", endpoint);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_names_the_endpoint_and_region() {
        let c = sdk_config_at("http://127.0.0.1:1", "eu-west-1");
        assert_eq!(c.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(c.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(c.credentials_provider().is_some());
    }

    #[test]
    fn a_command_carries_test_credentials_and_no_profile() {
        let c = command_at("true", "http://127.0.0.1:1");
        let envs: Vec<(String, Option<String>)> = c
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert!(envs.contains(&("AWS_PROFILE".into(), None)));
        assert!(envs.contains(&("AWS_ENDPOINT_URL".into(), Some("http://127.0.0.1:1".into()))));
        assert!(envs.contains(&("AWS_ACCESS_KEY_ID".into(), Some("testing".into()))));
    }
}
