//! Why a device is not ready, and what would fix it.

use std::fmt;

use serde::Serialize;

/// Why a device would not work in the standby (or cannot be judged). The code's
/// spelling ([`ReasonCode::as_str`]) is stable: it is what `--format json` prints and
/// what the `iot_crr_devices_not_ready{reason}` metric is labelled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReasonCode {
    /// The source itself refuses the device (its certificate is not active there, or
    /// no source policy lets it connect): not counted against the standby.
    NotReadyInSource,
    /// The standby has no certificate with the device's id.
    CertificateMissing,
    /// The standby's certificate is not `ACTIVE` while the source's is.
    CertificateInactive,
    /// The standby has no thing of the device's name.
    ThingMissing,
    /// The standby's thing does not have the device's certificate attached (its group
    /// policies and thing policy variables then do not apply).
    CertificateNotAttached,
    /// The standby's thing has another thing type.
    ThingTypeDiffers,
    /// An attribute a policy variable or condition reads differs.
    AttributeDiffers,
    /// The standby's thing is in other static groups.
    GroupsDiffer,
    /// A policy the source grants the device by is not in the standby at all.
    PolicyMissing,
    /// A policy the source grants the device by exists in the standby but is not
    /// attached to the device's certificate or groups there.
    PolicyNotAttached,
    /// A policy's default version differs in the standby, so a request the source
    /// allows is not allowed.
    PolicyDiffers,
    /// The standby's policy is the source's document with the source's region or
    /// account in its ARNs (synced without `--rewrite-arns`).
    ArnsNotRewritten,
    /// A role alias the source lets the device assume (`iot:AssumeRoleWithCertificate`)
    /// is not in the standby: the device connects but gets no AWS credentials.
    RoleAliasMissing,
    /// The standby's certificate was registered with a CA the standby does not hold:
    /// AWS IoT refuses the connection.
    CaCertificateMissing,
    /// The standby's certificate was registered with a CA that is not ACTIVE there.
    CaCertificateInactive,
    /// A standby policy denies a request the source allows (a `Deny` the source does
    /// not attach to the device).
    Denied,
    /// The evaluator cannot decide a statement that applies (an unknown condition
    /// operator, key or variable, a policy that does not parse, a certificate whose PEM
    /// does not parse): never counted as ready.
    CannotDecide,
}

impl ReasonCode {
    /// Every code, in the order reports list them.
    pub const ALL: [ReasonCode; 17] = [
        ReasonCode::NotReadyInSource,
        ReasonCode::CertificateMissing,
        ReasonCode::CertificateInactive,
        ReasonCode::CaCertificateMissing,
        ReasonCode::CaCertificateInactive,
        ReasonCode::ThingMissing,
        ReasonCode::CertificateNotAttached,
        ReasonCode::ThingTypeDiffers,
        ReasonCode::AttributeDiffers,
        ReasonCode::GroupsDiffer,
        ReasonCode::PolicyMissing,
        ReasonCode::PolicyNotAttached,
        ReasonCode::PolicyDiffers,
        ReasonCode::ArnsNotRewritten,
        ReasonCode::RoleAliasMissing,
        ReasonCode::Denied,
        ReasonCode::CannotDecide,
    ];

    /// The stable spelling (kebab-case).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::NotReadyInSource => "not-ready-in-source",
            ReasonCode::CertificateMissing => "certificate-missing",
            ReasonCode::CertificateInactive => "certificate-inactive",
            ReasonCode::ThingMissing => "thing-missing",
            ReasonCode::CertificateNotAttached => "certificate-not-attached",
            ReasonCode::ThingTypeDiffers => "thing-type-differs",
            ReasonCode::AttributeDiffers => "attribute-differs",
            ReasonCode::GroupsDiffer => "groups-differ",
            ReasonCode::PolicyMissing => "policy-missing",
            ReasonCode::PolicyNotAttached => "policy-not-attached",
            ReasonCode::PolicyDiffers => "policy-differs",
            ReasonCode::ArnsNotRewritten => "arns-not-rewritten",
            ReasonCode::RoleAliasMissing => "role-alias-missing",
            ReasonCode::CaCertificateMissing => "ca-certificate-missing",
            ReasonCode::CaCertificateInactive => "ca-certificate-inactive",
            ReasonCode::Denied => "denied",
            ReasonCode::CannotDecide => "cannot-decide",
        }
    }

    /// What would fix it in the standby.
    pub fn fix(self) -> Fix {
        match self {
            ReasonCode::NotReadyInSource => Fix::None,
            ReasonCode::CannotDecide => Fix::Review,
            ReasonCode::ArnsNotRewritten => Fix::SyncRewritingArns,
            // A policy only the standby attaches: no sync removes that attachment, even
            // with --prune (a policy something staying uses is kept, with its
            // attachment).
            ReasonCode::Denied => Fix::DetachInStandby,
            _ => Fix::Sync,
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What repairs a reason in the standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fix {
    /// Nothing in the standby (the source refuses the device too).
    None,
    /// A person reads the statement named (`--cross-check` asks AWS itself).
    Review,
    /// A sync.
    Sync,
    /// A sync with `--rewrite-arns`.
    SyncRewritingArns,
    /// Detaching, in the standby, a policy the source does not attach (no sync does:
    /// an attachment only the target has is kept, even with `--prune`).
    DetachInStandby,
}

/// One reason, with what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The reason.
    pub code: ReasonCode,
    /// What exactly: the request, policy, statement, attribute or status.
    pub detail: String,
}

impl Reason {
    /// A reason.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Reason {
            code,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ReasonCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '-')
            );
        }
    }

    #[test]
    fn a_deny_only_the_standby_has_is_detached_by_hand() {
        assert_eq!(ReasonCode::Denied.fix(), Fix::DetachInStandby);
        assert_eq!(ReasonCode::ArnsNotRewritten.fix(), Fix::SyncRewritingArns);
        assert_eq!(ReasonCode::NotReadyInSource.fix(), Fix::None);
    }
}
