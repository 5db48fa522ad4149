//! Comparison options: which resources take part (kinds, name globs), whether deletes
//! are planned, and how ARNs are rewritten between regions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::resource::{Kind, Name, ResourceKey};
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
    ///
    /// This parses the patterns on each call (without allocating); code that tests many
    /// names should [`compile`](Filter::compile) the filter once and use
    /// [`CompiledFilter::matches`]. An invalid pattern (see [`Filter::validate`])
    /// matches nothing.
    pub fn matches(&self, kind: Kind, name: &str) -> bool {
        if !self.selects_kind(kind) {
            return false;
        }
        // An include pattern scoped to another kind does not exclude this kind.
        let mut includes_for_kind = false;
        let mut included = false;
        for p in &self.include {
            if let Ok((scope, glob)) = split_pattern(p)
                && scope.is_none_or(|k| k == kind)
            {
                includes_for_kind = true;
                if glob_match(glob, name) {
                    included = true;
                    break;
                }
            }
        }
        if includes_for_kind && !included {
            return false;
        }
        !self.exclude.iter().any(|p| {
            split_pattern(p).is_ok_and(|(scope, glob)| {
                scope.is_none_or(|k| k == kind) && glob_match(glob, name)
            })
        })
    }

    /// Whether the resource with this key takes part.
    pub fn matches_key(&self, key: &ResourceKey) -> bool {
        self.matches(key.kind, &key.name)
    }

    /// The filter with its patterns parsed once, for testing many names.
    pub fn compile(&self) -> CompiledFilter {
        CompiledFilter::new(self)
    }
}

/// A [`Filter`] with its patterns parsed and sorted by kind once: what code that tests
/// many names uses (reads, snapshot filtering, fingerprints). Matching allocates
/// nothing; a filter that selects everything, or all of a kind, answers without
/// looking at the name.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    /// Whether everything is selected.
    all: bool,
    /// The rules of each kind, in [`Kind::ALL`] order.
    kinds: [KindRules; Kind::ALL.len()],
}

/// What a filter says about one kind.
#[derive(Debug, Clone, Default)]
struct KindRules {
    /// Whether the kind takes part at all.
    selected: bool,
    /// Include patterns that apply to this kind; empty: every name is included.
    include: Vec<Glob>,
    /// Exclude patterns that apply to this kind.
    exclude: Vec<Glob>,
}

impl KindRules {
    /// Whether every name of the kind is selected.
    fn selects_all(&self) -> bool {
        self.selected && self.include.is_empty() && self.exclude.is_empty()
    }

    fn matches(&self, name: &str) -> bool {
        self.selected
            && (self.include.is_empty() || self.include.iter().any(|g| g.matches(name)))
            && !self.exclude.iter().any(|g| g.matches(name))
    }
}

/// A parsed glob, with the common shapes matched without the general algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Glob {
    /// `*` (or `**`...): any name.
    Any,
    /// No wildcard: this exact name.
    Exact(Box<str>),
    /// `prefix*`.
    Prefix(Box<str>),
    /// `*suffix`.
    Suffix(Box<str>),
    /// Anything else.
    Wild(Box<str>),
}

impl Glob {
    fn new(pattern: &str) -> Glob {
        let wild = |c: char| c == '*' || c == '?';
        if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
            return Glob::Any;
        }
        if !pattern.contains(wild) {
            return Glob::Exact(pattern.into());
        }
        if let Some(head) = pattern.strip_suffix('*')
            && !head.contains(wild)
        {
            return Glob::Prefix(head.into());
        }
        if let Some(tail) = pattern.strip_prefix('*')
            && !tail.contains(wild)
        {
            return Glob::Suffix(tail.into());
        }
        Glob::Wild(pattern.into())
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(s) => name == &**s,
            Glob::Prefix(s) => name.starts_with(&**s),
            Glob::Suffix(s) => name.ends_with(&**s),
            Glob::Wild(p) => glob_match(p, name),
        }
    }
}

