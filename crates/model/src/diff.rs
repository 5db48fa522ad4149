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

use std::collections::{BTreeMap, BTreeSet};

use crate::apply::MAX_POLICY_VERSIONS;
use crate::collections::{NameSet, StringMap};
use crate::document::canonical_document;
use crate::filter::DiffOptions;
use crate::fingerprint::fingerprint;
use crate::plan::{Change, PLAN_FORMAT_VERSION, Plan, PlannedChange, PolicyTarget};
use crate::resource::{
    CertificateStatus, Kind, Name, Policy, ResourceKey, Thing, ThingGroup, principal_certificate_id,
};
use crate::snapshot::{Counts, Snapshot};

/// Stage numbers (see the module documentation); a stage value is `base * 1000 + sub`.
mod stage {
    pub const EARLY_DETACH: u32 = 1;
    pub const EARLY_GROUP_DELETE: u32 = 2;
    pub const DEFINITIONS: u32 = 3;
    pub const GROUPS: u32 = 4;
    pub const THINGS: u32 = 5;
    pub const RELATIONS_OUT: u32 = 6;
    pub const RELATIONS_IN: u32 = 7;
    pub const DEPRECATE: u32 = 8;
    pub const PRUNE_DETACH: u32 = 9;
    pub const PRUNE_THINGS: u32 = 10;
    pub const PRUNE_GROUPS: u32 = 11;
    pub const PRUNE_OTHERS: u32 = 12;
    pub const PRUNE_TYPES: u32 = 13;
    /// Group depth is capped here in stage numbers (AWS allows 7 levels).
    pub const MAX_DEPTH: u32 = 999;
}

struct Builder {
    changes: Vec<PlannedChange>,
    warnings: Vec<String>,
    ignore_tags: bool,
}

impl Builder {
    fn push(&mut self, base: u32, sub: u32, change: Change) {
        self.changes.push(PlannedChange {
            stage: base * 1000 + sub.min(stage::MAX_DEPTH),
            change,
        });
    }

    /// The tags a created resource gets: none when tags are not compared.
    fn tags(&self, tags: &StringMap) -> StringMap {
        if self.ignore_tags {
            StringMap::new()
        } else {
            tags.clone()
        }
    }
}

/// What the diff knows about the two sides beyond the raw snapshots.
struct Ctx<'a> {
    desired: &'a Snapshot,
    actual: &'a Snapshot,
    opts: &'a DiffOptions,
    /// Groups deleted in stage 2 (re-created ones and pruned descendants of moved ones).
    early_deleted: BTreeSet<Name>,
    /// Groups deleted early and created again.
    recreated: BTreeSet<Name>,
    /// Groups that should switch between static and dynamic but cannot (the re-creation
    /// is blocked): they are left alone, memberships to them included.
    blocked_switch: BTreeSet<Name>,
    protected_certs: BTreeSet<Name>,
    protected_policies: BTreeSet<Name>,
    protected_types: BTreeSet<Name>,
}

impl Ctx<'_> {
    fn takes_part(&self, kind: Kind, name: &str) -> bool {
        self.opts.filter.matches(kind, name)
    }

    /// Whether a target-only resource of this kind will be deleted by this plan.
    fn pruned(&self, kind: Kind, name: &Name) -> bool {
        if !self.opts.prune || !self.takes_part(kind, name) {
            return false;
        }
        match kind {
            Kind::Certificate => !self.protected_certs.contains(name),
            Kind::Policy => !self.protected_policies.contains(name),
            Kind::ThingType => !self.protected_types.contains(name),
            _ => true,
        }
    }

    /// Whether `name` exists only in the target and stays there after this plan. A
    /// relation to such a resource is left alone.
    fn survives_target_only(&self, kind: Kind, name: &Name) -> bool {
        let in_desired = match kind {
            Kind::ThingGroup => self.desired.thing_groups.contains_key(name),
            Kind::BillingGroup => self.desired.billing_groups.contains_key(name),
            Kind::Certificate => self.desired.certificates.contains_key(name),
            Kind::Policy => self.desired.policies.contains_key(name),
            Kind::ThingType => self.desired.thing_types.contains_key(name),
            Kind::Thing => self.desired.things.contains_key(name),
        };
        let deleted_early = kind == Kind::ThingGroup && self.early_deleted.contains(name);
        !in_desired
            && !deleted_early
            && self.actual.contains(&ResourceKey::new(kind, name.clone()))
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
}

