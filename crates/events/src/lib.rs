//! Decoding of the events that tell iot-crr a registry resource changed.
//!
//! Two sources, one JSON object each, as the forwarder writes them:
//!
//! - an **AWS IoT registry event** (`$aws/events/...`), optionally with the MQTT topic
//!   added as a `topic` field by the IoT rule (`SELECT *, topic() AS topic FROM
//!   '$aws/events/#'`). Thing, thing group and thing type events carry the resource's
//!   state; the others carry a relation.
//! - an **EventBridge event** with `source` `aws.iot` and `detail-type` `AWS API Call
//!   via CloudTrail`, for what registry events do not cover (policies, certificates,
//!   attachments, billing groups, tags). These are thin hints: keys only, no state.
//!
//! [`decode`] turns one object into an [`Event`]: who and when, what kind of event,
//! the [`ResourceKey`]s to reconcile and, for full-state events, a [`StateChange`]
//! with the version a version-aware applier compares against the last one applied.
//! Registry events arrive at least once and in no order; whether a change supersedes
//! the one last applied is decided in one place, by the state store
//! (`iot_crr_state::Applied::supersedes`, which also knows that AWS IoT restarts
//! versions when a deleted resource is created again), from the version, time and
//! delete flag given here. Pure: no I/O, no async, never a panic.

mod cloudtrail;
mod error;
mod json;
mod kinds;
mod registry;
mod time;

use iot_crr_model::{Resource, ResourceKey};
use serde::Serialize;

pub use cloudtrail::ApiCall;
pub use error::DecodeError;
use iot_crr_model::Name;
pub use time::{format_rfc3339_millis, parse_rfc3339_millis};

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `eventId` of a registry event, `detail.eventID` of a CloudTrail event (the
    /// EventBridge `id` when that is absent). Duplicated deliveries share it.
    pub id: String,
    /// When the change happened, in milliseconds since the Unix epoch (`timestamp`, or
    /// `detail.eventTime`).
    pub time_millis: i64,
    /// The source account (`accountId`, `detail.recipientAccountId` or `account`),
    /// when the event says.
    pub account: Option<String>,
    /// The source region (`detail.awsRegion` or `region`); registry events do not
    /// carry one.
    pub region: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// The resources to reconcile, most relevant first (see [`EventKind`] for each
    /// kind's choice). Empty for a failed API call.
    pub keys: Vec<ResourceKey>,
    /// The resource's state as the event carries it, for thing, thing group and thing
    /// type events; `None` for the others.
    pub state: Option<StateChange>,
}

/// The operation of a registry event. A thing type association in its older spelling
/// (`CREATED`/`DELETED`) is normalised to [`Operation::Added`]/[`Operation::Removed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    /// `CREATED`.
    Created,
    /// `UPDATED`.
    Updated,
    /// `DELETED`.
    Deleted,
    /// `ADDED` (a relation was made).
    Added,
    /// `REMOVED` (a relation was undone).
    Removed,
}

impl Operation {
    /// The payload spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "CREATED",
            Operation::Updated => "UPDATED",
            Operation::Deleted => "DELETED",
            Operation::Added => "ADDED",
            Operation::Removed => "REMOVED",
        }
    }

    /// The spelling at the end of a topic (`created`, `added`...).
    pub fn topic_suffix(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::Deleted => "deleted",
            Operation::Added => "added",
            Operation::Removed => "removed",
        }
    }
}

