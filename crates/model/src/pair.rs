//! Reading two snapshot files side by side, as a comparison of them needs them.
//!
//! A plan between two snapshots of registries kept in sync reads two large files that
//! are mostly the same: at a million devices, 2.7 GB of which 98% is written alike on
//! both sides. Read one by one ([`format::read_file_without_pems`]), every line of both
//! becomes a resource in memory, and the diff then finds most of them equal. Here the
//! files are walked together in their order (kind, then name, as the writer writes
//! them), and a thing or certificate written alike on both sides is checked once and
//! kept once, as its line, in a [`SameLines`]; only what differs becomes resources (see
//! [`crate::same`] for why a diff over that is the full diff).
//!
//! The walk is split into ranges of the source file at names, and the target file at
//! the same names (found by binary search), read in parallel. Each range checks that
//! its lines are in order and within its names, so a file out of order is noticed.
//!
//! Only files in the writer's form and order take this way: any line that is not (a
//! thing or certificate that the fast reader does not accept, one out of order, a
//! resource defined twice, a line that does not parse), and any error, make
//! [`read_pair_without_pems`] answer `None`; the caller then reads each file on its own,
//! which reads what the file means or reports the exact error with its line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;

use crate::constraints;
use crate::fastline::{self, CERTIFICATE_START, THING_START};
use crate::filter::{CompiledFilter, Filter};
use crate::format::{self, Header, LineAt, PemIndex, Pems};
use crate::resource::{Certificate, Kind, Resource, ResourceKey, Thing};
use crate::same::{LineBuf, SameLines};
use crate::snapshot::{Origin, Snapshot};

/// Two snapshot files read side by side (see the [module docs](self)).
#[derive(Debug)]
pub struct PairRead {
    /// The source's resources that the target does not hold alike, and all of its
    /// smaller kinds (every certificate without its PEM).
    pub source: Snapshot,
    /// Where each certificate's line of the source file is.
    pub source_pems: PemIndex,
    /// The target's resources that the source does not hold alike, and all of its
    /// smaller kinds.
    pub target: Snapshot,
    /// Where each certificate's line of the target file is.
    pub target_pems: PemIndex,
    /// The things and certificates both files hold alike.
    pub same: SameLines,
}

/// Why two files were not read side by side: the first thing found that is not in the
/// writer's form or order, or that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StepAside {
    /// What was found, and where.
    pub reason: String,
}

impl StepAside {
    fn new(reason: impl Into<String>) -> Self {
        StepAside {
            reason: reason.into(),
        }
    }
}

/// Reads two snapshot files side by side, with the resources `filter` selects, as
/// [`crate::diff::diff_pair`] compares them. [`StepAside`] when the files are not both
/// in the writer's form and order, or either cannot be read: then read each with
/// [`format::read_file_without_pems`], which reads any file or gives the exact error.
pub fn read_pair_without_pems(
    source: &Path,
    target: &Path,
    filter: &Filter,
) -> Result<PairRead, StepAside> {
    read_pair_in(source, target, filter, None)
}

/// [`read_pair_without_pems`] in `parts` ranges (by default: one for files under 8
/// MiB, else four per thread).
fn read_pair_in(
    source: &Path,
    target: &Path,
    filter: &Filter,
    parts: Option<usize>,
) -> Result<PairRead, StepAside> {
    let compiled = filter.compile();
    let (src, tgt) = (Input::open(source)?, Input::open(target)?);
    let parts = parts.unwrap_or(if src.len.max(tgt.len) < (8 << 20) {
        1
    } else {
        rayon::current_num_threads() * 4
    });
    let ranges = split(&src, &tgt, parts)
        .map_err(|e| StepAside::new(format!("reading to split the walk: {e}")))?
        .ok_or_else(|| {
            StepAside::new("the files' names are out of order where the walk is split")
        })?;
    let outs: Vec<Result<RangeOut, StepAside>> = ranges
        .par_iter()
        .map(|r| match read_range(&src, &tgt, r, &compiled) {
            Ok(out) => out.map_err(StepAside::new),
            Err(e) => Err(StepAside::new(format!("reading: {e}"))),
        })
        .collect();
    let mut same = SameLines::default();
    let (mut s, mut t) = (SideOut::default(), SideOut::default());
    for out in outs {
        let out = out?;
        same.append(out.same_things, out.same_certificates);
        s.add(out.source);
        t.add(out.target);
    }
    Ok(PairRead {
        source: s.snapshot(&src, filter)?,
        source_pems: PemIndex::new(source, s.pems),
        target: t.snapshot(&tgt, filter)?,
        target_pems: PemIndex::new(target, t.pems),
        same,
    })
}

