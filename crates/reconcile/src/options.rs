//! What a reconcile compares and how far it may go.

use std::fmt;
use std::str::FromStr;

use std::collections::BTreeMap;

use iot_crr_model::{ArnRewrite, Filter, Origin, Plan, diff::UNMAPPED_ARN};

use crate::{ReconcileError, Result};

/// Options of a comparison (full or keyed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReconcileOptions {
    /// Which resources take part.
    pub filter: Filter,
    /// Delete what the target has and the source lacks.
    pub prune: bool,
    /// ARN rewriting.
    pub rewrite: RewriteSpec,
    /// How many deletes a plan may make.
    pub max_delete: DeleteBound,
}

/// Whether and how ARNs are rewritten from the source's region/account to the
/// target's. Values given here win; the rest come from the registries (an `aws:`
/// location's region and account, a snapshot file's header).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteSpec {
    /// Rewrite at all.
    pub enabled: bool,
    /// The source's region, when the registry does not tell.
    pub source_region: Option<String>,
    /// The source's account.
    pub source_account: Option<String>,
    /// The target's region.
    pub target_region: Option<String>,
    /// The target's account.
    pub target_account: Option<String>,
    /// ARNs (and queue URLs) mapped source to target, whether or not ARNs are rewritten
    /// (`--map-arn`, `--arn-map`; see [`ArnRewrite::map`]).
    pub map: BTreeMap<String, String>,
    /// Refuse a plan that writes an ARN no mapping placed (`--strict-arns`).
    pub strict: bool,
}

impl RewriteSpec {
    /// The rewrite for these origins, or `None` when rewriting is off. The target's
    /// account defaults to the source's (a cross-region copy in one account).
    pub fn resolve(&self, source: &Origin, target: &Origin) -> Result<Option<ArnRewrite>> {
        if !self.enabled {
            return Ok((!self.map.is_empty()).then(|| ArnRewrite {
                map: self.map.clone(),
                ..ArnRewrite::default()
            }));
        }
        let from_region = self.source_region.clone().or_else(|| source.region.clone());
        let from_account = self
            .source_account
            .clone()
            .or_else(|| source.account_id.clone());
        let to_region = self.target_region.clone().or_else(|| target.region.clone());
        let to_account = self
            .target_account
            .clone()
            .or_else(|| target.account_id.clone())
            .or_else(|| from_account.clone());
        let Some(from_region) = from_region else {
            return Err(ReconcileError::Rewrite(
                "the source's region is unknown (the snapshot file has no region in its \
                 header); give the source region (--source-region)"
                    .into(),
            ));
        };
        let Some(to_region) = to_region else {
            return Err(ReconcileError::Rewrite(
                "the target's region is unknown (a new or header-less file); give the \
                 target region (--target-region)"
                    .into(),
            ));
        };
        Ok(Some(ArnRewrite {
            from_region: Some(from_region),
            to_region: Some(to_region),
            from_account,
            to_account,
            map: self.map.clone(),
        }))
    }

    /// With `--strict-arns`, the error for a plan whose warnings name unmapped ARNs.
    pub fn check_strict(&self, plan: &Plan) -> Result<()> {
        if !self.strict {
            return Ok(());
        }
        let unmapped: Vec<&str> = plan
            .warnings
            .iter()
            .filter(|w| w.starts_with(UNMAPPED_ARN))
            .map(String::as_str)
            .collect();
        if unmapped.is_empty() {
            return Ok(());
        }
        Err(ReconcileError::Rewrite(format!(
            "--strict-arns: {} ARN(s) would go into the target unmapped: {}",
            unmapped.len(),
            unmapped.join("; ")
        )))
    }
}

/// Reads an ARN map file (`--arn-map`): one JSON object, source ARN to target ARN,
/// keys ending in `*` mapping every ARN they are a prefix of.
pub fn read_arn_map(path: &std::path::Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ReconcileError::Rewrite(format!("cannot read the ARN map {}: {e}", path.display()))
    })?;
    parse_arn_map(&text)
        .map_err(|e| ReconcileError::Rewrite(format!("the ARN map {}: {e}", path.display())))
}

