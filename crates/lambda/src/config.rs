//! The handlers' configuration, from the environment the templates set.

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable does not parse.
    #[error("environment variable {name}={value:?}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
}

/// What the handlers read from their environment (see `deploy/*.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `IOT_CRR_STREAM_NAME` (forwarder).
    pub stream_name: Option<String>,
    /// `IOT_CRR_STREAM_REGION` (forwarder): the destination region.
    pub stream_region: Option<String>,
    /// `IOT_CRR_AGGREGATE` (forwarder): KPL-aggregate the records.
    pub aggregate: bool,
    /// `IOT_CRR_SOURCE_REGION` (applier): where thin events are re-read.
    pub source_region: Option<String>,
    /// `IOT_CRR_STATE_TABLE` (applier): the DynamoDB state table.
    pub state_table: Option<String>,
    /// `IOT_CRR_DEAD_LETTER_QUEUE_URL` (applier): where poison records go.
    pub dead_letter_queue_url: Option<String>,
    /// `IOT_CRR_REWRITE_ARNS` (applier): rewrite ARNs from the source's region.
    pub rewrite_arns: bool,
}

fn flag(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(v) => Err(ConfigError::Invalid {
            name,
            value: v.to_owned(),
            reason: "expected true or false",
        }),
    }
}

impl Config {
    /// Reads the configuration from a lookup (the environment in the binaries, a map in
    /// tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |n: &str| get(n).filter(|v| !v.trim().is_empty());
        Ok(Config {
            stream_name: non_empty("IOT_CRR_STREAM_NAME"),
            stream_region: non_empty("IOT_CRR_STREAM_REGION"),
            aggregate: flag("IOT_CRR_AGGREGATE", get("IOT_CRR_AGGREGATE"))?,
            source_region: non_empty("IOT_CRR_SOURCE_REGION"),
            state_table: non_empty("IOT_CRR_STATE_TABLE"),
            dead_letter_queue_url: non_empty("IOT_CRR_DEAD_LETTER_QUEUE_URL"),
            rewrite_arns: flag("IOT_CRR_REWRITE_ARNS", get("IOT_CRR_REWRITE_ARNS"))?,
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|n| std::env::var(n).ok())
    }

    /// A required value, or the error naming its variable.
    pub fn require<'a>(
        value: &'a Option<String>,
        name: &'static str,
    ) -> Result<&'a str, ConfigError> {
        value.as_deref().ok_or(ConfigError::Missing(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_and_validates() {
        let env: HashMap<&str, &str> = [
            ("IOT_CRR_STREAM_NAME", "s"),
            ("IOT_CRR_AGGREGATE", "true"),
            ("IOT_CRR_SOURCE_REGION", " "),
        ]
        .into_iter()
        .collect();
        let c = Config::from_lookup(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(c.stream_name.as_deref(), Some("s"));
        assert!(c.aggregate);
        assert_eq!(c.source_region, None);
        let e = Config::require(&c.state_table, "IOT_CRR_STATE_TABLE").unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable IOT_CRR_STATE_TABLE is not set"
        );
        let e = Config::from_lookup(|n| (n == "IOT_CRR_REWRITE_ARNS").then(|| "maybe".into()))
            .unwrap_err();
        assert!(
            e.to_string().contains("IOT_CRR_REWRITE_ARNS=\"maybe\""),
            "{e}"
        );
    }
}
