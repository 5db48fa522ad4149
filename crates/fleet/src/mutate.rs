//! A second version of a registry: some things changed, some added, some removed.

use std::collections::{BTreeMap, HashSet};

use rand::Rng;
use rand::seq::index;

use iot_crr_model::{Name, NameSet, Snapshot, Thing, principal_certificate_id};

use crate::world::{self, Line, PROFILES};
use crate::{Catalog, STREAM_ADD, STREAM_ADD_CERT, STREAM_MUTATE, issuer, rng_for, thing_name};

/// Returns a copy of `base` in which the given shares of its things are changed, added
/// and removed (each a fraction of `base`'s thing count, rounded; `changed + removed` is
/// capped at all things). Deterministic for a given base and seed.
///
/// - A changed thing gets one or two edits among: an attribute edited (a firmware
///   update), an attribute removed, an attribute added, another thing type, a move to
///   another line group (leaving its other group in that hierarchy, as AWS requires),
///   another billing group. Every changed thing differs from its base version; its
///   `version` goes up by one.
/// - A removed thing takes its certificates with it (unless another thing still has
///   them attached), as when a device is decommissioned.
/// - An added thing is a new device (`sensor-<next number>`) in the base's types and
///   groups; it gets a certificate as often as the base's things have one, issued by the
///   CA of `seed` (see [`ca_certificate_pem`](crate::ca_certificate_pem)).
///
/// Policies, types and groups are left alone.
pub fn mutate(base: &Snapshot, seed: u64, changed: f64, added: f64, removed: f64) -> Snapshot {
    let n = base.things.len();
    let count = |share: f64| -> usize {
        let c = (share.max(0.0) * n as f64).round();
        if c >= n as f64 { n } else { c as usize }
    };
    let n_removed = count(removed);
    let n_changed = count(changed).min(n - n_removed);
    let n_added = if added > 0.0 {
        (added * n as f64).round() as usize
    } else {
        0
    };

    let catalog = catalog_of(base);
    let mut out = base.clone();
    let names: Vec<&Name> = base.things.keys().collect();
    let mut rng = rng_for(seed, STREAM_MUTATE, u64::MAX);
    let picked = index::sample(&mut rng, n, n_removed + n_changed).into_vec();
    let (to_remove, to_change) = picked.split_at(n_removed);

    // Removals, with the certificates only they hold.
    let mut orphans: HashSet<Name> = HashSet::new();
    for &i in to_remove {
        if let Some(t) = out.things.remove(names[i]) {
            orphans.extend(
                t.principals
                    .iter()
                    .filter_map(|p| principal_certificate_id(p).map(Name::from)),
            );
        }
    }
    if !orphans.is_empty() {
        for t in out.things.values() {
            for p in &t.principals {
                if let Some(id) = principal_certificate_id(p) {
                    orphans.remove(id);
                }
            }
        }
        for id in &orphans {
            out.certificates.remove(id);
        }
    }

    // Changes.
    if !to_change.is_empty() {
        let roots = group_roots(base);
        for &i in to_change {
            let mut rng = rng_for(seed, STREAM_MUTATE, i as u64);
            let thing = out.things.get_mut(names[i]).expect("picked things exist");
            change_thing(thing, &catalog, &roots, &mut rng);
        }
    }

    // Additions, numbered after the highest existing `sensor-N`.
    if n_added > 0 && !catalog.lines.is_empty() {
        let next = base
            .things
            .keys()
            .filter_map(|k| k.strip_prefix("sensor-")?.parse::<usize>().ok())
            .max()
            .map_or(0, |m| m + 1);
        let ratio = if n == 0 {
            0.0
        } else {
            (base.certificates.len() as f64 / n as f64).min(1.0)
        };
        let issuer = (ratio > 0.0).then(|| issuer(seed));
        let mut k = next;
        let mut made = 0;
        while made < n_added {
            let name = thing_name(k, 6);
            k += 1;
            if out.things.contains_key(&name) {
                continue;
            }
            let mut rng = rng_for(seed, STREAM_ADD, made as u64);
            let mut crng = rng_for(seed, STREAM_ADD_CERT, made as u64);
            let (thing, cert) = catalog.device(
                name,
                &mut rng,
                issuer.as_ref().map(|is| (is, ratio, &mut crng)),
            );
            if let Some(c) = cert {
                out.certificates.insert(c.certificate_id.clone(), c);
            }
            out.things.insert(thing.thing_name.clone(), thing);
            made += 1;
        }
    }
    out
}

/// The root of every thing group's hierarchy (a group with a missing parent is its own
/// root; a cycle stops the walk).
fn group_roots(s: &Snapshot) -> BTreeMap<Name, Name> {
    s.thing_groups
        .keys()
        .map(|g| {
            let mut cur = g.clone();
            for _ in 0..=s.thing_groups.len() {
                match s
                    .thing_groups
                    .get(&cur)
                    .and_then(|x| x.parent_group_name.clone())
                {
                    Some(p) if s.thing_groups.contains_key(&p) => cur = p,
                    _ => break,
                }
            }
            (g.clone(), cur)
        })
        .collect()
}