/// Computes the plan that makes `actual` equal to `desired` under `options`. The plan's
/// `source` and `target` labels are left empty for the caller to fill.
pub fn diff(desired: &Snapshot, actual: &Snapshot, options: &DiffOptions) -> Plan {
    let mut b = Builder {
        changes: Vec::new(),
        warnings: Vec::new(),
        ignore_tags: options.ignore_tags,
    };
    let mut ctx = Ctx {
        desired,
        actual,
        opts: options,
        early_deleted: BTreeSet::new(),
        recreated: BTreeSet::new(),
        blocked_switch: BTreeSet::new(),
        protected_certs: BTreeSet::new(),
        protected_policies: BTreeSet::new(),
        protected_types: BTreeSet::new(),
    };
    if options.prune {
        protect(&mut ctx, &mut b);
    }
    plan_group_moves(&mut ctx, &mut b);

    diff_thing_types(&ctx, &mut b);
    diff_billing_groups(&ctx, &mut b);
    diff_policies(&ctx, &mut b);
    diff_certificates(&ctx, &mut b);
    diff_thing_groups(&ctx, &mut b);
    diff_things(&ctx, &mut b);
    keep_deprecated_types_usable(&ctx, &mut b);

    // Stable: within a stage, the generation order (per resource) is kept.
    b.changes.sort_by_key(|c| c.stage);

    let filter = &options.filter;
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        source: String::new(),
        target: String::new(),
        target_fingerprint: fingerprint(actual, filter),
        options: options.clone(),
        desired_counts: filtered_counts(desired, options),
        target_counts: filtered_counts(actual, options),
        changes: b.changes,
        warnings: b.warnings,
    }
}

fn filtered_counts(s: &Snapshot, o: &DiffOptions) -> Counts {
    let f = &o.filter;
    if f.is_all() {
        return s.counts();
    }
    fn count<T>(m: &BTreeMap<Name, T>, f: &crate::filter::Filter, k: Kind) -> usize {
        if !f.selects_kind(k) {
            0
        } else {
            m.keys().filter(|n| f.matches(k, n)).count()
        }
    }
    Counts {
        thing_types: count(&s.thing_types, f, Kind::ThingType),
        billing_groups: count(&s.billing_groups, f, Kind::BillingGroup),
        thing_groups: count(&s.thing_groups, f, Kind::ThingGroup),
        policies: count(&s.policies, f, Kind::Policy),
        certificates: count(&s.certificates, f, Kind::Certificate),
        things: count(&s.things, f, Kind::Thing),
    }
}

