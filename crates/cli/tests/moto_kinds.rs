//! The kinds beyond the original registry, end to end through the binary against moto
//! (two regions in one server): role aliases synced to another region and a second plan
//! empty; then the source changed, and the CloudTrail events of those calls (shuffled,
//! repeated) applied by `apply-events --source`, after which the regions verify equal.
//!
//! moto keeps no tags on role aliases and ignores `ListRoleAliases` paging (one page);
//! both are covered by the request-shape tests of the AWS backend.
//!
//! Needs `IOT_CRR_MOTO_ENDPOINT` (set by `scripts/test.sh`, which starts moto).

use assert_cmd::Command;
use iot_crr_testkit::{command_at, moto_endpoint};
use predicates::prelude::*;
use serde_json::json;

const SOURCE: &str = "us-west-2";
const TARGET: &str = "eu-central-1";
const ROLE: &str = "arn:aws:iam::123456789012:role/device-credentials";

fn bin() -> Command {
    Command::from_std(command_at(
        assert_cmd::cargo::cargo_bin("iot-crr"),
        &moto_endpoint(),
    ))
}

/// The tests of this file share one moto server and reset it: one at a time.
static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn reset() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let url = format!("{}/moto-api/reset", moto_endpoint());
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='POST'))",
            &url,
        ])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "resetting moto at {url}");
    guard
}

/// Runs a boto3 snippet against moto in `region` (boto3 comes with moto).
fn boto3(region: &str, code: &str) {
    let script = format!(
        "import boto3\niot = boto3.client('iot', region_name='{region}', endpoint_url='{}', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n",
        moto_endpoint()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "boto3 in {region}: {code}");
}

/// A CloudTrail record of an AWS IoT call as EventBridge delivers it.
fn cloudtrail(id: &str, name: &str, request: serde_json::Value) -> String {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iot",
        "account": "123456789012",
        "time": "2026-12-07T10:00:00Z",
        "region": SOURCE,
        "detail": {
            "eventVersion": "1.08",
            "eventTime": "2026-12-07T10:00:00Z",
            "eventSource": "iot.amazonaws.com",
            "eventName": name,
            "awsRegion": SOURCE,
            "requestParameters": request,
            "responseElements": null,
            "eventID": id,
            "recipientAccountId": "123456789012"
        }
    })
    .to_string()
}

