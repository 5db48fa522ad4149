//! The events AWS IoT would publish for changes made to a registry: registry events
//! (`$aws/events/...`, with the `topic` field an IoT rule adds) for things, thing
//! types, thing groups, memberships, hierarchy and type associations, and EventBridge
//! CloudTrail events for the rest.
//!
//! moto and the local registries publish no events; [`EventEmitter`] wraps a registry
//! and records, for every change applied through it, the events AWS would have sent.
//! Tests make a source's changes through it and feed the events to the event path, as
//! AWS would; demos use it to show the path at work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use iot_crr_model::{
    ArnBuilder, BillingGroupChange, Change, Kind, Origin, Outcome, PolicyTarget, Related, Resource,
    ResourceKey, Snapshot, principal_certificate_id,
};
use iot_crr_registry::{Capabilities, ReadRequest, Registry, Result};
use serde_json::{Value, json};

/// A registry that records the events AWS IoT would publish for the changes applied
/// through it (see the module docs). Reads and writes go to the wrapped registry.
pub struct EventEmitter<R> {
    inner: R,
    state: Mutex<EmitState>,
}

#[derive(Default)]
struct EmitState {
    events: Vec<Vec<u8>>,
    versions: HashMap<ResourceKey, i64>,
    last_time: i64,
    seq: u64,
}

