//! When a create meets a resource that already exists: is it the one the create wants?
//!
//! A create is idempotent: when the resource exists with the properties the create
//! would give it, the change is already in state; when it exists with others, the
//! change is a conflict. These pure functions are the one definition of "the same
//! properties", used by the reference semantics ([`crate::apply_change`]) and by the
//! backends that check an existing resource after the registry answered "already
//! exists". Only what the create call sets is compared: tags, memberships, policy
//! attachments and a thing type's deprecation are changes of their own.

use crate::collections::StringMap;
use crate::diff::same_attributes;
use crate::document::same_document;
use crate::resource::{CertificateStatus, Policy, Thing, ThingGroup, ThingType};

/// The index a dynamic thing group queries when it names none (AWS IoT's only index).
pub const DEFAULT_INDEX_NAME: &str = "AWS_Things";

/// The query version of a dynamic thing group that names none (AWS IoT's only version;
/// `CreateDynamicThingGroup` defaults to it).
pub const DEFAULT_QUERY_VERSION: &str = "2017-09-30";

/// Whether an existing thing type is the one `CreateThingType` would make: the same
/// description and searchable attributes.
pub fn same_thing_type(existing: &ThingType, wanted: &ThingType) -> bool {
    existing.thing_type_description == wanted.thing_type_description
        && existing.searchable_attributes == wanted.searchable_attributes
}

pub use crate::kinds::billing_group::same_billing_group;

/// Whether an existing thing group is the one `CreateThingGroup` (or
/// `CreateDynamicThingGroup`) would make: the same parent, description, attributes and,
/// for a dynamic group, query string, index name and query version (an absent index
/// name is [`DEFAULT_INDEX_NAME`], an absent query version [`DEFAULT_QUERY_VERSION`],
/// as AWS IoT fills them in).
pub fn same_thing_group(existing: &ThingGroup, wanted: &ThingGroup) -> bool {
    existing.parent_group_name == wanted.parent_group_name
        && existing.thing_group_description == wanted.thing_group_description
        && same_attributes(&existing.attributes, &wanted.attributes)
        && existing.query_string == wanted.query_string
        && (!wanted.is_dynamic()
            || (index_name(existing) == index_name(wanted)
                && query_version(existing) == query_version(wanted)))
}

/// The index a dynamic group queries, the default filled in.
fn index_name(g: &ThingGroup) -> &str {
    g.index_name.as_deref().unwrap_or(DEFAULT_INDEX_NAME)
}

/// The query version of a dynamic group, the default filled in.
fn query_version(g: &ThingGroup) -> &str {
    g.query_version.as_deref().unwrap_or(DEFAULT_QUERY_VERSION)
}

/// Whether an existing thing is the one `CreateThing` would make with this type,
/// attributes and billing group: the same type and attributes, and the same billing
/// group when the create names one (a create without one leaves any billing group as
/// it is).
pub fn same_thing(
    existing: &Thing,
    thing_type_name: Option<&str>,
    attributes: &StringMap,
    billing_group_name: Option<&str>,
) -> bool {
    existing.thing_type_name.as_deref() == thing_type_name
        && same_attributes(&existing.attributes, attributes)
        && (billing_group_name.is_none()
            || existing.billing_group_name.as_deref() == billing_group_name)
}

/// Whether an existing policy is the one `CreatePolicy` would make with this document:
/// a single version with the same document (compared as JSON, see
/// [`same_document`]).
pub fn same_policy(existing: &Policy, policy_document: &str) -> bool {
    existing.versions.len() == 1
        && same_document(&existing.versions[0].policy_document, policy_document)
}

/// The status a certificate planned with status `planned` is to have in the target:
/// the same, except that the transfer and activation states, which `UpdateCertificate`
/// cannot set and which mean "not usable", become INACTIVE.
pub fn settable_status(planned: CertificateStatus) -> CertificateStatus {
    match planned {
        CertificateStatus::PendingTransfer
        | CertificateStatus::PendingActivation
        | CertificateStatus::RegisterInactive => CertificateStatus::Inactive,
        other => other,
    }
}

