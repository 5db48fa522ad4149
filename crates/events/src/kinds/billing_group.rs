//! The billing group's own calls: `CreateBillingGroup`, `UpdateBillingGroup`,
//! `DeleteBillingGroup`, each keyed by the request's `billingGroupName`. Memberships
//! (`AddThingToBillingGroup`) are the thing's.

use iot_crr_model::{BillingGroup, KindSpec, ResourceKey};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;

fn keys(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(
        BillingGroup::KIND,
        req.name(BillingGroup::NAME_FIELD)?,
    )])
}

api_calls!(CALLS:
    CreateBillingGroup => keys,
    UpdateBillingGroup => keys,
    DeleteBillingGroup [deletes] => keys,
);
