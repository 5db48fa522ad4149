//! Request-shape tests for what moto lacks (tags, dynamic thing groups,
//! UpdateThingType) and for error handling (throttling, access denied, the thing-type
//! delete wait): the SDK talks to a recording HTTP client (`StaticReplayClient`) that
//! answers with canned responses, and the tests assert the HTTP requests it was sent.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iot::config::{Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use iot_crr_aws::{AwsOptions, AwsRegistry, TagMode};
use iot_crr_model::{
    Authorizer, AuthorizerChange, AuthorizerStatus, CaCertificate, CaCertificateChange, CaMode,
    CaStatus, Change, DestinationStatus, EventConfigurationsChange, IndexingConfiguration,
    IndexingConfigurationChange, Kind, NameSet, Outcome, ProvisioningHook, ProvisioningTemplate,
    ProvisioningTemplateChange, RegistrationConfig, Resource, ResourceKey, RoleAlias,
    RoleAliasChange, StringMap, TemplateSettings, TemplateVersion, ThingGroup, TopicRule,
    TopicRuleChange, TopicRuleDestinationChange,
};
use iot_crr_registry::{ErrorClass, Registry};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

/// A response with a JSON body (`status`, AWS error code header when given).
fn response(status: u16, error_type: Option<&str>, body: Value) -> http::Response<SdkBody> {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(t) = error_type {
        b = b.header("x-amzn-ErrorType", t);
    }
    b.body(SdkBody::from(body.to_string())).unwrap()
}

fn ok(body: Value) -> http::Response<SdkBody> {
    response(200, None, body)
}

/// A replay event: the expected request is not compared (the tests inspect
/// `actual_requests` themselves), only the response matters.
fn event(resp: http::Response<SdkBody>) -> ReplayEvent {
    let req = http::Request::builder()
        .uri("https://iot.eu-west-1.amazonaws.com/")
        .body(SdkBody::empty())
        .unwrap();
    ReplayEvent::new(req, resp)
}

/// An SDK configuration whose requests go to `replay`.
fn sdk_config(replay: &StaticReplayClient) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "shape-test",
        )))
        .http_client(replay.clone())
        .build()
}

fn registry(replay: &StaticReplayClient, tags: TagMode) -> AwsRegistry {
    let sdk = sdk_config(replay);
    let mut opts = AwsOptions::new(REGION);
    opts.tags = tags;
    opts.max_attempts = 3;
    AwsRegistry::from_sdk_config(&sdk, opts)
}

fn requests(replay: &StaticReplayClient) -> Vec<(String, String, Value)> {
    replay
        .actual_requests()
        .map(|r: &HttpRequest| {
            let body = r.body().bytes().unwrap_or_default();
            let json = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(body).expect("a JSON body")
            };
            (r.method().to_string(), r.uri().to_string(), json)
        })
        .collect()
}

fn path(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

#[tokio::test]
async fn tag_resource_posts_the_arn_and_tags() {
    let replay = StaticReplayClient::new(vec![event(ok(json!({})))]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let out = reg
        .apply(&Change::TagResource {
            resource: ResourceKey::new(Kind::ThingGroup, "fleet"),
            tags: StringMap::from_iter([("env", "prod"), ("team", "iot")]),
        })
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    let reqs = requests(&replay);
    assert_eq!(reqs.len(), 1);
    let (method, uri, body) = &reqs[0];
    assert_eq!(method, "POST");
    assert_eq!(path(uri), "/tags");
    assert_eq!(
        body,
        &json!({
            "resourceArn": "arn:aws:iot:eu-west-1:123456789012:thinggroup/fleet",
            "tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "iot"}]
        })
    );
    assert_eq!(reg.api_calls(), vec![("TagResource".to_string(), 1)]);
}

#[tokio::test]
async fn untag_resource_learns_the_account_from_a_describe() {
    // No account known yet: one DescribeThingType gives the ARN.
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "thingTypeName": "sensor",
            "thingTypeArn": "arn:aws:iot:eu-west-1:210987654321:thingtype/sensor",
            "thingTypeProperties": {},
            "thingTypeMetadata": {"deprecated": false}
        }))),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On);
    reg.apply(&Change::UntagResource {
        resource: ResourceKey::new(Kind::ThingType, "sensor"),
        tag_keys: NameSet::from_iter(["env"]),
    })
    .await
    .unwrap();
    let reqs = requests(&replay);
    assert_eq!(path(&reqs[0].1), "/thing-types/sensor");
    assert_eq!(reqs[1].0, "POST");
    assert_eq!(path(&reqs[1].1), "/untag");
    assert_eq!(
        reqs[1].2,
        json!({
            "resourceArn": "arn:aws:iot:eu-west-1:210987654321:thingtype/sensor",
            "tagKeys": ["env"]
        })
    );
    assert_eq!(
        reg.origin().account_id.as_deref(),
        Some("210987654321"),
        "the account is remembered"
    );
}

#[tokio::test]
async fn list_tags_for_resource_fills_tags() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "billingGroupName": "b",
            "billingGroupArn": "arn:aws:iot:eu-west-1:123456789012:billinggroup/b",
            "billingGroupProperties": {"billingGroupDescription": "d"},
            "version": 1
        }))),
        event(ok(
            json!({"tags": [{"Key": "k", "Value": "v"}], "nextToken": "t2"}),
        )),
        event(ok(json!({"tags": [{"Key": "k2", "Value": "v2"}]}))),
    ]);
    let reg = registry(&replay, TagMode::Auto);
    let r = reg
        .read_resource(&ResourceKey::new(Kind::BillingGroup, "b"))
        .await
        .unwrap()
        .unwrap();
    let Resource::BillingGroup(b) = r else {
        panic!("{r:?}")
    };
    assert_eq!(b.billing_group_description.as_deref(), Some("d"));
    assert_eq!(b.tags, StringMap::from_iter([("k", "v"), ("k2", "v2")]));
    let reqs = requests(&replay);
    assert_eq!(reqs[1].0, "GET");
    assert!(
        reqs[1]
            .1
            .contains("resourceArn=arn%3Aaws%3Aiot%3Aeu-west-1%3A123456789012%3Abillinggroup%2Fb"),
        "{}",
        reqs[1].1
    );
    assert!(reqs[2].1.contains("nextToken=t2"), "{}", reqs[2].1);
    assert!(reg.tags_enabled());
}

#[tokio::test]
async fn tags_auto_turns_off_on_an_html_500() {
    let html = http::Response::builder()
        .status(500)
        .header("content-type", "text/html; charset=utf-8")
        .body(SdkBody::from(
            "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>",
        ))
        .unwrap();
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "thingTypeName": "t",
            "thingTypeArn": "arn:aws:iot:eu-west-1:123456789012:thingtype/t"
        }))),
        event(html),
    ]);
    let reg = registry(&replay, TagMode::Auto);
    let r = reg
        .read_resource(&ResourceKey::new(Kind::ThingType, "t"))
        .await
        .unwrap()
        .unwrap();
    let Resource::ThingType(t) = r else { panic!() };
    assert!(t.tags.is_empty());
    assert!(!reg.tags_enabled());
    // Not retried: unsupported is permanent.
    assert_eq!(requests(&replay).len(), 2);
}

