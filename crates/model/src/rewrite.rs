//! Rewriting region- and account-specific ARNs for another region or account.
//!
//! An ARN is `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (split by
//! [`ArnHead::parse`]). Every ARN found in a text
//! (a policy document, a principal) whose region equals the source region has it
//! replaced by the target region, and likewise for the account. Wildcards (`*`) and
//! empty fields are left as they are, so `arn:aws:iot:*:123456789012:topic/x` keeps its
//! wildcard region and gets the target account.

use std::collections::BTreeMap;

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
    /// ARNs (and other identifiers, such as queue URLs) that are not the same name in
    /// the target, source to target (`--map-arn`, `--arn-map`). A key ending in `*` maps
    /// every ARN it is a prefix of, its value's `*` standing for the rest. A mapped ARN
    /// is written as mapped, not rewritten by region or account.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
}

/// Where an ARN ends in a text: at whitespace, a quote, a comma or a closing bracket.
fn arn_end(text: &str) -> usize {
    text.bytes()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b',' | b']' | b'}'))
        .unwrap_or(text.len())
}

/// ARN services whose resource names region rewriting cannot derive: the target's
/// resource has another id (an ACM certificate is issued per region with a random
/// id), so only a mapping places it.
const UNDERIVABLE_SERVICES: &[&str] = &["acm"];

