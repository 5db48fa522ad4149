//! The authorizer's calls: `CreateAuthorizer`, `UpdateAuthorizer`,
//! `SetDefaultAuthorizer` and `DeleteAuthorizer`, each keyed by the request's
//! `authorizerName`. `ClearDefaultAuthorizer` names no authorizer (the one it cleared is
//! not in the event): it is not mapped, and the next reconcile clears the target's.

use iot_crr_model::Authorizer;

use super::request_name;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    CreateAuthorizer => request_name::<Authorizer>,
    UpdateAuthorizer => request_name::<Authorizer>,
    SetDefaultAuthorizer => request_name::<Authorizer>,
    DeleteAuthorizer [deletes] => request_name::<Authorizer>,
);