#[tokio::test]
async fn create_dynamic_thing_group_sends_query_and_properties() {
    let replay = StaticReplayClient::new(vec![event(ok(json!({
        "thingGroupName": "dyn",
        "thingGroupArn": "arn:aws:iot:eu-west-1:123456789012:thinggroup/dyn",
        "queryString": "attributes.model:x1"
    })))]);
    let reg = registry(&replay, TagMode::On);
    let g = ThingGroup {
        thing_group_name: "dyn".into(),
        thing_group_description: Some("all x1".into()),
        attributes: StringMap::from_iter([("a", "1")]),
        query_string: Some("attributes.model:x1".into()),
        index_name: Some("AWS_Things".into()),
        query_version: Some("2017-09-30".into()),
        tags: StringMap::from_iter([("env", "prod")]),
        ..Default::default()
    };
    reg.apply(&Change::CreateThingGroup { thing_group: g })
        .await
        .unwrap();
    let reqs = requests(&replay);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, "POST");
    assert_eq!(path(&reqs[0].1), "/dynamic-thing-groups/dyn");
    assert_eq!(
        reqs[0].2,
        json!({
            "queryString": "attributes.model:x1",
            "indexName": "AWS_Things",
            "queryVersion": "2017-09-30",
            "thingGroupProperties": {
                "thingGroupDescription": "all x1",
                "attributePayload": {"attributes": {"a": "1"}}
            },
            "tags": [{"Key": "env", "Value": "prod"}]
        })
    );
    assert_eq!(
        reg.api_calls(),
        vec![("CreateDynamicThingGroup".to_string(), 1)]
    );
}

#[tokio::test]
async fn a_dynamic_group_refused_without_fleet_indexing_says_so() {
    // AWS documents no error code for "fleet indexing is off": the backend reads the
    // indexing configuration rather than the message.
    let refused = || {
        event(response(
            400,
            Some("InvalidRequestException"),
            json!({"message": "whatever the text"}),
        ))
    };
    let group = ThingGroup {
        thing_group_name: "dyn".into(),
        query_string: Some("attributes.model:x1".into()),
        ..Default::default()
    };
    let replay = StaticReplayClient::new(vec![
        refused(),
        event(ok(json!({
            "thingIndexingConfiguration": {"thingIndexingMode": "OFF"}
        }))),
    ]);
    let reg = registry(&replay, TagMode::Off);
    let e = reg
        .apply(&Change::CreateThingGroup {
            thing_group: group.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unsupported, "{e}");
    assert!(e.message.contains("fleet indexing"), "{e}");
    assert!(e.has_code("InvalidRequestException"));
    let reqs = requests(&replay);
    assert_eq!(reqs[1].0, "GET");
    assert_eq!(path(&reqs[1].1), "/indexing/config");

    // Indexing on: the refusal is about something else and stands.
    let replay = StaticReplayClient::new(vec![
        refused(),
        event(ok(json!({
            "thingIndexingConfiguration": {"thingIndexingMode": "REGISTRY"}
        }))),
    ]);
    let e = registry(&replay, TagMode::Off)
        .apply(&Change::UpdateThingGroup { thing_group: group })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e}");
}

#[tokio::test]
async fn a_refused_group_delete_is_told_apart_by_describing_the_group() {
    let refused = || {
        event(response(
            400,
            Some("InvalidRequestException"),
            json!({"message": "refused"}),
        ))
    };
    let described = |query: Option<&str>| {
        let mut body = json!({
            "thingGroupName": "g",
            "thingGroupArn": "arn:aws:iot:eu-west-1:123456789012:thinggroup/g",
            "thingGroupProperties": {}
        });
        if let Some(q) = query {
            body["queryString"] = json!(q);
        }
        event(ok(body))
    };
    let delete = Change::DeleteThingGroup {
        thing_group_name: "g".into(),
    };
    // A dynamic group: DeleteDynamicThingGroup.
    let replay = StaticReplayClient::new(vec![
        refused(),
        described(Some("attributes.model:x1")),
        event(ok(json!({}))),
    ]);
    let out = registry(&replay, TagMode::Off)
        .apply(&delete)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    let reqs = requests(&replay);
    assert_eq!(
        reqs.iter()
            .map(|(m, u, _)| format!("{m} {}", path(u)))
            .collect::<Vec<_>>(),
        [
            "DELETE /thing-groups/g",
            "GET /thing-groups/g",
            "DELETE /dynamic-thing-groups/g"
        ]
    );
    // A static group (with children, AWS's other reason): a conflict.
    let replay = StaticReplayClient::new(vec![refused(), described(None)]);
    let e = registry(&replay, TagMode::Off)
        .apply(&delete)
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert_eq!(requests(&replay).len(), 2);
}

#[tokio::test]
async fn update_dynamic_thing_group_and_update_thing_type_shapes() {
    let replay =
        StaticReplayClient::new(vec![event(ok(json!({"version": 2}))), event(ok(json!({})))]);
    let reg = registry(&replay, TagMode::On);
    reg.apply(&Change::UpdateThingGroup {
        thing_group: ThingGroup {
            thing_group_name: "dyn".into(),
            query_string: Some("thingTypeName:sensor".into()),
            ..Default::default()
        },
    })
    .await
    .unwrap();
    reg.apply(&Change::UpdateThingType {
        thing_type_name: "sensor".into(),
        thing_type_description: Some("v2".into()),
        searchable_attributes: NameSet::from_iter(["model", "serial"]),
    })
    .await
    .unwrap();
    let reqs = requests(&replay);
    assert_eq!(reqs[0].0, "PATCH");
    assert_eq!(path(&reqs[0].1), "/dynamic-thing-groups/dyn");
    assert_eq!(reqs[0].2["queryString"], "thingTypeName:sensor");
    // The full (here empty) attribute set, never merged: the SDK leaves out
    // `merge: false` (the API's default), which replaces the set.
    assert_eq!(
        reqs[0].2["thingGroupProperties"]["attributePayload"]["attributes"],
        json!({})
    );
    assert_ne!(
        reqs[0].2["thingGroupProperties"]["attributePayload"]["merge"],
        json!(true)
    );
    assert_eq!(reqs[1].0, "PATCH");
    assert_eq!(path(&reqs[1].1), "/thing-types/sensor");
    assert_eq!(
        reqs[1].2,
        json!({"thingTypeProperties": {
            "thingTypeDescription": "v2",
            "searchableAttributes": ["model", "serial"]
        }})
    );
}

