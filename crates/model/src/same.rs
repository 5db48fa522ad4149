//! Things and certificates two snapshot files hold alike, kept as their lines.
//!
//! Two snapshots of registries kept in sync are mostly the same: in a plan of two
//! million-thing files, 98% of the things and certificates are written byte for byte
//! alike on both sides. [`crate::pair`] reads such files side by side and keeps a pair
//! of equal lines once, here, checked but not parsed, instead of a resource on each
//! side; only the resources that differ become [`Snapshot`] entries. The diff sees both
//! through a view of each side: a resource or relation it asks about is looked up in
//! the snapshot, then among the equal lines (parsed when asked for).
//!
//! What makes this exact: a line in the writer's form (the one the fast reader
//! accepts) is the one way the writer writes its resource, so equal lines are equal
//! resources; and a pair of equal resources kept here never gives a change by itself
//! (the diff walks only the snapshots' resources), except a thing's membership of a
//! group the plan re-creates, which the diff walks again (see
//! [`SameLines::group_members`]). What is not kept: a thing with a principal that is
//! not a certificate (an ARN rewrite may change it) and a certificate in a status a
//! plan cannot set; those are parsed on both sides.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use memchr::memmem::Finder;
use typed_arena::Arena;
use xxhash_rust::xxh3::xxh3_64;

use crate::create::settable_status;
use crate::fastline::{self, CERTIFICATE_START, THING_START};
use crate::filter::CompiledFilter;
use crate::related::Related;
use crate::resource::{
    BillingGroup, Certificate, Kind, Name, Policy, ResourceKey, Thing, ThingGroup, ThingType,
    principal_certificate_id,
};
use crate::snapshot::{Counts, PrincipalCoverage, Snapshot};
use crate::view::{SnapshotView, View};

/// Lines of a chunk of a file, one after the other, with where each ends.
#[derive(Debug, Default)]
pub(crate) struct LineBuf {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl LineBuf {
    /// A line made of `parts`, one after the other (a certificate line without its
    /// PEM is the text before it and the text after it).
    pub(crate) fn push(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        self.ends.push(self.bytes.len() as u32);
    }

    /// The last line pushed.
    pub(crate) fn last(&self) -> &[u8] {
        let end = self.ends.last().map_or(0, |&e| e as usize);
        let start = match self.ends.len() {
            0 | 1 => 0,
            n => self.ends[n - 2] as usize,
        };
        &self.bytes[start..end]
    }

