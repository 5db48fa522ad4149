//! The snapshot file format: JSON Lines, a header line, then one resource a line.
//!
//! ```text
//! {"format":"iot-crr-snapshot","formatVersion":1,"region":"us-east-1","accountId":"123456789012"}
//! {"kind":"thingType","thingTypeName":"sensor","searchableAttributes":["model"]}
//! {"kind":"thing","thingName":"dev-1","thingTypeName":"sensor","attributes":{"model":"a"}}
//! ```
//!
//! Lines are sorted by kind (dependency order) and then by name, and every collection
//! inside a line is sorted, so two snapshots of the same registry are byte-identical and
//! diff well in git. See `docs/snapshot-format.md` for the full description.
//!
//! Reading parses lines in parallel and either returns the whole registry or the first
//! error with its line number; it never returns part of a file.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::constraints;
use crate::resource::{Certificate, Kind, Name, Resource, Thing};
use crate::snapshot::{Origin, PrincipalCoverage, Snapshot};

/// The `format` value of the header line.
pub const SNAPSHOT_FORMAT: &str = "iot-crr-snapshot";
/// The current `formatVersion`.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// The first line of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// [`SNAPSHOT_FORMAT_VERSION`].
    pub format_version: u32,
    /// Region of the registry, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account of the registry, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Which principals of things the file holds (absent: all of them).
    #[serde(default, skip_serializing_if = "is_all_principals")]
    pub principals: PrincipalCoverage,
}

fn is_all_principals(p: &PrincipalCoverage) -> bool {
    *p == PrincipalCoverage::All
}

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file (or `<input>`).
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl SnapshotError {
    fn parse(path: &str, line: usize, reason: impl Into<String>) -> Self {
        SnapshotError::Parse {
            path: path.to_string(),
            line,
            reason: reason.into(),
        }
    }
}

/// Reads a snapshot file.
///
/// The file is read in blocks; the lines of a block are parsed in parallel and merged
/// into the registry before the next block is read, so memory holds the registry and
/// one block, not the whole file.
pub fn read_file(path: &Path) -> Result<Snapshot, SnapshotError> {
    let name = path.display().to_string();
    let io = |source| SnapshotError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    match parse_stream(file, &name, BLOCK) {
        Err(Failure::Duplicate { kind, key, line }) => {
            let file = std::fs::File::open(path).map_err(io)?;
            Err(duplicate_error(file, &name, kind, &key, line))
        }
        other => other.map_err(Failure::into_error),
    }
}

/// Parses snapshot bytes. `path` names the input in errors.
pub fn parse(bytes: Vec<u8>, path: &str) -> Result<Snapshot, SnapshotError> {
    parse_in_blocks(bytes, path, BLOCK)
}

fn parse_in_blocks(bytes: Vec<u8>, path: &str, block: usize) -> Result<Snapshot, SnapshotError> {
    match parse_stream(bytes.as_slice(), path, block) {
        Err(Failure::Duplicate { kind, key, line }) => {
            Err(duplicate_error(bytes.as_slice(), path, kind, &key, line))
        }
        other => other.map_err(Failure::into_error),
    }
}

/// Bytes read at a time.
const BLOCK: usize = 8 << 20;

enum Failure {
    Error(SnapshotError),
    /// A resource defined twice; the first line is found by a second pass.
    Duplicate {
        kind: Kind,
        key: Name,
        line: usize,
    },
}

impl Failure {
    fn into_error(self) -> SnapshotError {
        match self {
            Failure::Error(e) => e,
            Failure::Duplicate { kind, key, line } => SnapshotError::Parse {
                path: String::new(),
                line,
                reason: format!("duplicate {kind} {:?}", key.as_str()),
            },
        }
    }
}

impl From<SnapshotError> for Failure {
    fn from(e: SnapshotError) -> Self {
        Failure::Error(e)
    }
}

