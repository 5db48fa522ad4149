//! AWS IoT's documented constraints on what a registry can hold, checked before any API
//! call: the snapshot reader ([`format`](mod@crate::format)) checks every resource line,
//! the plan reader ([`Plan::from_json`](crate::Plan::from_json)) every change.
//!
//! The limits come from the AWS IoT API Reference (the length constraints and patterns
//! of each request field) and the AWS IoT Developer Guide (thing types, thing groups,
//! policies, quotas). Each rule is a small pure function with its own test; the
//! resource- and change-level checks only compose them. A broken rule is a
//! [`Violation`] naming the resource, the field and the limit:
//!
//! ```text
//! thing "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…": thingName is 300 characters long (AWS IoT allows 1 to 128)
//! ```
//!
//! What is deliberately accepted:
//! - an empty attribute value (AWS treats it as "no attribute"; the diff handles it);
//! - tag keys starting with `aws:` (reserved for AWS, which sets them itself, so a
//!   registry that is read may hold them); they do not count towards the tag limit;
//! - non-ASCII letters in descriptions (only control characters and line breaks are
//!   refused: the API's `[\p{Graph}\x20]*`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::apply::MAX_POLICY_VERSIONS;
use crate::collections::{NameSet, StringMap};
use crate::kinds::KindChange;
use crate::plan::{Change, PolicyTarget};
use crate::resource::{
    Certificate, Kind, Name, Policy, Resource, Thing, ThingGroup, ThingType,
    principal_certificate_id,
};

/// The longest name of a thing, thing type, thing group, billing group or policy.
pub const MAX_NAME_LEN: usize = 128;
/// The longest description of a thing type, thing group or billing group.
pub const MAX_DESCRIPTION_LEN: usize = 2028;
/// The longest attribute name (things and thing groups).
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 128;
/// The longest attribute value (things and thing groups).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 800;
/// How many attributes a thing with a thing type may have.
pub const MAX_THING_ATTRIBUTES_WITH_TYPE: usize = 50;
/// How many attributes a thing without a thing type may have.
pub const MAX_THING_ATTRIBUTES_WITHOUT_TYPE: usize = 3;
/// How many attributes a thing group may have.
pub const MAX_THING_GROUP_ATTRIBUTES: usize = 50;
/// How many searchable attributes a thing type may name.
pub const MAX_SEARCHABLE_ATTRIBUTES: usize = 3;
/// The longest tag key.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// The longest tag value.
pub const MAX_TAG_VALUE_LEN: usize = 256;
/// How many tags a resource may carry (keys starting with `aws:` not counted).
pub const MAX_TAGS: usize = 50;
/// The most characters of a policy document, not counting whitespace.
pub const MAX_POLICY_DOCUMENT_CHARS: usize = 2048;
/// The length of a certificate id (hexadecimal digits of a SHA-256).
pub const CERTIFICATE_ID_LEN: usize = 64;
/// The longest certificate PEM.
pub const MAX_CERTIFICATE_PEM_LEN: usize = 65536;
/// How many levels a thing group hierarchy may have (a root group is level 1).
pub const MAX_GROUP_LEVELS: usize = 7;
/// How many thing groups a thing may be a direct member of.
pub const MAX_GROUPS_PER_THING: usize = 10;

/// A value that breaks one of AWS IoT's constraints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{subject}: {field} {problem}")]
pub struct Violation {
    /// The resource, e.g. `thing "sensor-1"`.
    pub subject: String,
    /// The field, in the API's spelling (`thingName`, `attribute "model" value`).
    pub field: String,
    /// What is wrong, with the limit (`is 300 characters long (AWS IoT allows 1 to
    /// 128)`).
    pub problem: String,
}

/// A resource name as shown in a message: quoted, and cut after 40 characters.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CUT: usize = 40;
        match self.0.char_indices().nth(CUT) {
            Some((i, _)) => write!(f, "{:?}", format!("{}…", &self.0[..i])),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// How a kind is named in messages.
fn noun(kind: Kind) -> &'static str {
    kind.noun()
}

/// The subject of a message about the resource `kind`/`name`.
fn subject(kind: Kind, name: &str) -> String {
    format!("{} {}", noun(kind), Shown(name))
}

