//! Policy documents: parsing, statements and the document-level questions.

use serde_json::{Map, Value};

use crate::cond::Condition;
use crate::glob::{glob_match, plain_segs};
use crate::pattern::Pattern;
use crate::tri::Tri;
use crate::vars::Var;
use crate::{Action, Context, Effect, PolicyError};

/// One statement.
#[derive(Debug, Clone)]
pub struct Statement {
    index: usize,
    sid: Option<String>,
    effect: Effect,
    /// Bit `action as usize` set when the Action/NotAction list names the action.
    mask: u16,
    not_action: bool,
    action_patterns: Vec<String>,
    patterns: Vec<Pattern>,
    not_resource: bool,
    conditions: Vec<Condition>,
    undecidable: Option<String>,
}

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    version: Option<String>,
    statements: Vec<Statement>,
}

/// The bit of an action in a statement's mask.
fn bit(action: Action) -> u16 {
    1 << (action as u16)
}

impl Statement {
    /// Its position in the document (0-based).
    pub fn index(&self) -> usize {
        self.index
    }
    /// Its `Sid`.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }
    /// Its effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// The actions of `Action` this statement names (expanded from wildcards); empty for `NotAction`.
    pub fn actions(&self) -> Vec<Action> {
        if self.not_action {
            return Vec::new();
        }
        Action::ALL
            .into_iter()
            .filter(|a| self.mask & bit(*a) != 0)
            .collect()
    }
    /// The action patterns as written (of `Action` or `NotAction`).
    pub fn action_patterns(&self) -> &[String] {
        &self.action_patterns
    }
    /// Whether the statement applies to `action` by its Action/NotAction element alone.
    pub fn covers_action(&self, action: Action) -> bool {
        (self.mask & bit(action) != 0) != self.not_action
    }
    /// Whether the statement lists `NotAction`.
    pub fn is_not_action(&self) -> bool {
        self.not_action
    }
    /// The `Resource` patterns (empty for `NotResource`).
    pub fn resources(&self) -> &[Pattern] {
        if self.not_resource {
            &[]
        } else {
            &self.patterns
        }
    }
    /// The `NotResource` patterns (empty for `Resource`).
    pub fn not_resources(&self) -> &[Pattern] {
        if self.not_resource {
            &self.patterns
        } else {
            &[]
        }
    }
    /// Whether the statement lists `NotResource`.
    pub fn is_not_resource(&self) -> bool {
        self.not_resource
    }
    /// Why the evaluator cannot decide this statement, when it cannot.
    pub fn undecidable(&self) -> Option<&str> {
        self.undecidable.as_deref()
    }
    /// Whether it has a `Condition`.
    pub fn has_conditions(&self) -> bool {
        !self.conditions.is_empty()
    }
    /// Whether it uses a certificate variable or condition key.
    pub fn uses_certificate(&self) -> bool {
        self.patterns.iter().any(Pattern::mentions_cert)
            || self.conditions.iter().any(Condition::uses_cert)
    }
    /// Whether it uses a thing variable or condition key.
    pub fn uses_thing(&self) -> bool {
        self.patterns.iter().any(Pattern::mentions_thing)
            || self.conditions.iter().any(Condition::uses_thing)
    }

    /// The thing attribute names it uses.
    fn thing_attributes(&self) -> impl Iterator<Item = &str> {
        let pattern_vars = self.patterns.iter().flat_map(|p| p.vars());
        let cond_vars = self.conditions.iter().flat_map(|c| {
            c.key_var
                .iter()
                .chain(c.values().iter().flat_map(|p| p.vars()))
        });
        pattern_vars.chain(cond_vars).filter_map(|v| match v {
            Var::ThingAttr(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// Whether the statement applies to the request, three-valued.
    pub(crate) fn applies<'a>(
        &'a self,
        action: Action,
        resource: &str,
        ctx: &Context<'a>,
    ) -> Tri<'a> {
        if !self.covers_action(action) {
            return Tri::False;
        }
        let mut res = Tri::False;
        for p in &self.patterns {
            res = res.or(p.eval(resource, ctx));
            if res == Tri::True {
                break;
            }
        }
        if self.not_resource {
            res = res.not();
        }
        if res == Tri::False {
            return Tri::False;
        }
        let mut cond = Tri::True;
        for c in &self.conditions {
            cond = cond.and(c.eval(ctx));
            if cond == Tri::False {
                return Tri::False;
            }
        }
        res.and(cond)
    }
}

/// Builds errors for one statement.
struct Here<'s> {
    index: usize,
    sid: Option<&'s str>,
}

impl Here<'_> {
    fn err(&self, what: impl std::fmt::Display) -> PolicyError {
        let place = match self.sid {
            Some(sid) => format!("statement {} (Sid {sid:?})", self.index),
            None => format!("statement {}", self.index),
        };
        PolicyError {
            statement: Some(self.index),
            sid: self.sid.map(str::to_string),
            message: format!("{place}: {what}"),
        }
    }
}

