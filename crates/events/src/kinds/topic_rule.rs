//! The topic rule's calls: `CreateTopicRule`, `ReplaceTopicRule`, `EnableTopicRule`,
//! `DisableTopicRule` and `DeleteTopicRule`, each keyed by the request's `ruleName`.

use iot_crr_model::TopicRule;

use super::request_name;
use crate::cloudtrail::api_calls;

api_calls!(CALLS:
    CreateTopicRule => request_name::<TopicRule>,
    ReplaceTopicRule => request_name::<TopicRule>,
    EnableTopicRule => request_name::<TopicRule>,
    DisableTopicRule => request_name::<TopicRule>,
    DeleteTopicRule [deletes] => request_name::<TopicRule>,
);
