//! What a reconcile compares and how far it may go.

use std::fmt;
use std::str::FromStr;

use iot_crr_model::{ArnRewrite, Filter, Origin};

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
}

impl RewriteSpec {
    /// The rewrite for these origins, or `None` when rewriting is off. The target's
    /// account defaults to the source's (a cross-region copy in one account).
    pub fn resolve(&self, source: &Origin, target: &Origin) -> Result<Option<ArnRewrite>> {
        if !self.enabled {
            return Ok(None);
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
        }))
    }
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
}
