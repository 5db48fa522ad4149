//! AWS IoT API calls recorded by CloudTrail, as EventBridge delivers them (`source`
//! `aws.iot`, `detail-type` `AWS API Call via CloudTrail`). Thin hints: keys only.

use iot_crr_model::{Kind, Name, ResourceKey, arn::Arn};
use serde::Serialize;

use crate::error::DecodeError;
use crate::json::{Fields, Object};
use crate::registry::arn_name;
use crate::time::parse_rfc3339_millis;
use crate::{Event, EventKind};

/// How a call's resource keys are read from its request and response parameters.
pub(crate) type KeysFn =
    fn(ApiCall, &Fields<'_, '_>, &Fields<'_, '_>) -> Result<Vec<ResourceKey>, DecodeError>;

/// What the decoder knows of one CloudTrail call: its `eventName`, whether it deletes
/// the resource of its first key, and how its keys are read.
#[derive(Debug)]
pub(crate) struct CallSpec {
    pub(crate) name: &'static str,
    pub(crate) deletes: bool,
    pub(crate) keys: KeysFn,
}

/// An AWS IoT API call this crate maps to resource keys (the CloudTrail `eventName`).
/// Each kind declares its calls in its own module (`kinds/`) with the crate-private
/// `api_calls!` macro; the calls that cross kinds are declared here. The keys each
/// gives, most relevant first:
///
/// - policy calls (`CreatePolicy`, `CreatePolicyVersion`, `DeletePolicyVersion`,
///   `SetDefaultPolicyVersion`, `DeletePolicy`): the policy;
/// - `AttachPolicy`/`DetachPolicy` and `AttachPrincipalPolicy`/
///   `DetachPrincipalPolicy`: the target (certificate or thing group, where the
///   attachment is kept) then the policy (so that it exists before the
///   attachment is made); a target that is not an ARN (a Cognito identity)
///   gives the policy only;
/// - certificate calls: the certificate (`certificateId` of the response for the
///   four that create one, of the request for `UpdateCertificate` and
///   `DeleteCertificate`);
/// - `AttachThingPrincipal`/`DetachThingPrincipal`: the thing (principals are
///   part of it), then the certificate when the principal is a certificate ARN;
/// - billing group calls: the billing group; `AddThingToBillingGroup`/
///   `RemoveThingFromBillingGroup`: the thing;
/// - role alias calls: the role alias;
/// - `TagResource`/`UntagResource`: the resource its ARN names;
/// - thing, thing group and thing type calls: that resource; thing group
///   membership calls: the thing.
#[derive(Clone, Copy)]
pub struct ApiCall(pub(crate) &'static CallSpec);

impl ApiCall {
    /// Every call handled, kind by kind.
    pub fn all() -> impl Iterator<Item = ApiCall> {
        TABLES.iter().flat_map(|t| t.iter().copied())
    }

    /// The `eventName`.
    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// Whether the call deletes the resource of its first key (`DeletePolicy`,
    /// `DeleteCertificate`, `DeleteThing`, ...; not `DeletePolicyVersion`, which
    /// changes a policy).
    pub fn is_delete(self) -> bool {
        self.0.deletes
    }

    /// Parses an `eventName`.
    pub fn parse(s: &str) -> Option<Self> {
        ApiCall::all().find(|c| c.as_str() == s)
    }

    fn keys(
        self,
        req: &Fields<'_, '_>,
        resp: &Fields<'_, '_>,
    ) -> Result<Vec<ResourceKey>, DecodeError> {
        (self.0.keys)(self, req, resp)
    }
}

impl PartialEq for ApiCall {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for ApiCall {}

impl std::hash::Hash for ApiCall {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.name.hash(h)
    }
}

impl std::fmt::Debug for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for ApiCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}

/// Declares calls: `api_calls!(TABLE: Name => keys_fn, Name [deletes] => keys_fn, ...)`
/// gives an associated constant `ApiCall::Name` for each and the table `TABLE`, which
/// [`TABLES`] lists.
macro_rules! api_calls {
    ($table:ident: $($v:ident $([$delete:ident])? => $keys:expr),* $(,)?) => {
        #[allow(non_upper_case_globals)]
        impl $crate::cloudtrail::ApiCall {
            $(
                #[doc = concat!("`", stringify!($v), "`.")]
                pub const $v: $crate::cloudtrail::ApiCall =
                    $crate::cloudtrail::ApiCall(&$crate::cloudtrail::CallSpec {
                        name: stringify!($v),
                        deletes: api_calls!(@deletes $($delete)?),
                        keys: $keys,
                    });
            )*
        }
        pub(crate) const $table: &[$crate::cloudtrail::ApiCall] =
            &[$($crate::cloudtrail::ApiCall::$v),*];
    };
    (@deletes deletes) => { true };
    (@deletes) => { false };
}
pub(crate) use api_calls;

