//! A fast reader for the two lines a large snapshot is made of, things and
//! certificates, in exactly the form [`crate::format::write_to`] writes them, checked
//! as the reader checks every resource.
//!
//! A million-thing file is two million such lines, and serde's generic path (field
//! names matched one by one, collections grown and sorted, the whole line's UTF-8
//! checked), then the checks decoding what it had just encoded, were most of the time
//! of a read. Here a line is taken apart by expecting the writer's field order and
//! spelling, and each value is checked with the [`constraints`] rules while it is at
//! hand. Anything else (whitespace, another order, an escape, a field this does not
//! know, keys out of order, non-ASCII text) and any value a rule refuses make it answer
//! `None`; the caller then parses the line with serde and checks it with
//! [`constraints::check_resource`], which gives the same resource or the exact error.
//! So this never decides what a file means: every line it accepts, serde reads to the
//! same value and the checks pass (tested below).

use smallvec::SmallVec;

use crate::collections::{NameSet, StringMap, encoded_len, put_str};
use crate::constraints::{self, AsciiRule, MAX_GROUPS_PER_THING};
use crate::resource::{Certificate, CertificateStatus, Name, Thing};

/// How a thing line starts, up to the value of `thingName`.
pub(crate) const THING_START: &str = r#"{"kind":"thing","thingName":"#;
/// How a certificate line starts, up to the value of `certificateId`.
pub(crate) const CERTIFICATE_START: &str = r#"{"kind":"certificate","certificateId":"#;

