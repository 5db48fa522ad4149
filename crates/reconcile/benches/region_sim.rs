//! A simulated backfill from one region into another at AWS IoT's default quotas, on a
//! virtual clock: the whole sync (read everything, then write) against the overlapped
//! one (`sync_overlapped`: the other kinds written while the things are read), compared
//! with the floor.
//!
//! Both regions are in-memory registries behind the quota-enforcing server model of
//! `backfill_sim` (`crates/engine/benches/sim/enforced.rs`), with iot-crr's rate
//! control (`Paced`, `LocalBudget`) in front. Writes and certificate PEMs
//! (`DescribeCertificate`) are calls under their quotas. A full read of the source takes
//! the virtual time its calls take at their quotas, the kinds at once, as the AWS
//! backend makes them (`crates/aws/src/read.rs`): per thing one `ListThingPrincipals`
//! (once the things and certificates are listed), per 250 things one `ListThings`
//! page, per 250 certificates one `ListCertificates` page, per group a describe and a
//! membership page, per policy a version list, a get per version and a target page.
//! Asked for pages of things (`ReadRequest::thing_pages`, as the overlapped sync asks),
//! it hands each 250 over when their principals would be read and the groups'
//! memberships known, as the AWS backend does. It is the model of the read, not the
//! read: what it shows is the schedule.
//!
//! The floor of a region-to-region backfill: the source's things must be read
//! (`ListThingPrincipals`, 10 a second) and the certificates registered (10 a second);
//! the larger of the two, everything else beside them.
//!
//! `cargo bench -p iot-crr-reconcile --bench region_sim [-- THINGS]` (default 100,000:
//! the simulation holds both regions and the plan in memory, and generating a
//! million certificates takes minutes).

#[path = "../../engine/benches/sim/enforced.rs"]
mod enforced;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use enforced::Enforced;
use iot_crr_engine::ApplyOptions;
use iot_crr_fleet::{FleetSpec, generate};
use iot_crr_model::{Change, Kind, Outcome, Related, Resource, ResourceKey, Snapshot};
use iot_crr_reconcile::{Progress, ReconcileOptions, SyncOutcome, sync, sync_overlapped};
use iot_crr_registry::{LocalBudget, MemoryRegistry, Paced, Quotas, ReadRequest, Registry};

/// The source region: reads take their calls' virtual time.
struct Source {
    region: Paced<Enforced>,
    snapshot: Snapshot,
    /// Members per thing group, counted once.
    members: BTreeMap<iot_crr_model::Name, usize>,
    quotas: Quotas,
}

impl Source {
    fn new(fleet: &Snapshot, quotas: &Quotas) -> Self {
        let mut members: BTreeMap<iot_crr_model::Name, usize> =
            fleet.thing_groups.keys().map(|g| (g.clone(), 0)).collect();
        for t in fleet.things.values() {
            for g in t.thing_groups.iter() {
                if let Some(n) = members.get_mut(g.as_str()) {
                    *n += 1;
                }
            }
        }
        Source {
            region: Paced::new(
                Enforced::new(MemoryRegistry::with_snapshot(fleet.clone()), quotas.clone()),
                LocalBudget::shared(quotas.clone()),
            ),
            snapshot: fleet.clone(),
            members,
            quotas: quotas.clone(),
        }
    }

    /// How long a read of the selected kinds takes at the quotas: each API's calls over
    /// its quota, the APIs at once; the things' principals (`ListThingPrincipals` per
    /// thing) start once the thing and certificate lists are in, as in the AWS reader.
    fn read_time(&self, request: &ReadRequest) -> Duration {
        let f = &request.filter;
        let s = &self.snapshot;
        let mut calls: BTreeMap<&str, f64> = BTreeMap::new();
        let pages = |n: usize| n.div_ceil(250).max(1) as f64;
        if f.selects_kind(Kind::Certificate) {
            *calls.entry("ListCertificates").or_default() += pages(s.certificates.len());
        }
        if f.selects_kind(Kind::ThingGroup) || f.selects_kind(Kind::Thing) {
            *calls.entry("DescribeThingGroup").or_default() += s.thing_groups.len() as f64;
            *calls.entry("ListThingsInThingGroup").or_default() +=
                self.members.values().map(|n| pages(*n)).sum::<f64>();
        }
        if f.selects_kind(Kind::Policy) || f.selects_kind(Kind::Certificate) {
            for p in s.policies.values() {
                *calls.entry("ListPolicyVersions").or_default() += 1.0;
                *calls.entry("GetPolicyVersion").or_default() += p.versions.len() as f64;
                let targets = s
                    .certificates
                    .values()
                    .filter(|c| c.policies.iter().any(|x| *x == p.policy_name))
                    .count();
                *calls.entry("ListTargetsForPolicy").or_default() += pages(targets);
            }
        }
        let secs = calls
            .iter()
            .map(|(api, n)| n / self.quotas.get(api))
            .fold(0.0, f64::max);
        let things = if f.selects_kind(Kind::Thing) {
            self.principals_start() + s.things.len() as f64 / self.quotas.get("ListThingPrincipals")
        } else {
            0.0
        };
        Duration::from_secs_f64(secs.max(things))
    }

