//! The certificate fields AWS IoT's certificate policy variables read, and reading them from a PEM.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::X509Name;

use crate::vars::CertField;

/// A subject or issuer distinguished-name attribute that AWS IoT exposes as
/// `iot:Certificate.Subject.NAME` / `iot:Certificate.Issuer.NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DnAttribute {
    /// `CommonName` (CN, 2.5.4.3).
    CommonName,
    /// `Surname` (SN, 2.5.4.4).
    Surname,
    /// `SerialNumber` (the DN attribute serialNumber, 2.5.4.5; not the certificate's serial).
    SerialNumber,
    /// `Country` (C, 2.5.4.6).
    Country,
    /// `State` (ST, 2.5.4.8).
    State,
    /// `Organization` (O, 2.5.4.10).
    Organization,
    /// `OrganizationalUnit` (OU, 2.5.4.11).
    OrganizationalUnit,
    /// `Title` (2.5.4.12).
    Title,
    /// `GivenName` (GN, 2.5.4.42).
    GivenName,
    /// `Initials` (2.5.4.43).
    Initials,
    /// `GenerationQualifier` (2.5.4.44).
    GenerationQualifier,
    /// `DistinguishedNameQualifier` (dnQualifier, 2.5.4.46).
    DistinguishedNameQualifier,
    /// `Pseudonym` (2.5.4.65).
    Pseudonym,
}

impl DnAttribute {
    /// Every attribute.
    pub const ALL: [DnAttribute; 13] = [
        DnAttribute::CommonName,
        DnAttribute::Surname,
        DnAttribute::SerialNumber,
        DnAttribute::Country,
        DnAttribute::State,
        DnAttribute::Organization,
        DnAttribute::OrganizationalUnit,
        DnAttribute::Title,
        DnAttribute::GivenName,
        DnAttribute::Initials,
        DnAttribute::GenerationQualifier,
        DnAttribute::DistinguishedNameQualifier,
        DnAttribute::Pseudonym,
    ];

    /// The name in the policy variable (`CommonName`, ...).
    pub fn policy_name(self) -> &'static str {
        match self {
            DnAttribute::CommonName => "CommonName",
            DnAttribute::Surname => "Surname",
            DnAttribute::SerialNumber => "SerialNumber",
            DnAttribute::Country => "Country",
            DnAttribute::State => "State",
            DnAttribute::Organization => "Organization",
            DnAttribute::OrganizationalUnit => "OrganizationalUnit",
            DnAttribute::Title => "Title",
            DnAttribute::GivenName => "GivenName",
            DnAttribute::Initials => "Initials",
            DnAttribute::GenerationQualifier => "GenerationQualifier",
            DnAttribute::DistinguishedNameQualifier => "DistinguishedNameQualifier",
            DnAttribute::Pseudonym => "Pseudonym",
        }
    }

    /// The attribute a policy variable names (case-insensitive).
    pub fn from_policy_name(name: &str) -> Option<DnAttribute> {
        DnAttribute::ALL
            .into_iter()
            .find(|a| a.policy_name().eq_ignore_ascii_case(name))
    }

    /// The attribute's OID, dotted.
    pub fn oid(self) -> &'static str {
        match self {
            DnAttribute::CommonName => "2.5.4.3",
            DnAttribute::Surname => "2.5.4.4",
            DnAttribute::SerialNumber => "2.5.4.5",
            DnAttribute::Country => "2.5.4.6",
            DnAttribute::State => "2.5.4.8",
            DnAttribute::Organization => "2.5.4.10",
            DnAttribute::OrganizationalUnit => "2.5.4.11",
            DnAttribute::Title => "2.5.4.12",
            DnAttribute::GivenName => "2.5.4.42",
            DnAttribute::Initials => "2.5.4.43",
            DnAttribute::GenerationQualifier => "2.5.4.44",
            DnAttribute::DistinguishedNameQualifier => "2.5.4.46",
            DnAttribute::Pseudonym => "2.5.4.65",
        }
    }

    fn from_oid(oid: &str) -> Option<DnAttribute> {
        DnAttribute::ALL.into_iter().find(|a| a.oid() == oid)
    }
}

/// A kind of alternative name AWS IoT exposes as
/// `iot:Certificate.Subject.AlternativeName.KIND` / `iot:Certificate.Issuer.AlternativeName.KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AltNameKind {
    /// `RFC822Name` (e-mail address).
    Rfc822Name,
    /// `DNSName`.
    DnsName,
    /// `DirectoryName` (a DN, written `cn=...,ou=...,o=...,c=...`: last RDN first).
    DirectoryName,
    /// `UniformResourceIdentifier`.
    UniformResourceIdentifier,
    /// `IPAddress` (dotted IPv4 or RFC 5952 IPv6).
    IpAddress,
}