/// A file, its header read.
struct Input<'p> {
    path: &'p Path,
    len: u64,
    header: Header,
    /// Where the first line after the header starts.
    data: u64,
}

impl<'p> Input<'p> {
    /// The file with its header (the first line, which must be one).
    fn open(path: &'p Path) -> Result<Self, StepAside> {
        let io = |e: std::io::Error| StepAside::new(format!("{}: {e}", path.display()));
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let first = read_at(&mut file, 0, 64 << 10).map_err(io)?;
        let header = memchr::memchr(b'\n', &first)
            .and_then(|end| {
                let h = format::parse_header(1, trim_cr(&first[..end]), "").ok()?;
                Some((h, end))
            })
            .ok_or_else(|| {
                StepAside::new(format!(
                    "{}: the first line is not a snapshot header",
                    path.display()
                ))
            })?;
        Ok(Input {
            path,
            len,
            header: header.0,
            data: header.1 as u64 + 1,
        })
    }
}

/// Reads up to `len` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &mut File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.by_ref().take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where a line goes in the files' order: 0 for a line of the smaller kinds (they come
/// first), 1 for a certificate, 2 for a thing, with its name; what the writer writes.
type Key<'a> = (u8, &'a [u8]);

fn key(line: &[u8]) -> Key<'_> {
    let (rank, start) = if line.starts_with(THING_START.as_bytes()) {
        (2, THING_START.len())
    } else if line.starts_with(CERTIFICATE_START.as_bytes()) {
        (1, CERTIFICATE_START.len())
    } else {
        return (0, &[]);
    };
    let rest = &line[start..];
    match rest.split_first() {
        Some((b'"', name)) => match memchr::memchr(b'"', name) {
            Some(n) => (rank, &name[..n]),
            None => (0, &[]),
        },
        _ => (0, &[]),
    }
}

/// An owned [`Key`].
type OwnedKey = (u8, Vec<u8>);

fn owned((rank, name): Key<'_>) -> OwnedKey {
    (rank, name.to_vec())
}

fn borrowed(k: &OwnedKey) -> Key<'_> {
    (k.0, k.1.as_slice())
}

/// A part of the walk: lines of both files between two names.
struct RangeSpec {
    /// Whether this is the first range (the only one that may hold lines of the
    /// smaller kinds).
    first: bool,
    /// Every keyed line of the range is at or after `lower` and before `upper`.
    lower: Option<OwnedKey>,
    upper: Option<OwnedKey>,
    source: (u64, u64),
    target: (u64, u64),
}

/// Splits the walk into about `parts` ranges: the source at line starts evenly
/// spread, the target where the first line at or after each split's name starts.
/// `None` when the split names are not in order (a file out of order).
fn split(src: &Input, tgt: &Input, parts: usize) -> std::io::Result<Option<Vec<RangeSpec>>> {
    let mut sf = File::open(src.path)?;
    let mut tf = File::open(tgt.path)?;
    // (source offset, target offset, name) of each split.
    let mut cuts: Vec<(u64, u64, OwnedKey)> = Vec::new();
    let body = src.len.saturating_sub(src.data);
    for i in 1..parts as u64 {
        let at = src.data + body * i / parts as u64;
        let Some(start) = line_start_at_or_after(&mut sf, at, src.len)? else {
            continue;
        };
        let k = key_at(&mut sf, start)?;
        if k.0 == 0 || cuts.last().is_some_and(|c| c.0 >= start || c.2 >= k) {
            continue;
        }
        let lo = cuts.last().map_or(tgt.data, |c| c.1);
        let t = lower_bound(&mut tf, lo, tgt.len, &k)?;
        cuts.push((start, t, k));
    }
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut from = (src.data, tgt.data, None);
    for (s, t, k) in cuts {
        if t < from.1 {
            return Ok(None);
        }
        ranges.push(RangeSpec {
            first: ranges.is_empty(),
            lower: from.2.take(),
            upper: Some(k.clone()),
            source: (from.0, s),
            target: (from.1, t),
        });
        from = (s, t, Some(k));
    }
    ranges.push(RangeSpec {
        first: ranges.is_empty(),
        lower: from.2,
        upper: None,
        source: (from.0, src.len),
        target: (from.1, tgt.len),
    });
    Ok(Some(ranges))
}

