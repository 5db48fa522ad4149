//! Views of a registry: what the diff reads, one resource or one relation at a time.
//!
//! The diff never walks a whole registry itself; it asks a [`View`] for the resources
//! and relations it needs. Two views exist:
//!
//! - [`SnapshotView`]: a whole registry in memory. Relations are answered from indexes
//!   built on first use (one pass over the kind asked about), so a full diff costs what
//!   it did when it read the maps directly.
//! - [`PartialView`]: the few resources and relations a *keyed* reconcile has read so
//!   far. A question it cannot answer is recorded as a miss and answered "absent"; the
//!   caller reads the misses from the registry ([`PartialView::take_misses`], then
//!   [`PartialView::insert`], [`PartialView::insert_absent`],
//!   [`PartialView::insert_related`]) and runs the diff again, until a run has no
//!   miss. That last run saw exactly what a full view would have shown it, so a keyed
//!   plan equals the full plan restricted to its keys (a property test checks this).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use crate::related::Related;
use crate::resource::{
    BillingGroup, Certificate, Kind, Name, Policy, Resource, ResourceKey, Thing, ThingGroup,
    ThingType,
};
use crate::snapshot::{PrincipalCoverage, Snapshot};

/// Read access to one side of a comparison.
pub trait View {
    /// A thing type.
    fn thing_type(&self, name: &str) -> Option<&ThingType>;
    /// A billing group.
    fn billing_group(&self, name: &str) -> Option<&BillingGroup>;
    /// A thing group.
    fn thing_group(&self, name: &str) -> Option<&ThingGroup>;
    /// A policy.
    fn policy(&self, name: &str) -> Option<&Policy>;
    /// A certificate.
    fn certificate(&self, id: &str) -> Option<&Certificate>;
    /// A thing.
    fn thing(&self, name: &str) -> Option<&Thing>;
    /// The answer to a relation question, sorted.
    fn related(&self, query: &Related) -> Vec<ResourceKey>;
    /// Which principals of things this side holds.
    fn principal_coverage(&self) -> PrincipalCoverage;
    /// Whether the view holds the whole registry: then the diff may precompute facts
    /// over all of it instead of per resource.
    fn is_complete(&self) -> bool;
    /// The names of one kind the view holds, sorted (for a complete view: all of
    /// them).
    fn names(&self, kind: Kind) -> Vec<Name>;
    /// The snapshot that holds the resources of kinds without a method of their own
    /// here (looked up with [`crate::kinds::KindSpec::in_view`]). A partial view records the resource
    /// `kind`/`name` as a miss when it does not know it.
    fn plain(&self, kind: Kind, name: &str) -> &Snapshot;

    /// Whether a resource exists.
    fn contains(&self, kind: Kind, name: &str) -> bool {
        crate::with_kind!(kind, K => K::in_view(self, name).is_some())
    }
}

/// The depth of thing group `name` in `view`'s hierarchy (0 for a root), walking at
/// most `max_steps` parents: a cycle or a missing parent ends the walk, so this always
/// terminates.
pub fn group_depth(view: &dyn View, name: &str, max_steps: usize) -> usize {
    let mut depth = 0;
    let mut cur = view
        .thing_group(name)
        .and_then(|g| g.parent_group_name.clone());
    while let Some(p) = cur {
        depth += 1;
        if depth > max_steps {
            break;
        }
        cur = view
            .thing_group(&p)
            .and_then(|g| g.parent_group_name.clone());
    }
    depth
}

/// Things per subject (a principal, a type, a group), in thing-name order.
type ThingIndex<'a> = HashMap<&'a str, Vec<&'a str>>;

/// Indexes of a snapshot's relations, each built on first use. Things are visited in
/// name order, so every list is sorted without sorting.
#[derive(Default)]
struct Indexes<'a> {
    children: OnceLock<HashMap<&'a str, Vec<&'a str>>>,
    principals: OnceLock<ThingIndex<'a>>,
    types: OnceLock<ThingIndex<'a>>,
    members: OnceLock<ThingIndex<'a>>,
    /// policy -> targets, sorted.
    targets: OnceLock<HashMap<&'a str, Vec<ResourceKey>>>,
}