/// Builds violations about one resource.
pub(crate) struct Ctx<'a> {
    kind: Kind,
    name: &'a str,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(kind: Kind, name: &'a str) -> Self {
        Ctx { kind, name }
    }

    /// A violation of `field`.
    pub(crate) fn err(&self, field: impl fmt::Display, problem: String) -> Violation {
        Violation {
            subject: subject(self.kind, self.name),
            field: field.to_string(),
            problem,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rules: each returns the problem (without the field) or nothing.
// ---------------------------------------------------------------------------------------

/// The problem of a length outside `min..=max` characters, if any.
fn length(value: &str, min: usize, max: usize) -> Result<(), String> {
    // Bytes bound characters from above: most values need no count.
    if value.len() <= max && value.len() >= min.max(1) {
        return Ok(());
    }
    let n = value.chars().count();
    if n == 0 && min > 0 {
        return Err(format!(
            "is empty (AWS IoT requires {min} to {max} characters)"
        ));
    }
    if n < min || n > max {
        let allowed = if min == 0 {
            format!("at most {max}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!("is {n} characters long (AWS IoT allows {allowed})"));
    }
    Ok(())
}

/// A set of ASCII characters, as a table indexed by byte (every byte beyond ASCII
/// outside it).
struct Class([bool; 256]);

impl Class {
    /// Letters, digits and `extra`.
    const fn alphanumeric_and(extra: &[u8]) -> Class {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 128 {
            t[b] = (b as u8).is_ascii_alphanumeric();
            b += 1;
        }
        let mut i = 0;
        while i < extra.len() {
            t[extra[i] as usize] = true;
            i += 1;
        }
        Class(t)
    }

    fn has(&self, c: char) -> bool {
        c.is_ascii() && self.0[c as usize]
    }
}

/// The problem of a character outside `allowed`, if any.
fn chars(value: &str, allowed: impl Fn(char) -> bool, described: &str) -> Result<(), String> {
    // ASCII bytes decide without decoding UTF-8, and the offending character is
    // looked for only when there is one (or when the value is not all ASCII).
    if value
        .bytes()
        .all(|b| b.is_ascii() && allowed(char::from(b)))
    {
        return Ok(());
    }
    match value.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!("contains {c:?} (AWS IoT allows only {described})")),
        None => Ok(()),
    }
}

/// [`chars`] for a set of ASCII characters: one table look-up a byte, without an
/// early exit, so that the common case (every character allowed) runs straight
/// through.
fn class_chars(value: &str, allowed: &Class, described: &str) -> Result<(), String> {
    if value
        .bytes()
        .fold(true, |ok, b| ok & allowed.0[usize::from(b)])
    {
        return Ok(());
    }
    chars(value, |c| allowed.has(c), described)
}

/// A rule that is a set of ASCII characters and a length: what the fast reader of
/// snapshot lines checks in the same scan that finds a value's end.
pub(crate) struct AsciiRule {
    chars: Class,
    min: usize,
    max: usize,
    described: &'static str,
}

impl AsciiRule {
    /// Checks `value` against the rule, with the message of its first problem.
    fn check(&self, value: &str) -> Result<(), String> {
        length(value, self.min, self.max)?;
        class_chars(value, &self.chars, self.described)
    }

    /// Whether the rule allows the byte (an ASCII character of its set).
    pub(crate) fn allows(&self, b: u8) -> bool {
        self.chars.0[usize::from(b)]
    }

    /// Whether the rule allows a value of `n` characters (of its set).
    pub(crate) fn allows_len(&self, n: usize) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

/// A role alias name: 1 to 128 of `[\w=,@-]`.
const ROLE_ALIAS_NAME: AsciiRule = AsciiRule {
    chars: Class::alphanumeric_and(b"_=,@-"),
    min: 1,
    max: MAX_NAME_LEN,
    described: "letters, digits and _ = , @ -",
};

/// A thing, thing type, thing group, billing group or index name: 1 to 128 of
/// `[a-zA-Z0-9:_-]`.
pub(crate) const NAME: AsciiRule = AsciiRule {
    chars: Class::alphanumeric_and(b":_-"),
    min: 1,
    max: MAX_NAME_LEN,
    described: "letters, digits and : _ -",
};

/// A Lambda function ARN (`arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`, an
/// optional version or alias after it), at most 2048 characters.
pub fn check_lambda_arn(value: &str) -> Result<(), String> {
    length(value, 1, 2048)?;
    match value.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", region, account, "function", name, ..]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Ok(())
        }
        _ => Err(
            "is not a Lambda function ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME)"
                .into(),
        ),
    }
}

/// An authorizer's token key name: 1 to 128 of `[a-zA-Z0-9_-]`.
pub fn check_token_key_name(value: &str) -> Result<(), String> {
    length(value, 1, 128)?;
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "holds {c:?} (AWS IoT allows letters, digits, _ and -)"
        )),
        None => Ok(()),
    }
}

/// A provisioning template name: 1 to 36 of `[0-9A-Za-z_-]`.
pub fn check_template_name(value: &str) -> Result<(), String> {
    length(value, 1, 36)?;
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "holds {c:?} (AWS IoT allows letters, digits, _ and -)"
        ));
    }
    Ok(())
}

/// A policy name: 1 to 128 of `[\w+=,.@-]`.
pub(crate) const POLICY_NAME: AsciiRule = AsciiRule {
    chars: Class::alphanumeric_and(b"_+=,.@-"),
    min: 1,
    max: MAX_NAME_LEN,
    described: "letters, digits and _ + = , . @ -",
};

/// An attribute name (also a searchable attribute): 1 to 128 of `[a-zA-Z0-9_.,@/:#-]`.
pub(crate) const ATTRIBUTE_NAME: AsciiRule = AsciiRule {
    chars: Class::alphanumeric_and(b"_.,@/:#-"),
    min: 1,
    max: MAX_ATTRIBUTE_NAME_LEN,
    described: "letters, digits and _ . , @ / : # -",
};

/// An attribute value: at most 800 of `[a-zA-Z0-9_.,@/:#=\[\]-]`, empty included.
pub(crate) const ATTRIBUTE_VALUE: AsciiRule = AsciiRule {
    chars: Class::alphanumeric_and(b"_.,@/:#-=[]"),
    min: 0,
    max: MAX_ATTRIBUTE_VALUE_LEN,
    described: "letters, digits and _ . , @ / : # = [ ] -",
};

/// A thing, thing type, thing group, billing group or index name: 1 to 128 of
/// `[a-zA-Z0-9:_-]`.
pub fn check_name(value: &str) -> Result<(), String> {
    NAME.check(value)
}

/// A role alias name: 1 to 128 of `[\w=,@-]`.
pub fn check_role_alias_name(value: &str) -> Result<(), String> {
    ROLE_ALIAS_NAME.check(value)
}

/// A role ARN (`roleArn` of a role alias): 20 to 2048 characters, an IAM role ARN.
pub fn check_role_arn(value: &str) -> Result<(), String> {
    length(value, 20, 2048)?;
    match value.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "iam", "", _, role] if role.starts_with("role/") => Ok(()),
        _ => Err("is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)".into()),
    }
}

/// A role alias's `credentialDurationSeconds`: 900 to 43200.
pub fn check_credential_duration(seconds: u32) -> Result<(), String> {
    if (900..=43200).contains(&seconds) {
        Ok(())
    } else {
        Err(format!(
            "is {seconds} (AWS IoT allows 900 to 43200 seconds)"
        ))
    }
}