/// Splits a stream into blocks of whole lines and hands each block, with the number of
/// its first line, to `f`.
fn for_each_block(
    mut input: impl Read,
    path: &str,
    block: usize,
    mut f: impl FnMut(&mut [u8], usize) -> Result<(), Failure>,
) -> Result<usize, Failure> {
    let mut buf: Vec<u8> = Vec::with_capacity(block + 4096);
    let mut first_line = 1usize;
    let mut eof = false;
    while !eof {
        let start = buf.len();
        buf.resize(start + block, 0);
        let mut filled = start;
        while filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Failure::Error(SnapshotError::Io {
                        path: path.to_string(),
                        source,
                    }));
                }
            }
        }
        buf.truncate(filled);
        // Whole lines only; the tail waits for the next block (or is the last line).
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        let lines = memchr::memchr_iter(b'\n', &buf[..cut]).count()
            + usize::from(cut > 0 && buf[cut - 1] != b'\n');
        f(&mut buf[..cut], first_line)?;
        first_line += lines;
        buf.drain(..cut);
    }
    Ok(first_line)
}

/// The lines of a block with their numbers, without line ends and blank lines.
fn block_lines(block: &mut [u8], first_line: usize) -> Vec<(usize, &mut [u8])> {
    block
        .split_mut(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| {
            let l = match l.last() {
                Some(b'\r') => {
                    let n = l.len() - 1;
                    &mut l[..n]
                }
                _ => l,
            };
            (first_line + i, l)
        })
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect()
}

fn parse_header(line: usize, bytes: &[u8], path: &str) -> Result<Header, SnapshotError> {
    let header: Header = serde_json::from_slice(bytes).map_err(|e| {
        SnapshotError::parse(
            path,
            line,
            format!("invalid header line: {e}; expected {{\"format\":\"{SNAPSHOT_FORMAT}\",\"formatVersion\":{SNAPSHOT_FORMAT_VERSION}}}"),
        )
    })?;
    if header.format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::parse(
            path,
            line,
            format!(
                "not an iot-crr snapshot: format is {:?}, expected {SNAPSHOT_FORMAT:?}",
                header.format
            ),
        ));
    }
    if header.format_version != SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotError::parse(
            path,
            line,
            format!(
                "unsupported snapshot format version {} (this build reads version {SNAPSHOT_FORMAT_VERSION})",
                header.format_version
            ),
        ));
    }
    Ok(header)
}

fn parse_stream(input: impl Read, path: &str, block: usize) -> Result<Snapshot, Failure> {
    let mut snap = Snapshot::default();
    let mut header_seen = false;
    // Where each thing group is defined, to name the line of a hierarchy problem.
    let mut group_lines: BTreeMap<Name, usize> = BTreeMap::new();
    for_each_block(input, path, block, |block, first_line| {
        let mut lines = block_lines(block, first_line);
        let mut body = &mut lines[..];
        if !header_seen {
            let Some(((n, h), rest)) = body.split_first_mut() else {
                return Ok(());
            };
            let header = parse_header(*n, h, path)?;
            snap.origin = Origin {
                region: header.region,
                account_id: header.account_id,
            };
            snap.principal_coverage = header.principals;
            header_seen = true;
            body = rest;
        }
        let parsed: Vec<Result<(usize, Resource), SnapshotError>> = body
            .par_iter_mut()
            .with_min_len(512)
            .map(|(n, l)| {
                parse_line(l)
                    .and_then(|r| validate(&r).map(|()| r))
                    .map(|r| (*n, r))
                    .map_err(|e| SnapshotError::parse(path, *n, e))
            })
            .collect();
        for r in parsed {
            let (line, res) = r?;
            let kind = res.kind();
            let fresh = match res {
                Resource::ThingType(r) => {
                    insert_new(&mut snap.thing_types, &r.thing_type_name.clone(), r)
                }
                Resource::BillingGroup(r) => {
                    insert_new(&mut snap.billing_groups, &r.billing_group_name.clone(), r)
                }
                Resource::ThingGroup(r) => {
                    group_lines.insert(r.thing_group_name.clone(), line);
                    insert_new(&mut snap.thing_groups, &r.thing_group_name.clone(), r)
                }
                Resource::Policy(r) => insert_new(&mut snap.policies, &r.policy_name.clone(), r),
                Resource::Certificate(r) => {
                    insert_new(&mut snap.certificates, &r.certificate_id.clone(), r)
                }
                Resource::Thing(r) => insert_new(&mut snap.things, &r.thing_name.clone(), r),
            };
            if let Err(key) = fresh {
                return Err(Failure::Duplicate { kind, key, line });
            }
        }
        Ok(())
    })?;
    if !header_seen {
        return Err(Failure::Error(SnapshotError::parse(
            path,
            1,
            "the file is empty; a snapshot starts with a header line like \
             {\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}",
        )));
    }
    if let Err((group, v)) = constraints::check_hierarchy(&snap.thing_groups) {
        let line = group_lines.get(&group).copied().unwrap_or(1);
        return Err(Failure::Error(SnapshotError::parse(
            path,
            line,
            v.to_string(),
        )));
    }
    Ok(snap)
}

