//! The call of an account setting, `UpdateIndexingConfiguration`, keyed by its one resource
//! (`indexingConfiguration/default`): a re-read of the source gives the whole setting.

use iot_crr_model::IndexingConfiguration;

use super::singleton;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    UpdateIndexingConfiguration => singleton::<IndexingConfiguration>,
);