/// What an event is about, with the relation it carries. The keys each kind gives in
/// [`Event::keys`] are documented per variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventKind {
    /// `THING_EVENT`. Keys: the thing. State: the thing.
    Thing {
        /// Created, updated or deleted.
        operation: Operation,
    },
    /// `THING_TYPE_EVENT` (deprecation and undeprecation are updates). Keys: the
    /// thing type. State: the thing type (no version: order by time).
    ThingType {
        /// Created, updated or deleted.
        operation: Operation,
    },
    /// `THING_TYPE_ASSOCIATION_EVENT`. Keys: the thing (the association is part of
    /// the thing's state).
    ThingTypeAssociation {
        /// Added or removed.
        operation: Operation,
        /// The thing.
        thing_name: Name,
        /// The thing type.
        thing_type_name: Name,
    },
    /// `THING_GROUP_EVENT`. Keys: the group. State: the group.
    ThingGroup {
        /// Created, updated or deleted.
        operation: Operation,
        /// The group's ancestors, root first, parent last (`rootToParentThingGroups`,
        /// names taken from the ARNs); empty for a root group.
        root_to_parent: Vec<Name>,
    },
    /// `THING_GROUP_MEMBERSHIP_EVENT`. Keys: the thing (memberships are part of the
    /// thing's state).
    ThingGroupMembership {
        /// Added or removed.
        operation: Operation,
        /// The thing (from the topic or `thingArn`).
        thing_name: Name,
        /// The group (from the topic or `groupArn`).
        thing_group_name: Name,
    },
    /// `THING_GROUP_HIERARCHY_EVENT`. Keys: the child group (the parent is part of the
    /// child's state).
    ThingGroupHierarchy {
        /// Added or removed.
        operation: Operation,
        /// `thingGroupName`, the parent.
        parent_group_name: Name,
        /// `childGroupName`.
        child_group_name: Name,
    },
    /// An AWS IoT API call recorded by CloudTrail. Keys: see [`ApiCall`].
    ApiCall {
        /// The call (`detail.eventName`).
        call: ApiCall,
        /// `detail.errorCode` when the call failed (and then there are no keys).
        error_code: Option<String>,
    },
}

/// The state a full-state registry event carries for one resource.
///
/// Relations the payload does not carry are left empty in [`StateChange::resource`]
/// and are *not carried*, not "none": a thing's groups, billing group and principals;
/// a thing group's policies, tags and dynamic query; a thing type's tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    /// The resource.
    pub key: ResourceKey,
    /// `versionNumber` (things and thing groups: 1 at creation, +1 per update).
    /// Thing types have none: order them by [`Event::time_millis`].
    pub version: Option<i64>,
    /// Whether the resource was deleted.
    pub deleted: bool,
    /// The resource's state after the change; `None` for a delete.
    pub resource: Option<Resource>,
}

/// A resource as a full-state event carries it, with what such events do not carry
/// taken from `current` (the target's resource, when it has one): a thing keeps its
/// groups, billing group and principals; a thing group its policies, tags and dynamic
/// query; a thing type its tags.
pub fn merge_carried(carried: &Resource, current: Option<&Resource>) -> Resource {
    match (carried, current) {
        (Resource::Thing(e), Some(Resource::Thing(c))) => Resource::Thing(iot_crr_model::Thing {
            thing_groups: c.thing_groups.clone(),
            billing_group_name: c.billing_group_name.clone(),
            principals: c.principals.clone(),
            ..e.clone()
        }),
        (Resource::ThingGroup(e), Some(Resource::ThingGroup(c))) => {
            Resource::ThingGroup(iot_crr_model::ThingGroup {
                query_string: c.query_string.clone(),
                index_name: c.index_name.clone(),
                query_version: c.query_version.clone(),
                policies: c.policies.clone(),
                tags: c.tags.clone(),
                ..e.clone()
            })
        }
        (Resource::ThingType(e), Some(Resource::ThingType(c))) => {
            Resource::ThingType(iot_crr_model::ThingType {
                tags: c.tags.clone(),
                ..e.clone()
            })
        }
        _ => carried.clone(),
    }
}

/// Decodes one event: a registry event (with or without `topic`) or an EventBridge
/// CloudTrail event. Never panics.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let value: json::Json<'_> = serde_json::from_slice(bytes).map_err(|e| DecodeError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let json::Json::Object(map) = &value else {
        return Err(DecodeError::NotAnObject {
            found: value.type_name(),
        });
    };
    let has = |k| json::member(map, k).is_some();
    if has("detail-type") || has("detail") {
        cloudtrail::decode(map)
    } else if has("eventType") {
        registry::decode(map)
    } else {
        Err(DecodeError::UnknownShape)
    }
}
