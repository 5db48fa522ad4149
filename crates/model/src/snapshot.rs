//! A whole registry in memory: every resource of every kind, in deterministic order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::filter::{CompiledFilter, Filter};
use crate::resource::{
    BillingGroup, Certificate, Kind, Name, Policy, Resource, ResourceKey, Thing, ThingGroup,
    ThingType,
};

/// Where a snapshot came from: the region and account its ARNs name. Used to rewrite
/// ARNs for another region or account. Both are optional (a hand-written file may have
/// neither).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// The AWS region, e.g. `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The 12-digit AWS account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// Which principals of things a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalCoverage {
    /// Every principal attached to a thing: certificates and any other (IAM, Cognito).
    #[default]
    All,
    /// Certificate principals only: the registry was read per certificate
    /// (`ListPrincipalThings`), which does not see other principals. A comparison with
    /// such a side leaves other principals alone: they are neither attached nor
    /// detached, since their absence here says nothing.
    CertificatesOnly,
}

/// A whole registry. Each kind is kept in a map ordered by name, so iteration (and the
/// snapshot file) is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Region and account of the registry, when known.
    pub origin: Origin,
    /// Which principals of things were read.
    pub principal_coverage: PrincipalCoverage,
    /// Thing types by name.
    pub thing_types: BTreeMap<Name, ThingType>,
    /// Billing groups by name.
    pub billing_groups: BTreeMap<Name, BillingGroup>,
    /// Thing groups by name.
    pub thing_groups: BTreeMap<Name, ThingGroup>,
    /// Policies by name.
    pub policies: BTreeMap<Name, Policy>,
    /// Certificates by id.
    pub certificates: BTreeMap<Name, Certificate>,
    /// Things by name.
    pub things: BTreeMap<Name, Thing>,
}

/// Resource counts per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Thing types.
    pub thing_types: usize,
    /// Billing groups.
    pub billing_groups: usize,
    /// Thing groups.
    pub thing_groups: usize,
    /// Policies.
    pub policies: usize,
    /// Certificates.
    pub certificates: usize,
    /// Things.
    pub things: usize,
}

impl Counts {
    /// The count for one kind.
    pub fn get(&self, kind: Kind) -> usize {
        match kind {
            Kind::ThingType => self.thing_types,
            Kind::BillingGroup => self.billing_groups,
            Kind::ThingGroup => self.thing_groups,
            Kind::Policy => self.policies,
            Kind::Certificate => self.certificates,
            Kind::Thing => self.things,
        }
    }

    /// The total over all kinds.
    pub fn total(&self) -> usize {
        Kind::ALL.iter().map(|k| self.get(*k)).sum()
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;

    fn add(self, o: Counts) -> Counts {
        Counts {
            thing_types: self.thing_types + o.thing_types,
            billing_groups: self.billing_groups + o.billing_groups,
            thing_groups: self.thing_groups + o.thing_groups,
            policies: self.policies + o.policies,
            certificates: self.certificates + o.certificates,
            things: self.things + o.things,
        }
    }
}

impl Snapshot {
    /// An empty registry.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Inserts (or replaces) a resource.
    pub fn insert(&mut self, resource: Resource) {
        match resource {
            Resource::ThingType(r) => {
                self.thing_types.insert(r.thing_type_name.clone(), r);
            }
            Resource::BillingGroup(r) => {
                self.billing_groups.insert(r.billing_group_name.clone(), r);
            }
            Resource::ThingGroup(r) => {
                self.thing_groups.insert(r.thing_group_name.clone(), r);
            }
            Resource::Policy(r) => {
                self.policies.insert(r.policy_name.clone(), r);
            }
            Resource::Certificate(r) => {
                self.certificates.insert(r.certificate_id.clone(), r);
            }
            Resource::Thing(r) => {
                self.things.insert(r.thing_name.clone(), r);
            }
        }
    }

