//! The AWS IoT Core policy language as AWS IoT applies it: policy documents, policy
//! variables, condition operators, and the allow/deny decision for one request of a device.
//!
//! Pure: no I/O, no AWS SDK, no async. [`Policy::parse`] reads a document once and precompiles
//! every action list (to a bit set over [`Action::ALL`]), resource pattern and condition value
//! (to literal segments, wildcards and variable references), so that [`evaluate`] does no
//! parsing and, for resources, no allocation.
//!
//! # What is modelled
//!
//! * **Documents**: `Version` (optional; `"2012-10-17"` or `"2008-10-17"`), optional `Id`,
//!   `Statement` (an object or a non-empty array). A statement has an optional `Sid`, an
//!   `Effect` of exactly `Allow` or `Deny`, exactly one of `Action`/`NotAction` and exactly one
//!   of `Resource`/`NotResource` (a string or a non-empty array of strings), and an optional
//!   `Condition` (operator → key → a string, boolean, number or non-empty array of them). Any
//!   other element (`Principal`, `NotPrincipal`, ...) is a [`PolicyError`], which names the
//!   statement (index and `Sid`) and what is wrong.
//! * **Actions** are matched case-insensitively with `*` and `?`; only the nine actions of
//!   [`Action`] are modelled (an action pattern naming none of them simply covers nothing).
//! * **Resources** are matched case-sensitively; `*` matches any sequence (`/` and `:`
//!   included), `?` one character, and the MQTT wildcards `+` and `#` are literal characters.
//!   Matching is iterative (O(pattern × text) at worst, no exponential backtracking).
//! * **Policy variables** (`${...}`, names case-insensitive except a thing attribute's own
//!   name): `iot:ClientId`; `iot:Connection.Thing.ThingName`, `.ThingTypeName`,
//!   `.Attributes[NAME]`, `.IsAttached`; `iot:Certificate.SerialNumber`;
//!   `iot:Certificate.Subject.A` and `iot:Certificate.Issuer.A` for A in `CommonName`,
//!   `Country`, `Organization`, `OrganizationalUnit`, `State`, `DistinguishedNameQualifier`,
//!   `SerialNumber`, `Title`, `Surname`, `GivenName`, `Initials`, `Pseudonym`,
//!   `GenerationQualifier`; `iot:Certificate.Subject.AlternativeName.K` and
//!   `iot:Certificate.Issuer.AlternativeName.K` for K in `RFC822Name`, `DNSName`,
//!   `DirectoryName`, `UniformResourceIdentifier`, `IPAddress`. A multi-valued certificate
//!   field gives its first value; `.N` gives the value at index N (`.1` is the *second* value,
//!   as AWS documents); `.List` gives all values (condition keys only). At most five values of
//!   a field are kept, as AWS documents. The escapes `${*}`, `${?}`, `${$}` stand for the
//!   literal characters `*`, `?`, `$`; text substituted from a variable is literal too (a `*`
//!   in a client id is not a wildcard).
//! * **Conditions** (IAM semantics): `StringEquals`, `StringNotEquals`,
//!   `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`,
//!   `Bool`, `ArnEquals`, `ArnLike`, `ArnNotEquals`, `ArnNotLike` (each also with `IfExists`
//!   and with a `ForAnyValue:`/`ForAllValues:` prefix), and `Null`. The keys are the variables'
//!   names (case-insensitive). Operators AND, keys AND, the values of one key OR (NOR for a
//!   negated operator). A key absent from the request makes the condition false, except: true
//!   for `...IfExists`, true for a negated operator (as IAM documents), true for
//!   `ForAllValues:`, false for `ForAnyValue:`; `Null` is true for `"true"` when the key is
//!   absent and for `"false"` when it is present. Condition values may hold variables.
//!   `Arn*` operators match the six `:`-separated parts of an ARN separately, with wildcards.
//!
//! # Decision
//!
//! A statement applies when its action part (Action or NotAction), its resource part
//! (Resource or NotResource) and all its conditions hold. Each part is evaluated in
//! three-valued logic (true, false, cannot be decided): a statement one of whose parts is
//! false does not apply even if another part cannot be decided. [`evaluate`] then returns,
//! over all statements of all policies: a decidable Deny that applies → `ExplicitDeny`; else a
//! Deny that might apply → `Undecidable`; else an Allow that applies → `Allowed`; else an
//! Allow that might apply → `Undecidable`; else `ImplicitDeny`. So an explicit deny always
//! wins, and nothing is allowed that an undecidable Deny might forbid.
//!
//! # Unresolved variables, from the AWS IoT developer guide
//!
//! * A variable with no value is **not substituted: AWS IoT leaves the `${...}` text in the
//!   policy** ("X.509 Certificate policy variable limitations" in the guide's *Using X.509
//!   certificate policy variables*), so the pattern then only matches a resource that holds
//!   that text literally; in practice it does not match (the guide's thing-policy examples:
//!   "this variable won't be resolved and will result in an access denied error"). This is
//!   what the crate does for thing variables without a thing, a thing without a type or the
//!   named attribute, and a certificate without the field (or without the `.N`-th value).
//!   [`Pattern::substitute`] returns `None` in those cases.
//! * A certificate value holding a wildcard character (`*`, `$`, `+`, `?`, `#`) or longer than
//!   1024 characters is not substituted either (same page). As a *condition key*, such a value
//!   makes the condition undecidable (AWS does not document that case).
//! * Certificate values have AWS's special characters (`,` `"` `\` `+` `=` `<` `>` `;`)
//!   prefixed with a backslash (same page); a `DirectoryName` is written last RDN first with
//!   lower-case short names, `cn=LightBulbCert,ou=SmartHome,o=IoT,c=US`, as the guide's example
//!   shows. `iot:Certificate.SerialNumber` is the serial in decimal (the guide: "the string
//!   representation of a decimal integer").
//! * `iot:Connection.Thing.IsAttached` is `"true"` when [`Context::thing`] is `Some` and
//!   `"false"` otherwise: the guide says the variable "has values true or false", and the
//!   caller sets `thing` exactly when the thing named by the client id is attached to the
//!   certificate.
//! * Thing variables resolve only from [`Context::thing`] (the caller sets it only when the
//!   client id is the thing's name and the thing is attached, as AWS requires).
//! * Certificate variables and keys without a certificate ([`Context::certificate`] `None`)
//!   are undecidable ("the certificate was not read"): such a statement is never allowed or
//!   denied by accident.
//!
//! # Not supported (the statement is parsed and comes out undecidable)
//!
//! * Any other variable or key: `${aws:SourceIp}`, `${iot:DomainName}`, `${iot:CertificateId}`,
//!   `iot:ConnectAttributes`, `iot:Certificate.AvailableKeys`, ... The guide documents no
//!   `iot:Certificate.Validity.*` and no `Subject.Locality` variable, so those are unknown too.
//! * Any other operator (`Numeric*`, `Date*`, `IpAddress`, `BinaryEquals`, unknown names);
//!   operator names are matched exactly as IAM spells them.
//! * A `.List` key without a `ForAnyValue:`/`ForAllValues:` prefix; a `.List` variable inside a
//!   string; a `Null` value other than `true`/`false`.
//! * Variables in a document without `"Version": "2012-10-17"` (IAM treats them as literal text
//!   there; whether AWS IoT does is not documented).
//!
//! [`Statement::undecidable`] gives the first such reason of a statement; a statement with
//! none can still be undecidable for one request (a certificate variable without a
//! certificate).
//!
//! # Anchoring
//!
//! [`Policy::arns_anchored_at`] tells whether every ARN of a document is anchored at one
//! partition, region and account, so that a document rewritten to another region or account
//! decides the rewritten requests exactly as the original decides the original ones.

