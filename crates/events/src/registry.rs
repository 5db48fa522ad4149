//! AWS IoT registry events (`$aws/events/...`), with or without the `topic` field.

use iot_crr_model::{
    Kind, Name, NameSet, Resource, ResourceKey, StringMap, Thing, ThingGroup, ThingType, arn::Arn,
};

use crate::error::DecodeError;
use crate::json::{Fields, Json, Object};
use crate::{Event, EventKind, Operation, StateChange};

/// The registry event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventType {
    Thing,
    ThingType,
    ThingTypeAssociation,
    ThingGroup,
    ThingGroupMembership,
    ThingGroupHierarchy,
}

impl EventType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "THING_EVENT" => EventType::Thing,
            "THING_TYPE_EVENT" => EventType::ThingType,
            "THING_TYPE_ASSOCIATION_EVENT" => EventType::ThingTypeAssociation,
            "THING_GROUP_EVENT" => EventType::ThingGroup,
            "THING_GROUP_MEMBERSHIP_EVENT" => EventType::ThingGroupMembership,
            "THING_GROUP_HIERARCHY_EVENT" => EventType::ThingGroupHierarchy,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            EventType::Thing => "THING_EVENT",
            EventType::ThingType => "THING_TYPE_EVENT",
            EventType::ThingTypeAssociation => "THING_TYPE_ASSOCIATION_EVENT",
            EventType::ThingGroup => "THING_GROUP_EVENT",
            EventType::ThingGroupMembership => "THING_GROUP_MEMBERSHIP_EVENT",
            EventType::ThingGroupHierarchy => "THING_GROUP_HIERARCHY_EVENT",
        }
    }

    /// The operation, in this type's spellings.
    fn operation(self, s: &str) -> Option<Operation> {
        let relation = matches!(
            self,
            EventType::ThingTypeAssociation
                | EventType::ThingGroupMembership
                | EventType::ThingGroupHierarchy
        );
        Some(match s {
            "CREATED" if !relation => Operation::Created,
            "UPDATED" if !relation => Operation::Updated,
            "DELETED" if !relation => Operation::Deleted,
            "ADDED" if relation => Operation::Added,
            "REMOVED" if relation => Operation::Removed,
            // The older spelling of the thing type association.
            "CREATED" if self == EventType::ThingTypeAssociation => Operation::Added,
            "DELETED" if self == EventType::ThingTypeAssociation => Operation::Removed,
            _ => return None,
        })
    }
}

/// What a topic says: up to two names and the operation suffix.
#[derive(Default)]
struct Topic<'a> {
    text: &'a str,
    first: Option<&'a str>,
    second: Option<&'a str>,
    op: Option<&'a str>,
}