/// The call tables: the calls that cross kinds, then each kind's.
const TABLES: &[&[ApiCall]] = &[
    SHARED,
    crate::kinds::billing_group::CALLS,
    crate::kinds::role_alias::CALLS,
    crate::kinds::authorizer::CALLS,
    crate::kinds::domain_configuration::CALLS,
    crate::kinds::topic_rule::CALLS,
    crate::kinds::topic_rule_destination::CALLS,
    crate::kinds::provisioning_template::CALLS,
    crate::kinds::ca_certificate::CALLS,
    crate::kinds::indexing_configuration::CALLS,
    crate::kinds::event_configurations::CALLS,
];

api_calls!(SHARED:
    CreatePolicy => shared_keys,
    CreatePolicyVersion => shared_keys,
    DeletePolicyVersion => shared_keys,
    SetDefaultPolicyVersion => shared_keys,
    DeletePolicy [deletes] => shared_keys,
    AttachPolicy => shared_keys,
    DetachPolicy => shared_keys,
    AttachPrincipalPolicy => shared_keys,
    DetachPrincipalPolicy => shared_keys,
    RegisterCertificate => shared_keys,
    RegisterCertificateWithoutCA => shared_keys,
    CreateKeysAndCertificate => shared_keys,
    CreateCertificateFromCsr => shared_keys,
    UpdateCertificate => shared_keys,
    DeleteCertificate [deletes] => shared_keys,
    AttachThingPrincipal => shared_keys,
    DetachThingPrincipal => shared_keys,
    AddThingToBillingGroup => shared_keys,
    RemoveThingFromBillingGroup => shared_keys,
    TagResource => shared_keys,
    UntagResource => shared_keys,
    CreateThing => shared_keys,
    UpdateThing => shared_keys,
    DeleteThing [deletes] => shared_keys,
    CreateThingGroup => shared_keys,
    UpdateThingGroup => shared_keys,
    DeleteThingGroup [deletes] => shared_keys,
    CreateDynamicThingGroup => shared_keys,
    UpdateDynamicThingGroup => shared_keys,
    DeleteDynamicThingGroup [deletes] => shared_keys,
    AddThingToThingGroup => shared_keys,
    RemoveThingFromThingGroup => shared_keys,
    UpdateThingGroupsForThing => shared_keys,
    CreateThingType => shared_keys,
    UpdateThingType => shared_keys,
    DeprecateThingType => shared_keys,
    DeleteThingType [deletes] => shared_keys,
);

const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// A name given either by name or by ARN (`thingName` or `thingArn`).
fn name_or_arn(
    f: &Fields<'_, '_>,
    name_field: &str,
    arn_field: &str,
    kind: Kind,
) -> Result<Name, DecodeError> {
    if let Some(n) = f.opt_name(name_field)? {
        return Ok(Name::from(n));
    }
    match f.opt_str(arn_field)? {
        Some(a) => arn_name(f, arn_field, a, kind),
        None => Err(f.missing(name_field)),
    }
}

/// The key of an attachment target or principal: a certificate or thing group ARN;
/// `None` for a principal that is not an ARN (a Cognito identity id).
fn target_key(
    f: &Fields<'_, '_>,
    field: &str,
    value: &str,
    allow_group: bool,
) -> Result<Option<ResourceKey>, DecodeError> {
    if !value.starts_with("arn:") {
        return Ok(None);
    }
    match Arn::parse(value).and_then(|a| a.iot_resource()) {
        Some((k @ Kind::Certificate, n)) => Ok(Some(ResourceKey::new(k, n))),
        Some((k @ Kind::ThingGroup, n)) if allow_group => Ok(Some(ResourceKey::new(k, n))),
        _ => Err(DecodeError::InvalidArn {
            field: f.path_of(field),
            context: f.context.to_owned(),
            expected: if allow_group {
                "a certificate or thing group"
            } else {
                "a certificate"
            },
            value: value.to_owned(),
        }),
    }
}