impl<R: Registry> EventEmitter<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        EventEmitter {
            inner,
            state: Mutex::new(EmitState::default()),
        }
    }

    /// The wrapped registry.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Takes the events recorded so far (each one JSON object), oldest first.
    pub fn take_events(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.lock().events)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EmitState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arns(&self) -> ArnBuilder {
        let o = self.inner.origin();
        ArnBuilder::new(
            o.region.unwrap_or_else(|| "us-east-1".into()),
            o.account_id.unwrap_or_else(|| "123456789012".into()),
        )
    }

    /// A strictly increasing time (ms) and a unique id for the next event.
    fn stamp(st: &mut EmitState) -> (i64, String) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        st.last_time = now.max(st.last_time + 1);
        st.seq += 1;
        (st.last_time, format!("emitted-{}-{}", st.last_time, st.seq))
    }

    fn push_registry(&self, st: &mut EmitState, mut body: Value, topic: String) {
        let (time, id) = Self::stamp(st);
        body["eventId"] = json!(id);
        body["timestamp"] = json!(time);
        body["accountId"] = json!(self.arns().account);
        body["topic"] = json!(topic);
        st.events.push(body.to_string().into_bytes());
    }

    fn push_cloudtrail(&self, st: &mut EmitState, name: &str, request: Value, response: Value) {
        let (time, id) = Self::stamp(st);
        let arns = self.arns();
        let when = iot_crr_events::format_rfc3339_millis(time);
        let event = json!({
            "version": "0",
            "id": format!("eb-{id}"),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iot",
            "account": arns.account.clone(),
            "time": when,
            "region": arns.region.clone(),
            "resources": [],
            "detail": {
                "eventVersion": "1.08",
                "eventTime": when,
                "eventSource": "iot.amazonaws.com",
                "eventName": name,
                "awsRegion": arns.region.clone(),
                "requestParameters": request,
                "responseElements": response,
                "eventID": id,
                "eventType": "AwsApiCall",
                "recipientAccountId": arns.account.clone(),
            }
        });
        st.events.push(event.to_string().into_bytes());
    }

    fn next_version(st: &mut EmitState, key: &ResourceKey, created: bool) -> i64 {
        let v = st.versions.entry(key.clone()).or_insert(0);
        if created {
            *v = 1;
        } else {
            *v += 1;
        }
        *v
    }

    async fn group_path(&self, parent: Option<&str>) -> Vec<Value> {
        let mut path = Vec::new();
        let mut next = parent.map(str::to_owned);
        while let Some(p) = next {
            let arn = self.arns().arn(Kind::ThingGroup, &p);
            path.push(json!({"groupArn": arn, "groupId": format!("id-{p}")}));
            next = match self
                .inner
                .read_resource(&ResourceKey::new(Kind::ThingGroup, p.as_str()))
                .await
            {
                Ok(Some(Resource::ThingGroup(g))) => g.parent_group_name.map(|n| n.to_string()),
                _ => None,
            };
            if path.len() > 8 {
                break;
            }
        }
        path.reverse();
        path
    }

    async fn emit(&self, change: &Change, before: Option<Resource>) {
        let key = change.key();
        let after = match change {
            Change::DeleteThing { .. }
            | Change::DeleteThingGroup { .. }
            | Change::DeleteThingType { .. } => None,
            _ => self.inner.read_resource(&key).await.ok().flatten(),
        };
        let arns = self.arns();
        match change {
            Change::CreateThing { .. }
            | Change::UpdateThing { .. }
            | Change::DeleteThing { .. } => {
                let (op, r) = match (change, &after, &before) {
                    (Change::CreateThing { .. }, Some(r), _) => ("created", r),
                    (Change::UpdateThing { .. }, Some(r), _) => ("updated", r),
                    (Change::DeleteThing { .. }, _, Some(r)) => ("deleted", r),
                    _ => return,
                };
                let Resource::Thing(t) = r else { return };
                let mut st = self.lock();
                let version = if op == "deleted" {
                    *st.versions.get(&key).unwrap_or(&1)
                } else {
                    Self::next_version(&mut st, &key, op == "created")
                };
                let body = json!({
                    "eventType": "THING_EVENT",
                    "operation": op.to_uppercase(),
                    "thingId": format!("id-{}", t.thing_name),
                    "thingName": t.thing_name.as_str(),
                    "versionNumber": version,
                    "thingTypeName": t.thing_type_name.as_deref(),
                    "attributes": t.attributes.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                });
                self.push_registry(
                    &mut st,
                    body,
                    format!("$aws/events/thing/{}/{op}", t.thing_name),
                );
                // A changed type is also a type association event.
                let old_type = match &before {
                    Some(Resource::Thing(b)) if op != "created" => b.thing_type_name.clone(),
                    _ => None,
                };
                let new_type = if op == "deleted" {
                    None
                } else {
                    t.thing_type_name.clone()
                };
                if old_type != new_type {
                    for (ty, assoc) in [(old_type, "removed"), (new_type, "added")] {
                        if let Some(ty) = ty {
                            let body = json!({
                                "eventType": "THING_TYPE_ASSOCIATION_EVENT",
                                "operation": assoc.to_uppercase(),
                                "thingId": format!("id-{}", t.thing_name),
                                "thingName": t.thing_name.as_str(),
                                "thingTypeName": ty.as_str(),
                            });
                            let topic = format!(
                                "$aws/events/thingTypeAssociation/thing/{}/thingType/{ty}/{assoc}",
                                t.thing_name
                            );
                            self.push_registry(&mut st, body, topic);
                        }
                    }
                }
            }
            Change::CreateThingType { .. }
            | Change::UpdateThingType { .. }
            | Change::DeprecateThingType { .. }
            | Change::DeleteThingType { .. } => {
                let (op, r) = match (change, &after, &before) {
                    (Change::CreateThingType { .. }, Some(r), _) => ("created", r),
                    (Change::DeleteThingType { .. }, _, Some(r)) => ("deleted", r),
                    (_, Some(r), _) => ("updated", r),
                    _ => return,
                };
                let Resource::ThingType(t) = r else { return };
                let body = json!({
                    "eventType": "THING_TYPE_EVENT",
                    "operation": op.to_uppercase(),
                    "thingTypeId": format!("id-{}", t.thing_type_name),
                    "thingTypeName": t.thing_type_name.as_str(),
                    "isDeprecated": t.deprecated,
                    "searchableAttributes": t.searchable_attributes.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                    "description": t.thing_type_description,
                });
                let mut st = self.lock();
                self.push_registry(
                    &mut st,
                    body,
                    format!("$aws/events/thingType/{}/{op}", t.thing_type_name),
                );
            }
            Change::CreateThingGroup { .. }
            | Change::UpdateThingGroup { .. }
            | Change::DeleteThingGroup { .. } => {
                let (op, r) = match (change, &after, &before) {
                    (Change::CreateThingGroup { .. }, Some(r), _) => ("created", r),
                    (Change::UpdateThingGroup { .. }, Some(r), _) => ("updated", r),
                    (Change::DeleteThingGroup { .. }, _, Some(r)) => ("deleted", r),
                    _ => return,
                };
                let Resource::ThingGroup(g) = r else { return };
                let path = self.group_path(g.parent_group_name.as_deref()).await;
                let mut st = self.lock();
                let version = if op == "deleted" {
                    *st.versions.get(&key).unwrap_or(&1)
                } else {
                    Self::next_version(&mut st, &key, op == "created")
                };
                let body = json!({
                    "eventType": "THING_GROUP_EVENT",
                    "operation": op.to_uppercase(),
                    "thingGroupId": format!("id-{}", g.thing_group_name),
                    "thingGroupName": g.thing_group_name.as_str(),
                    "versionNumber": version,
                    "parentGroupName": g.parent_group_name.as_deref(),
                    "description": g.thing_group_description,
                    "rootToParentThingGroups": path,
                    "attributes": g.attributes.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "dynamicGroupMappingId": null,
                });
                self.push_registry(
                    &mut st,
                    body,
                    format!("$aws/events/thingGroup/{}/{op}", g.thing_group_name),
                );
                if let (Some(parent), "created" | "deleted") = (&g.parent_group_name, op) {
                    let h = if op == "created" { "added" } else { "removed" };
                    let body = json!({
                        "eventType": "THING_GROUP_HIERARCHY_EVENT",
                        "operation": h.to_uppercase(),
                        "thingGroupId": format!("id-{parent}"),
                        "thingGroupName": parent.as_str(),
                        "childGroupId": format!("id-{}", g.thing_group_name),
                        "childGroupName": g.thing_group_name.as_str(),
                    });
                    let topic = format!(
                        "$aws/events/thingGroupHierarchy/thingGroup/{parent}/childThingGroup/{}/{h}",
                        g.thing_group_name
                    );
                    self.push_registry(&mut st, body, topic);
                }
            }
            Change::AddThingToThingGroup {
                thing_name,
                thing_group_name,
            }
            | Change::RemoveThingFromThingGroup {
                thing_name,
                thing_group_name,
            } => {
                let op = if matches!(change, Change::AddThingToThingGroup { .. }) {
                    "added"
                } else {
                    "removed"
                };
                let body = json!({
                    "eventType": "THING_GROUP_MEMBERSHIP_EVENT",
                    "operation": op.to_uppercase(),
                    "groupArn": arns.arn(Kind::ThingGroup, thing_group_name),
                    "groupId": format!("id-{thing_group_name}"),
                    "thingArn": arns.arn(Kind::Thing, thing_name),
                    "thingId": format!("id-{thing_name}"),
                    "membershipId": format!("m-{thing_group_name}-{thing_name}"),
                });
                let topic = format!(
                    "$aws/events/thingGroupMembership/thingGroup/{thing_group_name}/thing/{thing_name}/{op}"
                );
                let mut st = self.lock();
                self.push_registry(&mut st, body, topic);
            }
            other => {
                let (name, request, response) = cloudtrail_parameters(other, &arns);
                let mut st = self.lock();
                self.push_cloudtrail(&mut st, name, request, response);
            }
        }
    }
}

