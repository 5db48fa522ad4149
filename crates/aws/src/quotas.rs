//! Live quotas: the rates AWS IoT applies to this account and region, read from
//! Service Quotas (`ListServiceQuotas` for the service code `iot`).
//!
//! Service Quotas names IoT Core's rate quotas after their operation (the quota of
//! `CreateThing` has `CreateThing` in its name) and gives a rate quota a period (one
//! second). A quota is taken as an operation's rate when its name holds exactly that
//! operation name as a word (the longest one, so `CreateThingGroup` is not taken for
//! `CreateThing`) and it has a period, or its name says it is a rate (`TPS`, `per
//! second`, `rate`). Other quotas (counts, sizes) are left alone. Operations Service
//! Quotas does not list keep their default.
//!
//! The caller may be denied (`servicequotas:ListServiceQuotas` not allowed), the
//! endpoint may not serve Service Quotas (moto implements it only for `vpc`), or the
//! region may list no IoT quota: then [`live_quotas`] says why and the defaults stay.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_servicequotas::types::{PeriodUnit, ServiceQuota};
use iot_crr_registry::rate::Quotas;

use crate::AwsOptions;

/// The operations whose rates iot-crr paces: what the AWS backend calls.
pub const PACED_OPERATIONS: &[&str] = &[
    "AddThingToBillingGroup",
    "AddThingToThingGroup",
    "AttachPolicy",
    "AttachThingPrincipal",
    "ClearDefaultAuthorizer",
    "CreateAuthorizer",
    "CreateBillingGroup",
    "CreateDomainConfiguration",
    "CreateDynamicThingGroup",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateProvisioningTemplate",
    "CreateProvisioningTemplateVersion",
    "CreateRoleAlias",
    "CreateThing",
    "CreateThingGroup",
    "CreateThingType",
    "CreateTopicRule",
    "CreateTopicRuleDestination",
    "DeleteAuthorizer",
    "DeleteBillingGroup",
    "DeleteCACertificate",
    "DeleteCertificate",
    "DeleteDomainConfiguration",
    "DeleteDynamicThingGroup",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteProvisioningTemplate",
    "DeleteProvisioningTemplateVersion",
    "DeleteRoleAlias",
    "DeleteThing",
    "DeleteThingGroup",
    "DeleteThingType",
    "DeleteTopicRule",
    "DeleteTopicRuleDestination",
    "DeprecateThingType",
    "DescribeAuthorizer",
    "DescribeBillingGroup",
    "DescribeCACertificate",
    "DescribeCertificate",
    "DescribeDefaultAuthorizer",
    "DescribeDomainConfiguration",
    "DescribeEventConfigurations",
    "DescribeProvisioningTemplate",
    "DescribeProvisioningTemplateVersion",
    "DescribeRoleAlias",
    "DescribeThing",
    "DescribeThingGroup",
    "DescribeThingType",
    "DetachPolicy",
    "DetachThingPrincipal",
    "GetIndexingConfiguration",
    "GetPolicy",
    "GetPolicyVersion",
    "GetTopicRule",
    "ListAttachedPolicies",
    "ListAuthorizers",
    "ListBillingGroups",
    "ListCACertificates",
    "ListCertificates",
    "ListDomainConfigurations",
    "ListPolicies",
    "ListPolicyVersions",
    "ListPrincipalThings",
    "ListProvisioningTemplateVersions",
    "ListProvisioningTemplates",
    "ListRoleAliases",
    "ListTagsForResource",
    "ListTargetsForPolicy",
    "ListThingGroups",
    "ListThingGroupsForThing",
    "ListThingPrincipals",
    "ListThingTypes",
    "ListThings",
    "ListThingsInBillingGroup",
    "ListThingsInThingGroup",
    "ListTopicRuleDestinations",
    "ListTopicRules",
    "RegisterCACertificate",
    "RegisterCertificate",
    "RegisterCertificateWithoutCA",
    "RemoveThingFromBillingGroup",
    "RemoveThingFromThingGroup",
    "ReplaceTopicRule",
    "SetDefaultAuthorizer",
    "SetDefaultPolicyVersion",
    "TagResource",
    "UntagResource",
    "UpdateAuthorizer",
    "UpdateBillingGroup",
    "UpdateCACertificate",
    "UpdateCertificate",
    "UpdateDomainConfiguration",
    "UpdateDynamicThingGroup",
    "UpdateEventConfigurations",
    "UpdateIndexingConfiguration",
    "UpdateProvisioningTemplate",
    "UpdateRoleAlias",
    "UpdateThing",
    "UpdateThingGroup",
    "UpdateThingType",
    "UpdateTopicRuleDestination",
];