/// A certificate registration met a certificate that is already registered with status
/// `existing`: the status to set with `UpdateCertificate` so that it ends as planned
/// ([`settable_status`] of `planned`), or `None` when it already has it.
pub fn certificate_status_update(
    existing: CertificateStatus,
    planned: CertificateStatus,
) -> Option<CertificateStatus> {
    let wanted = settable_status(planned);
    (existing != wanted).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{BillingGroup, PolicyVersion};

    #[test]
    fn thing_types_and_billing_groups_compare_what_create_sets() {
        let t = ThingType {
            thing_type_name: "sensor".into(),
            thing_type_description: Some("d".into()),
            searchable_attributes: ["model"].into_iter().collect(),
            ..Default::default()
        };
        let mut other = t.clone();
        other.deprecated = true;
        other.tags = StringMap::from_iter([("k", "v")]);
        assert!(
            same_thing_type(&other, &t),
            "deprecation and tags are their own changes"
        );
        other.thing_type_description = None;
        assert!(!same_thing_type(&other, &t));
        let mut other = t.clone();
        other.searchable_attributes = Default::default();
        assert!(!same_thing_type(&other, &t));

        let b = BillingGroup {
            billing_group_name: "b".into(),
            billing_group_description: Some("d".into()),
            ..Default::default()
        };
        let mut other = b.clone();
        other.tags = StringMap::from_iter([("k", "v")]);
        assert!(same_billing_group(&other, &b));
        other.billing_group_description = Some("e".into());
        assert!(!same_billing_group(&other, &b));
    }

    #[test]
    fn thing_groups_compare_parent_properties_and_query() {
        let g = ThingGroup {
            thing_group_name: "g".into(),
            parent_group_name: Some("root".into()),
            thing_group_description: Some("d".into()),
            attributes: StringMap::from_iter([("a", "1")]),
            ..Default::default()
        };
        let mut other = g.clone();
        other.policies = ["p"].into_iter().collect();
        other.tags = StringMap::from_iter([("k", "v")]);
        assert!(same_thing_group(&other, &g));
        for change in [
            |g: &mut ThingGroup| g.parent_group_name = None,
            |g: &mut ThingGroup| g.thing_group_description = None,
            |g: &mut ThingGroup| g.attributes = StringMap::new(),
            |g: &mut ThingGroup| g.query_string = Some("thingName:x".into()),
        ] {
            let mut other = g.clone();
            change(&mut other);
            assert!(!same_thing_group(&other, &g), "{other:?}");
        }
    }

    #[test]
    fn dynamic_groups_compare_index_and_query_version_with_defaults() {
        let d = ThingGroup {
            thing_group_name: "dyn".into(),
            query_string: Some("attributes.model:x1".into()),
            ..Default::default()
        };
        let mut filled = d.clone();
        filled.index_name = Some(DEFAULT_INDEX_NAME.into());
        filled.query_version = Some(DEFAULT_QUERY_VERSION.into());
        assert!(same_thing_group(&filled, &d), "absent means AWS's default");
        assert!(same_thing_group(&d, &filled));
        let mut other = filled.clone();
        other.index_name = Some("AWS_Other".into());
        assert!(!same_thing_group(&other, &d));
        let mut other = filled.clone();
        other.query_version = Some("2030-01-01".into());
        assert!(!same_thing_group(&other, &d));
        let mut other = filled;
        other.query_string = Some("attributes.model:x2".into());
        assert!(!same_thing_group(&other, &d));
    }

    #[test]
    fn things_compare_type_attributes_and_a_named_billing_group() {
        let t = Thing {
            thing_name: "t".into(),
            thing_type_name: Some("sensor".into()),
            attributes: StringMap::from_iter([("a", "1")]),
            billing_group_name: Some("b".into()),
            thing_groups: ["g"].into_iter().collect(),
            version: Some(3),
            ..Default::default()
        };
        let attrs = StringMap::from_iter([("a", "1")]);
        assert!(same_thing(&t, Some("sensor"), &attrs, Some("b")));
        assert!(
            same_thing(&t, Some("sensor"), &attrs, None),
            "no billing group named"
        );
        assert!(!same_thing(&t, Some("sensor"), &attrs, Some("c")));
        assert!(!same_thing(&t, None, &attrs, None));
        assert!(!same_thing(&t, Some("sensor"), &StringMap::new(), None));
    }

    #[test]
    fn policies_compare_their_single_document_as_json() {
        let p = Policy {
            policy_name: "p".into(),
            default_version_id: "1".into(),
            versions: vec![PolicyVersion {
                version_id: "1".into(),
                policy_document: r#"{"Version": "2012-10-17"}"#.into(),
            }],
            ..Default::default()
        };
        assert!(same_policy(&p, r#"{"Version":"2012-10-17"}"#));
        assert!(!same_policy(&p, r#"{"Version":"2008-10-17"}"#));
        let mut two = p.clone();
        two.versions.push(PolicyVersion {
            version_id: "2".into(),
            policy_document: "{}".into(),
        });
        assert!(!same_policy(&two, r#"{"Version":"2012-10-17"}"#));
    }

    #[test]
    fn certificate_status_ends_as_planned() {
        use CertificateStatus as S;
        assert_eq!(certificate_status_update(S::Active, S::Active), None);
        assert_eq!(
            certificate_status_update(S::Inactive, S::Active),
            Some(S::Active)
        );
        assert_eq!(
            certificate_status_update(S::Active, S::Inactive),
            Some(S::Inactive)
        );
        assert_eq!(
            certificate_status_update(S::Inactive, S::Revoked),
            Some(S::Revoked)
        );
        assert_eq!(
            certificate_status_update(S::Active, S::Revoked),
            Some(S::Revoked)
        );
        assert_eq!(certificate_status_update(S::Revoked, S::Revoked), None);
        assert_eq!(
            certificate_status_update(S::Inactive, S::PendingTransfer),
            None
        );
        assert_eq!(
            certificate_status_update(S::Active, S::RegisterInactive),
            Some(S::Inactive)
        );
        assert_eq!(settable_status(S::PendingActivation), S::Inactive);
    }
}