mod cert;
mod cond;
mod glob;
mod pattern;
mod policy;
mod tri;
mod vars;

pub use cert::{AltNameKind, CertificateError, CertificateInfo, DnAttribute};
pub use glob::wildcard_match;
pub use pattern::Pattern;
pub use policy::{Policy, Statement};

use std::collections::BTreeMap;
use tri::Tri;

/// The AWS IoT actions a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `iot:Connect` on `client/CLIENT_ID`.
    Connect,
    /// `iot:Publish` on `topic/TOPIC`.
    Publish,
    /// `iot:Receive` on `topic/TOPIC`.
    Receive,
    /// `iot:RetainPublish` on `topic/TOPIC`.
    RetainPublish,
    /// `iot:Subscribe` on `topicfilter/FILTER`.
    Subscribe,
    /// `iot:GetThingShadow` on `thing/THING`.
    GetThingShadow,
    /// `iot:UpdateThingShadow` on `thing/THING`.
    UpdateThingShadow,
    /// `iot:DeleteThingShadow` on `thing/THING`.
    DeleteThingShadow,
    /// `iot:AssumeRoleWithCertificate` on `rolealias/ALIAS`.
    AssumeRoleWithCertificate,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 9] = [
        Action::Connect,
        Action::Publish,
        Action::Receive,
        Action::RetainPublish,
        Action::Subscribe,
        Action::GetThingShadow,
        Action::UpdateThingShadow,
        Action::DeleteThingShadow,
        Action::AssumeRoleWithCertificate,
    ];
    /// `iot:Connect` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Connect => "iot:Connect",
            Action::Publish => "iot:Publish",
            Action::Receive => "iot:Receive",
            Action::RetainPublish => "iot:RetainPublish",
            Action::Subscribe => "iot:Subscribe",
            Action::GetThingShadow => "iot:GetThingShadow",
            Action::UpdateThingShadow => "iot:UpdateThingShadow",
            Action::DeleteThingShadow => "iot:DeleteThingShadow",
            Action::AssumeRoleWithCertificate => "iot:AssumeRoleWithCertificate",
        }
    }
    /// The resource type the action applies to: `client`, `topic`, `topicfilter`, `thing`, `rolealias`.
    pub fn resource_type(self) -> &'static str {
        match self {
            Action::Connect => "client",
            Action::Publish | Action::Receive | Action::RetainPublish => "topic",
            Action::Subscribe => "topicfilter",
            Action::GetThingShadow | Action::UpdateThingShadow | Action::DeleteThingShadow => {
                "thing"
            }
            Action::AssumeRoleWithCertificate => "rolealias",
        }
    }
    /// The action `iot:NAME` names (case-insensitive), when it is one of [`Action::ALL`].
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