#[test]
fn role_aliases_sync_to_another_region_and_follow_their_cloudtrail_events() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    boto3(
        SOURCE,
        &format!(
            "iot.create_role_alias(roleAlias='cam-fleet', roleArn='{ROLE}', \
             credentialDurationSeconds=900)\n\
             iot.create_role_alias(roleAlias='gw-fleet', roleArn='{ROLE}-gw')"
        ),
    );
    let source = format!("aws:{SOURCE}");
    let target = format!("aws:{TARGET}");

    // The plan names both, the sync creates both.
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--kind", "role-aliases"])
        .assert()
        .success()
        .stdout(predicate::str::contains("create role alias cam-fleet"))
        .stdout(predicate::str::contains("create role alias gw-fleet"));
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        &format!(
            "d = iot.describe_role_alias(roleAlias='cam-fleet')['roleAliasDescription']\n\
             assert d['roleArn'] == '{ROLE}', d\n\
             assert d['credentialDurationSeconds'] == 900, d\n\
             assert d['roleAliasArn'].startswith('arn:aws:iot:{TARGET}:'), d\n\
             g = iot.describe_role_alias(roleAlias='gw-fleet')['roleAliasDescription']\n\
             assert g['credentialDurationSeconds'] == 3600, g"
        ),
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .code(0);
    let snapshot = dir.path().join("target.jsonl");
    bin()
        .args([
            "snapshot",
            "--source",
            &target,
            "--kind",
            "roleAlias",
            "--output",
        ])
        .arg(&snapshot)
        .assert()
        .success();
    let lines = std::fs::read_to_string(&snapshot).unwrap();
    assert!(
        lines.contains(r#"{"kind":"roleAlias","roleAlias":"cam-fleet","roleArn":"arn:aws:iam::123456789012:role/device-credentials","credentialDurationSeconds":900}"#),
        "{lines}"
    );

    // The source changes: one alias updated, one deleted, one created.
    boto3(
        SOURCE,
        &format!(
            "iot.update_role_alias(roleAlias='cam-fleet', credentialDurationSeconds=1800)\n\
             iot.delete_role_alias(roleAlias='gw-fleet')\n\
             iot.create_role_alias(roleAlias='edge', roleArn='{ROLE}-edge', \
             credentialDurationSeconds=43200)"
        ),
    );
    let update = cloudtrail(
        "e-1",
        "UpdateRoleAlias",
        json!({"roleAlias": "cam-fleet", "credentialDurationSeconds": 1800}),
    );
    let delete = cloudtrail("e-2", "DeleteRoleAlias", json!({"roleAlias": "gw-fleet"}));
    let create = cloudtrail(
        "e-3",
        "CreateRoleAlias",
        json!({"roleAlias": "edge", "roleArn": format!("{ROLE}-edge")}),
    );
    // Shuffled and repeated, as at-least-once delivery may bring them.
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        [&delete, &create, &update, &delete, &create]
            .map(|s| s.as_str())
            .join("\n"),
    )
    .unwrap();
    let state = format!("sqlite:{}", dir.path().join("state.db").display());
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--state", &state, "--input"])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        "d = iot.describe_role_alias(roleAlias='cam-fleet')['roleAliasDescription']\n\
         assert d['credentialDurationSeconds'] == 1800, d\n\
         e = iot.describe_role_alias(roleAlias='edge')['roleAliasDescription']\n\
         assert e['credentialDurationSeconds'] == 43200, e\n\
         names = iot.list_role_aliases()['roleAliases']\n\
         assert sorted(names) == ['cam-fleet', 'edge'], names",
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .code(0);
}

/// Makes a self-signed CA certificate with `cryptography` (a dependency of moto) and
/// writes its PEM to `path`.
fn make_ca(path: &std::path::Path) {
    let script = format!(
        "import datetime\n\
         from cryptography import x509\n\
         from cryptography.x509.oid import NameOID\n\
         from cryptography.hazmat.primitives import hashes, serialization\n\
         from cryptography.hazmat.primitives.asymmetric import ec\n\
         key = ec.generate_private_key(ec.SECP256R1())\n\
         name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'iot-crr test CA')])\n\
         now = datetime.datetime(2026, 1, 1)\n\
         cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)\n\
             .public_key(key.public_key()).serial_number(7)\n\
             .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))\n\
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)\n\
             .sign(key, hashes.SHA256()))\n\
         open({:?}, 'wb').write(cert.public_bytes(serialization.Encoding.PEM))\n",
        path.display().to_string()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "making a CA certificate");
}