/// A whole registry in memory seen as a [`View`].
pub struct SnapshotView<'a> {
    snap: &'a Snapshot,
    idx: Indexes<'a>,
}

impl<'a> SnapshotView<'a> {
    /// A view of `snap`.
    pub fn new(snap: &'a Snapshot) -> Self {
        SnapshotView {
            snap,
            idx: Indexes::default(),
        }
    }

    /// The snapshot seen.
    pub fn snapshot(&self) -> &'a Snapshot {
        self.snap
    }
}

fn things_of(index: &ThingIndex<'_>, subject: &str) -> Vec<ResourceKey> {
    index
        .get(subject)
        .map(|ts| {
            ts.iter()
                .map(|t| ResourceKey::new(Kind::Thing, *t))
                .collect()
        })
        .unwrap_or_default()
}

fn index_things<'a, I: IntoIterator<Item = &'a str>>(
    things: impl Iterator<Item = &'a Thing>,
    subjects: impl Fn(&'a Thing) -> I,
) -> ThingIndex<'a> {
    let mut m: ThingIndex<'a> = HashMap::new();
    for t in things {
        for s in subjects(t) {
            m.entry(s).or_default().push(&t.thing_name);
        }
    }
    m
}

impl View for SnapshotView<'_> {
    fn plain(&self, _kind: Kind, _name: &str) -> &Snapshot {
        self.snap
    }

    fn thing_type(&self, name: &str) -> Option<&ThingType> {
        self.snap.thing_types.get(name)
    }
    fn billing_group(&self, name: &str) -> Option<&BillingGroup> {
        self.snap.billing_groups.get(name)
    }
    fn thing_group(&self, name: &str) -> Option<&ThingGroup> {
        self.snap.thing_groups.get(name)
    }
    fn policy(&self, name: &str) -> Option<&Policy> {
        self.snap.policies.get(name)
    }
    fn certificate(&self, id: &str) -> Option<&Certificate> {
        self.snap.certificates.get(id)
    }
    fn thing(&self, name: &str) -> Option<&Thing> {
        self.snap.things.get(name)
    }

    fn related(&self, query: &Related) -> Vec<ResourceKey> {
        let s = self.snap;
        match query {
            Related::ChildGroups(g) => {
                let idx = self.idx.children.get_or_init(|| {
                    let mut m: HashMap<&str, Vec<&str>> = HashMap::new();
                    for c in s.thing_groups.values() {
                        if let Some(p) = &c.parent_group_name {
                            m.entry(p.as_str()).or_default().push(&c.thing_group_name);
                        }
                    }
                    m
                });
                idx.get(g.as_str())
                    .map(|cs| {
                        cs.iter()
                            .map(|c| ResourceKey::new(Kind::ThingGroup, *c))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            Related::ThingsWithPrincipal(p) => {
                let idx = self.idx.principals.get_or_init(|| {
                    index_things(s.things.values(), |t| {
                        t.principals.iter().map(|p| p.as_str())
                    })
                });
                things_of(idx, p)
            }
            Related::ThingsOfType(ty) => {
                let idx = self.idx.types.get_or_init(|| {
                    index_things(s.things.values(), |t| {
                        t.thing_type_name.iter().map(|ty| ty.as_str())
                    })
                });
                things_of(idx, ty)
            }
            Related::GroupMembers(g) => {
                let idx = self.idx.members.get_or_init(|| {
                    index_things(s.things.values(), |t| {
                        t.thing_groups.iter().map(|g| g.as_str())
                    })
                });
                things_of(idx, g)
            }
            Related::PolicyTargets(p) => {
                let idx = self.idx.targets.get_or_init(|| {
                    let mut m: HashMap<&str, Vec<ResourceKey>> = HashMap::new();
                    for g in s.thing_groups.values() {
                        for p in &g.policies {
                            m.entry(p.as_str()).or_default().push(ResourceKey::new(
                                Kind::ThingGroup,
                                g.thing_group_name.clone(),
                            ));
                        }
                    }
                    for c in s.certificates.values() {
                        for p in &c.policies {
                            m.entry(p.as_str()).or_default().push(ResourceKey::new(
                                Kind::Certificate,
                                c.certificate_id.clone(),
                            ));
                        }
                    }
                    for v in m.values_mut() {
                        v.sort();
                    }
                    m
                });
                idx.get(p.as_str()).cloned().unwrap_or_default()
            }
        }
    }

    fn principal_coverage(&self) -> PrincipalCoverage {
        self.snap.principal_coverage
    }

    fn is_complete(&self) -> bool {
        true
    }

    fn names(&self, kind: Kind) -> Vec<Name> {
        crate::with_kind!(kind, K => K::map(self.snap).keys().cloned().collect())
    }
}

/// What a [`PartialView`] was asked and could not answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misses {
    /// Resources to read (`Registry::read_resource`).
    pub resources: BTreeSet<ResourceKey>,
    /// Relations to ask (`Registry::related`).
    pub related: BTreeSet<Related>,
}

impl Misses {
    /// Whether nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.related.is_empty()
    }

    /// How many questions are missing.
    pub fn len(&self) -> usize {
        self.resources.len() + self.related.len()
    }
}

