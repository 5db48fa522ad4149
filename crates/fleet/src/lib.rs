//! Deterministic synthetic AWS IoT registries.
//!
//! [`generate`] builds a realistic registry from a [`FleetSpec`]: a handful of thing
//! types (one deprecated, without things), a four-level thing-group hierarchy
//! (region > country > site > line) whose size scales with the fleet plus a second
//! hierarchy of rollout rings, billing groups, policies with several versions (real IoT
//! policy JSON naming the spec's region and account, the default sometimes not the
//! latest), things named `sensor-000042` with typed attributes, and real X.509
//! certificates (ECDSA P-256, signed by one issuer derived from the seed) attached to
//! their things and to policies. The same spec always gives the same registry, so the
//! snapshot file is byte-identical from run to run.
//!
//! [`mutate`] derives a second version of a registry with a given share of things changed,
//! added and removed: the input of the plan benchmark and of tests.
//!
//! The generated registry respects the AWS IoT rules a real one obeys: a thing is in at
//! most one group of each hierarchy and in at most two groups in all, a thing without a
//! type has at most three attributes, attribute values use only the characters AWS
//! allows, a certificate's id is the SHA-256 of its DER bytes.
//!
//! ```
//! use iot_crr_fleet::{FleetSpec, generate};
//!
//! let spec = FleetSpec { things: 50, seed: 7, ..FleetSpec::default() };
//! let registry = generate(&spec);
//! assert_eq!(registry.things.len(), 50);
//! assert_eq!(registry.certificates.len(), 50);
//! assert_eq!(generate(&spec), registry);
//! ```

mod cert;
mod mutate;
mod world;

use std::collections::BTreeMap;

use compact_str::format_compact;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use iot_crr_model::{
    BillingGroup, Certificate, CertificateStatus, Name, NameSet, Origin, Policy, PolicyVersion,
    Snapshot, StringMap, Thing, ThingGroup, ThingType, cert_principal,
};

pub use mutate::mutate;

use cert::Issuer;
use world::{Line, Profile};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Number of things.
    pub things: usize,
    /// Seed of every random choice: the same spec gives the same registry.
    pub seed: u64,
    /// Share of things that get a certificate, from 0.0 to 1.0 (default 1.0). Values
    /// outside that range are clamped by [`generate`]; [`FleetSpec::validate`] rejects
    /// them.
    pub certificate_ratio: f64,
    /// The region the registry's ARNs name (default `us-east-1`).
    pub region: String,
    /// The account the registry's ARNs name (default `123456789012`).
    pub account_id: String,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            things: 1000,
            seed: 0,
            certificate_ratio: 1.0,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }
}

/// Why a [`FleetSpec`] is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FleetError {
    /// The certificate ratio is not between 0 and 1.
    #[error("certificate ratio {0} is not between 0.0 and 1.0")]
    CertificateRatio(f64),
    /// The region is not a region name like `us-east-1`.
    #[error("region {0:?} is not a region name like us-east-1")]
    Region(String),
    /// The account id is not twelve digits.
    #[error("account id {0:?} is not twelve digits")]
    AccountId(String),
}

impl FleetSpec {
    /// A spec of `things` things with the other fields at their defaults.
    pub fn new(things: usize) -> Self {
        FleetSpec {
            things,
            ..FleetSpec::default()
        }
    }

    /// Checks the spec; [`generate`] accepts any spec, this tells a user what is wrong.
    pub fn validate(&self) -> Result<(), FleetError> {
        if !(0.0..=1.0).contains(&self.certificate_ratio) {
            return Err(FleetError::CertificateRatio(self.certificate_ratio));
        }
        let r = &self.region;
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(FleetError::Region(r.clone()));
        }
        let a = &self.account_id;
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FleetError::AccountId(a.clone()));
        }
        Ok(())
    }
}