#[test]
fn ca_certificates_sync_by_key_and_follow_their_cloudtrail_events() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    make_ca(&pem);
    let id_file = dir.path().join("ca.id");
    boto3(
        SOURCE,
        &format!(
            "r = iot.register_ca_certificate(caCertificate=open({pem:?}).read(), setAsActive=True, \
             allowAutoRegistration=True, certificateMode='SNI_ONLY', \
             registrationConfig={{'templateBody': '{{\"Resources\": {{}}}}', 'roleArn': '{ROLE}'}})\n\
             open({id_file:?}, 'w').write(r['certificateId'])",
            pem = pem.display().to_string(),
            id_file = id_file.display().to_string(),
        ),
    );
    let id = std::fs::read_to_string(&id_file).unwrap();
    let source = format!("aws:{SOURCE}");
    let target = format!("aws:{TARGET}");
    let key = format!("ca-certificate/{id}");

    // moto cannot list CA certificates: a full plan says they are not compared.
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "CA certificates not compared: the source could not list or read them",
        ));
    // By key, the CA is read with DescribeCACertificate and registered in the target.
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--key", &key])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "register CA certificate {id} (SNI_ONLY, ACTIVE"
        )));
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--key", &key])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        &format!(
            "r = iot.describe_ca_certificate(certificateId='{id}')\n\
             d = r['certificateDescription']\n\
             assert d['status'] == 'ACTIVE', d\n\
             assert d['certificatePem'] == open({pem:?}).read(), d\n\
             assert r['registrationConfig']['roleArn'] == '{ROLE}', r\n\
             assert r['registrationConfig']['templateBody'] == '{{\"Resources\": {{}}}}', r",
            pem = pem.display().to_string(),
        ),
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--key", &key])
        .assert()
        .code(0);

    // The source deactivates the CA, then deletes it; the events arrive shuffled and
    // repeated, each re-read from the source.
    boto3(
        SOURCE,
        &format!("iot.update_ca_certificate(certificateId='{id}', newStatus='INACTIVE')"),
    );
    let update = cloudtrail(
        "ca-1",
        "UpdateCACertificate",
        json!({"certificateId": id, "newStatus": "INACTIVE"}),
    );
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, [update.as_str(), update.as_str()].join("\n")).unwrap();
    let state = format!("sqlite:{}", dir.path().join("state.db").display());
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--state", &state, "--input"])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        &format!(
            "d = iot.describe_ca_certificate(certificateId='{id}')['certificateDescription']\n\
             assert d['status'] == 'INACTIVE', d"
        ),
    );
    boto3(
        SOURCE,
        &format!("iot.delete_ca_certificate(certificateId='{id}')"),
    );
    let delete = cloudtrail("ca-2", "DeleteCACertificate", json!({"certificateId": id}));
    std::fs::write(
        &events,
        [delete.as_str(), update.as_str(), delete.as_str()].join("\n"),
    )
    .unwrap();
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--state", &state, "--input"])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        &format!(
            "import botocore\n\
             try:\n    iot.describe_ca_certificate(certificateId='{id}')\n    raise SystemExit('still there')\n\
             except botocore.exceptions.ClientError as e:\n    assert e.response['Error']['Code'] == 'ResourceNotFoundException', e"
        ),
    );
}

#[test]
fn the_fleet_indexing_configuration_syncs_before_dynamic_groups_and_follows_its_event() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    boto3(
        SOURCE,
        "iot.update_indexing_configuration(\n\
         thingIndexingConfiguration={'thingIndexingMode': 'REGISTRY_AND_SHADOW',\n\
           'thingConnectivityIndexingMode': 'STATUS', 'namedShadowIndexingMode': 'ON',\n\
           'customFields': [{'name': 'attributes.model', 'type': 'String'}],\n\
           'filter': {'namedShadowNames': ['config']}},\n\
         thingGroupIndexingConfiguration={'thingGroupIndexingMode': 'ON'})",
    );
    let source = format!("aws:{SOURCE}");
    let target = format!("aws:{TARGET}");
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--kind", "indexing-configuration"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "update fleet indexing configuration: things REGISTRY_AND_SHADOW, thing groups ON, 1 custom field(s)",
        ));
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        "c = iot.get_indexing_configuration()\n\
         t = c['thingIndexingConfiguration']\n\
         assert t['thingIndexingMode'] == 'REGISTRY_AND_SHADOW', c\n\
         assert t['thingConnectivityIndexingMode'] == 'STATUS', c\n\
         assert t['namedShadowIndexingMode'] == 'ON', c\n\
         assert t['customFields'] == [{'name': 'attributes.model', 'type': 'String'}], c\n\
         assert t['filter']['namedShadowNames'] == ['config'], c\n\
         assert c['thingGroupIndexingConfiguration']['thingGroupIndexingMode'] == 'ON', c",
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .assert()
        .code(0);
    // The source turns shadow indexing off; its CloudTrail event, repeated, is followed.
    boto3(
        SOURCE,
        "iot.update_indexing_configuration(\n\
         thingIndexingConfiguration={'thingIndexingMode': 'REGISTRY',\n\
           'thingConnectivityIndexingMode': 'STATUS', 'namedShadowIndexingMode': 'OFF',\n\
           'customFields': [{'name': 'attributes.model', 'type': 'String'}],\n\
           'filter': {'namedShadowNames': []}})",
    );
    let update = cloudtrail(
        "ix-1",
        "UpdateIndexingConfiguration",
        json!({"thingIndexingConfiguration": {"thingIndexingMode": "REGISTRY"}}),
    );
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, [update.as_str(), update.as_str()].join("\n")).unwrap();
    let state = format!("sqlite:{}", dir.path().join("state.db").display());
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args(["--state", &state, "--input"])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        "t = iot.get_indexing_configuration()['thingIndexingConfiguration']\n\
         assert t['thingIndexingMode'] == 'REGISTRY', t\n\
         assert t['namedShadowIndexingMode'] == 'OFF', t",
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .assert()
        .code(0);
}