/// The CloudTrail `eventName`, `requestParameters` and `responseElements` of a change
/// that registry events do not cover.
fn cloudtrail_parameters(change: &Change, arns: &ArnBuilder) -> (&'static str, Value, Value) {
    let principal_arn = |p: &str| match principal_certificate_id(p) {
        Some(id) => arns.arn(Kind::Certificate, id),
        None => p.to_owned(),
    };
    let target_arn = |t: &PolicyTarget| match t {
        PolicyTarget::Certificate(id) => arns.arn(Kind::Certificate, id),
        PolicyTarget::ThingGroup(g) => arns.arn(Kind::ThingGroup, g),
    };
    let none = Value::Null;
    match change {
        Change::CreatePolicy { policy_name, .. }
        | Change::CreatePolicyVersion { policy_name, .. }
        | Change::SetDefaultPolicyVersion { policy_name, .. }
        | Change::DeletePolicyVersion { policy_name, .. }
        | Change::DeletePolicy { policy_name } => (
            change.api(),
            json!({"policyName": policy_name.as_str()}),
            none,
        ),
        Change::AttachPolicy {
            policy_name,
            target,
        }
        | Change::DetachPolicy {
            policy_name,
            target,
        } => (
            change.api(),
            json!({"policyName": policy_name.as_str(), "target": target_arn(target)}),
            none,
        ),
        Change::RegisterCertificate {
            certificate_id,
            ca_certificate_id,
            ..
        } => (
            if ca_certificate_id.is_some() {
                "RegisterCertificate"
            } else {
                "RegisterCertificateWithoutCA"
            },
            json!({}),
            json!({"certificateId": certificate_id.as_str(),
                   "certificateArn": arns.arn(Kind::Certificate, certificate_id)}),
        ),
        Change::UpdateCertificate { certificate_id, .. }
        | Change::DeleteCertificate { certificate_id } => (
            change.api(),
            json!({"certificateId": certificate_id.as_str()}),
            none,
        ),
        Change::AttachThingPrincipal {
            thing_name,
            principal,
        }
        | Change::DetachThingPrincipal {
            thing_name,
            principal,
        } => (
            change.api(),
            json!({"thingName": thing_name.as_str(), "principal": principal_arn(principal)}),
            none,
        ),
        Change::BillingGroup(BillingGroupChange::CreateBillingGroup { billing_group }) => (
            change.api(),
            json!({"billingGroupName": billing_group.billing_group_name.as_str()}),
            none,
        ),
        Change::BillingGroup(BillingGroupChange::UpdateBillingGroup {
            billing_group_name, ..
        })
        | Change::BillingGroup(BillingGroupChange::DeleteBillingGroup { billing_group_name }) => (
            change.api(),
            json!({"billingGroupName": billing_group_name.as_str()}),
            none,
        ),
        Change::AddThingToBillingGroup {
            thing_name,
            billing_group_name,
        }
        | Change::RemoveThingFromBillingGroup {
            thing_name,
            billing_group_name,
        } => (
            change.api(),
            json!({"thingName": thing_name.as_str(), "billingGroupName": billing_group_name.as_str()}),
            none,
        ),
        other => {
            let key = other.key();
            let request = match other {
                Change::TagResource { .. } | Change::UntagResource { .. } => {
                    json!({"resourceArn": arns.arn(key.kind, &key.name)})
                }
                _ => {
                    let field = key.kind.name_field();
                    json!({ field: key.name.as_str() })
                }
            };
            (other.api(), request, none)
        }
    }
}

