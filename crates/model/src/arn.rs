//! Amazon Resource Names: the one parser for ARNs, whole ones (an attachment target, a
//! principal) and ones found in text (a policy document).
//!
//! An ARN is `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. An AWS IoT ARN has the
//! service `iot` and a resource `TYPE/NAME`: `cert/<id>`, `thing/<name>`,
//! `thinggroup/<name>`, `thingtype/<name>`, `billinggroup/<name>`, `policy/<name>`.

use crate::resource::Kind;

/// The parts of an ARN, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: &'a str,
    /// The service (`iot`, `iam`).
    pub service: &'a str,
    /// The region; empty for global services, `*` as a wildcard in a policy.
    pub region: &'a str,
    /// The account id (12 digits), empty or a wildcard.
    pub account: &'a str,
    /// Everything after the account (`cert/abc`).
    pub resource: &'a str,
}

/// The fields of an ARN before its resource, as found at the start of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnHead<'a> {
    /// The partition.
    pub partition: &'a str,
    /// The service.
    pub service: &'a str,
    /// The region.
    pub region: &'a str,
    /// The account.
    pub account: &'a str,
    /// The length in bytes of `arn:PARTITION:SERVICE:REGION:ACCOUNT:` (where the
    /// resource starts).
    pub len: usize,
}

/// Whether a byte cannot be part of an ARN's partition, service, region or account (it
/// ends an ARN written in a text).
fn ends_field(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'"' || b == b'\''
}

impl<'a> ArnHead<'a> {
    /// Splits the head of an ARN at the start of `text`: `arn:` then partition,
    /// service, region and account, each ended by a colon and free of whitespace and
    /// quotes (which end an ARN in a document). The partition and the service are not
    /// empty. `None` when `text` does not start with one.
    pub fn parse(text: &'a str) -> Option<ArnHead<'a>> {
        let rest = text.strip_prefix("arn:")?;
        let mut fields = [""; 4];
        let mut pos = 0usize;
        for field in &mut fields {
            let bytes = &rest.as_bytes()[pos..];
            let end = bytes.iter().position(|b| *b == b':' || ends_field(*b))?;
            if bytes[end] != b':' {
                return None;
            }
            *field = &rest[pos..pos + end];
            pos += end + 1;
        }
        let [partition, service, region, account] = fields;
        if partition.is_empty() || service.is_empty() {
            return None;
        }
        Some(ArnHead {
            partition,
            service,
            region,
            account,
            len: "arn:".len() + pos,
        })
    }
}

impl<'a> Arn<'a> {
    /// Splits a whole ARN; `None` when the text is not one.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let head = ArnHead::parse(s)?;
        Some(Arn {
            partition: head.partition,
            service: head.service,
            region: head.region,
            account: head.account,
            resource: &s[head.len..],
        })
    }

    /// The account id, when the ARN names a 12-digit one.
    pub fn account_id(&self) -> Option<&'a str> {
        is_account_id(self.account).then_some(self.account)
    }

    /// The kind and name of the AWS IoT resource the ARN names (the id for a
    /// certificate); `None` for another service, another resource type or an empty
    /// name.
    pub fn iot_resource(&self) -> Option<(Kind, &'a str)> {
        if self.service != "iot" {
            return None;
        }
        let (ty, name) = self.resource.split_once('/')?;
        // Kinds without ARNs (account settings) have an empty type: never matched.
        if ty.is_empty() {
            return None;
        }
        let kind = Kind::ALL.into_iter().find(|k| resource_type(*k) == ty)?;
        (!name.is_empty()).then_some((kind, name))
    }
}

/// Whether `s` is an AWS account id: 12 decimal digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The name of the AWS IoT resource of `kind` an ARN names.
fn iot_name(arn: &str, kind: Kind) -> Option<&str> {
    match Arn::parse(arn)?.iot_resource()? {
        (k, name) if k == kind => Some(name),
        _ => None,
    }
}

/// The certificate id of a certificate ARN (`arn:...:cert/<id>`).
pub fn certificate_id(arn: &str) -> Option<&str> {
    iot_name(arn, Kind::Certificate)
}

/// The thing group name of a thing group ARN (`arn:...:thinggroup/<name>`).
pub fn thing_group_name(arn: &str) -> Option<&str> {
    iot_name(arn, Kind::ThingGroup)
}

/// The partition of a region, for building ARNs before any has been seen.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The resource type segment of a kind's ARN (`cert`, `thinggroup`...).
pub fn resource_type(kind: Kind) -> &'static str {
    kind.arn_type()
}