    /// A copy of one resource.
    pub fn get(&self, key: &ResourceKey) -> Option<Resource> {
        let n = &key.name;
        match key.kind {
            Kind::ThingType => self.thing_types.get(n).cloned().map(Resource::ThingType),
            Kind::BillingGroup => self
                .billing_groups
                .get(n)
                .cloned()
                .map(Resource::BillingGroup),
            Kind::ThingGroup => self.thing_groups.get(n).cloned().map(Resource::ThingGroup),
            Kind::Policy => self.policies.get(n).cloned().map(Resource::Policy),
            Kind::Certificate => self.certificates.get(n).cloned().map(Resource::Certificate),
            Kind::Thing => self.things.get(n).cloned().map(Resource::Thing),
        }
    }

    /// Whether a resource with this key exists.
    pub fn contains(&self, key: &ResourceKey) -> bool {
        let n = &key.name;
        match key.kind {
            Kind::ThingType => self.thing_types.contains_key(n),
            Kind::BillingGroup => self.billing_groups.contains_key(n),
            Kind::ThingGroup => self.thing_groups.contains_key(n),
            Kind::Policy => self.policies.contains_key(n),
            Kind::Certificate => self.certificates.contains_key(n),
            Kind::Thing => self.things.contains_key(n),
        }
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, key: &ResourceKey) -> Option<Resource> {
        let n = &key.name;
        match key.kind {
            Kind::ThingType => self.thing_types.remove(n).map(Resource::ThingType),
            Kind::BillingGroup => self.billing_groups.remove(n).map(Resource::BillingGroup),
            Kind::ThingGroup => self.thing_groups.remove(n).map(Resource::ThingGroup),
            Kind::Policy => self.policies.remove(n).map(Resource::Policy),
            Kind::Certificate => self.certificates.remove(n).map(Resource::Certificate),
            Kind::Thing => self.things.remove(n).map(Resource::Thing),
        }
    }

    /// Resource counts per kind.
    pub fn counts(&self) -> Counts {
        Counts {
            thing_types: self.thing_types.len(),
            billing_groups: self.billing_groups.len(),
            thing_groups: self.thing_groups.len(),
            policies: self.policies.len(),
            certificates: self.certificates.len(),
            things: self.things.len(),
        }
    }

    /// Every resource, cloned, in snapshot-file order (kind in dependency order, then
    /// name).
    pub fn resources(&self) -> impl Iterator<Item = Resource> + '_ {
        self.thing_types
            .values()
            .cloned()
            .map(Resource::ThingType)
            .chain(
                self.billing_groups
                    .values()
                    .cloned()
                    .map(Resource::BillingGroup),
            )
            .chain(
                self.thing_groups
                    .values()
                    .cloned()
                    .map(Resource::ThingGroup),
            )
            .chain(self.policies.values().cloned().map(Resource::Policy))
            .chain(
                self.certificates
                    .values()
                    .cloned()
                    .map(Resource::Certificate),
            )
            .chain(self.things.values().cloned().map(Resource::Thing))
    }

    /// A copy holding only the resources `filter` selects, with the same origin and
    /// principal coverage. A filter that selects everything copies the whole registry.
    pub fn filtered(&self, filter: &Filter) -> Snapshot {
        let f = filter.compile();
        if f.is_all() {
            return self.clone();
        }
        fn pick<T: Clone>(
            f: &CompiledFilter,
            kind: Kind,
            map: &BTreeMap<Name, T>,
        ) -> BTreeMap<Name, T> {
            f.select(kind, map)
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        }
        Snapshot {
            origin: self.origin.clone(),
            principal_coverage: self.principal_coverage,
            thing_types: pick(&f, Kind::ThingType, &self.thing_types),
            billing_groups: pick(&f, Kind::BillingGroup, &self.billing_groups),
            thing_groups: pick(&f, Kind::ThingGroup, &self.thing_groups),
            policies: pick(&f, Kind::Policy, &self.policies),
            certificates: pick(&f, Kind::Certificate, &self.certificates),
            things: pick(&f, Kind::Thing, &self.things),
        }
    }