    /// Takes the last line back.
    pub(crate) fn pop(&mut self) {
        self.ends.pop();
        let end = self.ends.last().map_or(0, |&e| e as usize);
        self.bytes.truncate(end);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The lines of one kind, in name order, in the chunks they were read in.
#[derive(Debug, Default)]
struct LineTable {
    bufs: Vec<Vec<u8>>,
    /// (chunk, start, end) of each line.
    lines: Vec<(u32, u32, u32)>,
    /// How long the line's start is before the name (the writer's start and a quote).
    name_at: usize,
}

impl LineTable {
    fn new(start: &str) -> Self {
        LineTable {
            name_at: start.len() + 1,
            ..LineTable::default()
        }
    }

    fn append(&mut self, buf: LineBuf) {
        if buf.is_empty() {
            return;
        }
        let chunk = self.bufs.len() as u32;
        let mut start = 0;
        self.lines.reserve(buf.ends.len());
        for end in buf.ends {
            self.lines.push((chunk, start, end));
            start = end;
        }
        self.bufs.push(buf.bytes);
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    fn line(&self, i: usize) -> &[u8] {
        let (c, s, e) = self.lines[i];
        &self.bufs[c as usize][s as usize..e as usize]
    }

    fn name(&self, i: usize) -> &str {
        name_in(self.line(i), self.name_at)
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.lines
            .binary_search_by(|&(c, s, e)| {
                let line = &self.bufs[c as usize][s as usize..e as usize];
                name_in(line, self.name_at).cmp(name)
            })
            .ok()
    }
}

/// The name of a line in the writer's form, which starts `name_at` bytes in and ends
/// at the next quote (a name in that form holds no quote, and only ASCII).
fn name_in(line: &[u8], name_at: usize) -> &str {
    let rest = &line[name_at..];
    let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).unwrap_or("")
}

/// The values of the string list `key` (`,"field":[`) in a line in the writer's form:
/// quoted values that hold no quote, separated by commas.
fn list_values<'a>(line: &'a [u8], key: &Finder<'_>) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let Some(at) = key.find(line) else {
        return out;
    };
    let mut i = at + key.needle().len();
    while line.get(i) == Some(&b'"') {
        let Some(n) = memchr::memchr(b'"', &line[i + 1..]) else {
            break;
        };
        out.push(&line[i + 1..i + 1 + n]);
        i += n + 2;
        if line.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    out
}

/// The value of the string field `key` (`,"field":"`) in a line in the writer's form.
fn string_value<'a>(line: &'a [u8], key: &Finder<'_>) -> Option<&'a [u8]> {
    let at = key.find(line)? + key.needle().len();
    let n = memchr::memchr(b'"', &line[at..])?;
    Some(&line[at..at + n])
}

/// A finder of a field's key, built once.
fn finder(
    cell: &'static OnceLock<Finder<'static>>,
    key: &'static [u8],
) -> &'static Finder<'static> {
    cell.get_or_init(|| Finder::new(key))
}

static TYPE_KEY: OnceLock<Finder<'static>> = OnceLock::new();
static GROUPS_KEY: OnceLock<Finder<'static>> = OnceLock::new();
static PRINCIPALS_KEY: OnceLock<Finder<'static>> = OnceLock::new();
static POLICIES_KEY: OnceLock<Finder<'static>> = OnceLock::new();

/// Which values of a line a relation index is over.
#[derive(Clone, Copy)]
enum Relation {
    Type,
    Groups,
    Principals,
    Policies,
}

impl Relation {
    fn values(self, line: &[u8]) -> Vec<&[u8]> {
        match self {
            Relation::Type => string_value(line, finder(&TYPE_KEY, br#","thingTypeName":""#))
                .into_iter()
                .collect(),
            Relation::Groups => list_values(line, finder(&GROUPS_KEY, br#","thingGroups":["#)),
            Relation::Principals => {
                list_values(line, finder(&PRINCIPALS_KEY, br#","principals":["#))
            }
            Relation::Policies => list_values(line, finder(&POLICIES_KEY, br#","policies":["#)),
        }
    }
}

/// Things and certificates written alike in two snapshot files, each selected by the
/// filter they were read with, checked as the reader checks every line (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct SameLines {
    things: LineTable,
    /// Certificate lines with their PEM left out (`"certificatePem":""`), as a
    /// comparison reads them.
    certificates: LineTable,
    /// Relation indexes, built on first use: (hash of the value, line), sorted.
    types: OnceLock<Vec<(u64, u32)>>,
    groups: OnceLock<Vec<(u64, u32)>>,
    principals: OnceLock<Vec<(u64, u32)>>,
    policies: OnceLock<Vec<(u64, u32)>>,
}

impl Default for SameLines {
    fn default() -> Self {
        SameLines {
            things: LineTable::new(THING_START),
            certificates: LineTable::new(CERTIFICATE_START),
            types: OnceLock::new(),
            groups: OnceLock::new(),
            principals: OnceLock::new(),
            policies: OnceLock::new(),
        }
    }
}

impl SameLines {
    /// Whether a pair of equal things may be kept as one line: its principals are
    /// all certificates (another principal may be rewritten for the target, so that
    /// equal is not the same there).
    pub(crate) fn keeps_thing(principals: &[&str]) -> bool {
        principals
            .iter()
            .all(|p| principal_certificate_id(p).is_some())
    }

    /// Whether a pair of equal certificates may be kept as one line: its status is one
    /// a plan can set (another is planned as the status it settles to, a change even
    /// between equal certificates).
    pub(crate) fn keeps_certificate(c: &Certificate) -> bool {
        settable_status(c.status) == c.status
    }

    /// Adds the lines of a chunk, in order, after those already held.
    pub(crate) fn append(&mut self, things: LineBuf, certificates: LineBuf) {
        self.things.append(things);
        self.certificates.append(certificates);
    }

    /// How many things are held.
    pub fn things(&self) -> usize {
        self.things.len()
    }

    /// How many certificates are held.
    pub fn certificates(&self) -> usize {
        self.certificates.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.things.len() == 0 && self.certificates.len() == 0
    }

    fn table(&self, kind: Kind) -> Option<&LineTable> {
        match kind {
            Kind::Thing => Some(&self.things),
            Kind::Certificate => Some(&self.certificates),
            _ => None,
        }
    }

    /// Whether a resource is held.
    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        self.table(kind).is_some_and(|t| t.find(name).is_some())
    }

    /// How many are held of one kind.
    pub fn len(&self, kind: Kind) -> usize {
        self.table(kind).map_or(0, LineTable::len)
    }

    /// The names held of one kind, in order.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.lines(kind).map(|(name, _)| name)
    }

    /// The lines held of one kind, in name order, each with its name.
    pub(crate) fn lines(&self, kind: Kind) -> impl Iterator<Item = (&str, &[u8])> {
        let t = self.table(kind);
        (0..self.len(kind)).map(move |i| {
            let t = t.expect("a kind with lines has a table");
            (t.name(i), t.line(i))
        })
    }

    /// How many are held of each kind that `filter` selects.
    pub fn selected_counts(&self, filter: &CompiledFilter) -> Counts {
        let n = |kind| {
            if !filter.selects_kind(kind) {
                0
            } else if filter.selects_all_of(kind) {
                self.len(kind)
            } else {
                self.names(kind).filter(|n| filter.matches(kind, n)).count()
            }
        };
        Counts {
            certificates: n(Kind::Certificate),
            things: n(Kind::Thing),
            ..Counts::default()
        }
    }

    /// Thing `name`, parsed from its line.
    pub fn thing(&self, name: &str) -> Option<Thing> {
        let i = self.things.find(name)?;
        Some(fastline::thing(self.things.line(i)).expect("a held line was checked"))
    }

    /// Certificate `id` (without its PEM), parsed from its line.
    pub fn certificate(&self, id: &str) -> Option<Certificate> {
        let i = self.certificates.find(id)?;
        Some(
            fastline::certificate(self.certificates.line(i), true)
                .expect("a held line was checked"),
        )
    }

    /// The lines a relation is over: a certificate's policies, or a thing's values.
    fn table_of(&self, relation: Relation) -> &LineTable {
        match relation {
            Relation::Policies => &self.certificates,
            _ => &self.things,
        }
    }

    fn index(&self, relation: Relation) -> &[(u64, u32)] {
        let cell = match relation {
            Relation::Type => &self.types,
            Relation::Groups => &self.groups,
            Relation::Principals => &self.principals,
            Relation::Policies => &self.policies,
        };
        let table = self.table_of(relation);
        cell.get_or_init(|| {
            let mut idx: Vec<(u64, u32)> = Vec::new();
            for i in 0..table.len() {
                for v in relation.values(table.line(i)) {
                    idx.push((xxh3_64(v), i as u32));
                }
            }
            idx.sort_unstable();
            idx
        })
    }

    /// The names of the lines whose `relation` values hold `value`, in name order.
    fn with_value(&self, relation: Relation, value: &str) -> Vec<Name> {
        let table = self.table_of(relation);
        if table.len() == 0 {
            return Vec::new();
        }
        let idx = self.index(relation);
        let h = xxh3_64(value.as_bytes());
        let first = idx.partition_point(|&(x, _)| x < h);
        idx[first..]
            .iter()
            .take_while(|&&(x, _)| x == h)
            .map(|&(_, i)| i as usize)
            // A hash shared by another value is not an answer.
            .filter(|&i| relation.values(table.line(i)).contains(&value.as_bytes()))
            .map(|i| Name::from(table.name(i)))
            .collect()
    }

    /// The things held that are static members of group `group`, in name order.
    pub fn group_members(&self, group: &str) -> Vec<Name> {
        self.with_value(Relation::Groups, group)
    }

    /// The answer to a relation question about the lines held (the things and
    /// certificates among them), sorted.
    pub fn related(&self, query: &Related) -> Vec<ResourceKey> {
        let (kind, names) = match query {
            Related::ChildGroups(_) => return Vec::new(),
            Related::ThingsWithPrincipal(p) => {
                (Kind::Thing, self.with_value(Relation::Principals, p))
            }
            Related::ThingsOfType(t) => (Kind::Thing, self.with_value(Relation::Type, t)),
            Related::GroupMembers(g) => (Kind::Thing, self.with_value(Relation::Groups, g)),
            Related::PolicyTargets(p) => {
                (Kind::Certificate, self.with_value(Relation::Policies, p))
            }
        };
        names
            .into_iter()
            .map(|n| ResourceKey::new(kind, n))
            .collect()
    }
}

/// One side of a comparison read side by side with the other: its snapshot (what
/// differs from the other side, and every resource of the smaller kinds) and the lines
/// both sides hold alike. A resource the diff asks for is looked up in the snapshot,
/// then among the lines, parsed once and kept in `parsed` while the view lives.
pub(crate) struct PairView<'a> {
    snap: SnapshotView<'a>,
    same: &'a SameLines,
    parsed: &'a Parsed,
    things: RefCell<HashMap<Name, &'a Thing>>,
    certificates: RefCell<HashMap<Name, &'a Certificate>>,
}

/// Where a [`PairView`] keeps the resources it parsed from lines.
#[derive(Default)]
pub(crate) struct Parsed {
    things: Arena<Thing>,
    certificates: Arena<Certificate>,
}

impl<'a> PairView<'a> {
    pub(crate) fn new(snap: &'a Snapshot, same: &'a SameLines, parsed: &'a Parsed) -> Self {
        PairView {
            snap: SnapshotView::new(snap),
            same,
            parsed,
            things: RefCell::new(HashMap::new()),
            certificates: RefCell::new(HashMap::new()),
        }
    }
}

/// Resource `name` parsed from its line once (`parse`), then from `seen`; kept in
/// `arena` while the view lives.
fn parsed_once<'a, T>(
    seen: &RefCell<HashMap<Name, &'a T>>,
    arena: &'a Arena<T>,
    name: &str,
    parse: impl FnOnce() -> Option<T>,
) -> Option<&'a T> {
    if let Some(r) = seen.borrow().get(name) {
        return Some(*r);
    }
    let r: &'a T = arena.alloc(parse()?);
    seen.borrow_mut().insert(name.into(), r);
    Some(r)
}

/// `a` and `b`, each sorted, merged in order.
fn merge_sorted<T: Ord>(a: Vec<T>, b: Vec<T>) -> Vec<T> {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return b;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if x <= y { a.next() } else { b.next() };
        out.extend(next);
    }
    out.extend(a);
    out.extend(b);
    out
}

impl View for PairView<'_> {
    fn plain(&self, kind: Kind, name: &str) -> &Snapshot {
        self.snap.plain(kind, name)
    }