/// How a value is checked: by a rule of ASCII characters and a length, in the scan
/// that finds its end, or by a rule function after it.
#[derive(Clone, Copy)]
enum Check {
    Ascii(&'static AsciiRule),
    Rule(fn(&str) -> Result<(), String>),
}

const NAME: Check = Check::Ascii(&constraints::NAME);
const CERTIFICATE_ID: Check = Check::Rule(constraints::check_certificate_id);

/// A checked thing from a line in the writer's form, or `None`.
pub(crate) fn thing(line: &[u8]) -> Option<Thing> {
    let p = thing_parts(line)?;
    Some(Thing {
        thing_name: Name::from(p.name),
        thing_type_name: p.thing_type.map(Name::from),
        attributes: string_map(&p.attributes),
        thing_groups: name_set(&p.groups),
        billing_group_name: p.billing_group.map(Name::from),
        principals: name_set(&p.principals),
        version: None,
    })
}

/// The values of a thing line in the writer's form, checked, borrowed from the line:
/// what [`thing`] builds a thing of, and all that a caller that only checks the line
/// needs (nothing allocated).
pub(crate) struct ThingParts<'a> {
    pub(crate) name: &'a str,
    pub(crate) thing_type: Option<&'a str>,
    pub(crate) attributes: SmallVec<[(&'a str, &'a str); 16]>,
    pub(crate) groups: SmallVec<[&'a str; 4]>,
    pub(crate) billing_group: Option<&'a str>,
    pub(crate) principals: SmallVec<[&'a str; 4]>,
}

/// A thing line in the writer's form taken apart and checked, or `None`.
pub(crate) fn thing_parts(line: &[u8]) -> Option<ThingParts<'_>> {
    let mut c = Cursor::new(line)?;
    c.expect(THING_START)?;
    let mut t = ThingParts {
        name: c.value(NAME)?,
        thing_type: None,
        attributes: SmallVec::new(),
        groups: SmallVec::new(),
        billing_group: None,
        principals: SmallVec::new(),
    };
    if c.eat(r#","thingTypeName":"#) {
        t.thing_type = Some(c.value(NAME)?);
    }
    if c.eat(r#","attributes":{"#) {
        t.attributes = c.attributes()?;
        constraints::check_thing_attribute_count(t.attributes.len(), t.thing_type.is_some())
            .ok()?;
    }
    if c.eat(r#","thingGroups":["#) {
        t.groups = c.names(NAME)?;
        (t.groups.len() <= MAX_GROUPS_PER_THING).then_some(())?;
    }
    if c.eat(r#","billingGroupName":"#) {
        t.billing_group = Some(c.value(NAME)?);
    }
    if c.eat(r#","principals":["#) {
        t.principals = c.names(Check::Rule(constraints::check_principal))?;
    }
    c.end()?;
    Some(t)
}

/// A set of names from names in order, allocated at its exact size (a grown vector
/// would hold four).
fn name_set(names: &[&str]) -> NameSet {
    NameSet::from_sorted(names.iter().map(|n| Name::from(*n)).collect())
}

/// A map from entries in key order, in one buffer of its exact size.
fn string_map(entries: &[(&str, &str)]) -> StringMap {
    let bytes = entries
        .iter()
        .map(|(k, v)| encoded_len(k) + encoded_len(v))
        .sum();
    let mut buf = Vec::with_capacity(bytes);
    for (k, v) in entries {
        put_str(&mut buf, k);
        put_str(&mut buf, v);
    }
    StringMap::from_sorted_buffer(buf)
}

/// A checked certificate from a line in the writer's form, or `None`. `pem_checked`:
/// the reader took the PEM out of the line (`"certificatePem":""`) after checking it;
/// otherwise the PEM on the line is checked (one with its line ends escaped is not in
/// the writer's form: escapes are serde's).
pub(crate) fn certificate(line: &[u8], pem_checked: bool) -> Option<Certificate> {
    let mut c = Cursor::new(line)?;
    c.expect(CERTIFICATE_START)?;
    let certificate_id = c.name(CERTIFICATE_ID)?;
    c.expect(r#","certificatePem":"#)?;
    let pem = c.string()?;
    if !pem_checked {
        constraints::check_certificate_pem(pem).ok()?;
    }
    c.expect(r#","status":"#)?;
    let status = CertificateStatus::parse(c.string()?)?;
    let mut cert = Certificate {
        certificate_id,
        certificate_pem: pem.to_string(),
        status,
        ca_certificate_id: None,
        policies: NameSet::new(),
    };
    if c.eat(r#","caCertificateId":"#) {
        cert.ca_certificate_id = Some(c.name(CERTIFICATE_ID)?);
    }
    if c.eat(r#","policies":["#) {
        cert.policies = name_set(&c.names(Check::Ascii(&constraints::POLICY_NAME))?);
    }
    c.end()?;
    Some(cert)
}

/// Whether every byte is printable ASCII (no control character, nothing beyond
/// ASCII), and no backslash unless `backslash`. Checked a chunk at a time without an
/// early exit inside it, which vectorises.
pub(crate) fn printable_ascii(bytes: &[u8], backslash: bool) -> bool {
    bytes.chunks(64).all(|c| {
        c.iter().fold(true, |ok, &b| {
            ok & (0x20..0x7f).contains(&b) & (backslash | (b != b'\\'))
        })
    })
}

/// A position in a plain line.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a [u8]) -> Option<Self> {
        // A plain line: a JSON string in it is the bytes between two quotes, with
        // nothing to unescape or check.
        if !printable_ascii(line, false) {
            return None;
        }
        // ASCII, so valid UTF-8; every index below is at an ASCII byte.
        let s = std::str::from_utf8(line).ok()?;
        Some(Cursor { s, i: 0 })
    }

    fn rest(&self) -> &'a [u8] {
        &self.s.as_bytes()[self.i..]
    }

    /// Takes `lit` if the line goes on with it.
    fn eat(&mut self, lit: &str) -> bool {
        let found = self.rest().starts_with(lit.as_bytes());
        if found {
            self.i += lit.len();
        }
        found
    }

    fn expect(&mut self, lit: &str) -> Option<()> {
        self.eat(lit).then_some(())
    }

