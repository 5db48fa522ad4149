//! Writes that are safe to repeat, and shared pacing, tested with a scripted HTTP
//! client: each request is recorded, then answered with the next scripted step, which
//! may be an AWS answer or a lost answer (the request reached the server, which
//! recorded it, and the connection broke before the answer came back).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iot::config::{Credentials, Region, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use iot_crr_aws::{AwsOptions, AwsRegistry, LocalBudget, Quotas, RateBudget, TagMode};
use iot_crr_model::{CertificateStatus, Change, Outcome, StringMap};
use iot_crr_registry::{ErrorClass, Registry};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

/// What the server does with the next request.
enum Step {
    /// It answers.
    Answer(http::Response<SdkBody>),
    /// It records the request (and may apply it), then the connection breaks.
    Lost,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

/// An HTTP client that answers from a script and records every request.
#[derive(Clone, Default)]
struct Scripted {
    steps: Arc<Mutex<VecDeque<Step>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scripted")
    }
}

impl Scripted {
    fn new(steps: Vec<Step>) -> Self {
        Scripted {
            steps: Arc::new(Mutex::new(steps.into())),
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// `METHOD /path` of every request.
    fn lines(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }

    fn left(&self) -> usize {
        self.steps.lock().unwrap().len()
    }
}

impl HttpConnector for Scripted {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let uri = request.uri().to_string();
        let rest = uri.split_once("://").map_or(uri.as_str(), |(_, r)| r);
        let path_query = rest.find('/').map_or("/", |i| &rest[i..]);
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let body = request.body().bytes().unwrap_or_default();
        self.seen.lock().unwrap().push(Seen {
            method: request.method().to_string(),
            path: path.to_string(),
            query: query.to_string(),
            body: if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(body).expect("a JSON body")
            },
        });
        let step = self.steps.lock().unwrap().pop_front();
        let result = match step {
            Some(Step::Answer(r)) => Ok(HttpResponse::try_from(r).expect("a response")),
            Some(Step::Lost) => Err(ConnectorError::io(
                "connection reset by peer after the request was sent".into(),
            )),
            None => Err(ConnectorError::other(
                "the script has no more steps".into(),
                None,
            )),
        };
        HttpConnectorFuture::new(async move { result })
    }
}

impl HttpClient for Scripted {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}

fn answer(status: u16, error_type: Option<&str>, body: Value) -> Step {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(t) = error_type {
        b = b.header("x-amzn-ErrorType", t);
    }
    Step::Answer(b.body(SdkBody::from(body.to_string())).unwrap())
}

fn ok(body: Value) -> Step {
    answer(200, None, body)
}

fn error(status: u16, code: &str, message: &str) -> Step {
    answer(status, Some(code), json!({ "message": message }))
}

fn sdk_config(client: &Scripted) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "faults",
        )))
        .http_client(client.clone())
        .build()
}

fn registry(client: &Scripted) -> AwsRegistry {
    let mut opts = AwsOptions::new(REGION);
    opts.tags = TagMode::Off;
    opts.max_attempts = 3;
    AwsRegistry::from_sdk_config(&sdk_config(client), opts).with_account_id(ACCOUNT)
}

