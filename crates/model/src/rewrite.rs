//! Rewriting region- and account-specific ARNs for another region or account.
//!
//! An ARN is `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (split by
//! [`ArnHead::parse`]). Every ARN found in a text
//! (a policy document, a principal) whose region equals the source region has it
//! replaced by the target region, and likewise for the account. Wildcards (`*`) and
//! empty fields are left as they are, so `arn:aws:iot:*:123456789012:topic/x` keeps its
//! wildcard region and gets the target account.

use serde::{Deserialize, Serialize};

use crate::arn::ArnHead;

/// Source and target region/account for ARN rewriting. A `None` pair member leaves that
/// field alone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArnRewrite {
    /// Region named in the source ARNs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_region: Option<String>,
    /// Region to write instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
    /// Account named in the source ARNs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_account: Option<String>,
    /// Account to write instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_account: Option<String>,
}

impl ArnRewrite {
    /// Whether the rewrite changes anything at all.
    pub fn is_identity(&self) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same(&self.from_region, &self.to_region) && same(&self.from_account, &self.to_account)
    }

    /// Rewrites every ARN in `text`. Returns `None` when nothing changed (so callers can
    /// avoid a copy).
    pub fn rewrite(&self, text: &str) -> Option<String> {
        if self.is_identity() || !text.contains("arn:") {
            return None;
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        let mut changed = false;
        while let Some(pos) = rest.find("arn:") {
            // Only at a token boundary: `warn:` is not an ARN.
            let boundary = pos == 0
                || !rest[..pos]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            out.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if !boundary {
                out.push_str("arn:");
                rest = &rest[4..];
                continue;
            }
            let Some(head) = ArnHead::parse(rest) else {
                out.push_str("arn:");
                rest = &rest[4..];
                continue;
            };
            let (region, account) = (head.region, head.account);
            let new_region = match (&self.from_region, &self.to_region) {
                (Some(f), Some(t)) if region == f => t.as_str(),
                _ => region,
            };
            let new_account = match (&self.from_account, &self.to_account) {
                (Some(f), Some(t)) if account == f => t.as_str(),
                _ => account,
            };
            changed |= new_region != region || new_account != account;
            for field in ["arn", head.partition, head.service, new_region, new_account] {
                out.push_str(field);
                out.push(':');
            }
            rest = &rest[head.len..];
        }
        out.push_str(rest);
        changed.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw() -> ArnRewrite {
        ArnRewrite {
            from_region: Some("us-east-1".into()),
            to_region: Some("eu-west-1".into()),
            from_account: Some("111111111111".into()),
            to_account: Some("222222222222".into()),
        }
    }

    #[test]
    fn rewrites_region_and_account() {
        let doc = r#"{"Resource":["arn:aws:iot:us-east-1:111111111111:topic/a","arn:aws:iot:us-east-1:111111111111:client/${iot:ClientId}"]}"#;
        let out = rw().rewrite(doc).unwrap();
        assert_eq!(
            out,
            r#"{"Resource":["arn:aws:iot:eu-west-1:222222222222:topic/a","arn:aws:iot:eu-west-1:222222222222:client/${iot:ClientId}"]}"#
        );
    }

    #[test]
    fn leaves_wildcards_other_regions_and_non_arns() {
        let doc = r#"{"Resource":"arn:aws:iot:*:111111111111:topic/x","Other":"arn:aws:iot:ap-south-1:999999999999:topic/y","Note":"warn:us-east-1:111111111111:"}"#;
        let out = rw().rewrite(doc).unwrap();
        assert!(out.contains("arn:aws:iot:*:222222222222:topic/x"));
        assert!(out.contains("arn:aws:iot:ap-south-1:999999999999:topic/y"));
        assert!(out.contains("warn:us-east-1:111111111111:"));
    }

    #[test]
    fn nothing_to_do_returns_none() {
        assert!(rw().rewrite(r#"{"Resource":"*"}"#).is_none());
        assert!(
            ArnRewrite::default()
                .rewrite("arn:aws:iot:us-east-1:1:x")
                .is_none()
        );
        assert!(rw().rewrite("arn:aws:iot").is_none());
    }

    #[test]
    fn a_quote_or_space_ends_a_candidate_before_its_account() {
        let doc = r#"{"a":"arn:aws:iot:us-east-1","b":"111111111111:x","c":"arn:aws:iot:us-east-1 111111111111:y"}"#;
        assert!(rw().rewrite(doc).is_none());
        let doc = r#"["arn:aws:iot","arn:aws:iot:us-east-1:111111111111:thing/t"]"#;
        assert_eq!(
            rw().rewrite(doc).unwrap(),
            r#"["arn:aws:iot","arn:aws:iot:eu-west-1:222222222222:thing/t"]"#
        );
    }

    #[test]
    fn iam_arns_get_the_account() {
        let out = rw().rewrite("arn:aws:iam::111111111111:role/r").unwrap();
        assert_eq!(out, "arn:aws:iam::222222222222:role/r");
    }
}