// Independent random streams, so that one part of the fleet does not shift when another
// changes (the things are the same whatever the certificate ratio).
const STREAM_SHAPE: u64 = 1;
const STREAM_THING: u64 = 2;
const STREAM_CERT: u64 = 3;
const STREAM_ISSUER: u64 = 4;
pub(crate) const STREAM_MUTATE: u64 = 5;
pub(crate) const STREAM_ADD: u64 = 6;
pub(crate) const STREAM_ADD_CERT: u64 = 7;

/// A random stream for one item of one domain.
pub(crate) fn rng_for(seed: u64, domain: u64, index: u64) -> ChaCha8Rng {
    // splitmix64 of (seed, domain) as the key, the item as the ChaCha stream.
    let mut z = seed ^ domain.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let mut rng = ChaCha8Rng::seed_from_u64(z);
    rng.set_stream(index);
    rng
}

/// The issuer of the device certificates of fleets generated with `seed`.
pub(crate) fn issuer(seed: u64) -> Issuer {
    Issuer::new(&mut rng_for(seed, STREAM_ISSUER, 0), seed)
}

/// The PEM of the self-signed CA certificate that signs the device certificates of the
/// fleet generated with `seed` (and of the things [`mutate`] adds with that seed). Its
/// subject is `CN=iot-crr fleet CA <seed in hex>`. Register it in a registry to register
/// the device certificates with their CA instead of without one.
pub fn ca_certificate_pem(seed: u64) -> String {
    issuer(seed).ca_certificate().pem
}

