//! AWS IoT ARNs: building them for the target and reading names out of them.
//!
//! An IoT ARN is `arn:PARTITION:iot:REGION:ACCOUNT:RESOURCE`, with `RESOURCE` one of
//! `cert/<id>`, `thing/<name>`, `thinggroup/<name>`, `thingtype/<name>`,
//! `billinggroup/<name>`, `policy/<name>`.

use iot_crr_model::Kind;

/// The parts of an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// `iot`.
    pub service: &'a str,
    /// The region.
    pub region: &'a str,
    /// The 12-digit account id.
    pub account: &'a str,
    /// Everything after the account (`cert/abc`).
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when the text is not one.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: it.next()?,
            service: it.next()?,
            region: it.next()?,
            account: it.next()?,
            resource: it.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
    }

    /// The account id, when the ARN names a 12-digit one.
    pub fn account_id(&self) -> Option<&'a str> {
        (self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit()))
            .then_some(self.account)
    }
}

/// The certificate id of a certificate ARN (`arn:...:cert/<id>`).
pub fn certificate_id(arn: &str) -> Option<&str> {
    let a = Arn::parse(arn)?;
    (a.service == "iot")
        .then_some(a.resource)?
        .strip_prefix("cert/")
        .filter(|id| !id.is_empty())
}

/// The thing group name of a thing group ARN (`arn:...:thinggroup/<name>`).
pub fn thing_group_name(arn: &str) -> Option<&str> {
    let a = Arn::parse(arn)?;
    (a.service == "iot")
        .then_some(a.resource)?
        .strip_prefix("thinggroup/")
        .filter(|n| !n.is_empty())
}

/// The partition of a region, for building ARNs before any has been seen.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// The resource type segment of a kind's ARN.
pub fn resource_type(kind: Kind) -> &'static str {
    match kind {
        Kind::ThingType => "thingtype",
        Kind::BillingGroup => "billinggroup",
        Kind::ThingGroup => "thinggroup",
        Kind::Policy => "policy",
        Kind::Certificate => "cert",
        Kind::Thing => "thing",
    }
}

/// Builds ARNs of one region and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnBuilder {
    /// The partition.
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
}

impl ArnBuilder {
    /// The ARN of a resource of `kind` named `name` (the id for a certificate).
    pub fn arn(&self, kind: Kind, name: &str) -> String {
        format!(
            "arn:{}:iot:{}:{}:{}/{}",
            self.partition,
            self.region,
            self.account,
            resource_type(kind),
            name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_extract() {
        let a = Arn::parse("arn:aws:iot:eu-west-1:123456789012:cert/abc").unwrap();
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.account_id(), Some("123456789012"));
        assert_eq!(a.resource, "cert/abc");
        assert_eq!(
            certificate_id("arn:aws:iot:eu-west-1:123456789012:cert/abc"),
            Some("abc")
        );
        assert_eq!(
            thing_group_name("arn:aws-cn:iot:cn-north-1:123456789012:thinggroup/a:b"),
            Some("a:b")
        );
        assert_eq!(
            certificate_id("arn:aws:iot:eu-west-1:123:thinggroup/x"),
            None
        );
        assert_eq!(certificate_id("us-east-1:1234-5678"), None, "cognito id");
        assert_eq!(Arn::parse("arn:aws:iam::role/x"), None);
        assert_eq!(
            Arn::parse("arn:aws:iam::123456789012:role/x")
                .unwrap()
                .account_id(),
            Some("123456789012")
        );
        assert_eq!(
            Arn::parse("arn:aws:iot:us-east-1:acct:thing/t")
                .unwrap()
                .account_id(),
            None
        );
    }

    #[test]
    fn build_for_every_kind() {
        let b = ArnBuilder {
            partition: partition_of_region("eu-west-1").into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        assert_eq!(
            b.arn(Kind::Certificate, "ff00"),
            "arn:aws:iot:eu-west-1:123456789012:cert/ff00"
        );
        assert_eq!(
            b.arn(Kind::ThingGroup, "g"),
            "arn:aws:iot:eu-west-1:123456789012:thinggroup/g"
        );
        assert_eq!(
            b.arn(Kind::ThingType, "t"),
            "arn:aws:iot:eu-west-1:123456789012:thingtype/t"
        );
        assert_eq!(
            b.arn(Kind::BillingGroup, "b"),
            "arn:aws:iot:eu-west-1:123456789012:billinggroup/b"
        );
        assert_eq!(
            b.arn(Kind::Policy, "p"),
            "arn:aws:iot:eu-west-1:123456789012:policy/p"
        );
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        let round = b.arn(Kind::Certificate, "abc");
        assert_eq!(certificate_id(&round), Some("abc"));
    }
}
