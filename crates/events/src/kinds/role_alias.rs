//! The role alias's calls: `CreateRoleAlias`, `UpdateRoleAlias`, `DeleteRoleAlias`,
//! each keyed by the request's `roleAlias`.

use iot_crr_model::{KindSpec, ResourceKey, RoleAlias};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;

fn keys(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(
        RoleAlias::KIND,
        req.str(RoleAlias::NAME_FIELD)?,
    )])
}

api_calls!(CALLS:
    CreateRoleAlias => keys,
    UpdateRoleAlias => keys,
    DeleteRoleAlias [deletes] => keys,
);
