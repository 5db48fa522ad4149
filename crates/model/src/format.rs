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
use crate::fastline;
use crate::resource::{Certificate, Kind, Name, Resource, ResourceRef, Thing};
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
    /// Kinds the registry this file was read from could not list (absent: none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub unlisted: std::collections::BTreeSet<crate::resource::Kind>,
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
    read_path(path, Pems::Keep, BLOCK).map(|(s, _)| s)
}

/// Reads a snapshot file as a comparison needs it: every certificate without its PEM
/// (`certificatePem` is empty), and a [`PemIndex`] that reads the PEM of one
/// certificate from the file when it is needed (a registration).
///
/// Each PEM is still checked as [`read_file`] checks it, so a file either reads the
/// same way both ways or fails both ways, at the same line. A million certificates
/// hold about 0.8 GB of PEMs; the index holds 24 bytes of each.
pub fn read_file_without_pems(path: &Path) -> Result<(Snapshot, PemIndex), SnapshotError> {
    read_without_pems_in_blocks(path, BLOCK)
}

fn read_without_pems_in_blocks(
    path: &Path,
    block: usize,
) -> Result<(Snapshot, PemIndex), SnapshotError> {
    let (snap, lines) = read_path(path, Pems::Skip, block)?;
    Ok((snap, PemIndex::new(path, lines)))
}

fn read_path(
    path: &Path,
    pems: Pems,
    block: usize,
) -> Result<(Snapshot, Vec<LineAt>), SnapshotError> {
    let name = path.display().to_string();
    let io = |source| SnapshotError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    match parse_stream(file, &name, block, pems) {
        Err(Failure::Duplicate { kind, key, line }) => {
            let file = std::fs::File::open(path).map_err(io)?;
            Err(duplicate_error(file, &name, kind, &key, line))
        }
        other => other.map_err(Failure::into_error),
    }
}

/// Parses snapshot bytes. `path` names the input in errors.
pub fn parse(bytes: Vec<u8>, path: &str) -> Result<Snapshot, SnapshotError> {
    parse_in_blocks(bytes, path, BLOCK, Pems::Keep)
}

fn parse_in_blocks(
    bytes: Vec<u8>,
    path: &str,
    block: usize,
    pems: Pems,
) -> Result<Snapshot, SnapshotError> {
    match parse_stream(bytes.as_slice(), path, block, pems) {
        Err(Failure::Duplicate { kind, key, line }) => {
            Err(duplicate_error(bytes.as_slice(), path, kind, &key, line))
        }
        other => other.map(|(s, _)| s).map_err(Failure::into_error),
    }
}

/// Whether certificates are read with their PEMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pems {
    Keep,
    /// Left out (checked, not kept), with where each certificate's line is.
    Skip,
}

/// Where the line of each certificate of a snapshot file is, to read one PEM when it
/// is needed: what [`read_file_without_pems`] returns beside the registry.
#[derive(Debug, Clone, Default)]
pub struct PemIndex {
    path: std::path::PathBuf,
    /// Sorted by hash, then offset.
    lines: Vec<LineAt>,
}

/// A certificate's line in a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineAt {
    /// [`id_hash`] of the certificate id.
    pub(crate) hash: u64,
    /// Byte offset of the line.
    pub(crate) offset: u64,
    /// Its length, without the line end.
    pub(crate) len: u32,
}

/// A certificate id's key in a [`PemIndex`]: an AWS IoT certificate id is the
/// SHA-256 of the certificate in hex, so its first 16 digits are as good as a hash,
/// and in the order of the ids (a file's order: sorting the index is then one pass);
/// any other id is hashed.
pub(crate) fn id_hash(id: &str) -> u64 {
    match id.get(..16).map(|h| u64::from_str_radix(h, 16)) {
        Some(Ok(h)) => h,
        _ => xxhash_rust::xxh3::xxh3_64(id.as_bytes()),
    }
}