    fn thing_type(&self, name: &str) -> Option<&ThingType> {
        self.snap.thing_type(name)
    }
    fn billing_group(&self, name: &str) -> Option<&BillingGroup> {
        self.snap.billing_group(name)
    }
    fn thing_group(&self, name: &str) -> Option<&ThingGroup> {
        self.snap.thing_group(name)
    }
    fn policy(&self, name: &str) -> Option<&Policy> {
        self.snap.policy(name)
    }
    fn certificate(&self, id: &str) -> Option<&Certificate> {
        let parsed: &Parsed = self.parsed;
        self.snap.certificate(id).or_else(|| {
            parsed_once(&self.certificates, &parsed.certificates, id, || {
                self.same.certificate(id)
            })
        })
    }
    fn thing(&self, name: &str) -> Option<&Thing> {
        let parsed: &Parsed = self.parsed;
        self.snap
            .thing(name)
            .or_else(|| parsed_once(&self.things, &parsed.things, name, || self.same.thing(name)))
    }
    fn related(&self, query: &Related) -> Vec<ResourceKey> {
        let own = self.snap.related(query);
        if self.same.is_empty() {
            return own;
        }
        merge_sorted(own, self.same.related(query))
    }
    fn principal_coverage(&self) -> PrincipalCoverage {
        self.snap.principal_coverage()
    }
    fn is_complete(&self) -> bool {
        true
    }
    fn names(&self, kind: Kind) -> Vec<Name> {
        let own = self.snap.names(kind);
        if self.same.len(kind) == 0 {
            return own;
        }
        merge_sorted(own, self.same.names(kind).map(Name::from).collect())
    }
    fn contains(&self, kind: Kind, name: &str) -> bool {
        self.snap.contains(kind, name) || self.same.contains(kind, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(lines: &[&str]) -> LineBuf {
        let mut b = LineBuf::default();
        for l in lines {
            b.push(&[l.as_bytes()]);
        }
        b
    }

    const A: &str = r#"{"kind":"thing","thingName":"a","thingTypeName":"t1","thingGroups":["g1","g2"],"principals":["cert/aaaa"]}"#;
    const B: &str = r#"{"kind":"thing","thingName":"b","thingTypeName":"t2","attributes":{"k":"v"},"thingGroups":["g2"]}"#;
    const C: &str = r#"{"kind":"thing","thingName":"c","principals":["arn:aws:iam::123456789012:role/a,b","cert/cccc"]}"#;

    #[test]
    fn lines_are_found_by_name_across_chunks_and_parsed_when_asked() {
        let mut s = SameLines::default();
        s.append(buf(&[A, B]), LineBuf::default());
        s.append(buf(&[C]), LineBuf::default());
        assert_eq!(s.things(), 3);
        assert_eq!(s.names(Kind::Thing).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(s.contains(Kind::Thing, "c"));
        assert!(!s.contains(Kind::Thing, "d"));
        assert!(!s.contains(Kind::Certificate, "a"));
        let b = s.thing("b").unwrap();
        assert_eq!(b.thing_type_name.as_deref(), Some("t2"));
        assert!(s.thing("bb").is_none());
    }

    #[test]
    fn relations_are_answered_from_the_lines_in_name_order() {
        let mut s = SameLines::default();
        s.append(buf(&[A, B]), LineBuf::default());
        s.append(buf(&[C]), LineBuf::default());
        let names = |q: Related| -> Vec<String> {
            s.related(&q)
                .into_iter()
                .map(|k| k.name.to_string())
                .collect()
        };
        assert_eq!(names(Related::GroupMembers("g2".into())), ["a", "b"]);
        assert_eq!(
            names(Related::GroupMembers("g".into())),
            Vec::<String>::new()
        );
        assert_eq!(names(Related::ThingsOfType("t1".into())), ["a"]);
        assert_eq!(
            names(Related::ThingsWithPrincipal("cert/cccc".into())),
            ["c"]
        );
        // A principal with a comma is one value.
        assert_eq!(
            names(Related::ThingsWithPrincipal(
                "arn:aws:iam::123456789012:role/a,b".into()
            )),
            ["c"]
        );
        assert!(names(Related::ChildGroups("g1".into())).is_empty());
    }

    #[test]
    fn a_line_buffer_takes_back_its_last_line() {
        let mut b = LineBuf::default();
        b.push(&[b"ab", b"c"]);
        b.push(&[b"de"]);
        assert_eq!(b.last(), b"de");
        b.pop();
        assert_eq!(b.last(), b"abc");
        b.pop();
        assert!(b.is_empty());
        assert_eq!(b.last(), b"");
    }
}
