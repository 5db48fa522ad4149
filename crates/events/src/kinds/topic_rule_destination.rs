//! The topic rule destination's calls. `CreateTopicRuleDestination` is keyed by the
//! confirmation URL its request names. `UpdateTopicRuleDestination`,
//! `ConfirmTopicRuleDestination` and `DeleteTopicRuleDestination` name only the
//! destination's ARN, whose id the region drew, not its URL: they are not mapped, and the
//! next reconcile follows them.

use iot_crr_model::{KindSpec, ResourceKey, TopicRuleDestination};

use crate::cloudtrail::{ApiCall, api_calls};
use crate::error::DecodeError;
use crate::json::Fields;

fn keys(
    _call: ApiCall,
    req: &Fields<'_, '_>,
    _resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    let config = req
        .opt_object("destinationConfiguration")?
        .ok_or_else(|| req.missing("destinationConfiguration"))?;
    let path = req.path_of("destinationConfiguration");
    let config = Fields::new(config, &path);
    // A VPC destination is not replicated: nothing to follow.
    let Some(http) = config.opt_object("httpUrlConfiguration")? else {
        return Ok(Vec::new());
    };
    let path = config.path_of("httpUrlConfiguration");
    let url = Fields::new(http, &path).name("confirmationUrl")?;
    Ok(vec![ResourceKey::new(TopicRuleDestination::KIND, url)])
}

api_calls!(CALLS:
    CreateTopicRuleDestination => keys,
);
