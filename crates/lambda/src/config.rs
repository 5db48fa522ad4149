//! The handlers' configuration, from the environment the templates set.

use std::time::Duration;

use iot_crr_aws::CertStrategy;

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// `IOT_CRR_ARN_MAP` is not a JSON object of source to target ARNs.
    #[error("environment variable IOT_CRR_ARN_MAP: {0}")]
    ArnMap(String),
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `IOT_CRR_REWRITE_ARNS` (applier, reconciler): rewrite ARNs from the source's
    /// region.
    pub rewrite_arns: bool,
    /// `IOT_CRR_ARN_MAP` (applier, reconciler): a JSON object of source ARNs (or
    /// prefixes ending in `*`, or queue URLs) to target ones, as `--arn-map` takes: what
    /// region rewriting cannot derive (ACM certificates, functions of another name).
    pub arn_map: std::collections::BTreeMap<String, String>,
    /// `IOT_CRR_STRICT_ARNS` (applier, reconciler): refuse to write anything that would
    /// carry an unmapped ARN (`--strict-arns`).
    pub strict_arns: bool,
    /// `IOT_CRR_CERT_STRATEGY` (applier, reconciler): `without-ca` (default), `with-ca`
    /// or `skip`.
    pub cert_strategy: CertStrategy,
    /// `IOT_CRR_PRUNE` (reconciler): delete what the source lacks.
    pub prune: bool,
    /// `IOT_CRR_MAX_DELETE` (reconciler): the most deletes of one pass (required with
    /// `IOT_CRR_PRUNE`).
    pub max_delete: Option<u64>,
    /// `IOT_CRR_TIME_BUDGET_SECONDS` (reconciler): how long one invocation works.
    pub time_budget: Option<Duration>,
    /// `IOT_CRR_PASS_INTERVAL_MINUTES` (reconciler): the least time between the starts
    /// of two passes.
    pub pass_interval: Duration,
    /// `IOT_CRR_QUOTAS` (applier, reconciler): `default` (AWS IoT's default quotas) or
    /// `live` (each region's applied values from Service Quotas, where the role may
    /// read them; otherwise the defaults, logged).
    pub live_quotas: bool,
    /// `IOT_CRR_READINESS` (reconciler): `on` (default) judges every device's failover
    /// readiness when a pass finishes and writes it as CloudWatch metrics; `off` does not.
    pub readiness: bool,
    /// `IOT_CRR_METRICS_NAMESPACE` (reconciler): the CloudWatch namespace of the
    /// readiness metrics (default [`DEFAULT_METRICS_NAMESPACE`]).
    pub metrics_namespace: String,
}

/// The CloudWatch namespace of the reconciler's metrics when `IOT_CRR_METRICS_NAMESPACE`
/// is not set.
pub const DEFAULT_METRICS_NAMESPACE: &str = "IotCrr";

