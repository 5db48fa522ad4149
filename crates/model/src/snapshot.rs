//! A whole registry in memory: every resource of every kind, in deterministic order.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::filter::{CompiledFilter, Filter};
use crate::resource::{
    Authorizer, BillingGroup, CaCertificate, Certificate, DomainConfiguration, EventConfigurations,
    IndexingConfiguration, Kind, Name, Policy, ProvisioningTemplate, Resource, ResourceKey,
    RoleAlias, Thing, ThingGroup, ThingType, TopicRule, TopicRuleDestination,
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
    /// Kinds the registry could not list (an endpoint without the kind's `List` call,
    /// as moto lacks `ListCACertificates`): their resources are unknown here, not
    /// absent, so a comparison leaves the kind out (see [`crate::diff()`]).
    pub unlisted: BTreeSet<Kind>,
    /// Thing types by name.
    pub thing_types: BTreeMap<Name, ThingType>,
    /// Billing groups by name.
    pub billing_groups: BTreeMap<Name, BillingGroup>,
    /// Thing groups by name.
    pub thing_groups: BTreeMap<Name, ThingGroup>,
    /// Policies by name.
    pub policies: BTreeMap<Name, Policy>,
    /// Role aliases by name.
    pub role_aliases: BTreeMap<Name, RoleAlias>,
    /// The registry event configuration (one, [`SINGLETON`](crate::kinds::SINGLETON)).
    pub event_configurations: BTreeMap<Name, EventConfigurations>,
    /// The fleet indexing configuration (one, [`SINGLETON`](crate::kinds::SINGLETON)).
    pub indexing_configurations: BTreeMap<Name, IndexingConfiguration>,
    /// Custom authorizers by name.
    pub authorizers: BTreeMap<Name, Authorizer>,
    /// Domain configurations by name.
    pub domain_configurations: BTreeMap<Name, DomainConfiguration>,
    /// HTTP topic rule destinations by confirmation URL.
    pub topic_rule_destinations: BTreeMap<Name, TopicRuleDestination>,
    /// Topic rules by name.
    pub topic_rules: BTreeMap<Name, TopicRule>,
    /// Provisioning templates by name.
    pub provisioning_templates: BTreeMap<Name, ProvisioningTemplate>,
    /// CA certificates by id.
    pub ca_certificates: BTreeMap<Name, CaCertificate>,
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
    /// Role aliases (left out of plan files when none, as plans before them were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub role_aliases: usize,
    /// Custom authorizers (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub authorizers: usize,
    /// Domain configurations (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub domain_configurations: usize,
    /// Topic rule destinations (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub topic_rule_destinations: usize,
    /// Topic rules (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub topic_rules: usize,
    /// Provisioning templates (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub provisioning_templates: usize,
    /// CA certificates (left out of plan files when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ca_certificates: usize,
    /// Registry event configurations (0 or 1; left out when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub event_configurations: usize,
    /// Fleet indexing configurations (0 or 1; left out when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub indexing_configurations: usize,
    /// Certificates.
    pub certificates: usize,
    /// Things.
    pub things: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Counts {
    /// The count for one kind.
    pub fn get(&self, kind: Kind) -> usize {
        crate::with_kind!(kind, K => K::count(self))
    }

    /// The total over all kinds.
    pub fn total(&self) -> usize {
        Kind::ALL.iter().map(|k| self.get(*k)).sum()
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;

    fn add(mut self, o: Counts) -> Counts {
        crate::for_each_kind!(K => {
            *K::count_mut(&mut self) += K::count(&o);
        });
        self
    }
}

impl Snapshot {
    /// An empty registry.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Inserts (or replaces) a resource.
    pub fn insert(&mut self, resource: Resource) {
        crate::with_resource!(resource, K, r => {
            K::map_mut(self).insert(r.name().clone(), r);
        })
    }

    /// A copy of one resource.
    pub fn get(&self, key: &ResourceKey) -> Option<Resource> {
        crate::with_kind!(key.kind, K => K::map(self).get(&key.name).cloned().map(K::into_resource))
    }

    /// Whether a resource with this key exists.
    pub fn contains(&self, key: &ResourceKey) -> bool {
        crate::with_kind!(key.kind, K => K::map(self).contains_key(&key.name))
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, key: &ResourceKey) -> Option<Resource> {
        crate::with_kind!(key.kind, K => K::map_mut(self).remove(&key.name).map(K::into_resource))
    }

    /// Resource counts per kind.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        crate::for_each_kind!(K => {
            *K::count_mut(&mut c) = K::map(self).len();
        });
        c
    }

    /// Every resource, cloned, in snapshot-file order (kind in dependency order, then
    /// name).
    pub fn resources(&self) -> impl Iterator<Item = Resource> + '_ {
        Kind::ALL.into_iter().flat_map(move |kind| -> Box<dyn Iterator<Item = Resource> + '_> {
            crate::with_kind!(kind, K => Box::new(K::map(self).values().cloned().map(K::into_resource)))
        })
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
        let mut out = Snapshot {
            origin: self.origin.clone(),
            principal_coverage: self.principal_coverage,
            unlisted: self.unlisted.clone(),
            ..Snapshot::default()
        };
        crate::for_each_kind!(K => {
            *K::map_mut(&mut out) = pick(&f, K::KIND, K::map(self));
        });
        out
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
        crate::for_each_kind!(K => {
            retain(&f, K::KIND, K::map_mut(self));
        });
    }

    /// Resource counts per kind of what `filter` selects (without copying anything).
    pub fn selected_counts(&self, filter: &Filter) -> Counts {
        let f = filter.compile();
        if f.is_all() {
            return self.counts();
        }
        let mut c = Counts::default();
        crate::for_each_kind!(K => {
            *K::count_mut(&mut c) = self.selected_names(K::KIND, &f).count();
        });
        c
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
        crate::with_kind!(kind, K => names(filter, kind, K::map(self)))
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
        crate::with_kind!(kind, K => page(K::map(self), after, limit))
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