impl PemIndex {
    /// The index of the certificates' lines `lines` of the file at `path`.
    pub(crate) fn new(path: &Path, mut lines: Vec<LineAt>) -> Self {
        lines.sort_unstable_by_key(|l| (l.hash, l.offset));
        PemIndex {
            path: path.to_path_buf(),
            lines,
        }
    }

    /// How many certificates the index knows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The file it indexes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads certificate `id`, with its PEM, from the file. `None` when the file (which
    /// may have changed since it was indexed) no longer holds it at the indexed line.
    pub fn certificate(&self, id: &str) -> Result<Option<Certificate>, SnapshotError> {
        use std::io::{Seek, SeekFrom};
        let io = |source| SnapshotError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let hash = id_hash(id);
        let first = self.lines.partition_point(|l| l.hash < hash);
        let mut file: Option<std::fs::File> = None;
        for at in self.lines[first..].iter().take_while(|l| l.hash == hash) {
            let f = match &mut file {
                Some(f) => f,
                None => file.insert(std::fs::File::open(&self.path).map_err(io)?),
            };
            f.seek(SeekFrom::Start(at.offset)).map_err(io)?;
            let mut line = vec![0u8; at.len as usize];
            match f.read_exact(&mut line) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(io(e)),
            }
            if let Ok(Resource::Certificate(c)) = parse_line(&mut line)
                && c.certificate_id == id
            {
                let r = Resource::Certificate(c);
                return match validate(&r, true) {
                    Ok(()) => match r {
                        Resource::Certificate(c) => Ok(Some(c)),
                        _ => unreachable!("built as a certificate above"),
                    },
                    Err(reason) => Err(SnapshotError::Parse {
                        path: self.path.display().to_string(),
                        line: 0,
                        reason: format!("certificate {id} (changed since it was read): {reason}"),
                    }),
                };
            }
        }
        Ok(None)
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
/// its first line and its byte offset in the stream, to `f`, which answers how many
/// lines the block held.
///
/// One buffer serves every block: the tail of a block (the start of a line) moves to its
/// front and the next read fills the rest, so nothing is zeroed again; it grows only for
/// a line longer than itself.
fn for_each_block(
    mut input: impl Read,
    path: &str,
    block: usize,
    mut f: impl FnMut(&mut [u8], usize, u64) -> Result<usize, Failure>,
) -> Result<usize, Failure> {
    let mut buf: Vec<u8> = vec![0; block];
    let mut have = 0usize;
    let mut first_line = 1usize;
    let mut offset = 0u64;
    let mut eof = false;
    while !eof {
        if have == buf.len() {
            buf.resize(buf.len() + block, 0);
        }
        while have < buf.len() {
            match input.read(&mut buf[have..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => have += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Failure::Error(SnapshotError::Io {
                        path: path.to_string(),
                        source,
                    }));
                }
            }
        }
        // Whole lines only; the tail waits for the next block (or is the last line).
        let cut = if eof {
            have
        } else {
            match memchr::memrchr(b'\n', &buf[..have]) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        first_line += f(&mut buf[..cut], first_line, offset)?;
        offset += cut as u64;
        buf.copy_within(cut..have, 0);
        have -= cut;
    }
    Ok(first_line)
}

/// A line of a block: its number, its byte offset in the block, and its bytes without
/// the line end.
type BlockLine<'a> = (usize, usize, &'a mut [u8]);