/// The keys of the calls declared here, by name.
fn shared_keys(
    call: ApiCall,
    req: &Fields<'_, '_>,
    resp: &Fields<'_, '_>,
) -> Result<Vec<ResourceKey>, DecodeError> {
    let key = |kind, name: &str| ResourceKey::new(kind, name);
    Ok(match call.as_str() {
        "CreatePolicy"
        | "CreatePolicyVersion"
        | "DeletePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "DeletePolicy" => vec![key(Kind::Policy, req.name("policyName")?)],
        "AttachPolicy" | "DetachPolicy" | "AttachPrincipalPolicy" | "DetachPrincipalPolicy" => {
            let (field, allow_group) = match call.as_str() {
                "AttachPolicy" | "DetachPolicy" => ("target", true),
                _ => ("principal", false),
            };
            let target = req.str(field)?;
            let policy = req.name("policyName")?;
            let mut keys: Vec<ResourceKey> = target_key(req, field, target, allow_group)?
                .into_iter()
                .collect();
            keys.push(key(Kind::Policy, policy));
            keys
        }
        "RegisterCertificate"
        | "RegisterCertificateWithoutCA"
        | "CreateKeysAndCertificate"
        | "CreateCertificateFromCsr" => {
            let id = match resp.opt_name("certificateId")? {
                Some(id) => Name::from(id),
                None => match resp.opt_str("certificateArn")? {
                    Some(a) => arn_name(resp, "certificateArn", a, Kind::Certificate)?,
                    None => return Err(resp.missing("certificateId")),
                },
            };
            vec![ResourceKey::new(Kind::Certificate, id)]
        }
        "UpdateCertificate" | "DeleteCertificate" => {
            vec![key(Kind::Certificate, req.name("certificateId")?)]
        }
        "AttachThingPrincipal" | "DetachThingPrincipal" => {
            let thing = req.name("thingName")?;
            let principal = req.str("principal")?;
            let mut keys = vec![key(Kind::Thing, thing)];
            keys.extend(target_key(req, "principal", principal, false)?);
            keys
        }
        "AddThingToBillingGroup"
        | "RemoveThingFromBillingGroup"
        | "AddThingToThingGroup"
        | "RemoveThingFromThingGroup" => {
            vec![ResourceKey::new(
                Kind::Thing,
                name_or_arn(req, "thingName", "thingArn", Kind::Thing)?,
            )]
        }
        "TagResource" | "UntagResource" => {
            let arn = req.str("resourceArn")?;
            match Arn::parse(arn).and_then(|a| a.iot_resource()) {
                Some((k, n)) => vec![key(k, n)],
                None => {
                    return Err(DecodeError::InvalidArn {
                        field: req.path_of("resourceArn"),
                        context: req.context.to_owned(),
                        expected: "an AWS IoT registry resource",
                        value: arn.to_owned(),
                    });
                }
            }
        }
        "CreateThing" | "UpdateThing" | "DeleteThing" | "UpdateThingGroupsForThing" => {
            vec![key(Kind::Thing, req.name("thingName")?)]
        }
        "CreateThingGroup"
        | "UpdateThingGroup"
        | "DeleteThingGroup"
        | "CreateDynamicThingGroup"
        | "UpdateDynamicThingGroup"
        | "DeleteDynamicThingGroup" => {
            vec![key(Kind::ThingGroup, req.name("thingGroupName")?)]
        }
        "CreateThingType" | "UpdateThingType" | "DeprecateThingType" | "DeleteThingType" => {
            vec![key(Kind::ThingType, req.name("thingTypeName")?)]
        }
        other => unreachable!("{other} is not a call of this table"),
    })
}

pub(crate) fn decode(map: &Object<'_>) -> Result<Event, DecodeError> {
    let env = Fields::new(map, "EventBridge event");
    let source = env.str("source")?;
    let detail_type = env.str("detail-type")?;
    if source != "aws.iot" || detail_type != DETAIL_TYPE {
        return Err(DecodeError::UnsupportedSource {
            event_source: source.to_owned(),
            detail_type: detail_type.to_owned(),
        });
    }
    let detail = env
        .opt_object("detail")?
        .ok_or_else(|| env.missing("detail"))?;
    let d = Fields {
        map: detail,
        context: "EventBridge event",
        path: "detail",
    };
    if let Some(es) = d.opt_str("eventSource")?
        && es != "iot.amazonaws.com"
    {
        return Err(DecodeError::UnsupportedSource {
            event_source: es.to_owned(),
            detail_type: detail_type.to_owned(),
        });
    }
    let name = d.str("eventName")?;
    let call = ApiCall::parse(name).ok_or_else(|| DecodeError::UnknownEvent {
        name: name.to_owned(),
    })?;
    let d = Fields {
        context: call.as_str(),
        ..d
    };
    let id = match d.opt_str("eventID")? {
        Some(id) => id,
        None => env.str("id")?,
    }
    .to_owned();
    let (time_field, time_fields) = if d.has("eventTime") {
        ("eventTime", d)
    } else {
        ("time", env)
    };
    let time_text = time_fields.str(time_field)?;
    let time_millis = parse_rfc3339_millis(time_text).ok_or_else(|| DecodeError::InvalidTime {
        field: time_fields.path_of(time_field),
        context: call.as_str().to_owned(),
        value: time_text.to_owned(),
    })?;
    let account = match d.opt_str("recipientAccountId")? {
        Some(a) => Some(a),
        None => env.opt_str("account")?,
    }
    .map(str::to_owned);
    let region = match d.opt_str("awsRegion")? {
        Some(r) => Some(r),
        None => env.opt_str("region")?,
    }
    .map(str::to_owned);
    let error_code = d.opt_str("errorCode")?.map(str::to_owned);
    let keys = if error_code.is_some() {
        Vec::new()
    } else {
        let empty: &Object<'_> = &[];
        let sub =
            |field: &'static str, path: &'static str| -> Result<Fields<'_, '_>, DecodeError> {
                Ok(Fields {
                    map: d.opt_object(field)?.unwrap_or(empty),
                    context: call.as_str(),
                    path,
                })
            };
        let req = sub("requestParameters", "detail.requestParameters")?;
        let resp = sub("responseElements", "detail.responseElements")?;
        call.keys(&req, &resp)?
    };
    Ok(Event {
        id,
        time_millis,
        account,
        region,
        kind: EventKind::ApiCall { call, error_code },
        keys,
        state: None,
    })
}
