//! Condition operators and their evaluation (IAM semantics).

use crate::Context;
use crate::glob::{Seg, glob_match};
use crate::pattern::Pattern;
use crate::tri::Tri;
use crate::vars::{KeyVal, Sel, Var, key_value, mentions_cert, mentions_thing, parse_name};

/// The comparison an operator makes, before negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Bool,
    Arn,
}

/// A set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQ {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone)]
enum Kind {
    Op {
        base: Base,
        negated: bool,
        if_exists: bool,
        set: Option<SetQ>,
        key: Var,
        values: Vec<Pattern>,
    },
    Null {
        key: Var,
        values: Vec<bool>,
    },
    Unknown(String),
}

/// One operator/key pair of a `Condition` block with its values.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    /// The key as written.
    pub(crate) key: String,
    /// The values as written (booleans and numbers as their JSON text).
    pub(crate) raw_values: Vec<String>,
    /// The parsed key, when known (for `uses_*`).
    pub(crate) key_var: Option<Var>,
    kind: Kind,
}

/// `(base, negated)` of an operator name without qualifier and `IfExists`.
fn base_of(name: &str) -> Option<(Base, bool)> {
    Some(match name {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "Bool" => (Base::Bool, false),
        "ArnEquals" | "ArnLike" => (Base::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::Arn, true),
        _ => return None,
    })
}

impl Condition {
    /// Whether the operator compares ARNs (`ArnEquals`, `ArnLike`, their negations and forms).
    pub(crate) fn is_arn_operator(&self) -> bool {
        matches!(
            self.kind,
            Kind::Op {
                base: Base::Arn,
                ..
            }
        )
    }

    /// Whether the key or a value uses the certificate.
    pub(crate) fn uses_cert(&self) -> bool {
        mentions_cert(&self.key) || self.values().iter().any(Pattern::mentions_cert)
    }

    /// Whether the key or a value uses the thing.
    pub(crate) fn uses_thing(&self) -> bool {
        mentions_thing(&self.key) || self.values().iter().any(Pattern::mentions_thing)
    }

    /// The compiled values (empty for `Null` and unknown operators).
    pub(crate) fn values(&self) -> &[Pattern] {
        match &self.kind {
            Kind::Op { values, .. } => values,
            _ => &[],
        }
    }

    /// Why it cannot be decided, when that is known at parse time.
    pub(crate) fn undecidable(&self) -> Option<&str> {
        match &self.kind {
            Kind::Unknown(r) => Some(r),
            Kind::Op { values, .. } => values.iter().flat_map(|p| p.vars()).find_map(|v| match v {
                Var::Unknown(r) => Some(r.as_str()),
                _ => None,
            }),
            Kind::Null { .. } => None,
        }
    }

    /// Parses one operator/key entry. Never fails: what is not supported is undecidable.
    pub(crate) fn parse(
        operator: &str,
        key: &str,
        raw_values: Vec<String>,
        variables: bool,
    ) -> Condition {
        let key_var = parse_name(key);
        let kind = Condition::kind(operator, key, key_var.clone(), &raw_values, variables);
        Condition {
            key: key.to_string(),
            raw_values,
            key_var,
            kind,
        }
    }