/// What Service Quotas told about one region.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveQuotas {
    /// The rates found, per operation, sorted by operation.
    pub rates: Vec<LiveRate>,
    /// Why nothing (or not everything) could be read, for a person to see; `None` when
    /// the listing was read.
    pub note: Option<String>,
}

/// One operation's applied rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRate {
    /// The operation (`CreateThing`).
    pub api: String,
    /// Calls per second.
    pub tps: f64,
    /// The quota's code (`L-…`), when given.
    pub quota_code: Option<String>,
}

impl LiveQuotas {
    /// Sets every rate found on `quotas` (the caller then applies its explicit
    /// overrides, which win).
    pub fn apply_to(&self, quotas: &mut Quotas) {
        for r in &self.rates {
            quotas.set(r.api.clone(), r.tps);
        }
    }

    /// One line for a person: what was found, or why the defaults stay.
    pub fn summary(&self, location: &str) -> String {
        match (&self.note, self.rates.len()) {
            (Some(note), 0) => format!("quotas of {location}: the defaults ({note})"),
            (note, n) => {
                let shown: Vec<String> = self
                    .rates
                    .iter()
                    .map(|r| format!("{} {}/s", r.api, trim(r.tps)))
                    .collect();
                let mut line = format!(
                    "quotas of {location} from Service Quotas: {n} operation(s): {}; the \
                     other operations keep their defaults",
                    shown.join(", ")
                );
                if let Some(note) = note {
                    line.push_str(&format!(" ({note})"));
                }
                line
            }
        }
    }
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Reads the applied IoT quotas of `opts.region` (with `opts`' endpoint and profile).
/// Never fails: a refusal is a note, and the defaults stay.
pub async fn live_quotas(opts: &AwsOptions) -> LiveQuotas {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(opts.region.clone()));
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    live_quotas_from(&loader.load().await).await
}

/// [`live_quotas`] with an SDK configuration made by the caller (tests).
pub async fn live_quotas_from(sdk: &SdkConfig) -> LiveQuotas {
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let client = aws_sdk_servicequotas::Client::new(sdk);
    let mut quotas: Vec<ServiceQuota> = Vec::new();
    let mut next: Option<String> = None;
    // Bounded: IoT lists a few dozen quotas; a paginating loop that never ends is a
    // broken endpoint, not more quotas.
    for _ in 0..50 {
        let page = client
            .list_service_quotas()
            .service_code("iot")
            .set_next_token(next.take())
            .send()
            .await;
        match page {
            Ok(p) => {
                quotas.extend(p.quotas.unwrap_or_default());
                next = p.next_token.filter(|t| !t.is_empty());
                if next.is_none() {
                    break;
                }
            }
            Err(e) => {
                let e = crate::error::classify(&region, "ListServiceQuotas", e);
                return LiveQuotas {
                    rates: rates(&quotas),
                    note: Some(format!("Service Quotas could not be read: {e}")),
                };
            }
        }
    }
    let rates = rates(&quotas);
    let note = rates
        .is_empty()
        .then(|| "Service Quotas lists no rate of an operation iot-crr calls".to_string());
    LiveQuotas { rates, note }
}

/// The operations' rates among `quotas`.
fn rates(quotas: &[ServiceQuota]) -> Vec<LiveRate> {
    let mut out: std::collections::BTreeMap<String, LiveRate> = Default::default();
    for q in quotas {
        let (Some(name), Some(value)) = (q.quota_name.as_deref(), q.value) else {
            continue;
        };
        let period = q
            .period
            .as_ref()
            .and_then(|p| Some((p.period_value?, p.period_unit.clone()?)));
        if let Some((api, tps)) = rate_quota(name, value, period) {
            out.insert(
                api.to_string(),
                LiveRate {
                    api: api.to_string(),
                    tps,
                    quota_code: q.quota_code.clone(),
                },
            );
        }
    }
    out.into_values().collect()
}

/// The operation and rate (calls per second) a quota gives, when it is the rate of an
/// operation iot-crr calls: see the [module documentation](self).
pub fn rate_quota(
    name: &str,
    value: f64,
    period: Option<(i32, PeriodUnit)>,
) -> Option<(&'static str, f64)> {
    if !(value.is_finite() && value > 0.0) {
        return None;
    }
    let api = PACED_OPERATIONS
        .iter()
        .filter(|api| holds_word(name, api))
        .max_by_key(|api| api.len())?;
    let tps = match period {
        Some((n, unit)) if n > 0 => {
            let seconds = match unit {
                PeriodUnit::Microsecond => 1e-6,
                PeriodUnit::Millisecond => 1e-3,
                PeriodUnit::Second => 1.0,
                PeriodUnit::Minute => 60.0,
                PeriodUnit::Hour => 3600.0,
                PeriodUnit::Day => 86_400.0,
                PeriodUnit::Week => 604_800.0,
                _ => return None,
            };
            value / (f64::from(n) * seconds)
        }
        _ => {
            let lower = name.to_ascii_lowercase();
            if !(name.contains("TPS")
                || lower.contains("per second")
                || lower.contains("rate")
                || lower.contains("requests/s"))
            {
                return None;
            }
            value
        }
    };
    Some((api, tps))
}

/// Whether `name` holds `word` with no letter or digit either side.
fn holds_word(name: &str, word: &str) -> bool {
    name.match_indices(word).any(|(i, _)| {
        let before = name[..i].chars().next_back();
        let after = name[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_operations_are_found_by_name_and_period() {
        let second = Some((1, PeriodUnit::Second));
        assert_eq!(
            rate_quota("CreateThing API TPS", 100.0, second.clone()),
            Some(("CreateThing", 100.0))
        );
        // The longest operation name wins.
        assert_eq!(
            rate_quota("Rate of CreateThingGroup requests", 25.0, None),
            Some(("CreateThingGroup", 25.0))
        );
        assert_eq!(
            rate_quota(
                "RegisterCertificateWithoutCA requests per second",
                20.0,
                None
            ),
            Some(("RegisterCertificateWithoutCA", 20.0))
        );
        // A minute's worth is a rate per second.
        assert_eq!(
            rate_quota("ListThings", 600.0, Some((1, PeriodUnit::Minute))),
            Some(("ListThings", 10.0))
        );
        // Not a rate, not an operation we call, not a word, not a value.
        assert_eq!(rate_quota("Maximum number of CreateThing", 5.0, None), None);
        assert_eq!(
            rate_quota("Connect requests per second", 500.0, second.clone()),
            None
        );
        assert_eq!(rate_quota("XCreateThing TPS", 5.0, None), None);
        assert_eq!(rate_quota("CreateThing TPS", 0.0, None), None);
        assert_eq!(rate_quota("CreateThing TPS", f64::NAN, second), None);
    }

    #[test]
    fn a_summary_names_the_rates_or_why_the_defaults_stay() {
        let found = LiveQuotas {
            rates: vec![LiveRate {
                api: "CreateThing".into(),
                tps: 150.0,
                quota_code: Some("L-1".into()),
            }],
            note: None,
        };
        let mut q = Quotas::default();
        found.apply_to(&mut q);
        assert_eq!(q.get("CreateThing"), 150.0);
        assert!(
            found
                .summary("aws:eu-west-1")
                .contains("aws:eu-west-1 from Service Quotas: 1 operation(s): CreateThing 150/s"),
            "{}",
            found.summary("aws:eu-west-1")
        );
        let none = LiveQuotas {
            rates: vec![],
            note: Some("AccessDenied".into()),
        };
        assert_eq!(
            none.summary("aws:us-east-1"),
            "quotas of aws:us-east-1: the defaults (AccessDenied)"
        );
    }
}
