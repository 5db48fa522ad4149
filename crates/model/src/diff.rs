//! Diff: (desired, actual, options) -> [`Plan`].
//!
//! The plan is the minimal set of [`Change`]s that makes the target (`actual`) equal to
//! `desired` for the resources the filter selects, ordered in *stages*:
//!
//! | stage | what |
//! |---|---|
//! | 1, 2 | thing groups that must be re-created (a changed parent, static/dynamic switch): detach their policies, delete them, children first |
//! | 3 | thing types, billing groups, policies (all versions), certificates: create and update |
//! | 4 | thing groups: create (parents first) and update |
//! | 5 | things: create and update |
//! | 6 | relations that go: memberships, billing groups, policy and principal attachments, tags |
//! | 7 | relations that come |
//! | 8 | thing types deprecated |
//! | 9..13 | with `prune`: detach, delete things, groups (children first), certificates, policies, billing groups, then thing types |
//!
//! Rules that keep the target safe and the plan honest:
//! - AWS IoT fixes a group's parent at creation, so a re-parented group (and its
//!   subtree) is deleted and re-created, and its memberships and policies restored. A
//!   subtree that holds a group the plan may not delete (target-only without `prune`,
//!   or outside the filter) blocks the move; the plan says so in a warning.
//! - A relation from a resource that takes part to a resource that only the target has
//!   is kept as long as that resource is kept: `sync` without `prune` never cuts a
//!   device off a certificate or policy that was added in the target.
//! - With `prune`, a certificate or policy that only the target has is still kept (with
//!   a warning) while something that stays uses it; so is a thing type still used by a
//!   thing outside the filter.
//! - Policies are compared by their documents (as JSON values, after ARN rewriting) in
//!   version order and the position of the default; version ids are per registry.
//! - AWS IoT's five-version limit is respected at every step of a policy's update.
//! - A thing attribute (or group attribute) whose value is the empty string is the
//!   same state as no attribute: AWS IoT removes an attribute updated to "", so the
//!   diff compares attributes without empty values and never sends one.
//! - A side read with certificate principals only ([`PrincipalCoverage`]) says nothing
//!   about a thing's other principals: they are neither attached nor detached.
//!
//! # Key by key
//!
//! Every change is produced while diffing the resource it is keyed on
//! ([`Change::key`]), by one function per kind that reads both sides through a
//! [`View`]. The full diff runs it for every name of both sides; [`diff_keys`] runs
//! it for a given set of keys only, over views that may hold just what those keys
//! need ([`PartialView`](crate::view::PartialView)). What survives in the target is
//! decided per resource from the relations the views answer (the things a
//! certificate is attached to, the children of a group, ...), never from a scan of a
//! whole side, so the keyed plan is the full plan restricted to its keys.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::apply::MAX_POLICY_VERSIONS;
use crate::collections::{NameSet, StringMap};
use crate::create::settable_status;
use crate::document::canonical_document;
use crate::filter::{CompiledFilter, DiffOptions};
use crate::fingerprint::fingerprint_pair;
use crate::kinds::{KindSpec, billing_group};
use crate::plan::{Change, PLAN_FORMAT_VERSION, Plan, PlannedChange, PolicyTarget};
use crate::related::Related;
use crate::resource::{
    Certificate, CertificateStatus, Kind, Name, Policy, ResourceKey, Thing, ThingGroup, ThingType,
    cert_principal, principal_certificate_id,
};
use crate::same::{PairView, Parsed, SameLines};
use crate::snapshot::{PrincipalCoverage, Snapshot};
use crate::view::View;

/// Stage numbers (see the module documentation); a stage value is `base * 1000 + sub`.
pub mod stage {
    /// Policies detached from groups that are re-created.
    pub const EARLY_DETACH: u32 = 1;
    /// Groups deleted to be re-created (children first).
    pub const EARLY_GROUP_DELETE: u32 = 2;
    /// Thing types, billing groups, policies, certificates.
    pub const DEFINITIONS: u32 = 3;
    /// Thing groups, parents first.
    pub const GROUPS: u32 = 4;
    /// Things.
    pub const THINGS: u32 = 5;
    /// Relations that go.
    pub const RELATIONS_OUT: u32 = 6;
    /// Relations that come.
    pub const RELATIONS_IN: u32 = 7;
    /// Thing types deprecated.
    pub const DEPRECATE: u32 = 8;
    /// Prune: detaches.
    pub const PRUNE_DETACH: u32 = 9;
    /// Prune: things.
    pub const PRUNE_THINGS: u32 = 10;
    /// Prune: thing groups, children first.
    pub const PRUNE_GROUPS: u32 = 11;
    /// Prune: certificates, policies, billing groups.
    pub const PRUNE_OTHERS: u32 = 12;
    /// Prune: thing types.
    pub const PRUNE_TYPES: u32 = 13;
    /// Group depth is capped here in stage numbers (AWS allows 7 levels).
    pub const MAX_DEPTH: u32 = 999;

    /// The base stage of a stage value (`base * 1000 + sub`).
    pub fn base(stage: u32) -> u32 {
        stage / 1000
    }
}

/// How a plan's warning about an ARN no mapping placed begins (`--strict-arns` refuses
/// a plan with one).
pub const UNMAPPED_ARN: &str = "unmapped ARN";

/// Hierarchies deeper than this are treated as broken (a cycle) and cut.
const MAX_WALK: usize = 64;

pub(crate) struct Builder {
    changes: Vec<PlannedChange>,
    warnings: Vec<String>,
    seen_warnings: HashSet<String>,
    ignore_tags: bool,
}

impl Builder {
    fn new(options: &DiffOptions) -> Self {
        Builder {
            changes: Vec::new(),
            warnings: Vec::new(),
            seen_warnings: HashSet::new(),
            ignore_tags: options.ignore_tags,
        }
    }

    pub(crate) fn push(&mut self, base: u32, sub: u32, change: Change) {
        self.changes.push(PlannedChange {
            stage: base * 1000 + sub.min(stage::MAX_DEPTH),
            change,
        });
    }

    pub(crate) fn warn(&mut self, text: String) {
        if self.seen_warnings.insert(text.clone()) {
            self.warnings.push(text);
        }
    }

    /// The tags a created resource gets: none when tags are not compared.
    /// An ARN (or a text of ARNs) as it goes into the target, rewritten and mapped,
    /// with a warning ([`UNMAPPED_ARN`]) for each ARN in it that names a resource
    /// region rewriting cannot place and no mapping placed. `subject` names where it
    /// goes (`role alias cam`).
    pub(crate) fn arn_for_target(&mut self, ctx: &Ctx<'_>, subject: &str, text: &str) -> String {
        let out = ctx.rewrite_arn(text);
        let unmapped = match &ctx.opts.rewrite {
            Some(r) => r.unmapped(text),
            None => crate::rewrite::ArnRewrite::default().unmapped(text),
        };
        for arn in unmapped {
            self.warn(format!(
                "{UNMAPPED_ARN} in {subject}: {arn} names a resource that region rewriting \
                 does not place in the target (map it with --map-arn or --arn-map)"
            ));
        }
        out
    }