impl CompiledFilter {
    fn new(f: &Filter) -> Self {
        let mut kinds: [KindRules; Kind::ALL.len()] = Default::default();
        for kind in Kind::ALL {
            let rules = &mut kinds[kind as usize];
            rules.selected = f.selects_kind(kind);
            let for_kind = |patterns: &[String]| -> Vec<Glob> {
                patterns
                    .iter()
                    .filter_map(|p| split_pattern(p).ok())
                    .filter(|(scope, _)| scope.is_none_or(|k| k == kind))
                    .map(|(_, glob)| Glob::new(glob))
                    .collect()
            };
            rules.include = for_kind(&f.include);
            rules.exclude = for_kind(&f.exclude);
            // `*` among the includes includes everything; among the excludes, nothing
            // of the kind is left.
            if rules.include.contains(&Glob::Any) {
                rules.include.clear();
            }
            if rules.exclude.contains(&Glob::Any) {
                rules.selected = false;
            }
            if !rules.selected {
                rules.include.clear();
                rules.exclude.clear();
            }
        }
        CompiledFilter {
            all: kinds.iter().all(KindRules::selects_all),
            kinds,
        }
    }

    /// Whether the filter selects everything.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether this kind takes part at all.
    pub fn selects_kind(&self, kind: Kind) -> bool {
        self.kinds[kind as usize].selected
    }

    /// Whether every resource of this kind takes part (no name pattern applies to it).
    pub fn selects_all_of(&self, kind: Kind) -> bool {
        self.kinds[kind as usize].selects_all()
    }

    /// Whether the resource takes part; the same answer as [`Filter::matches`].
    pub fn matches(&self, kind: Kind, name: &str) -> bool {
        self.all || self.kinds[kind as usize].matches(name)
    }

    /// Whether the resource with this key takes part.
    pub fn matches_key(&self, key: &ResourceKey) -> bool {
        self.matches(key.kind, &key.name)
    }

    /// The entries of `map`, the resources of `kind` by name, that take part.
    pub fn select<'a, T>(
        &'a self,
        kind: Kind,
        map: &'a BTreeMap<Name, T>,
    ) -> impl Iterator<Item = (&'a Name, &'a T)> + 'a {
        let rules = &self.kinds[kind as usize];
        let every = self.all || rules.selects_all();
        rules
            .selected
            .then(|| map.iter())
            .into_iter()
            .flatten()
            .filter(move |(n, _)| every || rules.matches(n))
    }
}

impl From<&Filter> for CompiledFilter {
    fn from(f: &Filter) -> Self {
        f.compile()
    }
}

/// The kind named by a pattern's prefix, spelled as [`Kind::parse`] accepts it
/// (kebab-case, plurals, any case), without allocating.
fn kind_prefix(s: &str) -> Option<Kind> {
    Kind::parse(s)
}

