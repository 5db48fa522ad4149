//! The reference semantics of every [`Change`] on an in-memory [`Snapshot`].
//!
//! This is what the file and memory registries execute, and the contract the AWS backend
//! implements with API calls. It enforces the preconditions AWS IoT enforces, so that a
//! plan that works here is ordered correctly for AWS too:
//! - a thing's type must exist and not be deprecated when the thing is created or given
//!   that type; its billing group and groups must exist;
//! - a group's parent must exist; a group with child groups cannot be deleted;
//! - a thing type can be deleted only when deprecated and no thing uses it;
//! - a policy can be deleted only when it has no other version than the default and is
//!   attached to nothing; the default version cannot be deleted; at most five versions;
//! - a certificate can be deleted only when it is not active and nothing is attached;
//! - a thing with principals cannot be deleted;
//! - an attribute (of a thing or a group) set to the empty string is removed, as AWS
//!   IoT does with `UpdateThing`.
//!
//! Every change is idempotent: when its effect is already in place the result is
//! [`Outcome::AlreadyInState`] and nothing is modified.

use serde::{Deserialize, Serialize};

use crate::collections::StringMap;
use crate::create::{
    certificate_status_update, same_policy, same_thing, same_thing_group, same_thing_type,
    settable_status,
};
use crate::diff::effective_attributes;
use crate::document::same_document;
use crate::kinds::KindChange;
use crate::plan::{Change, PolicyTarget};
use crate::resource::{
    Certificate, CertificateStatus, Name, Policy, PolicyVersion, Thing, principal_certificate_id,
};
use crate::snapshot::Snapshot;

/// AWS IoT allows at most this many versions per policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The registry was changed.
    Applied,
    /// The registry already was as the change wants it; nothing was written.
    AlreadyInState,
}

/// Why a change could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyErrorKind {
    /// Something the change needs does not exist.
    NotFound,
    /// The registry's state forbids the change (in use, exists with other properties).
    Conflict,
    /// The change itself is invalid (a limit, a bad value).
    Invalid,
}

/// A change that could not be applied, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApplyError {
    /// The broad reason.
    pub kind: ApplyErrorKind,
    /// The reason, for a person.
    pub message: String,
}

pub(crate) fn not_found(msg: impl Into<String>) -> ApplyError {
    ApplyError {
        kind: ApplyErrorKind::NotFound,
        message: msg.into(),
    }
}

pub(crate) fn conflict(msg: impl Into<String>) -> ApplyError {
    ApplyError {
        kind: ApplyErrorKind::Conflict,
        message: msg.into(),
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> ApplyError {
    ApplyError {
        kind: ApplyErrorKind::Invalid,
        message: msg.into(),
    }
}

pub(crate) fn done(changed: bool) -> Result<Outcome, ApplyError> {
    Ok(if changed {
        Outcome::Applied
    } else {
        Outcome::AlreadyInState
    })
}

fn usable_type(s: &Snapshot, name: &Name) -> Result<(), ApplyError> {
    match s.thing_types.get(name) {
        None => Err(not_found(format!("thing type {name} does not exist"))),
        Some(t) if t.deprecated => Err(invalid(format!(
            "thing type {name} is deprecated and cannot be given to a thing"
        ))),
        Some(_) => Ok(()),
    }
}

fn thing_mut<'a>(s: &'a mut Snapshot, name: &Name) -> Result<&'a mut Thing, ApplyError> {
    s.things
        .get_mut(name)
        .ok_or_else(|| not_found(format!("thing {name} does not exist")))
}

fn policy_mut<'a>(s: &'a mut Snapshot, name: &Name) -> Result<&'a mut Policy, ApplyError> {
    s.policies
        .get_mut(name)
        .ok_or_else(|| not_found(format!("policy {name} does not exist")))
}

fn cert_mut<'a>(s: &'a mut Snapshot, id: &Name) -> Result<&'a mut Certificate, ApplyError> {
    s.certificates
        .get_mut(id)
        .ok_or_else(|| not_found(format!("certificate {id} does not exist")))
}

fn tags_mut<'a>(
    s: &'a mut Snapshot,
    key: &crate::resource::ResourceKey,
) -> Result<&'a mut StringMap, ApplyError> {
    crate::with_kind!(key.kind, K => {
        let resource = K::map_mut(s)
            .get_mut(&key.name)
            .ok_or_else(|| not_found(format!("{key} does not exist")))?;
        resource
            .tags_mut()
            .ok_or_else(|| invalid(format!("{} resources cannot be tagged", key.kind)))
    })
}