/// Inserts a resource that must not be there yet; on a repeat, returns its name.
fn insert_new<T>(map: &mut BTreeMap<Name, T>, name: &Name, value: T) -> Result<(), Name> {
    match map.entry(name.clone()) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(value);
            Ok(())
        }
        std::collections::btree_map::Entry::Occupied(_) => Err(name.clone()),
    }
}

/// The error for a resource defined twice, naming the line of its first definition
/// (found by a second pass over the input).
fn duplicate_error(
    input: impl Read,
    path: &str,
    kind: Kind,
    key: &Name,
    line: usize,
) -> SnapshotError {
    let mut first: Option<usize> = None;
    let _ = for_each_block(input, path, BLOCK, |block, first_line| {
        for (n, l) in block_lines(block, first_line) {
            if first.is_none()
                && n < line
                && let Ok(r) = parse_line(l)
                && r.kind() == kind
                && r.name() == key
            {
                first = Some(n);
            }
        }
        Ok(())
    });
    let reason = match first {
        Some(f) => format!(
            "duplicate {kind} {:?} (first defined on line {f})",
            key.as_str()
        ),
        None => format!("duplicate {kind} {:?}", key.as_str()),
    };
    SnapshotError::parse(path, line, reason)
}

/// Parses one resource line. Lines written by [`write`] start with the kind, which lets
/// the common kinds skip serde's buffering of internally tagged enums.
fn parse_line(line: &mut [u8]) -> Result<Resource, String> {
    const FAST: [(&[u8], Kind); 2] = [
        (b"{\"kind\":\"thing\",", Kind::Thing),
        (b"{\"kind\":\"certificate\",", Kind::Certificate),
    ];
    for (prefix, kind) in FAST {
        if line.starts_with(prefix) {
            let start = prefix.len() - 1;
            line[start] = b'{';
            let body = &line[start..];
            let r = match kind {
                Kind::Thing => serde_json::from_slice::<Thing>(body).map(Resource::Thing),
                _ => serde_json::from_slice::<Certificate>(body).map(Resource::Certificate),
            };
            return r.map_err(|e| describe_json_error(&e, start));
        }
    }
    let r: Resource = serde_json::from_slice(line).map_err(|e| describe_json_error(&e, 0))?;
    Ok(r)
}

fn describe_json_error(e: &serde_json::Error, offset: usize) -> String {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; within a single line only the column
    // matters, shifted by what the fast path skipped.
    match msg.rfind(" at line ") {
        Some(i) if e.column() > 0 => format!("{} (column {})", &msg[..i], e.column() + offset),
        _ => msg,
    }
}

/// Checks what serde cannot: names are non-empty, the default policy version exists and
/// version ids are unique, then AWS IoT's documented constraints (lengths, patterns,
/// counts; see [`constraints`]).
fn validate(r: &Resource) -> Result<(), String> {
    if r.name().is_empty() {
        return Err(format!("{} with an empty name", r.kind()));
    }
    match r {
        Resource::Policy(p) => {
            if p.versions.is_empty() {
                return Err(format!("policy {} has no versions", p.policy_name));
            }
            if p.default_index().is_none() {
                return Err(format!(
                    "policy {}: defaultVersionId {:?} is not one of its versions",
                    p.policy_name, p.default_version_id
                ));
            }
            let mut ids: Vec<&str> = p.versions.iter().map(|v| v.version_id.as_str()).collect();
            ids.sort();
            if ids.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("policy {} has a repeated versionId", p.policy_name));
            }
        }
        Resource::ThingGroup(g) if g.parent_group_name.as_ref() == Some(&g.thing_group_name) => {
            return Err(format!(
                "thing group {} is its own parent",
                g.thing_group_name
            ));
        }
        _ => {}
    }
    constraints::check_resource(r).map_err(|v| v.to_string())
}