impl<'a> Topic<'a> {
    fn parse(text: &'a str, ty: EventType) -> Result<Self, DecodeError> {
        let mismatch = |reason: &str| DecodeError::TopicMismatch {
            topic: text.to_owned(),
            event_type: ty.as_str().to_owned(),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix("$aws/events/")
            .ok_or_else(|| mismatch("not a $aws/events/ topic"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(mismatch("empty topic level"));
        }
        let t = |first, second, op| Topic {
            text,
            first: Some(first),
            second,
            op,
        };
        let topic = match (ty, parts.as_slice()) {
            (EventType::Thing, ["thing", n, op])
            | (EventType::ThingType, ["thingType", n, op])
            | (EventType::ThingGroup, ["thingGroup", n, op]) => t(*n, None, Some(*op)),
            (
                EventType::ThingTypeAssociation,
                ["thingTypeAssociation", "thing", n, "thingType", ty, op],
            ) => t(*n, Some(*ty), Some(*op)),
            (EventType::ThingTypeAssociation, ["thingTypeAssociation", "thing", n, ty]) => {
                t(*n, Some(*ty), None)
            }
            (
                EventType::ThingGroupMembership,
                ["thingGroupMembership", "thingGroup", g, "thing", n, op],
            ) => t(*g, Some(*n), Some(*op)),
            (
                EventType::ThingGroupHierarchy,
                [
                    "thingGroupHierarchy",
                    "thingGroup",
                    p,
                    "childThingGroup",
                    c,
                    op,
                ],
            ) => t(*p, Some(*c), Some(*op)),
            _ => return Err(mismatch("another event type or an unknown topic shape")),
        };
        Ok(topic)
    }

    fn mismatch(&self, ty: EventType, reason: String) -> DecodeError {
        DecodeError::TopicMismatch {
            topic: self.text.to_owned(),
            event_type: ty.as_str().to_owned(),
            reason,
        }
    }

    fn check_op(&self, ty: EventType, op: Operation) -> Result<(), DecodeError> {
        match self.op {
            Some(s) if s != op.topic_suffix() => {
                Err(self.mismatch(ty, format!("topic says {s}, operation is {}", op.as_str())))
            }
            _ => Ok(()),
        }
    }
}

/// A name from the payload and/or the topic: they must agree when both are there.
fn resolve(
    f: &Fields<'_, '_>,
    ty: EventType,
    topic: &Topic<'_>,
    payload: Option<&str>,
    from_topic: Option<&str>,
    field: &str,
) -> Result<Name, DecodeError> {
    match (payload, from_topic) {
        (Some(p), Some(t)) if p != t => {
            Err(topic.mismatch(ty, format!("topic names \"{t}\", {field} is \"{p}\"")))
        }
        (Some(n), _) | (None, Some(n)) => Ok(Name::from(n)),
        (None, None) => Err(f.missing(field)),
    }
}

/// The name in an AWS IoT ARN of the given kind.
pub(crate) fn arn_name(
    f: &Fields<'_, '_>,
    field: &str,
    value: &str,
    kind: Kind,
) -> Result<Name, DecodeError> {
    match Arn::parse(value).and_then(|a| a.iot_resource()) {
        Some((k, name)) if k == kind => Ok(Name::from(name)),
        _ => Err(DecodeError::InvalidArn {
            field: f.path_of(field),
            context: f.context.to_owned(),
            expected: match kind {
                Kind::Thing => "a thing",
                Kind::ThingGroup => "a thing group",
                Kind::ThingType => "a thing type",
                Kind::BillingGroup => "a billing group",
                Kind::Policy => "a policy",
                Kind::RoleAlias => "a role alias",
                Kind::CaCertificate => "a CA certificate",
                Kind::Authorizer => "an authorizer",
                Kind::TopicRule => "a topic rule",
                Kind::TopicRuleDestination => "a topic rule destination",
                Kind::ProvisioningTemplate => "a provisioning template",
                Kind::DomainConfiguration => "a domain configuration",
                Kind::IndexingConfiguration => "the fleet indexing configuration",
                Kind::EventConfigurations => "the registry event configuration",
                Kind::Certificate => "a certificate",
            },
            value: value.to_owned(),
        }),
    }
}

fn string_map(f: &Fields<'_, '_>, field: &str) -> Result<StringMap, DecodeError> {
    let Some(m) = f.opt_object(field)? else {
        return Ok(StringMap::new());
    };
    let inner = Fields {
        map: m,
        context: f.context,
        path: &f.path_of(field),
    };
    let mut pairs = Vec::with_capacity(m.len());
    for (k, v) in m {
        match v {
            Json::Str(s) => pairs.push((k.0.as_ref(), s.as_ref())),
            other => return Err(inner.wrong(&k.0, "a string", other)),
        }
    }
    Ok(pairs.into_iter().collect())
}

fn name_set(f: &Fields<'_, '_>, field: &str) -> Result<NameSet, DecodeError> {
    let Some(a) = f.opt_array(field)? else {
        return Ok(NameSet::new());
    };
    let mut out = NameSet::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Json::Str(s) => {
                out.insert(s.as_ref());
            }
            other => return Err(f.wrong(&format!("{field}[{i}]"), "a string", other)),
        }
    }
    Ok(out)
}