fn doc_err(what: impl std::fmt::Display) -> PolicyError {
    PolicyError {
        statement: None,
        sid: None,
        message: what.to_string(),
    }
}

/// A string or an array of strings, non-empty.
fn string_list(here: &Here<'_>, name: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
    let list = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    other => {
                        return Err(
                            here.err(format!("{name}[{i}] is {}, not a string", kind_of(other)))
                        );
                    }
                }
            }
            out
        }
        other => {
            return Err(here.err(format!(
                "{name} is {}, not a string or an array of strings",
                kind_of(other)
            )));
        }
    };
    if list.is_empty() {
        return Err(here.err(format!("{name} is empty")));
    }
    Ok(list)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A condition value: a string, boolean or number (as its JSON text).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Exactly one of two elements.
fn one_of<'v>(
    here: &Here<'_>,
    obj: &'v Map<String, Value>,
    yes: &str,
    not: &str,
) -> Result<(&'v Value, bool), PolicyError> {
    match (obj.get(yes), obj.get(not)) {
        (Some(_), Some(_)) => Err(here.err(format!("both {yes} and {not}"))),
        (None, None) => Err(here.err(format!("neither {yes} nor {not}"))),
        (Some(v), None) => Ok((v, false)),
        (None, Some(v)) => Ok((v, true)),
    }
}

const STATEMENT_ELEMENTS: [&str; 7] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn parse_statement(index: usize, v: &Value, variables: bool) -> Result<Statement, PolicyError> {
    let obj = match v {
        Value::Object(o) => o,
        other => {
            return Err(Here { index, sid: None }.err(format!(
                "a statement must be an object, not {}",
                kind_of(other)
            )));
        }
    };
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(
                Here { index, sid: None }.err(format!("Sid is {}, not a string", kind_of(other)))
            );
        }
    };
    let here = Here { index, sid };
    if let Some(name) = obj
        .keys()
        .find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str()))
    {
        return Err(here.err(format!(
            "the element {name:?} is not supported by AWS IoT policies"
        )));
    }
    let effect = match obj.get("Effect") {
        None => return Err(here.err("missing Effect")),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return Err(here.err(format!("Effect is {s:?}, not \"Allow\" or \"Deny\"")));
        }
        Some(other) => return Err(here.err(format!("Effect is {}, not a string", kind_of(other)))),
    };
    let (actions_v, not_action) = one_of(&here, obj, "Action", "NotAction")?;
    let action_patterns = string_list(
        &here,
        if not_action { "NotAction" } else { "Action" },
        actions_v,
    )?;
    let mut mask = 0u16;
    for pattern in &action_patterns {
        let lower = pattern.to_ascii_lowercase();
        let segs = plain_segs(&lower);
        for action in Action::ALL {
            let name = action.as_str().to_ascii_lowercase();
            if glob_match(segs.len(), |i| segs[i], &name) {
                mask |= bit(action);
            }
        }
    }
    let (res_v, not_resource) = one_of(&here, obj, "Resource", "NotResource")?;
    let patterns = string_list(
        &here,
        if not_resource {
            "NotResource"
        } else {
            "Resource"
        },
        res_v,
    )?
    .iter()
    .map(|r| Pattern::compile(r, variables))
    .collect::<Vec<_>>();
    let mut conditions = Vec::new();
    match obj.get("Condition") {
        None => {}
        Some(Value::Object(ops)) => {
            for (op, keys) in ops {
                let Value::Object(keys) = keys else {
                    return Err(here.err(format!(
                        "Condition {op:?} is {}, not an object of keys",
                        kind_of(keys)
                    )));
                };
                for (key, values) in keys {
                    let values = match values {
                        Value::Array(items) => {
                            let mut out = Vec::with_capacity(items.len());
                            for (i, item) in items.iter().enumerate() {
                                out.push(scalar(item).ok_or_else(|| {
                                    here.err(format!(
                                        "Condition {op:?} {key:?}[{i}] is {}, not a string, boolean or number",
                                        kind_of(item)
                                    ))
                                })?);
                            }
                            out
                        }
                        other => vec![scalar(other).ok_or_else(|| {
                            here.err(format!(
                                "Condition {op:?} {key:?} is {}, not a string, boolean, number or array of them",
                                kind_of(other)
                            ))
                        })?],
                    };
                    if values.is_empty() {
                        return Err(here.err(format!("Condition {op:?} {key:?} has no values")));
                    }
                    conditions.push(Condition::parse(op, key, values, variables));
                }
            }
        }
        Some(other) => {
            return Err(here.err(format!("Condition is {}, not an object", kind_of(other))));
        }
    }
    let undecidable = patterns
        .iter()
        .flat_map(|p| p.vars())
        .find_map(|v| match v {
            Var::Unknown(r) => Some(r.clone()),
            _ => None,
        })
        .or_else(|| {
            conditions
                .iter()
                .find_map(|c| c.undecidable().map(str::to_string))
        });
    Ok(Statement {
        index,
        sid: sid.map(str::to_string),
        effect,
        mask,
        not_action,
        action_patterns,
        patterns,
        not_resource,
        conditions,
        undecidable,
    })
}

