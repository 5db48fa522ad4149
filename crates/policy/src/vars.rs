//! Policy variables and condition keys: their names and what they resolve to in a [`Context`].

use crate::Context;
use crate::cert::{AltNameKind, DnAttribute};

/// Why a statement using a certificate variable or key cannot be decided.
pub(crate) const CERT_NOT_READ: &str = "the certificate was not read";
/// Why a condition key holding a certificate value AWS IoT would not substitute cannot be decided.
const CERT_VALUE_UNUSABLE: &str = "a certificate value holds a wildcard character (* $ + ? #) or is longer than 1024 characters: AWS IoT does not substitute it, and what it does with it as a condition key is not documented";

/// AWS IoT keeps at most this many values of a multi-valued certificate field.
pub(crate) const MAX_ITEMS: usize = 5;
/// AWS IoT does not substitute certificate values longer than this.
pub(crate) const MAX_LEN: usize = 1024;

/// Which value(s) of a multi-valued certificate field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sel {
    /// The first value (no suffix).
    First,
    /// `.N`: the value at index N (`.1` is the second value, as AWS documents).
    Index(usize),
    /// `.List`: all values (condition keys with `ForAnyValue:`/`ForAllValues:` only).
    List,
}

/// A certificate field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertField {
    Subject(DnAttribute),
    Issuer(DnAttribute),
    SubjectAlt(AltNameKind),
    IssuerAlt(AltNameKind),
    Serial,
}

/// A policy variable or condition key known to this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    ClientId,
    ThingName,
    ThingTypeName,
    ThingAttr(String),
    IsAttached,
    Cert(CertField, Sel),
    /// Not supported: the reason.
    Unknown(String),
}

impl Var {
    /// Whether it reads the certificate.
    pub(crate) fn is_cert(&self) -> bool {
        matches!(self, Var::Cert(..))
    }
    /// Whether it reads the thing.
    pub(crate) fn is_thing(&self) -> bool {
        matches!(
            self,
            Var::ThingName | Var::ThingTypeName | Var::ThingAttr(_) | Var::IsAttached
        )
    }
}

/// Whether a (possibly unsupported) name refers to the certificate.
pub(crate) fn mentions_cert(name: &str) -> bool {
    starts_with_ignore_case(name, "iot:Certificate.")
}