#[tokio::test]
async fn update_thing_replaces_attributes_and_removes_the_type() {
    let replay = StaticReplayClient::new(vec![event(ok(json!({})))]);
    let reg = registry(&replay, TagMode::On);
    reg.apply(&Change::UpdateThing {
        thing_name: "t".into(),
        thing_type_name: None,
        attributes: StringMap::from_iter([("a", "1")]),
    })
    .await
    .unwrap();
    let reqs = requests(&replay);
    assert_eq!(reqs[0].0, "PATCH");
    assert_eq!(path(&reqs[0].1), "/things/t");
    // `merge: false` is the API's default and the SDK leaves it out: the attribute
    // set is replaced, so attributes not named are removed.
    assert_eq!(
        reqs[0].2,
        json!({
            "attributePayload": {"attributes": {"a": "1"}},
            "removeThingType": true
        })
    );
}

#[tokio::test]
async fn throttling_is_retried_and_counted() {
    let replay = StaticReplayClient::new(vec![
        event(response(
            429,
            Some("ThrottlingException"),
            json!({"message": "Rate exceeded"}),
        )),
        event(ok(json!({
            "thingName": "t",
            "thingArn": "arn:aws:iot:eu-west-1:123456789012:thing/t",
            "thingId": "1"
        }))),
    ]);
    let reg = registry(&replay, TagMode::On);
    let out = reg
        .apply(&Change::CreateThing {
            thing_name: "t".into(),
            thing_type_name: None,
            attributes: StringMap::new(),
            billing_group_name: None,
        })
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(reg.api_calls(), vec![("CreateThing".to_string(), 2)]);
    assert_eq!(reg.throttles(), vec![("CreateThing".to_string(), 1)]);
}

#[tokio::test]
async fn access_denied_names_the_missing_iam_action() {
    let replay = StaticReplayClient::new(vec![event(response(
        401,
        Some("UnauthorizedException"),
        json!({"message": "User is not authorized"}),
    ))]);
    let reg = registry(&replay, TagMode::On);
    let e = reg
        .apply(&Change::DeleteThing {
            thing_name: "t".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::AccessDenied);
    assert!(e.to_string().contains("iot:DeleteThing"), "{e}");
    assert_eq!(requests(&replay).len(), 1, "not retried");
}

#[tokio::test]
async fn thing_type_delete_too_soon_after_deprecation_says_when_to_retry() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let replay = StaticReplayClient::new(vec![
        event(response(
            400,
            Some("InvalidRequestException"),
            json!({"message": "Thing type cannot be deleted yet"}),
        )),
        event(ok(json!({
            "thingTypeName": "old",
            "thingTypeArn": "arn:aws:iot:eu-west-1:123456789012:thingtype/old",
            "thingTypeMetadata": {"deprecated": true, "deprecationDate": now - 60.0}
        }))),
    ]);
    let reg = registry(&replay, TagMode::On);
    let e = reg
        .apply(&Change::DeleteThingType {
            thing_type_name: "old".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict);
    assert!(e.message.contains("less than 5 minutes"), "{e}");
    assert!(e.message.contains("retry"), "{e}");
}

#[tokio::test]
async fn register_certificate_checks_the_returned_id() {
    let replay = StaticReplayClient::new(vec![event(ok(json!({
        "certificateId": "ff".repeat(32),
        "certificateArn": format!("arn:aws:iot:eu-west-1:123456789012:cert/{}", "ff".repeat(32))
    })))]);
    let reg = registry(&replay, TagMode::On);
    let e = reg
        .apply(&Change::RegisterCertificate {
            certificate_id: "aa".repeat(32).into(),
            certificate_pem: "-----BEGIN CERTIFICATE-----\n...".into(),
            status: iot_crr_model::CertificateStatus::Active,
            ca_certificate_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict);
    let reqs = requests(&replay);
    assert_eq!(path(&reqs[0].1), "/certificate/register-no-ca");
    assert_eq!(reqs[0].2["status"], "ACTIVE");
}

// The aliases in aws_config::profile::profile_file are deprecated in favour of
// aws_runtime's types, and aws_runtime is not a dependency of this crate.
#[allow(deprecated)]
#[tokio::test]
async fn missing_credentials_is_access_denied_in_one_short_line() {
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};

    // A real aws-config provider chain that finds nothing: a profile without keys.
    let profile = ProfileFileCredentialsProvider::builder()
        .profile_files(
            ProfileFiles::builder()
                .with_contents(
                    ProfileFileKind::Config,
                    "[profile empty]\nregion = eu-west-1\n",
                )
                .build(),
        )
        .profile_name("empty")
        .build();
    let chain = CredentialsProviderChain::first_try("Profile", profile);
    let replay = StaticReplayClient::new(vec![]);
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(chain))
        .http_client(replay.clone())
        .build();
    let mut opts = AwsOptions::new(REGION);
    opts.tags = TagMode::Off;
    let reg = AwsRegistry::from_sdk_config(&sdk, opts);
    let e = reg
        .read_resource(&ResourceKey::new(Kind::Thing, "t1"))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::AccessDenied, "{e}");
    assert!(
        e.message
            .starts_with("no AWS credentials found for aws:eu-west-1 (checked the environment"),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "{e}");
    assert!(e.message.len() < 400, "{} chars: {e}", e.message.len());
    assert!(!e.message.contains("ProviderError("), "no Debug dump: {e}");
    // Not retried, and nothing was sent.
    assert_eq!(reg.api_calls(), vec![("DescribeThing".to_string(), 1)]);
    assert_eq!(requests(&replay).len(), 0);
    eprintln!("{e}");
}

/// `--quotas live`: two pages of `ListServiceQuotas` for the service code `iot`; the
/// rates of operations are taken (a period of a minute is a sixtieth per second), counts
/// and operations iot-crr does not call are not.
#[tokio::test]
async fn live_quotas_read_every_page_of_the_iot_listing() {
    let quota = |name: &str, code: &str, value: f64, period: Option<Value>| {
        let mut q = json!({"ServiceCode": "iot", "QuotaName": name, "QuotaCode": code, "Value": value, "Unit": "None", "Adjustable": true});
        if let Some(p) = period {
            q["Period"] = p;
        }
        q
    };
    let second = json!({"PeriodValue": 1, "PeriodUnit": "SECOND"});
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "Quotas": [
                quota("CreateThing API TPS", "L-A", 150.0, Some(second.clone())),
                quota("Maximum number of things in a thing group", "L-B", 1000.0, None),
                quota("Connect requests per second per account", "L-C", 3000.0, Some(second.clone())),
            ],
            "NextToken": "page-2"
        }))),
        event(ok(json!({
            "Quotas": [
                quota("RegisterCertificateWithoutCA API TPS", "L-D", 1200.0, Some(json!({"PeriodValue": 1, "PeriodUnit": "MINUTE"}))),
            ]
        }))),
    ]);
    let live = iot_crr_aws::quotas::live_quotas_from(&sdk_config(&replay)).await;
    assert_eq!(live.note, None);
    let rates: Vec<(String, f64, Option<String>)> = live
        .rates
        .iter()
        .map(|r| (r.api.clone(), r.tps, r.quota_code.clone()))
        .collect();
    assert_eq!(
        rates,
        vec![
            ("CreateThing".to_string(), 150.0, Some("L-A".to_string())),
            (
                "RegisterCertificateWithoutCA".to_string(),
                20.0,
                Some("L-D".to_string())
            ),
        ]
    );
    let requests = replay.actual_requests().collect::<Vec<_>>();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(
            r.headers().get("x-amz-target"),
            Some("ServiceQuotasV20190624.ListServiceQuotas")
        );
    }
    let body =
        |r: &HttpRequest| -> Value { serde_json::from_slice(r.body().bytes().unwrap()).unwrap() };
    assert_eq!(body(requests[0])["ServiceCode"], "iot");
    assert_eq!(body(requests[1])["NextToken"], "page-2");
}

