//! Precompiled strings with wildcards and policy variables: resources and condition values.

use crate::Context;
use crate::glob::{Seg, glob_match};
use crate::tri::Tri;
use crate::vars::{Sel, Sub, Var, mentions_cert, mentions_thing, parse_name, substitute};

/// Why a variable is not interpreted in a document without `"Version": "2012-10-17"`.
pub(crate) const OLD_VERSION: &str =
    "policy variables are only interpreted with \"Version\": \"2012-10-17\"";

/// A token of a compiled pattern.
#[derive(Debug, Clone)]
pub(crate) enum Tok {
    /// Literal text (escapes such as `${*}` included).
    Lit(String),
    /// `*`.
    Star,
    /// `?`.
    One,
    /// The variable at this index of [`Pattern::vars`].
    Var(usize),
}

/// A variable reference: the variable and the text it was written as (`${...}`).
#[derive(Debug, Clone)]
pub(crate) struct VarRef {
    pub(crate) var: Var,
    pub(crate) text: String,
}

impl VarRef {
    /// The name between `${` and `}`.
    fn name(&self) -> &str {
        self.text
            .strip_prefix("${")
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(&self.text)
    }
}

/// A resource pattern of a statement (or a condition value), with its policy variables.
#[derive(Debug, Clone)]
pub struct Pattern {
    raw: String,
    toks: Vec<Tok>,
    vars: Vec<VarRef>,
}