    /// When the per-thing principal reads start: once the things and the certificates
    /// are listed (both lists at once), a `ListThings` and a `ListCertificates` page per
    /// 250.
    fn principals_start(&self) -> f64 {
        let pages = |n: usize| n.div_ceil(250).max(1) as f64;
        let s = &self.snapshot;
        (pages(s.things.len()) / self.quotas.get("ListThings"))
            .max(pages(s.certificates.len()) / self.quotas.get("ListCertificates"))
    }

    /// When the things' groups are known (every group described and its members listed):
    /// no page of things is handed over before.
    fn memberships_known(&self) -> f64 {
        let pages = |n: usize| n.div_ceil(250).max(1) as f64;
        let described =
            self.snapshot.thing_groups.len() as f64 / self.quotas.get("DescribeThingGroup");
        let listed = self.members.values().map(|n| pages(*n)).sum::<f64>()
            / self.quotas.get("ListThingsInThingGroup");
        described.max(listed)
    }
}

#[async_trait]
impl Registry for Source {
    fn location(&self) -> String {
        "simulated:source".into()
    }
    async fn read(&self, request: &ReadRequest) -> iot_crr_registry::Result<Snapshot> {
        let start = tokio::time::Instant::now();
        let end = start + self.read_time(request);
        let mut snap = self.region.read(request).await?;
        if let Some(pages) = request
            .thing_pages
            .as_ref()
            .filter(|_| request.filter.selects_kind(Kind::Thing))
        {
            // As the AWS reader hands them over: a page once its 250 things' principals
            // are read and the groups' memberships are known.
            let per_thing = 1.0 / self.quotas.get("ListThingPrincipals");
            let (first, known) = (self.principals_start(), self.memberships_known());
            let names: Vec<iot_crr_model::Name> = snap.things.keys().cloned().collect();
            let mut read = 0usize;
            for chunk in names.chunks(250) {
                read += chunk.len();
                let ready = (first + read as f64 * per_thing).max(known);
                tokio::time::sleep_until(start + Duration::from_secs_f64(ready)).await;
                let page = chunk
                    .iter()
                    .filter_map(|n| snap.things.remove(n.as_str()))
                    .collect();
                if let Err(page) = pages.send(page) {
                    snap.things
                        .extend(page.into_iter().map(|t| (t.thing_name.clone(), t)));
                }
            }
        }
        tokio::time::sleep_until(end).await;
        Ok(snap)
    }
    async fn read_resource(&self, k: &ResourceKey) -> iot_crr_registry::Result<Option<Resource>> {
        self.region.read_resource(k).await
    }
    async fn certificate_pem(
        &self,
        id: &str,
    ) -> iot_crr_registry::Result<Option<(String, Option<iot_crr_model::Name>)>> {
        self.region.certificate_pem(id).await
    }
    async fn apply(&self, change: &Change) -> iot_crr_registry::Result<Outcome> {
        self.region.apply(change).await
    }
    async fn related(&self, q: &Related) -> iot_crr_registry::Result<Vec<ResourceKey>> {
        self.region.related(q).await
    }
}

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
}

/// One simulated backfill into an empty region: its virtual duration and outcome.
fn simulate(fleet: &Snapshot, overlapped: bool) -> (Duration, SyncOutcome) {
    let quotas = Quotas::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = Source::new(fleet, &quotas);
        let target = Paced::new(
            Enforced::new(MemoryRegistry::new(), quotas.clone()),
            LocalBudget::shared(quotas.clone()),
        );
        let options = ReconcileOptions::default();
        let apply = ApplyOptions::default();
        let progress = Progress::default();
        let start = tokio::time::Instant::now();
        let done = if overlapped {
            sync_overlapped(&source, &target, &options, &apply, &progress).await
        } else {
            sync(&source, &target, &options, &apply, &progress).await
        }
        .expect("the simulated sync runs");
        (start.elapsed(), done)
    })
}

fn main() {
    let things: usize = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(100_000);
    let wall = std::time::Instant::now();
    let fleet = generate(&FleetSpec::new(things));
    let counts = fleet.counts();
    println!(
        "region_sim: {} things, {} certificates, {} groups, {} policies (generated in {:.1} s)",
        counts.things,
        counts.certificates,
        counts.thing_groups,
        counts.policies,
        wall.elapsed().as_secs_f64()
    );
    let quotas = Quotas::default();
    let read_floor = counts.things as f64 / quotas.get("ListThingPrincipals");
    let write_floor = counts.certificates as f64 / quotas.get("RegisterCertificateWithoutCA");
    let floor = Duration::from_secs_f64(read_floor.max(write_floor));
    println!(
        "floor: {} (reading the things: {}; registering the certificates: {})",
        hms(floor),
        hms(Duration::from_secs_f64(read_floor)),
        hms(Duration::from_secs_f64(write_floor))
    );
    for (name, overlapped) in [("whole sync", false), ("overlapped sync", true)] {
        let real = std::time::Instant::now();
        let (simulated, done) = simulate(&fleet, overlapped);
        let report = done.report.expect("a backfill has changes");
        println!(
            "{name:<16} {} ({:+.1} % over the floor): {} changes, {} applied, {} failed, {} \
             skipped; {:.0} s of real time",
            hms(simulated),
            100.0 * (simulated.as_secs_f64() / floor.as_secs_f64() - 1.0),
            done.comparison.plan.changes.len(),
            report.counts.applied,
            report.counts.failed,
            report.counts.skipped,
            real.elapsed().as_secs_f64()
        );
    }
}