/// Where the first line that starts at or after `at` (and before `end`) starts.
fn line_start_at_or_after(file: &mut File, at: u64, end: u64) -> std::io::Result<Option<u64>> {
    // A line starts at `at` when the byte before it ends a line.
    let mut pos = at.saturating_sub(1);
    while pos < end {
        let window = read_at(file, pos, 64 << 10)?;
        if window.is_empty() {
            break;
        }
        if let Some(n) = memchr::memchr(b'\n', &window) {
            let start = pos + n as u64 + 1;
            return Ok((start < end).then_some(start));
        }
        pos += window.len() as u64;
    }
    Ok(None)
}

/// The key of the line that starts at `start`.
fn key_at(file: &mut File, start: u64) -> std::io::Result<OwnedKey> {
    let head = read_at(file, start, 1024)?;
    let line = match memchr::memchr(b'\n', &head) {
        Some(n) => &head[..n],
        None => &head[..],
    };
    Ok(owned(key(line)))
}

/// The start of the first line in `[lo, hi)` whose key is at or after `k`, or `hi`;
/// `lo` is a line start. Binary search over byte offsets (each probe finds the next line
/// start), then a scan of what is left.
fn lower_bound(file: &mut File, lo: u64, hi: u64, k: &OwnedKey) -> std::io::Result<u64> {
    const SCAN: u64 = 64 << 10;
    let (mut lo, mut hi) = (lo, hi);
    while hi - lo > SCAN {
        let mid = lo + (hi - lo) / 2;
        let Some(s) = line_start_at_or_after(file, mid, hi)? else {
            break;
        };
        if key_at(file, s)? >= *k {
            hi = s;
        } else {
            lo = s;
        }
    }
    let bytes = read_at(file, lo, (hi - lo) as usize)?;
    let mut at = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if at >= bytes.len() {
            break;
        }
        if key(line) >= borrowed(k) {
            return Ok(lo + at as u64);
        }
        at += line.len() + 1;
    }
    Ok(hi)
}

/// The lines of a part of a file, one at a time.
struct Lines {
    file: File,
    /// The file offset of `buf[0]`.
    base: u64,
    /// Where the next read starts, and where the part ends.
    next: u64,
    end: u64,
    buf: Vec<u8>,
    /// The unread bytes are `buf[lo..hi]`.
    lo: usize,
    hi: usize,
}

impl Lines {
    fn open(path: &Path, (start, end): (u64, u64)) -> std::io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(start))?;
        Ok(Lines {
            file,
            base: start,
            next: start,
            end,
            buf: vec![0; 1 << 20],
            lo: 0,
            hi: 0,
        })
    }

    /// The next line that is not blank: its file offset and where it is in the
    /// buffer (without its line end); `None` at the end of the part. What an earlier
    /// call answered is no longer valid.
    fn next_line(&mut self) -> std::io::Result<Option<(u64, std::ops::Range<usize>)>> {
        loop {
            let Some((at, range)) = self.next_raw()? else {
                return Ok(None);
            };
            if !self.buf[range.clone()].iter().all(u8::is_ascii_whitespace) {
                return Ok(Some((at, range)));
            }
        }
    }

    fn next_raw(&mut self) -> std::io::Result<Option<(u64, std::ops::Range<usize>)>> {
        loop {
            let (lo, hi) = (self.lo, self.hi);
            if let Some(n) = memchr::memchr(b'\n', &self.buf[lo..hi]) {
                self.lo = lo + n + 1;
                let end = if n > 0 && self.buf[lo + n - 1] == b'\r' {
                    lo + n - 1
                } else {
                    lo + n
                };
                return Ok(Some((self.base + lo as u64, lo..end)));
            }
            if self.next >= self.end {
                if lo < hi {
                    self.lo = hi;
                    let end = if self.buf[hi - 1] == b'\r' {
                        hi - 1
                    } else {
                        hi
                    };
                    return Ok(Some((self.base + lo as u64, lo..end)));
                }
                return Ok(None);
            }
            // The tail (the start of a line) to the front, then read more.
            self.buf.copy_within(lo..hi, 0);
            self.base += lo as u64;
            self.hi = hi - lo;
            self.lo = 0;
            if self.hi == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let want = ((self.buf.len() - self.hi) as u64).min(self.end - self.next) as usize;
            let n = self.file.read(&mut self.buf[self.hi..self.hi + want])?;
            if n == 0 {
                // The file is shorter than it was.
                self.end = self.next;
            }
            self.hi += n;
            self.next += n as u64;
        }
    }
}