    /// One value as it goes into the target (a field of a rule action, a domain's
    /// certificate): mapped, a queue URL or its ARNs rewritten
    /// ([`ArnRewrite::rewrite_value`](crate::rewrite::ArnRewrite::rewrite_value)), with
    /// an [`UNMAPPED_ARN`] warning for an ARN or a regional endpoint of the source that
    /// nothing placed in the target.
    pub(crate) fn value_for_target(&mut self, ctx: &Ctx<'_>, subject: &str, value: &str) -> String {
        let default = crate::rewrite::ArnRewrite::default();
        let r = ctx.opts.rewrite.as_ref().unwrap_or(&default);
        let out = r.rewrite_value(value).unwrap_or_else(|| value.to_string());
        for unplaced in r
            .unmapped(value)
            .into_iter()
            .chain(r.unplaced_endpoints(&out))
        {
            self.warn(format!(
                "{UNMAPPED_ARN} in {subject}: {unplaced} names a resource that region rewriting \
                 does not place in the target (map it with --map-arn or --arn-map)"
            ));
        }
        out
    }

    pub(crate) fn tags(&self, tags: &StringMap) -> StringMap {
        if self.ignore_tags {
            StringMap::new()
        } else {
            tags.clone()
        }
    }
}

/// Facts computed once per resource and remembered for the rest of the diff.
#[derive(Default)]
struct Memo {
    /// Whether a group is deleted early (it or an ancestor moves, unblocked).
    early: HashMap<Name, bool>,
    /// Whether a moved group's move is blocked, with the reason.
    blocked: HashMap<Name, Option<String>>,
    /// Why a target-only resource is kept by `prune` (`None`: not protected).
    protected: HashMap<ResourceKey, Option<String>>,
}

/// What the diff knows about the two sides beyond the views.
pub(crate) struct Ctx<'a> {
    pub(crate) desired: &'a dyn View,
    pub(crate) actual: &'a dyn View,
    opts: &'a DiffOptions,
    /// The options' filter, its patterns parsed once.
    filter: CompiledFilter,
    memo: RefCell<Memo>,
    /// For complete views with no moved group at all: no group is deleted early
    /// (spares the per-thing look-ups of a large sync).
    no_moves: bool,
    /// Whether both sides hold every principal of their things.
    all_principals: bool,
    /// Keys whose changes the changes of the diffed keys need (see
    /// [`KeyedDiff::companions`]).
    companions: RefCell<BTreeSet<ResourceKey>>,
}

impl<'a> Ctx<'a> {
    fn new(desired: &'a dyn View, actual: &'a dyn View, opts: &'a DiffOptions) -> Self {
        let mut ctx = Ctx {
            desired,
            actual,
            opts,
            filter: opts.filter.compile(),
            memo: RefCell::new(Memo::default()),
            no_moves: false,
            all_principals: desired.principal_coverage() == PrincipalCoverage::All
                && actual.principal_coverage() == PrincipalCoverage::All,
            companions: RefCell::new(BTreeSet::new()),
        };
        if desired.is_complete() && actual.is_complete() {
            ctx.no_moves = !desired
                .names(Kind::ThingGroup)
                .iter()
                .any(|g| ctx.moved(g).is_some());
        }
        ctx
    }

    fn takes_part(&self, kind: Kind, name: &str) -> bool {
        self.filter.matches(kind, name)
    }

    fn companion(&self, kind: Kind, name: &str) {
        self.companions
            .borrow_mut()
            .insert(ResourceKey::new(kind, name));
    }

    // ---- group moves ----

    /// Whether group `m` must be re-created (its parent changed, or it switches
    /// between static and dynamic), and whether it is a switch.
    fn moved(&self, m: &str) -> Option<bool> {
        if !self.takes_part(Kind::ThingGroup, m) {
            return None;
        }
        let dg = self.desired.thing_group(m)?;
        let ag = self.actual.thing_group(m)?;
        let switch = ag.is_dynamic() != dg.is_dynamic();
        (ag.parent_group_name != dg.parent_group_name || switch).then_some(switch)
    }

