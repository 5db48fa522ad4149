//! Relations between resources that a keyed reconcile asks a registry about instead of
//! reading it whole: the children of a thing group, the things a principal is attached
//! to, the things of a type, the targets of a policy, the members of a group.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::resource::{Kind, Name, ResourceKey, principal_certificate_id};
use crate::snapshot::Snapshot;

/// A question about the resources related to one resource. Every answer is a list of
/// resource keys, sorted; a resource that does not exist has no related resources.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "query", content = "name", rename_all = "camelCase")]
pub enum Related {
    /// The thing groups whose parent is this group (direct children only).
    ChildGroups(Name),
    /// The things this principal is attached to (`cert/<id>` for a certificate, or
    /// another principal as the model writes it).
    ThingsWithPrincipal(Name),
    /// The things of this thing type.
    ThingsOfType(Name),
    /// The certificates and thing groups this policy is attached to.
    PolicyTargets(Name),
    /// The things that are direct static members of this thing group.
    GroupMembers(Name),
}

impl Related {
    /// The resource the question is about.
    pub fn subject(&self) -> ResourceKey {
        match self {
            Related::ChildGroups(n) | Related::GroupMembers(n) => {
                ResourceKey::new(Kind::ThingGroup, n.clone())
            }
            Related::ThingsWithPrincipal(p) => match principal_certificate_id(p) {
                Some(id) => ResourceKey::new(Kind::Certificate, id),
                // A principal that is not a registry resource: keyed by the principal.
                None => ResourceKey::new(Kind::Certificate, p.clone()),
            },
            Related::ThingsOfType(n) => ResourceKey::new(Kind::ThingType, n.clone()),
            Related::PolicyTargets(n) => ResourceKey::new(Kind::Policy, n.clone()),
        }
    }
}

impl fmt::Display for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Related::ChildGroups(n) => write!(f, "child groups of {n}"),
            Related::ThingsWithPrincipal(p) => write!(f, "things with principal {p}"),
            Related::ThingsOfType(n) => write!(f, "things of type {n}"),
            Related::PolicyTargets(n) => write!(f, "targets of policy {n}"),
            Related::GroupMembers(n) => write!(f, "members of thing group {n}"),
        }
    }
}

impl Snapshot {
    /// Answers a [`Related`] question by scanning the snapshot (the embedded backends
    /// use this; the cost is one pass over the kind asked about).
    pub fn related(&self, query: &Related) -> Vec<ResourceKey> {
        let things = |f: &dyn Fn(&crate::resource::Thing) -> bool| -> Vec<ResourceKey> {
            self.things
                .values()
                .filter(|t| f(t))
                .map(|t| ResourceKey::new(Kind::Thing, t.thing_name.clone()))
                .collect()
        };
        match query {
            Related::ChildGroups(g) => self
                .thing_groups
                .values()
                .filter(|c| c.parent_group_name.as_ref() == Some(g))
                .map(|c| ResourceKey::new(Kind::ThingGroup, c.thing_group_name.clone()))
                .collect(),
            Related::ThingsWithPrincipal(p) => things(&|t| t.principals.contains(p)),
            Related::ThingsOfType(ty) => things(&|t| t.thing_type_name.as_ref() == Some(ty)),
            Related::GroupMembers(g) => things(&|t| t.thing_groups.contains(g)),
            Related::PolicyTargets(p) => {
                let mut out: Vec<ResourceKey> = self
                    .thing_groups
                    .values()
                    .filter(|g| g.policies.contains(p))
                    .map(|g| ResourceKey::new(Kind::ThingGroup, g.thing_group_name.clone()))
                    .collect();
                out.extend(
                    self.certificates
                        .values()
                        .filter(|c| c.policies.contains(p))
                        .map(|c| ResourceKey::new(Kind::Certificate, c.certificate_id.clone())),
                );
                out.sort();
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{Resource, Thing, ThingGroup};

    #[test]
    fn answers_from_a_snapshot() {
        let mut s = Snapshot::new();
        s.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: "root".into(),
            policies: ["p"].into_iter().collect(),
            ..Default::default()
        }));
        s.insert(Resource::ThingGroup(ThingGroup {
            thing_group_name: "child".into(),
            parent_group_name: Some("root".into()),
            ..Default::default()
        }));
        s.insert(Resource::Thing(Thing {
            thing_name: "t".into(),
            thing_type_name: Some("ty".into()),
            thing_groups: ["child"].into_iter().collect(),
            principals: ["cert/abc"].into_iter().collect(),
            ..Default::default()
        }));
        let t = vec![ResourceKey::new(Kind::Thing, "t")];
        assert_eq!(
            s.related(&Related::ChildGroups("root".into())),
            vec![ResourceKey::new(Kind::ThingGroup, "child")]
        );
        assert_eq!(
            s.related(&Related::ThingsWithPrincipal("cert/abc".into())),
            t
        );
        assert_eq!(s.related(&Related::ThingsOfType("ty".into())), t);
        assert_eq!(s.related(&Related::GroupMembers("child".into())), t);
        assert!(s.related(&Related::GroupMembers("root".into())).is_empty());
        assert_eq!(
            s.related(&Related::PolicyTargets("p".into())),
            vec![ResourceKey::new(Kind::ThingGroup, "root")]
        );
        assert_eq!(
            Related::ThingsWithPrincipal("cert/abc".into()).subject(),
            ResourceKey::new(Kind::Certificate, "abc")
        );
    }
}