/// A policy name: 1 to 128 of `[\w+=,.@-]`.
pub fn check_policy_name(value: &str) -> Result<(), String> {
    POLICY_NAME.check(value)
}

/// An attribute name (also a searchable attribute): 1 to 128 of `[a-zA-Z0-9_.,@/:#-]`.
pub fn check_attribute_name(value: &str) -> Result<(), String> {
    ATTRIBUTE_NAME.check(value)
}

/// An attribute value: at most 800 of `[a-zA-Z0-9_.,@/:#=\[\]-]`. Empty is accepted
/// (AWS treats an empty value as no attribute).
pub fn check_attribute_value(value: &str) -> Result<(), String> {
    ATTRIBUTE_VALUE.check(value)
}

/// The number of attributes of a thing: at most 50 with a thing type, 3 without.
pub fn check_thing_attribute_count(count: usize, has_type: bool) -> Result<(), String> {
    let max = if has_type {
        MAX_THING_ATTRIBUTES_WITH_TYPE
    } else {
        MAX_THING_ATTRIBUTES_WITHOUT_TYPE
    };
    if count > max {
        let without = if has_type { "with" } else { "without" };
        return Err(format!(
            "has {count} entries {without} a thing type (AWS IoT allows \
             {MAX_THING_ATTRIBUTES_WITHOUT_TYPE} without a type, \
             {MAX_THING_ATTRIBUTES_WITH_TYPE} with one)"
        ));
    }
    Ok(())
}

/// A count against a plain maximum.
fn at_most(count: usize, max: usize, what: &str) -> Result<(), String> {
    if count > max {
        return Err(format!("has {count} {what} (AWS IoT allows at most {max})"));
    }
    Ok(())
}

fn description_char(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace())
}

/// A description (thing type, thing group, billing group): at most 2028 characters,
/// printable or spaces (`[\p{Graph}\x20]*`).
pub fn check_description(value: &str) -> Result<(), String> {
    length(value, 0, MAX_DESCRIPTION_LEN)?;
    chars(
        value,
        description_char,
        "printable characters and spaces (no tabs, line breaks or control characters)",
    )
}

fn tag_key_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// A tag key: 1 to 128 Unicode letters, digits, spaces and `_ . : / = + - @`.
pub fn check_tag_key(value: &str) -> Result<(), String> {
    length(value, 1, MAX_TAG_KEY_LEN)?;
    chars(
        value,
        tag_key_char,
        "letters, digits, spaces and _ . : / = + - @",
    )
}

/// A tag value: at most 256 characters.
pub fn check_tag_value(value: &str) -> Result<(), String> {
    length(value, 0, MAX_TAG_VALUE_LEN)
}

/// Whether a tag key is reserved for AWS (`aws:` in any case); such tags do not count
/// towards [`MAX_TAGS`].
fn is_aws_tag(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// The number of tags: at most 50, not counting keys that start with `aws:`.
pub fn check_tag_count<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let n = keys.into_iter().filter(|k| !is_aws_tag(k)).count();
    at_most(n, MAX_TAGS, "tags, not counting aws: ones")
}

/// A policy document: 1 to 2048 characters, not counting whitespace.
pub fn check_policy_document(value: &str) -> Result<(), String> {
    // Bytes bound the count from above: most documents need no count.
    if value.len() <= MAX_POLICY_DOCUMENT_CHARS && !value.trim().is_empty() {
        return Ok(());
    }
    let n = value.chars().filter(|c| !c.is_whitespace()).count();
    if n == 0 {
        return Err(format!(
            "is empty (AWS IoT requires 1 to {MAX_POLICY_DOCUMENT_CHARS} characters)"
        ));
    }
    if n > MAX_POLICY_DOCUMENT_CHARS {
        return Err(format!(
            "has {n} characters besides whitespace (AWS IoT allows at most \
             {MAX_POLICY_DOCUMENT_CHARS})"
        ));
    }
    Ok(())
}

/// A policy version id: decimal digits (`[0-9]+`).
pub fn check_policy_version_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty (AWS IoT version ids are decimal numbers)".into());
    }
    chars(value, |c| c.is_ascii_digit(), "decimal digits")
}

/// The number of versions of a policy: 1 to 5.
pub fn check_policy_version_count(count: usize) -> Result<(), String> {
    if count == 0 {
        return Err("is empty (a policy has at least one version)".into());
    }
    at_most(count, MAX_POLICY_VERSIONS, "versions")
}

/// A certificate id: 64 hexadecimal digits.
pub fn check_certificate_id(value: &str) -> Result<(), String> {
    // Without an early exit, which vectorises: every id read is checked.
    let hex = value.bytes().fold(true, |ok, b| ok & b.is_ascii_hexdigit());
    if value.len() != CERTIFICATE_ID_LEN || !hex {
        return Err(format!("is not {CERTIFICATE_ID_LEN} hexadecimal digits"));
    }
    Ok(())
}

/// A certificate PEM: 1 to 65536 characters holding a `BEGIN CERTIFICATE` block.
pub fn check_certificate_pem(value: &str) -> Result<(), String> {
    length(value, 1, MAX_CERTIFICATE_PEM_LEN)?;
    if !value.contains("-----BEGIN CERTIFICATE-----") {
        return Err("is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)".into());
    }
    Ok(())
}

/// A principal of a thing: `cert/<certificate id>` or any other non-empty principal.
pub fn check_principal(value: &str) -> Result<(), String> {
    match principal_certificate_id(value) {
        Some(id) => check_certificate_id(id).map_err(|p| format!("certificate id {p}")),
        None if value.is_empty() => Err("is empty".into()),
        None => Ok(()),
    }
}

