//! Billing groups (`CreateBillingGroup`): a name, a description and tags. Things name
//! their billing group (`Thing::billing_group_name`); that relation belongs to the thing.

mod change;
mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use change::BillingGroupChange;
pub(crate) use diff::diff;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{Kind, Name, Resource, ResourceRef};
use crate::snapshot::{Counts, Snapshot};
use crate::view::View;

/// A billing group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingGroup {
    /// `billingGroupName`.
    pub billing_group_name: Name,
    /// `billingGroupDescription` (from `billingGroupProperties`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_group_description: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub tags: StringMap,
}

impl KindSpec for BillingGroup {
    const KIND: Kind = Kind::BillingGroup;
    const TAG: &'static str = "billingGroup";
    const NOUN: &'static str = "billing group";
    const PLURAL: &'static str = "billing groups";
    const NAME_FIELD: &'static str = "billingGroupName";
    const ARN_TYPE: &'static str = "billinggroup";
    const TAGGABLE: bool = true;

    fn name(&self) -> &Name {
        &self.billing_group_name
    }

    fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
        &s.billing_groups
    }

    fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
        &mut s.billing_groups
    }

    fn tags_mut(&mut self) -> Option<&mut StringMap> {
        Some(&mut self.tags)
    }

    const ALWAYS_FINGERPRINTED: bool = true;

    fn count(c: &Counts) -> usize {
        c.billing_groups
    }

    fn count_mut(c: &mut Counts) -> &mut usize {
        &mut c.billing_groups
    }

    fn into_resource(self) -> Resource {
        Resource::BillingGroup(self)
    }

    fn as_resource(&self) -> ResourceRef<'_> {
        ResourceRef::BillingGroup(self)
    }

    fn in_view<'v, V: View + ?Sized>(v: &'v V, name: &str) -> Option<&'v Self> {
        v.billing_group(name)
    }

    fn check(&self) -> Result<(), Violation> {
        let c = constraints::Ctx::new(Self::KIND, &self.billing_group_name);
        constraints::own_name(&c)?;
        constraints::description(
            &c,
            "billingGroupDescription",
            &self.billing_group_description,
        )?;
        constraints::tags(&c, &self.tags)
    }
}

/// Whether an existing billing group is the one `CreateBillingGroup` would make: the
/// same description (tags are compared apart, as they are applied apart).
pub fn same_billing_group(existing: &BillingGroup, wanted: &BillingGroup) -> bool {
    existing.billing_group_description == wanted.billing_group_description
}