pub(crate) fn decode(map: &Object<'_>) -> Result<Event, DecodeError> {
    let top = Fields::new(map, "registry event");
    let event_type = top.str("eventType")?;
    let ty = EventType::parse(event_type).ok_or_else(|| DecodeError::UnknownEventType {
        event_type: event_type.to_owned(),
    })?;
    let f = Fields::new(map, ty.as_str());
    let topic = match f.opt_str("topic")? {
        Some(t) => Topic::parse(t, ty)?,
        None => Topic::default(),
    };
    let op_text = f.str("operation")?;
    let operation = ty
        .operation(op_text)
        .ok_or_else(|| DecodeError::UnknownOperation {
            operation: op_text.to_owned(),
            context: ty.as_str().to_owned(),
        })?;
    topic.check_op(ty, operation)?;
    let id = f.str("eventId")?.to_owned();
    let time_millis = f.i64("timestamp")?;
    let account = f.opt_str("accountId")?.map(str::to_owned);
    let deleted = operation == Operation::Deleted;

    let (kind, keys, state) = match ty {
        EventType::Thing => {
            let name = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingName")?,
                topic.first,
                "thingName",
            )?;
            let version = f.i64("versionNumber")?;
            let key = ResourceKey::new(Kind::Thing, name.clone());
            let resource = (!deleted)
                .then(|| -> Result<Resource, DecodeError> {
                    Ok(Resource::Thing(Thing {
                        thing_name: name,
                        thing_type_name: f.opt_name("thingTypeName")?.map(Name::from),
                        attributes: string_map(&f, "attributes")?,
                        version: Some(version),
                        ..Default::default()
                    }))
                })
                .transpose()?;
            let state = StateChange {
                key: key.clone(),
                version: Some(version),
                deleted,
                resource,
            };
            (EventKind::Thing { operation }, vec![key], Some(state))
        }
        EventType::ThingType => {
            let name = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingTypeName")?,
                topic.first,
                "thingTypeName",
            )?;
            let key = ResourceKey::new(Kind::ThingType, name.clone());
            let resource = (!deleted)
                .then(|| -> Result<Resource, DecodeError> {
                    Ok(Resource::ThingType(ThingType {
                        thing_type_name: name,
                        thing_type_description: f.opt_str("description")?.map(str::to_owned),
                        searchable_attributes: name_set(&f, "searchableAttributes")?,
                        deprecated: f.opt_bool("isDeprecated")?.unwrap_or(false),
                        tags: StringMap::new(),
                    }))
                })
                .transpose()?;
            let state = StateChange {
                key: key.clone(),
                version: None,
                deleted,
                resource,
            };
            (EventKind::ThingType { operation }, vec![key], Some(state))
        }
        EventType::ThingTypeAssociation => {
            let thing = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingName")?,
                topic.first,
                "thingName",
            )?;
            let thing_type = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingTypeName")?,
                topic.second,
                "thingTypeName",
            )?;
            let keys = vec![ResourceKey::new(Kind::Thing, thing.clone())];
            let kind = EventKind::ThingTypeAssociation {
                operation,
                thing_name: thing,
                thing_type_name: thing_type,
            };
            (kind, keys, None)
        }
        EventType::ThingGroup => {
            let name = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingGroupName")?,
                topic.first,
                "thingGroupName",
            )?;
            let version = f.i64("versionNumber")?;
            let mut root_to_parent = Vec::new();
            if let Some(entries) = f.opt_array("rootToParentThingGroups")? {
                for (i, entry) in entries.iter().enumerate() {
                    let path = format!("rootToParentThingGroups[{i}]");
                    let Json::Object(m) = entry else {
                        return Err(f.wrong(&path, "an object", entry));
                    };
                    let e = Fields {
                        map: m,
                        context: f.context,
                        path: &path,
                    };
                    let n = match e.opt_name("groupName")? {
                        Some(n) => Name::from(n),
                        None => arn_name(&e, "groupArn", e.str("groupArn")?, Kind::ThingGroup)?,
                    };
                    root_to_parent.push(n);
                }
            }
            let parent = match f.opt_name("parentGroupName")? {
                Some(p) => Some(Name::from(p)),
                None => root_to_parent.last().cloned(),
            };
            let key = ResourceKey::new(Kind::ThingGroup, name.clone());
            let resource = (!deleted)
                .then(|| -> Result<Resource, DecodeError> {
                    Ok(Resource::ThingGroup(ThingGroup {
                        thing_group_name: name,
                        parent_group_name: parent,
                        thing_group_description: f.opt_str("description")?.map(str::to_owned),
                        attributes: string_map(&f, "attributes")?,
                        ..Default::default()
                    }))
                })
                .transpose()?;
            let state = StateChange {
                key: key.clone(),
                version: Some(version),
                deleted,
                resource,
            };
            let kind = EventKind::ThingGroup {
                operation,
                root_to_parent,
            };
            (kind, vec![key], Some(state))
        }
        EventType::ThingGroupMembership => {
            let group_from_arn = f
                .opt_str("groupArn")?
                .map(|a| arn_name(&f, "groupArn", a, Kind::ThingGroup))
                .transpose()?;
            let thing_from_arn = f
                .opt_str("thingArn")?
                .map(|a| arn_name(&f, "thingArn", a, Kind::Thing))
                .transpose()?;
            let group = resolve(
                &f,
                ty,
                &topic,
                group_from_arn.as_deref(),
                topic.first,
                "groupArn",
            )?;
            let thing = resolve(
                &f,
                ty,
                &topic,
                thing_from_arn.as_deref(),
                topic.second,
                "thingArn",
            )?;
            let keys = vec![ResourceKey::new(Kind::Thing, thing.clone())];
            let kind = EventKind::ThingGroupMembership {
                operation,
                thing_name: thing,
                thing_group_name: group,
            };
            (kind, keys, None)
        }
        EventType::ThingGroupHierarchy => {
            let parent = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("thingGroupName")?,
                topic.first,
                "thingGroupName",
            )?;
            let child = resolve(
                &f,
                ty,
                &topic,
                f.opt_name("childGroupName")?,
                topic.second,
                "childGroupName",
            )?;
            let keys = vec![ResourceKey::new(Kind::ThingGroup, child.clone())];
            let kind = EventKind::ThingGroupHierarchy {
                operation,
                parent_group_name: parent,
                child_group_name: child,
            };
            (kind, keys, None)
        }
    };
    Ok(Event {
        id,
        time_millis,
        account,
        region: None,
        kind,
        keys,
        state,
    })
}