/// The lines of a block, without line ends and blank lines, and how many lines the
/// block holds (blank ones included).
fn block_lines(block: &mut [u8], first_line: usize) -> (Vec<BlockLine<'_>>, usize) {
    // Line ends found with memchr (a byte-by-byte split was a tenth of a read), then
    // the block cut at them.
    let mut ends: Vec<usize> = memchr::memchr_iter(b'\n', block).collect();
    let mut count = ends.len();
    if ends.last().is_none_or(|&e| e + 1 != block.len()) {
        // A last line without a line end (or an empty block, which holds none).
        count += usize::from(!block.is_empty());
        ends.push(block.len());
    }
    let mut lines = Vec::with_capacity(ends.len());
    let mut rest = block;
    let mut at = 0;
    for (i, end) in ends.into_iter().enumerate() {
        let (line, tail) = rest.split_at_mut((end - at).min(rest.len()));
        rest = match tail {
            [_, t @ ..] => t,
            [] => tail,
        };
        let start = at;
        at = end + 1;
        let line = match line.last() {
            Some(b'\r') => {
                let n = line.len() - 1;
                &mut line[..n]
            }
            _ => line,
        };
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push((first_line + i, start, line));
        }
    }
    (lines, count)
}

pub(crate) fn parse_header(line: usize, bytes: &[u8], path: &str) -> Result<Header, SnapshotError> {
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

fn parse_stream(
    input: impl Read,
    path: &str,
    block: usize,
    pems: Pems,
) -> Result<(Snapshot, Vec<LineAt>), Failure> {
    let mut snap = Snapshot::default();
    let mut header_seen = false;
    // Where each thing group is defined, to name the line of a hierarchy problem.
    let mut group_lines: BTreeMap<Name, usize> = BTreeMap::new();
    let mut cert_lines: Vec<LineAt> = Vec::new();
    let mut certificates = SortedBuilder::default();
    let mut things = SortedBuilder::default();
    for_each_block(input, path, block, |block, first_line, block_offset| {
        let (mut lines, count) = block_lines(block, first_line);
        let mut body = &mut lines[..];
        if !header_seen {
            let Some(((n, _, h), rest)) = body.split_first_mut() else {
                return Ok(count);
            };
            let header = parse_header(*n, h, path)?;
            snap.origin = Origin {
                region: header.region,
                account_id: header.account_id,
            };
            snap.principal_coverage = header.principals;
            snap.unlisted = header.unlisted;
            header_seen = true;
            body = rest;
        }
        type Parsed = (usize, u64, u32, Resource);
        let parsed: Vec<Result<Parsed, SnapshotError>> = body
            .par_iter_mut()
            .with_min_len(512)
            .map(|(n, at, l)| {
                let (offset, len) = (block_offset + *at as u64, l.len() as u32);
                parse_checked(l, pems)
                    .map(|r| (*n, offset, len, r))
                    .map_err(|e| SnapshotError::parse(path, *n, e))
            })
            .collect();
        for r in parsed {
            let (line, offset, len, res) = r?;
            let kind = res.kind();
            let fresh = match res {
                Resource::ThingGroup(r) => {
                    group_lines.insert(r.thing_group_name.clone(), line);
                    insert_new(&mut snap.thing_groups, r.thing_group_name.clone(), r)
                }
                Resource::Certificate(r) => {
                    if pems == Pems::Skip {
                        cert_lines.push(LineAt {
                            hash: id_hash(&r.certificate_id),
                            offset,
                            len,
                        });
                    }
                    certificates.insert(r.certificate_id.clone(), r)
                }
                Resource::Thing(r) => things.insert(r.thing_name.clone(), r),
                other => crate::with_resource!(other, K, r => {
                    insert_new(K::map_mut(&mut snap), r.name().clone(), r)
                }),
            };
            if let Err(key) = fresh {
                return Err(Failure::Duplicate { kind, key, line });
            }
        }
        Ok(count)
    })?;
    snap.certificates = certificates.finish();
    snap.things = things.finish();
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
    Ok((snap, cert_lines))
}

/// Parses and checks one resource line; with [`Pems::Skip`], a certificate comes
/// without its PEM (checked all the same).
pub(crate) fn parse_checked(line: &mut [u8], pems: Pems) -> Result<Resource, String> {
    // A thing or certificate in the writer's own form, checked as it is read; anything
    // else, and every error, is serde's and `validate`'s.
    if line.starts_with(fastline::THING_START.as_bytes())
        && let Some(t) = fastline::thing(line)
    {
        return Ok(Resource::Thing(t));
    }
    if pems == Pems::Skip
        && line.starts_with(CERTIFICATE_PREFIX)
        && let Some(len) = take_out_pem(line)
    {
        if let Some(c) = fastline::certificate(&line[..len], true) {
            return Ok(Resource::Certificate(c));
        }
        let r = parse_line(&mut line[..len])?;
        validate(&r, false)?;
        return Ok(r);
    }
    // (A line whose PEM could not be taken out safely is not in the writer's form.)
    if pems == Pems::Keep
        && line.starts_with(fastline::CERTIFICATE_START.as_bytes())
        && let Some(c) = fastline::certificate(line, false)
    {
        return Ok(Resource::Certificate(c));
    }
    let mut r = parse_line(line)?;
    validate(&r, true)?;
    if pems == Pems::Skip
        && let Resource::Certificate(c) = &mut r
    {
        c.certificate_pem = String::new();
    }
    Ok(r)
}

/// How a certificate line written by [`write_to`] starts.
const CERTIFICATE_PREFIX: &[u8] = b"{\"kind\":\"certificate\",";

/// Takes the PEM out of a certificate line in place, after checking it as
/// [`constraints::check_certificate_pem`] does: `"certificatePem":"<PEM>"` becomes
/// `"certificatePem":""` and the line shorter. Returns the new length, or `None`, with
/// the line unchanged, when the line is not one this can do safely (then it is parsed
/// whole, which checks and reports exactly).
fn take_out_pem(line: &mut [u8]) -> Option<usize> {
    let (open, close) = pem_span(line)?;
    let removed = close - open - 1;
    line.copy_within(close.., open + 1);
    Some(line.len() - removed)
}

/// Where the PEM of a certificate line is, checked as
/// [`constraints::check_certificate_pem`] checks it: the positions of its opening and
/// closing quotes, so that `line[..=open]` and `line[close..]` are the line without
/// it. `None` when the line is not one this can do safely.
///
/// Safe means: no field of a certificate holds a quote, so in a line without escaped
/// quotes the first quote after the PEM's opening one closes it; the PEM is printable
/// ASCII with only one-character escapes (what a PEM is), holds the `BEGIN
/// CERTIFICATE` line and is no longer than AWS allows even before unescaping.
pub(crate) fn pem_span(line: &[u8]) -> Option<(usize, usize)> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"certificatePem\""));
    static BEGIN: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"-----BEGIN CERTIFICATE-----"));
    let at = KEY.find(line)?;
    // A key, not text inside a string: inside one, its quotes would be escaped, and
    // the byte before the match a backslash.
    match line[..at].iter().rev().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b',') => {}
        _ => return None,
    }
    let mut i = at + KEY.needle().len();
    let skip_space = |i: &mut usize| {
        while line.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    skip_space(&mut i);
    (line.get(i) == Some(&b':')).then_some(())?;
    i += 1;
    skip_space(&mut i);
    (line.get(i) == Some(&b'"')).then_some(())?;
    let open = i;
    let close = open + 1 + memchr::memchr(b'"', &line[open + 1..])?;
    let raw = &line[open + 1..close];
    if raw.len() > constraints::MAX_CERTIFICATE_PEM_LEN
        || !fastline::printable_ascii(raw, true)
        || BEGIN.find(raw).is_none()
    {
        return None;
    }
    // Only one-character escapes; a backslash last escapes the quote found, which then
    // does not end the string.
    let mut k = 0;
    while let Some(j) = memchr::memchr(b'\\', &raw[k..]) {
        match raw.get(k + j + 1) {
            Some(b'n' | b'r' | b't' | b'/' | b'b' | b'f' | b'\\') => k += j + 2,
            _ => return None,
        }
    }
    Some((open, close))
}