/// What devices are made of: the types, lines, rings and billing groups they can be
/// placed in, and the policies their certificates can get.
pub(crate) struct Catalog {
    /// (thing type name, profile, weight).
    pub kinds: Vec<(Option<Name>, &'static Profile, u32)>,
    /// Line groups.
    pub lines: Vec<Line>,
    /// Rollout ring groups with their share in per mille.
    pub rings: Vec<(Name, u32)>,
    /// Billing groups with their share in percent.
    pub billing: Vec<(Name, u32)>,
    /// Policies that exist (certificates only get these).
    pub policies: NameSet,
}

impl Catalog {
    /// One device: its thing and, when `cert` gives an issuer and the ratio draw says so,
    /// its certificate.
    pub(crate) fn device(
        &self,
        name: Name,
        rng: &mut impl Rng,
        cert: Option<(&Issuer, f64, &mut ChaCha8Rng)>,
    ) -> (Thing, Option<Certificate>) {
        let total: u32 = self.kinds.iter().map(|k| k.2).sum();
        let mut pick = rng.random_range(0..total.max(1));
        let mut kind = &self.kinds[0];
        for k in &self.kinds {
            if pick < k.2 {
                kind = k;
                break;
            }
            pick -= k.2;
        }
        let (type_name, profile, _) = kind;
        let line = &self.lines[rng.random_range(0..self.lines.len())];
        let attributes = world::attributes(profile, line, rng);
        let mut groups = NameSet::new();
        groups.insert(if profile.at_site {
            line.site_group.clone()
        } else {
            line.group.clone()
        });
        let mut r = rng.random_range(0..1000u32);
        for (ring, share) in &self.rings {
            if r < *share {
                groups.insert(ring.clone());
                break;
            }
            r -= share;
        }
        let mut r = rng.random_range(0..100u32);
        let mut billing_group_name = None;
        for (bg, share) in &self.billing {
            if r < *share {
                billing_group_name = Some(bg.clone());
                break;
            }
            r -= share;
        }
        let version = Some(rng.random_range(1..=12i64));
        let mut thing = Thing {
            thing_name: name,
            thing_type_name: type_name.clone(),
            attributes,
            thing_groups: groups,
            billing_group_name,
            principals: NameSet::new(),
            version,
        };
        let certificate = cert.and_then(|(issuer, ratio, crng)| {
            if !crng.random_bool(ratio.clamp(0.0, 1.0)) {
                return None;
            }
            let issued = issuer.issue(crng, &thing.thing_name);
            let status = if crng.random_bool(0.93) {
                CertificateStatus::Active
            } else {
                CertificateStatus::Inactive
            };
            let mut policies = NameSet::new();
            for (p, share) in [
                (profile.policy, 1.0),
                ("fleet-shadow", 0.15),
                ("fleet-jobs", 0.1),
            ] {
                if crng.random_bool(share) && self.policies.contains(p) {
                    policies.insert(p);
                }
            }
            thing.principals.insert(cert_principal(&issued.id));
            Some(Certificate {
                certificate_id: issued.id.into(),
                certificate_pem: issued.pem,
                status,
                ca_certificate_id: None,
                policies,
            })
        });
        (thing, certificate)
    }
}

/// The thing name of device `index` in a fleet whose names have `width` digits.
pub(crate) fn thing_name(index: usize, width: usize) -> Name {
    format_compact!("sensor-{index:0width$}")
}

/// Generates the registry described by `spec`. Deterministic: the same spec gives an
/// equal snapshot (and a byte-identical snapshot file).
pub fn generate(spec: &FleetSpec) -> Snapshot {
    let mut snap = Snapshot::new();
    snap.origin = Origin {
        region: Some(spec.region.clone()),
        account_id: Some(spec.account_id.clone()),
    };
    let mut rng = rng_for(spec.seed, STREAM_SHAPE, 0);

    // Thing types.
    for p in world::PROFILES {
        let Some(t) = p.type_name else { continue };
        let mut tags = StringMap::new();
        if rng.random_bool(0.5) {
            tags.insert("team", if p.at_site { "connectivity" } else { "sensing" });
            tags.insert("dataClass", "telemetry");
        }
        snap.thing_types.insert(
            t.into(),
            ThingType {
                thing_type_name: t.into(),
                thing_type_description: Some(p.description.into()),
                searchable_attributes: p.searchable.iter().copied().collect(),
                deprecated: false,
                tags,
            },
        );
    }
    snap.thing_types.insert(
        world::DEPRECATED_TYPE.into(),
        ThingType {
            thing_type_name: world::DEPRECATED_TYPE.into(),
            thing_type_description: Some(
                "First-generation sensor, replaced by temperature-sensor".into(),
            ),
            searchable_attributes: ["model"].into_iter().collect(),
            deprecated: true,
            tags: [("retiredIn", "2024")].into_iter().collect(),
        },
    );

    // Billing groups.
    for (name, description, _) in world::BILLING_GROUPS {
        let mut tags = StringMap::new();
        if rng.random_bool(0.5) {
            tags.insert(
                "costCenter",
                format_compact!("cc-{}", rng.random_range(1000..10000u32)),
            );
        }
        snap.billing_groups.insert(
            (*name).into(),
            BillingGroup {
                billing_group_name: (*name).into(),
                billing_group_description: Some((*description).into()),
                tags,
            },
        );
    }

    // The geographic hierarchy: region > country > site > line.
    let mut countries = Vec::new();
    let widest = world::GEOGRAPHY
        .iter()
        .map(|r| r.2.len())
        .max()
        .unwrap_or(0);
    for k in 0..widest {
        for (ri, region) in world::GEOGRAPHY.iter().enumerate() {
            if k < region.2.len() {
                countries.push((ri, k));
            }
        }
    }
    let n_sites = spec.things.div_ceil(world::THINGS_PER_SITE).max(1);
    let mut lines: Vec<Line> = Vec::new();
    let mut region_policies = Vec::new();
    for j in 0..n_sites {
        let (ri, ci) = countries[j % countries.len()];
        let (rcode, rdesc, cs) = world::GEOGRAPHY[ri];
        let (cc, cname, tz, cities) = cs[ci];
        let nth = j / countries.len();
        let site = format_compact!(
            "{}{:02}",
            cities[nth % cities.len()],
            nth / cities.len() + 1
        );
        let region_group: Name = rcode.into();
        let country_group = format_compact!("{rcode}-{cc}");
        let site_group = format_compact!("{country_group}-{site}");
        if !snap.thing_groups.contains_key(&region_group) {
            let policy = format_compact!("fleet-region-{rcode}");
            region_policies.push(policy.clone());
            snap.thing_groups.insert(
                region_group.clone(),
                ThingGroup {
                    thing_group_name: region_group.clone(),
                    thing_group_description: Some(rdesc.into()),
                    attributes: [("regionCode", rcode)].into_iter().collect(),
                    policies: [policy].into_iter().collect(),
                    tags: [("owner", "iot-platform"), ("scope", "region")]
                        .into_iter()
                        .collect(),
                    ..ThingGroup::default()
                },
            );
        }
        snap.thing_groups
            .entry(country_group.clone())
            .or_insert_with(|| ThingGroup {
                thing_group_name: country_group.clone(),
                parent_group_name: Some(region_group.clone()),
                thing_group_description: Some(format!("Devices in {cname}")),
                attributes: [
                    ("country", cc.to_ascii_uppercase().as_str()),
                    ("timezone", tz),
                ]
                .into_iter()
                .collect(),
                ..ThingGroup::default()
            });
        let mut site_attrs: StringMap = [("siteCode", site.as_str()), ("timezone", tz)]
            .into_iter()
            .collect();
        site_attrs.insert("shifts", format_compact!("{}", rng.random_range(1..=3u32)));
        let mut policies = NameSet::new();
        if rng.random_bool(0.1) {
            policies.insert(world::MONITOR_POLICY);
        }
        let mut tags = StringMap::new();
        if rng.random_bool(0.2) {
            tags.insert("siteManager", format_compact!("ops-{site}"));
        }
        snap.thing_groups.insert(
            site_group.clone(),
            ThingGroup {
                thing_group_name: site_group.clone(),
                parent_group_name: Some(country_group.clone()),
                thing_group_description: Some(format!("Plant {site} ({cname})")),
                attributes: site_attrs,
                policies,
                tags,
                ..ThingGroup::default()
            },
        );
        for l in 1..=rng.random_range(2..=8u32) {
            let line = format_compact!("l{l:02}");
            let group = format_compact!("{site_group}-{line}");
            snap.thing_groups.insert(
                group.clone(),
                ThingGroup {
                    thing_group_name: group.clone(),
                    parent_group_name: Some(site_group.clone()),
                    thing_group_description: rng
                        .random_bool(0.3)
                        .then(|| format!("Production line {l} of {site}")),
                    attributes: [("lineNo", format_compact!("{l:02}"))]
                        .into_iter()
                        .collect(),
                    ..ThingGroup::default()
                },
            );
            lines.push(Line {
                group,
                site_group: site_group.clone(),
                site: site.clone(),
                line,
            });
        }
    }

    // The rollout hierarchy.
    snap.thing_groups.insert(
        world::ROLLOUT_ROOT.into(),
        ThingGroup {
            thing_group_name: world::ROLLOUT_ROOT.into(),
            thing_group_description: Some("Over-the-air update rings".into()),
            tags: [("owner", "firmware-team")].into_iter().collect(),
            ..ThingGroup::default()
        },
    );
    for (name, description, _) in world::RINGS {
        let policies = if *name == "rollout-canary" {
            [world::CANARY_POLICY].into_iter().collect()
        } else {
            NameSet::new()
        };
        snap.thing_groups.insert(
            (*name).into(),
            ThingGroup {
                thing_group_name: (*name).into(),
                parent_group_name: Some(world::ROLLOUT_ROOT.into()),
                thing_group_description: Some((*description).into()),
                attributes: [("ring", name.trim_start_matches("rollout-"))]
                    .into_iter()
                    .collect(),
                policies,
                ..ThingGroup::default()
            },
        );
    }

    // Policies, with 2 to 5 versions; the default is the latest about 70% of the time.
    let names: Vec<Name> = world::POLICIES
        .iter()
        .map(|p| Name::from(*p))
        .chain(region_policies)
        .collect::<NameSet>()
        .iter()
        .cloned()
        .collect();
    for name in names {
        let n = rng.random_range(2..=5usize);
        let versions: Vec<PolicyVersion> = (1..=n)
            .map(|v| PolicyVersion {
                version_id: format_compact!("{v}"),
                policy_document: world::policy_document(&name, v, &spec.region, &spec.account_id),
            })
            .collect();
        let default = if rng.random_bool(0.7) {
            n
        } else {
            rng.random_range(1..n)
        };
        let mut tags = StringMap::new();
        if rng.random_bool(0.5) {
            tags.insert("managedBy", "iot-crr-fleet");
        }
        snap.policies.insert(
            name.clone(),
            Policy {
                policy_name: name,
                default_version_id: format_compact!("{default}"),
                versions,
                tags,
            },
        );
    }

    // Things and their certificates.
    let catalog = Catalog {
        kinds: world::PROFILES
            .iter()
            .map(|p| (p.type_name.map(Name::from), p, p.weight))
            .collect(),
        lines,
        rings: world::RINGS
            .iter()
            .map(|(n, _, share)| (Name::from(*n), *share))
            .collect(),
        billing: world::BILLING_GROUPS
            .iter()
            .map(|(n, _, share)| (Name::from(*n), *share))
            .collect(),
        policies: snap.policies.keys().cloned().collect(),
    };
    let ratio = spec.certificate_ratio.clamp(0.0, 1.0);
    let issuer = (ratio > 0.0).then(|| issuer(spec.seed));
    let width = name_width(spec.things);
    let devices: Vec<(Thing, Option<Certificate>)> = (0..spec.things)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let mut rng = rng_for(spec.seed, STREAM_THING, i as u64);
            let mut crng = rng_for(spec.seed, STREAM_CERT, i as u64);
            catalog.device(
                thing_name(i, width),
                &mut rng,
                issuer.as_ref().map(|is| (is, ratio, &mut crng)),
            )
        })
        .collect();
    let mut certificates = Vec::new();
    let mut things = Vec::with_capacity(devices.len());
    for (thing, cert) in devices {
        things.push((thing.thing_name.clone(), thing));
        certificates.extend(cert.map(|c| (c.certificate_id.clone(), c)));
    }
    // Names are zero-padded, so `things` is already sorted and the map is built in bulk.
    snap.things = things.into_iter().collect();
    snap.certificates = certificates.into_iter().collect::<BTreeMap<_, _>>();
    snap
}