    fn kind(
        operator: &str,
        key: &str,
        key_var: Option<Var>,
        raw_values: &[String],
        variables: bool,
    ) -> Kind {
        let unknown_op = || Kind::Unknown(format!("unknown condition operator {operator:?}"));
        let (set, rest) = if let Some(r) = operator.strip_prefix("ForAnyValue:") {
            (Some(SetQ::ForAnyValue), r)
        } else if let Some(r) = operator.strip_prefix("ForAllValues:") {
            (Some(SetQ::ForAllValues), r)
        } else {
            (None, operator)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let unknown_key = || Kind::Unknown(format!("unknown condition key {key:?}"));
        if rest == "Null" {
            if set.is_some() || if_exists {
                return unknown_op();
            }
            let Some(key_var) = key_var else {
                return unknown_key();
            };
            let mut values = Vec::with_capacity(raw_values.len());
            for v in raw_values {
                if v.eq_ignore_ascii_case("true") {
                    values.push(true);
                } else if v.eq_ignore_ascii_case("false") {
                    values.push(false);
                } else {
                    return Kind::Unknown(format!(
                        "the Null operator takes \"true\" or \"false\", not {v:?}"
                    ));
                }
            }
            return Kind::Null {
                key: key_var,
                values,
            };
        }
        let Some((base, negated)) = base_of(rest) else {
            return unknown_op();
        };
        let Some(key_var) = key_var else {
            return unknown_key();
        };
        if matches!(key_var, Var::Cert(_, Sel::List)) && set.is_none() {
            return Kind::Unknown(format!(
                "the multi-valued key {key:?} needs ForAnyValue: or ForAllValues:"
            ));
        }
        Kind::Op {
            base,
            negated,
            if_exists,
            set,
            key: key_var,
            values: raw_values
                .iter()
                .map(|v| Pattern::compile(v, variables))
                .collect(),
        }
    }

    /// Whether the condition holds in `ctx`.
    pub(crate) fn eval<'a>(&'a self, ctx: &Context<'a>) -> Tri<'a> {
        match &self.kind {
            Kind::Unknown(r) => Tri::Unknown(r),
            Kind::Null { key, values } => {
                let present = match key_value(key, ctx) {
                    KeyVal::Unknown(r) => return Tri::Unknown(r),
                    KeyVal::Absent => false,
                    KeyVal::One(_) | KeyVal::Many(_) => true,
                };
                values.iter().any(|&v| v != present).into()
            }
            Kind::Op {
                base,
                negated,
                if_exists,
                set,
                key,
                values,
            } => match key_value(key, ctx) {
                KeyVal::Unknown(r) => Tri::Unknown(r),
                KeyVal::Absent => {
                    (*if_exists || *set == Some(SetQ::ForAllValues) || (set.is_none() && *negated))
                        .into()
                }
                KeyVal::One(v) => test(*base, *negated, values, v, ctx),
                KeyVal::Many(vs) => match set {
                    Some(SetQ::ForAllValues) => vs.iter().fold(Tri::True, |acc, v| {
                        acc.and(test(*base, *negated, values, v, ctx))
                    }),
                    Some(SetQ::ForAnyValue) => vs.iter().fold(Tri::False, |acc, v| {
                        acc.or(test(*base, *negated, values, v, ctx))
                    }),
                    None => Tri::Unknown("a multi-valued key without a set qualifier"),
                },
            },
        }
    }
}

/// One request value against the policy values: OR over the values, NOR when negated.
fn test<'a>(
    base: Base,
    negated: bool,
    values: &'a [Pattern],
    text: &str,
    ctx: &Context<'a>,
) -> Tri<'a> {
    let mut m = Tri::False;
    for p in values {
        m = m.or(compare(base, p, text, ctx));
        if m == Tri::True {
            break;
        }
    }
    if negated { m.not() } else { m }
}

/// The text segments stand for when wildcards are not interpreted.
fn literal_text(segs: &[Seg<'_>]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Lit(s) => s,
            Seg::Star => "*",
            Seg::One => "?",
        })
        .collect()
}

fn compare<'a>(base: Base, p: &'a Pattern, text: &str, ctx: &Context<'a>) -> Tri<'a> {
    if base == Base::StringLike {
        return p.eval(text, ctx);
    }
    let segs = match p.segs(ctx) {
        Ok(s) => s,
        Err(reason) => return Tri::Unknown(reason),
    };
    match base {
        Base::StringEquals => (literal_text(&segs) == text).into(),
        Base::StringEqualsIgnoreCase => {
            (literal_text(&segs).to_lowercase() == text.to_lowercase()).into()
        }
        Base::Bool => literal_text(&segs).eq_ignore_ascii_case(text).into(),
        Base::Arn => arn_match(&segs, text).into(),
        Base::StringLike => p.eval(text, ctx),
    }
}

/// IAM ARN matching: the six `:`-separated components are matched separately, each with
/// `*` and `?` wildcards (the last component keeps any further `:`).
fn arn_match(segs: &[Seg<'_>], text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() != 6 {
        return false;
    }
    let mut comps: Vec<Vec<Seg<'_>>> = vec![Vec::new()];
    for seg in segs {
        match *seg {
            Seg::Lit(mut s) => {
                while comps.len() < 6 {
                    let Some((before, after)) = s.split_once(':') else {
                        break;
                    };
                    if let Some(last) = comps.last_mut() {
                        last.push(Seg::Lit(before));
                    }
                    comps.push(Vec::new());
                    s = after;
                }
                if let Some(last) = comps.last_mut() {
                    last.push(Seg::Lit(s));
                }
            }
            other => {
                if let Some(last) = comps.last_mut() {
                    last.push(other);
                }
            }
        }
    }
    comps.len() == 6
        && comps
            .iter()
            .zip(parts)
            .all(|(comp, part)| glob_match(comp.len(), |i| comp[i], part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::plain_segs;

    #[test]
    fn arn_components() {
        let m = |p: &str, t: &str| arn_match(&plain_segs(p), t);
        assert!(m(
            "arn:aws:iot:*:123:topic/a",
            "arn:aws:iot:eu-west-1:123:topic/a"
        ));
        assert!(!m(
            "arn:aws:iot:*:topic/a",
            "arn:aws:iot:eu-west-1:123:topic/a"
        ));
        assert!(m("arn:aws:iot:r:1:topic/*", "arn:aws:iot:r:1:topic/a:b"));
        assert!(!m("arn:aws:iot:r:1:topic/*", "arn:aws:iot:r:1"));
        assert!(m("arn:*:*:*:*:*", "arn:aws:iot:r:1:x"));
    }
}