/// Whether a (possibly unsupported) name refers to the connection's thing.
pub(crate) fn mentions_thing(name: &str) -> bool {
    starts_with_ignore_case(name, "iot:Connection.Thing.")
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    if starts_with_ignore_case(s, prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Parses a variable or key name (case-insensitive, except a thing attribute's own name).
/// `None` when it is not one this crate knows.
pub(crate) fn parse_name(name: &str) -> Option<Var> {
    if name.eq_ignore_ascii_case("iot:ClientId") {
        return Some(Var::ClientId);
    }
    if let Some(rest) = strip_prefix_ignore_case(name, "iot:Connection.Thing.") {
        if rest.eq_ignore_ascii_case("ThingName") {
            return Some(Var::ThingName);
        }
        if rest.eq_ignore_ascii_case("ThingTypeName") {
            return Some(Var::ThingTypeName);
        }
        if rest.eq_ignore_ascii_case("IsAttached") {
            return Some(Var::IsAttached);
        }
        let attr = strip_prefix_ignore_case(rest, "Attributes[")?.strip_suffix(']')?;
        if attr.is_empty() || attr.contains(['[', ']']) {
            return None;
        }
        return Some(Var::ThingAttr(attr.to_string()));
    }
    let rest = strip_prefix_ignore_case(name, "iot:Certificate.")?;
    if rest.eq_ignore_ascii_case("SerialNumber") {
        return Some(Var::Cert(CertField::Serial, Sel::First));
    }
    let (subject, rest) = if let Some(r) = strip_prefix_ignore_case(rest, "Subject.") {
        (true, r)
    } else {
        (false, strip_prefix_ignore_case(rest, "Issuer.")?)
    };
    let (field_name, sel) = split_selector(rest);
    let field = if let Some(kind) = strip_prefix_ignore_case(field_name, "AlternativeName.") {
        let kind = AltNameKind::from_policy_name(kind)?;
        if subject {
            CertField::SubjectAlt(kind)
        } else {
            CertField::IssuerAlt(kind)
        }
    } else {
        let attr = DnAttribute::from_policy_name(field_name)?;
        if subject {
            CertField::Subject(attr)
        } else {
            CertField::Issuer(attr)
        }
    };
    Some(Var::Cert(field, sel))
}

/// Splits `Organization.List` / `Country.1` into the field and its selector.
fn split_selector(rest: &str) -> (&str, Sel) {
    if let Some((field, suffix)) = rest.rsplit_once('.') {
        if suffix.eq_ignore_ascii_case("List") {
            return (field, Sel::List);
        }
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            // An index too large to hold resolves to nothing, like any index past the end.
            return (field, Sel::Index(suffix.parse().unwrap_or(usize::MAX)));
        }
    }
    (rest, Sel::First)
}

/// What a variable substitutes to.
pub(crate) enum Sub<'a> {
    /// This text.
    Value(&'a str),
    /// Nothing: AWS IoT leaves the `${...}` text in place.
    Unresolved,
    /// Cannot be decided, for this reason.
    Unknown(&'a str),
}

/// Whether AWS IoT substitutes this certificate value (its documented limitations).
fn usable_cert_value(v: &str) -> bool {
    v.len() <= MAX_LEN && !v.contains(['*', '$', '+', '?', '#'])
}

/// The values a certificate field holds in the context (at most [`MAX_ITEMS`]).
fn cert_values<'a>(field: CertField, ctx: &Context<'a>) -> Result<&'a [String], &'static str> {
    let cert = ctx.certificate.ok_or(CERT_NOT_READ)?;
    let values = cert.values(field);
    Ok(&values[..values.len().min(MAX_ITEMS)])
}

/// What `var` substitutes to in `ctx`.
pub(crate) fn substitute<'a>(var: &'a Var, ctx: &Context<'a>) -> Sub<'a> {
    let opt = |v: Option<&'a str>| v.map_or(Sub::Unresolved, Sub::Value);
    match var {
        Var::ClientId => Sub::Value(ctx.client_id),
        Var::ThingName => opt(ctx.thing.map(|t| t.name)),
        Var::ThingTypeName => opt(ctx.thing.and_then(|t| t.type_name)),
        Var::ThingAttr(name) => opt(ctx.thing.and_then(|t| t.attributes.attribute(name))),
        Var::IsAttached => Sub::Value(if ctx.thing.is_some() { "true" } else { "false" }),
        Var::Cert(field, sel) => {
            let values = match cert_values(*field, ctx) {
                Ok(v) => v,
                Err(reason) => return Sub::Unknown(reason),
            };
            let value = match sel {
                Sel::First => values.first(),
                Sel::Index(i) => values.get(*i),
                Sel::List => return Sub::Unknown("a .List variable cannot be substituted"),
            };
            match value {
                Some(v) if usable_cert_value(v) => Sub::Value(v),
                _ => Sub::Unresolved,
            }
        }
        Var::Unknown(reason) => Sub::Unknown(reason),
    }
}

/// What a condition key holds.
pub(crate) enum KeyVal<'a> {
    One(&'a str),
    Many(&'a [String]),
    Absent,
    Unknown(&'a str),
}

/// What condition key `var` holds in `ctx`.
pub(crate) fn key_value<'a>(var: &'a Var, ctx: &Context<'a>) -> KeyVal<'a> {
    let opt = |v: Option<&'a str>| v.map_or(KeyVal::Absent, KeyVal::One);
    match var {
        Var::ClientId => KeyVal::One(ctx.client_id),
        Var::ThingName => opt(ctx.thing.map(|t| t.name)),
        Var::ThingTypeName => opt(ctx.thing.and_then(|t| t.type_name)),
        Var::ThingAttr(name) => opt(ctx.thing.and_then(|t| t.attributes.attribute(name))),
        Var::IsAttached => KeyVal::One(if ctx.thing.is_some() { "true" } else { "false" }),
        Var::Cert(field, sel) => {
            let values = match cert_values(*field, ctx) {
                Ok(v) => v,
                Err(reason) => return KeyVal::Unknown(reason),
            };
            match sel {
                Sel::List => {
                    if values.iter().all(|v| usable_cert_value(v)) {
                        if values.is_empty() {
                            KeyVal::Absent
                        } else {
                            KeyVal::Many(values)
                        }
                    } else {
                        KeyVal::Unknown(CERT_VALUE_UNUSABLE)
                    }
                }
                Sel::First | Sel::Index(_) => {
                    let i = if let Sel::Index(i) = sel { *i } else { 0 };
                    match values.get(i) {
                        None => KeyVal::Absent,
                        Some(v) if usable_cert_value(v) => KeyVal::One(v),
                        Some(_) => KeyVal::Unknown(CERT_VALUE_UNUSABLE),
                    }
                }
            }
        }
        Var::Unknown(reason) => KeyVal::Unknown(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_name("iot:ClientId"), Some(Var::ClientId));
        assert_eq!(parse_name("IOT:clientid"), Some(Var::ClientId));
        assert_eq!(
            parse_name("iot:Connection.Thing.Attributes[Floor]"),
            Some(Var::ThingAttr("Floor".into()))
        );
        assert_eq!(parse_name("iot:Connection.Thing.Attributes[]"), None);
        assert_eq!(
            parse_name("iot:Certificate.Subject.Country.1"),
            Some(Var::Cert(
                CertField::Subject(DnAttribute::Country),
                Sel::Index(1)
            ))
        );
        assert_eq!(
            parse_name("iot:Certificate.Issuer.initials"),
            Some(Var::Cert(
                CertField::Issuer(DnAttribute::Initials),
                Sel::First
            ))
        );
        assert_eq!(
            parse_name("iot:Certificate.Subject.AlternativeName.DNSName.List"),
            Some(Var::Cert(
                CertField::SubjectAlt(AltNameKind::DnsName),
                Sel::List
            ))
        );
        assert_eq!(
            parse_name("iot:Certificate.SerialNumber"),
            Some(Var::Cert(CertField::Serial, Sel::First))
        );
        assert_eq!(parse_name("iot:Certificate.Validity.NotBefore"), None);
        assert_eq!(parse_name("iot:Certificate.Subject.Locality"), None);
        assert_eq!(parse_name("aws:SourceIp"), None);
        assert_eq!(parse_name("iot:Certificateé"), None);
        assert!(mentions_cert("iot:certificate.Validity.NotAfter"));
        assert!(!mentions_cert("iot:Cert"));
    }
}
