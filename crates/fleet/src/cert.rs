//! Deterministic X.509 certificates for synthetic devices.
//!
//! A certificate is an ordinary X.509 v3 end-entity certificate (ECDSA P-256 with
//! SHA-256, the kind AWS IoT accepts for `RegisterCertificateWithoutCA` and
//! `RegisterCertificate`), DER-encoded here by hand and signed by one issuer key derived
//! from the fleet seed. ECDSA signatures use RFC 6979 deterministic nonces, so the same
//! seed gives byte-identical certificates, and therefore the same certificate ids (the
//! lowercase hex SHA-256 of the DER, as AWS IoT computes them).
//!
//! Only the public halves matter to a registry: device private keys are derived, used for
//! their public key and dropped; they are never returned.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

// Object identifiers, DER-encoded with their tag and length.
const OID_ECDSA_WITH_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_COUNTRY: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x06];
const OID_ORGANIZATION: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
const OID_COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
const OID_SUBJECT_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0e];
const OID_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0f];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x13];
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x23];
const OID_EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x25];
const OID_CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

const TAG_BOOLEAN: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// The organisation named in every synthetic certificate.
const ORGANIZATION: &str = "iot-crr synthetic fleet";

/// A certificate authority key that signs a fleet's device certificates.
pub(crate) struct Issuer {
    key: SigningKey,
    name: Vec<u8>,
    key_id: [u8; 20],
}

/// A signed certificate: its DER bytes, PEM text and AWS IoT certificate id.
pub(crate) struct IssuedCertificate {
    /// Lowercase hex SHA-256 of the DER.
    pub id: String,
    /// The PEM text (`-----BEGIN CERTIFICATE-----` ...), newline-terminated.
    pub pem: String,
}

/// Draws a valid P-256 private key from `rng` (retrying the rare out-of-range value).
fn signing_key(rng: &mut impl RngCore) -> SigningKey {
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return k;
        }
    }
}

/// The uncompressed SEC1 point of a key (65 bytes).
fn public_point(key: &SigningKey) -> Vec<u8> {
    VerifyingKey::from(key)
        .to_sec1_point(false)
        .as_bytes()
        .to_vec()
}

/// A key identifier: the first 160 bits of the SHA-256 of the public point (RFC 7093).
fn key_id(point: &[u8]) -> [u8; 20] {
    let d = Sha256::digest(point);
    let mut id = [0u8; 20];
    id.copy_from_slice(&d[..20]);
    id
}

impl Issuer {
    /// The issuer of a fleet, derived from `rng` (seeded from the fleet seed).
    pub(crate) fn new(rng: &mut impl RngCore, seed: u64) -> Self {
        let key = signing_key(rng);
        let point = public_point(&key);
        Issuer {
            name: name(Some("US"), &format!("iot-crr fleet CA {seed:016x}")),
            key_id: key_id(&point),
            key,
        }
    }

    /// The issuer's own self-signed CA certificate, for registering the CA in a registry
    /// (`RegisterCACertificate`) when device certificates are registered with their CA.
    pub(crate) fn ca_certificate(&self) -> IssuedCertificate {
        let point = public_point(&self.key);
        let extensions = [
            extension(
                OID_BASIC_CONSTRAINTS,
                true,
                &seq(&[&tlv(TAG_BOOLEAN, &[0xff])]),
            ),
            // keyCertSign and cRLSign: bits 5 and 6, one unused bit.
            extension(OID_KEY_USAGE, true, &tlv(TAG_BIT_STRING, &[0x01, 0x06])),
            extension(
                OID_SUBJECT_KEY_ID,
                false,
                &tlv(TAG_OCTET_STRING, &self.key_id),
            ),
        ];
        let serial = {
            let mut s = [0u8; 16];
            s[..8].copy_from_slice(&self.key_id[..8]);
            s
        };
        self.sign(
            &serial,
            "250101000000Z",
            "450101000000Z",
            &self.name,
            &point,
            &extensions,
        )
    }

    /// Issues a device certificate for `common_name` with a key drawn from `rng`.
    pub(crate) fn issue(&self, rng: &mut impl RngCore, common_name: &str) -> IssuedCertificate {
        let device_key = signing_key(rng);
        let point = public_point(&device_key);
        // A positive 128-bit serial number without a leading zero byte.
        let mut serial = [0u8; 16];
        rng.fill_bytes(&mut serial);
        serial[0] = (serial[0] & 0x7f) | 0x40;
        // Issued some time in 2024 or 2025, valid for twenty years.
        let year = 24 + rng.next_u32() % 2;
        let rest = format!(
            "{:02}{:02}{:02}{:02}{:02}Z",
            1 + rng.next_u32() % 12,
            1 + rng.next_u32() % 28,
            rng.next_u32() % 24,
            rng.next_u32() % 60,
            rng.next_u32() % 60,
        );
        let not_before = format!("{year:02}{rest}");
        let not_after = format!("{:02}{rest}", year + 20);
        let extensions = [
            extension(OID_BASIC_CONSTRAINTS, true, &seq(&[])),
            // digitalSignature: bit 0, seven unused bits.
            extension(OID_KEY_USAGE, true, &tlv(TAG_BIT_STRING, &[0x07, 0x80])),
            extension(OID_EXT_KEY_USAGE, false, &seq(&[OID_CLIENT_AUTH])),
            extension(
                OID_SUBJECT_KEY_ID,
                false,
                &tlv(TAG_OCTET_STRING, &key_id(&point)),
            ),
            extension(
                OID_AUTHORITY_KEY_ID,
                false,
                // keyIdentifier [0] IMPLICIT OCTET STRING
                &seq(&[&tlv(0x80, &self.key_id)]),
            ),
        ];
        self.sign(
            &serial,
            &not_before,
            &not_after,
            &name(None, common_name),
            &point,
            &extensions,
        )
    }

