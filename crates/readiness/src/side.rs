//! One registry prepared for evaluation: its policies parsed once, each thing group's
//! policies gathered with its ancestors', its region and account.

use std::collections::HashMap;

use iot_crr_model::{Certificate, Name, Snapshot, Thing, principal_certificate_id};
use iot_crr_policy::{Policy, PolicyError};

/// Where a registry is: the region and account its requests' ARNs carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The partition (`aws`, `aws-cn`, ...).
    pub partition: String,
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
}

impl Place {
    /// The place of `region` and `account`, in the region's partition.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        let region = region.into();
        Place {
            partition: iot_crr_model::arn::partition_of_region(&region).to_string(),
            region,
            account: account.into(),
        }
    }

    /// The ARN of a resource tail (`topic/a/b`) in this place.
    pub fn arn(&self, tail: &str) -> String {
        let mut s = String::with_capacity(
            16 + self.partition.len() + self.region.len() + self.account.len() + tail.len(),
        );
        s.push_str("arn:");
        s.push_str(&self.partition);
        s.push_str(":iot:");
        s.push_str(&self.region);
        s.push(':');
        s.push_str(&self.account);
        s.push(':');
        s.push_str(tail);
        s
    }
}

/// A policy's default version, parsed.
#[derive(Debug)]
pub(crate) struct Compiled<'a> {
    /// The default version's text (`None`: the policy has no default version).
    pub document: Option<&'a str>,
    /// The parsed document, or why it does not parse.
    pub policy: Result<Policy, PolicyError>,
    /// The thing attributes it reads (variables and condition keys).
    pub attributes: Vec<String>,
}

/// One side of the assessment.
pub(crate) struct Side<'a> {
    pub snapshot: &'a Snapshot,
    pub place: Place,
    /// Every policy's default version, parsed.
    pub policies: FastMap<&'a str, Compiled<'a>>,
    /// Each thing group's policies, its ancestors' included (sorted, deduplicated).
    pub group_policies: FastMap<&'a str, Vec<&'a str>>,
    /// Certificates by id and things by name, hashed: a device looks each up once,
    /// and a hash probe beats a walk down a B-tree of a million names.
    certificates: Index<'a, Certificate>,
    things: Index<'a, Thing>,
}

/// A hash map with a fast (not DoS-resistant: the keys are the registries' own
/// names) hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set with the same hasher.
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

type Index<'a, T> = FastMap<&'a str, &'a T>;

fn index<'a, T: Sync>(map: &'a std::collections::BTreeMap<Name, T>) -> Index<'a, T> {
    use rayon::prelude::*;
    map.par_iter().map(|(k, v)| (k.as_str(), v)).collect()
}

impl<'a> Side<'a> {
    pub fn new(snapshot: &'a Snapshot, place: Place) -> Self {
        use rayon::prelude::*;
        let policies = snapshot
            .policies
            .par_iter()
            .map(|(name, p)| {
                let document = p.default_document();
                let policy = match document {
                    Some(d) => Policy::parse(d),
                    None => Err(PolicyError {
                        statement: None,
                        sid: None,
                        message: format!(
                            "its default version {:?} is not among its versions",
                            p.default_version_id
                        ),
                    }),
                };
                let attributes = match &policy {
                    Ok(p) => p
                        .thing_attributes()
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    Err(_) => Vec::new(),
                };
                (
                    name.as_str(),
                    Compiled {
                        document,
                        policy,
                        attributes,
                    },
                )
            })
            .collect();
        let mut group_policies = FastMap::default();
        for name in snapshot.thing_groups.keys() {
            let mut names: Vec<&'a str> = Vec::new();
            let mut at = Some(name);
            // AWS IoT allows seven levels; a cycle in a hand-written file stops here.
            let mut hops = 0;
            while let Some(g) = at.and_then(|n| snapshot.thing_groups.get(n)) {
                names.extend(g.policies.iter().map(Name::as_str));
                at = g.parent_group_name.as_ref();
                hops += 1;
                if hops > 64 {
                    break;
                }
            }
            names.sort_unstable();
            names.dedup();
            group_policies.insert(name.as_str(), names);
        }
        let (certificates, things) =
            rayon::join(|| index(&snapshot.certificates), || index(&snapshot.things));
        Side {
            snapshot,
            place,
            policies,
            group_policies,
            certificates,
            things,
        }
    }

    /// What this side holds of a device: its certificate and the thing of its name
    /// (looked up once per device).
    pub fn held(&self, certificate: &str, thing: Option<&str>) -> Held<'a> {
        Held {
            certificate: self.certificates.get(certificate).copied(),
            thing: thing.and_then(|t| self.things.get(t).copied()),
        }
    }

    /// The policies that apply to a connection of `certificate` with `client_id`: the
    /// certificate's, and (when the client id is the name of a thing that has the
    /// certificate attached) those of the thing's groups and their ancestors. Sorted by
    /// name, deduplicated; a name the registry does not hold is kept (reported as
    /// missing by the caller).
    pub fn effective(&self, held: &Held<'a>, certificate: &str, client_id: &str) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        if let Some(c) = held.certificate {
            out.extend(c.policies.iter().map(Name::as_str));
        }
        if let Some(t) = held.connected_thing(certificate, client_id) {
            for g in t.thing_groups.iter() {
                if let Some(ps) = self.group_policies.get(g.as_str()) {
                    out.extend(ps.iter().copied());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The thing attributes the named policies read.
    pub fn attributes_read<'s>(&'s self, names: &'s [&'a str]) -> impl Iterator<Item = &'s str> {
        names
            .iter()
            .filter_map(|n| self.policies.get(n))
            .flat_map(|c| c.attributes.iter().map(String::as_str))
    }
}

/// What one side holds of a device.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    /// The device's certificate.
    pub certificate: Option<&'a Certificate>,
    /// The thing of the device's name (attached or not).
    pub thing: Option<&'a Thing>,
}

impl<'a> Held<'a> {
    /// The thing, when it has `certificate` attached.
    pub fn attached_thing(&self, certificate: &str) -> Option<&'a Thing> {
        self.thing.filter(|t| {
            t.principals
                .iter()
                .any(|p| principal_certificate_id(p) == Some(certificate))
        })
    }

    /// The thing a connection with `client_id` is for: the attached thing of that
    /// name (AWS IoT resolves thing policy variables, and applies its groups'
    /// policies, only then).
    pub fn connected_thing(&self, certificate: &str, client_id: &str) -> Option<&'a Thing> {
        self.attached_thing(certificate)
            .filter(|t| t.thing_name == client_id)
    }
}
