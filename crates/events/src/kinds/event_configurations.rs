//! The call of an account setting, `UpdateEventConfigurations`, keyed by its one resource
//! (`eventConfigurations/default`): a re-read of the source gives the whole setting.

use iot_crr_model::kinds::SINGLETON;
use iot_crr_model::{EventConfigurations, KindSpec, ResourceKey};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;

fn keys(
    _call: ApiCall,
    _req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    Ok(vec![ResourceKey::new(EventConfigurations::KIND, SINGLETON)])
}

api_calls!(CALLS:
    UpdateEventConfigurations => keys,
);