/// Decides which target-only certificates, policies and thing types `prune` must keep
/// because something that stays still uses them.
fn protect(ctx: &mut Ctx<'_>, b: &mut Builder) {
    let (d, a) = (ctx.desired, ctx.actual);
    let f = &ctx.opts.filter;
    // A thing stays when the desired state has it or the filter leaves it alone.
    let thing_stays = |n: &Name| d.things.contains_key(n) || !f.matches(Kind::Thing, n);
    for t in a.things.values() {
        if !thing_stays(&t.thing_name) {
            continue;
        }
        for p in &t.principals {
            if let Some(id) = principal_certificate_id(p)
                && !d.certificates.contains_key(id)
                && a.certificates.contains_key(id)
                && f.matches(Kind::Certificate, id)
                && ctx.protected_certs.insert(id.into())
            {
                b.warnings.push(format!(
                    "kept certificate {id}: the target has it attached to thing {}, which stays",
                    t.thing_name
                ));
            }
        }
        if let Some(ty) = &t.thing_type_name
            && !f.matches(Kind::Thing, &t.thing_name)
            && !d.thing_types.contains_key(ty)
            && a.thing_types.contains_key(ty)
            && f.matches(Kind::ThingType, ty)
            && ctx.protected_types.insert(ty.clone())
        {
            b.warnings.push(format!(
                "kept thing type {ty}: thing {} outside the filter still uses it",
                t.thing_name
            ));
        }
    }
    let cert_stays = |id: &Name, protected: &BTreeSet<Name>| {
        d.certificates.contains_key(id)
            || protected.contains(id)
            || !f.matches(Kind::Certificate, id)
    };
    let group_stays = |n: &Name| d.thing_groups.contains_key(n) || !f.matches(Kind::ThingGroup, n);
    let mut protect_policy = |p: &Name, holder: String, ctx: &mut Ctx<'_>| {
        if !d.policies.contains_key(p)
            && a.policies.contains_key(p)
            && f.matches(Kind::Policy, p)
            && ctx.protected_policies.insert(p.clone())
        {
            b.warnings.push(format!(
                "kept policy {p}: the target has it attached to {holder}, which stays"
            ));
        }
    };
    for c in a.certificates.values() {
        if cert_stays(&c.certificate_id, &ctx.protected_certs) {
            for p in &c.policies {
                protect_policy(p, format!("certificate {}", c.certificate_id), ctx);
            }
        }
    }
    for g in a.thing_groups.values() {
        if group_stays(&g.thing_group_name) {
            for p in &g.policies {
                protect_policy(p, format!("thing group {}", g.thing_group_name), ctx);
            }
        }
    }
}

/// Finds groups whose parent changed (or that switched between static and dynamic) and
/// plans their re-creation with their subtree.
fn plan_group_moves(ctx: &mut Ctx<'_>, b: &mut Builder) {
    let (d, a) = (ctx.desired, ctx.actual);
    let moved: Vec<(&Name, bool)> = d
        .thing_groups
        .values()
        .filter(|g| ctx.takes_part(Kind::ThingGroup, &g.thing_group_name))
        .filter_map(|dg| {
            let ag = a.thing_groups.get(&dg.thing_group_name)?;
            let switch = ag.is_dynamic() != dg.is_dynamic();
            (ag.parent_group_name != dg.parent_group_name || switch)
                .then_some((&dg.thing_group_name, switch))
        })
        .collect();
    for (m, switch) in moved {
        if ctx.early_deleted.contains(m) {
            continue;
        }
        let subtree = a.group_descendants(m);
        let blocker = subtree.iter().find(|g| {
            let matched = ctx.takes_part(Kind::ThingGroup, g);
            let in_desired = d.thing_groups.contains_key(*g);
            !(matched && (in_desired || ctx.opts.prune))
        });
        if let Some(blocker) = blocker {
            b.warnings.push(format!(
                "thing group {m} cannot move to its new parent: AWS IoT fixes a group's parent \
                 at creation, so the group and its subtree must be re-created, and the target's \
                 group {blocker} in that subtree {}",
                if ctx.takes_part(Kind::ThingGroup, blocker) {
                    "exists only in the target (use --prune to allow deleting it)"
                } else {
                    "is outside the filter"
                }
            ));
            if switch {
                ctx.blocked_switch.insert(m.clone());
            }
            continue;
        }
        for g in std::iter::once(m).chain(subtree.iter()) {
            ctx.early_deleted.insert(g.clone());
            if d.thing_groups.contains_key(g) {
                ctx.recreated.insert(g.clone());
            }
        }
    }
    for g in &ctx.early_deleted {
        let ag = &a.thing_groups[g];
        for p in &ag.policies {
            b.push(
                stage::EARLY_DETACH,
                0,
                Change::DetachPolicy {
                    policy_name: p.clone(),
                    target: PolicyTarget::ThingGroup(g.clone()),
                },
            );
        }
        let depth = a.group_depth(g) as u32;
        b.push(
            stage::EARLY_GROUP_DELETE,
            stage::MAX_DEPTH.saturating_sub(depth),
            Change::DeleteThingGroup {
                thing_group_name: g.clone(),
            },
        );
    }
}

