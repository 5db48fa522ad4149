//! The CA certificate's calls: `RegisterCACertificate` (keyed by the response's
//! `certificateId`, or its `certificateArn`), `UpdateCACertificate` and
//! `DeleteCACertificate` (keyed by the request's `certificateId`).

use iot_crr_model::{CaCertificate, KindSpec, Name, ResourceKey};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;
use crate::registry::arn_name;

fn registered(
    _call: ApiCall,
    _req: &Fields<'_, '_>,
    resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    let id = match resp.opt_name("certificateId")? {
        Some(id) => Name::from(id),
        None => match resp.opt_str("certificateArn")? {
            Some(a) => arn_name(resp, "certificateArn", a, CaCertificate::KIND)?,
            None => return Err(resp.missing("certificateId")),
        },
    };
    Ok(vec![ResourceKey::new(CaCertificate::KIND, id)])
}

fn by_id(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(
        CaCertificate::KIND,
        req.name(CaCertificate::NAME_FIELD)?,
    )])
}

api_calls!(CALLS:
    RegisterCACertificate => registered,
    UpdateCACertificate => by_id,
    DeleteCACertificate [deletes] => by_id,
);