    /// Builds the TBSCertificate, signs it and wraps it into a Certificate.
    fn sign(
        &self,
        serial: &[u8],
        not_before: &str,
        not_after: &str,
        subject: &[u8],
        point: &[u8],
        extensions: &[Vec<u8>],
    ) -> IssuedCertificate {
        let algorithm = seq(&[OID_ECDSA_WITH_SHA256]);
        let ext_refs: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
        let tbs = seq(&[
            // version [0] EXPLICIT INTEGER 2 (v3)
            &tlv(0xa0, &tlv(TAG_INTEGER, &[0x02])),
            &tlv(TAG_INTEGER, serial),
            &algorithm,
            &self.name,
            &seq(&[
                &tlv(TAG_UTC_TIME, not_before.as_bytes()),
                &tlv(TAG_UTC_TIME, not_after.as_bytes()),
            ]),
            subject,
            &seq(&[
                &seq(&[OID_EC_PUBLIC_KEY, OID_PRIME256V1]),
                &bit_string(point),
            ]),
            // extensions [3] EXPLICIT SEQUENCE OF Extension
            &tlv(0xa3, &seq(&ext_refs)),
        ]);
        let signature: Signature = self.key.sign(&tbs);
        let der = seq(&[&tbs, &algorithm, &bit_string(signature.to_der().as_bytes())]);
        IssuedCertificate {
            id: hex(&Sha256::digest(&der)),
            pem: pem(&der),
        }
    }
}

/// A distinguished name: optional country, organisation, common name.
fn name(country: Option<&str>, common_name: &str) -> Vec<u8> {
    let rdn =
        |oid: &[u8], tag: u8, value: &str| tlv(TAG_SET, &seq(&[oid, &tlv(tag, value.as_bytes())]));
    let mut parts = Vec::new();
    if let Some(c) = country {
        parts.push(rdn(OID_COUNTRY, TAG_PRINTABLE_STRING, c));
    }
    parts.push(rdn(OID_ORGANIZATION, TAG_UTF8_STRING, ORGANIZATION));
    parts.push(rdn(OID_COMMON_NAME, TAG_UTF8_STRING, common_name));
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

/// One Extension: `SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }`.
fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let octets = tlv(TAG_OCTET_STRING, value);
    if critical {
        seq(&[oid, &tlv(TAG_BOOLEAN, &[0xff]), &octets])
    } else {
        seq(&[oid, &octets])
    }
}

/// A BIT STRING with no unused bits.
fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(TAG_BIT_STRING, &content)
}

/// A SEQUENCE of already encoded parts.
fn seq(parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 4);
    out.push(TAG_SEQUENCE);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A DER definite length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        assert!(len < 0x1_0000, "DER element too long for a certificate");
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// PEM armour with 64-character base64 lines, as OpenSSL and AWS IoT write it.
fn pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                b64.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize]);
            } else {
                b64.push(b'=');
            }
        }
    }
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn der_lengths() {
        let mut v = Vec::new();
        push_len(&mut v, 5);
        push_len(&mut v, 200);
        push_len(&mut v, 300);
        assert_eq!(v, [5, 0x81, 200, 0x82, 1, 44]);
    }

    #[test]
    fn pem_padding() {
        assert!(pem(b"f").contains("\nZg==\n"));
        assert!(pem(b"fo").contains("\nZm8=\n"));
        assert!(pem(b"foo").contains("\nZm9v\n"));
        assert_eq!(hex(&[0x00, 0xab]), "00ab");
    }

    #[test]
    fn issuing_is_deterministic() {
        let issuer = Issuer::new(&mut ChaCha8Rng::seed_from_u64(1), 1);
        let a = issuer.issue(&mut ChaCha8Rng::seed_from_u64(2), "thing-a");
        let b = issuer.issue(&mut ChaCha8Rng::seed_from_u64(2), "thing-a");
        let c = issuer.issue(&mut ChaCha8Rng::seed_from_u64(3), "thing-a");
        assert_eq!(a.pem, b.pem);
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert_eq!(a.id.len(), 64);
    }
}