/// Some resources and relations of a registry, read on demand (see the module
/// documentation).
#[derive(Debug, Default)]
pub struct PartialView {
    snap: Snapshot,
    absent: HashSet<ResourceKey>,
    answers: HashMap<Related, Vec<ResourceKey>>,
    misses: RefCell<Misses>,
}

impl PartialView {
    /// An empty view that knows nothing yet; `coverage` is what the registry's reads
    /// of thing principals give.
    pub fn new(coverage: PrincipalCoverage) -> Self {
        PartialView {
            snap: Snapshot {
                principal_coverage: coverage,
                ..Snapshot::default()
            },
            ..PartialView::default()
        }
    }

    /// Records a resource as read.
    pub fn insert(&mut self, resource: Resource) {
        self.absent.remove(&resource.key());
        self.snap.insert(resource);
    }

    /// Records that a resource does not exist.
    pub fn insert_absent(&mut self, key: ResourceKey) {
        self.snap.remove(&key);
        self.absent.insert(key);
    }

    /// Records the answer to a relation question.
    pub fn insert_related(&mut self, query: Related, mut answer: Vec<ResourceKey>) {
        answer.sort();
        answer.dedup();
        self.answers.insert(query, answer);
    }

    /// Whether the view knows whether this resource exists.
    pub fn knows(&self, key: &ResourceKey) -> bool {
        self.absent.contains(key) || self.snap.contains(key)
    }

    /// Takes the questions the diff asked that the view could not answer.
    pub fn take_misses(&self) -> Misses {
        std::mem::take(&mut *self.misses.borrow_mut())
    }

    /// The resources read so far.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// Answers every miss from a whole registry (for tests and for callers that hold
    /// one); returns how many questions were answered.
    pub fn fill_from(&mut self, source: &Snapshot) -> usize {
        let misses = self.take_misses();
        let n = misses.len();
        for key in misses.resources {
            match source.get(&key) {
                Some(r) => self.insert(r),
                None => self.insert_absent(key),
            }
        }
        for q in misses.related {
            let answer = source.related(&q);
            self.insert_related(q, answer);
        }
        n
    }

    fn lookup<'a, T>(&'a self, kind: Kind, name: &str, found: Option<&'a T>) -> Option<&'a T> {
        if found.is_none() {
            let key = ResourceKey::new(kind, name);
            if !self.absent.contains(&key) {
                self.misses.borrow_mut().resources.insert(key);
            }
        }
        found
    }
}

impl View for PartialView {
    fn plain(&self, kind: Kind, name: &str) -> &Snapshot {
        if !self.snap.contains(&ResourceKey::new(kind, name)) {
            self.lookup::<()>(kind, name, None);
        }
        &self.snap
    }

