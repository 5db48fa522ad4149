//! The authorizer's calls: `CreateAuthorizer`, `UpdateAuthorizer`,
//! `SetDefaultAuthorizer` and `DeleteAuthorizer`, each keyed by the request's
//! `authorizerName`. `ClearDefaultAuthorizer` names no authorizer (the one it cleared is
//! not in the event): it is not mapped, and the next reconcile clears the target's.

use iot_crr_model::{Authorizer, KindSpec, ResourceKey};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;

fn keys(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(
        Authorizer::KIND,
        req.name(Authorizer::NAME_FIELD)?,
    )])
}

api_calls!(CALLS:
    CreateAuthorizer => keys,
    UpdateAuthorizer => keys,
    SetDefaultAuthorizer => keys,
    DeleteAuthorizer [deletes] => keys,
);