/// The topic rules of the source as boto3 creates them: one fanning out to a Lambda
/// function, an SNS topic and an SQS queue of the source region (its error action
/// republishing), one disabled.
fn make_rules(region: &str) -> String {
    format!(
        "acct = '123456789012'\n\
         iot.create_topic_rule(ruleName='fanout', topicRulePayload={{\n\
           'sql': \"SELECT * FROM 'telemetry/#'\", 'description': 'fan-out',\n\
           'awsIotSqlVersion': '2016-03-23', 'ruleDisabled': False,\n\
           'actions': [\n\
             {{'lambda': {{'functionArn': f'arn:aws:lambda:{region}:{{acct}}:function:ingest'}}}},\n\
             {{'sns': {{'targetArn': f'arn:aws:sns:{region}:{{acct}}:alerts', 'roleArn': f'arn:aws:iam::{{acct}}:role/iot-sns', 'messageFormat': 'RAW'}}}},\n\
             {{'sqs': {{'queueUrl': f'https://sqs.{region}.amazonaws.com/{{acct}}/orders', 'roleArn': f'arn:aws:iam::{{acct}}:role/iot-sqs', 'useBase64': False}}}}],\n\
           'errorAction': {{'republish': {{'topic': 'errors/rules', 'roleArn': f'arn:aws:iam::{{acct}}:role/iot-republish', 'qos': 1}}}}}})\n\
         iot.create_topic_rule(ruleName='paused', topicRulePayload={{\n\
           'sql': \"SELECT temp FROM 'sensors/+'\", 'awsIotSqlVersion': '2015-10-08', 'ruleDisabled': True,\n\
           'actions': [{{'lambda': {{'functionArn': f'arn:aws:lambda:{region}:{{acct}}:function:archive'}}}}]}})"
    )
}