impl Policy {
    /// Parses a document.
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        let value: Value = serde_json::from_str(document)
            .map_err(|e| doc_err(format!("the policy document is not JSON: {e}")))?;
        let Value::Object(doc) = value else {
            return Err(doc_err(format!(
                "the policy document is {}, not an object",
                kind_of(&value)
            )));
        };
        if let Some(name) = doc
            .keys()
            .find(|k| !["Version", "Statement", "Id"].contains(&k.as_str()))
        {
            return Err(doc_err(format!(
                "the element {name:?} is not supported at the top of an AWS IoT policy"
            )));
        }
        let version = match doc.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(Value::String(v)) => {
                return Err(doc_err(format!(
                    "Version {v:?} is not \"2012-10-17\" or \"2008-10-17\""
                )));
            }
            Some(other) => {
                return Err(doc_err(format!(
                    "Version is {}, not a string",
                    kind_of(other)
                )));
            }
        };
        let variables = version.as_deref() == Some("2012-10-17");
        let statements = match doc.get("Statement") {
            None => return Err(doc_err("the policy document has no Statement")),
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(doc_err("Statement is an empty array"));
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(i, s, variables))
                .collect::<Result<Vec<_>, _>>()?,
            Some(s @ Value::Object(_)) => vec![parse_statement(0, s, variables)?],
            Some(other) => {
                return Err(doc_err(format!(
                    "Statement is {}, not an object or an array of objects",
                    kind_of(other)
                )));
            }
        };
        Ok(Policy {
            version,
            statements,
        })
    }
    /// Its `Version`, when given.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// Its statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
    /// Whether it uses a certificate variable or condition key.
    pub fn uses_certificate(&self) -> bool {
        self.statements.iter().any(Statement::uses_certificate)
    }
    /// Thing attribute names it uses (deduplicated, sorted).
    pub fn thing_attributes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .statements
            .iter()
            .flat_map(Statement::thing_attributes)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
    /// Whether it uses a thing variable or condition key.
    pub fn uses_thing(&self) -> bool {
        self.statements.iter().any(Statement::uses_thing)
    }
    /// Whether every statement can be decided.
    pub fn is_decidable(&self) -> bool {
        self.statements.iter().all(|s| s.undecidable.is_none())
    }
    /// Whether every ARN it holds begins with `arn:PARTITION:iot:REGION:ACCOUNT:`.
    ///
    /// True when every `Resource`/`NotResource` pattern is exactly `*` or starts with that
    /// literal prefix (no wildcard or variable before its end), and every condition value
    /// that contains `arn:` (in any case) is a value of an ARN operator anchored the same way.
    pub fn arns_anchored_at(&self, partition: &str, region: &str, account: &str) -> bool {
        let prefix = format!("arn:{partition}:iot:{region}:{account}:");
        let anchored = |p: &Pattern| p.has_literal_prefix(&prefix);
        self.statements.iter().all(|s| {
            s.patterns.iter().all(|p| p.raw() == "*" || anchored(p))
                && s.conditions.iter().all(|c| {
                    c.raw_values.iter().all(|v| {
                        !v.to_ascii_lowercase().contains("arn:")
                            || (c.is_arn_operator() && anchored(&Pattern::new(v)))
                    })
                })
        })
    }
}