/// The name of a resource of `kind`: a certificate id, a policy name or a name.
pub fn check_name_of(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::Certificate | Kind::CaCertificate => check_certificate_id(value),
        Kind::Policy => check_policy_name(value),
        Kind::RoleAlias | Kind::Authorizer => check_role_alias_name(value),
        Kind::TopicRule => crate::kinds::topic_rule::check_rule_name(value),
        Kind::TopicRuleDestination => {
            crate::kinds::topic_rule_destination::check_confirmation_url(value)
        }
        Kind::ProvisioningTemplate => check_template_name(value),
        Kind::DomainConfiguration => {
            crate::kinds::domain_configuration::check_domain_configuration_name(value)
        }
        _ => check_name(value),
    }
}

/// The API field that holds the name of a resource of `kind`.
fn name_field(kind: Kind) -> &'static str {
    kind.name_field()
}

// ---------------------------------------------------------------------------------------
// Composite checks.
// ---------------------------------------------------------------------------------------

pub(crate) fn own_name(c: &Ctx) -> Result<(), Violation> {
    check_name_of(c.kind, c.name).map_err(|p| c.err(name_field(c.kind), p))
}

pub(crate) fn description(c: &Ctx, field: &str, value: &Option<String>) -> Result<(), Violation> {
    match value {
        Some(d) => check_description(d).map_err(|p| c.err(field, p)),
        None => Ok(()),
    }
}

pub(crate) fn attributes(c: &Ctx, attrs: &StringMap) -> Result<(), Violation> {
    for (k, v) in attrs.iter() {
        check_attribute_name(k)
            .map_err(|p| c.err(format_args!("attribute name {}", Shown(k)), p))?;
        check_attribute_value(v)
            .map_err(|p| c.err(format_args!("attribute {} value", Shown(k)), p))?;
    }
    Ok(())
}

pub(crate) fn tags(c: &Ctx, tags: &StringMap) -> Result<(), Violation> {
    for (k, v) in tags.iter() {
        check_tag_key(k).map_err(|p| c.err(format_args!("tag key {}", Shown(k)), p))?;
        check_tag_value(v).map_err(|p| c.err(format_args!("tag {} value", Shown(k)), p))?;
    }
    check_tag_count(tags.keys()).map_err(|p| c.err("tags", p))
}

pub(crate) fn names_in(
    c: &Ctx,
    field: &str,
    names: &NameSet,
    rule: fn(&str) -> Result<(), String>,
) -> Result<(), Violation> {
    for n in names {
        rule(n).map_err(|p| c.err(format_args!("{field} entry {}", Shown(n)), p))?;
    }
    Ok(())
}

pub(crate) fn optional(
    c: &Ctx,
    field: &str,
    value: &Option<Name>,
    rule: fn(&str) -> Result<(), String>,
) -> Result<(), Violation> {
    match value {
        Some(v) => rule(v).map_err(|p| c.err(field, p)),
        None => Ok(()),
    }
}

fn searchable(c: &Ctx, names: &NameSet) -> Result<(), Violation> {
    at_most(names.len(), MAX_SEARCHABLE_ATTRIBUTES, "names")
        .map_err(|p| c.err("searchableAttributes", p))?;
    names_in(c, "searchableAttributes", names, check_attribute_name)
}

fn thing_attributes(c: &Ctx, attrs: &StringMap, has_type: bool) -> Result<(), Violation> {
    check_thing_attribute_count(attrs.len(), has_type).map_err(|p| c.err("attributes", p))?;
    attributes(c, attrs)
}

/// A thing type.
pub(crate) fn thing_type(t: &ThingType) -> Result<(), Violation> {
    let c = Ctx::new(Kind::ThingType, &t.thing_type_name);
    own_name(&c)?;
    description(&c, "thingTypeDescription", &t.thing_type_description)?;
    searchable(&c, &t.searchable_attributes)?;
    tags(&c, &t.tags)
}

/// A thing group.
pub(crate) fn thing_group(g: &ThingGroup) -> Result<(), Violation> {
    let c = Ctx::new(Kind::ThingGroup, &g.thing_group_name);
    own_name(&c)?;
    optional(&c, "parentGroupName", &g.parent_group_name, check_name)?;
    description(&c, "thingGroupDescription", &g.thing_group_description)?;
    at_most(g.attributes.len(), MAX_THING_GROUP_ATTRIBUTES, "entries")
        .map_err(|p| c.err("attributes", p))?;
    attributes(&c, &g.attributes)?;
    if let Some(q) = &g.query_string {
        if q.is_empty() {
            return Err(c.err(
                "queryString",
                "is empty (a dynamic thing group needs a query)".into(),
            ));
        }
        if g.parent_group_name.is_some() {
            return Err(c.err(
                "parentGroupName",
                "is set on a dynamic thing group (AWS IoT has no parent for a dynamic group)"
                    .into(),
            ));
        }
    }
    optional(&c, "indexName", &g.index_name, check_name)?;
    names_in(&c, "policies", &g.policies, check_policy_name)?;
    tags(&c, &g.tags)
}

/// A policy with its versions.
pub(crate) fn policy(p: &Policy) -> Result<(), Violation> {
    let c = Ctx::new(Kind::Policy, &p.policy_name);
    own_name(&c)?;
    check_policy_version_count(p.versions.len()).map_err(|p| c.err("versions", p))?;
    for v in &p.versions {
        check_policy_version_id(&v.version_id)
            .map_err(|p| c.err(format_args!("versionId {}", Shown(&v.version_id)), p))?;
        check_policy_document(&v.policy_document).map_err(|p| {
            c.err(
                format_args!("version {} policyDocument", Shown(&v.version_id)),
                p,
            )
        })?;
    }
    tags(&c, &p.tags)
}