/// The segment token `i` stands for, variables resolved to `vals`.
fn seg<'s>(toks: &'s [Tok], vals: &[&'s str], i: usize) -> Seg<'s> {
    match &toks[i] {
        Tok::Lit(s) => Seg::Lit(s),
        Tok::Star => Seg::Star,
        Tok::One => Seg::One,
        Tok::Var(k) => Seg::Lit(vals.get(*k).copied().unwrap_or("")),
    }
}

impl Pattern {
    /// Compiles a pattern as a `"Version": "2012-10-17"` document would hold it.
    pub fn new(raw: &str) -> Pattern {
        Pattern::compile(raw, true)
    }

    /// Compiles a pattern; `variables` is false for documents whose Version does not
    /// interpret policy variables (every `${...}` is then undecidable).
    pub(crate) fn compile(raw: &str, variables: bool) -> Pattern {
        let mut toks = Vec::new();
        let mut vars = Vec::new();
        let mut lit = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if let Some((after, end)) = rest
                .strip_prefix("${")
                .and_then(|after| after.find('}').map(|end| (after, end)))
            {
                let name = &after[..end];
                let text = &rest[..end + 3];
                rest = &after[end + 1..];
                let var = if !variables {
                    Var::Unknown(OLD_VERSION.to_string())
                } else {
                    match name {
                        "*" | "?" | "$" => {
                            lit.push_str(name);
                            continue;
                        }
                        _ => match parse_name(name) {
                            Some(Var::Cert(_, Sel::List)) => Var::Unknown(format!(
                                "the multi-valued variable {text} cannot be substituted into a string"
                            )),
                            Some(v) => v,
                            None => Var::Unknown(format!("unknown policy variable {text}")),
                        },
                    }
                };
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(Tok::Var(vars.len()));
                vars.push(VarRef {
                    var,
                    text: text.to_string(),
                });
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' | '?' => {
                    if !lit.is_empty() {
                        toks.push(Tok::Lit(std::mem::take(&mut lit)));
                    }
                    toks.push(if c == '*' { Tok::Star } else { Tok::One });
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            toks.push(Tok::Lit(lit));
        }
        Pattern {
            raw: raw.to_string(),
            toks,
            vars,
        }
    }

    /// The pattern as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The pattern with its variables filled in from `context`, wildcards kept; `None`
    /// when a variable cannot be resolved there.
    pub fn substitute(&self, context: &Context<'_>) -> Option<String> {
        let mut out = String::with_capacity(self.raw.len());
        for tok in &self.toks {
            match tok {
                Tok::Lit(s) => out.push_str(s),
                Tok::Star => out.push('*'),
                Tok::One => out.push('?'),
                Tok::Var(k) => match substitute(&self.vars.get(*k)?.var, context) {
                    Sub::Value(v) => out.push_str(v),
                    Sub::Unresolved | Sub::Unknown(_) => return None,
                },
            }
        }
        Some(out)
    }

    /// Whether `text` matches the pattern in `context`: `None` when that cannot be decided
    /// (an unsupported variable, or a certificate variable without a certificate). A variable
    /// that does not resolve is left as its literal `${...}` text, as AWS IoT does.
    pub fn matches(&self, text: &str, context: &Context<'_>) -> Option<bool> {
        self.eval(text, context).known()
    }

    /// Whether the pattern holds no wildcard and no variable.
    pub fn is_literal(&self) -> bool {
        self.toks.iter().all(|t| matches!(t, Tok::Lit(_)))
    }

    /// Whether the pattern's text up to the end of `prefix` is literal and equal to it.
    pub fn has_literal_prefix(&self, prefix: &str) -> bool {
        let mut need = prefix;
        for tok in &self.toks {
            if need.is_empty() {
                return true;
            }
            let Tok::Lit(s) = tok else { return false };
            if s.len() >= need.len() {
                return s.starts_with(need);
            }
            match need.strip_prefix(s.as_str()) {
                Some(rest) => need = rest,
                None => return false,
            }
        }
        need.is_empty()
    }

    /// Whether a variable it references (supported or not) names the certificate.
    pub(crate) fn mentions_cert(&self) -> bool {
        self.vars
            .iter()
            .any(|v| v.var.is_cert() || mentions_cert(v.name()))
    }

    /// Whether a variable it references (supported or not) names the thing.
    pub(crate) fn mentions_thing(&self) -> bool {
        self.vars
            .iter()
            .any(|v| v.var.is_thing() || mentions_thing(v.name()))
    }

    /// The variables it references.
    pub(crate) fn vars(&self) -> impl Iterator<Item = &Var> {
        self.vars.iter().map(|v| &v.var)
    }

    /// Resolves the variables and hands the tokens and values to `f`; `Err` with the reason
    /// when a variable cannot be decided.
    pub(crate) fn with_values<'a, R>(
        &'a self,
        ctx: &Context<'a>,
        f: impl FnOnce(&'a [Tok], &[&'a str]) -> R,
    ) -> Result<R, &'a str> {
        let n = self.vars.len();
        let mut stack: [&'a str; 8] = [""; 8];
        let mut heap: Vec<&'a str> = Vec::new();
        let vals: &mut [&'a str] = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap.resize(n, "");
            &mut heap[..]
        };
        for (slot, v) in vals.iter_mut().zip(&self.vars) {
            *slot = match substitute(&v.var, ctx) {
                Sub::Value(s) => s,
                Sub::Unresolved => &v.text,
                Sub::Unknown(reason) => return Err(reason),
            };
        }
        Ok(f(&self.toks, vals))
    }

    /// The pattern's segments in `ctx` (allocates; for conditions).
    pub(crate) fn segs<'a>(&'a self, ctx: &Context<'a>) -> Result<Vec<Seg<'a>>, &'a str> {
        self.with_values(ctx, |toks, vals| {
            (0..toks.len()).map(|i| seg(toks, vals, i)).collect()
        })
    }

    /// Whether `text` matches, three-valued.
    pub(crate) fn eval<'a>(&'a self, text: &str, ctx: &Context<'a>) -> Tri<'a> {
        if self.vars.is_empty() {
            let toks = &self.toks;
            return glob_match(toks.len(), |i| seg(toks, &[], i), text).into();
        }
        match self.with_values(ctx, |toks, vals| {
            glob_match(toks.len(), |i| seg(toks, vals, i), text)
        }) {
            Ok(b) => b.into(),
            Err(reason) => Tri::Unknown(reason),
        }
    }
}