/// The number of digits of thing names in a fleet of `things` (at least six).
fn name_width(things: usize) -> usize {
    things.saturating_sub(1).to_string().len().max(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_validation() {
        assert!(FleetSpec::default().validate().is_ok());
        let bad = |f: fn(&mut FleetSpec)| {
            let mut s = FleetSpec::default();
            f(&mut s);
            s.validate().unwrap_err()
        };
        assert!(matches!(
            bad(|s| s.certificate_ratio = 1.5),
            FleetError::CertificateRatio(_)
        ));
        assert!(matches!(
            bad(|s| s.region = "US East".into()),
            FleetError::Region(_)
        ));
        assert!(matches!(
            bad(|s| s.account_id = "12".into()),
            FleetError::AccountId(_)
        ));
    }

    #[test]
    fn names_are_padded() {
        assert_eq!(thing_name(42, name_width(1000)), "sensor-000042");
        assert_eq!(thing_name(42, name_width(10_000_001)), "sensor-00000042");
    }

    #[test]
    fn policy_documents_are_json_naming_region_and_account() {
        let doc = world::policy_document("fleet-gateway", 3, "eu-west-1", "210987654321");
        let v: serde_json::Value = serde_json::from_str(&doc).expect("valid JSON");
        assert_eq!(v["Version"], "2012-10-17");
        assert_eq!(v["Statement"].as_array().map(Vec::len), Some(4));
        assert_eq!(
            v["Statement"][0]["Resource"],
            "arn:aws:iot:eu-west-1:210987654321:client/${iot:Connection.Thing.ThingName}"
        );
    }
}