impl AltNameKind {
    /// Every kind.
    pub const ALL: [AltNameKind; 5] = [
        AltNameKind::Rfc822Name,
        AltNameKind::DnsName,
        AltNameKind::DirectoryName,
        AltNameKind::UniformResourceIdentifier,
        AltNameKind::IpAddress,
    ];

    /// The name in the policy variable (`DNSName`, ...).
    pub fn policy_name(self) -> &'static str {
        match self {
            AltNameKind::Rfc822Name => "RFC822Name",
            AltNameKind::DnsName => "DNSName",
            AltNameKind::DirectoryName => "DirectoryName",
            AltNameKind::UniformResourceIdentifier => "UniformResourceIdentifier",
            AltNameKind::IpAddress => "IPAddress",
        }
    }

    /// The kind a policy variable names (case-insensitive).
    pub fn from_policy_name(name: &str) -> Option<AltNameKind> {
        AltNameKind::ALL
            .into_iter()
            .find(|a| a.policy_name().eq_ignore_ascii_case(name))
    }
}

/// The fields of a device certificate that AWS IoT's certificate policy variables read.
///
/// Every value is kept in the form the policy variable takes: the characters
/// `,` `"` `\` `+` `=` `<` `>` `;` of a value are prefixed with a backslash (AWS IoT's
/// documented "special characters" rule), multi-valued fields keep their values in
/// certificate order, and the serial number is decimal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateInfo {
    subject: BTreeMap<DnAttribute, Vec<String>>,
    issuer: BTreeMap<DnAttribute, Vec<String>>,
    subject_alt: BTreeMap<AltNameKind, Vec<String>>,
    issuer_alt: BTreeMap<AltNameKind, Vec<String>>,
    serial_number: Option<String>,
    not_before: Option<i64>,
    not_after: Option<i64>,
}

/// A PEM that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CertificateError(pub String);

/// Prefixes AWS IoT's special characters with a backslash.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '"' | '\\' | '+' | '=' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The short name of an attribute in a `DirectoryName` (lower case, as AWS IoT's example
/// shows for cn, ou, o and c); the dotted OID for attributes without one.
fn short_name(oid: &str) -> String {
    let name = match oid {
        "2.5.4.3" => "cn",
        "2.5.4.4" => "sn",
        "2.5.4.5" => "serialnumber",
        "2.5.4.6" => "c",
        "2.5.4.7" => "l",
        "2.5.4.8" => "st",
        "2.5.4.9" => "street",
        "2.5.4.10" => "o",
        "2.5.4.11" => "ou",
        "2.5.4.12" => "title",
        "2.5.4.42" => "givenname",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationqualifier",
        "2.5.4.46" => "dnqualifier",
        "2.5.4.65" => "pseudonym",
        "0.9.2342.19200300.100.1.25" => "dc",
        "0.9.2342.19200300.100.1.1" => "uid",
        "1.2.840.113549.1.9.1" => "emailaddress",
        other => other,
    };
    name.to_string()
}

