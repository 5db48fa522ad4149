//! Reading certificates (fixtures made with openssl, see the comments).

mod common;

use common::*;
use iot_crr_policy::{Action, AltNameKind, CertificateInfo, DnAttribute};

/// `openssl req -x509 -newkey ec ... -set_serial 0x921285cbb7a5e086` with
/// subject C=DE/O=Acme/OU=Fleet/CN=dev-1, SANs DNS:dev-1.example.com, DNS:alt.example.com,
/// IP:10.0.0.7, email:dev1@example.com, URI:urn:dev:1, dirName /C=US/O=IoT/OU=SmartHome/CN=LightBulbCert,
/// issuerAltName DNS:ca.example.com.
const CERT: &str = include_str!("fixtures/cert.pem");
/// subject CN=dev-1/O=Acme/OU=Fleet/OU=Ops/C=DE.
const MULTI: &str = include_str!("fixtures/multi.pem");

#[test]
fn reads_subject_issuer_serial_and_alternative_names() {
    let c = CertificateInfo::from_pem(CERT).expect("fixture parses");
    assert_eq!(c.common_name(), Some("dev-1"));
    assert_eq!(c.subject(DnAttribute::Organization), ["Acme"]);
    assert_eq!(c.subject(DnAttribute::OrganizationalUnit), ["Fleet"]);
    assert_eq!(c.subject(DnAttribute::Country), ["DE"]);
    assert_eq!(c.issuer(DnAttribute::CommonName), ["dev-1"]);
    assert!(c.subject(DnAttribute::Title).is_empty());
    // The guide's example serial 92:12:85:cb:b7:a5:e0:86 is 10525622389124227206 in a policy.
    assert_eq!(c.serial_number(), Some("10525622389124227206"));
    assert_eq!(
        c.subject_alternative_names(AltNameKind::DnsName),
        ["dev-1.example.com", "alt.example.com"]
    );
    assert_eq!(
        c.subject_alternative_names(AltNameKind::IpAddress),
        ["10.0.0.7"]
    );
    assert_eq!(
        c.subject_alternative_names(AltNameKind::Rfc822Name),
        ["dev1@example.com"]
    );
    assert_eq!(
        c.subject_alternative_names(AltNameKind::UniformResourceIdentifier),
        ["urn:dev:1"]
    );
    assert_eq!(
        c.subject_alternative_names(AltNameKind::DirectoryName),
        ["cn=LightBulbCert,ou=SmartHome,o=IoT,c=US"]
    );
    assert_eq!(
        c.issuer_alternative_names(AltNameKind::DnsName),
        ["ca.example.com"]
    );
    let (nb, na) = (c.not_before().unwrap_or(0), c.not_after().unwrap_or(0));
    assert!(na > nb && nb > 1_600_000_000);
}

#[test]
fn multi_valued_attributes_keep_certificate_order() {
    let c = CertificateInfo::from_pem(MULTI).expect("fixture parses");
    assert_eq!(c.subject(DnAttribute::OrganizationalUnit), ["Fleet", "Ops"]);
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",
      "Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.OrganizationalUnit}/${iot:Certificate.Subject.OrganizationalUnit.1}/${iot:Certificate.Subject.CommonName}"}]}"#;
    assert_eq!(
        decide(
            doc,
            Action::Publish,
            "topic/Fleet/Ops/dev-1",
            "c",
            None,
            Some(&c)
        ),
        allowed(0)
    );
}

#[test]
fn pem_from_the_fixture_decides_the_guide_connect_by_serial() {
    let c = CertificateInfo::from_pem(CERT).expect("fixture parses");
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect",
      "Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:Certificate.SerialNumber}"}]}"#;
    assert_eq!(
        decide(
            doc,
            Action::Connect,
            "client/10525622389124227206",
            "10525622389124227206",
            None,
            Some(&c)
        ),
        allowed(0)
    );
}

#[test]
fn errors_say_what_is_wrong() {
    let not_pem = CertificateInfo::from_pem("hello").unwrap_err();
    assert!(not_pem.to_string().contains("not a PEM"), "{not_pem}");
    let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let wrong = CertificateInfo::from_pem(key).unwrap_err();
    assert!(wrong.to_string().contains("PRIVATE KEY"), "{wrong}");
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let bad = CertificateInfo::from_pem(garbage).unwrap_err();
    assert!(
        bad.to_string().contains("not an X.509 certificate"),
        "{bad}"
    );
    let truncated: String = CERT.lines().take(5).collect::<Vec<_>>().join("\n");
    assert!(CertificateInfo::from_pem(&truncated).is_err());
}