fn split_pattern(p: &str) -> Result<(Option<Kind>, &str), PatternError> {
    if p.is_empty() {
        return Err(PatternError {
            pattern: p.into(),
            reason: "the pattern is empty".into(),
        });
    }
    match p.split_once(':') {
        Some((k, glob)) => match kind_prefix(k) {
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

/// The character at byte `i` of `s` and its length, if `i` is not the end.
fn char_at(s: &str, i: usize) -> Option<(char, usize)> {
    s[i..].chars().next().map(|c| (c, c.len_utf8()))
}

/// Matches a glob with `*` (any run, also empty) and `?` (one character), without
/// allocating.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (mut pi, mut ni) = (0usize, 0usize);
    // After a `*`: where the pattern resumes, and where in the name the star's run ends.
    let mut star: Option<(usize, usize)> = None;
    while let Some((nc, nl)) = char_at(name, ni) {
        match char_at(pattern, pi) {
            Some(('*', pl)) => {
                pi += pl;
                star = Some((pi, ni));
                continue;
            }
            Some((pc, pl)) if pc == '?' || pc == nc => {
                pi += pl;
                ni += nl;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star take one more character.
        let Some((sp, sn)) = star else {
            return false;
        };
        let grown = sn + char_at(name, sn).map_or(0, |(_, l)| l);
        pi = sp;
        ni = grown;
        star = Some((sp, grown));
    }
    pattern[pi..].chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    /// The matcher before compilation existed (re-parsing, allocating), kept as the
    /// reference the fast paths must agree with. Names never contain `*`.
    fn reference_matches(f: &Filter, kind: Kind, name: &str) -> bool {
        fn reference_glob(pattern: &str, name: &str) -> bool {
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
        fn split(p: &str) -> Option<(Option<Kind>, &str)> {
            if p.is_empty() {
                return None;
            }
            match p.split_once(':') {
                Some((k, glob)) => match Kind::parse(k) {
                    Some(_) if glob.is_empty() => None,
                    Some(kind) => Some((Some(kind), glob)),
                    None => Some((None, p)),
                },
                None => Some((None, p)),
            }
        }
        if !f.selects_kind(kind) {
            return false;
        }
        let hit = |p: &String| match split(p) {
            Some((k, glob)) => k.is_none_or(|k| k == kind) && reference_glob(glob, name),
            None => false,
        };
        let includes: Vec<&String> = f
            .include
            .iter()
            .filter(|p| split(p).is_some_and(|(k, _)| k.is_none_or(|k| k == kind)))
            .collect();
        let included = includes.is_empty() || includes.into_iter().any(hit);
        included && !f.exclude.iter().any(hit)
    }

    fn pattern() -> impl Strategy<Value = String> {
        let scope = prop_oneof![
            Just(""),
            Just("thing:"),
            Just("Things:"),
            Just("thing-group:"),
            Just("policy:"),
            Just("cert:"),
            Just("site:"),
            Just("thing:"),
        ];
        (scope, "[ab:*?é-]{0,5}").prop_map(|(s, g)| format!("{s}{g}"))
    }

    fn filter() -> impl Strategy<Value = Filter> {
        (
            prop::collection::vec(prop::sample::select(Kind::ALL.to_vec()), 0..3),
            prop::collection::vec(pattern(), 0..3),
            prop::collection::vec(pattern(), 0..3),
        )
            .prop_map(|(kinds, include, exclude)| Filter {
                kinds,
                include,
                exclude,
            })
    }

    proptest! {
        #[test]
        fn compiled_and_direct_matching_agree_with_the_reference(
            f in filter(),
            names in prop::collection::vec("[ab:é-]{0,6}", 1..8),
        ) {
            let c = f.compile();
            for kind in Kind::ALL {
                for name in &names {
                    let want = reference_matches(&f, kind, name);
                    prop_assert_eq!(f.matches(kind, name), want, "{:?} {} {:?}", f, kind, name);
                    prop_assert_eq!(c.matches(kind, name), want, "{:?} {} {:?}", f, kind, name);
                }
            }
        }

        #[test]
        fn kind_prefixes_parse_like_kind_parse(s in "[a-zA-Z_ -]{0,20}") {
            prop_assert_eq!(kind_prefix(&s), Kind::parse(&s));
        }
    }

    #[test]
    fn kind_prefixes_accept_every_spelling() {
        for s in [
            "thing",
            "Things",
            "thing-type",
            "THING_TYPES",
            "billing-group",
            "thingGroups",
            "group",
            "policies",
            "cert",
            "certificates",
        ] {
            assert_eq!(kind_prefix(s), Kind::parse(s), "{s}");
            assert!(kind_prefix(s).is_some(), "{s}");
        }
        assert_eq!(kind_prefix("site"), None);
        assert_eq!(kind_prefix("thingthingthingthing"), None);
    }

    #[test]
    fn globs_are_compiled_to_their_shape() {
        assert_eq!(Glob::new("*"), Glob::Any);
        assert_eq!(Glob::new("**"), Glob::Any);
        assert_eq!(Glob::new("abc"), Glob::Exact("abc".into()));
        assert_eq!(Glob::new("ab*"), Glob::Prefix("ab".into()));
        assert_eq!(Glob::new("*ab"), Glob::Suffix("ab".into()));
        assert_eq!(Glob::new("a*b"), Glob::Wild("a*b".into()));
        assert_eq!(Glob::new("a?*"), Glob::Wild("a?*".into()));
        assert!(Glob::new("ab*").matches("abc"));
        assert!(!Glob::new("*ab").matches("abc"));
    }

    #[test]
    fn a_filter_that_selects_everything_is_a_fast_path() {
        let all = Filter::default().compile();
        assert!(all.is_all());
        assert!(Kind::ALL.iter().all(|k| all.selects_all_of(*k)));
        // `*` includes are everything too.
        let star = Filter {
            include: vec!["*".into()],
            ..Default::default()
        };
        assert!(star.compile().is_all());
        let kinds = Filter {
            kinds: vec![Kind::Thing],
            ..Default::default()
        }
        .compile();
        assert!(!kinds.is_all());
        assert!(kinds.selects_all_of(Kind::Thing));
        assert!(!kinds.selects_kind(Kind::Policy));
        let none = Filter {
            exclude: vec!["thing:*".into()],
            ..Default::default()
        }
        .compile();
        assert!(!none.selects_kind(Kind::Thing));
        assert!(none.selects_all_of(Kind::Policy));
    }

    #[test]
    fn select_yields_the_matching_entries_of_a_map() {
        let map: BTreeMap<Name, u32> = [("sensor-1", 1), ("sensor-2", 2), ("gw-1", 3)]
            .into_iter()
            .map(|(n, v)| (Name::from(n), v))
            .collect();
        let f = Filter {
            include: vec!["thing:sensor-*".into()],
            exclude: vec!["*-2".into()],
            ..Default::default()
        }
        .compile();
        let got: Vec<u32> = f.select(Kind::Thing, &map).map(|(_, v)| *v).collect();
        assert_eq!(got, [1]);
        assert_eq!(
            f.select(Kind::Policy, &map).count(),
            2,
            "exclude applies to all"
        );
        let kinds = Filter {
            kinds: vec![Kind::Policy],
            ..Default::default()
        }
        .compile();
        assert_eq!(kinds.select(Kind::Thing, &map).count(), 0);
        assert_eq!(kinds.select(Kind::Policy, &map).count(), 3);
    }

    /// A micro benchmark: `cargo test -p iot-crr-model --release --lib -- --ignored
    /// --nocapture filter_micro_benchmark`.
    #[test]
    #[ignore = "a benchmark; run it by name with --ignored"]
    fn filter_micro_benchmark() {
        use std::time::Instant;
        let names: Vec<String> = (0..200_000).map(|i| format!("sensor-{i:06}")).collect();
        let f = Filter {
            include: vec!["thing:sensor-0*".into(), "policy:p-*".into()],
            exclude: vec!["*-test".into(), "thing:sensor-0?9*".into()],
            ..Default::default()
        };
        let time = |what: &str, m: &dyn Fn(&str) -> bool| {
            let start = Instant::now();
            let n = names.iter().filter(|n| m(n)).count();
            let ns = start.elapsed().as_nanos() as f64 / names.len() as f64;
            println!("{what:>28}: {ns:7.1} ns/name ({n} selected)");
            n
        };
        let c = f.compile();
        let a = time("reference (re-parse, alloc)", &|n| {
            reference_matches(&f, Kind::Thing, n)
        });
        let b = time("Filter::matches", &|n| f.matches(Kind::Thing, n));
        let d = time("CompiledFilter::matches", &|n| c.matches(Kind::Thing, n));
        let all = Filter::default().compile();
        time("CompiledFilter (all)", &|n| all.matches(Kind::Thing, n));
        assert_eq!(a, b);
        assert_eq!(a, d);
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