/// A directory name as AWS IoT writes it: last RDN first, `name=value` joined by `,`.
fn directory_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .filter_map(|attr| {
                    let value = attr.as_str().ok()?;
                    Some(format!(
                        "{}={}",
                        short_name(&attr.attr_type().to_id_string()),
                        escape(value)
                    ))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .filter(|s| !s.is_empty())
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn dn_attributes(name: &X509Name<'_>) -> BTreeMap<DnAttribute, Vec<String>> {
    let mut map: BTreeMap<DnAttribute, Vec<String>> = BTreeMap::new();
    for attr in name.iter_attributes() {
        let Some(which) = DnAttribute::from_oid(&attr.attr_type().to_id_string()) else {
            continue;
        };
        // Values that are not strings (or not valid text) have no policy-variable form.
        if let Ok(value) = attr.as_str() {
            map.entry(which).or_default().push(escape(value));
        }
    }
    map
}

fn alt_names(names: &[GeneralName<'_>]) -> BTreeMap<AltNameKind, Vec<String>> {
    let mut map: BTreeMap<AltNameKind, Vec<String>> = BTreeMap::new();
    for name in names {
        let (kind, value) = match name {
            GeneralName::RFC822Name(s) => (AltNameKind::Rfc822Name, escape(s)),
            GeneralName::DNSName(s) => (AltNameKind::DnsName, escape(s)),
            GeneralName::URI(s) => (AltNameKind::UniformResourceIdentifier, escape(s)),
            GeneralName::DirectoryName(n) => (AltNameKind::DirectoryName, directory_name(n)),
            GeneralName::IPAddress(bytes) => {
                let text = if let Ok(b) = <[u8; 4]>::try_from(*bytes) {
                    Ipv4Addr::from(b).to_string()
                } else if let Ok(b) = <[u8; 16]>::try_from(*bytes) {
                    Ipv6Addr::from(b).to_string()
                } else {
                    continue;
                };
                (AltNameKind::IpAddress, text)
            }
            _ => continue,
        };
        map.entry(kind).or_default().push(value);
    }
    map
}

impl CertificateInfo {
    /// Reads a PEM (the first `-----BEGIN CERTIFICATE-----` block; text before it is ignored).
    pub fn from_pem(pem: &str) -> Result<CertificateInfo, CertificateError> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| CertificateError(format!("not a PEM document: {e}")))?;
        if block.label != "CERTIFICATE" {
            return Err(CertificateError(format!(
                "the PEM block is a {:?}, not a \"CERTIFICATE\"",
                block.label
            )));
        }
        CertificateInfo::from_der(&block.contents)
    }

    /// Reads a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<CertificateInfo, CertificateError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertificateError(format!("not an X.509 certificate: {e}")))?;
        let tbs = &cert.tbs_certificate;
        let mut info = CertificateInfo {
            subject: dn_attributes(tbs.subject()),
            issuer: dn_attributes(tbs.issuer()),
            serial_number: Some(tbs.serial.to_string()),
            not_before: Some(tbs.validity().not_before.timestamp()),
            not_after: Some(tbs.validity().not_after.timestamp()),
            ..CertificateInfo::default()
        };
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    info.subject_alt = alt_names(&san.general_names);
                }
                ParsedExtension::IssuerAlternativeName(ian) => {
                    info.issuer_alt = alt_names(&ian.general_names);
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// The subject's common name (its first value).
    pub fn common_name(&self) -> Option<&str> {
        self.subject(DnAttribute::CommonName)
            .first()
            .map(String::as_str)
    }

    /// The values of a subject attribute, in certificate order (policy-variable form).
    pub fn subject(&self, attribute: DnAttribute) -> &[String] {
        self.subject.get(&attribute).map_or(&[], Vec::as_slice)
    }

    /// The values of an issuer attribute, in certificate order (policy-variable form).
    pub fn issuer(&self, attribute: DnAttribute) -> &[String] {
        self.issuer.get(&attribute).map_or(&[], Vec::as_slice)
    }

    /// The subject alternative names of a kind, in certificate order.
    pub fn subject_alternative_names(&self, kind: AltNameKind) -> &[String] {
        self.subject_alt.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// The issuer alternative names of a kind, in certificate order.
    pub fn issuer_alternative_names(&self, kind: AltNameKind) -> &[String] {
        self.issuer_alt.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// The certificate's serial number in decimal, as `iot:Certificate.SerialNumber` gives it.
    pub fn serial_number(&self) -> Option<&str> {
        self.serial_number.as_deref()
    }

    /// Start of validity, seconds since the Unix epoch (not a policy variable).
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// End of validity, seconds since the Unix epoch (not a policy variable).
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// Adds a subject attribute value (raw; escaped into policy-variable form here).
    pub fn with_subject(mut self, attribute: DnAttribute, value: &str) -> Self {
        self.subject
            .entry(attribute)
            .or_default()
            .push(escape(value));
        self
    }

    /// Adds an issuer attribute value (raw; escaped into policy-variable form here).
    pub fn with_issuer(mut self, attribute: DnAttribute, value: &str) -> Self {
        self.issuer
            .entry(attribute)
            .or_default()
            .push(escape(value));
        self
    }

    /// Adds a subject alternative name, given in policy-variable form.
    pub fn with_subject_alternative_name(mut self, kind: AltNameKind, value: &str) -> Self {
        self.subject_alt
            .entry(kind)
            .or_default()
            .push(value.to_string());
        self
    }

    /// Adds an issuer alternative name, given in policy-variable form.
    pub fn with_issuer_alternative_name(mut self, kind: AltNameKind, value: &str) -> Self {
        self.issuer_alt
            .entry(kind)
            .or_default()
            .push(value.to_string());
        self
    }

    /// Sets the serial number (decimal).
    pub fn with_serial_number(mut self, decimal: &str) -> Self {
        self.serial_number = Some(decimal.to_string());
        self
    }

    /// The values of a field, for the variables.
    pub(crate) fn values(&self, field: CertField) -> &[String] {
        match field {
            CertField::Subject(a) => self.subject(a),
            CertField::Issuer(a) => self.issuer(a),
            CertField::SubjectAlt(k) => self.subject_alternative_names(k),
            CertField::IssuerAlt(k) => self.issuer_alternative_names(k),
            CertField::Serial => self.serial_number.as_slice(),
        }
    }
}