    /// A string value: the text between this quote and the next.
    fn string(&mut self) -> Option<&'a str> {
        self.expect("\"")?;
        // Values are short (names, attribute values, ids): a plain scan beats memchr's
        // set-up.
        let n = self.rest().iter().position(|&b| b == b'"')?;
        self.take_quoted(n)
    }

    /// The next `n` bytes, a value whose closing quote follows them; the cursor goes
    /// past the quote.
    fn take_quoted(&mut self, n: usize) -> Option<&'a str> {
        let v = self.s.get(self.i..self.i + n)?;
        self.i += n + 1;
        Some(v)
    }

    /// A string value that `check` accepts.
    fn value(&mut self, check: Check) -> Option<&'a str> {
        match check {
            Check::Ascii(rule) => {
                // One scan: up to the first byte outside the rule's characters, which
                // must be the closing quote (no rule allows a quote).
                self.expect("\"")?;
                let n = self.rest().iter().position(|&b| !rule.allows(b))?;
                (self.rest()[n] == b'"' && rule.allows_len(n)).then_some(())?;
                self.take_quoted(n)
            }
            Check::Rule(rule) => {
                let v = self.string()?;
                rule(v).ok()?;
                Some(v)
            }
        }
    }

    /// A string value that `check` accepts, as a name.
    fn name(&mut self, check: Check) -> Option<Name> {
        self.value(check).map(Name::from)
    }

    /// The entries of a list whose opening bracket was taken, up to `close`, each read
    /// by `entry`, which answers its key; the keys strictly ascending (as written).
    /// Answers how many there are.
    fn entries(
        &mut self,
        close: &str,
        mut entry: impl FnMut(&mut Self) -> Option<&'a str>,
    ) -> Option<usize> {
        if self.eat(close) {
            return Some(0);
        }
        let mut last: Option<&str> = None;
        let mut count = 0;
        loop {
            let key = entry(self)?;
            if last.is_some_and(|l| l >= key) {
                return None;
            }
            last = Some(key);
            count += 1;
            if !self.eat(",") {
                self.expect(close)?;
                return Some(count);
            }
        }
    }

    /// The strings of an array whose `[` was taken, strictly ascending (as written)
    /// and each accepted by `rule`.
    fn names(&mut self, check: Check) -> Option<SmallVec<[&'a str; 4]>> {
        let mut found: SmallVec<[&'a str; 4]> = SmallVec::new();
        self.entries("]", |c| {
            let n = c.value(check)?;
            found.push(n);
            Some(n)
        })?;
        Some(found)
    }

    /// The attributes of an object whose `{` was taken, keys strictly ascending, each
    /// name and value accepted by the attribute rules.
    fn attributes(&mut self) -> Option<SmallVec<[(&'a str, &'a str); 16]>> {
        let mut found: SmallVec<[(&'a str, &'a str); 16]> = SmallVec::new();
        self.entries("}", |c| {
            let k = c.value(Check::Ascii(&constraints::ATTRIBUTE_NAME))?;
            c.expect(":")?;
            let v = c.value(Check::Ascii(&constraints::ATTRIBUTE_VALUE))?;
            found.push((k, v));
            Some(k)
        })?;
        Some(found)
    }

    /// The closing brace, last on the line.
    fn end(&mut self) -> Option<()> {
        self.expect("}")?;
        (self.i == self.s.len()).then_some(())
    }
}

