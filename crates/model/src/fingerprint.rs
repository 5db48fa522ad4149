//! Fingerprints of a registry's content, recorded in a plan so that `apply` can refuse a
//! target that changed since the plan was computed.

use std::collections::BTreeMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::filter::{CompiledFilter, Filter};
use crate::format::{LINES_PER_CHUNK, Wrap, resource_lines};
use crate::resource::{Kind, Name};
use crate::same::SameLines;
use crate::snapshot::Snapshot;

/// The fingerprint of the resources of `s` that `filter` selects: an XXH3-128 over their
/// canonical serialisation (the snapshot file lines, without the header), written
/// `xxh3-128:<32 hex digits>`. Two registries with the same content have the same
/// fingerprint whatever backend they were read from.
pub fn fingerprint(s: &Snapshot, filter: &Filter) -> String {
    fingerprint_pair(s, &SameLines::default(), filter)
}

/// [`fingerprint`] of a registry read side by side with another: its snapshot and the
/// things and certificates both sides hold alike (see [`crate::pair`]). The same value
/// as the fingerprint of the whole registry.
pub fn fingerprint_pair(s: &Snapshot, same: &SameLines, filter: &Filter) -> String {
    let f = filter.compile();
    let mut h = Xxh3::new();
    crate::for_each_kind!(K => {
        if K::FAST_LINE {
            hash_kind_with(&mut h, K::KIND, K::map(s), same, &f, K::as_resource);
        } else {
            hash_kind(&mut h, K::KIND, K::map(s), &f, K::as_resource, K::ALWAYS_FINGERPRINTED);
        }
    });
    format!("xxh3-128:{:032x}", h.digest128())
}

/// Hashes the resources of one kind that the filter selects (the same selection as
/// [`Snapshot::filtered`]); a kind the filter leaves out adds nothing, and so does an
/// empty kind unless `always` (the six original kinds, whose name and count of zero
/// every fingerprint has always hashed).
fn hash_kind<T: Sync>(
    h: &mut Xxh3,
    kind: Kind,
    map: &BTreeMap<Name, T>,
    filter: &CompiledFilter,
    wrap: Wrap<T>,
    always: bool,
) {
    if !filter.selects_kind(kind) {
        return;
    }
    let items: Vec<&T> = filter.select(kind, map).map(|(_, v)| v).collect();
    if items.is_empty() && !always {
        return;
    }
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

/// A resource to hash: from a map, or a line held alike on both sides.
enum Item<'a, T> {
    Resource(&'a T),
    Line(&'a [u8]),
}

/// [`hash_kind`] of a kind that is partly lines held alike (`same`), merged with the
/// map's resources in name order: the lines are hashed as they are (each the line the
/// writer writes for its resource), the resources serialised.
fn hash_kind_with<T: Sync>(
    h: &mut Xxh3,
    kind: Kind,
    map: &BTreeMap<Name, T>,
    same: &SameLines,
    filter: &CompiledFilter,
    wrap: Wrap<T>,
) {
    if same.len(kind) == 0 {
        return hash_kind(h, kind, map, filter, wrap, true);
    }
    let mut own = filter.select(kind, map).peekable();
    let mut items: Vec<Item<'_, T>> = Vec::new();
    let lines = same
        .lines(kind)
        .filter(|(n, _)| filter.is_all() || filter.matches(kind, n));
    for (name, line) in lines {
        while let Some((_, r)) = own.next_if(|(n, _)| n.as_str() < name) {
            items.push(Item::Resource(r));
        }
        items.push(Item::Line(line));
    }
    items.extend(own.map(|(_, r)| Item::Resource(r)));
    let digests: Vec<u128> = items
        .par_chunks(LINES_PER_CHUNK)
        .map(|chunk| {
            // Streamed: the digest of the chunk's lines one after the other, as
            // `hash_kind` hashes them, without copying the lines.
            let mut h = Xxh3::new();
            for item in chunk {
                match item {
                    Item::Resource(r) => h.update(&resource_lines(&[*r], wrap)),
                    Item::Line(l) => {
                        h.update(l);
                        h.update(b"\n");
                    }
                }
            }
            h.digest128()
        })
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
