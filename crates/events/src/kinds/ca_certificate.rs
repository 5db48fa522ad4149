//! The CA certificate's calls: `RegisterCACertificate` (keyed by the response's
//! `certificateId`, or its `certificateArn`), `UpdateCACertificate` and
//! `DeleteCACertificate` (keyed by the request's `certificateId`).

use iot_crr_model::{CaCertificate, KindSpec, Name, ResourceKey};

use super::request_name;
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

api_calls!(CALLS:
    RegisterCACertificate => registered,
    UpdateCACertificate => request_name::<CaCertificate>,
    DeleteCACertificate [deletes] => request_name::<CaCertificate>,
);