/// Builds the map of a large kind from resources that arrive in name order, as the
/// writer writes them, without inserting them one by one.
///
/// A `BTreeMap` filled by inserting ascending keys leaves every node but the last about
/// half full, and each insert searches from the root. Here resources are appended to a
/// run, each run becomes a map built whole (nodes full), and maps of equal size are
/// merged as a binary counter merges, with `BTreeMap::append` (which builds the merged
/// map whole, freeing the two as it goes): each resource is moved a few times, never
/// compared more than once on arrival, and a million things take a third less memory.
/// The first resource out of order turns the builder into a plain map, inserted one by
/// one, so any file reads the same way, with a duplicate found at the same line.
#[derive(Debug)]
struct SortedBuilder<T> {
    /// The current run, ascending.
    run: Vec<(Name, T)>,
    /// Maps of ascending, disjoint ranges, each at most half the size of the one below.
    maps: Vec<BTreeMap<Name, T>>,
    /// Set once a name came out of order: everything so far, then inserts.
    unsorted: Option<BTreeMap<Name, T>>,
}

impl<T> Default for SortedBuilder<T> {
    fn default() -> Self {
        SortedBuilder {
            run: Vec::new(),
            maps: Vec::new(),
            unsorted: None,
        }
    }
}

/// Resources in a run before it becomes a map (a few in tests, so that every test file
/// crosses runs and merges).
const RUN: usize = if cfg!(test) { 4 } else { 1 << 16 };