/// Applies one change to a snapshot with AWS IoT's preconditions.
pub fn apply_change(s: &mut Snapshot, change: &Change) -> Result<Outcome, ApplyError> {
    match change {
        Change::CreateThingType { thing_type } => {
            let name = &thing_type.thing_type_name;
            if let Some(existing) = s.thing_types.get(name) {
                return if same_thing_type(existing, thing_type) {
                    done(false)
                } else {
                    Err(conflict(format!(
                        "thing type {name} already exists with other properties"
                    )))
                };
            }
            let mut t = thing_type.clone();
            t.deprecated = false;
            s.thing_types.insert(name.clone(), t);
            done(true)
        }
        Change::UpdateThingType {
            thing_type_name,
            thing_type_description,
            searchable_attributes,
        } => {
            let t = s
                .thing_types
                .get_mut(thing_type_name)
                .ok_or_else(|| not_found(format!("thing type {thing_type_name} does not exist")))?;
            let changed = t.thing_type_description != *thing_type_description
                || t.searchable_attributes != *searchable_attributes;
            t.thing_type_description = thing_type_description.clone();
            t.searchable_attributes = searchable_attributes.clone();
            done(changed)
        }
        Change::DeprecateThingType {
            thing_type_name,
            undo_deprecate,
        } => {
            let t = s
                .thing_types
                .get_mut(thing_type_name)
                .ok_or_else(|| not_found(format!("thing type {thing_type_name} does not exist")))?;
            let want = !undo_deprecate;
            let changed = t.deprecated != want;
            t.deprecated = want;
            done(changed)
        }
        Change::DeleteThingType { thing_type_name } => {
            let Some(t) = s.thing_types.get(thing_type_name) else {
                return done(false);
            };
            if !t.deprecated {
                return Err(conflict(format!(
                    "thing type {thing_type_name} must be deprecated before it is deleted"
                )));
            }
            if let Some(thing) = s
                .things
                .values()
                .find(|t| t.thing_type_name.as_ref() == Some(thing_type_name))
            {
                return Err(conflict(format!(
                    "thing type {thing_type_name} is still used by thing {}",
                    thing.thing_name
                )));
            }
            s.thing_types.remove(thing_type_name);
            done(true)
        }
        Change::BillingGroup(c) => c.apply(s),
        Change::RoleAlias(c) => c.apply(s),
        Change::CaCertificate(c) => c.apply(s),
        Change::Authorizer(c) => c.apply(s),
        Change::DomainConfiguration(c) => c.apply(s),
        Change::TopicRuleDestination(c) => c.apply(s),
        Change::TopicRule(c) => c.apply(s),
        Change::ProvisioningTemplate(c) => c.apply(s),
        Change::IndexingConfiguration(c) => c.apply(s),
        Change::EventConfigurations(c) => c.apply(s),
        Change::CreateThingGroup { thing_group } => {
            let name = &thing_group.thing_group_name;
            if let Some(existing) = s.thing_groups.get(name) {
                return if same_thing_group(existing, thing_group) {
                    done(false)
                } else {
                    Err(conflict(format!(
                        "thing group {name} already exists with other properties"
                    )))
                };
            }
            if thing_group.is_dynamic() && thing_group.parent_group_name.is_some() {
                return Err(invalid(format!(
                    "dynamic thing group {name} cannot have a parent"
                )));
            }
            if let Some(p) = &thing_group.parent_group_name {
                match s.thing_groups.get(p) {
                    None => {
                        return Err(not_found(format!(
                            "parent thing group {p} of {name} does not exist"
                        )));
                    }
                    Some(pg) if pg.is_dynamic() => {
                        return Err(invalid(format!(
                            "dynamic thing group {p} cannot be the parent of {name}"
                        )));
                    }
                    Some(_) => {}
                }
            }
            let mut g = thing_group.clone();
            g.policies = Default::default();
            g.attributes = effective_attributes(&g.attributes);
            s.thing_groups.insert(name.clone(), g);
            done(true)
        }
        Change::UpdateThingGroup { thing_group } => {
            let name = &thing_group.thing_group_name;
            let g = s
                .thing_groups
                .get_mut(name)
                .ok_or_else(|| not_found(format!("thing group {name} does not exist")))?;
            if g.is_dynamic() != thing_group.is_dynamic() {
                return Err(invalid(format!(
                    "thing group {name} cannot change between static and dynamic"
                )));
            }
            let attributes = effective_attributes(&thing_group.attributes);
            let changed = g.thing_group_description != thing_group.thing_group_description
                || g.attributes != attributes
                || g.query_string != thing_group.query_string
                || g.index_name != thing_group.index_name
                || g.query_version != thing_group.query_version;
            g.thing_group_description = thing_group.thing_group_description.clone();
            g.attributes = attributes;
            g.query_string = thing_group.query_string.clone();
            g.index_name = thing_group.index_name.clone();
            g.query_version = thing_group.query_version.clone();
            done(changed)
        }
        Change::DeleteThingGroup { thing_group_name } => {
            if !s.thing_groups.contains_key(thing_group_name) {
                return done(false);
            }
            if let Some(child) = s
                .thing_groups
                .values()
                .find(|g| g.parent_group_name.as_ref() == Some(thing_group_name))
            {
                return Err(conflict(format!(
                    "thing group {thing_group_name} still has child group {}",
                    child.thing_group_name
                )));
            }
            s.thing_groups.remove(thing_group_name);
            for t in s.things.values_mut() {
                t.thing_groups.remove(thing_group_name);
            }
            done(true)
        }
        Change::CreatePolicy {
            policy_name,
            policy_document,
            tags,
        } => {
            if let Some(existing) = s.policies.get(policy_name) {
                return if same_policy(existing, policy_document) {
                    done(false)
                } else {
                    Err(conflict(format!("policy {policy_name} already exists")))
                };
            }
            s.policies.insert(
                policy_name.clone(),
                Policy {
                    policy_name: policy_name.clone(),
                    default_version_id: "1".into(),
                    versions: vec![PolicyVersion {
                        version_id: "1".into(),
                        policy_document: policy_document.clone(),
                    }],
                    tags: tags.clone(),
                },
            );
            done(true)
        }
        Change::CreatePolicyVersion {
            policy_name,
            policy_document,
            set_as_default,
            versions_before,
        } => {
            let p = policy_mut(s, policy_name)?;
            if let Some(before) = versions_before {
                let before = *before as usize;
                let have = p.versions.len();
                let newest_is_ours = p
                    .versions
                    .iter()
                    .max_by_key(|v| v.version_id.parse::<u64>().unwrap_or(0))
                    .is_some_and(|v| same_document(&v.policy_document, policy_document));
                if have == before + 1 && newest_is_ours {
                    // An earlier attempt created it (its answer was lost): only the
                    // default may still be missing.
                    let newest = p.max_version_number().to_string();
                    let changed = *set_as_default && p.default_version_id != newest;
                    if changed {
                        p.default_version_id = newest.into();
                    }
                    return done(changed);
                }
                if have != before {
                    return Err(conflict(format!(
                        "policy {policy_name} has {have} versions where the plan expects \
                         {before}: it changed since the plan was made"
                    )));
                }
            }
            if p.versions.len() >= MAX_POLICY_VERSIONS {
                return Err(invalid(format!(
                    "policy {policy_name} already has {MAX_POLICY_VERSIONS} versions"
                )));
            }
            let id: Name = (p.max_version_number() + 1).to_string().into();
            p.versions.push(PolicyVersion {
                version_id: id.clone(),
                policy_document: policy_document.clone(),
            });
            if *set_as_default {
                p.default_version_id = id;
            }
            done(true)
        }
        Change::SetDefaultPolicyVersion {
            policy_name,
            policy_version_id,
        } => {
            let p = policy_mut(s, policy_name)?;
            if !p
                .versions
                .iter()
                .any(|v| v.version_id == *policy_version_id)
            {
                return Err(not_found(format!(
                    "policy {policy_name} has no version {policy_version_id}"
                )));
            }
            let changed = p.default_version_id != *policy_version_id;
            p.default_version_id = policy_version_id.clone();
            done(changed)
        }
        Change::DeletePolicyVersion {
            policy_name,
            policy_version_id,
        } => {
            let p = policy_mut(s, policy_name)?;
            if p.default_version_id == *policy_version_id {
                return Err(conflict(format!(
                    "version {policy_version_id} is the default version of policy {policy_name}"
                )));
            }
            let before = p.versions.len();
            p.versions.retain(|v| v.version_id != *policy_version_id);
            done(p.versions.len() != before)
        }
        Change::DeletePolicy { policy_name } => {
            let Some(p) = s.policies.get(policy_name) else {
                return done(false);
            };
            if p.versions.len() > 1 {
                return Err(conflict(format!(
                    "policy {policy_name} still has {} non-default versions",
                    p.versions.len() - 1
                )));
            }
            if let Some(c) = s
                .certificates
                .values()
                .find(|c| c.policies.contains(policy_name))
            {
                return Err(conflict(format!(
                    "policy {policy_name} is still attached to certificate {}",
                    c.certificate_id
                )));
            }
            if let Some(g) = s
                .thing_groups
                .values()
                .find(|g| g.policies.contains(policy_name))
            {
                return Err(conflict(format!(
                    "policy {policy_name} is still attached to thing group {}",
                    g.thing_group_name
                )));
            }
            s.policies.remove(policy_name);
            done(true)
        }
        Change::RegisterCertificate {
            certificate_id,
            certificate_pem,
            status,
            ca_certificate_id,
        } => {
            if let Some(existing) = s.certificates.get_mut(certificate_id) {
                // Registered before (an earlier attempt whose answer was lost, or by
                // someone else): not "already in state" unless the status is the
                // planned one too; it is corrected as AWS's backend corrects it.
                return match certificate_status_update(existing.status, *status) {
                    Some(wanted) => {
                        existing.status = wanted;
                        done(true)
                    }
                    None => done(false),
                };
            }
            s.certificates.insert(
                certificate_id.clone(),
                Certificate {
                    certificate_id: certificate_id.clone(),
                    certificate_pem: certificate_pem.clone(),
                    status: settable_status(*status),
                    ca_certificate_id: ca_certificate_id.clone(),
                    policies: Default::default(),
                },
            );
            done(true)
        }
        Change::UpdateCertificate {
            certificate_id,
            new_status,
        } => {
            let c = cert_mut(s, certificate_id)?;
            let changed = c.status != *new_status;
            c.status = *new_status;
            done(changed)
        }
        Change::DeleteCertificate { certificate_id } => {
            let Some(c) = s.certificates.get(certificate_id) else {
                return done(false);
            };
            if c.status == CertificateStatus::Active {
                return Err(conflict(format!(
                    "certificate {certificate_id} is active; deactivate it first"
                )));
            }
            if !c.policies.is_empty() {
                return Err(conflict(format!(
                    "certificate {certificate_id} still has policies attached"
                )));
            }
            if let Some(t) = s.things.values().find(|t| {
                t.principals
                    .iter()
                    .any(|p| principal_certificate_id(p) == Some(certificate_id.as_str()))
            }) {
                return Err(conflict(format!(
                    "certificate {certificate_id} is still attached to thing {}",
                    t.thing_name
                )));
            }
            s.certificates.remove(certificate_id);
            done(true)
        }
        Change::CreateThing {
            thing_name,
            thing_type_name,
            attributes,
            billing_group_name,
        } => {
            if let Some(existing) = s.things.get(thing_name) {
                let same = same_thing(
                    existing,
                    thing_type_name.as_deref(),
                    attributes,
                    billing_group_name.as_deref(),
                );
                return if same {
                    done(false)
                } else {
                    Err(conflict(format!(
                        "thing {thing_name} already exists with other properties"
                    )))
                };
            }
            if let Some(t) = thing_type_name {
                usable_type(s, t)?;
            }
            if let Some(b) = billing_group_name
                && !s.billing_groups.contains_key(b)
            {
                return Err(not_found(format!("billing group {b} does not exist")));
            }
            s.things.insert(
                thing_name.clone(),
                Thing {
                    thing_name: thing_name.clone(),
                    thing_type_name: thing_type_name.clone(),
                    attributes: effective_attributes(attributes),
                    billing_group_name: billing_group_name.clone(),
                    version: Some(1),
                    ..Default::default()
                },
            );
            done(true)
        }
        Change::UpdateThing {
            thing_name,
            thing_type_name,
            attributes,
        } => {
            let current_type = thing_mut(s, thing_name)?.thing_type_name.clone();
            if let Some(t) = thing_type_name
                && current_type.as_ref() != Some(t)
            {
                usable_type(s, t)?;
            }
            let thing = thing_mut(s, thing_name)?;
            let attributes = effective_attributes(attributes);
            let changed =
                thing.thing_type_name != *thing_type_name || thing.attributes != attributes;
            if changed {
                thing.thing_type_name = thing_type_name.clone();
                thing.attributes = attributes;
                thing.version = Some(thing.version.unwrap_or(0) + 1);
            }
            done(changed)
        }
        Change::DeleteThing { thing_name } => {
            let Some(t) = s.things.get(thing_name) else {
                return done(false);
            };
            if !t.principals.is_empty() {
                return Err(conflict(format!(
                    "thing {thing_name} still has principals attached"
                )));
            }
            s.things.remove(thing_name);
            done(true)
        }
        Change::AddThingToThingGroup {
            thing_name,
            thing_group_name,
        } => {
            match s.thing_groups.get(thing_group_name) {
                None => {
                    return Err(not_found(format!(
                        "thing group {thing_group_name} does not exist"
                    )));
                }
                Some(g) if g.is_dynamic() => {
                    return Err(invalid(format!(
                        "thing group {thing_group_name} is dynamic; things cannot be added to it"
                    )));
                }
                Some(_) => {}
            }
            done(
                thing_mut(s, thing_name)?
                    .thing_groups
                    .insert(thing_group_name.clone()),
            )
        }
        Change::RemoveThingFromThingGroup {
            thing_name,
            thing_group_name,
        } => match s.things.get_mut(thing_name) {
            Some(t) => done(t.thing_groups.remove(thing_group_name)),
            None => done(false),
        },
        Change::AddThingToBillingGroup {
            thing_name,
            billing_group_name,
        } => {
            if !s.billing_groups.contains_key(billing_group_name) {
                return Err(not_found(format!(
                    "billing group {billing_group_name} does not exist"
                )));
            }
            let t = thing_mut(s, thing_name)?;
            let changed = t.billing_group_name.as_ref() != Some(billing_group_name);
            t.billing_group_name = Some(billing_group_name.clone());
            done(changed)
        }
        Change::RemoveThingFromBillingGroup {
            thing_name,
            billing_group_name,
        } => match s.things.get_mut(thing_name) {
            Some(t) if t.billing_group_name.as_ref() == Some(billing_group_name) => {
                t.billing_group_name = None;
                done(true)
            }
            _ => done(false),
        },
        Change::AttachPolicy {
            policy_name,
            target,
        } => {
            if !s.policies.contains_key(policy_name) {
                return Err(not_found(format!("policy {policy_name} does not exist")));
            }
            let set = match target {
                PolicyTarget::Certificate(id) => &mut cert_mut(s, id)?.policies,
                PolicyTarget::ThingGroup(g) => {
                    &mut s
                        .thing_groups
                        .get_mut(g)
                        .ok_or_else(|| not_found(format!("thing group {g} does not exist")))?
                        .policies
                }
            };
            done(set.insert(policy_name.clone()))
        }
        Change::DetachPolicy {
            policy_name,
            target,
        } => {
            let set = match target {
                PolicyTarget::Certificate(id) => {
                    s.certificates.get_mut(id).map(|c| &mut c.policies)
                }
                PolicyTarget::ThingGroup(g) => s.thing_groups.get_mut(g).map(|g| &mut g.policies),
            };
            done(set.is_some_and(|set| set.remove(policy_name)))
        }
        Change::AttachThingPrincipal {
            thing_name,
            principal,
        } => {
            if let Some(id) = principal_certificate_id(principal)
                && !s.certificates.contains_key(id)
            {
                return Err(not_found(format!("certificate {id} does not exist")));
            }
            done(
                thing_mut(s, thing_name)?
                    .principals
                    .insert(principal.clone()),
            )
        }
        Change::DetachThingPrincipal {
            thing_name,
            principal,
        } => match s.things.get_mut(thing_name) {
            Some(t) => done(t.principals.remove(principal)),
            None => done(false),
        },
        Change::TagResource { resource, tags } => {
            let current = tags_mut(s, resource)?;
            let mut changed = false;
            for (k, v) in tags.iter() {
                changed |= current.insert(k, v).as_deref() != Some(v);
            }
            done(changed)
        }
        Change::UntagResource { resource, tag_keys } => {
            let current = tags_mut(s, resource)?;
            let mut changed = false;
            for k in tag_keys {
                changed |= current.remove(k).is_some();
            }
            done(changed)
        }
    }
}