    /// The target's descendants of `g`, depth first.
    fn actual_subtree(&self, g: &str) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        let mut stack: Vec<Name> = vec![g.into()];
        while let Some(n) = stack.pop() {
            for c in self.actual.related(&Related::ChildGroups(n)) {
                if out.len() > MAX_WALK * MAX_WALK || out.contains(&c.name) || c.name == g {
                    continue;
                }
                out.push(c.name.clone());
                stack.push(c.name);
            }
        }
        out
    }

    /// Why moving group `m` is impossible, if it is: its subtree in the target holds a
    /// group the plan may not delete.
    fn blocked(&self, m: &Name) -> Option<String> {
        if let Some(b) = self.memo.borrow().blocked.get(m) {
            return b.clone();
        }
        let reason = self
            .actual_subtree(m)
            .into_iter()
            .find(|g| {
                let matched = self.takes_part(Kind::ThingGroup, g);
                let in_desired = self.desired.thing_group(g).is_some();
                !(matched && (in_desired || self.opts.prune))
            })
            .map(|blocker| {
                format!(
                    "thing group {m} cannot move to its new parent: AWS IoT fixes a group's \
                     parent at creation, so the group and its subtree must be re-created, and \
                     the target's group {blocker} in that subtree {}",
                    if self.takes_part(Kind::ThingGroup, &blocker) {
                        "exists only in the target (use --prune to allow deleting it)"
                    } else {
                        "is outside the filter"
                    }
                )
            });
        self.memo
            .borrow_mut()
            .blocked
            .insert(m.clone(), reason.clone());
        reason
    }

    /// Whether group `g` is deleted early: it, or one of its ancestors in the target,
    /// moves and the move is not blocked.
    fn early_deleted(&self, g: &Name) -> bool {
        if self.no_moves {
            return false;
        }
        if let Some(e) = self.memo.borrow().early.get(g) {
            return *e;
        }
        let mut result = false;
        let mut cur: Option<Name> = Some(g.clone());
        let mut steps = 0;
        while let Some(n) = cur {
            if self.moved(&n).is_some() && self.blocked(&n).is_none() {
                result = true;
                break;
            }
            steps += 1;
            if steps > MAX_WALK {
                break;
            }
            cur = self
                .actual
                .thing_group(&n)
                .and_then(|ag| ag.parent_group_name.clone());
        }
        self.memo.borrow_mut().early.insert(g.clone(), result);
        result
    }

    /// Whether group `g` is deleted early and created again.
    fn recreated(&self, g: &Name) -> bool {
        self.early_deleted(g) && self.desired.thing_group(g).is_some()
    }

    /// Whether `g` should switch between static and dynamic but cannot: it is left
    /// alone, memberships to it included.
    fn blocked_switch(&self, g: &Name) -> bool {
        !self.no_moves && self.moved(g) == Some(true) && self.blocked(g).is_some()
    }

    fn depth(view: &dyn View, name: &str) -> u32 {
        crate::view::group_depth(view, name, MAX_WALK) as u32
    }

    // ---- prune and protection ----

    /// Why `prune` keeps a target-only certificate, policy or thing type: something
    /// that stays still uses it. `None` when it is not kept (or not target-only).
    fn protected(&self, kind: Kind, name: &Name) -> Option<String> {
        if !self.opts.prune
            || !matches!(kind, Kind::Certificate | Kind::Policy | Kind::ThingType)
            || !self.takes_part(kind, name)
            || self.desired.contains(kind, name)
            || !self.actual.contains(kind, name)
        {
            return None;
        }
        let key = ResourceKey::new(kind, name.clone());
        if let Some(p) = self.memo.borrow().protected.get(&key) {
            return p.clone();
        }
        let f = &self.filter;
        let thing_stays = |t: &Name| self.desired.thing(t).is_some() || !f.matches(Kind::Thing, t);
        let reason = match kind {
            Kind::Certificate => self
                .actual
                .related(&Related::ThingsWithPrincipal(cert_principal(name)))
                .into_iter()
                .find(|t| thing_stays(&t.name))
                .map(|t| {
                    format!(
                        "kept certificate {name}: the target has it attached to thing {}, which stays",
                        t.name
                    )
                }),
            Kind::ThingType => self
                .actual
                .related(&Related::ThingsOfType(name.clone()))
                .into_iter()
                .find(|t| !f.matches(Kind::Thing, &t.name))
                .map(|t| {
                    format!(
                        "kept thing type {name}: thing {} outside the filter still uses it",
                        t.name
                    )
                }),
            _ => {
                let targets = self.actual.related(&Related::PolicyTargets(name.clone()));
                let cert_stays = |id: &Name| {
                    self.desired.certificate(id).is_some()
                        || !f.matches(Kind::Certificate, id)
                        || self.protected(Kind::Certificate, id).is_some()
                };
                let group_stays =
                    |g: &Name| self.desired.thing_group(g).is_some() || !f.matches(Kind::ThingGroup, g);
                let cert = targets
                    .iter()
                    .filter(|t| t.kind == Kind::Certificate)
                    .find(|t| cert_stays(&t.name))
                    .map(|t| format!("certificate {}", t.name));
                let holder = cert.or_else(|| {
                    targets
                        .iter()
                        .filter(|t| t.kind == Kind::ThingGroup)
                        .find(|t| group_stays(&t.name))
                        .map(|t| format!("thing group {}", t.name))
                });
                holder.map(|h| {
                    format!("kept policy {name}: the target has it attached to {h}, which stays")
                })
            }
        };
        self.memo.borrow_mut().protected.insert(key, reason.clone());
        reason
    }

    /// Whether a target-only resource of this kind will be deleted by this plan.
    pub(crate) fn pruned(&self, kind: Kind, name: &Name) -> bool {
        self.opts.prune && self.takes_part(kind, name) && self.protected(kind, name).is_none()
    }

    /// Whether `name` exists only in the target and stays there after this plan. A
    /// relation to such a resource is left alone.
    fn survives_target_only(&self, kind: Kind, name: &Name) -> bool {
        let deleted_early = kind == Kind::ThingGroup && self.early_deleted(name);
        !(self.desired.contains(kind, name) || deleted_early)
            && self.actual.contains(kind, name)
            && !self.pruned(kind, name)
    }

    fn principal_survives(&self, principal: &Name) -> bool {
        match principal_certificate_id(principal) {
            Some(id) => self.survives_target_only(Kind::Certificate, &Name::from(id)),
            // Other principals (Cognito identities) are not registry resources: the
            // source decides.
            None => false,
        }
    }

    fn rewrite(&self, text: &str) -> Option<String> {
        self.opts.rewrite.as_ref().and_then(|r| r.rewrite(text))
    }

    /// An ARN (or a text of ARNs) as it goes into the target: rewritten for the target
    /// region and account.
    pub(crate) fn rewrite_arn(&self, text: &str) -> String {
        self.rewrite(text).unwrap_or_else(|| text.to_string())
    }
}

/// The result of [`diff_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedDiff {
    /// The changes about the given keys, in plan order (stage, then key order).
    pub changes: Vec<PlannedChange>,
    /// What the plan deliberately does not do for those keys, with the reason.
    pub warnings: Vec<String>,
    /// Other resources whose changes these changes need in the same apply: a
    /// resource a change requires that the target lacks and the desired state has, the
    /// deprecated type a created thing needs undeprecated, the subtree and members of
    /// a group that is re-created, what stands in the way of a delete. A reconcile of
    /// a set of keys that wants a plan that applies on its own adds these to its keys
    /// and diffs again, until nothing new comes (see `iot-crr-reconcile`).
    pub companions: BTreeSet<ResourceKey>,
}

/// Computes the plan that makes `actual` equal to `desired` under `options`. The plan's
/// `source` and `target` labels are left empty for the caller to fill.
pub fn diff(desired: &Snapshot, actual: &Snapshot, options: &DiffOptions) -> Plan {
    diff_pair(desired, actual, &SameLines::default(), options)
}

/// [`diff`] of two registries read side by side
/// ([`read_pair_without_pems`](crate::pair::read_pair_without_pems)): each side is its
/// snapshot and the things and certificates both hold alike, `same`. The plan is the
/// one [`diff`] computes of the whole registries (see [`crate::same`] for why).
pub fn diff_pair(
    desired: &Snapshot,
    actual: &Snapshot,
    same: &SameLines,
    options: &DiffOptions,
) -> Plan {
    // The target's fingerprint (every resource serialised and hashed) is computed
    // beside the walk, which is serial: a million-thing plan takes the longer of the
    // two, not their sum.
    let (target_fingerprint, mut b) = std::thread::scope(|s| {
        let fp = s.spawn(|| fingerprint_pair(actual, same, &options.filter));
        let (dp, ap) = (Parsed::default(), Parsed::default());
        let (dv, av) = (
            PairView::new(desired, same, &dp),
            PairView::new(actual, same, &ap),
        );
        let mut b = Builder::new(options);
        let ctx = Ctx::new(&dv, &av, options);
        let again = walked_again(&ctx, same, desired, actual);
        diff_all(&ctx, &mut b, desired, actual, &again);
        (fp.join().expect("fingerprinting does not panic"), b)
    });
    // Stable: within a stage, the generation order (per resource) is kept.
    b.changes.sort_by_key(|c| c.stage);
    let same_counts = same.selected_counts(&options.filter.compile());
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        source: String::new(),
        target: String::new(),
        target_fingerprint,
        options: options.clone(),
        desired_counts: desired.selected_counts(&options.filter) + same_counts,
        target_counts: actual.selected_counts(&options.filter) + same_counts,
        changes: b.changes,
        warnings: b.warnings,
    }
}