/// A caller denied Service Quotas keeps the defaults, with a note saying why.
#[tokio::test]
async fn live_quotas_denied_keep_the_defaults_with_a_note() {
    let replay = StaticReplayClient::new(vec![event(response(
        400,
        Some("AccessDeniedException"),
        json!({"__type": "AccessDeniedException", "Message": "not authorized to perform servicequotas:ListServiceQuotas"}),
    ))]);
    let live = iot_crr_aws::quotas::live_quotas_from(&sdk_config(&replay)).await;
    assert!(live.rates.is_empty());
    let note = live.note.clone().unwrap();
    assert!(note.contains("ListServiceQuotas"), "{note}");
    let line = live.summary("aws:eu-west-1");
    assert!(
        line.starts_with("quotas of aws:eu-west-1: the defaults ("),
        "{line}"
    );
}

#[tokio::test]
async fn test_authorization_sends_the_certificate_arn_client_id_and_checks_in_tens() {
    // moto lacks TestAuthorization: the request AWS would get is checked here. No
    // account is known yet: one DescribeCertificate gives the certificate's ARN.
    let id = "a".repeat(64);
    let answer = |decisions: &[&str]| {
        ok(json!({
            "authResults": decisions
                .iter()
                .map(|d| json!({"authDecision": d, "authInfo": {"actionType": "PUBLISH", "resources": ["x"]}}))
                .collect::<Vec<_>>()
        }))
    };
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "certificateDescription": {
                "certificateId": id,
                "certificateArn": format!("arn:aws:iot:eu-west-1:210987654321:cert/{id}"),
                "status": "ACTIVE",
                "certificatePem": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
            }
        }))),
        event(answer(&["ALLOWED"; 10])),
        event(answer(&["EXPLICIT_DENY", "IMPLICIT_DENY"])),
    ]);
    let reg = registry(&replay, TagMode::Off);
    let topic = |i: usize| format!("arn:aws:iot:eu-west-1:210987654321:topic/t/{i}");
    let mut checks = vec![(
        "iot:Connect".to_string(),
        "arn:aws:iot:eu-west-1:210987654321:client/dev-1".to_string(),
    )];
    checks.extend((0..10).map(|i| ("iot:Publish".to_string(), topic(i))));
    checks.push((
        "iot:Subscribe".to_string(),
        "arn:aws:iot:eu-west-1:210987654321:topicfilter/t/#".to_string(),
    ));
    let query = iot_crr_registry::AuthorizationQuery {
        certificate_id: id.clone(),
        client_id: "dev-1".into(),
        checks,
    };
    let answers = reg.test_authorization(&query).await.unwrap();
    use iot_crr_registry::AuthorizationAnswer as A;
    assert_eq!(answers.len(), 12);
    assert!(answers[..10].iter().all(|a| *a == A::Allowed));
    assert_eq!(answers[10..], [A::ExplicitDeny, A::ImplicitDeny]);
    let reqs = requests(&replay);
    assert_eq!(path(&reqs[0].1), format!("/certificates/{id}"));
    assert_eq!(reqs[1].0, "POST");
    assert!(
        path(&reqs[1].1).starts_with("/test-authorization?"),
        "{}",
        reqs[1].1
    );
    assert!(reqs[1].1.contains("clientId=dev-1"), "{}", reqs[1].1);
    assert_eq!(
        reqs[1].2["principal"],
        format!("arn:aws:iot:eu-west-1:210987654321:cert/{id}")
    );
    let infos = reqs[1].2["authInfos"].as_array().unwrap();
    assert_eq!(infos.len(), 10, "at most ten checks a call");
    assert_eq!(
        infos[0],
        json!({"actionType": "CONNECT", "resources": ["arn:aws:iot:eu-west-1:210987654321:client/dev-1"]})
    );
    assert_eq!(infos[1]["actionType"], "PUBLISH");
    let infos = reqs[2].2["authInfos"].as_array().unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[1]["actionType"], "SUBSCRIBE");

    // An action TestAuthorization cannot take is refused before any call.
    let replay = StaticReplayClient::new(vec![]);
    let reg = registry(&replay, TagMode::Off);
    let q = iot_crr_registry::AuthorizationQuery {
        certificate_id: id,
        client_id: "dev-1".into(),
        checks: vec![("iot:RetainPublish".into(), topic(1))],
    };
    let e = reg.test_authorization(&q).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e}");
    assert!(e.to_string().contains("iot:RetainPublish"), "{e}");
    assert_eq!(replay.actual_requests().count(), 0);
}

#[tokio::test]
async fn create_role_alias_sends_role_duration_and_tags_and_an_existing_twin_is_in_state() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "roleAlias": "cam",
            "roleAliasArn": "arn:aws:iot:eu-west-1:123456789012:rolealias/cam"
        }))),
        event(response(
            409,
            Some("ResourceAlreadyExistsException"),
            json!({"message": "exists"}),
        )),
        event(ok(json!({"roleAliasDescription": {
            "roleAlias": "cam",
            "roleAliasArn": "arn:aws:iot:eu-west-1:123456789012:rolealias/cam",
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "credentialDurationSeconds": 900
        }}))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let create = Change::RoleAlias(RoleAliasChange::CreateRoleAlias {
        role_alias: RoleAlias {
            role_alias: "cam".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            credential_duration_seconds: 900,
            tags: StringMap::from_iter([("team", "iot")]),
        },
    });
    assert_eq!(reg.apply(&create).await.unwrap(), Outcome::Applied);
    // Sent again (an answer lost): the alias exists alike, so nothing to do.
    assert_eq!(reg.apply(&create).await.unwrap(), Outcome::AlreadyInState);
    let reqs = requests(&replay);
    assert_eq!(
        (reqs[0].0.as_str(), path(&reqs[0].1)),
        ("POST", "/role-aliases/cam")
    );
    assert_eq!(
        reqs[0].2,
        json!({
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "credentialDurationSeconds": 900,
            "tags": [{"Key": "team", "Value": "iot"}]
        })
    );
    assert_eq!(
        (reqs[2].0.as_str(), path(&reqs[2].1)),
        ("GET", "/role-aliases/cam")
    );
}