/// A policy document that does not parse or that AWS IoT would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The statement (0-based) the error is in, when it is in one.
    pub statement: Option<usize>,
    /// That statement's `Sid`, when it has one.
    pub sid: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// Looks up a thing's attributes.
pub trait Attributes {
    /// The value of attribute `name`.
    fn attribute(&self, name: &str) -> Option<&str>;
}

impl Attributes for BTreeMap<String, String> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// The thing of a connection.
#[derive(Clone, Copy)]
pub struct ThingContext<'a> {
    /// Thing name.
    pub name: &'a str,
    /// Its type.
    pub type_name: Option<&'a str>,
    /// Its attributes.
    pub attributes: &'a dyn Attributes,
}

/// What the request's variables resolve to.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The client id.
    pub client_id: &'a str,
    /// The thing, when attached and named by the client id.
    pub thing: Option<ThingContext<'a>>,
    /// The certificate, when read.
    pub certificate: Option<&'a CertificateInfo>,
}

/// A request.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The action.
    pub action: Action,
    /// The full resource ARN.
    pub resource: &'a str,
    /// The context.
    pub context: &'a Context<'a>,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this statement.
    Allowed {
        /// Index into the policies given.
        policy: usize,
        /// Statement index.
        statement: usize,
    },
    /// Denied by this statement.
    ExplicitDeny {
        /// Index into the policies given.
        policy: usize,
        /// Statement index.
        statement: usize,
    },
    /// Nothing allows it.
    ImplicitDeny,
    /// Cannot decide.
    Undecidable {
        /// Index into the policies given.
        policy: usize,
        /// Statement index.
        statement: usize,
        /// Why.
        reason: String,
    },
}

impl Decision {
    /// Whether allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Evaluates a request against every statement of every policy (the policies attached to the
/// principal) and returns the decision, by these rules in order:
///
/// 1. a decidable `Deny` that applies: [`Decision::ExplicitDeny`];
/// 2. else a `Deny` that might apply but cannot be decided: [`Decision::Undecidable`];
/// 3. else a decidable `Allow` that applies: [`Decision::Allowed`];
/// 4. else an `Allow` that might apply but cannot be decided: [`Decision::Undecidable`];
/// 5. else [`Decision::ImplicitDeny`].
///
/// In each case the first such statement (in slice order, then document order) is named.
pub fn evaluate(policies: &[&Policy], request: &Request<'_>) -> Decision {
    let ctx = request.context;
    let action = request.action;
    let mut undecidable_deny: Option<(usize, usize, &str)> = None;
    let mut allowed: Option<(usize, usize)> = None;
    let mut undecidable_allow: Option<(usize, usize, &str)> = None;
    for (pi, policy) in policies.iter().enumerate() {
        for st in policy.statements() {
            if !st.covers_action(action) {
                continue;
            }
            match st.effect() {
                Effect::Deny => match st.applies(action, request.resource, ctx) {
                    Tri::True => {
                        return Decision::ExplicitDeny {
                            policy: pi,
                            statement: st.index(),
                        };
                    }
                    Tri::Unknown(reason) => {
                        undecidable_deny.get_or_insert((pi, st.index(), reason));
                    }
                    Tri::False => {}
                },
                Effect::Allow => {
                    if allowed.is_some() {
                        continue;
                    }
                    match st.applies(action, request.resource, ctx) {
                        Tri::True => allowed = Some((pi, st.index())),
                        Tri::Unknown(reason) => {
                            undecidable_allow.get_or_insert((pi, st.index(), reason));
                        }
                        Tri::False => {}
                    }
                }
            }
        }
    }
    let undecidable = |(policy, statement, reason): (usize, usize, &str)| Decision::Undecidable {
        policy,
        statement,
        reason: reason.to_string(),
    };
    if let Some(u) = undecidable_deny {
        return undecidable(u);
    }
    if let Some((policy, statement)) = allowed {
        return Decision::Allowed { policy, statement };
    }
    if let Some(u) = undecidable_allow {
        return undecidable(u);
    }
    Decision::ImplicitDeny
}