/// Writes `t` as its snapshot line (without the line end), byte for byte what
/// `serde_json` writes for [`crate::resource::Resource::Thing`]: fields in declaration
/// order, empty ones left out, strings escaped as serde_json escapes them. Writing and
/// fingerprinting a million things went mostly to serde's generic path.
pub(crate) fn write_thing(out: &mut Vec<u8>, t: &Thing) {
    out.extend_from_slice(THING_START.as_bytes());
    string(out, t.thing_name.as_bytes());
    if let Some(ty) = &t.thing_type_name {
        out.extend_from_slice(br#","thingTypeName":"#);
        string(out, ty.as_bytes());
    }
    if !t.attributes.is_empty() {
        out.extend_from_slice(br#","attributes":{"#);
        for (i, (k, v)) in t.attributes.byte_entries().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, k);
            out.push(b':');
            string(out, v);
        }
        out.push(b'}');
    }
    names(out, br#","thingGroups":["#, &t.thing_groups);
    if let Some(b) = &t.billing_group_name {
        out.extend_from_slice(br#","billingGroupName":"#);
        string(out, b.as_bytes());
    }
    names(out, br#","principals":["#, &t.principals);
    out.push(b'}');
}

/// Writes `c` as its snapshot line (without the line end), byte for byte what
/// `serde_json` writes for [`crate::resource::Resource::Certificate`].
pub(crate) fn write_certificate(out: &mut Vec<u8>, c: &Certificate) {
    out.extend_from_slice(CERTIFICATE_START.as_bytes());
    string(out, c.certificate_id.as_bytes());
    out.extend_from_slice(br#","certificatePem":"#);
    string(out, c.certificate_pem.as_bytes());
    out.extend_from_slice(br#","status":""#);
    out.extend_from_slice(c.status.as_str().as_bytes());
    out.push(b'"');
    if let Some(ca) = &c.ca_certificate_id {
        out.extend_from_slice(br#","caCertificateId":"#);
        string(out, ca.as_bytes());
    }
    names(out, br#","policies":["#, &c.policies);
    out.push(b'}');
}

/// `,"field":[...]` for a non-empty set.
fn names(out: &mut Vec<u8>, field: &[u8], set: &NameSet) {
    if set.is_empty() {
        return;
    }
    out.extend_from_slice(field);
    for (i, n) in set.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, n.as_bytes());
    }
    out.push(b']');
}

/// The bytes serde_json escapes in a string: control characters, `"` and `\`.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// A JSON string as serde_json writes it: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00xx`, everything else (UTF-8 included) as it is.
fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    // Most strings need no escape: checked a table look-up a byte without an early
    // exit, then copied at once.
    if !s
        .iter()
        .fold(false, |esc, &b| esc | ESCAPED[usize::from(b)])
    {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    let mut rest = s;
    while let Some(i) = rest.iter().position(|&b| ESCAPED[usize::from(b)]) {
        out.extend_from_slice(&rest[..i]);
        let b = rest[i];
        match b {
            b'"' => out.extend_from_slice(br#"\""#),
            b'\\' => out.extend_from_slice(br"\\"),
            b'\n' => out.extend_from_slice(br"\n"),
            b'\r' => out.extend_from_slice(br"\r"),
            b'\t' => out.extend_from_slice(br"\t"),
            0x08 => out.extend_from_slice(br"\b"),
            0x0c => out.extend_from_slice(br"\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(br"\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Resource;

    fn serde_thing(line: &str) -> Option<Thing> {
        match serde_json::from_str::<Resource>(line) {
            Ok(Resource::Thing(t)) => Some(t),
            _ => None,
        }
    }

    fn serde_certificate(line: &str) -> Option<Certificate> {
        match serde_json::from_str::<Resource>(line) {
            Ok(Resource::Certificate(c)) => Some(c),
            _ => None,
        }
    }

    fn full_thing() -> Thing {
        Thing {
            thing_name: "sensor-000001".into(),
            thing_type_name: Some("temperature-sensor".into()),
            attributes: [("firmware", "4.12.1"), ("model", "TS-100"), ("site", "b")]
                .into_iter()
                .collect(),
            thing_groups: ["line-1", "line-2"].into_iter().collect(),
            billing_group_name: Some("billing-standard".into()),
            principals: [
                format!("cert/{}", "a".repeat(64)),
                "arn:aws:iam::123456789012:role/x".to_string(),
            ]
            .into_iter()
            .collect(),
            version: None,
        }
    }

    #[test]
    fn a_written_thing_reads_as_serde_reads_it() {
        let mut bare = full_thing();
        bare.thing_type_name = None;
        bare.attributes = StringMap::new();
        bare.thing_groups = NameSet::new();
        bare.billing_group_name = None;
        bare.principals = NameSet::new();
        for t in [full_thing(), bare] {
            let line = serde_json::to_string(&Resource::Thing(t.clone())).unwrap();
            let fast = thing(line.as_bytes()).expect("the writer's form");
            assert_eq!(fast, t);
            assert_eq!(Some(fast.clone()), serde_thing(&line));
            // Byte-equal collections, not only equal ones.
            assert_eq!(fast.attributes.iter().collect::<Vec<_>>(), {
                t.attributes.iter().collect::<Vec<_>>()
            });
        }
    }

    #[test]
    fn a_written_certificate_reads_as_serde_reads_it() {
        let mut c = Certificate {
            certificate_id: "ab".repeat(32).into(),
            certificate_pem: String::new(),
            status: CertificateStatus::PendingTransfer,
            ca_certificate_id: Some("cd".repeat(32).into()),
            policies: ["p-1", "p.2"].into_iter().collect(),
        };
        for status in [
            CertificateStatus::Active,
            CertificateStatus::Inactive,
            CertificateStatus::Revoked,
            CertificateStatus::PendingTransfer,
            CertificateStatus::RegisterInactive,
            CertificateStatus::PendingActivation,
        ] {
            c.status = status;
            let line = serde_json::to_string(&Resource::Certificate(c.clone())).unwrap();
            let fast = certificate(line.as_bytes(), true).expect("the writer's form");
            assert_eq!(fast, c);
            assert_eq!(Some(fast), serde_certificate(&line));
        }
        c.ca_certificate_id = None;
        c.policies = NameSet::new();
        let line = serde_json::to_string(&Resource::Certificate(c.clone())).unwrap();
        assert_eq!(certificate(line.as_bytes(), true), Some(c));
    }

    #[test]
    fn anything_but_the_writers_form_is_left_to_serde() {
        let id = "a".repeat(64);
        let lines = [
            // Whitespace, another field order, an escape, an unknown field.
            r#"{"kind":"thing", "thingName":"a"}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","billingGroupName":"b","thingTypeName":"t"}"#
                .to_string(),
            r#"{"kind":"thing","thingName":"a\u0062"}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","version":3}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","colour":"red"}"#.to_string(),
            // Collections out of order or repeated: serde sorts and keeps the last.
            r#"{"kind":"thing","thingName":"a","attributes":{"b":"1","a":"2"}}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","attributes":{"a":"1","a":"2"}}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","thingGroups":["b","a"]}"#.to_string(),
            r#"{"kind":"thing","thingName":"a","thingGroups":["a","a"]}"#.to_string(),
            // Not a string, non-ASCII, a control character, something after the end.
            r#"{"kind":"thing","thingName":"a","attributes":{"n":1}}"#.to_string(),
            "{\"kind\":\"thing\",\"thingName\":\"caf\u{e9}\"}".to_string(),
            "{\"kind\":\"thing\",\"thingName\":\"a\tb\"}".to_string(),
            r#"{"kind":"thing","thingName":"a"} "#.to_string(),
            r#"{"kind":"thing","thingName":"a"}}"#.to_string(),
            r#"{"kind":"thing","thingName":"a""#.to_string(),
            r#"{"kind":"thing","thingName":"a","principals":["#.to_string(),
        ];
        for l in &lines {
            assert_eq!(thing(l.as_bytes()), None, "{l}");
        }
        let certs = [
            format!(
                r#"{{"kind":"certificate","certificateId":"{id}","certificatePem":"-----BEGIN\n","status":"ACTIVE"}}"#
            ),
            format!(
                r#"{{"kind":"certificate","certificateId":"{id}","certificatePem":"","status":"active"}}"#
            ),
            format!(
                r#"{{"kind":"certificate","certificateId":"{id}","status":"ACTIVE","certificatePem":""}}"#
            ),
            format!(
                r#"{{"kind":"certificate","certificateId":"{id}","certificatePem":"","status":"ACTIVE","policies":["b","a"]}}"#
            ),
        ];
        for l in &certs {
            assert_eq!(certificate(l.as_bytes(), true), None, "{l}");
        }
    }

    #[test]
    fn what_the_fast_path_takes_serde_takes_the_same_way() {
        // Lines of every shape, some made non-canonical by an edit: whenever the fast
        // path answers, serde answers the same.
        let edits: [&dyn Fn(&str) -> String; 5] = [
            &|l| l.to_string(),
            &|l| l.replacen(",", ", ", 1),
            &|l| l.replace("\"b\"", "\"a\""),
            &|l| l.replacen("]", ",\"zz\"]", 1),
            &|l| l.replacen("}", ",\"x\":\"y\"}", 1),
        ];
        let mut fast_answers = 0;
        for n in 0..4u8 {
            for groups in [false, true] {
                for edit in edits {
                    let mut t = full_thing();
                    t.attributes = (0..n)
                        .map(|i| (((b'a' + i) as char).to_string(), format!("v{i}")))
                        .collect();
                    if groups {
                        t.thing_groups = ["a", "b"].into_iter().collect();
                    }
                    let line = serde_json::to_string(&Resource::Thing(t)).unwrap();
                    let edited = edit(&line);
                    if let Some(fast) = thing(edited.as_bytes()) {
                        fast_answers += 1;
                        assert_eq!(Some(fast), serde_thing(&edited), "{edited}");
                    }
                }
            }
        }
        assert!(fast_answers >= 8, "the unedited lines at least");
    }

    #[test]
    fn a_line_the_checks_refuse_is_left_to_serde_and_the_checks() {
        use crate::constraints::check_resource;
        let cert = |p: &str| format!("cert/{p}");
        let mut bad: Vec<Thing> = Vec::new();
        let edit = |f: &dyn Fn(&mut Thing)| {
            let mut t = full_thing();
            f(&mut t);
            t
        };
        bad.push(edit(&|t| t.thing_name = "a b".into()));
        bad.push(edit(&|t| t.thing_name = "x".repeat(129).into()));
        bad.push(edit(&|t| t.thing_type_name = Some("t/1".into())));
        bad.push(edit(&|t| {
            t.thing_type_name = None;
            t.attributes = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
                .into_iter()
                .collect();
        }));
        bad.push(edit(&|t| {
            t.attributes = (0..51).map(|i| (format!("a{i:02}"), "v")).collect();
        }));
        bad.push(edit(&|t| {
            t.attributes = [("a b", "1")].into_iter().collect()
        }));
        bad.push(edit(&|t| {
            t.attributes = [("a", "1 2")].into_iter().collect()
        }));
        bad.push(edit(&|t| {
            t.attributes = [("a", "x".repeat(801))].into_iter().collect();
        }));
        bad.push(edit(&|t| {
            t.thing_groups = (0..11).map(|i| format!("g{i:02}")).collect();
        }));
        bad.push(edit(&|t| t.thing_groups = ["g 1"].into_iter().collect()));
        bad.push(edit(&|t| t.billing_group_name = Some("".into())));
        bad.push(edit(&|t| {
            t.principals = [cert("xyz")].into_iter().collect()
        }));
        bad.push(edit(&|t| t.principals = [""].into_iter().collect()));
        for t in bad {
            assert!(
                check_resource(&Resource::Thing(t.clone())).is_err(),
                "{t:?}"
            );
            let line = serde_json::to_string(&Resource::Thing(t.clone())).unwrap();
            assert_eq!(thing(line.as_bytes()), None, "{line}");
        }
        // At the limits, still accepted.
        let ok = [
            edit(&|t| t.thing_name = "x".repeat(128).into()),
            edit(&|t| t.attributes = (0..50).map(|i| (format!("a{i:02}"), "v")).collect()),
            edit(&|t| t.attributes = [("a", "x".repeat(800))].into_iter().collect()),
            edit(&|t| t.thing_groups = (0..10).map(|i| format!("g{i:02}")).collect()),
        ];
        for t in ok {
            check_resource(&Resource::Thing(t.clone())).unwrap();
            let line = serde_json::to_string(&Resource::Thing(t.clone())).unwrap();
            assert_eq!(thing(line.as_bytes()), Some(t));
        }
        let id = "ab".repeat(32);
        let certs = [
            (r#""certificateId":"abc""#.to_string(), true),
            (format!(r#""certificateId":"{}""#, "g".repeat(64)), true),
            (
                format!(r#""certificateId":"{id}","caCertificateId":"12""#),
                true,
            ),
            (
                format!(r#""certificateId":"{id}","policies":["a b"]"#),
                true,
            ),
            // The PEM itself, when the reader did not check it.
            (format!(r#""certificateId":"{id}""#), false),
        ];
        for (fields, pem_checked) in certs {
            let (id_part, rest) = fields.split_once(',').unwrap_or((&fields, ""));
            let rest = if rest.is_empty() {
                String::new()
            } else {
                format!(",{rest}")
            };
            let line = format!(
                r#"{{"kind":"certificate",{id_part},"certificatePem":"","status":"ACTIVE"{rest}}}"#
            );
            assert_eq!(certificate(line.as_bytes(), pem_checked), None, "{line}");
            let r: Resource = serde_json::from_str(&line).unwrap();
            assert!(check_resource(&r).is_err(), "{line}");
        }
    }

    #[test]
    fn the_writer_writes_what_serde_json_writes() {
        let odd = [
            "",
            "plain",
            "quote\" and back\\slash",
            "line\nbreak\rcr\ttab",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "caf\u{e9} \u{1F600} /slash",
        ];
        let mut every_byte = String::new();
        for b in 0u8..0x80 {
            every_byte.push(char::from(b));
        }
        let mut cases: Vec<Resource> = Vec::new();
        for s in odd.iter().copied().chain([every_byte.as_str()]) {
            let mut t = full_thing();
            t.thing_name = s.into();
            t.thing_type_name = Some(format!("{s}-type").into());
            t.attributes = [(s, s), ("z", "1")].into_iter().collect();
            t.thing_groups = [s, "g"].into_iter().collect();
            t.billing_group_name = Some(s.into());
            t.principals = [s].into_iter().collect();
            cases.push(Resource::Thing(t));
            cases.push(Resource::Certificate(Certificate {
                certificate_id: s.into(),
                certificate_pem: format!("-----BEGIN CERTIFICATE-----\n{s}\n"),
                status: CertificateStatus::RegisterInactive,
                ca_certificate_id: Some(s.into()),
                policies: [s, "p"].into_iter().collect(),
            }));
        }
        cases.push(Resource::Thing(Thing {
            thing_name: "bare".into(),
            ..Thing::default()
        }));
        cases.push(Resource::Certificate(Certificate {
            certificate_id: "c".into(),
            certificate_pem: String::new(),
            status: CertificateStatus::Active,
            ca_certificate_id: None,
            policies: NameSet::new(),
        }));
        for r in cases {
            let mut ours = Vec::new();
            match &r {
                Resource::Thing(t) => write_thing(&mut ours, t),
                Resource::Certificate(c) => write_certificate(&mut ours, c),
                _ => unreachable!(),
            }
            let theirs = serde_json::to_vec(&r).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }

    mod mutated {
        use super::*;
        use crate::constraints::check_resource;
        use proptest::prelude::*;

        /// A canonical thing line and a canonical certificate line (PEM taken out).
        fn lines() -> [String; 2] {
            let t = serde_json::to_string(&Resource::Thing(full_thing())).unwrap();
            let c = serde_json::to_string(&Resource::Certificate(Certificate {
                certificate_id: "ab".repeat(32).into(),
                certificate_pem: String::new(),
                status: CertificateStatus::Active,
                ca_certificate_id: Some("cd".repeat(32).into()),
                policies: ["p-1", "p-2"].into_iter().collect(),
            }))
            .unwrap();
            [t, c]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

            /// Whatever a corrupted line turns into, the fast path either leaves it to
            /// serde or reads exactly what serde reads, and only lines the checks pass.
            #[test]
            fn a_corrupted_line_is_read_as_serde_reads_it_or_left_to_serde(
                which in 0usize..2,
                edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
            ) {
                let mut line = lines()[which].clone().into_bytes();
                for (at, byte, op) in edits {
                    let i = at.index(line.len());
                    match op {
                        0 => line[i] = byte,
                        1 => { line.remove(i); }
                        _ => line.insert(i, byte),
                    }
                }
                let fast = if which == 0 {
                    thing(&line).map(Resource::Thing)
                } else {
                    certificate(&line, true).map(Resource::Certificate)
                };
                if let Some(r) = fast {
                    let text = std::str::from_utf8(&line).expect("accepted lines are ASCII");
                    let theirs: Resource = serde_json::from_str(text).expect("serde reads it too");
                    prop_assert_eq!(&r, &theirs);
                    match &r {
                        Resource::Certificate(c) => {
                            prop_assert!(constraints::check_certificate_except_pem(c).is_ok());
                        }
                        _ => prop_assert!(check_resource(&r).is_ok()),
                    }
                }
            }
        }
    }
}