/// One file's walk through a range: its current line and the last key seen.
struct Side {
    lines: Lines,
    current: Option<(u64, std::ops::Range<usize>)>,
    last: Option<OwnedKey>,
}

impl Side {
    fn open(input: &Input, part: (u64, u64)) -> std::io::Result<Self> {
        let mut side = Side {
            lines: Lines::open(input.path, part)?,
            current: None,
            last: None,
        };
        side.advance()?;
        Ok(side)
    }

    fn advance(&mut self) -> std::io::Result<()> {
        self.current = self.lines.next_line()?;
        Ok(())
    }

    fn line(&self) -> Option<&[u8]> {
        self.current
            .as_ref()
            .map(|(_, r)| &self.lines.buf[r.clone()])
    }

    fn offset(&self) -> u64 {
        self.current.as_ref().map_or(0, |(at, _)| *at)
    }

    /// Whether the current line's key comes in order: after the last keyed line, within
    /// the range; a line of the smaller kinds only in the first range, before any keyed
    /// line. Remembers the key.
    fn in_order(&mut self, r: &RangeSpec) -> bool {
        let Some(line) = self
            .current
            .as_ref()
            .map(|(_, rg)| &self.lines.buf[rg.clone()])
        else {
            return true;
        };
        let k = key(line);
        if k.0 == 0 {
            return r.first && self.last.is_none();
        }
        let ok = self.last.as_ref().is_none_or(|l| borrowed(l) < k)
            && r.lower.as_ref().is_none_or(|l| borrowed(l) <= k)
            && r.upper.as_ref().is_none_or(|u| k < borrowed(u));
        match &mut self.last {
            Some(l) => {
                l.0 = k.0;
                l.1.clear();
                l.1.extend_from_slice(k.1);
            }
            None => self.last = Some(owned(k)),
        }
        ok
    }
}

/// What one file gave in a range (or in all of them), besides the lines held alike.
#[derive(Default)]
struct SideOut {
    small: Vec<Resource>,
    certificates: Vec<Certificate>,
    things: Vec<Thing>,
    pems: Vec<LineAt>,
}

#[derive(Default)]
struct RangeOut {
    source: SideOut,
    target: SideOut,
    same_things: LineBuf,
    same_certificates: LineBuf,
}

/// What to do with the current lines.
enum Step {
    Done,
    Source,
    Target,
    Both,
}

/// Walks one range of both files; `Ok(Err(why))` when a line is not in the writer's
/// form or order.
fn read_range(
    src: &Input,
    tgt: &Input,
    r: &RangeSpec,
    filter: &CompiledFilter,
) -> std::io::Result<Result<RangeOut, String>> {
    let at = |side: &Side, input: &Input| {
        format!(
            "{}: the line at byte {}",
            input.path.display(),
            side.offset()
        )
    };
    let out_of_order = |side: &Side, input: &Input| {
        format!(
            "{} is out of the order iot-crr writes (kind, then name), repeats a resource, \
             or is not in the form iot-crr writes",
            at(side, input)
        )
    };
    let mut s = Side::open(src, r.source)?;
    let mut t = Side::open(tgt, r.target)?;
    let mut out = RangeOut::default();
    let mut scratch = Vec::new();
    let (mut s_checked, mut t_checked) = (false, false);
    loop {
        // Each line's order is checked once, when it first comes up.
        if !s_checked {
            if !s.in_order(r) {
                return Ok(Err(out_of_order(&s, src)));
            }
            s_checked = true;
        }
        if !t_checked {
            if !t.in_order(r) {
                return Ok(Err(out_of_order(&t, tgt)));
            }
            t_checked = true;
        }
        let step = match (s.line(), t.line()) {
            (None, None) => Step::Done,
            (Some(_), None) => Step::Source,
            (None, Some(_)) => Step::Target,
            (Some(a), Some(b)) => {
                let (ka, kb) = (key(a), key(b));
                if ka.0 == 0 || (kb.0 != 0 && ka < kb) {
                    Step::Source
                } else if kb.0 == 0 || kb < ka {
                    Step::Target
                } else {
                    Step::Both
                }
            }
        };
        let ok = match step {
            Step::Done => return Ok(Ok(out)),
            Step::Source => one(&s, &mut out.source, filter, &mut scratch),
            Step::Target => one(&t, &mut out.target, filter, &mut scratch),
            Step::Both => both(&s, &t, &mut out, filter, &mut scratch),
        };
        if !ok {
            let which = match step {
                Step::Source => at(&s, src),
                Step::Target => at(&t, tgt),
                _ => format!("{}, or {}", at(&s, src), at(&t, tgt)),
            };
            return Ok(Err(format!("{which} is not in the form iot-crr writes")));
        }
        if matches!(step, Step::Source | Step::Both) {
            s.advance()?;
            s_checked = false;
        }
        if matches!(step, Step::Target | Step::Both) {
            t.advance()?;
            t_checked = false;
        }
    }
}