#[test]
fn topic_rules_sync_with_their_actions_for_the_target_and_follow_their_cloudtrail_events() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    boto3(SOURCE, &make_rules(SOURCE));
    let source = format!("aws:{SOURCE}");
    let target = format!("aws:{TARGET}");

    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--kind", "topic-rules"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "create topic rule fanout (lambda, sns, sqs, republish)",
        ))
        .stdout(predicate::str::contains(
            "create topic rule paused (lambda), disabled",
        ));
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        &format!(
            "r = iot.get_topic_rule(ruleName='fanout')\n\
             assert r['ruleArn'].startswith('arn:aws:iot:{TARGET}:'), r\n\
             a = r['rule']['actions']\n\
             assert a[0]['lambda']['functionArn'] == 'arn:aws:lambda:{TARGET}:123456789012:function:ingest', a\n\
             assert a[1]['sns']['targetArn'] == 'arn:aws:sns:{TARGET}:123456789012:alerts', a\n\
             assert a[2]['sqs']['queueUrl'] == 'https://sqs.{TARGET}.amazonaws.com/123456789012/orders', a\n\
             assert r['rule']['errorAction']['republish']['qos'] == 1, r\n\
             assert r['rule']['awsIotSqlVersion'] == '2016-03-23', r\n\
             p = iot.get_topic_rule(ruleName='paused')['rule']\n\
             assert p['ruleDisabled'] is True, p\n\
             assert p['awsIotSqlVersion'] == '2015-10-08', p"
        ),
    );
    // A second plan is empty.
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .code(0);

    // The source changes: one rule enabled and its SQL replaced, one deleted, one created.
    boto3(
        SOURCE,
        &format!(
            "iot.replace_topic_rule(ruleName='paused', topicRulePayload={{\n\
               'sql': \"SELECT temp, hum FROM 'sensors/+'\", 'awsIotSqlVersion': '2015-10-08', 'ruleDisabled': False,\n\
               'actions': [{{'lambda': {{'functionArn': 'arn:aws:lambda:{SOURCE}:123456789012:function:archive'}}}}]}})\n\
             iot.delete_topic_rule(ruleName='fanout')\n\
             iot.create_topic_rule(ruleName='audit', topicRulePayload={{\n\
               'sql': \"SELECT * FROM '$aws/events/#'\", 'awsIotSqlVersion': '2016-03-23',\n\
               'actions': [{{'kinesis': {{'streamName': 'audit', 'roleArn': 'arn:aws:iam::123456789012:role/iot-kinesis', 'partitionKey': '${{topic()}}'}}}}]}})"
        ),
    );
    let replace = cloudtrail(
        "r-1",
        "ReplaceTopicRule",
        json!({"ruleName": "paused", "topicRulePayload": {"sql": "SELECT temp, hum FROM 'sensors/+'"}}),
    );
    let delete = cloudtrail("r-2", "DeleteTopicRule", json!({"ruleName": "fanout"}));
    let create = cloudtrail(
        "r-3",
        "CreateTopicRule",
        json!({"ruleName": "audit", "topicRulePayload": {"sql": "SELECT * FROM '$aws/events/#'"}}),
    );
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        [&create, &delete, &replace, &delete, &create]
            .map(|s| s.as_str())
            .join("\n"),
    )
    .unwrap();
    let state = format!("sqlite:{}", dir.path().join("state.db").display());
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--state", &state, "--input"])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        "names = sorted(r['ruleName'] for r in iot.list_topic_rules()['rules'])\n\
         assert names == ['audit', 'paused'], names\n\
         p = iot.get_topic_rule(ruleName='paused')['rule']\n\
         assert p['ruleDisabled'] is False and 'hum' in p['sql'], p\n\
         k = iot.get_topic_rule(ruleName='audit')['rule']['actions'][0]['kinesis']\n\
         assert k['partitionKey'] == '${topic()}', k",
    );
    bin()
        .args(["verify", "--source", &source, "--target", &target])
        .arg("--rewrite-arns")
        .assert()
        .code(0);
}

const SOURCE_CERT: &str = "arn:aws:acm:us-west-2:123456789012:certificate/5b1c-source";
const TARGET_CERT: &str = "arn:aws:acm:eu-central-1:123456789012:certificate/77d0-target";