impl<T> SortedBuilder<T> {
    /// Adds a resource that must not be there yet; on a repeat, returns its name.
    fn insert(&mut self, name: Name, value: T) -> Result<(), Name> {
        if let Some(map) = &mut self.unsorted {
            return insert_new(map, name, value);
        }
        let last = match self.run.last() {
            Some((k, _)) => Some(k),
            None => self
                .maps
                .last()
                .and_then(|m| m.last_key_value())
                .map(|(k, _)| k),
        };
        match last.map(|l| name.cmp(l)) {
            None | Some(std::cmp::Ordering::Greater) => {
                self.run.push((name, value));
                if self.run.len() == RUN {
                    self.close_run();
                }
                Ok(())
            }
            Some(std::cmp::Ordering::Equal) => Err(name),
            Some(std::cmp::Ordering::Less) => {
                let mut map = std::mem::take(self).finish();
                let fresh = insert_new(&mut map, name, value);
                self.unsorted = Some(map);
                fresh
            }
        }
    }

    /// Turns the run into a map and merges maps of equal size.
    fn close_run(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let run = std::mem::take(&mut self.run);
        self.maps.push(run.into_iter().collect());
        while let [.., below, top] = &mut self.maps[..] {
            if top.len() < below.len() {
                break;
            }
            below.append(top);
            self.maps.pop();
        }
    }

    /// The whole map.
    fn finish(mut self) -> BTreeMap<Name, T> {
        if let Some(map) = self.unsorted {
            return map;
        }
        self.close_run();
        let mut merged = self.maps.pop().unwrap_or_default();
        while let Some(mut below) = self.maps.pop() {
            below.append(&mut merged);
            merged = below;
        }
        merged
    }
}

/// Inserts a resource that must not be there yet; on a repeat, returns its name.
fn insert_new<T>(map: &mut BTreeMap<Name, T>, name: Name, value: T) -> Result<(), Name> {
    match map.entry(name) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(value);
            Ok(())
        }
        std::collections::btree_map::Entry::Occupied(o) => Err(o.key().clone()),
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
    let _ = for_each_block(input, path, BLOCK, |block, first_line, _| {
        let (lines, count) = block_lines(block, first_line);
        for (n, _, l) in lines {
            if first.is_none()
                && n < line
                && let Ok(r) = parse_line(l)
                && r.kind() == kind
                && r.name() == key
            {
                first = Some(n);
            }
        }
        Ok(count)
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
        (CERTIFICATE_PREFIX, Kind::Certificate),
    ];
    for (prefix, kind) in FAST {
        if line.starts_with(prefix) {
            let start = prefix.len() - 1;
            line[start] = b'{';
            let body = utf8(&line[start..], start)?;
            let r = match kind {
                Kind::Thing => serde_json::from_str::<Thing>(body).map(Resource::Thing),
                _ => serde_json::from_str::<Certificate>(body).map(Resource::Certificate),
            };
            return r.map_err(|e| describe_json_error(&e, start));
        }
    }
    let r: Resource =
        serde_json::from_str(utf8(line, 0)?).map_err(|e| describe_json_error(&e, 0))?;
    Ok(r)
}