fn doc(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn create_version(set_as_default: bool, versions_before: Option<u32>) -> Change {
    Change::CreatePolicyVersion {
        policy_name: "p".into(),
        policy_document: doc("iot:Publish"),
        set_as_default,
        versions_before,
    }
}

fn versions(list: &[(&str, bool)]) -> Step {
    ok(json!({
        "policyVersions": list
            .iter()
            .map(|(id, default)| json!({"versionId": id, "isDefaultVersion": default}))
            .collect::<Vec<_>>()
    }))
}

fn version(id: &str, document: &str, default: bool) -> Step {
    ok(json!({
        "policyArn": format!("arn:aws:iot:{REGION}:{ACCOUNT}:policy/p"),
        "policyName": "p",
        "policyDocument": document,
        "policyVersionId": id,
        "isDefaultVersion": default
    }))
}

const CREATE: &str = "POST /policies/p/version";
const LIST: &str = "GET /policies/p/version";

#[tokio::test]
async fn a_policy_version_whose_answer_was_lost_in_a_500_is_not_created_twice() {
    let client = Scripted::new(vec![
        // The server made version 2, then failed to answer.
        error(500, "InternalFailureException", "internal failure"),
        versions(&[("1", true), ("2", false)]),
        // AWS may reformat the document: compared as JSON.
        version("2", &doc("iot:Publish").replace(",", ", "), false),
        ok(json!({})),
    ]);
    let reg = registry(&client);
    let out = reg.apply(&create_version(true, Some(1))).await.unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(
        client.lines(),
        [
            CREATE,
            LIST,
            "GET /policies/p/version/2",
            // Only the default was missing.
            "PATCH /policies/p/version/2",
        ]
    );
    assert_eq!(client.seen()[0].query, "setAsDefault=true");
    assert_eq!(client.left(), 0);
}

#[tokio::test]
async fn a_policy_version_whose_connection_broke_is_not_created_twice() {
    let client = Scripted::new(vec![
        Step::Lost,
        versions(&[("1", false), ("2", false), ("3", true)]),
        version("3", &doc("iot:Publish"), true),
    ]);
    let reg = registry(&client);
    let out = reg.apply(&create_version(true, Some(2))).await.unwrap();
    assert_eq!(out, Outcome::Applied);
    // The default is already the new version: nothing more is sent.
    assert_eq!(client.lines(), [CREATE, LIST, "GET /policies/p/version/3"]);
    assert_eq!(
        reg.api_calls()
            .iter()
            .find(|(a, _)| a == "CreatePolicyVersion")
            .unwrap()
            .1,
        1
    );
}

#[tokio::test]
async fn a_policy_version_that_was_not_made_is_sent_again() {
    let client = Scripted::new(vec![
        error(503, "ServiceUnavailableException", "try later"),
        versions(&[("1", true)]),
        version("1", &doc("iot:Connect"), true),
        ok(json!({"policyVersionId": "2", "isDefaultVersion": false})),
    ]);
    let reg = registry(&client);
    let out = reg.apply(&create_version(false, Some(1))).await.unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(
        client.lines(),
        [CREATE, LIST, "GET /policies/p/version/1", CREATE]
    );
}

#[tokio::test]
async fn a_policy_that_changed_since_the_plan_is_a_conflict_after_a_lost_answer() {
    let client = Scripted::new(vec![
        error(500, "InternalFailureException", "internal failure"),
        // Two versions more than planned: someone else wrote too.
        versions(&[("1", true), ("2", false), ("3", false)]),
        version("3", &doc("iot:Publish"), false),
    ]);
    let reg = registry(&client);
    let e = reg
        .apply(&create_version(false, Some(1)))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(
        e.message
            .contains("has 3 versions where the plan expects 1"),
        "{e}"
    );
    assert_eq!(e.api.as_deref(), Some("CreatePolicyVersion"));
    assert_eq!(client.lines().iter().filter(|l| *l == CREATE).count(), 1);
}

#[tokio::test]
async fn without_a_planned_count_the_newest_document_decides() {
    let client = Scripted::new(vec![
        error(500, "InternalFailureException", "internal failure"),
        versions(&[("1", true), ("7", false)]),
        version("7", &doc("iot:Publish"), false),
    ]);
    let reg = registry(&client);
    let out = reg.apply(&create_version(false, None)).await.unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(client.lines().iter().filter(|l| *l == CREATE).count(), 1);
}

#[tokio::test]
async fn a_policy_at_the_version_limit_is_a_conflict_and_nothing_is_deleted() {
    let client = Scripted::new(vec![error(
        409,
        "VersionsLimitExceededException",
        "The policy p already has the maximum number of versions (5)",
    )]);
    let reg = registry(&client);
    let e = reg
        .apply(&create_version(false, Some(4)))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(e.message.contains("changed since the plan"), "{e}");
    assert!(e.message.contains("the plan expected 4"), "{e}");
    assert!(e.has_code("VersionsLimitExceededException"));
    // No ListPolicyVersions, no DeletePolicyVersion: one request.
    assert_eq!(client.lines(), [CREATE]);
}

#[tokio::test]
async fn a_throttled_policy_version_is_retried_without_looking() {
    let client = Scripted::new(vec![
        error(429, "ThrottlingException", "Rate exceeded"),
        ok(json!({"policyVersionId": "2", "isDefaultVersion": false})),
    ]);
    let reg = registry(&client);
    let out = reg.apply(&create_version(false, Some(1))).await.unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(client.lines(), [CREATE, CREATE]);
    assert_eq!(reg.throttles(), [("CreatePolicyVersion".to_string(), 1)]);
}

const CERT_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn register(status: CertificateStatus) -> Change {
    Change::RegisterCertificate {
        certificate_id: CERT_ID.into(),
        certificate_pem: "-----BEGIN CERTIFICATE-----\n...".into(),
        status,
        ca_certificate_id: None,
    }
}

fn existing_certificate(status: &str) -> Step {
    ok(json!({"certificateDescription": {
        "certificateId": CERT_ID,
        "certificateArn": format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{CERT_ID}"),
        "status": status,
        "certificatePem": "-----BEGIN CERTIFICATE-----\n..."
    }}))
}

fn already_exists() -> Step {
    error(
        409,
        "ResourceAlreadyExistsException",
        "The certificate is already provisioned or registered",
    )
}

#[tokio::test]
async fn registering_an_existing_certificate_with_another_status_updates_it() {
    // Active in the target, revoked in the source: it must end revoked.
    let client = Scripted::new(vec![
        already_exists(),
        existing_certificate("ACTIVE"),
        ok(json!({})),
    ]);
    let reg = registry(&client);
    let out = reg
        .apply(&register(CertificateStatus::Revoked))
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    let seen = client.seen();
    assert_eq!(
        client.lines(),
        [
            "POST /certificate/register-no-ca".to_string(),
            format!("GET /certificates/{CERT_ID}"),
            format!("PUT /certificates/{CERT_ID}"),
        ]
    );
    // Registration takes ACTIVE or INACTIVE; REVOKED comes with UpdateCertificate.
    assert_eq!(seen[0].body["status"], "INACTIVE");
    assert_eq!(seen[2].query, "newStatus=REVOKED");

    // Inactive in the target, pending transfer in the source: INACTIVE is as close as
    // UpdateCertificate can get, so nothing to do.
    let client = Scripted::new(vec![already_exists(), existing_certificate("INACTIVE")]);
    let out = registry(&client)
        .apply(&register(CertificateStatus::PendingTransfer))
        .await
        .unwrap();
    assert_eq!(out, Outcome::AlreadyInState);
    assert_eq!(client.seen().len(), 2);

    // Inactive in the target, active in the source: activated.
    let client = Scripted::new(vec![
        already_exists(),
        existing_certificate("INACTIVE"),
        ok(json!({})),
    ]);
    let out = registry(&client)
        .apply(&register(CertificateStatus::Active))
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(client.seen()[2].query, "newStatus=ACTIVE");
}

#[tokio::test]
async fn a_certificate_registered_after_a_lost_answer_ends_with_its_status() {
    // The registration went through but its answer was lost; the retry finds the
    // certificate and revokes it.
    let client = Scripted::new(vec![
        Step::Lost,
        already_exists(),
        existing_certificate("INACTIVE"),
        ok(json!({})),
    ]);
    let reg = registry(&client);
    let out = reg
        .apply(&register(CertificateStatus::Revoked))
        .await
        .unwrap();
    assert_eq!(out, Outcome::Applied);
    assert_eq!(client.seen()[3].query, "newStatus=REVOKED");
}

#[tokio::test]
async fn an_ambiguous_ca_is_an_error_not_already_in_state() {
    let client = Scripted::new(vec![
        ok(json!({"certificateDescription": {
            "certificateId": "bb".repeat(32),
            "certificatePem": "-----BEGIN CERTIFICATE-----\nCA"
        }})),
        error(
            409,
            "CertificateConflictException",
            "Unable to verify the CA certificate used to sign the device certificate",
        ),
    ]);
    let mut opts = AwsOptions::new(REGION);
    opts.tags = TagMode::Off;
    opts.cert_strategy = iot_crr_aws::CertStrategy::WithCa;
    let reg = AwsRegistry::from_sdk_config(&sdk_config(&client), opts);
    let e = reg
        .apply(&Change::RegisterCertificate {
            certificate_id: CERT_ID.into(),
            certificate_pem: "-----BEGIN CERTIFICATE-----\n...".into(),
            status: CertificateStatus::Active,
            ca_certificate_id: Some("bb".repeat(32).into()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(e.has_code("CertificateConflictException"));
}

fn create_thing(name: &str) -> Change {
    Change::CreateThing {
        thing_name: name.into(),
        thing_type_name: None,
        attributes: StringMap::new(),
        billing_group_name: None,
    }
}

fn created_thing(name: &str) -> Step {
    ok(json!({
        "thingName": name,
        "thingArn": format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"),
        "thingId": "1"
    }))
}

/// Six CreateThing calls, alternating between two registries, at 2 a second.
async fn six_creates(shared: bool) -> Duration {
    let mut quotas = Quotas::default();
    quotas.set("CreateThing", 2.0);
    let budget = LocalBudget::shared(quotas.clone());
    let clients: Vec<Scripted> = (0..2)
        .map(|_| Scripted::new((0..3).map(|i| created_thing(&format!("t{i}"))).collect()))
        .collect();
    let regs: Vec<AwsRegistry> = clients
        .iter()
        .map(|c| {
            let mut opts = AwsOptions::new(REGION);
            opts.tags = TagMode::Off;
            opts.quotas = quotas.clone();
            let reg = AwsRegistry::from_sdk_config(&sdk_config(c), opts);
            if shared {
                reg.with_budget(budget.clone())
            } else {
                reg
            }
        })
        .collect();
    let start = tokio::time::Instant::now();
    for i in 0..3 {
        for reg in &regs {
            let out = reg.apply(&create_thing(&format!("t{i}"))).await.unwrap();
            assert_eq!(out, Outcome::Applied);
        }
    }
    let took = start.elapsed();
    for reg in &regs {
        assert_eq!(
            reg.api_calls(),
            [("CreateThing".to_string(), 3)],
            "own count"
        );
    }
    if shared {
        assert_eq!(budget.calls(), [("CreateThing".to_string(), 6)]);
        assert_eq!(regs[0].budget().calls(), budget.calls());
    } else {
        assert!(budget.calls().is_empty());
    }
    took
}

#[tokio::test(start_paused = true)]
async fn registries_sharing_a_budget_pace_together() {
    // Shared: six calls from one bucket of 2 a second (two saved up, then one every
    // half second) take two seconds.
    let shared = six_creates(true).await;
    assert!(
        shared >= Duration::from_millis(1990) && shared <= Duration::from_millis(2200),
        "{shared:?}"
    );
    // Separate budgets: three calls each, in parallel buckets, take half a second.
    let separate = six_creates(false).await;
    assert!(
        separate >= Duration::from_millis(490) && separate <= Duration::from_millis(700),
        "{separate:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttle_seen_by_one_holder_slows_the_other() {
    let mut quotas = Quotas::default();
    quotas.set("CreateThing", 4.0);
    let budget = LocalBudget::shared(quotas.clone());
    let a = Scripted::new(vec![
        answer(
            429,
            Some("ThrottlingException"),
            json!({"message": "Rate exceeded"}),
        ),
        created_thing("a"),
    ]);
    let b = Scripted::new(vec![created_thing("b")]);
    let reg = |c: &Scripted| {
        let mut opts = AwsOptions::new(REGION);
        opts.tags = TagMode::Off;
        opts.quotas = quotas.clone();
        AwsRegistry::from_sdk_config(&sdk_config(c), opts).with_budget(budget.clone())
    };
    let (ra, rb) = (reg(&a), reg(&b));
    ra.apply(&create_thing("a")).await.unwrap();
    assert_eq!(budget.throttles(), [("CreateThing".to_string(), 1)]);
    // The shared bucket runs at half its rate now.
    assert!(budget.bucket("CreateThing").rate() < 4.0);
    let start = tokio::time::Instant::now();
    rb.apply(&create_thing("b")).await.unwrap();
    assert!(
        start.elapsed() > Duration::ZERO,
        "b waited for the shared bucket"
    );
    assert!(rb.throttles().is_empty(), "the throttle was a's");
}