/// What the issue's failover needs, in one sync: two role aliases, topic rules (one
/// disabled) naming a Lambda function, an SNS topic and an SQS queue of the source
/// region, a domain configuration whose ACM certificate is mapped, and a non-default
/// indexing configuration. Everything arrives with the target's ARNs, a second plan is
/// empty, and the domain configuration's CloudTrail events are followed.
#[test]
fn the_standby_gets_the_control_plane_a_device_needs_in_one_sync() {
    let _server = reset();
    let dir = tempfile::tempdir().unwrap();
    boto3(
        SOURCE,
        &format!(
            "iot.create_role_alias(roleAlias='cam-fleet', roleArn='{ROLE}', credentialDurationSeconds=900)\n\
             iot.create_role_alias(roleAlias='gw-fleet', roleArn='{ROLE}-gw')\n\
             iot.create_domain_configuration(domainConfigurationName='fleet-domain', \
               domainName='iot.example.com', serverCertificateArns=['{SOURCE_CERT}'], serviceType='DATA')\n\
             iot.update_indexing_configuration(thingIndexingConfiguration={{'thingIndexingMode': 'REGISTRY',\n\
               'thingConnectivityIndexingMode': 'STATUS'}})\n\
             {}",
            make_rules(SOURCE)
        ),
    );
    let source = format!("aws:{SOURCE}");
    let target = format!("aws:{TARGET}");
    let map = format!("{SOURCE_CERT}={TARGET_CERT}");

    // Unmapped, the certificate is named, and --strict-arns refuses the plan.
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--strict-arns"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(SOURCE_CERT));
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--strict-arns", "--map-arn", &map])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        &format!(
            "d = iot.describe_domain_configuration(domainConfigurationName='fleet-domain')\n\
             assert d['domainName'] == 'iot.example.com', d\n\
             assert [c['serverCertificateArn'] for c in d['serverCertificates']] == ['{TARGET_CERT}'], d\n\
             assert d['serviceType'] == 'DATA', d\n\
             assert d['domainConfigurationArn'].startswith('arn:aws:iot:{TARGET}:'), d\n\
             assert sorted(iot.list_role_aliases()['roleAliases']) == ['cam-fleet', 'gw-fleet']\n\
             a = iot.get_topic_rule(ruleName='fanout')['rule']['actions']\n\
             assert '{SOURCE}' not in str(a), a\n\
             assert iot.get_topic_rule(ruleName='paused')['rule']['ruleDisabled'] is True\n\
             t = iot.get_indexing_configuration()['thingIndexingConfiguration']\n\
             assert t['thingIndexingMode'] == 'REGISTRY', t"
        ),
    );
    // A second plan is empty.
    bin()
        .args(["plan", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--map-arn", &map])
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes"));

    // The source disables its domain and adds another; their events are followed.
    boto3(
        SOURCE,
        &format!(
            "iot.update_domain_configuration(domainConfigurationName='fleet-domain', \
               domainConfigurationStatus='DISABLED')\n\
             iot.create_domain_configuration(domainConfigurationName='creds-domain', \
               domainName='creds.example.com', serverCertificateArns=['{SOURCE_CERT}'], \
               serviceType='CREDENTIAL_PROVIDER')"
        ),
    );
    let update = cloudtrail(
        "d-1",
        "UpdateDomainConfiguration",
        json!({"domainConfigurationName": "fleet-domain", "domainConfigurationStatus": "DISABLED"}),
    );
    let create = cloudtrail(
        "d-2",
        "CreateDomainConfiguration",
        json!({"domainConfigurationName": "creds-domain", "domainName": "creds.example.com"}),
    );
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        [&create, &update, &create].map(|s| s.as_str()).join("\n"),
    )
    .unwrap();
    let state = format!("sqlite:{}", dir.path().join("state.db").display());
    bin()
        .args(["apply-events", "--source", &source, "--target", &target])
        .args([
            "--rewrite-arns",
            "--map-arn",
            &map,
            "--state",
            &state,
            "--input",
        ])
        .arg(&events)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 dead-lettered"));
    boto3(
        TARGET,
        &format!(
            "d = iot.describe_domain_configuration(domainConfigurationName='fleet-domain')\n\
             assert d['domainConfigurationStatus'] == 'DISABLED', d\n\
             c = iot.describe_domain_configuration(domainConfigurationName='creds-domain')\n\
             assert c['serviceType'] == 'CREDENTIAL_PROVIDER', c\n\
             assert [x['serverCertificateArn'] for x in c['serverCertificates']] == ['{TARGET_CERT}'], c"
        ),
    );
    // The deleted source domain goes with --prune, disabled first.
    boto3(
        SOURCE,
        "iot.update_domain_configuration(domainConfigurationName='creds-domain', domainConfigurationStatus='DISABLED')\n\
         iot.delete_domain_configuration(domainConfigurationName='creds-domain')",
    );
    bin()
        .args(["sync", "--source", &source, "--target", &target])
        .args(["--rewrite-arns", "--map-arn", &map, "--prune"])
        .args(["--kind", "domain-configurations"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 failed"));
    boto3(
        TARGET,
        "names = [d['domainConfigurationName'] for d in iot.list_domain_configurations()['domainConfigurations']]\n\
         assert names == ['fleet-domain'], names",
    );
}