/// Tag changes that turn `actual` tags into `desired` tags.
fn diff_tags(b: &mut Builder, key: ResourceKey, desired: &StringMap, actual: &StringMap) {
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

/// Iterates the names of one kind present on either side that take part, with both
/// sides' values.
fn merged<'a, T>(
    ctx: &Ctx<'_>,
    kind: Kind,
    desired: &'a BTreeMap<Name, T>,
    actual: &'a BTreeMap<Name, T>,
) -> Vec<(&'a Name, Option<&'a T>, Option<&'a T>)> {
    if !ctx.opts.filter.selects_kind(kind) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut di = desired.iter().peekable();
    let mut ai = actual.iter().peekable();
    loop {
        let item = match (di.peek(), ai.peek()) {
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
        if ctx.takes_part(kind, item.0) {
            out.push(item);
        }
    }
    out
}

fn diff_thing_types(ctx: &Ctx<'_>, b: &mut Builder) {
    for (name, d, a) in merged(
        ctx,
        Kind::ThingType,
        &ctx.desired.thing_types,
        &ctx.actual.thing_types,
    ) {
        let key = || ResourceKey::new(Kind::ThingType, name.clone());
        match (d, a) {
            (Some(d), None) => {
                b.push(
                    stage::DEFINITIONS,
                    0,
                    Change::CreateThingType {
                        thing_type: crate::resource::ThingType {
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
                }
            }
            (None, None) => {}
        }
    }
}

/// A thing type deprecated on both sides cannot be given to a thing: when the plan
/// creates or retypes things to it, undeprecate it first and deprecate it again after.
fn keep_deprecated_types_usable(ctx: &Ctx<'_>, b: &mut Builder) {
    let mut needed: BTreeSet<Name> = BTreeSet::new();
    for c in &b.changes {
        let ty = match &c.change {
            Change::CreateThing {
                thing_type_name: Some(t),
                ..
            } => t,
            Change::UpdateThing {
                thing_name,
                thing_type_name: Some(t),
                ..
            } => {
                // Keeping a type the thing already has needs no usable type.
                if ctx
                    .actual
                    .things
                    .get(thing_name)
                    .and_then(|a| a.thing_type_name.as_ref())
                    == Some(t)
                {
                    continue;
                }
                t
            }
            _ => continue,
        };
        let deprecated_in_target = ctx.actual.thing_types.get(ty).is_some_and(|t| t.deprecated);
        let stays_deprecated = ctx.desired.thing_types.get(ty).is_none_or(|t| t.deprecated)
            || !ctx.takes_part(Kind::ThingType, ty);
        if deprecated_in_target && stays_deprecated {
            needed.insert(ty.clone());
        }
    }
    for ty in needed {
        if !ctx.takes_part(Kind::ThingType, &ty) {
            b.warnings.push(format!(
                "thing type {ty} is deprecated in the target and outside the filter: things \
                 cannot be created with it or given it until it is undeprecated"
            ));
            continue;
        }
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
                thing_type_name: ty,
                undo_deprecate: false,
            },
        );
    }
}

fn diff_billing_groups(ctx: &Ctx<'_>, b: &mut Builder) {
    for (name, d, a) in merged(
        ctx,
        Kind::BillingGroup,
        &ctx.desired.billing_groups,
        &ctx.actual.billing_groups,
    ) {
        match (d, a) {
            (Some(d), None) => b.push(
                stage::DEFINITIONS,
                0,
                Change::CreateBillingGroup {
                    billing_group: crate::resource::BillingGroup {
                        tags: b.tags(&d.tags),
                        ..d.clone()
                    },
                },
            ),
            (Some(d), Some(a)) => {
                if d.billing_group_description != a.billing_group_description {
                    b.push(
                        stage::DEFINITIONS,
                        0,
                        Change::UpdateBillingGroup {
                            billing_group_name: name.clone(),
                            billing_group_description: d.billing_group_description.clone(),
                        },
                    );
                }
                diff_tags(
                    b,
                    ResourceKey::new(Kind::BillingGroup, name.clone()),
                    &d.tags,
                    &a.tags,
                );
            }
            (None, Some(_)) => {
                if ctx.pruned(Kind::BillingGroup, name) {
                    b.push(
                        stage::PRUNE_OTHERS,
                        0,
                        Change::DeleteBillingGroup {
                            billing_group_name: name.clone(),
                        },
                    );
                }
            }
            (None, None) => {}
        }
    }
}

fn diff_policies(ctx: &Ctx<'_>, b: &mut Builder) {
    for (name, d, a) in merged(
        ctx,
        Kind::Policy,
        &ctx.desired.policies,
        &ctx.actual.policies,
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
                }
            }
            (None, None) => {}
        }
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
                versions_before: None,
            },
        );
    }
}

