//! The dependency rules: which earlier changes a change waits for.
//!
//! A plan's stage value is `base * 1000 + sub` ([`iot_crr_model::diff`](mod@iot_crr_model::diff)): base 1 and 2
//! re-create thing groups (detach, then delete children first), 3 to 8 create and update
//! definitions, groups, things and relations and deprecate types, 9 and above prune
//! (detach, then delete). The engine derives from the plan, conservatively:
//!
//! 1. **Same resource**: changes with the same [`Change::key`] run one after another,
//!    in submission (plan) order.
//! 2. **What a change needs**: a change waits for the earlier-stage changes about every
//!    resource in [`references`] (its [`Change::requires`] and the resources it names).
//!    Changes of the same stage are independent by the plan's contract, so a change
//!    never waits for a same-stage change about another resource.
//! 3. **Deprecations**: a `DeprecateThingType` (not an undeprecation) waits for the
//!    earlier changes that give things that type (`CreateThing`, `UpdateThing`), since
//!    a deprecated type cannot be given to a thing.
//! 4. **Barriers**: the early stages (base 1 and 2) and the prune stages (base 9 and
//!    above) keep full barriers: a change of such a stage waits for every change
//!    submitted before it of another stage, and every change submitted after it of
//!    another stage waits for it. Deletes need whatever refers to the deleted resource
//!    gone first (a group's children, a certificate's attachments, a type's things), and
//!    these relations are not all named by the deleting change; these stages are rare
//!    and bounded (re-parented groups, pruned resources), so a barrier costs little.
//!
//! Why rules 1 to 3 are enough for stages 3 to 8 (the preconditions of
//! [`apply_change`](iot_crr_model::apply_change)): every change there reads only its
//! own resource (rule 1) and the resources it names (rule 2): a thing's type (existing
//! and not deprecated: created or undeprecated in stage 3) and billing group, a group's
//! parent (created in a lower sub-stage), the policy, group, billing group and
//! certificate of a relation. The only change there that makes a named resource
//! unusable is a deprecation, covered by rule 3. A thing leaving a group before joining
//! another of the same hierarchy, or leaving a billing group before joining another, are
//! changes of the same thing, kept in order by rule 1; so are a policy's versions.

use iot_crr_model::{Change, Kind, Name, ResourceKey, principal_certificate_id};

/// The resources a change refers to besides its own [`Change::key`]: everything in
/// [`Change::requires`] (the policy of `AttachPolicy`, the group of
/// `AddThingToThingGroup`, the billing group of `AddThingToBillingGroup`, the
/// certificate of `AttachThingPrincipal`, the type and billing group of
/// `CreateThing` and the type of `UpdateThing`, the parent of `CreateThingGroup`), plus the same
/// resource of the removing counterparts (`DetachPolicy`, `RemoveThingFromThingGroup`,
/// `RemoveThingFromBillingGroup`, `DetachThingPrincipal`). A change waits for the
/// earlier-stage changes about each of them.
pub fn references(change: &Change) -> Vec<ResourceKey> {
    let mut out = change.requires();
    let mut add = |kind: Kind, name: &Name| out.push(ResourceKey::new(kind, name.clone()));
    match change {
        Change::DetachPolicy { policy_name, .. } => add(Kind::Policy, policy_name),
        Change::RemoveThingFromThingGroup {
            thing_group_name, ..
        } => add(Kind::ThingGroup, thing_group_name),
        Change::RemoveThingFromBillingGroup {
            billing_group_name, ..
        } => add(Kind::BillingGroup, billing_group_name),
        Change::DetachThingPrincipal { principal, .. } => {
            if let Some(id) = principal_certificate_id(principal) {
                add(Kind::Certificate, &Name::from(id))
            }
        }
        _ => {}
    }
    let own = change.key();
    let mut unique: Vec<ResourceKey> = Vec::with_capacity(out.len());
    for k in out {
        if k != own && !unique.contains(&k) {
            unique.push(k);
        }
    }
    unique
}