    /// Keeps only the resources `filter` selects, in place (what [`Snapshot::filtered`]
    /// copies, without the copy).
    pub fn retain_selected(&mut self, filter: &Filter) {
        let f = filter.compile();
        if f.is_all() {
            return;
        }
        fn retain<T>(f: &CompiledFilter, kind: Kind, map: &mut BTreeMap<Name, T>) {
            if !f.selects_kind(kind) {
                map.clear();
            } else if !f.selects_all_of(kind) {
                map.retain(|n, _| f.matches(kind, n));
            }
        }
        retain(&f, Kind::ThingType, &mut self.thing_types);
        retain(&f, Kind::BillingGroup, &mut self.billing_groups);
        retain(&f, Kind::ThingGroup, &mut self.thing_groups);
        retain(&f, Kind::Policy, &mut self.policies);
        retain(&f, Kind::Certificate, &mut self.certificates);
        retain(&f, Kind::Thing, &mut self.things);
    }

    /// Resource counts per kind of what `filter` selects (without copying anything).
    pub fn selected_counts(&self, filter: &Filter) -> Counts {
        let f = filter.compile();
        if f.is_all() {
            return self.counts();
        }
        let n = |kind| self.selected_names(kind, &f).count();
        Counts {
            thing_types: n(Kind::ThingType),
            billing_groups: n(Kind::BillingGroup),
            thing_groups: n(Kind::ThingGroup),
            policies: n(Kind::Policy),
            certificates: n(Kind::Certificate),
            things: n(Kind::Thing),
        }
    }

