//! The domain configuration's calls: `CreateDomainConfiguration`,
//! `UpdateDomainConfiguration` and `DeleteDomainConfiguration`, each keyed by the
//! request's `domainConfigurationName`.

use iot_crr_model::DomainConfiguration;

use super::request_name;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    CreateDomainConfiguration => request_name::<DomainConfiguration>,
    UpdateDomainConfiguration => request_name::<DomainConfiguration>,
    DeleteDomainConfiguration [deletes] => request_name::<DomainConfiguration>,
);