/// The things held alike on both sides that the diff must walk all the same: members
/// of a group the plan deletes early (and re-creates), which get their membership back
/// (see `update_thing`). Each with the thing, as both sides hold it.
fn walked_again<'v>(
    ctx: &Ctx<'v>,
    same: &SameLines,
    desired: &Snapshot,
    actual: &Snapshot,
) -> Vec<(Name, &'v Thing)> {
    if ctx.no_moves || same.things() == 0 {
        return Vec::new();
    }
    let groups: BTreeSet<&Name> = desired
        .thing_groups
        .keys()
        .chain(actual.thing_groups.keys())
        .collect();
    let names: BTreeSet<Name> = groups
        .into_iter()
        .filter(|g| ctx.early_deleted(g))
        .flat_map(|g| same.group_members(g))
        .collect();
    names
        .into_iter()
        .filter_map(|n| {
            let t = ctx.desired.thing(&n)?;
            Some((n, t))
        })
        .collect()
}

/// Computes the changes about `keys` only: the full plan of `diff` restricted to the
/// changes whose [`Change::key`] is one of `keys`, reading both sides through views
/// (which may be [`PartialView`](crate::view::PartialView)s that hold only what these
/// keys need). Keys outside the options' filter produce nothing.
pub fn diff_keys(
    desired: &dyn View,
    actual: &dyn View,
    keys: &BTreeSet<ResourceKey>,
    options: &DiffOptions,
) -> KeyedDiff {
    let mut b = Builder::new(options);
    let ctx = Ctx::new(desired, actual, options);
    // Keys sort by kind (in dependency order), then name: the full diff's order.
    for key in keys {
        if ctx.takes_part(key.kind, &key.name) {
            diff_key(&ctx, &mut b, key.kind, &key.name);
        }
    }
    b.changes.sort_by_key(|c| c.stage);
    let companions = ctx
        .companions
        .into_inner()
        .into_iter()
        .filter(|k| !keys.contains(k))
        .collect();
    KeyedDiff {
        changes: b.changes,
        warnings: b.warnings,
        companions,
    }
}

/// Diffs one resource, looking both sides up through the views, and records the
/// companions its changes need.
fn diff_key(ctx: &Ctx<'_>, b: &mut Builder, kind: Kind, name: &Name) {
    let first = b.changes.len();
    let (d, a) = (ctx.desired, ctx.actual);
    crate::with_kind!(kind, K => K::diff(ctx, b, name, K::in_view(d, name), K::in_view(a, name)));
    // What the new changes need that only the desired state has yet, or that the plan
    // re-creates.
    for c in &b.changes[first..] {
        for r in c.change.requires() {
            let missing =
                !ctx.actual.contains(r.kind, &r.name) && ctx.desired.contains(r.kind, &r.name);
            let recreated = r.kind == Kind::ThingGroup && ctx.early_deleted(&r.name);
            if missing || recreated {
                ctx.companion(r.kind, &r.name);
            }
        }
    }
}