fn selected(filter: &CompiledFilter, kind: Kind, name: &str) -> bool {
    filter.is_all() || filter.matches(kind, name)
}

/// A certificate line's PEM span, its index entry recorded.
fn certificate_span(side: &Side, line: &[u8], pems: &mut Vec<LineAt>) -> Option<(usize, usize)> {
    let span = format::pem_span(line)?;
    let id = std::str::from_utf8(key(line).1).ok()?;
    pems.push(LineAt {
        hash: format::id_hash(id),
        offset: side.offset(),
        len: line.len() as u32,
    });
    Some(span)
}

/// A certificate from its line without the PEM, built in `scratch`.
fn certificate_without_pem(
    line: &[u8],
    (open, close): (usize, usize),
    scratch: &mut Vec<u8>,
) -> Option<Certificate> {
    scratch.clear();
    scratch.extend_from_slice(&line[..=open]);
    scratch.extend_from_slice(&line[close..]);
    fastline::certificate(scratch, true)
}

/// A line only one side has at its place: read on its own.
fn one(side: &Side, out: &mut SideOut, filter: &CompiledFilter, scratch: &mut Vec<u8>) -> bool {
    let Some(line) = side.line() else {
        return false;
    };
    match key(line).0 {
        2 => match fastline::thing(line) {
            Some(t) => {
                if selected(filter, Kind::Thing, &t.thing_name) {
                    out.things.push(t);
                }
                true
            }
            None => false,
        },
        1 => {
            let Some(span) = certificate_span(side, line, &mut out.pems) else {
                return false;
            };
            match certificate_without_pem(line, span, scratch) {
                Some(c) => {
                    if selected(filter, Kind::Certificate, &c.certificate_id) {
                        out.certificates.push(c);
                    }
                    true
                }
                None => false,
            }
        }
        _ => {
            // A smaller kind, read as any reader reads it.
            scratch.clear();
            scratch.extend_from_slice(line);
            match format::parse_checked(scratch, Pems::Skip) {
                Ok(Resource::Thing(_) | Resource::Certificate(_)) | Err(_) => false,
                Ok(r) => {
                    out.small.push(r);
                    true
                }
            }
        }
    }
}

/// Lines of the same thing or certificate on both sides: kept once when alike.
fn both(
    s: &Side,
    t: &Side,
    out: &mut RangeOut,
    filter: &CompiledFilter,
    scratch: &mut Vec<u8>,
) -> bool {
    let (Some(a), Some(b)) = (s.line(), t.line()) else {
        return false;
    };
    if key(a).0 == 2 {
        if a != b {
            return one(s, &mut out.source, filter, scratch)
                && one(t, &mut out.target, filter, scratch);
        }
        // Checked without building the thing: most are kept as the line.
        let Some(parts) = fastline::thing_parts(a) else {
            return false;
        };
        if !selected(filter, Kind::Thing, parts.name) {
            return true;
        }
        if SameLines::keeps_thing(&parts.principals) {
            out.same_things.push(&[a]);
        } else {
            let Some(thing) = fastline::thing(a) else {
                return false;
            };
            out.source.things.push(thing.clone());
            out.target.things.push(thing);
        }
        return true;
    }
    // Lines alike whole (the common case) are one line to check, PEM included.
    let Some(sa) = certificate_span(s, a, &mut out.source.pems) else {
        return false;
    };
    let sb = if a == b {
        let at = *out.source.pems.last().expect("just recorded");
        out.target.pems.push(LineAt {
            offset: t.offset(),
            ..at
        });
        sa
    } else {
        match certificate_span(t, b, &mut out.target.pems) {
            Some(sb) => sb,
            None => return false,
        }
    };
    let (a_head, a_tail) = (&a[..=sa.0], &a[sa.1..]);
    if a_head != &b[..=sb.0] || a_tail != &b[sb.1..] {
        let (Some(ca), Some(cb)) = (
            certificate_without_pem(a, sa, scratch),
            certificate_without_pem(b, sb, scratch),
        ) else {
            return false;
        };
        if selected(filter, Kind::Certificate, &ca.certificate_id) {
            out.source.certificates.push(ca);
            out.target.certificates.push(cb);
        }
        return true;
    }
    out.same_certificates.push(&[a_head, a_tail]);
    let Some(c) = fastline::certificate(out.same_certificates.last(), true) else {
        out.same_certificates.pop();
        return false;
    };
    if !selected(filter, Kind::Certificate, &c.certificate_id) {
        out.same_certificates.pop();
    } else if !SameLines::keeps_certificate(&c) {
        out.same_certificates.pop();
        out.source.certificates.push(c.clone());
        out.target.certificates.push(c);
    }
    true
}