/// Serialises a snapshot to bytes (header and sorted lines).
pub fn to_bytes(s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + s.things.len() * 160);
    write_to(s, &mut out).expect("writing to memory cannot fail");
    out
}

/// Writes a snapshot to a writer.
pub fn write_to(s: &Snapshot, w: &mut impl Write) -> std::io::Result<()> {
    let header = Header {
        format: SNAPSHOT_FORMAT.into(),
        format_version: SNAPSHOT_FORMAT_VERSION,
        region: s.origin.region.clone(),
        account_id: s.origin.account_id.clone(),
        principals: s.principal_coverage,
    };
    serde_json::to_writer(&mut *w, &header)?;
    w.write_all(b"\n")?;
    write_kind(w, &s.thing_types, Resource::ThingType)?;
    write_kind(w, &s.billing_groups, Resource::BillingGroup)?;
    write_kind(w, &s.thing_groups, Resource::ThingGroup)?;
    write_kind(w, &s.policies, Resource::Policy)?;
    write_kind(w, &s.certificates, Resource::Certificate)?;
    write_kind(w, &s.things, Resource::Thing)?;
    Ok(())
}

/// How many resources one parallel task serialises when writing or fingerprinting.
pub(crate) const LINES_PER_CHUNK: usize = 4096;

/// The snapshot lines of some resources of one kind, each ending in `\n`.
pub(crate) fn resource_lines<T: Clone>(items: &[&T], wrap: fn(T) -> Resource) -> Vec<u8> {
    let mut buf = Vec::with_capacity(items.len() * 160);
    for item in items {
        serde_json::to_writer(&mut buf, &wrap((*item).clone()))
            .expect("resources always serialise");
        buf.push(b'\n');
    }
    buf
}

/// Serialises one kind in parallel chunks, then writes the chunks in order.
fn write_kind<T: Clone + Sync>(
    w: &mut impl Write,
    map: &std::collections::BTreeMap<Name, T>,
    wrap: fn(T) -> Resource,
) -> std::io::Result<()> {
    let items: Vec<&T> = map.values().collect();
    let chunks: Vec<Vec<u8>> = items
        .par_chunks(LINES_PER_CHUNK)
        .map(|chunk| resource_lines(chunk, wrap))
        .collect();
    for c in chunks {
        w.write_all(&c)?;
    }
    Ok(())
}