/// The full diff of two whole registries: every name of every selected kind, both
/// maps walked side by side (no look-up per resource).
fn diff_all(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    desired: &Snapshot,
    actual: &Snapshot,
    again: &[(Name, &Thing)],
) {
    /// Both maps side by side; `again`, resources both sides hold alike outside the
    /// maps, walked in their place in name order.
    fn walk<T>(
        ctx: &Ctx<'_>,
        b: &mut Builder,
        kind: Kind,
        d: &BTreeMap<Name, T>,
        a: &BTreeMap<Name, T>,
        f: fn(&Ctx<'_>, &mut Builder, &Name, Option<&T>, Option<&T>),
        again: &[(Name, &T)],
    ) {
        if !ctx.filter.selects_kind(kind) {
            return;
        }
        let mut visit = |name: &Name, dv: Option<&T>, av: Option<&T>| {
            if ctx.takes_part(kind, name) {
                f(ctx, b, name, dv, av);
            }
        };
        let mut again = again.iter().peekable();
        let mut di = d.iter().peekable();
        let mut ai = a.iter().peekable();
        loop {
            let (name, dv, av) = match (di.peek(), ai.peek()) {
                (None, None) => break,
                (Some((dn, _)), Some((an, _))) if dn == an => {
                    let (n, dv) = di.next().expect("peeked");
                    let (_, av) = ai.next().expect("peeked");
                    (n, Some(dv), Some(av))
                }
                (Some((dn, _)), Some((an, _))) if dn < an => {
                    let (n, dv) = di.next().expect("peeked");
                    (n, Some(dv), None)
                }
                (Some(_), None) => {
                    let (n, dv) = di.next().expect("peeked");
                    (n, Some(dv), None)
                }
                _ => {
                    let (n, av) = ai.next().expect("peeked");
                    (n, None, Some(av))
                }
            };
            while let Some((n, r)) = again.next_if(|(n, _)| n < name) {
                visit(n, Some(*r), Some(*r));
            }
            visit(name, dv, av);
        }
        for (n, r) in again {
            visit(n, Some(*r), Some(*r));
        }
    }
    crate::for_each_kind!(K => {
        // A kind one side could not list is unknown there, not absent: left out.
        let unlisted = [("source", desired), ("target", actual)]
            .into_iter()
            .find(|(_, s)| s.unlisted.contains(&K::KIND));
        if let Some((side, _)) = unlisted {
            if ctx.filter.selects_kind(K::KIND) {
                b.warn(format!(
                    "{} not compared: the {side} could not list or read them (its endpoint \
                     lacks the call); compare them by key (--key {}/NAME) or from a registry \
                     that has them",
                    K::PLURAL,
                    K::TAG
                ));
            }
        } else if K::KIND != Kind::Thing {
            // Things are walked with the things both sides hold alike outside the maps.
            walk(ctx, b, K::KIND, K::map(desired), K::map(actual), K::diff, &[]);
        }
    });
    walk(
        ctx,
        b,
        Kind::Thing,
        &desired.things,
        &actual.things,
        diff_thing,
        again,
    );
}

/// How a kind's resources are compared: the changes that turn the target's resource
/// (`a`) into the desired one (`d`), either side absent.
pub(crate) trait KindDiff: KindSpec {
    /// Pushes the changes for one resource.
    fn diff(ctx: &Ctx<'_>, b: &mut Builder, name: &Name, d: Option<&Self>, a: Option<&Self>);
}

macro_rules! kind_diff {
    ($($ty:ty => $f:path),* $(,)?) => {
        $(impl KindDiff for $ty {
            fn diff(ctx: &Ctx<'_>, b: &mut Builder, name: &Name, d: Option<&Self>, a: Option<&Self>) {
                $f(ctx, b, name, d, a)
            }
        })*
    };
}

kind_diff!(
    ThingType => diff_thing_type,
    crate::resource::BillingGroup => billing_group::diff,
    crate::resource::RoleAlias => crate::kinds::role_alias::diff,
    crate::resource::CaCertificate => crate::kinds::ca_certificate::diff,
    crate::resource::Authorizer => crate::kinds::authorizer::diff,
    crate::resource::DomainConfiguration => crate::kinds::domain_configuration::diff,
    crate::resource::TopicRuleDestination => crate::kinds::topic_rule_destination::diff,
    crate::resource::TopicRule => crate::kinds::topic_rule::diff,
    crate::resource::ProvisioningTemplate => crate::kinds::provisioning_template::diff,
    crate::resource::IndexingConfiguration => crate::kinds::indexing_configuration::diff,
    crate::resource::EventConfigurations => crate::kinds::event_configurations::diff,
    ThingGroup => diff_thing_group,
    Policy => diff_policy,
    Certificate => diff_certificate,
    Thing => diff_thing,
);

/// Tag changes that turn `actual` tags into `desired` tags.
pub(crate) fn diff_tags(
    b: &mut Builder,
    key: ResourceKey,
    desired: &StringMap,
    actual: &StringMap,
) {
    if b.ignore_tags || desired == actual {
        return;
    }
    let remove: NameSet = actual.keys().filter(|k| desired.get(k).is_none()).collect();
    let set: StringMap = desired
        .iter()
        .filter(|(k, v)| actual.get(k) != Some(*v))
        .collect();
    if !remove.is_empty() {
        b.push(
            stage::RELATIONS_OUT,
            0,
            Change::UntagResource {
                resource: key.clone(),
                tag_keys: remove,
            },
        );
    }
    if !set.is_empty() {
        b.push(
            stage::RELATIONS_IN,
            0,
            Change::TagResource {
                resource: key,
                tags: set,
            },
        );
    }
}

/// Attributes as AWS IoT keeps them: an empty value is no attribute.
pub fn effective_attributes(attributes: &StringMap) -> StringMap {
    if attributes.iter().any(|(_, v)| v.is_empty()) {
        attributes.iter().filter(|(_, v)| !v.is_empty()).collect()
    } else {
        attributes.clone()
    }
}

/// Whether two attribute sets are the same state (empty values count as absent).
pub fn same_attributes(a: &StringMap, b: &StringMap) -> bool {
    a == b
        || a.iter()
            .filter(|(_, v)| !v.is_empty())
            .eq(b.iter().filter(|(_, v)| !v.is_empty()))
}

fn diff_thing_type(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&ThingType>,
    a: Option<&ThingType>,
) {
    let key = || ResourceKey::new(Kind::ThingType, name.clone());
    match (d, a) {
        (Some(d), None) => {
            b.push(
                stage::DEFINITIONS,
                0,
                Change::CreateThingType {
                    thing_type: ThingType {
                        deprecated: false,
                        tags: b.tags(&d.tags),
                        ..d.clone()
                    },
                },
            );
            if d.deprecated {
                b.push(
                    stage::DEPRECATE,
                    0,
                    Change::DeprecateThingType {
                        thing_type_name: name.clone(),
                        undo_deprecate: false,
                    },
                );
            }
        }
        (Some(d), Some(a)) => {
            if d.thing_type_description != a.thing_type_description
                || d.searchable_attributes != a.searchable_attributes
            {
                b.push(
                    stage::DEFINITIONS,
                    0,
                    Change::UpdateThingType {
                        thing_type_name: name.clone(),
                        thing_type_description: d.thing_type_description.clone(),
                        searchable_attributes: d.searchable_attributes.clone(),
                    },
                );
            }
            if d.deprecated != a.deprecated {
                let (st, undo) = if d.deprecated {
                    (stage::DEPRECATE, false)
                } else {
                    (stage::DEFINITIONS, true)
                };
                b.push(
                    st,
                    0,
                    Change::DeprecateThingType {
                        thing_type_name: name.clone(),
                        undo_deprecate: undo,
                    },
                );
            }
            diff_tags(b, key(), &d.tags, &a.tags);
        }
        (None, Some(a)) => {
            if ctx.pruned(Kind::ThingType, name) {
                if !a.deprecated {
                    b.push(
                        stage::DEPRECATE,
                        0,
                        Change::DeprecateThingType {
                            thing_type_name: name.clone(),
                            undo_deprecate: false,
                        },
                    );
                }
                b.push(
                    stage::PRUNE_TYPES,
                    0,
                    Change::DeleteThingType {
                        thing_type_name: name.clone(),
                    },
                );
                // Things of the type that are pruned must go first.
                for t in ctx.actual.related(&Related::ThingsOfType(name.clone())) {
                    ctx.companion(Kind::Thing, &t.name);
                }
            } else if let Some(why) = ctx.protected(Kind::ThingType, name) {
                b.warn(why);
            }
        }
        (None, None) => {}
    }
    keep_deprecated_type_usable(ctx, b, name);
}

/// A thing type deprecated in the target (and staying deprecated) cannot be given to a
/// thing: when the plan creates or retypes things to it, undeprecate it first and
/// deprecate it again after.
fn keep_deprecated_type_usable(ctx: &Ctx<'_>, b: &mut Builder, ty: &Name) {
    let deprecated_in_target = ctx.actual.thing_type(ty).is_some_and(|t| t.deprecated);
    let stays_deprecated = ctx.desired.thing_type(ty).is_none_or(|t| t.deprecated);
    if !(deprecated_in_target && stays_deprecated) {
        return;
    }
    let needed = ctx
        .desired
        .related(&Related::ThingsOfType(ty.clone()))
        .into_iter()
        .any(|t| thing_gets_type(ctx, &t.name, ty));
    if needed {
        b.push(
            stage::DEFINITIONS,
            0,
            Change::DeprecateThingType {
                thing_type_name: ty.clone(),
                undo_deprecate: true,
            },
        );
        b.push(
            stage::DEPRECATE,
            0,
            Change::DeprecateThingType {
                thing_type_name: ty.clone(),
                undo_deprecate: false,
            },
        );
    }
}

/// Whether the plan creates thing `name` with type `ty` or gives it that type (the
/// desired thing has the type).
fn thing_gets_type(ctx: &Ctx<'_>, name: &Name, ty: &Name) -> bool {
    ctx.takes_part(Kind::Thing, name)
        && ctx
            .actual
            .thing(name)
            .is_none_or(|a| a.thing_type_name.as_ref() != Some(ty))
}

fn diff_policy(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&Policy>,
    a: Option<&Policy>,
) {
    match (d, a) {
        (Some(d), a) => {
            let docs: Vec<String> = d
                .versions
                .iter()
                .map(|v| {
                    ctx.rewrite(&v.policy_document)
                        .unwrap_or_else(|| v.policy_document.clone())
                })
                .collect();
            let default = d.default_index().unwrap_or(docs.len().saturating_sub(1));
            match a {
                None => create_policy(b, name, &docs, default, &d.tags),
                Some(a) => {
                    update_policy(b, name, &docs, default, a);
                    diff_tags(
                        b,
                        ResourceKey::new(Kind::Policy, name.clone()),
                        &d.tags,
                        &a.tags,
                    );
                }
            }
        }
        (None, Some(a)) => {
            if ctx.pruned(Kind::Policy, name) {
                for v in &a.versions {
                    if v.version_id != a.default_version_id {
                        b.push(
                            stage::PRUNE_DETACH,
                            0,
                            Change::DeletePolicyVersion {
                                policy_name: name.clone(),
                                policy_version_id: v.version_id.clone(),
                            },
                        );
                    }
                }
                b.push(
                    stage::PRUNE_OTHERS,
                    0,
                    Change::DeletePolicy {
                        policy_name: name.clone(),
                    },
                );
                // Its attachments are detached by the targets' own changes.
                for t in ctx.actual.related(&Related::PolicyTargets(name.clone())) {
                    ctx.companion(t.kind, &t.name);
                }
            } else if let Some(why) = ctx.protected(Kind::Policy, name) {
                b.warn(why);
            }
        }
        (None, None) => {}
    }
}

fn create_policy(b: &mut Builder, name: &Name, docs: &[String], default: usize, tags: &StringMap) {
    let Some(first) = docs.first() else { return };
    b.push(
        stage::DEFINITIONS,
        0,
        Change::CreatePolicy {
            policy_name: name.clone(),
            policy_document: first.clone(),
            tags: b.tags(tags),
        },
    );
    for (i, doc) in docs.iter().enumerate().skip(1) {
        b.push(
            stage::DEFINITIONS,
            0,
            Change::CreatePolicyVersion {
                policy_name: name.clone(),
                policy_document: doc.clone(),
                set_as_default: i == default,
                versions_before: Some(i as u32),
            },
        );
    }
}

/// Plans the version changes that turn policy `a` into the version list `docs` with the
/// default at `default`, never exceeding five versions and never deleting the default.
/// Each created version records how many versions the policy has just before it, so
/// that the create is safe to repeat.
fn update_policy(b: &mut Builder, name: &Name, docs: &[String], default: usize, a: &Policy) {
    let want: Vec<String> = docs.iter().map(|d| canonical_document(d)).collect();
    let mut have: Vec<(&Name, String)> = a
        .versions
        .iter()
        .map(|v| (&v.version_id, canonical_document(&v.policy_document)))
        .collect();
    have.sort_by_key(|(id, _)| id.parse::<u64>().unwrap_or(u64::MAX));
    let (n, m) = (want.len(), have.len());
    if n == 0 {
        return;
    }
    // The longest suffix of the target's versions that equals a prefix of the wanted
    // ones: those versions are kept, older ones deleted, newer documents created.
    let k = (0..=n.min(m))
        .rev()
        .find(|&k| (0..k).all(|i| have[m - k + i].1 == want[i]))
        .unwrap_or(0);
    let kept = &have[m - k..];
    let stale = &have[..m - k];
    let current_default = &a.default_version_id;
    let default_is_stale = stale.iter().any(|(id, _)| *id == current_default);
    let count = std::cell::Cell::new(m as u32);
    let push = |b: &mut Builder, c: Change| b.push(stage::DEFINITIONS, 0, c);
    let set_default = |b: &mut Builder, id: &Name| {
        push(
            b,
            Change::SetDefaultPolicyVersion {
                policy_name: name.clone(),
                policy_version_id: id.clone(),
            },
        )
    };
    let delete = |b: &mut Builder, id: &Name| {
        count.set(count.get() - 1);
        push(
            b,
            Change::DeletePolicyVersion {
                policy_name: name.clone(),
                policy_version_id: id.clone(),
            },
        )
    };
    let create = |b: &mut Builder, i: usize, as_default: bool| {
        let before = count.get();
        count.set(before + 1);
        push(
            b,
            Change::CreatePolicyVersion {
                policy_name: name.clone(),
                policy_document: docs[i].clone(),
                set_as_default: as_default,
                versions_before: Some(before),
            },
        )
    };

    if default < k {
        // The wanted default is a version the target keeps.
        let target_default = kept[default].0;
        if target_default != current_default {
            set_default(b, target_default);
        }
        for (id, _) in stale {
            delete(b, id);
        }
        for i in k..n {
            create(b, i, false);
        }
        return;
    }
    // The wanted default is a new version.
    for (id, _) in stale {
        if *id != current_default {
            delete(b, id);
        }
    }
    let count_during = k + usize::from(default_is_stale) + (n - k);
    if default_is_stale && count_during > MAX_POLICY_VERSIONS {
        // No room to create every version while the old default still exists: move the
        // default to a version that stays (or the first new one) before deleting it.
        let mut next = k;
        if let Some((first_kept, _)) = kept.first() {
            set_default(b, first_kept);
        } else {
            create(b, k, true);
            next = k + 1;
        }
        delete(b, current_default);
        for i in next..n {
            create(b, i, i == default);
        }
        return;
    }
    for i in k..n {
        create(b, i, i == default);
    }
    if default_is_stale {
        delete(b, current_default);
    }
}

/// Attach/detach changes for a set of policy names on one target.
fn diff_policy_set(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    target: PolicyTarget,
    desired: &NameSet,
    actual: &NameSet,
) {
    for p in actual.iter() {
        if !desired.contains(p) && !ctx.survives_target_only(Kind::Policy, p) {
            b.push(
                stage::RELATIONS_OUT,
                0,
                Change::DetachPolicy {
                    policy_name: p.clone(),
                    target: target.clone(),
                },
            );
        }
    }
    for p in desired.iter() {
        if !actual.contains(p) {
            b.push(
                stage::RELATIONS_IN,
                0,
                Change::AttachPolicy {
                    policy_name: p.clone(),
                    target: target.clone(),
                },
            );
        }
    }
}

fn diff_certificate(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    id: &Name,
    d: Option<&Certificate>,
    a: Option<&Certificate>,
) {
    let target = || PolicyTarget::Certificate(id.clone());
    match (d, a) {
        (Some(d), None) => {
            // After the CA that signed it (see `ca_certificate::CA_SUB_STAGE`).
            let sub = if d.ca_certificate_id.is_some() {
                crate::kinds::ca_certificate::CA_SUB_STAGE + 1
            } else {
                0
            };
            b.push(
                stage::DEFINITIONS,
                sub,
                Change::RegisterCertificate {
                    certificate_id: id.clone(),
                    certificate_pem: d.certificate_pem.clone(),
                    status: settable_status(d.status),
                    ca_certificate_id: d.ca_certificate_id.clone(),
                },
            );
            diff_policy_set(ctx, b, target(), &d.policies, &NameSet::new());
        }
        (Some(d), Some(a)) => {
            let want = settable_status(d.status);
            if want != a.status {
                b.push(
                    stage::DEFINITIONS,
                    0,
                    Change::UpdateCertificate {
                        certificate_id: id.clone(),
                        new_status: want,
                    },
                );
            }
            diff_policy_set(ctx, b, target(), &d.policies, &a.policies);
        }
        (None, Some(a)) => {
            if ctx.pruned(Kind::Certificate, id) {
                for p in &a.policies {
                    b.push(
                        stage::PRUNE_DETACH,
                        0,
                        Change::DetachPolicy {
                            policy_name: p.clone(),
                            target: target(),
                        },
                    );
                }
                if a.status == CertificateStatus::Active {
                    b.push(
                        stage::PRUNE_DETACH,
                        0,
                        Change::UpdateCertificate {
                            certificate_id: id.clone(),
                            new_status: CertificateStatus::Inactive,
                        },
                    );
                }
                b.push(
                    stage::PRUNE_OTHERS,
                    0,
                    Change::DeleteCertificate {
                        certificate_id: id.clone(),
                    },
                );
                // The things it is attached to detach it first.
                for t in ctx
                    .actual
                    .related(&Related::ThingsWithPrincipal(cert_principal(id)))
                {
                    ctx.companion(t.kind, &t.name);
                }
            } else if let Some(why) = ctx.protected(Kind::Certificate, id) {
                b.warn(why);
            }
        }
        (None, None) => {}
    }
}

fn group_props_differ(d: &ThingGroup, a: &ThingGroup) -> bool {
    d.thing_group_description != a.thing_group_description
        || !same_attributes(&d.attributes, &a.attributes)
        || d.query_string != a.query_string
        || d.index_name != a.index_name
        || d.query_version != a.query_version
}

fn diff_thing_group(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&ThingGroup>,
    a: Option<&ThingGroup>,
) {
    let target = || PolicyTarget::ThingGroup(name.clone());
    let early = a.is_some() && ctx.early_deleted(name);
    if ctx.moved(name).is_some()
        && let Some(why) = ctx.blocked(name)
    {
        b.warn(why);
    }
    if let (true, Some(ag)) = (early, a) {
        // Re-created (or pruned with a moved ancestor): detach, delete children first.
        for p in &ag.policies {
            b.push(
                stage::EARLY_DETACH,
                0,
                Change::DetachPolicy {
                    policy_name: p.clone(),
                    target: target(),
                },
            );
        }
        b.push(
            stage::EARLY_GROUP_DELETE,
            stage::MAX_DEPTH.saturating_sub(Ctx::depth(ctx.actual, name)),
            Change::DeleteThingGroup {
                thing_group_name: name.clone(),
            },
        );
        // Its subtree goes with it, and its members come back.
        for c in ctx.actual.related(&Related::ChildGroups(name.clone())) {
            ctx.companion(c.kind, &c.name);
        }
        for t in ctx.actual.related(&Related::GroupMembers(name.clone())) {
            ctx.companion(t.kind, &t.name);
        }
        for t in ctx.desired.related(&Related::GroupMembers(name.clone())) {
            ctx.companion(t.kind, &t.name);
        }
    }
    let a = a.filter(|_| !early);
    match (d, a) {
        (Some(d), None) => {
            b.push(
                stage::GROUPS,
                Ctx::depth(ctx.desired, name),
                Change::CreateThingGroup {
                    thing_group: ThingGroup {
                        policies: NameSet::new(),
                        tags: b.tags(&d.tags),
                        attributes: effective_attributes(&d.attributes),
                        ..d.clone()
                    },
                },
            );
            // A re-created group gets back the target-only policies it had.
            let mut policies = d.policies.clone();
            if early && let Some(ag) = ctx.actual.thing_group(name) {
                for p in &ag.policies {
                    if ctx.survives_target_only(Kind::Policy, p) {
                        policies.insert(p.clone());
                    }
                }
            }
            diff_policy_set(ctx, b, target(), &policies, &NameSet::new());
        }
        (Some(d), Some(a)) => {
            if group_props_differ(d, a) && !ctx.blocked_switch(name) {
                b.push(
                    stage::GROUPS,
                    Ctx::depth(ctx.desired, name),
                    Change::UpdateThingGroup {
                        thing_group: ThingGroup {
                            policies: NameSet::new(),
                            tags: StringMap::new(),
                            attributes: effective_attributes(&d.attributes),
                            ..d.clone()
                        },
                    },
                );
            }
            diff_policy_set(ctx, b, target(), &d.policies, &a.policies);
            diff_tags(
                b,
                ResourceKey::new(Kind::ThingGroup, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(a)) => {
            if ctx.pruned(Kind::ThingGroup, name) {
                for p in &a.policies {
                    b.push(
                        stage::PRUNE_DETACH,
                        0,
                        Change::DetachPolicy {
                            policy_name: p.clone(),
                            target: target(),
                        },
                    );
                }
                b.push(
                    stage::PRUNE_GROUPS,
                    stage::MAX_DEPTH.saturating_sub(Ctx::depth(ctx.actual, name)),
                    Change::DeleteThingGroup {
                        thing_group_name: name.clone(),
                    },
                );
                for c in ctx.actual.related(&Related::ChildGroups(name.clone())) {
                    ctx.companion(c.kind, &c.name);
                }
            }
        }
        (None, None) => {}
    }
}

/// The principals as the target should have them: non-certificate principals
/// rewritten, and left out of the comparison when a side did not read them.
fn wanted_principals(ctx: &Ctx<'_>, d: &Thing) -> NameSet {
    let rewrite = ctx.opts.rewrite.is_some();
    d.principals
        .iter()
        .filter(|p| ctx.all_principals || principal_certificate_id(p).is_some())
        .map(|p| {
            if rewrite
                && principal_certificate_id(p).is_none()
                && let Some(r) = ctx.rewrite(p)
            {
                return Name::from(r);
            }
            p.clone()
        })
        .collect()
}

/// The target's principals that the comparison may touch.
fn current_principals(ctx: &Ctx<'_>, a: &Thing) -> NameSet {
    if ctx.all_principals {
        a.principals.clone()
    } else {
        a.principals
            .iter()
            .filter(|p| principal_certificate_id(p).is_some())
            .cloned()
            .collect()
    }
}

fn diff_thing(ctx: &Ctx<'_>, b: &mut Builder, name: &Name, d: Option<&Thing>, a: Option<&Thing>) {
    match (d, a) {
        (Some(d), None) => {
            b.push(
                stage::THINGS,
                0,
                Change::CreateThing {
                    thing_name: name.clone(),
                    thing_type_name: d.thing_type_name.clone(),
                    attributes: effective_attributes(&d.attributes),
                    billing_group_name: d.billing_group_name.clone(),
                },
            );
            if let Some(t) = &d.thing_type_name {
                note_deprecated_type(ctx, b, t);
            }
            for g in d.thing_groups.iter().filter(|g| !ctx.blocked_switch(g)) {
                b.push(
                    stage::RELATIONS_IN,
                    0,
                    Change::AddThingToThingGroup {
                        thing_name: name.clone(),
                        thing_group_name: g.clone(),
                    },
                );
            }
            for p in &wanted_principals(ctx, d) {
                b.push(
                    stage::RELATIONS_IN,
                    0,
                    Change::AttachThingPrincipal {
                        thing_name: name.clone(),
                        principal: p.clone(),
                    },
                );
            }
        }
        (Some(d), Some(a)) => {
            // The fast path: nothing differs (the common case of a large sync).
            if ctx.no_moves
                && ctx.all_principals
                && ctx.opts.rewrite.is_none()
                && d.thing_type_name == a.thing_type_name
                && d.attributes == a.attributes
                && d.thing_groups == a.thing_groups
                && d.billing_group_name == a.billing_group_name
                && d.principals == a.principals
            {
                return;
            }
            update_thing(ctx, b, name, d, a);
        }
        (None, Some(a)) if !ctx.pruned(Kind::Thing, name) => {
            // A thing that stays in the target gets back its memberships of groups
            // that the plan re-creates.
            for g in &a.thing_groups {
                let static_again = ctx
                    .desired
                    .thing_group(g)
                    .is_some_and(|dg| !dg.is_dynamic());
                if static_again && ctx.recreated(g) {
                    b.push(
                        stage::RELATIONS_IN,
                        0,
                        Change::AddThingToThingGroup {
                            thing_name: name.clone(),
                            thing_group_name: g.clone(),
                        },
                    );
                }
            }
        }
        (None, Some(a)) => {
            for p in &current_principals(ctx, a) {
                b.push(
                    stage::PRUNE_DETACH,
                    0,
                    Change::DetachThingPrincipal {
                        thing_name: name.clone(),
                        principal: p.clone(),
                    },
                );
            }
            b.push(
                stage::PRUNE_THINGS,
                0,
                Change::DeleteThing {
                    thing_name: name.clone(),
                },
            );
        }
        (None, None) => {}
    }
}

/// A thing is created with (or given) type `ty`: when the target has it deprecated,
/// the type's own diff undeprecates it around the things (it must be diffed in the
/// same apply), or, outside the filter, the plan warns.
fn note_deprecated_type(ctx: &Ctx<'_>, b: &mut Builder, ty: &Name) {
    if !ctx.actual.thing_type(ty).is_some_and(|t| t.deprecated) {
        return;
    }
    if ctx.takes_part(Kind::ThingType, ty) {
        ctx.companion(Kind::ThingType, ty);
    } else {
        b.warn(format!(
            "thing type {ty} is deprecated in the target and outside the filter: things \
             cannot be created with it or given it until it is undeprecated"
        ));
    }
}

fn update_thing(ctx: &Ctx<'_>, b: &mut Builder, name: &Name, d: &Thing, a: &Thing) {
    if d.thing_type_name != a.thing_type_name || !same_attributes(&d.attributes, &a.attributes) {
        b.push(
            stage::THINGS,
            0,
            Change::UpdateThing {
                thing_name: name.clone(),
                thing_type_name: d.thing_type_name.clone(),
                attributes: effective_attributes(&d.attributes),
            },
        );
        if let Some(t) = &d.thing_type_name
            && a.thing_type_name.as_ref() != Some(t)
        {
            note_deprecated_type(ctx, b, t);
        }
    }
    // Static groups: memberships of re-created groups are gone and come back.
    for g in &a.thing_groups {
        if !d.thing_groups.contains(g)
            && !ctx.early_deleted(g)
            && !ctx.survives_target_only(Kind::ThingGroup, g)
        {
            b.push(
                stage::RELATIONS_OUT,
                0,
                Change::RemoveThingFromThingGroup {
                    thing_name: name.clone(),
                    thing_group_name: g.clone(),
                },
            );
        }
    }
    for g in &d.thing_groups {
        if (!a.thing_groups.contains(g) || ctx.early_deleted(g)) && !ctx.blocked_switch(g) {
            b.push(
                stage::RELATIONS_IN,
                0,
                Change::AddThingToThingGroup {
                    thing_name: name.clone(),
                    thing_group_name: g.clone(),
                },
            );
        }
    }
    // Billing group: a thing is in at most one.
    if d.billing_group_name != a.billing_group_name {
        if let Some(ab) = &a.billing_group_name {
            let keep =
                d.billing_group_name.is_none() && ctx.survives_target_only(Kind::BillingGroup, ab);
            if !keep {
                b.push(
                    stage::RELATIONS_OUT,
                    0,
                    Change::RemoveThingFromBillingGroup {
                        thing_name: name.clone(),
                        billing_group_name: ab.clone(),
                    },
                );
            }
        }
        if let Some(db) = &d.billing_group_name {
            b.push(
                stage::RELATIONS_IN,
                0,
                Change::AddThingToBillingGroup {
                    thing_name: name.clone(),
                    billing_group_name: db.clone(),
                },
            );
        }
    }
    let wanted = wanted_principals(ctx, d);
    let current = current_principals(ctx, a);
    for p in &current {
        if !wanted.contains(p) && !ctx.principal_survives(p) {
            b.push(
                stage::RELATIONS_OUT,
                0,
                Change::DetachThingPrincipal {
                    thing_name: name.clone(),
                    principal: p.clone(),
                },
            );
        }
    }
    for p in &wanted {
        if !current.contains(p) {
            b.push(
                stage::RELATIONS_IN,
                0,
                Change::AttachThingPrincipal {
                    thing_name: name.clone(),
                    principal: p.clone(),
                },
            );
        }
    }
}