    fn thing_type(&self, name: &str) -> Option<&ThingType> {
        self.lookup(Kind::ThingType, name, self.snap.thing_types.get(name))
    }
    fn billing_group(&self, name: &str) -> Option<&BillingGroup> {
        self.lookup(Kind::BillingGroup, name, self.snap.billing_groups.get(name))
    }
    fn thing_group(&self, name: &str) -> Option<&ThingGroup> {
        self.lookup(Kind::ThingGroup, name, self.snap.thing_groups.get(name))
    }
    fn policy(&self, name: &str) -> Option<&Policy> {
        self.lookup(Kind::Policy, name, self.snap.policies.get(name))
    }
    fn certificate(&self, id: &str) -> Option<&Certificate> {
        self.lookup(Kind::Certificate, id, self.snap.certificates.get(id))
    }
    fn thing(&self, name: &str) -> Option<&Thing> {
        self.lookup(Kind::Thing, name, self.snap.things.get(name))
    }

    fn related(&self, query: &Related) -> Vec<ResourceKey> {
        match self.answers.get(query) {
            Some(a) => a.clone(),
            None => {
                self.misses.borrow_mut().related.insert(query.clone());
                Vec::new()
            }
        }
    }

    fn principal_coverage(&self) -> PrincipalCoverage {
        self.snap.principal_coverage
    }

    fn is_complete(&self) -> bool {
        false
    }

    fn names(&self, kind: Kind) -> Vec<Name> {
        SnapshotView::new(&self.snap).names(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        let mut s = Snapshot::new();
        s.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: "a".into(),
            policies: ["p"].into_iter().collect(),
            ..Default::default()
        }));
        s.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: "b".into(),
            parent_group_name: Some("a".into()),
            ..Default::default()
        }));
        for (n, ty) in [("t1", "x"), ("t2", "x"), ("t3", "y")] {
            s.insert(Resource::Thing(Thing {
                thing_name: n.into(),
                thing_type_name: Some(ty.into()),
                thing_groups: ["b"].into_iter().collect(),
                principals: ["cert/c1"].into_iter().collect(),
                ..Default::default()
            }));
        }
        s
    }

    #[test]
    fn snapshot_view_answers_like_the_snapshot_scan() {
        let s = sample();
        let v = SnapshotView::new(&s);
        for q in [
            Related::ChildGroups("a".into()),
            Related::ChildGroups("b".into()),
            Related::ThingsWithPrincipal("cert/c1".into()),
            Related::ThingsOfType("x".into()),
            Related::ThingsOfType("z".into()),
            Related::GroupMembers("b".into()),
            Related::PolicyTargets("p".into()),
            Related::PolicyTargets("q".into()),
        ] {
            assert_eq!(v.related(&q), s.related(&q), "{q}");
        }
        assert!(v.is_complete());
        assert_eq!(v.names(Kind::ThingGroup), ["a", "b"]);
    }

    #[test]
    fn partial_view_records_misses_until_filled() {
        let s = sample();
        let mut v = PartialView::new(PrincipalCoverage::All);
        assert!(v.thing("t1").is_none());
        assert!(v.thing("nope").is_none());
        assert!(v.related(&Related::ThingsOfType("x".into())).is_empty());
        let m = v.take_misses();
        assert_eq!(m.resources.len(), 2);
        assert_eq!(m.related.len(), 1);
        // Ask again so that the misses are pending, then fill them.
        v.thing("t1");
        v.thing("nope");
        v.related(&Related::ThingsOfType("x".into()));
        assert_eq!(v.fill_from(&s), 3);
        assert!(v.thing("t1").is_some());
        assert!(v.thing("nope").is_none());
        assert_eq!(v.related(&Related::ThingsOfType("x".into())).len(), 2);
        assert!(v.take_misses().is_empty(), "known answers are not misses");
        assert!(v.knows(&ResourceKey::new(Kind::Thing, "nope")));
    }
}