#[tokio::test]
async fn role_aliases_are_listed_page_by_page_and_read_with_their_tags() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({"roleAliases": ["a"], "nextMarker": "m2"}))),
        event(ok(json!({"roleAliases": ["b"]}))),
        event(ok(json!({"roleAliasDescription": {
            "roleAlias": "a",
            "roleAliasArn": "arn:aws:iot:eu-west-1:123456789012:rolealias/a",
            "roleArn": "arn:aws:iam::123456789012:role/r"
        }}))),
        event(ok(json!({"tags": [{"Key": "k", "Value": "v"}]}))),
    ]);
    let reg = registry(&replay, TagMode::On);
    let page = reg.list_keys(Kind::RoleAlias, None, 1).await.unwrap();
    assert_eq!(page.keys, [ResourceKey::new(Kind::RoleAlias, "a")]);
    assert_eq!(page.next.as_deref(), Some("m2"));
    let page = reg
        .list_keys(Kind::RoleAlias, page.next.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(page.next, None);
    let r = reg
        .read_resource(&ResourceKey::new(Kind::RoleAlias, "a"))
        .await
        .unwrap()
        .unwrap();
    let Resource::RoleAlias(a) = r else {
        panic!("{r:?}")
    };
    // AWS's default duration when the description has none.
    assert_eq!(a.credential_duration_seconds, 3600);
    assert_eq!(a.tags, StringMap::from_iter([("k", "v")]));
    let reqs = requests(&replay);
    assert!(reqs[0].1.contains("pageSize=1"), "{}", reqs[0].1);
    assert!(reqs[1].1.contains("marker=m2"), "{}", reqs[1].1);
    assert!(
        reqs[3].1.contains("rolealias%2Fa"),
        "tags read by the alias's ARN: {}",
        reqs[3].1
    );
}

const CA_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn ca_description(mode: &str) -> Value {
    json!({
        "certificateDescription": {
            "certificateArn": format!("arn:aws:iot:eu-west-1:123456789012:cacert/{CA_ID}"),
            "certificateId": CA_ID,
            "status": "ACTIVE",
            "certificatePem": CA_PEM,
            "autoRegistrationStatus": "ENABLE",
            "certificateMode": mode
        },
        "registrationConfig": {"templateBody": "{}", "roleArn": "arn:aws:iam::123456789012:role/jitp"}
    })
}

fn a_ca() -> CaCertificate {
    CaCertificate {
        certificate_id: CA_ID.into(),
        certificate_pem: CA_PEM.into(),
        status: CaStatus::Active,
        certificate_mode: CaMode::SniOnly,
        auto_registration: true,
        registration_config: Some(RegistrationConfig {
            template_body: Some("{}".into()),
            role_arn: Some("arn:aws:iam::123456789012:role/jitp".into()),
            template_name: None,
        }),
        tags: StringMap::from_iter([("team", "iot")]),
    }
}

#[tokio::test]
async fn register_ca_certificate_sends_sni_only_without_a_verification_certificate() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({
            "certificateId": CA_ID,
            "certificateArn": format!("arn:aws:iot:eu-west-1:123456789012:cacert/{CA_ID}")
        }))),
        event(response(
            409,
            Some("ResourceAlreadyExistsException"),
            json!({"message": "exists"}),
        )),
        // The twin is in DEFAULT mode: the mode is the region's own, so it is in state.
        event(ok(ca_description("DEFAULT"))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let register = Change::CaCertificate(CaCertificateChange::RegisterCaCertificate {
        ca_certificate: a_ca(),
    });
    assert_eq!(reg.apply(&register).await.unwrap(), Outcome::Applied);
    assert_eq!(reg.apply(&register).await.unwrap(), Outcome::AlreadyInState);
    let reqs = requests(&replay);
    assert_eq!(
        (reqs[0].0.as_str(), path(&reqs[0].1)),
        (
            "POST",
            "/cacertificate?setAsActive=true&allowAutoRegistration=true"
        )
    );
    assert!(reqs[0].1.contains("setAsActive=true"), "{}", reqs[0].1);
    assert!(
        reqs[0].1.contains("allowAutoRegistration=true"),
        "{}",
        reqs[0].1
    );
    assert_eq!(
        reqs[0].2,
        json!({
            "caCertificate": CA_PEM,
            "certificateMode": "SNI_ONLY",
            "registrationConfig": {"templateBody": "{}", "roleArn": "arn:aws:iam::123456789012:role/jitp"},
            "tags": [{"Key": "team", "Value": "iot"}]
        })
    );
    assert_eq!(
        (reqs[2].0.as_str(), path(&reqs[2].1)),
        ("GET", format!("/cacertificate/{CA_ID}").as_str())
    );
}

#[tokio::test]
async fn ca_certificates_are_listed_page_by_page_and_read_with_mode_auto_registration_and_tags() {
    let replay = StaticReplayClient::new(vec![
        event(ok(
            json!({"certificates": [{"certificateId": CA_ID, "status": "ACTIVE"}], "nextMarker": "m2"}),
        )),
        event(ok(json!({"certificates": []}))),
        event(ok(ca_description("SNI_ONLY"))),
        event(ok(json!({"tags": [{"Key": "team", "Value": "iot"}]}))),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On);
    let page = reg.list_keys(Kind::CaCertificate, None, 1).await.unwrap();
    assert_eq!(page.keys, [ResourceKey::new(Kind::CaCertificate, CA_ID)]);
    assert_eq!(page.next.as_deref(), Some("m2"));
    let page = reg
        .list_keys(Kind::CaCertificate, page.next.as_deref(), 1)
        .await
        .unwrap();
    assert!(page.keys.is_empty() && page.next.is_none());
    let r = reg
        .read_resource(&ResourceKey::new(Kind::CaCertificate, CA_ID))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, Resource::CaCertificate(a_ca()));
    // The update sends the whole wanted state: status and auto-registration in the
    // query, the registration config (empty: cleared) in the body.
    let update = Change::CaCertificate(CaCertificateChange::UpdateCaCertificate {
        certificate_id: CA_ID.into(),
        new_status: CaStatus::Inactive,
        auto_registration: false,
        registration_config: None,
    });
    assert_eq!(reg.apply(&update).await.unwrap(), Outcome::Applied);
    let reqs = requests(&replay);
    assert!(reqs[0].1.contains("pageSize=1"), "{}", reqs[0].1);
    assert!(reqs[1].1.contains("marker=m2"), "{}", reqs[1].1);
    assert!(
        reqs[3].1.contains("cacert%2F"),
        "tags by the CA's ARN: {}",
        reqs[3].1
    );
    assert_eq!(reqs[4].0, "PUT");
    assert!(reqs[4].1.contains("newStatus=INACTIVE"), "{}", reqs[4].1);
    assert!(
        reqs[4].1.contains("newAutoRegistrationStatus=DISABLE"),
        "{}",
        reqs[4].1
    );
    assert_eq!(reqs[4].2, json!({"registrationConfig": {}}));
}