/// The vocabulary of an existing registry: its types, its leaf groups outside the
/// rollout hierarchy as lines, its rings, billing groups and policies.
fn catalog_of(base: &Snapshot) -> Catalog {
    let untyped = PROFILES
        .iter()
        .find(|p| p.type_name.is_none())
        .expect("an untyped profile exists");
    let mut kinds: Vec<_> = base
        .thing_types
        .values()
        .filter(|t| !t.deprecated)
        .map(|t| {
            let profile = PROFILES
                .iter()
                .find(|p| p.type_name == Some(t.thing_type_name.as_str()))
                .unwrap_or(untyped);
            // A type the generator does not know still gets typed attributes.
            let profile = if profile.type_name.is_none() {
                &PROFILES[0]
            } else {
                profile
            };
            (Some(t.thing_type_name.clone()), profile, profile.weight)
        })
        .collect();
    kinds.push((None, untyped, untyped.weight));

    let roots = group_roots(base);
    let parents: HashSet<&Name> = base
        .thing_groups
        .values()
        .filter_map(|g| g.parent_group_name.as_ref())
        .collect();
    let last = |s: &str| -> Name { s.rsplit('-').next().unwrap_or(s).into() };
    let lines = base
        .thing_groups
        .values()
        .filter(|g| {
            !g.is_dynamic()
                && !parents.contains(&g.thing_group_name)
                && roots.get(&g.thing_group_name).map(Name::as_str) != Some(world::ROLLOUT_ROOT)
        })
        .map(|g| {
            let site_group = g
                .parent_group_name
                .clone()
                .unwrap_or_else(|| g.thing_group_name.clone());
            Line {
                group: g.thing_group_name.clone(),
                site: last(&site_group),
                line: last(&g.thing_group_name),
                site_group,
            }
        })
        .collect();
    let rings = world::RINGS
        .iter()
        .filter(|(n, _, _)| base.thing_groups.contains_key(*n))
        .map(|(n, _, share)| (Name::from(*n), *share))
        .collect();
    let known: BTreeMap<&str, u32> = world::BILLING_GROUPS
        .iter()
        .map(|(n, _, s)| (*n, *s))
        .collect();
    let n_bg = base.billing_groups.len().max(1) as u32;
    let billing = base
        .billing_groups
        .keys()
        .map(|b| {
            (
                b.clone(),
                known.get(b.as_str()).copied().unwrap_or(90 / n_bg),
            )
        })
        .collect();
    Catalog {
        kinds,
        lines,
        rings,
        billing,
        policies: base.policies.keys().cloned().collect(),
    }
}

/// Applies one or two random edits to `thing`, making sure it differs afterwards.
fn change_thing(
    thing: &mut Thing,
    catalog: &Catalog,
    roots: &BTreeMap<Name, Name>,
    rng: &mut impl Rng,
) {
    let before = thing.clone();
    for _ in 0..rng.random_range(1..=2) {
        match rng.random_range(0..6u32) {
            0 => edit_attribute(thing, rng),
            1 => {
                let removable: Vec<Name> = thing
                    .attributes
                    .keys()
                    .filter(|k| !matches!(*k, "model" | "serial"))
                    .map(Name::from)
                    .collect();
                if removable.is_empty() {
                    edit_attribute(thing, rng);
                } else {
                    let k = &removable[rng.random_range(0..removable.len())];
                    thing.attributes.remove(k);
                }
            }
            2 => {
                if thing.thing_type_name.is_some() || thing.attributes.len() < 3 {
                    thing.attributes.insert("maintainedAt", world::date(rng));
                } else {
                    edit_attribute(thing, rng);
                }
            }
            3 => {
                let typed: Vec<&Name> = catalog
                    .kinds
                    .iter()
                    .filter_map(|k| k.0.as_ref())
                    .filter(|t| Some(*t) != thing.thing_type_name.as_ref())
                    .collect();
                if !typed.is_empty() {
                    thing.thing_type_name = Some(typed[rng.random_range(0..typed.len())].clone());
                }
            }
            4 => {
                if !catalog.lines.is_empty() {
                    let line = &catalog.lines[rng.random_range(0..catalog.lines.len())];
                    let root = roots.get(&line.group);
                    let keep: NameSet = thing
                        .thing_groups
                        .iter()
                        .filter(|g| roots.get(*g) != root)
                        .cloned()
                        .collect();
                    thing.thing_groups = keep;
                    thing.thing_groups.insert(line.group.clone());
                    if thing.attributes.get("site").is_some() {
                        thing.attributes.insert("site", line.site.clone());
                    }
                    if thing.attributes.get("line").is_some() {
                        thing.attributes.insert("line", line.line.clone());
                    }
                }
            }
            _ => {
                let others: Vec<&Name> = catalog
                    .billing
                    .iter()
                    .map(|b| &b.0)
                    .filter(|b| Some(*b) != thing.billing_group_name.as_ref())
                    .collect();
                if others.is_empty() || rng.random_bool(0.2) {
                    thing.billing_group_name = None;
                } else {
                    thing.billing_group_name =
                        Some(others[rng.random_range(0..others.len())].clone());
                }
            }
        }
    }
    if *thing == before {
        // Every edit drawn happened to be a no-op: a firmware update always changes.
        edit_attribute(thing, rng);
        if *thing == before {
            thing.attributes.insert("revision", "2");
        }
    }
    thing.version = thing.version.map(|v| v + 1);
}

/// Edits one attribute: a firmware update when the thing reports firmware, otherwise a
/// new value for a random attribute. Adds `revision` when there is nothing to edit.
fn edit_attribute(thing: &mut Thing, rng: &mut impl Rng) {
    if let Some(old) = thing.attributes.get("firmware").map(Name::from) {
        let mut new = world::firmware(rng);
        while new == old {
            new = world::firmware(rng);
        }
        thing.attributes.insert("firmware", new);
        return;
    }
    let keys: Vec<Name> = thing.attributes.keys().map(Name::from).collect();
    if keys.is_empty() {
        thing.attributes.insert("revision", "2");
        return;
    }
    let k = &keys[rng.random_range(0..keys.len())];
    let old = thing.attributes.get(k).unwrap_or_default();
    let new = compact_str::format_compact!("{old}-r{}", rng.random_range(2..10u32));
    thing.attributes.insert(k.clone(), new);
}