/// Whether `name` is a CloudWatch namespace a metric may be published in: 1 to 255
/// characters among letters, digits, `.`, `-`, `_`, `/`, `#`, `:` and space, not starting
/// with a space, and not in the `AWS/` namespaces AWS reserves for its services.
fn valid_namespace(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && !name.starts_with(' ')
        && !name.starts_with("AWS/")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
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

fn number(name: &'static str, value: Option<String>) -> Result<Option<u64>, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ConfigError::Invalid {
            name,
            value: v.to_owned(),
            reason: "expected a whole number",
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
            arn_map: match non_empty("IOT_CRR_ARN_MAP") {
                None => Default::default(),
                Some(text) => {
                    iot_crr_reconcile::parse_arn_map(&text).map_err(ConfigError::ArnMap)?
                }
            },
            strict_arns: flag("IOT_CRR_STRICT_ARNS", get("IOT_CRR_STRICT_ARNS"))?,
            cert_strategy: match non_empty("IOT_CRR_CERT_STRATEGY") {
                None => CertStrategy::default(),
                Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                    name: "IOT_CRR_CERT_STRATEGY",
                    value: v,
                    reason: "expected without-ca, with-ca or skip",
                })?,
            },
            prune: flag("IOT_CRR_PRUNE", get("IOT_CRR_PRUNE"))?,
            max_delete: number("IOT_CRR_MAX_DELETE", get("IOT_CRR_MAX_DELETE"))?,
            time_budget: number(
                "IOT_CRR_TIME_BUDGET_SECONDS",
                get("IOT_CRR_TIME_BUDGET_SECONDS"),
            )?
            .map(Duration::from_secs),
            pass_interval: Duration::from_secs(
                60 * number(
                    "IOT_CRR_PASS_INTERVAL_MINUTES",
                    get("IOT_CRR_PASS_INTERVAL_MINUTES"),
                )?
                .unwrap_or(0),
            ),
            live_quotas: match non_empty("IOT_CRR_QUOTAS").as_deref().map(str::trim) {
                None | Some("default") => false,
                Some("live") => true,
                Some(v) => {
                    return Err(ConfigError::Invalid {
                        name: "IOT_CRR_QUOTAS",
                        value: v.to_owned(),
                        reason: "expected default or live",
                    });
                }
            },
            readiness: match non_empty("IOT_CRR_READINESS").as_deref().map(str::trim) {
                None | Some("on") => true,
                Some("off") => false,
                Some(v) => {
                    return Err(ConfigError::Invalid {
                        name: "IOT_CRR_READINESS",
                        value: v.to_owned(),
                        reason: "expected on or off",
                    });
                }
            },
            metrics_namespace: match non_empty("IOT_CRR_METRICS_NAMESPACE") {
                None => DEFAULT_METRICS_NAMESPACE.to_owned(),
                Some(v) if valid_namespace(v.trim()) => v.trim().to_owned(),
                Some(v) => {
                    return Err(ConfigError::Invalid {
                        name: "IOT_CRR_METRICS_NAMESPACE",
                        value: v,
                        reason: "expected a CloudWatch namespace (1 to 255 letters, digits, \
                                 spaces or . - _ / # :, not starting with AWS/)",
                    });
                }
            },
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
        assert_eq!(c.cert_strategy, CertStrategy::WithoutCa);
        assert_eq!((c.prune, c.max_delete, c.time_budget), (false, None, None));
        let e =
            Config::from_lookup(|n| (n == "IOT_CRR_MAX_DELETE").then(|| "10%".into())).unwrap_err();
        assert!(e.to_string().contains("IOT_CRR_MAX_DELETE=\"10%\""), "{e}");
        let e = Config::from_lookup(|n| (n == "IOT_CRR_CERT_STRATEGY").then(|| "ca".into()))
            .unwrap_err();
        assert!(e.to_string().contains("without-ca, with-ca or skip"), "{e}");
        assert!(!c.live_quotas);
        let live = Config::from_lookup(|n| (n == "IOT_CRR_QUOTAS").then(|| "live".into()));
        assert!(live.unwrap().live_quotas);
        let e =
            Config::from_lookup(|n| (n == "IOT_CRR_QUOTAS").then(|| "fast".into())).unwrap_err();
        assert!(e.to_string().contains("expected default or live"), "{e}");
        assert!(c.readiness);
        assert_eq!(c.metrics_namespace, DEFAULT_METRICS_NAMESPACE);
        let env: HashMap<&str, &str> = [
            ("IOT_CRR_READINESS", "off"),
            ("IOT_CRR_METRICS_NAMESPACE", " Fleet/IotCrr-standby "),
        ]
        .into_iter()
        .collect();
        let c = Config::from_lookup(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert!(!c.readiness);
        assert_eq!(c.metrics_namespace, "Fleet/IotCrr-standby");
        let on = Config::from_lookup(|n| (n == "IOT_CRR_READINESS").then(|| "on".into()));
        assert!(on.unwrap().readiness);
        let e =
            Config::from_lookup(|n| (n == "IOT_CRR_READINESS").then(|| "true".into())).unwrap_err();
        assert!(e.to_string().contains("expected on or off"), "{e}");
        for bad in ["AWS/IoT", "iot crr!", &"n".repeat(256)] {
            let e = Config::from_lookup(|n| {
                (n == "IOT_CRR_METRICS_NAMESPACE").then(|| bad.to_string())
            })
            .unwrap_err();
            assert!(
                e.to_string().contains("IOT_CRR_METRICS_NAMESPACE"),
                "{bad}: {e}"
            );
        }
        assert!(c.arn_map.is_empty() && !c.strict_arns);
        let env: HashMap<&str, &str> = [
            (
                "IOT_CRR_ARN_MAP",
                r#"{"arn:aws:acm:us-east-1:1:certificate/a":"arn:aws:acm:eu-west-1:1:certificate/b"}"#,
            ),
            ("IOT_CRR_STRICT_ARNS", "true"),
        ]
        .into_iter()
        .collect();
        let c = Config::from_lookup(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(c.arn_map.len(), 1);
        assert!(c.strict_arns);
        let e =
            Config::from_lookup(|n| (n == "IOT_CRR_ARN_MAP").then(|| "[1]".into())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable IOT_CRR_ARN_MAP: "),
            "{e}"
        );
        let env: HashMap<&str, &str> = [
            ("IOT_CRR_PRUNE", "true"),
            ("IOT_CRR_MAX_DELETE", "25"),
            ("IOT_CRR_TIME_BUDGET_SECONDS", "840"),
            ("IOT_CRR_PASS_INTERVAL_MINUTES", "360"),
            ("IOT_CRR_CERT_STRATEGY", "with-ca"),
        ]
        .into_iter()
        .collect();
        let c = Config::from_lookup(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(
            (
                c.prune,
                c.max_delete,
                c.time_budget,
                c.pass_interval,
                c.cert_strategy
            ),
            (
                true,
                Some(25),
                Some(Duration::from_secs(840)),
                Duration::from_secs(360 * 60),
                CertStrategy::WithCa
            )
        );
        let e = Config::from_lookup(|n| (n == "IOT_CRR_REWRITE_ARNS").then(|| "maybe".into()))
            .unwrap_err();
        assert!(
            e.to_string().contains("IOT_CRR_REWRITE_ARNS=\"maybe\""),
            "{e}"
        );
    }
}