/// Plans the version changes that turn policy `a` into the version list `docs` with the
/// default at `default`, never exceeding five versions and never deleting the default.
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
        push(
            b,
            Change::DeletePolicyVersion {
                policy_name: name.clone(),
                policy_version_id: id.clone(),
            },
        )
    };
    let create = |b: &mut Builder, i: usize, as_default: bool| {
        push(
            b,
            Change::CreatePolicyVersion {
                policy_name: name.clone(),
                policy_document: docs[i].clone(),
                set_as_default: as_default,
                versions_before: None,
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

/// The status a certificate can have in the target: the internal transfer and
/// activation states cannot be set through the API and mean "not usable", as INACTIVE
/// does.
fn target_status(s: CertificateStatus) -> CertificateStatus {
    match s {
        CertificateStatus::PendingTransfer
        | CertificateStatus::PendingActivation
        | CertificateStatus::RegisterInactive => CertificateStatus::Inactive,
        other => other,
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

fn diff_certificates(ctx: &Ctx<'_>, b: &mut Builder) {
    for (id, d, a) in merged(
        ctx,
        Kind::Certificate,
        &ctx.desired.certificates,
        &ctx.actual.certificates,
    ) {
        let target = || PolicyTarget::Certificate(id.clone());
        match (d, a) {
            (Some(d), None) => {
                b.push(
                    stage::DEFINITIONS,
                    0,
                    Change::RegisterCertificate {
                        certificate_id: id.clone(),
                        certificate_pem: d.certificate_pem.clone(),
                        status: target_status(d.status),
                        ca_certificate_id: d.ca_certificate_id.clone(),
                    },
                );
                diff_policy_set(ctx, b, target(), &d.policies, &NameSet::new());
            }
            (Some(d), Some(a)) => {
                let want = target_status(d.status);
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
                }
            }
            (None, None) => {}
        }
    }
}

fn group_props_differ(d: &ThingGroup, a: &ThingGroup) -> bool {
    d.thing_group_description != a.thing_group_description
        || d.attributes != a.attributes
        || d.query_string != a.query_string
        || d.index_name != a.index_name
        || d.query_version != a.query_version
}

fn diff_thing_groups(ctx: &Ctx<'_>, b: &mut Builder) {
    for (name, d, a) in merged(
        ctx,
        Kind::ThingGroup,
        &ctx.desired.thing_groups,
        &ctx.actual.thing_groups,
    ) {
        let a = a.filter(|_| !ctx.early_deleted.contains(name));
        let target = || PolicyTarget::ThingGroup(name.clone());
        match (d, a) {
            (Some(d), None) => {
                let depth = ctx.desired.group_depth(name) as u32;
                b.push(
                    stage::GROUPS,
                    depth,
                    Change::CreateThingGroup {
                        thing_group: ThingGroup {
                            policies: NameSet::new(),
                            tags: b.tags(&d.tags),
                            ..d.clone()
                        },
                    },
                );
                // A re-created group gets back the target-only policies it had.
                let mut policies = d.policies.clone();
                if ctx.recreated.contains(name) {
                    for p in &ctx.actual.thing_groups[name].policies {
                        if ctx.survives_target_only(Kind::Policy, p) {
                            policies.insert(p.clone());
                        }
                    }
                }
                diff_policy_set(ctx, b, target(), &policies, &NameSet::new());
            }
            (Some(d), Some(a)) => {
                if group_props_differ(d, a) && !ctx.blocked_switch.contains(name) {
                    let depth = ctx.desired.group_depth(name) as u32;
                    b.push(
                        stage::GROUPS,
                        depth,
                        Change::UpdateThingGroup {
                            thing_group: ThingGroup {
                                policies: NameSet::new(),
                                tags: StringMap::new(),
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
                    let depth = ctx.actual.group_depth(name) as u32;
                    b.push(
                        stage::PRUNE_GROUPS,
                        stage::MAX_DEPTH.saturating_sub(depth),
                        Change::DeleteThingGroup {
                            thing_group_name: name.clone(),
                        },
                    );
                }
            }
            (None, None) => {}
        }
    }
}

/// The thing as the target should have it: non-certificate principals rewritten.
fn desired_principals(ctx: &Ctx<'_>, d: &Thing) -> Option<NameSet> {
    ctx.opts.rewrite.as_ref()?;
    let mut changed = false;
    let set: NameSet = d
        .principals
        .iter()
        .map(|p| {
            if principal_certificate_id(p).is_none()
                && let Some(r) = ctx.rewrite(p)
            {
                changed = true;
                return Name::from(r);
            }
            p.clone()
        })
        .collect();
    changed.then_some(set)
}

fn diff_things(ctx: &Ctx<'_>, b: &mut Builder) {
    let (d_all, a_all) = (&ctx.desired.things, &ctx.actual.things);
    let no_moves = ctx.early_deleted.is_empty();
    for (name, d, a) in merged(ctx, Kind::Thing, d_all, a_all) {
        match (d, a) {
            (Some(d), None) => {
                b.push(
                    stage::THINGS,
                    0,
                    Change::CreateThing {
                        thing_name: name.clone(),
                        thing_type_name: d.thing_type_name.clone(),
                        attributes: d.attributes.clone(),
                        billing_group_name: d.billing_group_name.clone(),
                    },
                );
                for g in d
                    .thing_groups
                    .iter()
                    .filter(|g| !ctx.blocked_switch.contains(*g))
                {
                    b.push(
                        stage::RELATIONS_IN,
                        0,
                        Change::AddThingToThingGroup {
                            thing_name: name.clone(),
                            thing_group_name: g.clone(),
                        },
                    );
                }
                let principals = desired_principals(ctx, d);
                for p in principals.as_ref().unwrap_or(&d.principals) {
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
                let principals = desired_principals(ctx, d);
                // The fast path: nothing differs (the common case of a large sync).
                if no_moves
                    && principals.is_none()
                    && d.thing_type_name == a.thing_type_name
                    && d.attributes == a.attributes
                    && d.thing_groups == a.thing_groups
                    && d.billing_group_name == a.billing_group_name
                    && d.principals == a.principals
                {
                    continue;
                }
                update_thing(
                    ctx,
                    b,
                    name,
                    d,
                    a,
                    principals.as_ref().unwrap_or(&d.principals),
                );
            }
            (None, Some(a)) if !ctx.pruned(Kind::Thing, name) => {
                // A thing that stays in the target gets back its memberships of groups
                // that the plan re-creates.
                for g in &a.thing_groups {
                    let static_again = ctx
                        .desired
                        .thing_groups
                        .get(g)
                        .is_some_and(|dg| !dg.is_dynamic());
                    if ctx.recreated.contains(g) && static_again {
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
                for p in &a.principals {
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
}

fn update_thing(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: &Thing,
    a: &Thing,
    principals: &NameSet,
) {
    if d.thing_type_name != a.thing_type_name || d.attributes != a.attributes {
        b.push(
            stage::THINGS,
            0,
            Change::UpdateThing {
                thing_name: name.clone(),
                thing_type_name: d.thing_type_name.clone(),
                attributes: d.attributes.clone(),
            },
        );
    }
    // Static groups: memberships of re-created groups are gone and come back.
    for g in &a.thing_groups {
        if !d.thing_groups.contains(g)
            && !ctx.early_deleted.contains(g)
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
        if (!a.thing_groups.contains(g) || ctx.early_deleted.contains(g))
            && !ctx.blocked_switch.contains(g)
        {
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
    for p in &a.principals {
        if !principals.contains(p) && !ctx.principal_survives(p) {
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
    for p in principals {
        if !a.principals.contains(p) {
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