#[async_trait]
impl<R: Registry> Registry for EventEmitter<R> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn read(&self, request: &ReadRequest) -> Result<Snapshot> {
        self.inner.read(request).await
    }

    async fn read_resource(&self, key: &ResourceKey) -> Result<Option<Resource>> {
        self.inner.read_resource(key).await
    }
    async fn list_keys(
        &self,
        kind: iot_crr_model::Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<iot_crr_registry::KeyPage> {
        self.inner.list_keys(kind, cursor, limit).await
    }

    async fn certificate_pem(
        &self,
        id: &str,
    ) -> Result<Option<(String, Option<iot_crr_model::Name>)>> {
        self.inner.certificate_pem(id).await
    }

    async fn apply(&self, change: &Change) -> Result<Outcome> {
        let before = match change {
            Change::UpdateThing { .. }
            | Change::DeleteThing { .. }
            | Change::DeleteThingGroup { .. }
            | Change::DeleteThingType { .. } => {
                self.inner.read_resource(&change.key()).await.ok().flatten()
            }
            _ => None,
        };
        let outcome = self.inner.apply(change).await?;
        if outcome == Outcome::Applied {
            self.emit(change, before).await;
        }
        Ok(outcome)
    }

    async fn commit(&self) -> Result<()> {
        self.inner.commit().await
    }

    fn api_calls(&self) -> Vec<(String, u64)> {
        self.inner.api_calls()
    }

    fn throttles(&self) -> Vec<(String, u64)> {
        self.inner.throttles()
    }

    async fn related(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        self.inner.related(query).await
    }

    fn origin(&self) -> Origin {
        self.inner.origin()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn adopt_origin(&self, origin: &Origin) -> Result<()> {
        self.inner.adopt_origin(origin).await
    }
}
