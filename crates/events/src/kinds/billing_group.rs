//! The billing group's own calls: `CreateBillingGroup`, `UpdateBillingGroup`,
//! `DeleteBillingGroup`, each keyed by the request's `billingGroupName`. Memberships
//! (`AddThingToBillingGroup`) are the thing's.

use iot_crr_model::BillingGroup;

use super::request_name;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    CreateBillingGroup => request_name::<BillingGroup>,
    UpdateBillingGroup => request_name::<BillingGroup>,
    DeleteBillingGroup [deletes] => request_name::<BillingGroup>,
);