/// Parses an ARN map's text (see [`read_arn_map`]).
pub fn parse_arn_map(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a JSON object of source ARN to target ARN (line {}, column {}: {e})",
            e.line(),
            e.column()
        )
    })?;
    let mut out = BTreeMap::new();
    for (from, to) in map {
        let serde_json::Value::String(to) = to else {
            return Err(format!("the value of {from:?} is not a string"));
        };
        check_arn_pair(&from, &to)?;
        out.insert(from, to);
    }
    Ok(out)
}

/// Parses one `--map-arn SOURCE=TARGET`.
pub fn parse_map_arn(s: &str) -> std::result::Result<(String, String), String> {
    // An ARN holds no `=`, a queue URL neither: the first `=` splits.
    let Some((from, to)) = s.split_once('=') else {
        return Err(format!("{s:?} is not SOURCE=TARGET"));
    };
    check_arn_pair(from, to)?;
    Ok((from.to_string(), to.to_string()))
}

fn check_arn_pair(from: &str, to: &str) -> std::result::Result<(), String> {
    for (what, v) in [("source", from), ("target", to)] {
        if v.is_empty() {
            return Err(format!("the {what} of a mapping is empty"));
        }
        if !(v.starts_with("arn:") || v.starts_with("https://")) {
            return Err(format!(
                "the {what} {v:?} is neither an ARN (arn:...) nor a URL (https://...)"
            ));
        }
    }
    if from.ends_with('*') != to.ends_with('*') && to.ends_with('*') {
        return Err(format!(
            "{to:?} ends in * but {from:?} does not: only a prefix mapping (both ending in *) \
             carries the rest over"
        ));
    }
    Ok(())
}

/// The most resource deletes a plan may make (`--max-delete`), like rsync's and
/// rclone's `--max-delete`. Relations (detaches, memberships), policy versions and the
/// deletes of groups that are re-created are not counted: only resources that go.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum DeleteBound {
    /// 10 % of the target's resources (rounded up); and none at all when the source
    /// is empty.
    #[default]
    Default,
    /// At most this many.
    Count(u64),
    /// At most this percentage of the target's resources (rounded up).
    Percent(f64),
}

/// The default bound, in percent of the target.
pub const DEFAULT_MAX_DELETE_PERCENT: f64 = 10.0;

impl DeleteBound {
    /// The number of deletes allowed against a target of `target_total` resources.
    pub fn limit(&self, target_total: usize) -> u64 {
        let pct = |p: f64| ((target_total as f64) * p / 100.0).ceil() as u64;
        match self {
            DeleteBound::Default => pct(DEFAULT_MAX_DELETE_PERCENT),
            DeleteBound::Count(n) => *n,
            DeleteBound::Percent(p) => pct(*p),
        }
    }

    /// Whether the bound was set explicitly (only then may an empty source delete).
    pub fn is_explicit(&self) -> bool {
        !matches!(self, DeleteBound::Default)
    }
}

impl fmt::Display for DeleteBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteBound::Default => write!(f, "{DEFAULT_MAX_DELETE_PERCENT}% (the default)"),
            DeleteBound::Count(n) => write!(f, "{n}"),
            DeleteBound::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A delete bound that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid delete bound {0:?}: expected a count (500) or a percentage of the target (25%)")]
pub struct DeleteBoundError(pub String);