#[tokio::test]
async fn event_configurations_are_described_and_updated_by_type() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({"eventConfigurations": {
            "THING": {"Enabled": true},
            "THING_GROUP_MEMBERSHIP": {"Enabled": false}
        }}))),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On);
    let r = reg
        .read_resource(&ResourceKey::new(Kind::EventConfigurations, "default"))
        .await
        .unwrap()
        .unwrap();
    let Resource::EventConfigurations(c) = r else {
        panic!("{r:?}")
    };
    assert_eq!(c.events.get("THING"), Some(&true));
    assert_eq!(c.events.get("THING_GROUP_MEMBERSHIP"), Some(&false));
    let update =
        Change::EventConfigurations(EventConfigurationsChange::UpdateEventConfigurations {
            events: [("THING_GROUP_MEMBERSHIP".into(), true)]
                .into_iter()
                .collect(),
        });
    assert_eq!(reg.apply(&update).await.unwrap(), Outcome::Applied);
    let reqs = requests(&replay);
    assert_eq!(
        (reqs[0].0.as_str(), path(&reqs[0].1)),
        ("GET", "/event-configurations")
    );
    assert_eq!(
        (reqs[1].0.as_str(), path(&reqs[1].1)),
        ("PATCH", "/event-configurations")
    );
    assert_eq!(
        reqs[1].2,
        json!({"eventConfigurations": {"THING_GROUP_MEMBERSHIP": {"Enabled": true}}})
    );
    // Another name is no resource of this kind.
    assert!(
        reg.read_resource(&ResourceKey::new(Kind::EventConfigurations, "other"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn update_indexing_configuration_sends_every_field() {
    let replay = StaticReplayClient::new(vec![event(ok(json!({})))]);
    let reg = registry(&replay, TagMode::On);
    let c = IndexingConfiguration {
        thing_indexing_mode: iot_crr_model::IndexMode::Registry,
        custom_fields: [("attributes.model".into(), "String".to_string())]
            .into_iter()
            .collect(),
        ..IndexingConfiguration::default()
    };
    let update =
        Change::IndexingConfiguration(IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration: c,
        });
    assert_eq!(reg.apply(&update).await.unwrap(), Outcome::Applied);
    let reqs = requests(&replay);
    assert_eq!(
        (reqs[0].0.as_str(), path(&reqs[0].1)),
        ("POST", "/indexing/config")
    );
    assert_eq!(
        reqs[0].2,
        json!({
            "thingIndexingConfiguration": {
                "thingIndexingMode": "REGISTRY",
                "thingConnectivityIndexingMode": "OFF",
                "deviceDefenderIndexingMode": "OFF",
                "namedShadowIndexingMode": "OFF",
                "customFields": [{"name": "attributes.model", "type": "String"}],
                "filter": {}
            },
            "thingGroupIndexingConfiguration": {"thingGroupIndexingMode": "OFF", "customFields": []}
        })
    );
}

const AUTH_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";

fn authorizer_description(name: &str) -> Value {
    json!({"authorizerDescription": {
        "authorizerName": name,
        "authorizerArn": format!("arn:aws:iot:eu-west-1:123456789012:authorizer/{name}"),
        "authorizerFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:auth",
        "tokenKeyName": "x-token",
        "tokenSigningPublicKeys": {"k1": AUTH_KEY},
        "status": "ACTIVE",
        "signingDisabled": false,
        "enableCachingForHttp": true
    }})
}

#[tokio::test]
async fn authorizers_are_listed_and_read_with_their_tags_and_the_default() {
    let replay = StaticReplayClient::new(vec![
        event(ok(
            json!({"authorizers": [{"authorizerName": "tok"}], "nextMarker": "m2"}),
        )),
        event(ok(json!({"authorizers": []}))),
        event(ok(authorizer_description("tok"))),
        event(ok(json!({"tags": [{"Key": "team", "Value": "iot"}]}))),
        event(ok(
            json!({"authorizerDescription": {"authorizerName": "tok"}}),
        )),
    ]);
    let reg = registry(&replay, TagMode::On);
    let page = reg.list_keys(Kind::Authorizer, None, 1).await.unwrap();
    assert_eq!(page.keys, [ResourceKey::new(Kind::Authorizer, "tok")]);
    let page = reg
        .list_keys(Kind::Authorizer, page.next.as_deref(), 1)
        .await
        .unwrap();
    assert!(page.keys.is_empty() && page.next.is_none());
    let r = reg
        .read_resource(&ResourceKey::new(Kind::Authorizer, "tok"))
        .await
        .unwrap()
        .unwrap();
    let Resource::Authorizer(a) = r else {
        panic!("{r:?}")
    };
    assert!(a.default && a.enable_caching_for_http, "{a:?}");
    assert_eq!(
        a.token_signing_public_keys,
        StringMap::from_iter([("k1", AUTH_KEY)])
    );
    assert_eq!(a.tags, StringMap::from_iter([("team", "iot")]));
    let reqs = requests(&replay);
    assert_eq!(path(&reqs[0].1), "/authorizers?pageSize=1");
    assert!(reqs[1].1.contains("marker=m2"), "{}", reqs[1].1);
    assert_eq!(path(&reqs[2].1), "/authorizer/tok");
    assert!(reqs[3].1.contains("authorizer%2Ftok"), "{}", reqs[3].1);
    assert_eq!(path(&reqs[4].1), "/default-authorizer");
}

#[tokio::test]
async fn authorizer_writes_send_keys_tags_and_the_default_and_clear_only_their_own() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({"authorizerName": "tok"}))),
        event(ok(json!({}))),
        // Clearing: the default is another authorizer by now, so nothing is cleared.
        event(ok(
            json!({"authorizerDescription": {"authorizerName": "other"}}),
        )),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let create = Change::Authorizer(AuthorizerChange::CreateAuthorizer {
        authorizer: Authorizer {
            authorizer_name: "tok".into(),
            authorizer_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:auth".into(),
            token_key_name: Some("x-token".into()),
            token_signing_public_keys: StringMap::from_iter([("k1", AUTH_KEY)]),
            status: AuthorizerStatus::Active,
            signing_disabled: false,
            enable_caching_for_http: true,
            default: false,
            tags: StringMap::from_iter([("team", "iot")]),
        },
    });
    assert_eq!(reg.apply(&create).await.unwrap(), Outcome::Applied);
    let set = Change::Authorizer(AuthorizerChange::SetDefaultAuthorizer {
        authorizer_name: "tok".into(),
    });
    assert_eq!(reg.apply(&set).await.unwrap(), Outcome::Applied);
    let clear = Change::Authorizer(AuthorizerChange::ClearDefaultAuthorizer {
        authorizer_name: "tok".into(),
    });
    assert_eq!(reg.apply(&clear).await.unwrap(), Outcome::AlreadyInState);
    let delete = Change::Authorizer(AuthorizerChange::DeleteAuthorizer {
        authorizer_name: "tok".into(),
    });
    assert_eq!(reg.apply(&delete).await.unwrap(), Outcome::Applied);
    let reqs = requests(&replay);
    assert_eq!(
        (reqs[0].0.as_str(), path(&reqs[0].1)),
        ("POST", "/authorizer/tok")
    );
    assert_eq!(
        reqs[0].2,
        json!({
            "authorizerFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:auth",
            "tokenKeyName": "x-token",
            "tokenSigningPublicKeys": {"k1": AUTH_KEY},
            "status": "ACTIVE",
            "signingDisabled": false,
            "enableCachingForHttp": true,
            "tags": [{"Key": "team", "Value": "iot"}]
        })
    );
    assert_eq!(
        (reqs[1].0.as_str(), path(&reqs[1].1)),
        ("POST", "/default-authorizer")
    );
    assert_eq!(reqs[1].2, json!({"authorizerName": "tok"}));
    assert_eq!(
        (reqs[2].0.as_str(), path(&reqs[2].1)),
        ("GET", "/default-authorizer")
    );
    assert_eq!(
        (reqs[3].0.as_str(), path(&reqs[3].1)),
        ("DELETE", "/authorizer/tok")
    );
    assert_eq!(reqs.len(), 4);
}