impl ArnRewrite {
    /// Whether the rewrite changes anything at all.
    pub fn is_identity(&self) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.map.is_empty()
            && same(&self.from_region, &self.to_region)
            && same(&self.from_account, &self.to_account)
    }

    /// The mapping of one whole identifier: its exact entry, else the longest prefix
    /// entry (`key*`) it starts with.
    pub fn mapped(&self, id: &str) -> Option<String> {
        if let Some(to) = self.map.get(id) {
            return Some(to.clone());
        }
        self.map
            .iter()
            .filter_map(|(k, v)| Some((k.strip_suffix('*')?, v)))
            .filter(|(prefix, _)| id.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, v)| {
                let rest = &id[prefix.len()..];
                match v.strip_suffix('*') {
                    Some(head) => format!("{head}{rest}"),
                    None => v.clone(),
                }
            })
    }

    /// The ARNs of `text` (as read from the source) that name a resource region
    /// rewriting cannot place (an ACM certificate) and that no mapping places, as the
    /// source names them (the key a `--map-arn` needs): each deserves a warning, and
    /// `--strict-arns` refuses them.
    pub fn unmapped(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(pos) = rest.find("arn:") {
            rest = &rest[pos..];
            let end = arn_end(rest);
            let arn = &rest[..end];
            if let Some(head) = ArnHead::parse(arn)
                && UNDERIVABLE_SERVICES.contains(&head.service)
                && self.mapped(arn).is_none()
            {
                out.push(arn.to_string());
            }
            rest = &rest[end.max(4)..];
        }
        out
    }

    /// Rewrites one value as it goes into the target (a field of a topic rule action, a
    /// template's parameter): its mapping when it is mapped whole, an SQS queue URL
    /// (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, or the older
    /// `https://REGION.queue.amazonaws.com/...`) for the target region and account,
    /// else its ARNs as [`ArnRewrite::rewrite`] does. `None` when nothing changed.
    pub fn rewrite_value(&self, value: &str) -> Option<String> {
        if let Some(to) = self.mapped(value) {
            return (to != value).then_some(to);
        }
        if let Some(url) = self.rewrite_queue_url(value) {
            return Some(url);
        }
        self.rewrite(value)
    }

    /// An SQS queue URL for the target region and account; `None` when `url` is not a
    /// queue URL of the source region or account.
    fn rewrite_queue_url(&self, url: &str) -> Option<String> {
        let (scheme, rest) = url.split_at(url.find("://")? + 3);
        let (host, path) = rest.split_at(rest.find('/')?);
        let region_of_host = host
            .strip_prefix("sqs.")
            .and_then(|h| h.split_once('.'))
            .map(|(region, tail)| (region, "sqs.", tail))
            .or_else(|| {
                let (region, tail) = host.split_once('.')?;
                tail.starts_with("queue.").then_some((region, "", tail))
            });
        let (region, head, tail) = region_of_host?;
        if !tail.starts_with("amazonaws.com") && !tail.starts_with("queue.amazonaws.com") {
            return None;
        }
        let new_region = match (&self.from_region, &self.to_region) {
            (Some(f), Some(t)) if region == f => t.as_str(),
            _ => region,
        };
        let mut parts = path.splitn(3, '/');
        let (_, account, name) = (parts.next()?, parts.next()?, parts.next()?);
        let new_account = match (&self.from_account, &self.to_account) {
            (Some(f), Some(t)) if account == f => t.as_str(),
            _ => account,
        };
        if new_region == region && new_account == account {
            return None;
        }
        Some(format!(
            "{scheme}{head}{new_region}.{tail}/{new_account}/{name}"
        ))
    }

    /// Regional endpoints of the source left in `written` (a value as it goes into the
    /// target, outside any ARN): a host that names the source region
    /// (`search-logs-x7.us-east-1.es.amazonaws.com`), whose target counterpart has
    /// another name that only a mapping gives. Empty unless regions are rewritten.
    pub fn unplaced_endpoints(&self, written: &str) -> Vec<String> {
        let (Some(from), Some(to)) = (&self.from_region, &self.to_region) else {
            return Vec::new();
        };
        let endpoint = written.contains("://") || written.contains(".amazonaws.com");
        if from == to || written.starts_with("arn:") || !endpoint {
            return Vec::new();
        }
        let token = |c: Option<char>| !c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
        let names_source = written.match_indices(from.as_str()).any(|(i, _)| {
            token(written[..i].chars().next_back())
                && token(written[i + from.len()..].chars().next())
        });
        if names_source && !self.map.values().any(|v| v == written) {
            vec![written.to_string()]
        } else {
            Vec::new()
        }
    }

    /// Rewrites every ARN in `text`. Returns `None` when nothing changed (so callers can
    /// avoid a copy).
    pub fn rewrite(&self, text: &str) -> Option<String> {
        if self.is_identity() {
            return None;
        }
        // Identifiers that are not ARNs (queue URLs): replaced where they occur whole.
        let mut replaced: Option<String> = None;
        for (from, to) in self.map.iter().filter(|(k, _)| !k.starts_with("arn:")) {
            let current = replaced.as_deref().unwrap_or(text);
            if let Some(prefix) = from.strip_suffix('*') {
                if current.contains(prefix) {
                    let head = to.strip_suffix('*').unwrap_or(to);
                    replaced = Some(current.replace(prefix, head));
                }
            } else if current.contains(from.as_str()) {
                replaced = Some(current.replace(from.as_str(), to));
            }
        }
        let text = replaced.as_deref().unwrap_or(text);
        if !text.contains("arn:") {
            return replaced;
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        let mut changed = replaced.is_some();
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
            if !self.map.is_empty() {
                let end = arn_end(rest);
                if let Some(to) = self.mapped(&rest[..end]) {
                    changed |= to != rest[..end];
                    out.push_str(&to);
                    rest = &rest[end..];
                    continue;
                }
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
            map: BTreeMap::new(),
        }
    }

    fn mapping(pairs: &[(&str, &str)]) -> ArnRewrite {
        ArnRewrite {
            map: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..rw()
        }
    }

    #[test]
    fn a_mapped_arn_is_written_as_mapped_and_the_rest_rewritten() {
        let m = mapping(&[
            (
                "arn:aws:lambda:us-east-1:111111111111:function:ingest",
                "arn:aws:lambda:eu-west-1:222222222222:function:ingest-eu",
            ),
            (
                "arn:aws:acm:us-east-1:111111111111:certificate/*",
                "arn:aws:acm:eu-west-1:222222222222:certificate/*",
            ),
            (
                "https://sqs.us-east-1.amazonaws.com/111111111111/q",
                "https://sqs.eu-west-1.amazonaws.com/222222222222/q-eu",
            ),
        ]);
        let doc = r#"["arn:aws:lambda:us-east-1:111111111111:function:ingest","arn:aws:iot:us-east-1:111111111111:topic/t","arn:aws:acm:us-east-1:111111111111:certificate/abc","https://sqs.us-east-1.amazonaws.com/111111111111/q"]"#;
        assert_eq!(
            m.rewrite(doc).unwrap(),
            r#"["arn:aws:lambda:eu-west-1:222222222222:function:ingest-eu","arn:aws:iot:eu-west-1:222222222222:topic/t","arn:aws:acm:eu-west-1:222222222222:certificate/abc","https://sqs.eu-west-1.amazonaws.com/222222222222/q-eu"]"#
        );
        // The longest prefix wins; an exact entry wins over any prefix.
        let m = mapping(&[
            (
                "arn:aws:lambda:us-east-1:111111111111:*",
                "arn:aws:lambda:eu-west-1:222222222222:*",
            ),
            (
                "arn:aws:lambda:us-east-1:111111111111:function:a*",
                "arn:aws:lambda:eu-west-1:222222222222:function:b*",
            ),
            ("arn:aws:lambda:us-east-1:111111111111:function:ax", "arn:x"),
        ]);
        assert_eq!(
            m.mapped("arn:aws:lambda:us-east-1:111111111111:function:ay")
                .unwrap(),
            "arn:aws:lambda:eu-west-1:222222222222:function:by"
        );
        assert_eq!(
            m.mapped("arn:aws:lambda:us-east-1:111111111111:function:ax")
                .unwrap(),
            "arn:x"
        );
        assert_eq!(
            m.mapped("arn:aws:lambda:us-east-1:111111111111:layer:l")
                .unwrap(),
            "arn:aws:lambda:eu-west-1:222222222222:layer:l"
        );
        // A map alone (no region rewrite) still maps.
        let only = ArnRewrite {
            map: m.map.clone(),
            ..ArnRewrite::default()
        };
        assert!(!only.is_identity());
        assert_eq!(
            only.rewrite("arn:aws:lambda:us-east-1:111111111111:function:ax")
                .unwrap(),
            "arn:x"
        );
        assert!(
            only.rewrite("arn:aws:iot:us-east-1:111111111111:topic/t")
                .is_none()
        );
    }

    #[test]
    fn an_acm_certificate_no_mapping_places_is_reported() {
        let doc = "arn:aws:acm:us-east-1:111111111111:certificate/abc";
        assert_eq!(rw().unmapped(doc), [doc]);
        let m = mapping(&[(doc, "arn:aws:acm:eu-west-1:222222222222:certificate/def")]);
        assert!(m.unmapped(doc).is_empty());
        let m = mapping(&[(
            "arn:aws:acm:us-east-1:111111111111:certificate/*",
            "arn:aws:acm:eu-west-1:222222222222:certificate/*",
        )]);
        assert!(m.unmapped(doc).is_empty());
        assert!(rw().unmapped("arn:aws:iot:eu-west-1:1:topic/x").is_empty());
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
    fn queue_urls_follow_the_region_and_account_and_endpoints_are_named() {
        let r = rw();
        assert_eq!(
            r.rewrite_value("https://sqs.us-east-1.amazonaws.com/111111111111/orders")
                .unwrap(),
            "https://sqs.eu-west-1.amazonaws.com/222222222222/orders"
        );
        assert_eq!(
            r.rewrite_value("https://us-east-1.queue.amazonaws.com/111111111111/q")
                .unwrap(),
            "https://eu-west-1.queue.amazonaws.com/222222222222/q"
        );
        // Another region's queue keeps its region and gets the account.
        assert_eq!(
            r.rewrite_value("https://sqs.us-west-2.amazonaws.com/111111111111/q")
                .unwrap(),
            "https://sqs.us-west-2.amazonaws.com/222222222222/q"
        );
        assert!(r.rewrite_value("https://example.com/hook").is_none());
        assert!(r.rewrite_value("plain text").is_none());
        // A whole-value mapping wins.
        let m = mapping(&[(
            "https://search-logs-x7.us-east-1.es.amazonaws.com",
            "https://search-logs-q2.eu-west-1.es.amazonaws.com",
        )]);
        assert_eq!(
            m.rewrite_value("https://search-logs-x7.us-east-1.es.amazonaws.com")
                .unwrap(),
            "https://search-logs-q2.eu-west-1.es.amazonaws.com"
        );
        // An endpoint naming the source region is unplaced; a rewritten one is not.
        assert_eq!(
            r.unplaced_endpoints("https://search-logs-x7.us-east-1.es.amazonaws.com"),
            ["https://search-logs-x7.us-east-1.es.amazonaws.com"]
        );
        assert!(
            r.unplaced_endpoints("https://sqs.eu-west-1.amazonaws.com/222222222222/q")
                .is_empty()
        );
        assert!(
            r.unplaced_endpoints("https://not-us-east-12.example.com")
                .is_empty()
        );
        // A value that is no endpoint (a republish topic) is not one.
        assert!(r.unplaced_endpoints("alerts/us-east-1/high").is_empty());
        assert!(
            ArnRewrite::default()
                .unplaced_endpoints("x.us-east-1.y")
                .is_empty()
        );
    }

    #[test]
    fn iam_arns_get_the_account() {
        let out = rw().rewrite("arn:aws:iam::111111111111:role/r").unwrap();
        assert_eq!(out, "arn:aws:iam::222222222222:role/r");
    }
}
