//! The call of an account setting, `UpdateEventConfigurations`, keyed by its one resource
//! (`eventConfigurations/default`): a re-read of the source gives the whole setting.

use iot_crr_model::EventConfigurations;

use super::singleton;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    UpdateEventConfigurations => singleton::<EventConfigurations>,
);