/// Builds the AWS IoT ARNs of one region and account.
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
    /// A builder for `region` and `account`, in the region's partition.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        let region = region.into();
        ArnBuilder {
            partition: partition_of_region(&region).to_string(),
            region,
            account: account.into(),
        }
    }

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
    fn parse_a_whole_arn() {
        let a = Arn::parse("arn:aws:iot:eu-west-1:123456789012:cert/abc").unwrap();
        assert_eq!(a.partition, "aws");
        assert_eq!(a.service, "iot");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.account_id(), Some("123456789012"));
        assert_eq!(a.resource, "cert/abc");
        assert_eq!(a.iot_resource(), Some((Kind::Certificate, "abc")));
        // The resource keeps its colons.
        let g = Arn::parse("arn:aws-cn:iot:cn-north-1:123456789012:thinggroup/a:b").unwrap();
        assert_eq!(g.iot_resource(), Some((Kind::ThingGroup, "a:b")));
        // Global services have no region.
        let r = Arn::parse("arn:aws:iam::123456789012:role/x").unwrap();
        assert_eq!(r.region, "");
        assert_eq!(r.iot_resource(), None);
    }

    #[test]
    fn what_is_not_an_arn() {
        assert_eq!(Arn::parse("arn:aws:iam::role/x"), None, "no account field");
        assert_eq!(Arn::parse("us-east-1:1234-5678"), None, "a Cognito id");
        assert_eq!(Arn::parse("arn:aws:iot"), None);
        assert_eq!(Arn::parse("arn::iot:r:1:x"), None, "empty partition");
        assert_eq!(Arn::parse("arn:aws::r:1:x"), None, "empty service");
        assert_eq!(Arn::parse("arn:aws:iot:us east:1:x"), None, "whitespace");
        assert_eq!(Arn::parse("warn:aws:iot:r:1:x"), None);
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901x"));
        let a = Arn::parse("arn:aws:iot:us-east-1:acct:thing/t").unwrap();
        assert_eq!(a.account_id(), None);
        let w = Arn::parse("arn:aws:iot:*:*:topic/x").unwrap();
        assert_eq!(w.account_id(), None);
    }

    #[test]
    fn head_of_an_arn_in_a_text() {
        let text = r#"arn:aws:iot:us-east-1:111111111111:topic/a","next"#;
        let h = ArnHead::parse(text).unwrap();
        assert_eq!(
            (h.partition, h.service, h.region, h.account),
            ("aws", "iot", "us-east-1", "111111111111")
        );
        assert_eq!(&text[h.len..], r#"topic/a","next"#);
        // A quote or whitespace before the fourth colon ends the candidate.
        assert_eq!(ArnHead::parse(r#"arn:aws:iot:us-east-1","x:y:z"#), None);
        assert_eq!(ArnHead::parse("arn:aws:iot:us-east-1 :1:x"), None);
        assert_eq!(ArnHead::parse("arn:aws:iot:us-east-1"), None);
    }

    #[test]
    fn iot_names_of_certificates_and_groups() {
        assert_eq!(
            certificate_id("arn:aws:iot:eu-west-1:123456789012:cert/abc"),
            Some("abc")
        );
        assert_eq!(certificate_id("arn:aws:iot:eu-west-1:123:cert/"), None);
        assert_eq!(
            certificate_id("arn:aws:iot:eu-west-1:123:thinggroup/x"),
            None
        );
        assert_eq!(certificate_id("arn:aws:iam::123456789012:cert/x"), None);
        assert_eq!(
            thing_group_name("arn:aws:iot:eu-west-1:123456789012:thinggroup/g"),
            Some("g")
        );
        assert_eq!(
            Arn::parse("arn:aws:iot:r:123456789012:topic/x")
                .unwrap()
                .iot_resource(),
            None
        );
    }

    #[test]
    fn build_for_every_kind_and_read_back() {
        let b = ArnBuilder::new("eu-west-1", "123456789012");
        assert_eq!(b.partition, "aws");
        for kind in Kind::ALL {
            let arn = b.arn(kind, "n-1");
            if resource_type(kind).is_empty() {
                // Account settings have no ARN: nothing reads one back as theirs.
                assert_eq!(Arn::parse(&arn).unwrap().iot_resource(), None, "{kind}");
                continue;
            }
            assert_eq!(
                arn,
                format!(
                    "arn:aws:iot:eu-west-1:123456789012:{}/n-1",
                    resource_type(kind)
                )
            );
            assert_eq!(
                Arn::parse(&arn).unwrap().iot_resource(),
                Some((kind, "n-1"))
            );
        }
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of_region("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
    }
}