/// Writes a snapshot file atomically: to a temporary file beside it, synced, then renamed
/// over the destination. A crash leaves either the old or the new file, never half of one.
pub fn write_file(s: &Snapshot, path: &Path) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        write_to(s, &mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{CertificateStatus, Policy, PolicyVersion, ThingType};

    fn sample() -> Snapshot {
        let mut s = Snapshot::new();
        s.origin.region = Some("us-east-1".into());
        s.insert(Resource::ThingType(ThingType {
            thing_type_name: "sensor".into(),
            searchable_attributes: ["model"].into_iter().collect(),
            ..Default::default()
        }));
        s.insert(Resource::Thing(Thing {
            thing_name: "b".into(),
            thing_type_name: Some("sensor".into()),
            attributes: [("model", "x"), ("a", "1")].into_iter().collect(),
            thing_groups: ["g2", "g1"].into_iter().collect(),
            ..Default::default()
        }));
        s.insert(Resource::Thing(Thing {
            thing_name: "a".into(),
            ..Default::default()
        }));
        s.insert(Resource::Policy(Policy {
            policy_name: "p".into(),
            default_version_id: "2".into(),
            versions: vec![
                PolicyVersion {
                    version_id: "1".into(),
                    policy_document: "{}".into(),
                },
                PolicyVersion {
                    version_id: "2".into(),
                    policy_document: "{\"Version\":\"2012-10-17\"}".into(),
                },
            ],
            ..Default::default()
        }));
        s.insert(Resource::Certificate(Certificate {
            certificate_id: "a".repeat(64).into(),
            certificate_pem: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".into(),
            status: CertificateStatus::Active,
            ca_certificate_id: None,
            policies: ["p"].into_iter().collect(),
        }));
        s
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let s = sample();
        let bytes = to_bytes(&s);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(
            "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1,\"region\":\"us-east-1\"}\n"
        ));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("{\"kind\":\"thingType\""));
        assert!(lines[lines.len() - 2].starts_with("{\"kind\":\"thing\",\"thingName\":\"a\""));
        assert!(text.contains(r#""attributes":{"a":"1","model":"x"},"thingGroups":["g1","g2"]"#));
        let back = parse(bytes.clone(), "t").unwrap();
        assert_eq!(back, s);
        assert_eq!(to_bytes(&back), bytes);
    }

    #[test]
    fn unsorted_input_is_accepted_and_sorted() {
        let text = "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n\
                    {\"kind\":\"thing\",\"thingName\":\"z\"}\r\n\
                    \n\
                    {\"thingName\":\"a\",\"kind\":\"thing\"}\n";
        let s = parse(text.as_bytes().to_vec(), "t").unwrap();
        assert_eq!(s.things.keys().collect::<Vec<_>>(), ["a", "z"]);
    }

    fn err(text: &str) -> String {
        parse(text.as_bytes().to_vec(), "f.jsonl")
            .unwrap_err()
            .to_string()
    }

    const H: &str = "{\"format\":\"iot-crr-snapshot\",\"formatVersion\":1}\n";

    #[test]
    fn malformed_inputs_name_file_line_and_reason() {
        assert!(err("").starts_with("f.jsonl:1: the file is empty"));
        assert!(err("not json\n").starts_with("f.jsonl:1: invalid header line"));
        assert!(
            err("{\"format\":\"x\",\"formatVersion\":1}\n").contains("not an iot-crr snapshot")
        );
        assert!(
            err("{\"format\":\"iot-crr-snapshot\",\"formatVersion\":7}\n")
                .contains("unsupported snapshot format version 7")
        );
        let e = err(&format!(
            "{H}{{\"kind\":\"thing\",\"thingName\":\"a\"}}\n{{\"kind\":\"thing\",\"thingName\":\"a\"}}\n"
        ));
        assert!(
            e.starts_with("f.jsonl:3: duplicate thing \"a\" (first defined on line 2)"),
            "{e}"
        );
        let e = err(&format!("{H}{{\"kind\":\"gadget\",\"name\":\"a\"}}\n"));
        assert!(e.starts_with("f.jsonl:2: unknown variant `gadget`"), "{e}");
        let e = err(&format!(
            "{H}{{\"kind\":\"thing\",\"thingName\":\"a\",\"attributes\":{{\"k\":1}}}}\n"
        ));
        assert!(e.starts_with("f.jsonl:2: invalid type: integer"), "{e}");
        let e = err(&format!("{H}{{\"kind\":\"thing\",\"thingNme\":\"a\"}}\n"));
        assert!(e.contains("unknown field `thingNme`"), "{e}");
        let e = err(&format!("{H}{{\"kind\":\"thing\",\"thingName\":\"\"}}\n"));
        assert!(e.contains("empty name"), "{e}");
        let e = err(&format!("{H}{{\"kind\":\"thing\",\"thingName\":\"a\"\n"));
        assert!(e.starts_with("f.jsonl:2: EOF while parsing"), "{e}");
        let e = err(&format!(
            "{H}{{\"kind\":\"certificate\",\"certificateId\":\"xyz\",\"certificatePem\":\"p\",\"status\":\"ACTIVE\"}}\n"
        ));
        assert!(e.contains("not 64 hexadecimal digits"), "{e}");
        let e = err(&format!(
            "{H}{{\"kind\":\"policy\",\"policyName\":\"p\",\"defaultVersionId\":\"3\",\"versions\":[{{\"versionId\":\"1\",\"policyDocument\":\"{{}}\"}}]}}\n"
        ));
        assert!(
            e.contains("defaultVersionId \"3\" is not one of its versions"),
            "{e}"
        );
        let e = err(&format!(
            "{H}{{\"kind\":\"thingGroup\",\"thingGroupName\":\"g\",\"parentGroupName\":\"g\"}}\n"
        ));
        assert!(e.contains("its own parent"), "{e}");
    }

    /// The error of a file with the header and `lines`.
    fn err_lines(lines: &[String]) -> String {
        let mut text = String::from(H);
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        err(&text)
    }

    fn thing_line(fields: &str) -> String {
        format!("{{\"kind\":\"thing\",\"thingName\":\"t\"{fields}}}")
    }

    #[test]
    fn names_beyond_aws_limits_are_refused_with_file_line_field_and_limit() {
        let e = err_lines(&[
            thing_line(""),
            format!(
                "{{\"kind\":\"thing\",\"thingName\":\"{}\"}}",
                "a".repeat(300)
            ),
        ]);
        assert!(e.starts_with("f.jsonl:3: thing \"aaaa"), "{e}");
        assert!(
            e.ends_with("thingName is 300 characters long (AWS IoT allows 1 to 128)"),
            "{e}"
        );
        let e = err_lines(&["{\"kind\":\"thing\",\"thingName\":\"a b\"}".into()]);
        assert!(
            e.starts_with("f.jsonl:2: thing \"a b\": thingName contains ' '"),
            "{e}"
        );
        let e = err_lines(&["{\"kind\":\"policy\",\"policyName\":\"p:x\",\"defaultVersionId\":\"1\",\"versions\":[{\"versionId\":\"1\",\"policyDocument\":\"{}\"}]}".into()]);
        assert!(e.contains("policy \"p:x\": policyName contains ':'"), "{e}");
        let e = err_lines(&[format!(
            "{{\"kind\":\"billingGroup\",\"billingGroupName\":\"{}\"}}",
            "b".repeat(129)
        )]);
        assert!(e.contains("billingGroupName is 129 characters long"), "{e}");
        let e = err_lines(&[thing_line(",\"thingTypeName\":\"a/b\"")]);
        assert!(e.contains("thingTypeName contains '/'"), "{e}");
    }

    #[test]
    fn attributes_beyond_aws_limits_are_refused() {
        let e = err_lines(&[thing_line(
            ",\"attributes\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\"}",
        )]);
        assert!(
            e.starts_with("f.jsonl:2: thing \"t\": attributes has 4 entries without a thing type"),
            "{e}"
        );
        // With a type, up to 50.
        let fifty: Vec<String> = (0..50).map(|i| format!("\"a{i}\":\"v\"")).collect();
        let ok = format!(
            "{H}{}\n",
            thing_line(&format!(
                ",\"thingTypeName\":\"ty\",\"attributes\":{{{}}}",
                fifty.join(",")
            ))
        );
        assert!(parse(ok.into_bytes(), "f").is_ok());
        let e = err_lines(&[thing_line(&format!(
            ",\"attributes\":{{\"a\":\"{}\"}}",
            "v".repeat(801)
        ))]);
        assert!(
            e.contains("attribute \"a\" value is 801 characters long (AWS IoT allows at most 800)"),
            "{e}"
        );
        let e = err_lines(&[thing_line(",\"attributes\":{\"a b\":\"1\"}")]);
        assert!(e.contains("attribute name \"a b\" contains ' '"), "{e}");
        let e = err_lines(&[thing_line(",\"attributes\":{\"a\":\"x y\"}")]);
        assert!(e.contains("attribute \"a\" value contains ' '"), "{e}");
        // An empty value stays accepted: AWS reads it as no attribute.
        let ok = format!("{H}{}\n", thing_line(",\"attributes\":{\"a\":\"\"}"));
        assert!(parse(ok.into_bytes(), "f").is_ok());
    }

    #[test]
    fn descriptions_searchable_attributes_and_tags_beyond_aws_limits_are_refused() {
        let e = err_lines(&[format!(
            "{{\"kind\":\"thingType\",\"thingTypeName\":\"s\",\"thingTypeDescription\":\"{}\"}}",
            "d".repeat(2029)
        )]);
        assert!(
            e.contains(
                "thingTypeDescription is 2029 characters long (AWS IoT allows at most 2028)"
            ),
            "{e}"
        );
        let e = err_lines(&["{\"kind\":\"thingGroup\",\"thingGroupName\":\"g\",\"thingGroupDescription\":\"a\\nb\"}".into()]);
        assert!(e.contains("thingGroupDescription contains '\\n'"), "{e}");
        let e = err_lines(&["{\"kind\":\"thingType\",\"thingTypeName\":\"s\",\"searchableAttributes\":[\"a\",\"b\",\"c\",\"d\"]}".into()]);
        assert!(
            e.contains("searchableAttributes has 4 names (AWS IoT allows at most 3)"),
            "{e}"
        );
        let tags: Vec<String> = (0..51).map(|i| format!("\"k{i}\":\"v\"")).collect();
        let e = err_lines(&[format!(
            "{{\"kind\":\"billingGroup\",\"billingGroupName\":\"b\",\"tags\":{{{}}}}}",
            tags.join(",")
        )]);
        assert!(e.contains("tags has 51 tags"), "{e}");
        let e = err_lines(&[format!(
            "{{\"kind\":\"billingGroup\",\"billingGroupName\":\"b\",\"tags\":{{\"k\":\"{}\"}}}}",
            "v".repeat(257)
        )]);
        assert!(e.contains("tag \"k\" value is 257 characters long"), "{e}");
        let e = err_lines(&[
            "{\"kind\":\"billingGroup\",\"billingGroupName\":\"b\",\"tags\":{\"a!\":\"v\"}}".into(),
        ]);
        assert!(e.contains("tag key \"a!\" contains '!'"), "{e}");
    }

    fn policy_line(versions: &[(&str, &str)]) -> String {
        let vs: Vec<String> = versions
            .iter()
            .map(|(id, doc)| format!("{{\"versionId\":\"{id}\",\"policyDocument\":{doc:?}}}"))
            .collect();
        format!(
            "{{\"kind\":\"policy\",\"policyName\":\"p\",\"defaultVersionId\":\"{}\",\"versions\":[{}]}}",
            versions[0].0,
            vs.join(",")
        )
    }

    #[test]
    fn policies_beyond_aws_limits_are_refused() {
        let big = "x".repeat(2049);
        let e = err_lines(&[policy_line(&[("1", &big)])]);
        assert!(
            e.contains("policy \"p\": version \"1\" policyDocument has 2049 characters besides whitespace (AWS IoT allows at most 2048)"),
            "{e}"
        );
        let e = err_lines(&[policy_line(&[("1", "  ")])]);
        assert!(e.contains("policyDocument is empty"), "{e}");
        let six: Vec<(String, &str)> = (1..=6).map(|i| (i.to_string(), "{}")).collect();
        let six: Vec<(&str, &str)> = six.iter().map(|(i, d)| (i.as_str(), *d)).collect();
        let e = err_lines(&[policy_line(&six)]);
        assert!(
            e.contains("versions has 6 versions (AWS IoT allows at most 5)"),
            "{e}"
        );
        let e = err_lines(&[policy_line(&[("v1", "{}")])]);
        assert!(e.contains("versionId \"v1\" contains 'v'"), "{e}");
    }

    #[test]
    fn certificates_and_principals_beyond_aws_limits_are_refused() {
        let id = "a".repeat(64);
        let pem = format!("-----BEGIN CERTIFICATE-----\\n{}", "A".repeat(65536));
        let e = err_lines(&[format!(
            "{{\"kind\":\"certificate\",\"certificateId\":\"{id}\",\"certificatePem\":\"{pem}\",\"status\":\"ACTIVE\"}}"
        )]);
        assert!(
            e.contains("certificatePem is 65564 characters long (AWS IoT allows 1 to 65536)"),
            "{e}"
        );
        let e = err_lines(&[format!(
            "{{\"kind\":\"certificate\",\"certificateId\":\"{id}\",\"certificatePem\":\"p\",\"status\":\"ACTIVE\"}}"
        )]);
        assert!(e.contains("certificatePem is not a PEM certificate"), "{e}");
        let e = err_lines(&[format!(
            "{{\"kind\":\"certificate\",\"certificateId\":\"{id}\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\",\"status\":\"ACTIVE\",\"caCertificateId\":\"ca\"}}"
        )]);
        assert!(
            e.contains("caCertificateId is not 64 hexadecimal digits"),
            "{e}"
        );
        let e = err_lines(&[thing_line(",\"principals\":[\"cert/abc\"]")]);
        assert!(
            e.contains("principals entry \"cert/abc\" certificate id is not 64 hexadecimal digits"),
            "{e}"
        );
        let groups: Vec<String> = (0..11).map(|i| format!("\"g{i}\"")).collect();
        let e = err_lines(&[thing_line(&format!(
            ",\"thingGroups\":[{}]",
            groups.join(",")
        ))]);
        assert!(
            e.contains("thingGroups has 11 groups (AWS IoT allows at most 10)"),
            "{e}"
        );
    }

    fn group_line(name: &str, parent: Option<&str>) -> String {
        match parent {
            Some(p) => format!(
                "{{\"kind\":\"thingGroup\",\"thingGroupName\":\"{name}\",\"parentGroupName\":\"{p}\"}}"
            ),
            None => format!("{{\"kind\":\"thingGroup\",\"thingGroupName\":\"{name}\"}}"),
        }
    }

    #[test]
    fn a_hierarchy_deeper_than_seven_levels_or_a_cycle_is_refused_on_its_line() {
        let chain = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| {
                    let parent = (i > 0).then(|| format!("g{}", i - 1));
                    group_line(&format!("g{i}"), parent.as_deref())
                })
                .collect()
        };
        let ok = format!("{H}{}\n", chain(7).join("\n"));
        assert!(parse(ok.into_bytes(), "f").is_ok());
        let e = err_lines(&chain(8));
        assert!(
            e.starts_with("f.jsonl:9: thing group \"g7\": parentGroupName puts it on level 8 of its hierarchy (AWS IoT allows at most 7 levels)"),
            "{e}"
        );
        let e = err_lines(&[
            group_line("root", None),
            group_line("a", Some("b")),
            group_line("b", Some("a")),
        ]);
        assert!(e.starts_with("f.jsonl:"), "{e}");
        assert!(e.contains("makes a cycle"), "{e}");
        let e = err_lines(&["{\"kind\":\"thingGroup\",\"thingGroupName\":\"d\",\"parentGroupName\":\"p\",\"queryString\":\"attributes.a:1\"}".into()]);
        assert!(e.contains("is set on a dynamic thing group"), "{e}");
    }

    #[test]
    fn tiny_blocks_give_the_same_registry_and_line_numbers() {
        let s = sample();
        let bytes = to_bytes(&s);
        for block in [1, 7, 64, 100_000] {
            assert_eq!(
                parse_in_blocks(bytes.clone(), "t", block).unwrap(),
                s,
                "block {block}"
            );
        }
        let mut text = String::from(H);
        for i in 0..50 {
            text.push_str(&format!("{{\"kind\":\"thing\",\"thingName\":\"t{i}\"}}\n"));
        }
        text.push_str("{\"kind\":\"thing\",\"thingName\":\"t7\"}\n");
        let e = parse_in_blocks(text.as_bytes().to_vec(), "f", 16)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f:52: duplicate thing \"t7\" (first defined on line 9)"),
            "{e}"
        );
    }

    #[test]
    fn the_first_error_wins() {
        let mut text = String::from(H);
        for i in 0..5000 {
            text.push_str(&format!("{{\"kind\":\"thing\",\"thingName\":\"t{i}\"}}\n"));
        }
        text.push_str("{bad\n{bad\n");
        let e = err(&text);
        assert!(e.starts_with("f.jsonl:5002:"), "{e}");
    }

    #[test]
    fn atomic_write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        write_file(&sample(), &p).unwrap();
        assert_eq!(read_file(&p).unwrap(), sample());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = read_file(&dir.path().join("missing.jsonl")).unwrap_err();
        assert!(e.to_string().contains("missing.jsonl"));
    }
}