impl FromStr for DeleteBound {
    type Err = DeleteBoundError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || DeleteBoundError(s.to_string());
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(p.is_finite() && (0.0..=100.0).contains(&p)) {
                return Err(bad());
            }
            Ok(DeleteBound::Percent(p))
        } else {
            t.parse::<u64>().map(DeleteBound::Count).map_err(|_| bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_bounds_parse_and_limit() {
        assert_eq!("25%".parse(), Ok(DeleteBound::Percent(25.0)));
        assert_eq!("0".parse(), Ok(DeleteBound::Count(0)));
        assert_eq!(" 500 ".parse(), Ok(DeleteBound::Count(500)));
        for bad in ["", "-1", "ten", "150%", "%", "1.5"] {
            assert!(bad.parse::<DeleteBound>().is_err(), "{bad}");
        }
        assert_eq!(DeleteBound::Default.limit(315), 32);
        assert_eq!(DeleteBound::Default.limit(0), 0);
        assert_eq!(DeleteBound::Percent(100.0).limit(315), 315);
        assert_eq!(DeleteBound::Count(7).limit(3), 7);
        assert!(!DeleteBound::Default.is_explicit());
        assert!(DeleteBound::Count(0).is_explicit());
    }

    #[test]
    fn rewrite_resolves_from_origins_and_overrides() {
        let src = Origin {
            region: Some("us-east-1".into()),
            account_id: Some("111111111111".into()),
        };
        let dst = Origin {
            region: Some("eu-west-1".into()),
            account_id: None,
        };
        let spec = RewriteSpec {
            enabled: true,
            ..Default::default()
        };
        let r = spec.resolve(&src, &dst).unwrap().unwrap();
        assert_eq!(r.to_region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.to_account.as_deref(), Some("111111111111"));
        assert!(
            RewriteSpec::default()
                .resolve(&src, &dst)
                .unwrap()
                .is_none()
        );
        let e = spec
            .resolve(&Origin::default(), &dst)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source's region is unknown"), "{e}");
        let e = spec
            .resolve(&src, &Origin::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("target's region is unknown"), "{e}");
    }

    fn plan_warning(warnings: &[&str]) -> Plan {
        Plan {
            format_version: iot_crr_model::plan::PLAN_FORMAT_VERSION,
            source: "s".into(),
            target: "t".into(),
            target_fingerprint: String::new(),
            options: Default::default(),
            desired_counts: Default::default(),
            target_counts: Default::default(),
            changes: Vec::new(),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn strict_arns_refuses_only_plans_with_unmapped_arns() {
        let unmapped =
            format!("{UNMAPPED_ARN} in role alias a: arn:aws:acm:us-east-1:1:certificate/x");
        let plan = plan_warning(&["certificate c kept: thing t uses it", &unmapped]);
        let lax = RewriteSpec::default();
        assert!(lax.check_strict(&plan).is_ok());
        let strict = RewriteSpec {
            strict: true,
            ..Default::default()
        };
        let e = strict.check_strict(&plan).unwrap_err().to_string();
        assert!(e.contains("1 ARN(s)") && e.contains("certificate/x"), "{e}");
        assert!(
            !e.contains("kept"),
            "only unmapped-ARN warnings are named: {e}"
        );
        assert!(
            strict
                .check_strict(&plan_warning(&["certificate c kept"]))
                .is_ok()
        );
    }

    #[test]
    fn arn_maps_parse_and_bad_ones_are_named() {
        let m = parse_arn_map(
            r#"{"arn:aws:acm:us-east-1:1:certificate/a": "arn:aws:acm:eu-west-1:1:certificate/b",
                "arn:aws:lambda:us-east-1:1:function:*": "arn:aws:lambda:eu-west-1:1:function:*"}"#,
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        let e = parse_arn_map("[1]").unwrap_err();
        assert!(e.contains("not a JSON object"), "{e}");
        let e = parse_arn_map(r#"{"arn:a": 3}"#).unwrap_err();
        assert!(e.contains("\"arn:a\" is not a string"), "{e}");
        let e = parse_arn_map(r#"{"arn:a": "role/x"}"#).unwrap_err();
        assert!(e.contains("neither an ARN"), "{e}");
        assert_eq!(
            parse_map_arn("arn:a=https://sqs.eu-west-1.amazonaws.com/1/q").unwrap(),
            (
                "arn:a".to_string(),
                "https://sqs.eu-west-1.amazonaws.com/1/q".to_string()
            )
        );
        assert!(
            parse_map_arn("arn:a")
                .unwrap_err()
                .contains("SOURCE=TARGET")
        );
        assert!(parse_map_arn("=arn:b").unwrap_err().contains("empty"));
        assert!(
            parse_map_arn("arn:a=arn:b*")
                .unwrap_err()
                .contains("prefix mapping")
        );
    }
}
