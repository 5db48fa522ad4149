//! The provisioning template's calls: `CreateProvisioningTemplate`,
//! `UpdateProvisioningTemplate`, `CreateProvisioningTemplateVersion`,
//! `DeleteProvisioningTemplateVersion` and `DeleteProvisioningTemplate`, each keyed by the
//! request's `templateName` (a version's calls re-read the whole template).

use iot_crr_model::ProvisioningTemplate;

use super::request_name;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    CreateProvisioningTemplate => request_name::<ProvisioningTemplate>,
    UpdateProvisioningTemplate => request_name::<ProvisioningTemplate>,
    CreateProvisioningTemplateVersion => request_name::<ProvisioningTemplate>,
    DeleteProvisioningTemplateVersion => request_name::<ProvisioningTemplate>,
    DeleteProvisioningTemplate [deletes] => request_name::<ProvisioningTemplate>,
);
