//! The registry event configuration: `DescribeEventConfigurations` (one call, no list)
//! and `UpdateEventConfigurations` of the types that differ.
//!
//! moto (5.2.1) implements neither (an HTML page, HTTP 500): a full read from moto marks
//! the kind unlisted and a comparison leaves it out; `request_shape.rs` tests what AWS
//! takes.

use aws_sdk_iot::types::{Configuration, EventType};
use iot_crr_model::kinds::SINGLETON;
use iot_crr_model::{EventConfigurations, EventConfigurationsChange, Name, Outcome, Resource};
use iot_crr_registry::{ErrorClass, Result};

use crate::registry::AwsRegistry;
use crate::write::applied;

impl AwsRegistry {
    /// `DescribeEventConfigurations`; `None` when the endpoint lacks it (moto).
    pub(crate) async fn read_event_configurations(&self) -> Result<Option<EventConfigurations>> {
        let out = match self
            .call("DescribeEventConfigurations", || {
                self.client.describe_event_configurations().send()
            })
            .await
        {
            Ok(o) => o,
            Err(e) if e.class == ErrorClass::Unsupported => return Ok(None),
            Err(e) => return Err(e),
        };
        let events = out
            .event_configurations()
            .into_iter()
            .flatten()
            .map(|(t, c)| (Name::from(t.as_str()), c.enabled()))
            .collect();
        Ok(Some(EventConfigurations {
            name: SINGLETON.into(),
            events,
        }))
    }

    /// The configuration as a resource, under its one key.
    pub(crate) async fn read_event_resource(&self, name: &str) -> Result<Option<Resource>> {
        if name != SINGLETON {
            return Ok(None);
        }
        Ok(self
            .read_event_configurations()
            .await?
            .map(Resource::EventConfigurations))
    }

    /// `UpdateEventConfigurations` of the planned types.
    pub(crate) async fn apply_event_configurations(
        &self,
        change: &EventConfigurationsChange,
    ) -> Result<Outcome> {
        let EventConfigurationsChange::UpdateEventConfigurations { events } = change;
        self.call("UpdateEventConfigurations", || {
            let mut req = self.client.update_event_configurations();
            for (t, on) in events {
                req = req.event_configurations(
                    EventType::from(t.as_str()),
                    Configuration::builder().enabled(*on).build(),
                );
            }
            req.send()
        })
        .await?;
        applied()
    }
}