/// A certificate, with its PEM when `pem`.
pub(crate) fn certificate(cert: &Certificate, pem: bool) -> Result<(), Violation> {
    let c = Ctx::new(Kind::Certificate, &cert.certificate_id);
    own_name(&c)?;
    if pem {
        check_certificate_pem(&cert.certificate_pem).map_err(|p| c.err("certificatePem", p))?;
    }
    optional(
        &c,
        "caCertificateId",
        &cert.ca_certificate_id,
        check_certificate_id,
    )?;
    names_in(&c, "policies", &cert.policies, check_policy_name)
}

/// A thing with its memberships and principals.
pub(crate) fn thing(t: &Thing) -> Result<(), Violation> {
    let c = Ctx::new(Kind::Thing, &t.thing_name);
    own_name(&c)?;
    optional(&c, "thingTypeName", &t.thing_type_name, check_name)?;
    thing_attributes(&c, &t.attributes, t.thing_type_name.is_some())?;
    at_most(t.thing_groups.len(), MAX_GROUPS_PER_THING, "groups")
        .map_err(|p| c.err("thingGroups", p))?;
    names_in(&c, "thingGroups", &t.thing_groups, check_name)?;
    optional(&c, "billingGroupName", &t.billing_group_name, check_name)?;
    names_in(&c, "principals", &t.principals, check_principal)
}

/// Checks one resource (a snapshot line) against AWS IoT's constraints.
pub fn check_resource(r: &Resource) -> Result<(), Violation> {
    crate::with_resource!(r, K, x => x.check())
}

/// Checks a certificate read without its PEM (a snapshot read for a comparison, whose
/// reader checked the PEM where it skipped it): every field but `certificatePem`.
pub fn check_certificate_except_pem(cert: &Certificate) -> Result<(), Violation> {
    certificate(cert, false)
}

fn policy_target(c: &Ctx, target: &PolicyTarget) -> Result<(), Violation> {
    match target {
        PolicyTarget::Certificate(id) => {
            check_certificate_id(id).map_err(|p| c.err("target certificate", p))
        }
        PolicyTarget::ThingGroup(g) => check_name(g).map_err(|p| c.err("target thingGroupName", p)),
    }
}

/// Checks one change (a plan entry) against AWS IoT's constraints: every name, value,
/// document and tag it would send.
pub fn check_change(change: &Change) -> Result<(), Violation> {
    let key = change.key();
    let c = Ctx::new(key.kind, &key.name);
    match change {
        Change::CreateThingType { thing_type: t } => thing_type(t),
        Change::UpdateThingType {
            thing_type_description,
            searchable_attributes,
            ..
        } => {
            own_name(&c)?;
            description(&c, "thingTypeDescription", thing_type_description)?;
            searchable(&c, searchable_attributes)
        }
        Change::BillingGroup(change) => change.check(),
        Change::RoleAlias(change) => change.check(),
        Change::CaCertificate(change) => change.check(),
        Change::Authorizer(change) => change.check(),
        Change::DomainConfiguration(change) => change.check(),
        Change::TopicRuleDestination(change) => change.check(),
        Change::TopicRule(change) => change.check(),
        Change::ProvisioningTemplate(change) => change.check(),
        Change::IndexingConfiguration(change) => change.check(),
        Change::EventConfigurations(change) => change.check(),
        Change::CreateThingGroup { thing_group: g }
        | Change::UpdateThingGroup { thing_group: g } => thing_group(g),
        Change::CreatePolicy {
            policy_document,
            tags: t,
            ..
        } => {
            own_name(&c)?;
            check_policy_document(policy_document).map_err(|p| c.err("policyDocument", p))?;
            tags(&c, t)
        }
        Change::CreatePolicyVersion {
            policy_document, ..
        } => {
            own_name(&c)?;
            check_policy_document(policy_document).map_err(|p| c.err("policyDocument", p))
        }
        Change::SetDefaultPolicyVersion {
            policy_version_id, ..
        }
        | Change::DeletePolicyVersion {
            policy_version_id, ..
        } => {
            own_name(&c)?;
            check_policy_version_id(policy_version_id).map_err(|p| c.err("policyVersionId", p))
        }
        Change::RegisterCertificate {
            certificate_pem,
            ca_certificate_id,
            ..
        } => {
            own_name(&c)?;
            check_certificate_pem(certificate_pem).map_err(|p| c.err("certificatePem", p))?;
            optional(
                &c,
                "caCertificateId",
                ca_certificate_id,
                check_certificate_id,
            )
        }
        Change::CreateThing {
            thing_type_name,
            attributes: a,
            billing_group_name,
            ..
        } => {
            own_name(&c)?;
            optional(&c, "thingTypeName", thing_type_name, check_name)?;
            thing_attributes(&c, a, thing_type_name.is_some())?;
            optional(&c, "billingGroupName", billing_group_name, check_name)
        }
        Change::UpdateThing {
            thing_type_name,
            attributes: a,
            ..
        } => {
            own_name(&c)?;
            optional(&c, "thingTypeName", thing_type_name, check_name)?;
            thing_attributes(&c, a, thing_type_name.is_some())
        }
        Change::AddThingToThingGroup {
            thing_group_name, ..
        }
        | Change::RemoveThingFromThingGroup {
            thing_group_name, ..
        } => {
            own_name(&c)?;
            check_name(thing_group_name).map_err(|p| c.err("thingGroupName", p))
        }
        Change::AddThingToBillingGroup {
            billing_group_name, ..
        }
        | Change::RemoveThingFromBillingGroup {
            billing_group_name, ..
        } => {
            own_name(&c)?;
            check_name(billing_group_name).map_err(|p| c.err("billingGroupName", p))
        }
        Change::AttachPolicy {
            policy_name,
            target,
        }
        | Change::DetachPolicy {
            policy_name,
            target,
        } => {
            policy_target(&c, target)?;
            check_policy_name(policy_name).map_err(|p| c.err("policyName", p))
        }
        Change::AttachThingPrincipal { principal, .. }
        | Change::DetachThingPrincipal { principal, .. } => {
            own_name(&c)?;
            check_principal(principal).map_err(|p| c.err("principal", p))
        }
        Change::TagResource { resource, tags: t } => {
            own_name(&c)?;
            if !resource.kind.is_taggable() {
                return Err(c.err(
                    "tags",
                    format!(
                        "cannot be set: AWS IoT does not tag a {}",
                        noun(resource.kind)
                    ),
                ));
            }
            tags(&c, t)
        }
        Change::UntagResource { tag_keys, .. } => {
            own_name(&c)?;
            names_in(&c, "tagKeys", tag_keys, check_tag_key)
        }
        Change::DeprecateThingType { .. }
        | Change::DeleteThingType { .. }
        | Change::DeleteThingGroup { .. }
        | Change::DeletePolicy { .. }
        | Change::UpdateCertificate { .. }
        | Change::DeleteCertificate { .. }
        | Change::DeleteThing { .. } => own_name(&c),
    }
}

