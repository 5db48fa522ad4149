//! Fingerprints of a registry's content, recorded in a plan so that `apply` can refuse a
//! target that changed since the plan was computed.

use std::collections::BTreeMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::filter::{CompiledFilter, Filter};
use crate::format::{LINES_PER_CHUNK, Wrap, resource_lines};
use crate::resource::{Kind, Name, ResourceRef};
use crate::snapshot::Snapshot;

/// The fingerprint of the resources of `s` that `filter` selects: an XXH3-128 over their
/// canonical serialisation (the snapshot file lines, without the header), written
/// `xxh3-128:<32 hex digits>`. Two registries with the same content have the same
/// fingerprint whatever backend they were read from.
pub fn fingerprint(s: &Snapshot, filter: &Filter) -> String {
    let f = filter.compile();
    let mut h = Xxh3::new();
    hash_kind(&mut h, Kind::ThingType, &s.thing_types, &f, |r| {
        ResourceRef::ThingType(r)
    });
    hash_kind(&mut h, Kind::BillingGroup, &s.billing_groups, &f, |r| {
        ResourceRef::BillingGroup(r)
    });
    hash_kind(&mut h, Kind::ThingGroup, &s.thing_groups, &f, |r| {
        ResourceRef::ThingGroup(r)
    });
    hash_kind(&mut h, Kind::Policy, &s.policies, &f, |r| {
        ResourceRef::Policy(r)
    });
    hash_kind(&mut h, Kind::Certificate, &s.certificates, &f, |r| {
        ResourceRef::Certificate(r)
    });
    hash_kind(&mut h, Kind::Thing, &s.things, &f, |r| {
        ResourceRef::Thing(r)
    });
    format!("xxh3-128:{:032x}", h.digest128())
}

/// Hashes the resources of one kind that the filter selects (the same selection as
/// [`Snapshot::filtered`]); a kind the filter leaves out adds nothing.
fn hash_kind<T: Sync>(
    h: &mut Xxh3,
    kind: Kind,
    map: &BTreeMap<Name, T>,
    filter: &CompiledFilter,
    wrap: Wrap<T>,
) {
    if !filter.selects_kind(kind) {
        return;
    }
    let items: Vec<&T> = filter.select(kind, map).map(|(_, v)| v).collect();
    // Chunks are hashed in parallel; the chunk digests, in order, feed the final hash.
    let digests: Vec<u128> = items
        .par_chunks(LINES_PER_CHUNK)
        .map(|chunk| xxh3_128(&resource_lines(chunk, wrap)))
        .collect();
    h.update(kind.as_str().as_bytes());
    h.update(&(items.len() as u64).to_le_bytes());
    for d in digests {
        h.update(&d.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{Resource, Thing};

    fn thing(n: &str) -> Resource {
        Resource::Thing(Thing {
            thing_name: n.into(),
            ..Default::default()
        })
    }

    #[test]
    fn equal_content_equal_fingerprint() {
        let mut a = Snapshot::new();
        a.insert(thing("x"));
        let mut b = a.clone();
        b.origin.region = Some("eu-west-1".into());
        assert_eq!(
            fingerprint(&a, &Filter::default()),
            fingerprint(&b, &Filter::default())
        );
        b.insert(thing("y"));
        assert_ne!(
            fingerprint(&a, &Filter::default()),
            fingerprint(&b, &Filter::default())
        );
        let only_x = Filter {
            include: vec!["x".into()],
            ..Default::default()
        };
        assert_eq!(fingerprint(&a, &only_x), fingerprint(&b, &only_x));
        assert!(fingerprint(&a, &only_x).starts_with("xxh3-128:"));
    }

    #[test]
    fn a_filter_fingerprints_what_filtered_keeps() {
        let mut s = Snapshot::new();
        for n in ["sensor-1", "sensor-2", "gw-1"] {
            s.insert(thing(n));
        }
        let f = Filter {
            include: vec!["thing:sensor-*".into()],
            ..Default::default()
        };
        assert_eq!(
            fingerprint(&s, &f),
            fingerprint(&s.filtered(&f), &Filter::default())
        );
        let no_things = Filter {
            kinds: vec![Kind::Policy],
            ..Default::default()
        };
        assert_eq!(
            fingerprint(&s, &no_things),
            fingerprint(&Snapshot::new(), &no_things)
        );
    }
}