/// The line as text, its UTF-8 checked once rather than string by string (`offset`:
/// bytes of the line before `bytes`, for the column).
fn utf8(bytes: &[u8], offset: usize) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let column = offset + valid.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        format!("invalid UTF-8 (column {column})")
    })
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
/// counts; see [`constraints`]). A certificate's PEM only when `pem`.
fn validate(r: &Resource, pem: bool) -> Result<(), String> {
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
    match r {
        Resource::Certificate(c) if !pem => constraints::check_certificate_except_pem(c),
        _ => constraints::check_resource(r),
    }
    .map_err(|v| v.to_string())
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
        unlisted: s.unlisted.clone(),
    };
    serde_json::to_writer(&mut *w, &header)?;
    w.write_all(b"\n")?;
    crate::for_each_kind!(K => {
        write_kind(w, K::map(s), K::as_resource)?;
    });
    Ok(())
}

/// How many resources one parallel task serialises when writing or fingerprinting.
pub(crate) const LINES_PER_CHUNK: usize = 4096;

/// Turns a resource of one kind into the serialisable [`ResourceRef`].
pub(crate) type Wrap<T> = for<'a> fn(&'a T) -> ResourceRef<'a>;

/// The snapshot lines of some resources of one kind, each ending in `\n`.
pub(crate) fn resource_lines<T>(items: &[&T], wrap: Wrap<T>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(items.len() * 160);
    for item in items {
        // The two kinds a large registry is made of by hand, the others by serde (the
        // same bytes: tested in `fastline`).
        match wrap(item) {
            ResourceRef::Thing(t) => fastline::write_thing(&mut buf, t),
            ResourceRef::Certificate(c) => fastline::write_certificate(&mut buf, c),
            r => serde_json::to_writer(&mut buf, &r).expect("resources always serialise"),
        }
        buf.push(b'\n');
    }
    buf
}