/// One file's resources from every range, gathered in order.
impl SideOut {
    fn add(&mut self, o: SideOut) {
        self.small.extend(o.small);
        self.certificates.extend(o.certificates);
        self.things.extend(o.things);
        self.pems.extend(o.pems);
    }

    /// The snapshot, checked as a reader checks it (a resource defined twice, the
    /// group hierarchy).
    fn snapshot(&mut self, input: &Input, filter: &Filter) -> Result<Snapshot, StepAside> {
        let header = &input.header;
        let mut snap = Snapshot {
            origin: Origin {
                region: header.region.clone(),
                account_id: header.account_id.clone(),
            },
            principal_coverage: header.principals,
            unlisted: header.unlisted.clone(),
            ..Snapshot::default()
        };
        for r in std::mem::take(&mut self.small) {
            if snap.contains(&ResourceKey::new(r.kind(), r.name().clone())) {
                return Err(StepAside::new(format!(
                    "{}: {} {} is defined twice",
                    input.path.display(),
                    r.kind(),
                    r.name()
                )));
            }
            snap.insert(r);
        }
        // In name order already (each range checked its order): built whole.
        snap.certificates = std::mem::take(&mut self.certificates)
            .into_iter()
            .map(|c| (c.certificate_id.clone(), c))
            .collect();
        snap.things = std::mem::take(&mut self.things)
            .into_iter()
            .map(|t| (t.thing_name.clone(), t))
            .collect();
        constraints::check_hierarchy(&snap.thing_groups)
            .map_err(|(_, v)| StepAside::new(format!("{}: {v}", input.path.display())))?;
        snap.retain_selected(filter);
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{CertificateStatus, ThingType};

    fn cert(i: usize, status: CertificateStatus) -> Certificate {
        Certificate {
            certificate_id: format!("{i:064x}").into(),
            certificate_pem: format!(
                "-----BEGIN CERTIFICATE-----\n{i}\n-----END CERTIFICATE-----\n"
            ),
            status,
            ca_certificate_id: None,
            policies: Default::default(),
        }
    }

    fn thing(i: usize, attr: &str) -> Thing {
        Thing {
            thing_name: format!("dev-{i:03}").into(),
            thing_type_name: Some("sensor".into()),
            attributes: [("v", attr)].into_iter().collect(),
            principals: [crate::resource::cert_principal(
                &cert(i, CertificateStatus::Active).certificate_id,
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        }
    }

    /// A registry of `n` things, each with its certificate.
    fn registry(n: usize) -> Snapshot {
        let mut s = Snapshot::default();
        s.insert(Resource::ThingType(ThingType {
            thing_type_name: "sensor".into(),
            ..Default::default()
        }));
        for i in 1..=n {
            s.insert(Resource::Certificate(cert(i, CertificateStatus::Active)));
            s.insert(Resource::Thing(thing(i, "a")));
        }
        s
    }

    fn files(
        a: &Snapshot,
        b: &Snapshot,
    ) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
        format::write_file(a, &pa).unwrap();
        format::write_file(b, &pb).unwrap();
        (dir, pa, pb)
    }

    #[test]
    fn what_both_files_write_alike_is_kept_once_and_the_rest_read() {
        let a = registry(40);
        let mut b = registry(40);
        // Changed, removed, added; a status a plan cannot set; another PEM.
        b.insert(Resource::Thing(thing(3, "b")));
        b.things.remove("dev-004");
        b.insert(Resource::Thing(thing(41, "a")));
        b.insert(Resource::Certificate(cert(
            5,
            CertificateStatus::PendingTransfer,
        )));
        let mut other_pem = cert(6, CertificateStatus::Active);
        other_pem.certificate_pem = other_pem.certificate_pem.replace("\n6\n", "\n66\n");
        b.insert(Resource::Certificate(other_pem));
        let (_dir, pa, pb) = files(&a, &b);
        let p = read_pair_without_pems(&pa, &pb, &Filter::default()).expect("read side by side");
        assert_eq!(p.same.things(), 38);
        assert_eq!(
            p.source.things.keys().collect::<Vec<_>>(),
            ["dev-003", "dev-004"]
        );
        assert_eq!(
            p.target.things.keys().collect::<Vec<_>>(),
            ["dev-003", "dev-041"]
        );
        // The PEM is not compared: certificate 6 is held alike.
        assert_eq!(p.same.certificates(), 39);
        assert_eq!(p.source.certificates.len(), 1);
        assert_eq!(
            p.target.certificates[format!("{:064x}", 5).as_str()].status,
            CertificateStatus::PendingTransfer
        );
        assert!(
            p.source
                .certificates
                .values()
                .all(|c| c.certificate_pem.is_empty())
        );
        assert_eq!(p.source.thing_types.len(), 1);
        assert_eq!(p.target.thing_types.len(), 1);
        assert_eq!((p.source_pems.len(), p.target_pems.len()), (40, 40));
        // A PEM is read back from its line.
        let c = p
            .target_pems
            .certificate(&format!("{:064x}", 6))
            .unwrap()
            .unwrap();
        assert!(c.certificate_pem.contains("\n66\n"));
    }

    #[test]
    fn a_filter_leaves_out_what_it_does_not_select() {
        let (a, b) = (registry(10), registry(10));
        let (_dir, pa, pb) = files(&a, &b);
        let f = Filter {
            include: vec!["thing:dev-00?".into()],
            ..Filter::default()
        };
        let p = read_pair_without_pems(&pa, &pb, &f).unwrap();
        let (mut whole, _) = format::read_file_without_pems(&pa).unwrap();
        whole.retain_selected(&f);
        assert_eq!(p.same.things(), 9);
        assert_eq!(whole.things.len(), 9);
        assert_eq!(p.same.certificates(), whole.certificates.len());
        assert_eq!(p.source.thing_types.len(), whole.thing_types.len());
        assert!(p.source.things.is_empty() && p.source.certificates.is_empty());
    }

    #[test]
    fn a_walk_split_into_ranges_adds_up_to_the_whole_walk() {
        let n = 2_000;
        let a = registry(n);
        let mut b = registry(n);
        for i in (1..=n).step_by(100) {
            b.insert(Resource::Thing(thing(i, "z")));
        }
        // Target lines where the source has none, around the splits.
        for i in n + 1..n + 50 {
            b.insert(Resource::Thing(thing(i, "a")));
        }
        let (_dir, pa, pb) = files(&a, &b);
        let whole = read_pair_in(&pa, &pb, &Filter::default(), Some(1)).unwrap();
        for parts in [2, 3, 7, 64] {
            let p = read_pair_in(&pa, &pb, &Filter::default(), Some(parts)).unwrap();
            assert_eq!(p.same.things(), n - 20, "{parts} parts");
            assert_eq!(p.same.certificates(), n);
            assert_eq!(p.source.things.len(), 20);
            assert_eq!(p.target.things.len(), 20 + 49);
            assert_eq!(p.source, whole.source);
            assert_eq!(p.target, whole.target);
            let names: Vec<&str> = p.same.names(Kind::Thing).collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]));
        }
        // Out of order across ranges: the ranges notice.
        edit(&pb, |l| {
            let (i, j) = (l.len() / 3, 2 * l.len() / 3);
            l.swap(i, j);
        });
        for parts in [1, 2, 5] {
            assert!(read_pair_in(&pa, &pb, &Filter::default(), Some(parts)).is_err());
        }
    }

    #[test]
    fn the_fingerprint_and_counts_over_lines_are_those_of_the_whole_file() {
        // Over 4,096 of each kind: more than one chunk of lines is hashed.
        let n = 5_000;
        let a = registry(n);
        let mut b = registry(n);
        for i in (1..=n).step_by(7) {
            b.insert(Resource::Thing(thing(i, "z")));
        }
        let (_dir, pa, pb) = files(&a, &b);
        let p = read_pair_without_pems(&pa, &pb, &Filter::default()).unwrap();
        assert!(p.same.things() > 4_096 && p.same.certificates() > 4_096);
        for filter in [
            Filter::default(),
            Filter {
                exclude: vec!["thing:dev-4*".into()],
                ..Filter::default()
            },
        ] {
            let (mut whole, _) = format::read_file_without_pems(&pb).unwrap();
            whole.retain_selected(&filter);
            assert_eq!(
                crate::fingerprint::fingerprint_pair(&p.target, &p.same, &filter),
                crate::fingerprint::fingerprint(&whole, &filter)
            );
            let f = filter.compile();
            assert_eq!(
                p.target.selected_counts(&filter) + p.same.selected_counts(&f),
                whole.counts()
            );
        }
    }

    /// Rewrites a file's lines with `f`.
    fn edit(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        f(&mut lines);
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn a_file_out_of_the_writers_form_or_order_is_left_to_the_plain_reader() {
        let a = registry(20);
        type Edit = Box<dyn Fn(&mut Vec<String>)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "two things swapped",
                Box::new(|l: &mut Vec<String>| {
                    let n = l.len();
                    l.swap(n - 1, n - 2);
                }),
            ),
            (
                "a thing twice",
                Box::new(|l: &mut Vec<String>| {
                    let last = l.last().unwrap().clone();
                    l.push(last);
                }),
            ),
            (
                "a thing with spaces",
                Box::new(|l: &mut Vec<String>| {
                    let n = l.len();
                    l[n - 1] = l[n - 1].replacen(",", ", ", 1);
                }),
            ),
            (
                "a group after the things",
                Box::new(|l: &mut Vec<String>| {
                    l.push(r#"{"kind":"thingGroup","thingGroupName":"late"}"#.into());
                }),
            ),
            (
                "a broken line",
                Box::new(|l: &mut Vec<String>| {
                    l[3].truncate(20);
                }),
            ),
            (
                "a certificate line without its PEM",
                Box::new(|l: &mut Vec<String>| {
                    l[3] = l[3].replace("BEGIN", "BEGUN");
                }),
            ),
            (
                "no header",
                Box::new(|l: &mut Vec<String>| {
                    l.remove(0);
                }),
            ),
        ];
        for (what, f) in cases {
            let (_dir, pa, pb) = files(&a, &a);
            edit(&pb, f);
            let e = read_pair_without_pems(&pa, &pb, &Filter::default()).expect_err(what);
            // The reason names the file, for the log of a plan read one file at a time.
            assert!(e.reason.contains("b.jsonl"), "{what}: {e}");
        }
        // Line ends of another system and blank lines are read alike.
        let (_dir, pa, pb) = files(&a, &a);
        let text = std::fs::read_to_string(&pb).unwrap();
        std::fs::write(&pb, "\n".to_string() + &text.replace('\n', "\r\n\n")).unwrap();
        assert!(
            read_pair_without_pems(&pa, &pb, &Filter::default()).is_err(),
            "blank first line"
        );
        std::fs::write(&pb, text.replace('\n', "\r\n\n")).unwrap();
        let p = read_pair_without_pems(&pa, &pb, &Filter::default()).unwrap();
        assert_eq!((p.same.things(), p.same.certificates()), (20, 20));
    }

    #[test]
    fn keys_order_the_smaller_kinds_then_certificates_then_things() {
        let thing = br#"{"kind":"thing","thingName":"a-1","attributes":{}}"#;
        let cert = br#"{"kind":"certificate","certificateId":"ff","certificatePem":""}"#;
        let group = br#"{"kind":"thingGroup","thingGroupName":"zz"}"#;
        assert_eq!(key(thing), (2, &b"a-1"[..]));
        assert_eq!(key(cert), (1, &b"ff"[..]));
        assert_eq!(key(group), (0, &b""[..]));
        assert!(key(group) < key(cert) && key(cert) < key(thing));
        // Not in the writer's form: no key.
        assert_eq!(key(br#"{"kind":"thing","thingName":1}"#).0, 0);
        assert_eq!(key(br#"{"kind":"thing","thingName":"open"#).0, 0);
    }
}