    /// The names (certificate ids) of the resources of `kind` that `filter` selects, in
    /// order.
    pub fn selected_names<'a>(
        &'a self,
        kind: Kind,
        filter: &'a CompiledFilter,
    ) -> Box<dyn Iterator<Item = &'a Name> + 'a> {
        fn names<'a, T>(
            f: &'a CompiledFilter,
            kind: Kind,
            map: &'a BTreeMap<Name, T>,
        ) -> Box<dyn Iterator<Item = &'a Name> + 'a> {
            Box::new(f.select(kind, map).map(|(n, _)| n))
        }
        match kind {
            Kind::ThingType => names(filter, kind, &self.thing_types),
            Kind::BillingGroup => names(filter, kind, &self.billing_groups),
            Kind::ThingGroup => names(filter, kind, &self.thing_groups),
            Kind::Policy => names(filter, kind, &self.policies),
            Kind::Certificate => names(filter, kind, &self.certificates),
            Kind::Thing => names(filter, kind, &self.things),
        }
    }

    /// Up to `limit` names (certificate ids) of the resources of `kind` that sort after
    /// `after` (from the first when `None`), in order, and whether more follow: one page
    /// of a listing whose cursor is the last name seen.
    pub fn names_after(&self, kind: Kind, after: Option<&str>, limit: usize) -> (Vec<Name>, bool) {
        fn page<T>(
            map: &BTreeMap<Name, T>,
            after: Option<&str>,
            limit: usize,
        ) -> (Vec<Name>, bool) {
            use std::ops::Bound;
            let start = match after {
                Some(a) => Bound::Excluded(Name::from(a)),
                None => Bound::Unbounded,
            };
            let mut it = map
                .range::<Name, _>((start, Bound::Unbounded))
                .map(|(n, _)| n.clone());
            let names: Vec<Name> = it.by_ref().take(limit.max(1)).collect();
            (names, it.next().is_some())
        }
        match kind {
            Kind::ThingType => page(&self.thing_types, after, limit),
            Kind::BillingGroup => page(&self.billing_groups, after, limit),
            Kind::ThingGroup => page(&self.thing_groups, after, limit),
            Kind::Policy => page(&self.policies, after, limit),
            Kind::Certificate => page(&self.certificates, after, limit),
            Kind::Thing => page(&self.things, after, limit),
        }
    }

    /// The depth of a thing group in its hierarchy (0 for a root). A cycle or a missing
    /// parent ends the walk, so this always terminates.
    pub fn group_depth(&self, name: &str) -> usize {
        crate::view::group_depth(
            &crate::view::SnapshotView::new(self),
            name,
            self.thing_groups.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, parent: Option<&str>) -> Resource {
        Resource::ThingGroup(ThingGroup {
            thing_group_name: name.into(),
            parent_group_name: parent.map(Into::into),
            ..Default::default()
        })
    }

    #[test]
    fn depth() {
        let mut s = Snapshot::new();
        s.insert(group("a", None));
        s.insert(group("b", Some("a")));
        s.insert(group("c", Some("b")));
        s.insert(group("d", Some("a")));
        assert_eq!(s.group_depth("a"), 0);
        assert_eq!(s.group_depth("c"), 2);
        assert_eq!(s.group_depth("d"), 1);
    }

    #[test]
    fn depth_survives_a_cycle() {
        let mut s = Snapshot::new();
        s.insert(group("a", Some("b")));
        s.insert(group("b", Some("a")));
        assert!(s.group_depth("a") <= 3);
    }

    fn thing(name: &str) -> Resource {
        Resource::Thing(crate::resource::Thing {
            thing_name: name.into(),
            ..Default::default()
        })
    }

    fn sample() -> Snapshot {
        let mut s = Snapshot::new();
        s.origin.region = Some("us-east-1".into());
        s.principal_coverage = PrincipalCoverage::CertificatesOnly;
        s.insert(group("site-a", None));
        s.insert(group("site-b", None));
        for n in ["sensor-1", "sensor-2", "gw-1"] {
            s.insert(thing(n));
        }
        s
    }

    #[test]
    fn filtered_keeps_what_the_filter_selects_with_origin_and_coverage() {
        let s = sample();
        assert_eq!(s.filtered(&Filter::default()), s);
        let f = Filter {
            include: vec!["thing:sensor-*".into()],
            exclude: vec!["*-b".into()],
            ..Default::default()
        };
        let got = s.filtered(&f);
        assert_eq!(
            got.things.keys().collect::<Vec<_>>(),
            ["sensor-1", "sensor-2"]
        );
        assert_eq!(got.thing_groups.keys().collect::<Vec<_>>(), ["site-a"]);
        assert_eq!(got.origin, s.origin);
        assert_eq!(got.principal_coverage, PrincipalCoverage::CertificatesOnly);
        let mut in_place = s.clone();
        in_place.retain_selected(&f);
        assert_eq!(in_place, got);
        let counts = s.selected_counts(&f);
        assert_eq!(counts, got.counts());
        assert_eq!((counts.things, counts.thing_groups), (2, 1));
    }

    #[test]
    fn kinds_outside_the_filter_are_empty() {
        let s = sample();
        let f = Filter {
            kinds: vec![Kind::ThingGroup],
            ..Default::default()
        };
        let got = s.filtered(&f);
        assert!(got.things.is_empty());
        assert_eq!(got.thing_groups.len(), 2);
        assert_eq!(s.selected_counts(&f).total(), 2);
        let c = f.compile();
        assert_eq!(s.selected_names(Kind::Thing, &c).count(), 0);
        assert_eq!(
            s.selected_names(Kind::ThingGroup, &c).collect::<Vec<_>>(),
            ["site-a", "site-b"]
        );
        let mut in_place = s.clone();
        in_place.retain_selected(&f);
        assert_eq!(in_place, got);
    }

    #[test]
    fn insert_get_remove() {
        let mut s = Snapshot::new();
        s.insert(group("a", None));
        let k = ResourceKey::new(Kind::ThingGroup, "a");
        assert!(s.contains(&k));
        assert_eq!(s.get(&k).unwrap().name(), "a");
        assert_eq!(s.counts().total(), 1);
        assert!(s.remove(&k).is_some());
        assert!(!s.contains(&k));
    }
}
