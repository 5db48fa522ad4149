//! Comparison options: which resources take part (kinds, name globs), whether deletes
//! are planned, and how ARNs are rewritten between regions.

use serde::{Deserialize, Serialize};

use crate::resource::{Kind, ResourceKey};
use crate::rewrite::ArnRewrite;

/// Options of a diff. Serialised into the plan so that `apply` can check the target with
/// the same view the plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiffOptions {
    /// Delete what the target has and the desired state lacks.
    #[serde(default)]
    pub prune: bool,
    /// Which resources take part.
    #[serde(default)]
    pub filter: Filter,
    /// ARN rewriting for policy documents and non-certificate principals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<ArnRewrite>,
    /// Leave tags out of the comparison (when one side cannot read or write them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_tags: bool,
}

/// Which resources take part in a comparison. A resource takes part when its kind is
/// selected, it matches an include pattern (or there are none) and no exclude pattern.
///
/// A pattern is a glob over the resource name (`*` any run, `?` one character),
/// optionally prefixed by a kind and a colon to apply to that kind only:
/// `thing:sensor-*`, `policy:Fleet?`. Relations to resources outside the filter are kept
/// as they are: a thing that takes part keeps its type and groups even when those kinds
/// are filtered out (they are then expected to exist in the target).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Kinds that take part; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    /// Include patterns; empty means everything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Exclude patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// A pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name pattern {pattern:?}: {reason}")]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// Why it is invalid.
    pub reason: String,
}

impl Filter {
    /// Whether the filter selects everything.
    pub fn is_all(&self) -> bool {
        self.kinds.is_empty() && self.include.is_empty() && self.exclude.is_empty()
    }

    /// Checks every pattern, so that a typo fails before any registry is read.
    pub fn validate(&self) -> Result<(), PatternError> {
        for p in self.include.iter().chain(&self.exclude) {
            split_pattern(p)?;
        }
        Ok(())
    }

    /// Whether this kind takes part at all.
    pub fn selects_kind(&self, kind: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Whether the resource takes part.
    pub fn matches(&self, kind: Kind, name: &str) -> bool {
        if !self.selects_kind(kind) {
            return false;
        }
        let hit = |p: &String| match split_pattern(p) {
            Ok((k, glob)) => k.is_none_or(|k| k == kind) && glob_match(glob, name),
            Err(_) => false,
        };
        // An include pattern scoped to another kind does not exclude this kind.
        let includes_for_kind: Vec<&String> = self
            .include
            .iter()
            .filter(|p| split_pattern(p).is_ok_and(|(k, _)| k.is_none_or(|k| k == kind)))
            .collect();
        let included = includes_for_kind.is_empty() || includes_for_kind.into_iter().any(hit);
        included && !self.exclude.iter().any(hit)
    }

    /// Whether the resource with this key takes part.
    pub fn matches_key(&self, key: &ResourceKey) -> bool {
        self.matches(key.kind, &key.name)
    }
}

fn split_pattern(p: &str) -> Result<(Option<Kind>, &str), PatternError> {
    if p.is_empty() {
        return Err(PatternError {
            pattern: p.into(),
            reason: "the pattern is empty".into(),
        });
    }
    match p.split_once(':') {
        Some((k, glob)) => match Kind::parse(k) {
            Some(kind) => {
                if glob.is_empty() {
                    Err(PatternError {
                        pattern: p.into(),
                        reason: "nothing after the kind".into(),
                    })
                } else {
                    Ok((Some(kind), glob))
                }
            }
            // Names may contain ':' (thing group names do); an unknown prefix is part of
            // the glob.
            None => Ok((None, p)),
        },
        None => Ok((None, p)),
    }
}

/// Matches a glob with `*` (any run, also empty) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("sensor-*", "sensor-1"));
        assert!(!glob_match("sensor-*", "gateway-1"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*-1*", "x-1-y"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn kind_scoped_patterns() {
        let f = Filter {
            include: vec!["thing:sensor-*".into()],
            exclude: vec!["*-test".into()],
            ..Default::default()
        };
        assert!(f.matches(Kind::Thing, "sensor-1"));
        assert!(!f.matches(Kind::Thing, "gateway-1"));
        assert!(!f.matches(Kind::Thing, "sensor-test"));
        // The include is scoped to things: policies are all included.
        assert!(f.matches(Kind::Policy, "anything"));
        assert!(!f.matches(Kind::Policy, "p-test"));
    }

    #[test]
    fn kinds_restrict() {
        let f = Filter {
            kinds: vec![Kind::Policy],
            ..Default::default()
        };
        assert!(f.matches(Kind::Policy, "p"));
        assert!(!f.matches(Kind::Thing, "t"));
    }

    #[test]
    fn invalid_patterns_are_reported() {
        let f = Filter {
            include: vec!["thing:".into()],
            ..Default::default()
        };
        let e = f.validate().unwrap_err();
        assert!(e.to_string().contains("thing:"), "{e}");
        let f = Filter {
            exclude: vec!["".into()],
            ..Default::default()
        };
        assert!(f.validate().is_err());
    }

    #[test]
    fn group_names_with_colons_are_globs() {
        let f = Filter {
            include: vec!["site:a*".into()],
            ..Default::default()
        };
        assert!(f.validate().is_ok());
        assert!(f.matches(Kind::ThingGroup, "site:abc"));
    }
}