/// The thing type a change gives a thing, when it gives one.
pub(crate) fn type_given(change: &Change) -> Option<&Name> {
    match change {
        Change::CreateThing {
            thing_type_name: Some(t),
            ..
        }
        | Change::UpdateThing {
            thing_type_name: Some(t),
            ..
        } => Some(t),
        _ => None,
    }
}

/// The thing type a change deprecates (an undeprecation is not one).
pub(crate) fn type_deprecated(change: &Change) -> Option<&Name> {
    match change {
        Change::DeprecateThingType {
            thing_type_name,
            undo_deprecate: false,
        } => Some(thing_type_name),
        _ => None,
    }
}

/// Whether a stage keeps a full barrier: the early stages (base 1 and 2) and the prune
/// stages (base 9 and above).
pub(crate) fn is_barrier(stage: u32) -> bool {
    let base = stage / 1000;
    base == 1 || base == 2 || base >= 9
}

/// Consecutive changes of one phase class form a phase; a phase starts when every
/// earlier phase has finished. All non-barrier stages share one class (they flow,
/// ordered by dependencies only); each barrier stage is a class of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhaseClass {
    /// Stages ordered by dependencies.
    Flow,
    /// One barrier stage.
    Barrier(u32),
}

impl PhaseClass {
    /// The class of a stage.
    pub(crate) fn of(stage: u32) -> Self {
        if is_barrier(stage) {
            PhaseClass::Barrier(stage)
        } else {
            PhaseClass::Flow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_crr_model::{PolicyTarget, ThingGroup};

    fn key(kind: Kind, name: &str) -> ResourceKey {
        ResourceKey::new(kind, name)
    }

    #[test]
    fn references_name_every_resource_a_change_uses() {
        let c = Change::DetachPolicy {
            policy_name: "p".into(),
            target: PolicyTarget::Certificate("c".into()),
        };
        assert_eq!(references(&c), vec![key(Kind::Policy, "p")]);
        let c = Change::RemoveThingFromBillingGroup {
            thing_name: "t".into(),
            billing_group_name: "b".into(),
        };
        assert_eq!(references(&c), vec![key(Kind::BillingGroup, "b")]);
        let c = Change::DetachThingPrincipal {
            thing_name: "t".into(),
            principal: "cert/abc".into(),
        };
        assert_eq!(references(&c), vec![key(Kind::Certificate, "abc")]);
        let c = Change::DetachThingPrincipal {
            thing_name: "t".into(),
            principal: "us-east-1:cognito".into(),
        };
        assert!(references(&c).is_empty());
        let c = Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: Some("ty".into()),
            attributes: Default::default(),
            billing_group_name: Some("b".into()),
        };
        // requires() names the same two: no duplicates.
        assert_eq!(
            references(&c),
            vec![key(Kind::ThingType, "ty"), key(Kind::BillingGroup, "b")]
        );
        let c = Change::CreateThingGroup {
            thing_group: ThingGroup {
                thing_group_name: "child".into(),
                parent_group_name: Some("root".into()),
                ..Default::default()
            },
        };
        assert_eq!(references(&c), vec![key(Kind::ThingGroup, "root")]);
        let c = Change::DeleteThing {
            thing_name: "t".into(),
        };
        assert!(references(&c).is_empty());
    }

    #[test]
    fn barriers_are_the_early_and_prune_stages() {
        assert!(!is_barrier(0) && !is_barrier(999));
        assert!(is_barrier(1000) && is_barrier(2996) && is_barrier(2999));
        assert!(!is_barrier(3000) && !is_barrier(4003) && !is_barrier(8000));
        assert!(is_barrier(9000) && is_barrier(11_998) && is_barrier(13_000));
        assert_eq!(PhaseClass::of(3000), PhaseClass::of(7000));
        assert_ne!(PhaseClass::of(2997), PhaseClass::of(2998));
    }
}