/// Serialises one kind in parallel chunks, then writes the chunks in order.
fn write_kind<T: Sync>(
    w: &mut impl Write,
    map: &std::collections::BTreeMap<Name, T>,
    wrap: Wrap<T>,
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

    /// What inserting one by one into a map gives: the map, or the first repeat.
    fn one_by_one(names: &[u32]) -> Result<BTreeMap<Name, u32>, Name> {
        let mut m = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            insert_new(&mut m, format!("n{n:06}").into(), i as u32)?;
        }
        Ok(m)
    }

    fn built(names: &[u32]) -> Result<BTreeMap<Name, u32>, Name> {
        let mut b = SortedBuilder::default();
        for (i, n) in names.iter().enumerate() {
            b.insert(format!("n{n:06}").into(), i as u32)?;
        }
        Ok(b.finish())
    }

    #[test]
    fn the_sorted_builder_gives_the_map_inserts_give() {
        let ascending: Vec<u32> = (0..1000).map(|i| i * 3).collect();
        let mut shuffled: Vec<u32> = (0..500).map(|i| (i * 7919) % 500).collect();
        shuffled.extend(0..10);
        let cases: Vec<Vec<u32>> = vec![
            vec![],
            vec![5],
            ascending.clone(),
            // A repeat of the last, of an earlier run, and a late out-of-order name.
            [&ascending[..100], &[297]].concat(),
            [&ascending[..100], &[30]].concat(),
            [&ascending[..100], &[31], &ascending[100..]].concat(),
            (0..500).map(|i| (i * 7919) % 500).collect(),
            shuffled,
            (0..100).rev().collect(),
        ];
        for names in cases {
            assert_eq!(built(&names), one_by_one(&names), "{names:?}");
        }
        // Built whole: every node full, so it holds what it should and iterates in order.
        let m = built(&ascending).unwrap();
        assert!(m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b));
        assert_eq!(m.len(), 1000);
    }
    use crate::resource::{CertificateStatus, Policy, PolicyVersion, ThingType};

    #[test]
    fn a_borrowed_resource_serialises_as_the_resource() {
        let s = sample();
        let mut n = 0;
        for r in s.resources() {
            let borrowed = r.as_borrowed();
            assert_eq!(
                serde_json::to_string(&borrowed).unwrap(),
                serde_json::to_string(&r).unwrap()
            );
            n += 1;
        }
        assert!(n > 0);
    }

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

    /// The error of a malformed input, the same whether PEMs are kept or left out.
    fn err(text: &str) -> String {
        let keep = parse(text.as_bytes().to_vec(), "f.jsonl")
            .unwrap_err()
            .to_string();
        let skip = parse_in_blocks(text.as_bytes().to_vec(), "f.jsonl", BLOCK, Pems::Skip)
            .unwrap_err()
            .to_string();
        assert_eq!(keep, skip, "the two readings disagree");
        keep
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
                parse_in_blocks(bytes.clone(), "t", block, Pems::Keep).unwrap(),
                s,
                "block {block}"
            );
        }
        let mut text = String::from(H);
        for i in 0..50 {
            text.push_str(&format!("{{\"kind\":\"thing\",\"thingName\":\"t{i}\"}}\n"));
        }
        text.push_str("{\"kind\":\"thing\",\"thingName\":\"t7\"}\n");
        let e = parse_in_blocks(text.as_bytes().to_vec(), "f", 16, Pems::Keep)
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

    /// Certificate lines as people and tools may write them: fields in any order,
    /// spaces, `\r\n`, escapes a PEM can hold, and one whose PEM is spelt with `\u`
    /// escapes (read whole).
    fn certificate_lines() -> (String, Vec<(String, String)>) {
        let ids: Vec<String> = ["1", "2", "3", "4"].iter().map(|c| c.repeat(64)).collect();
        let lines = [
            format!(
                "{{\"kind\":\"certificate\",\"certificateId\":\"{}\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\",\"status\":\"ACTIVE\",\"policies\":[\"p\"]}}",
                ids[0]
            ),
            format!(
                "{{ \"status\" : \"INACTIVE\", \"certificatePem\" : \"-----BEGIN CERTIFICATE-----\\r\\nab\\/c\\r\\n\" , \"kind\":\"certificate\", \"certificateId\":\"{}\" }}\r",
                ids[1]
            ),
            format!(
                "{{\"kind\":\"certificate\",\"certificateId\":\"{}\",\"certificatePem\":\"\\u002d\\u002d\\u002d\\u002d\\u002dBEGIN CERTIFICATE-----\\nx\",\"status\":\"REVOKED\"}}",
                ids[2]
            ),
            format!(
                "{{\"kind\":\"certificate\",\"certificateId\":\"{}\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\\\n\",\"status\":\"ACTIVE\",\"caCertificateId\":\"{}\"}}",
                ids[3], ids[0]
            ),
        ];
        let mut text = String::from(H);
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str("{\"kind\":\"thing\",\"thingName\":\"t\"}\n");
        let pems = vec![
            (
                ids[0].clone(),
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_string(),
            ),
            (
                ids[1].clone(),
                "-----BEGIN CERTIFICATE-----\r\nab/c\r\n".to_string(),
            ),
            (ids[2].clone(), "-----BEGIN CERTIFICATE-----\nx".to_string()),
            (ids[3].clone(), "-----BEGIN CERTIFICATE-----\\n".to_string()),
        ];
        (text, pems)
    }

    #[test]
    fn a_read_without_pems_is_the_same_registry_and_its_index_reads_each_pem() {
        let (text, pems) = certificate_lines();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        for block in [BLOCK, 64] {
            std::fs::write(&p, &text).unwrap();
            let whole = parse_in_blocks(text.clone().into_bytes(), "t", block, Pems::Keep).unwrap();
            let (without, index) = read_without_pems_in_blocks(&p, block).unwrap();
            assert_eq!(index.len(), 4);
            assert_eq!(index.path(), p.as_path());
            let mut expected = whole.clone();
            for c in expected.certificates.values_mut() {
                c.certificate_pem.clear();
            }
            assert_eq!(without, expected);
            for (id, pem) in &pems {
                let c = index.certificate(id).unwrap().expect("indexed");
                assert_eq!(&c.certificate_pem, pem);
                assert_eq!(&c, &whole.certificates[id.as_str()]);
            }
            assert_eq!(index.certificate(&"f".repeat(64)).unwrap(), None);
        }
    }

    #[test]
    fn an_index_of_a_file_that_changed_finds_nothing_at_a_stale_line() {
        let (text, pems) = certificate_lines();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        std::fs::write(&p, &text).unwrap();
        let (_, index) = read_file_without_pems(&p).unwrap();
        // The first certificate's line now holds another resource; the file is shorter.
        std::fs::write(
            &p,
            format!("{H}{{\"kind\":\"thing\",\"thingName\":\"moved\"}}\n"),
        )
        .unwrap();
        for (id, _) in &pems {
            assert_eq!(index.certificate(id).unwrap(), None, "{id}");
        }
        std::fs::remove_file(&p).unwrap();
        let e = index.certificate(&pems[0].0).unwrap_err();
        assert!(e.to_string().contains("c.jsonl"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_column() {
        let mut text = H.as_bytes().to_vec();
        text.extend_from_slice(b"{\"kind\":\"thing\",\"thingName\":\"t\xff\"}\n");
        let e = parse(text.clone(), "f").unwrap_err().to_string();
        assert_eq!(e, "f:2: invalid UTF-8 (column 31)");
        let e = parse_in_blocks(text, "f", BLOCK, Pems::Skip)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f:2: invalid UTF-8 (column 31)");
    }

    #[test]
    fn take_out_pem_leaves_unusual_lines_alone() {
        let cases = [
            // An escaped quote anywhere.
            r#"{"kind":"certificate","certificatePem":"-----BEGIN CERTIFICATE-----\"","status":"ACTIVE"}"#,
            // Not a key.
            r#"{"kind":"certificate","policies":["certificatePem"],"status":"ACTIVE"}"#,
            // A control character, a non-ASCII byte, a \u escape.
            "{\"kind\":\"certificate\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----\t\"}",
            "{\"kind\":\"certificate\",\"certificatePem\":\"-----BEGIN CERTIFICATE-----é\"}",
            r#"{"kind":"certificate","certificatePem":"-----BEGIN CERTIFICATE-----\u0041"}"#,
            // No BEGIN line, an unterminated string.
            r#"{"kind":"certificate","certificatePem":"MII"}"#,
            r#"{"kind":"certificate","certificatePem":"-----BEGIN CERTIFICATE-----"#,
        ];
        for case in cases {
            let mut line = case.as_bytes().to_vec();
            assert_eq!(take_out_pem(&mut line), None, "{case}");
            assert_eq!(line, case.as_bytes());
        }
        let mut line =
            br#"{"kind":"certificate","certificatePem" : "-----BEGIN CERTIFICATE-----\nA\n" ,"status":"ACTIVE"}"#.to_vec();
        let n = take_out_pem(&mut line).unwrap();
        assert_eq!(
            std::str::from_utf8(&line[..n]).unwrap(),
            r#"{"kind":"certificate","certificatePem" : "" ,"status":"ACTIVE"}"#
        );
    }
}