/// A rule whose actions include one newer than any SDK model (`futureAction`): carried
/// whole both ways.
fn rule_json() -> Value {
    json!({
        "sql": "SELECT * FROM 'telemetry/#'",
        "description": "fan-out",
        "actions": [
            {"lambda": {"functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:ingest"}},
            {"futureAction": {"endpoint": "https://example.com", "options": {"batch": 10}}}
        ],
        "ruleDisabled": true,
        "awsIotSqlVersion": "2016-03-23",
        "errorAction": {"republish": {"topic": "errors", "roleArn": "arn:aws:iam::123456789012:role/r", "qos": 1}}
    })
}

#[tokio::test]
async fn topic_rules_are_read_and_sent_as_aws_iot_json_with_no_action_lost() {
    let mut rule = rule_json();
    rule["ruleName"] = json!("fanout");
    rule["createdAt"] = json!(1.7e9);
    let replay = StaticReplayClient::new(vec![
        event(ok(
            json!({"rules": [{"ruleName": "fanout"}], "nextToken": "t2"}),
        )),
        event(ok(
            json!({"ruleArn": "arn:aws:iot:eu-west-1:123456789012:rule/fanout", "rule": rule}),
        )),
        event(ok(json!({"tags": [{"Key": "team", "Value": "iot"}]}))),
        event(ok(json!({}))),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let page = reg.list_keys(Kind::TopicRule, None, 5).await.unwrap();
    assert_eq!(page.keys, [ResourceKey::new(Kind::TopicRule, "fanout")]);
    assert_eq!(page.next.as_deref(), Some("t2"));
    let r = reg
        .read_resource(&ResourceKey::new(Kind::TopicRule, "fanout"))
        .await
        .unwrap()
        .unwrap();
    let Resource::TopicRule(t) = r else {
        panic!("{r:?}")
    };
    assert_eq!(t.action_types(), ["lambda", "futureAction", "republish"]);
    assert!(t.rule_disabled);
    assert_eq!(t.tags, StringMap::from_iter([("team", "iot")]));
    let create = Change::TopicRule(TopicRuleChange::CreateTopicRule {
        topic_rule: t.clone(),
    });
    assert_eq!(reg.apply(&create).await.unwrap(), Outcome::Applied);
    let replace = Change::TopicRule(TopicRuleChange::ReplaceTopicRule {
        topic_rule: TopicRule {
            tags: StringMap::new(),
            ..t
        },
    });
    assert_eq!(reg.apply(&replace).await.unwrap(), Outcome::Applied);
    let sent: Vec<&HttpRequest> = replay.actual_requests().collect();
    assert!(
        sent[0].uri().contains("/rules?maxResults=5"),
        "{}",
        sent[0].uri()
    );
    assert!(
        sent[1].uri().ends_with("/rules/fanout"),
        "{}",
        sent[1].uri()
    );
    assert_eq!(sent[3].method(), "POST");
    assert!(
        sent[3].uri().ends_with("/rules/fanout"),
        "{}",
        sent[3].uri()
    );
    assert_eq!(sent[3].headers().get("x-amz-tagging"), Some("team=iot"));
    let body: Value = serde_json::from_slice(sent[3].body().bytes().unwrap()).unwrap();
    assert_eq!(body, rule_json());
    assert_eq!(
        sent[3].headers().get("content-length"),
        Some(sent[3].body().bytes().unwrap().len().to_string().as_str())
    );
    assert_eq!(sent[4].method(), "PATCH");
    assert!(sent[4].headers().get("x-amz-tagging").is_none());
    let body: Value = serde_json::from_slice(sent[4].body().bytes().unwrap()).unwrap();
    assert_eq!(body, rule_json());
}

const TEMPLATE_BODY: &str = r#"{"Resources":{"thing":{"Type":"AWS::IoT::Thing"}}}"#;

#[tokio::test]
async fn provisioning_templates_are_read_with_every_version_and_written_by_their_calls() {
    let replay = StaticReplayClient::new(vec![
        event(ok(json!({"templates": [{"templateName": "claim"}]}))),
        event(ok(json!({
            "templateArn": "arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/claim",
            "templateName": "claim", "description": "by claim", "defaultVersionId": 2,
            "templateBody": TEMPLATE_BODY, "enabled": true,
            "provisioningRoleArn": "arn:aws:iam::123456789012:role/prov",
            "preProvisioningHook": {"targetArn": "arn:aws:lambda:eu-west-1:123456789012:function:hook", "payloadVersion": "2020-04-01"},
            "type": "FLEET_PROVISIONING"}))),
        event(ok(
            json!({"versions": [{"versionId": 1, "isDefaultVersion": false}, {"versionId": 2, "isDefaultVersion": true}]}),
        )),
        event(ok(
            json!({"versionId": 1, "templateBody": "{\"Resources\":{}}", "isDefaultVersion": false}),
        )),
        event(ok(json!({"tags": []}))),
        // Writes.
        event(ok(
            json!({"templateArn": "arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/claim", "defaultVersionId": 1}),
        )),
        event(ok(json!({"versionId": 2, "isDefaultVersion": true}))),
        event(ok(json!({}))),
        event(ok(json!({}))),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let page = reg
        .list_keys(Kind::ProvisioningTemplate, None, 10)
        .await
        .unwrap();
    assert_eq!(
        page.keys,
        [ResourceKey::new(Kind::ProvisioningTemplate, "claim")]
    );
    let r = reg
        .read_resource(&ResourceKey::new(Kind::ProvisioningTemplate, "claim"))
        .await
        .unwrap()
        .unwrap();
    let Resource::ProvisioningTemplate(t) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        t.versions,
        [
            TemplateVersion {
                version_id: 1,
                template_body: r#"{"Resources":{}}"#.into(),
                is_default_version: false
            },
            TemplateVersion {
                version_id: 2,
                template_body: TEMPLATE_BODY.into(),
                is_default_version: true
            },
        ]
    );
    assert_eq!(t.template_type.as_deref(), Some("FLEET_PROVISIONING"));

    let hook = ProvisioningHook {
        target_arn: "arn:aws:lambda:eu-west-1:123456789012:function:hook".into(),
        payload_version: Some("2020-04-01".into()),
    };
    let create =
        Change::ProvisioningTemplate(ProvisioningTemplateChange::CreateProvisioningTemplate {
            provisioning_template: Box::new(ProvisioningTemplate {
                tags: StringMap::from_iter([("team", "iot")]),
                ..t.clone()
            }),
        });
    assert_eq!(reg.apply(&create).await.unwrap(), Outcome::Applied);
    let version = Change::ProvisioningTemplate(
        ProvisioningTemplateChange::CreateProvisioningTemplateVersion {
            template_name: "claim".into(),
            template_body: TEMPLATE_BODY.into(),
            set_as_default: true,
        },
    );
    assert_eq!(reg.apply(&version).await.unwrap(), Outcome::Applied);
    let update =
        Change::ProvisioningTemplate(ProvisioningTemplateChange::UpdateProvisioningTemplate {
            template_name: "claim".into(),
            settings: Box::new(TemplateSettings {
                description: "by claim".into(),
                enabled: false,
                provisioning_role_arn: "arn:aws:iam::123456789012:role/prov".into(),
                pre_provisioning_hook: None,
            }),
            default_version_id: Some(1),
        });
    assert_eq!(reg.apply(&update).await.unwrap(), Outcome::Applied);
    let delete_version = Change::ProvisioningTemplate(
        ProvisioningTemplateChange::DeleteProvisioningTemplateVersion {
            template_name: "claim".into(),
            version_id: 2,
        },
    );
    assert_eq!(reg.apply(&delete_version).await.unwrap(), Outcome::Applied);
    let delete =
        Change::ProvisioningTemplate(ProvisioningTemplateChange::DeleteProvisioningTemplate {
            template_name: "claim".into(),
        });
    assert_eq!(reg.apply(&delete).await.unwrap(), Outcome::Applied);

    let reqs = requests(&replay);
    assert!(
        reqs[0].1.contains("/provisioning-templates?maxResults=10"),
        "{}",
        reqs[0].1
    );
    assert_eq!(path(&reqs[1].1), "/provisioning-templates/claim");
    assert!(
        reqs[2].1.contains("/provisioning-templates/claim/versions"),
        "{}",
        reqs[2].1
    );
    assert_eq!(path(&reqs[3].1), "/provisioning-templates/claim/versions/1");
    assert_eq!(
        (reqs[5].0.as_str(), path(&reqs[5].1)),
        ("POST", "/provisioning-templates")
    );
    assert_eq!(
        reqs[5].2,
        json!({
            "templateName": "claim", "description": "by claim", "templateBody": TEMPLATE_BODY,
            "enabled": true, "provisioningRoleArn": "arn:aws:iam::123456789012:role/prov",
            "preProvisioningHook": {"targetArn": hook.target_arn, "payloadVersion": "2020-04-01"},
            "type": "FLEET_PROVISIONING", "tags": [{"Key": "team", "Value": "iot"}]
        })
    );
    assert!(
        reqs[6].1.contains("/provisioning-templates/claim/versions"),
        "{}",
        reqs[6].1
    );
    assert!(reqs[6].1.contains("setAsDefault=true"), "{}", reqs[6].1);
    assert_eq!(reqs[6].2, json!({"templateBody": TEMPLATE_BODY}));
    assert_eq!(
        (reqs[7].0.as_str(), path(&reqs[7].1)),
        ("PATCH", "/provisioning-templates/claim")
    );
    assert_eq!(
        reqs[7].2,
        json!({"description": "by claim", "enabled": false, "defaultVersionId": 1,
               "provisioningRoleArn": "arn:aws:iam::123456789012:role/prov",
               "removePreProvisioningHook": true})
    );
    assert_eq!(
        (reqs[8].0.as_str(), path(&reqs[8].1)),
        ("DELETE", "/provisioning-templates/claim/versions/2")
    );
    assert_eq!(
        (reqs[9].0.as_str(), path(&reqs[9].1)),
        ("DELETE", "/provisioning-templates/claim")
    );
    assert_eq!(reqs.len(), 10);
}

#[tokio::test]
async fn http_destinations_are_keyed_by_their_url_and_written_by_their_arn() {
    let arn = "arn:aws:iot:eu-west-1:123456789012:ruledestination/http/7f0c-uuid";
    let listed = json!({"destinationSummaries": [
        {"arn": arn, "status": "ENABLED", "httpUrlSummary": {"confirmationUrl": "https://hooks.example.com/iot"}},
        {"arn": "arn:aws:iot:eu-west-1:123456789012:ruledestination/vpc/1", "status": "ENABLED",
         "vpcDestinationSummary": {"vpcId": "vpc-1"}}
    ]});
    let replay = StaticReplayClient::new(vec![
        event(ok(listed.clone())),
        event(ok(
            json!({"topicRuleDestination": {"arn": arn, "status": "IN_PROGRESS"}}),
        )),
        event(ok(listed.clone())),
        event(ok(json!({}))),
        event(ok(listed)),
        event(ok(json!({}))),
    ]);
    let reg = registry(&replay, TagMode::On).with_account_id(ACCOUNT);
    let page = reg
        .list_keys(Kind::TopicRuleDestination, None, 50)
        .await
        .unwrap();
    assert_eq!(
        page.keys,
        [ResourceKey::new(
            Kind::TopicRuleDestination,
            "https://hooks.example.com/iot"
        )],
        "the VPC destination is left out"
    );
    let url = "https://hooks.example.com/iot";
    for change in [
        TopicRuleDestinationChange::CreateTopicRuleDestination {
            confirmation_url: url.into(),
        },
        TopicRuleDestinationChange::UpdateTopicRuleDestination {
            confirmation_url: url.into(),
            status: DestinationStatus::Disabled,
        },
        TopicRuleDestinationChange::DeleteTopicRuleDestination {
            confirmation_url: url.into(),
        },
    ] {
        let c = Change::TopicRuleDestination(change);
        assert_eq!(reg.apply(&c).await.unwrap(), Outcome::Applied, "{c}");
    }
    let reqs = requests(&replay);
    assert!(
        reqs[0].1.contains("/destinations?maxResults=50"),
        "{}",
        reqs[0].1
    );
    assert_eq!(
        (reqs[1].0.as_str(), path(&reqs[1].1)),
        ("POST", "/destinations")
    );
    assert_eq!(
        reqs[1].2,
        json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": url}}})
    );
    assert_eq!(
        (reqs[3].0.as_str(), path(&reqs[3].1)),
        ("PATCH", "/destinations")
    );
    assert_eq!(reqs[3].2, json!({"arn": arn, "status": "DISABLED"}));
    assert_eq!(reqs[5].0.as_str(), "DELETE");
    assert!(reqs[5].1.contains("ruledestination"), "{}", reqs[5].1);
    assert_eq!(reqs.len(), 6);
}
