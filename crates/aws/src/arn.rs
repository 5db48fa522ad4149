//! AWS IoT ARNs: building them for the target and reading names out of them.
//!
//! The parser lives in the model ([`iot_crr_model::arn`]), shared with the ARN rewriting
//! of policy documents; this module re-exports it under the names the backend uses.
//! An IoT ARN is `arn:PARTITION:iot:REGION:ACCOUNT:RESOURCE`, with `RESOURCE` one of
//! `cert/<id>`, `thing/<name>`, `thinggroup/<name>`, `thingtype/<name>`,
//! `billinggroup/<name>`, `policy/<name>`.

pub use iot_crr_model::arn::{
    Arn, ArnBuilder, certificate_id, is_account_id, partition_of_region, resource_type,
    thing_group_name,
};

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_model::Kind;

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
        assert_eq!(resource_type(Kind::Thing), "thing");
        assert!(is_account_id("123456789012"));
    }
}