/// Checks the thing group hierarchy: at most [`MAX_GROUP_LEVELS`] levels and no cycle.
/// A parent that is not in `groups` counts as one more level (it exists somewhere).
/// On failure, returns the name of the group the problem is reported on with the
/// violation.
pub fn check_hierarchy(groups: &BTreeMap<Name, ThingGroup>) -> Result<(), (Name, Violation)> {
    // Levels of the groups measured so far (a group's chain is walked once).
    let mut levels: BTreeMap<&str, usize> = BTreeMap::new();
    for start in groups.keys() {
        if levels.contains_key(start.as_str()) {
            continue;
        }
        // Walk up until a measured group, a root or a missing parent.
        let mut chain: Vec<&str> = vec![start.as_str()];
        let mut on_chain: BTreeSet<&str> = BTreeSet::from([start.as_str()]);
        let mut base = 0usize;
        loop {
            let cur = *chain.last().expect("the chain starts with one group");
            let Some(parent) = groups.get(cur).and_then(|g| g.parent_group_name.as_deref()) else {
                // A root (or a group outside the map, counted by its child).
                break;
            };
            if let Some(l) = levels.get(parent) {
                base = *l;
                break;
            }
            if !on_chain.insert(parent) {
                let from = chain.iter().position(|n| *n == parent).unwrap_or(0);
                let cycle: Vec<&str> = chain[from..]
                    .iter()
                    .copied()
                    .chain(std::iter::once(parent))
                    .collect();
                let name: Name = parent.into();
                return Err((
                    name.clone(),
                    Violation {
                        subject: subject(Kind::ThingGroup, &name),
                        field: "parentGroupName".into(),
                        problem: format!("makes a cycle: {}", cycle.join(" -> ")),
                    },
                ));
            }
            if !groups.contains_key(parent) {
                // The parent exists elsewhere: one more level above the chain.
                base = 1;
                break;
            }
            chain.push(parent);
        }
        // The chain's top is at level base + 1, its start at base + chain.len().
        for (i, n) in chain.iter().rev().enumerate() {
            levels.insert(n, base + i + 1);
        }
        let deepest = base + chain.len();
        if deepest > MAX_GROUP_LEVELS {
            let name = start.clone();
            return Err((
                name.clone(),
                Violation {
                    subject: subject(Kind::ThingGroup, &name),
                    field: "parentGroupName".into(),
                    problem: format!(
                        "puts it on level {deepest} of its hierarchy (AWS IoT allows at most \
                         {MAX_GROUP_LEVELS} levels)"
                    ),
                },
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{CertificateStatus, PolicyVersion, ResourceKey};

    fn long(n: usize) -> String {
        "a".repeat(n)
    }

    /// Each character table holds exactly the characters its rule names, and a value
    /// with one character outside it is refused, naming the character: every byte,
    /// in the middle of an otherwise valid value.
    #[test]
    fn character_tables_hold_exactly_their_sets() {
        type Rule = fn(&str) -> Result<(), String>;
        let rules: [(Rule, &str, &AsciiRule); 4] = [
            (check_name, ":_-", &NAME),
            (check_policy_name, "_+=,.@-", &POLICY_NAME),
            (check_attribute_name, "_.,@/:#-", &ATTRIBUTE_NAME),
            (check_attribute_value, "_.,@/:#=[]-", &ATTRIBUTE_VALUE),
        ];
        for (rule, extra, table) in rules {
            for b in 0..=255u8 {
                let c = char::from(b);
                let expected = c.is_ascii_alphanumeric() || extra.contains(c);
                assert_eq!(table.allows(b), expected, "{c:?} in {extra}");
                let value = format!("a{c}b");
                assert_eq!(rule(&value).is_ok(), expected, "{value:?} for {extra}");
                if !expected {
                    assert!(rule(&value).unwrap_err().contains(&format!("{c:?}")));
                }
            }
        }
    }

    #[test]
    fn names_are_1_to_128_of_letters_digits_colon_underscore_dash() {
        assert!(check_name("sensor-01:a_b").is_ok());
        assert!(check_name(&long(128)).is_ok());
        let e = check_name(&long(300)).unwrap_err();
        assert_eq!(e, "is 300 characters long (AWS IoT allows 1 to 128)");
        assert!(check_name("").unwrap_err().starts_with("is empty"));
        let e = check_name("a b").unwrap_err();
        assert!(e.starts_with("contains ' '"), "{e}");
        assert!(check_name("a.b").is_err());
        assert!(check_name("é").is_err());
    }

    #[test]
    fn policy_names_allow_word_characters_and_plus_equals_comma_dot_at_dash() {
        assert!(check_policy_name("Fleet_1+x=y,z.w@v-u").is_ok());
        assert!(check_policy_name("a:b").unwrap_err().contains("':'"));
        assert!(check_policy_name(&long(129)).is_err());
        assert!(check_policy_name("").is_err());
    }

    #[test]
    fn attribute_names_and_values() {
        assert!(check_attribute_name("model_v2.x,y@z/a:b#c-d").is_ok());
        assert!(check_attribute_name("").is_err());
        assert!(check_attribute_name("a=b").is_err());
        assert!(check_attribute_name(&long(129)).is_err());
        // Values also allow = [ ] and may be empty.
        assert!(check_attribute_value("").is_ok());
        assert!(check_attribute_value("k=[1,2]").is_ok());
        assert!(check_attribute_value("a b").unwrap_err().contains("' '"));
        assert!(check_attribute_value(&long(800)).is_ok());
        let e = check_attribute_value(&long(801)).unwrap_err();
        assert_eq!(e, "is 801 characters long (AWS IoT allows at most 800)");
    }

    #[test]
    fn thing_attribute_count_depends_on_the_type() {
        assert!(check_thing_attribute_count(3, false).is_ok());
        let e = check_thing_attribute_count(4, false).unwrap_err();
        assert!(e.contains("4 entries without a thing type"), "{e}");
        assert!(check_thing_attribute_count(50, true).is_ok());
        assert!(check_thing_attribute_count(51, true).is_err());
    }

    #[test]
    fn descriptions_are_printable_up_to_2028() {
        assert!(check_description("Temperature probé, 2nd gen.").is_ok());
        assert!(check_description(&long(2028)).is_ok());
        assert!(check_description(&long(2029)).is_err());
        assert!(check_description("a\nb").unwrap_err().contains("'\\n'"));
        assert!(check_description("a\tb").is_err());
    }

    #[test]
    fn tags_keys_values_and_count() {
        assert!(check_tag_key("cost-center:Ünit 1/x=y+z@w_v.").is_ok());
        assert!(check_tag_key("").is_err());
        assert!(check_tag_key("a!b").is_err());
        assert!(check_tag_key(&long(129)).is_err());
        assert!(check_tag_value("").is_ok());
        assert!(check_tag_value(&long(256)).is_ok());
        assert!(check_tag_value(&long(257)).is_err());
        let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        assert!(check_tag_count(keys.iter().map(String::as_str)).is_ok());
        let mut more = keys.clone();
        more.push("aws:cloudformation:stack-name".into());
        assert!(check_tag_count(more.iter().map(String::as_str)).is_ok());
        more.push("k50".into());
        let e = check_tag_count(more.iter().map(String::as_str)).unwrap_err();
        assert!(e.starts_with("has 51 tags"), "{e}");
    }

    #[test]
    fn policy_documents_count_non_whitespace_up_to_2048() {
        assert!(check_policy_document("{}").is_ok());
        assert!(
            check_policy_document("   ")
                .unwrap_err()
                .starts_with("is empty")
        );
        assert!(check_policy_document("").is_err());
        let padded = format!("{}{}", "x".repeat(2048), " \n".repeat(500));
        assert!(check_policy_document(&padded).is_ok());
        let e = check_policy_document(&"x".repeat(2049)).unwrap_err();
        assert!(e.contains("2049 characters besides whitespace"), "{e}");
    }

    #[test]
    fn policy_version_ids_and_counts() {
        assert!(check_policy_version_id("12").is_ok());
        assert!(check_policy_version_id("v1").is_err());
        assert!(check_policy_version_id("").is_err());
        assert!(check_policy_version_count(1).is_ok());
        assert!(check_policy_version_count(5).is_ok());
        assert!(check_policy_version_count(6).is_err());
        assert!(check_policy_version_count(0).is_err());
    }

    #[test]
    fn certificate_ids_and_pems() {
        assert!(check_certificate_id(&"aB".repeat(32)).is_ok());
        assert!(check_certificate_id("xyz").is_err());
        assert!(check_certificate_id(&"g".repeat(64)).is_err());
        let pem = "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n";
        assert!(check_certificate_pem(pem).is_ok());
        assert!(
            check_certificate_pem("p")
                .unwrap_err()
                .contains("not a PEM")
        );
        let huge = format!("{pem}{}", "A".repeat(MAX_CERTIFICATE_PEM_LEN));
        assert!(check_certificate_pem(&huge).unwrap_err().contains("65536"));
    }

    #[test]
    fn principals() {
        assert!(check_principal(&format!("cert/{}", "a".repeat(64))).is_ok());
        assert!(check_principal("cert/abc").is_err());
        assert!(check_principal("us-east-1:1234-5678").is_ok());
        assert!(check_principal("").is_err());
    }

    #[test]
    fn violations_name_the_resource_the_field_and_the_limit() {
        let t = Resource::Thing(Thing {
            thing_name: long(300).into(),
            ..Default::default()
        });
        let e = check_resource(&t).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "thing \"{}…\": thingName is 300 characters long (AWS IoT allows 1 to 128)",
                long(40)
            )
        );
        let t = Resource::Thing(Thing {
            thing_name: "t".into(),
            attributes: [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
                .into_iter()
                .collect(),
            ..Default::default()
        });
        let e = check_resource(&t).unwrap_err().to_string();
        assert!(
            e.starts_with("thing \"t\": attributes has 4 entries"),
            "{e}"
        );
        let t = Resource::Thing(Thing {
            thing_name: "t".into(),
            attributes: [("model", "")].into_iter().collect(),
            ..Default::default()
        });
        assert!(check_resource(&t).is_ok(), "an empty value stays accepted");
    }

    #[test]
    fn searchable_attributes_at_most_three() {
        let ty = |names: &[&str]| {
            Resource::ThingType(ThingType {
                thing_type_name: "s".into(),
                searchable_attributes: names.iter().copied().collect(),
                ..Default::default()
            })
        };
        assert!(check_resource(&ty(&["a", "b", "c"])).is_ok());
        let e = check_resource(&ty(&["a", "b", "c", "d"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("thing type \"s\": searchableAttributes has 4 names"),
            "{e}"
        );
    }

    #[test]
    fn policies_are_checked_version_by_version() {
        let p = |n: usize, id: &str, doc: &str| {
            Resource::Policy(Policy {
                policy_name: "p".into(),
                default_version_id: "1".into(),
                versions: (0..n)
                    .map(|i| PolicyVersion {
                        version_id: if i == 0 {
                            id.into()
                        } else {
                            (i + 1).to_string().into()
                        },
                        policy_document: doc.into(),
                    })
                    .collect(),
                ..Default::default()
            })
        };
        assert!(check_resource(&p(5, "1", "{}")).is_ok());
        let e = check_resource(&p(6, "1", "{}")).unwrap_err().to_string();
        assert!(e.contains("versions has 6 versions"), "{e}");
        let e = check_resource(&p(1, "v1", "{}")).unwrap_err().to_string();
        assert!(e.contains("versionId \"v1\""), "{e}");
        let e = check_resource(&p(1, "1", &"x".repeat(3000)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("version \"1\" policyDocument has 3000"), "{e}");
    }

    #[test]
    fn groups_dynamic_and_things_memberships() {
        let g = Resource::ThingGroup(ThingGroup {
            thing_group_name: "d".into(),
            parent_group_name: Some("p".into()),
            query_string: Some("attributes.a:1".into()),
            ..Default::default()
        });
        assert!(
            check_resource(&g)
                .unwrap_err()
                .to_string()
                .contains("dynamic")
        );
        let t = Resource::Thing(Thing {
            thing_name: "t".into(),
            thing_groups: (0..11).map(|i| format!("g{i}")).collect(),
            ..Default::default()
        });
        let e = check_resource(&t).unwrap_err().to_string();
        assert!(e.contains("thingGroups has 11 groups"), "{e}");
        let c = Resource::Certificate(Certificate {
            certificate_id: "a".repeat(64).into(),
            certificate_pem: "-----BEGIN CERTIFICATE-----\n".into(),
            status: CertificateStatus::Active,
            ca_certificate_id: Some("nope".into()),
            policies: Default::default(),
        });
        assert!(
            check_resource(&c)
                .unwrap_err()
                .to_string()
                .contains("caCertificateId")
        );
    }

    #[test]
    fn changes_are_checked_field_by_field() {
        let ok = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: Some("ty".into()),
            attributes: (0..10).map(|i| (format!("a{i}"), "v")).collect(),
            billing_group_name: None,
        };
        assert!(check_change(&ok).is_ok());
        let bad = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: (0..10).map(|i| (format!("a{i}"), "v")).collect(),
            billing_group_name: None,
        };
        assert!(check_change(&bad).is_err());
        let bad = Change::AddThingToThingGroup {
            thing_name: "t".into(),
            thing_group_name: "a b".into(),
        };
        let e = check_change(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with("thing \"t\": thingGroupName contains ' '"),
            "{e}"
        );
        let bad = Change::SetDefaultPolicyVersion {
            policy_name: "p".into(),
            policy_version_id: "x".into(),
        };
        assert!(
            check_change(&bad)
                .unwrap_err()
                .to_string()
                .contains("policyVersionId")
        );
        let bad = Change::TagResource {
            resource: ResourceKey::new(Kind::Thing, "t"),
            tags: [("a", "b")].into_iter().collect(),
        };
        assert!(
            check_change(&bad)
                .unwrap_err()
                .to_string()
                .contains("does not tag")
        );
        let bad = Change::AttachPolicy {
            policy_name: "p".into(),
            target: PolicyTarget::Certificate("xyz".into()),
        };
        assert!(check_change(&bad).is_err());
        let bad = Change::DeleteThing {
            thing_name: long(129).into(),
        };
        assert!(check_change(&bad).is_err());
    }

    fn groups(pairs: &[(&str, Option<&str>)]) -> BTreeMap<Name, ThingGroup> {
        pairs
            .iter()
            .map(|(n, p)| {
                (
                    Name::from(*n),
                    ThingGroup {
                        thing_group_name: (*n).into(),
                        parent_group_name: p.map(Into::into),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    #[test]
    fn hierarchy_has_at_most_seven_levels_and_no_cycle() {
        let chain = |n: usize| -> Vec<(String, Option<String>)> {
            (0..n)
                .map(|i| (format!("g{i}"), (i > 0).then(|| format!("g{}", i - 1))))
                .collect()
        };
        let as_refs = |v: &[(String, Option<String>)]| -> BTreeMap<Name, ThingGroup> {
            let pairs: Vec<(&str, Option<&str>)> =
                v.iter().map(|(n, p)| (n.as_str(), p.as_deref())).collect();
            groups(&pairs)
        };
        assert!(check_hierarchy(&as_refs(&chain(7))).is_ok());
        let (name, v) = check_hierarchy(&as_refs(&chain(8))).unwrap_err();
        assert_eq!(name, "g7");
        assert!(v.to_string().contains("level 8"), "{v}");
        // A missing parent counts as a level.
        let mut c = chain(7);
        c[0].1 = Some("outside".into());
        assert!(check_hierarchy(&as_refs(&c)).is_err());
        let (_, v) = check_hierarchy(&groups(&[("a", Some("b")), ("b", Some("a"))])).unwrap_err();
        assert!(v.to_string().contains("cycle"), "{v}");
        assert!(
            check_hierarchy(&groups(&[("a", None), ("b", Some("a")), ("c", Some("a"))])).is_ok()
        );
    }
}
