//! The operations on billing groups, with their reference semantics and checks.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{BillingGroup, same_billing_group};
use crate::apply::{ApplyError, Outcome, conflict, done, not_found};
use crate::constraints::{self, Violation};
use crate::kinds::{KindChange, KindSpec};
use crate::plan::Action;
use crate::resource::{Name, ResourceKey};
use crate::snapshot::Snapshot;

/// A write to a billing group. Memberships (`AddThingToBillingGroup`) are the thing's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum BillingGroupChange {
    /// `CreateBillingGroup`, with its tags.
    CreateBillingGroup {
        /// The group as it should be.
        billing_group: BillingGroup,
    },
    /// `UpdateBillingGroup`.
    UpdateBillingGroup {
        /// Group name.
        billing_group_name: Name,
        /// The new description.
        billing_group_description: Option<String>,
    },
    /// `DeleteBillingGroup`. The things in it are left without a billing group.
    DeleteBillingGroup {
        /// Group name.
        billing_group_name: Name,
    },
}

impl BillingGroupChange {
    fn name(&self) -> &Name {
        match self {
            BillingGroupChange::CreateBillingGroup { billing_group } => {
                &billing_group.billing_group_name
            }
            BillingGroupChange::UpdateBillingGroup {
                billing_group_name, ..
            }
            | BillingGroupChange::DeleteBillingGroup { billing_group_name } => billing_group_name,
        }
    }
}

impl KindChange for BillingGroupChange {
    const OPS: &'static [&'static str] = &[
        "createBillingGroup",
        "updateBillingGroup",
        "deleteBillingGroup",
    ];

    fn api(&self) -> &'static str {
        match self {
            BillingGroupChange::CreateBillingGroup { .. } => "CreateBillingGroup",
            BillingGroupChange::UpdateBillingGroup { .. } => "UpdateBillingGroup",
            BillingGroupChange::DeleteBillingGroup { .. } => "DeleteBillingGroup",
        }
    }

    fn key(&self) -> ResourceKey {
        ResourceKey::new(BillingGroup::KIND, self.name().clone())
    }

    fn action(&self) -> Action {
        match self {
            BillingGroupChange::CreateBillingGroup { .. } => Action::Create,
            BillingGroupChange::UpdateBillingGroup { .. } => Action::Update,
            BillingGroupChange::DeleteBillingGroup { .. } => Action::Delete,
        }
    }

    fn check(&self) -> Result<(), Violation> {
        match self {
            BillingGroupChange::CreateBillingGroup { billing_group } => billing_group.check(),
            BillingGroupChange::UpdateBillingGroup {
                billing_group_name,
                billing_group_description,
            } => {
                let c = constraints::Ctx::new(BillingGroup::KIND, billing_group_name);
                constraints::own_name(&c)?;
                constraints::description(&c, "billingGroupDescription", billing_group_description)
            }
            BillingGroupChange::DeleteBillingGroup { billing_group_name } => constraints::own_name(
                &constraints::Ctx::new(BillingGroup::KIND, billing_group_name),
            ),
        }
    }

    fn apply(&self, s: &mut Snapshot) -> Result<Outcome, ApplyError> {
        match self {
            BillingGroupChange::CreateBillingGroup { billing_group } => {
                let name = &billing_group.billing_group_name;
                if let Some(existing) = s.billing_groups.get(name) {
                    return if same_billing_group(existing, billing_group) {
                        done(false)
                    } else {
                        Err(conflict(format!(
                            "billing group {name} already exists with other properties"
                        )))
                    };
                }
                s.billing_groups.insert(name.clone(), billing_group.clone());
                done(true)
            }
            BillingGroupChange::UpdateBillingGroup {
                billing_group_name,
                billing_group_description,
            } => {
                let g = s
                    .billing_groups
                    .get_mut(billing_group_name)
                    .ok_or_else(|| {
                        not_found(format!("billing group {billing_group_name} does not exist"))
                    })?;
                let changed = g.billing_group_description != *billing_group_description;
                g.billing_group_description = billing_group_description.clone();
                done(changed)
            }
            BillingGroupChange::DeleteBillingGroup { billing_group_name } => {
                if s.billing_groups.remove(billing_group_name).is_none() {
                    return done(false);
                }
                for t in s.things.values_mut() {
                    if t.billing_group_name.as_ref() == Some(billing_group_name) {
                        t.billing_group_name = None;
                    }
                }
                done(true)
            }
        }
    }
}

impl fmt::Display for BillingGroupChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            BillingGroupChange::CreateBillingGroup { .. } => "create",
            BillingGroupChange::UpdateBillingGroup { .. } => "update",
            BillingGroupChange::DeleteBillingGroup { .. } => "delete",
        };
        write!(f, "{verb} {} {}", BillingGroup::NOUN, self.name())
    }
}
