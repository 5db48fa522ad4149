#!/usr/bin/env python3
"""Checks of the iot-crr CloudFormation templates that cfn-lint does not make.

Run: python3 deploy/tests/test_templates.py   (scripts/lint-templates.sh runs it too)

Standard library plus PyYAML (cfn-lint depends on it). When cfn-lint is importable, the
IAM checks also compare every action with the resource types AWS documents for it (the
Service Authorization Reference, as cfn-lint ships it).
"""

import json
import os
import re
import sys
import unittest

try:
    import yaml
except ImportError:  # pragma: no cover - reported as a test failure below
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)
SOURCE = os.path.join(DEPLOY, "source-region.yaml")
DESTINATION = os.path.join(DEPLOY, "destination-region.yaml")
LAMBDA_SRC = os.path.join(os.path.dirname(DEPLOY), "crates", "lambda", "src")

# Actions that AWS documents with no resource type (the Service Authorization Reference
# lists none for them), so IAM only accepts them with "Resource": "*". Only these may
# appear in a statement whose Resource is "*".
ALLOWED_ON_STAR = {
    # Whole-registry list calls.
    "iot:ListThingTypes",
    "iot:ListBillingGroups",
    "iot:ListThingGroups",
    "iot:ListPolicies",
    "iot:ListThings",
    "iot:ListCertificates",
    "iot:ListRoleAliases",
    "iot:ListCACertificates",
    # Its target is a certificate or a thing group; IAM authorizes it on no resource.
    "iot:ListAttachedPolicies",
    # Account settings.
    "iot:GetIndexingConfiguration",
    "iot:UpdateIndexingConfiguration",
    "iot:DescribeEventConfigurations",
    "iot:ListAuthorizers",
    "iot:ListTopicRules",
    "iot:ListDomainConfigurations",
    "iot:ListProvisioningTemplates",
    "iot:ListTopicRuleDestinations",
    "iot:CreateTopicRuleDestination",
    "iot:DescribeDefaultAuthorizer",
    "iot:ClearDefaultAuthorizer",
    "iot:UpdateEventConfigurations",
    # The certificate's ARN does not exist before the call.
    "iot:RegisterCertificate",
    "iot:RegisterCertificateWithoutCA",
    "iot:RegisterCACertificate",
    # Needed by the Kinesis event source mapping; a list of all streams.
    "kinesis:ListStreams",
    # Quotas=live: the applied IoT quotas of the two regions (read-only).
    "servicequotas:ListServiceQuotas",
}

# The calls the EventBridge rule must forward (CloudTrail eventName).
API_CALLS = set(
    """CreatePolicy CreatePolicyVersion DeletePolicyVersion SetDefaultPolicyVersion
    DeletePolicy AttachPolicy DetachPolicy AttachPrincipalPolicy DetachPrincipalPolicy
    RegisterCertificate RegisterCertificateWithoutCA CreateKeysAndCertificate
    CreateCertificateFromCsr UpdateCertificate DeleteCertificate AttachThingPrincipal
    DetachThingPrincipal CreateBillingGroup UpdateBillingGroup DeleteBillingGroup
    AddThingToBillingGroup RemoveThingFromBillingGroup TagResource UntagResource
    CreateThing UpdateThing DeleteThing CreateThingGroup UpdateThingGroup DeleteThingGroup
    CreateDynamicThingGroup UpdateDynamicThingGroup DeleteDynamicThingGroup
    AddThingToThingGroup RemoveThingFromThingGroup UpdateThingGroupsForThing
    CreateThingType UpdateThingType DeprecateThingType DeleteThingType
    CreateRoleAlias UpdateRoleAlias DeleteRoleAlias
    RegisterCACertificate UpdateCACertificate DeleteCACertificate
    UpdateIndexingConfiguration UpdateEventConfigurations
    CreateAuthorizer UpdateAuthorizer SetDefaultAuthorizer DeleteAuthorizer
    CreateTopicRule ReplaceTopicRule EnableTopicRule DisableTopicRule DeleteTopicRule
    CreateDomainConfiguration UpdateDomainConfiguration DeleteDomainConfiguration
    CreateProvisioningTemplate UpdateProvisioningTemplate CreateProvisioningTemplateVersion
    DeleteProvisioningTemplateVersion DeleteProvisioningTemplate
    CreateTopicRuleDestination""".split()
)

RUST_FUNCTIONS = {
    # template, logical id: the environment variables the handler reads, exactly
    ("source", "ForwarderFunction"): {
        "IOT_CRR_STREAM_NAME",
        "IOT_CRR_STREAM_REGION",
        "IOT_CRR_AGGREGATE",
    },
    ("destination", "ApplierFunction"): {
        "IOT_CRR_SOURCE_REGION",
        "IOT_CRR_STATE_TABLE",
        "IOT_CRR_DEAD_LETTER_QUEUE_URL",
        "IOT_CRR_REWRITE_ARNS",
        "IOT_CRR_ARN_MAP",
        "IOT_CRR_STRICT_ARNS",
        "IOT_CRR_CERT_STRATEGY",
        "IOT_CRR_QUOTAS",
        "RUST_LOG",
    },
    ("destination", "ReconcilerFunction"): {
        "IOT_CRR_SOURCE_REGION",
        "IOT_CRR_STATE_TABLE",
        "IOT_CRR_REWRITE_ARNS",
        "IOT_CRR_ARN_MAP",
        "IOT_CRR_STRICT_ARNS",
        "IOT_CRR_CERT_STRATEGY",
        "IOT_CRR_QUOTAS",
        "IOT_CRR_PRUNE",
        "IOT_CRR_MAX_DELETE",
        "IOT_CRR_TIME_BUDGET_SECONDS",
        "IOT_CRR_PASS_INTERVAL_MINUTES",
        "IOT_CRR_READINESS",
        "IOT_CRR_METRICS_NAMESPACE",
    },
}


# ----------------------------------------------------------------------------- loading


def _cfn_loader():
    """A SafeLoader that reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt...)
    as the long form ({"Ref": ...}, {"Fn::Sub": ...}, {"Fn::GetAtt": [...]})."""

    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "Condition":
            return {"Condition": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Fn::" + suffix: value}

    Loader.add_multi_constructor("!", construct)
    return Loader


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_cfn_loader())


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def if_branches(value):
    """Both branches of a Fn::If (an IAM list may hold one); other values as they are."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return if_branches(yes) + if_branches(no)
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def policy_documents(template):
    """(where, document) for every permission policy in a template."""
    for name, res in template.get("Resources", {}).items():
        kind, props = res.get("Type"), res.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}/{policy.get('PolicyName')}", policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                      "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield name, props["PolicyDocument"]


def statements(document):
    for statement in as_list(document.get("Statement")):
        yield from if_branches(statement)


def resource_text(resource):
    """The ARN text of a resource entry: a string, or a Fn::Sub template."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def iam_problems(template):
    """Every reason a template's IAM statements are too broad, as strings."""
    problems = []
    for where, document in policy_documents(template):
        for i, st in enumerate(statements(document)):
            at = f"{where} statement {st.get('Sid', i)}"
            if "NotAction" in st or "NotResource" in st:
                problems.append(f"{at}: NotAction/NotResource")
            actions = [a for x in as_list(st.get("Action")) for a in if_branches(x)]
            if not actions:
                problems.append(f"{at}: no Action")
            for action in actions:
                if not isinstance(action, str) or "*" in action:
                    problems.append(f"{at}: wildcard action {action!r}")
            resources = [r for x in as_list(st.get("Resource")) for r in if_branches(x)]
            if "*" in resources:
                for action in actions:
                    if action not in ALLOWED_ON_STAR:
                        problems.append(
                            f"{at}: {action} on Resource \"*\" (it is not one of the "
                            "actions AWS documents without resource-level permissions)")
            for resource in resources:
                text = resource_text(resource)
                if text and text != "*" and re.search(r"(^|:)\*(:|$)", text):
                    problems.append(f"{at}: resource {text!r} has a wildcard region or account")
    return problems


# Resource types per action from cfn-lint's copy of the Service Authorization Reference.
def _authorization_reference():
    try:
        import cfnlint
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(cfnlint.__file__), "data", "AdditionalSpecs",
                        "Policies.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


IOT_ARN_TYPES = {  # ARN resource part -> resource types of the reference
    "thing": {"thing"},
    "thinggroup": {"thinggroup", "dynamicthinggroup"},
    "billinggroup": {"billinggroup"},
    "thingtype": {"thingtype"},
    "policy": {"policy"},
    "cert": {"cert"},
    "cacert": {"cacert"},
    "rolealias": {"rolealias"},
    "authorizer": {"authorizer"},
    "rule": {"rule"},
    "domainconfiguration": {"domainconfiguration"},
    "provisioningtemplate": {"provisioningtemplate"},
    "ruledestination": {"destination"},
}


# ----------------------------------------------------------------------------- tests


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if yaml is None:
            raise unittest.SkipTest("PyYAML is missing: pip install pyyaml (cfn-lint brings it)")
        cls.templates = {"source": load(SOURCE), "destination": load(DESTINATION)}
        cls.src = cls.templates["source"]
        cls.dst = cls.templates["destination"]

    def resources(self, template, kind):
        return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}

    def param(self, template, value):
        """The parameter a {"Ref": P} names, or None for a literal."""
        if isinstance(value, dict) and "Ref" in value:
            return template["Parameters"][value["Ref"]]
        return None

    # --- IAM

    def test_no_wildcard_actions_and_star_resources_only_for_documented_exceptions(self):
        for name, template in self.templates.items():
            with self.subTest(template=name):
                self.assertEqual(iam_problems(template), [])

    def test_the_iam_checker_catches_what_it_must(self):
        bad = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "iot:*", "Resource": "arn:aws:iot:us-east-1:1:thing/*"},
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Action": ["iot:List*"], "Resource": "x"},
                {"Effect": "Allow", "Action": ["iot:DescribeThing", "iot:ListThings"], "Resource": "*"},
                {"Effect": "Allow", "Action": "kinesis:PutRecords",
                 "Resource": {"Fn::Sub": "arn:${AWS::Partition}:kinesis:*:*:stream/x"}},
                {"Effect": "Allow",
                 "Action": {"Fn::If": ["C", "s3:*", {"Ref": "AWS::NoValue"}]}, "Resource": "y"},
            ]}}]}}}}
        problems = iam_problems(bad)
        self.assertTrue(any("'iot:*'" in p for p in problems), problems)
        self.assertTrue(any("'*'" in p for p in problems), problems)
        self.assertTrue(any("'iot:List*'" in p for p in problems), problems)
        self.assertTrue(any("iot:DescribeThing on Resource" in p for p in problems), problems)
        self.assertFalse(any("iot:ListThings on Resource" in p for p in problems), problems)
        self.assertTrue(any("wildcard region or account" in p for p in problems), problems)
        self.assertTrue(any("'s3:*'" in p for p in problems), problems)

    def test_actions_match_the_resource_types_aws_documents(self):
        reference = _authorization_reference()
        if reference is None:
            self.skipTest("cfn-lint is not importable: no copy of the authorization reference")
        for action in sorted(ALLOWED_ON_STAR):
            service, name = action.split(":")
            entry = reference[service]["Actions"].get(name.lower())
            self.assertIsNotNone(entry, f"{action} is not an action AWS knows")
            self.assertFalse(entry.get("Resources"),
                             f"{action} has resource types {entry.get('Resources')}: "
                             "it must be scoped, not allowed on \"*\"")
        for tname, template in self.templates.items():
            for where, document in policy_documents(template):
                for st in statements(document):
                    resources = [r for x in as_list(st.get("Resource")) for r in if_branches(x)]
                    if resources == ["*"] or "Principal" in st:
                        continue
                    given = set()
                    for r in resources:
                        # ${AWS::Partition} and the like hold colons: blank them out
                        text = re.sub(r"\$\{[^}]*\}", "x", resource_text(r) or "")
                        m = re.match(r"arn:[^:]+:iot:[^:]+:[^:]+:([a-z]+)/", text)
                        if m:
                            given |= IOT_ARN_TYPES[m.group(1)]
                    for action in as_list(st.get("Action")):
                        service, name = action.split(":")
                        entry = reference[service]["Actions"].get(name.lower())
                        self.assertIsNotNone(entry, f"{tname} {where}: unknown action {action}")
                        types = set(entry.get("Resources", []))
                        self.assertTrue(types, f"{tname} {where}: {action} takes no resource "
                                               "type: it belongs in the \"*\" statement")
                        if service == "iot":
                            self.assertTrue(types & given,
                                            f"{tname} {where}: {action} is authorized on "
                                            f"{sorted(types)}, none of which the statement names")

    def test_iot_reads_are_scoped_to_the_source_region_and_writes_to_this_one(self):
        policy = self.dst["Resources"]["IotRegistryAccessPolicy"]["Properties"]["PolicyDocument"]
        by_sid = {st["Sid"]: st for st in policy["Statement"]}
        for sid, region in [("SourceRead", "${SourceRegion}"), ("TargetRead", "${AWS::Region}"),
                            ("TargetWrite", "${AWS::Region}")]:
            for r in by_sid[sid]["Resource"]:
                text = resource_text(r)
                self.assertTrue(text.startswith(f"arn:${{AWS::Partition}}:iot:{region}:${{AWS::AccountId}}:"),
                                f"{sid}: {text}")
        writes = [a for a in by_sid["TargetWrite"]["Action"]]
        self.assertTrue(all(a.startswith("iot:") for a in writes))
        reads = set(by_sid["SourceRead"]["Action"])
        self.assertFalse(reads & set(writes), "the source side is read only")

    def test_forwarder_may_only_put_into_the_stream(self):
        role = self.src["Resources"]["ForwarderRole"]["Properties"]
        actions = {a for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]
                   for a in as_list(st["Action"])}
        self.assertEqual(actions, {"kinesis:PutRecords", "logs:CreateLogStream",
                                   "logs:PutLogEvents", "sqs:SendMessage"})
        put = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]
               if st["Action"] == "kinesis:PutRecords"]
        self.assertEqual(put[0]["Resource"], {"Ref": "DestinationStreamArn"})

    # --- functions

    def test_rust_functions_runtime_architecture_handler_and_environment(self):
        for (tname, logical), expected in RUST_FUNCTIONS.items():
            with self.subTest(function=logical):
                props = self.templates[tname]["Resources"][logical]["Properties"]
                self.assertEqual(props["Runtime"], "provided.al2023")
                self.assertEqual(props["Architectures"], ["arm64"])
                self.assertEqual(props["Handler"], "bootstrap")
                self.assertIn("S3Bucket", props["Code"])
                self.assertIn("S3Key", props["Code"])
                self.assertEqual(set(props["Environment"]["Variables"]), expected)

    def test_every_function_logs_to_a_log_group_with_retention(self):
        for tname, template in self.templates.items():
            groups = self.resources(template, "AWS::Logs::LogGroup")
            for name, fn in self.resources(template, "AWS::Lambda::Function").items():
                with self.subTest(function=name):
                    ref = fn["Properties"]["LoggingConfig"]["LogGroup"]
                    self.assertIn(ref["Ref"], groups)
                    self.assertIn("RetentionInDays", groups[ref["Ref"]]["Properties"])

    def test_reconciler_time_budget_is_under_the_lambda_limit(self):
        props = self.dst["Resources"]["ReconcilerFunction"]["Properties"]
        self.assertEqual(props["Timeout"], 900)
        budget = self.param(self.dst, props["Environment"]["Variables"]["IOT_CRR_TIME_BUDGET_SECONDS"])
        self.assertLess(budget["MaxValue"], 900)
        self.assertLess(budget["Default"], 900)
        rule = self.dst["Resources"]["ReconcileScheduleRule"]["Properties"]
        self.assertEqual(rule["ScheduleExpression"], {"Ref": "ReconcileSchedule"})
        self.assertEqual(rule["Targets"][0]["Arn"], {"Fn::GetAtt": ["ReconcilerFunction", "Arn"]})

    # --- source side

    def test_topic_rule_forwards_registry_events_with_their_topic(self):
        rules = self.resources(self.src, "AWS::IoT::TopicRule")
        self.assertEqual(len(rules), 1)
        name, rule = next(iter(rules.items()))
        payload = rule["Properties"]["TopicRulePayload"]
        self.assertEqual(payload["Sql"], "SELECT *, topic() AS topic FROM '$aws/events/#'")
        self.assertEqual(payload["AwsIotSqlVersion"], "2016-03-23")
        self.assertEqual(payload["Actions"],
                         [{"Lambda": {"FunctionArn": {"Fn::GetAtt": ["ForwarderFunction", "Arn"]}}}])
        self.assertIn("ErrorAction", payload)
        error = payload["ErrorAction"]["Sqs"]
        self.assertEqual(error["RoleArn"], {"Fn::GetAtt": ["RuleErrorActionRole", "Arn"]})
        permissions = [p["Properties"] for p in self.resources(self.src, "AWS::Lambda::Permission").values()
                       if p["Properties"]["Principal"] == "iot.amazonaws.com"]
        self.assertEqual(len(permissions), 1)
        self.assertEqual(permissions[0]["SourceArn"], {"Fn::GetAtt": [name, "Arn"]})

    def test_eventbridge_rule_matches_the_registry_changing_api_calls(self):
        rule = self.src["Resources"]["ApiCallEventsRule"]["Properties"]
        pattern = rule["EventPattern"]
        self.assertEqual(pattern["source"], ["aws.iot"])
        self.assertEqual(pattern["detail-type"], ["AWS API Call via CloudTrail"])
        self.assertEqual(pattern["detail"]["eventSource"], ["iot.amazonaws.com"])
        names = pattern["detail"]["eventName"]
        self.assertEqual(len(names), len(set(names)), "duplicate eventName")
        self.assertEqual(set(names), API_CALLS)
        (target,) = rule["Targets"]
        self.assertEqual(target["Arn"], {"Fn::GetAtt": ["ForwarderFunction", "Arn"]})
        self.assertIn("MaximumRetryAttempts", target["RetryPolicy"])
        self.assertIn("Arn", target["DeadLetterConfig"])
        principals = {p["Properties"]["Principal"]
                      for p in self.resources(self.src, "AWS::Lambda::Permission").values()}
        self.assertIn("events.amazonaws.com", principals)

    def test_forwarder_failures_are_kept(self):
        config = self.src["Resources"]["ForwarderAsyncConfig"]["Properties"]
        self.assertIn("OnFailure", config["DestinationConfig"])

    def test_registry_events_are_turned_on_or_documented(self):
        self.assertIn("update-event-configurations", self.src["Description"])
        self.assertIn("update-event-configurations",
                      self.src["Metadata"]["IotCrr::EnableRegistryEvents"]["Command"])
        custom = self.src["Resources"]["RegistryEventConfiguration"]
        self.assertEqual(custom["Condition"], "TurnOnRegistryEvents")
        self.assertEqual(set(custom["Properties"]["EventTypes"]),
                         {"THING", "THING_TYPE", "THING_TYPE_ASSOCIATION", "THING_GROUP",
                          "THING_GROUP_MEMBERSHIP", "THING_GROUP_HIERARCHY"})

    # --- destination side

    def test_event_source_mapping_settings(self):
        (esm,) = self.resources(self.dst, "AWS::Lambda::EventSourceMapping").values()
        p = esm["Properties"]
        self.assertEqual(p["StartingPosition"], "TRIM_HORIZON")
        self.assertEqual(p["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIs(p["BisectBatchOnFunctionError"], True)
        self.assertEqual(p["EventSourceArn"], {"Fn::GetAtt": ["EventStream", "Arn"]})
        self.assertIn("BatchSize", p)
        retries = self.param(self.dst, p["MaximumRetryAttempts"])
        self.assertGreaterEqual(retries["MinValue"], 0, "-1 would retry forever")
        self.assertLessEqual(retries["MaxValue"], 10000)
        age = self.param(self.dst, p["MaximumRecordAgeInSeconds"])
        self.assertGreaterEqual(age["MinValue"], 60, "-1 would keep records until they expire")
        self.assertLessEqual(age["MaxValue"], 604800)
        factor = self.param(self.dst, p["ParallelizationFactor"])
        self.assertEqual((factor["MinValue"], factor["MaxValue"]), (1, 10))
        destination = p["DestinationConfig"]["OnFailure"]["Destination"]
        queue = destination["Fn::GetAtt"][0]
        self.assertEqual(self.dst["Resources"][queue]["Type"], "AWS::SQS::Queue")

    def test_stream_is_encrypted_and_sized_by_parameters(self):
        props = self.dst["Resources"]["EventStream"]["Properties"]
        self.assertEqual(props["StreamEncryption"]["EncryptionType"], "KMS")
        self.assertEqual(props["StreamModeDetails"]["StreamMode"], {"Ref": "StreamMode"})

    def test_state_table(self):
        (table,) = self.resources(self.dst, "AWS::DynamoDB::Table").values()
        p = table["Properties"]
        self.assertEqual(p["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual({(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]},
                         {("pk", "HASH"), ("sk", "RANGE")})
        # The schema of iot-crr-state-dynamodb's DynamoStore (crates/state-dynamodb).
        self.assertEqual({(a["AttributeName"], a["AttributeType"]) for a in p["AttributeDefinitions"]},
                         {("pk", "S"), ("sk", "S"), ("lsi1_sk", "S")})
        (lsi,) = p["LocalSecondaryIndexes"]
        self.assertEqual(lsi["IndexName"], "lsi1")
        self.assertEqual({(k["AttributeName"], k["KeyType"]) for k in lsi["KeySchema"]},
                         {("pk", "HASH"), ("lsi1_sk", "RANGE")})
        self.assertEqual(lsi["Projection"], {"ProjectionType": "KEYS_ONLY"})
        self.assertEqual(p["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertIs(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], True)

    def test_alarms_cover_lag_dead_letters_errors_and_throttles(self):
        # A namespace may be a parameter ({"Ref": ...}): compared as its JSON text.
        metrics = {(json.dumps(a["Properties"]["Namespace"]), a["Properties"]["MetricName"])
                   for a in self.resources(self.dst, "AWS::CloudWatch::Alarm").values()}
        for namespace, metric in [("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
                                  ("AWS/Lambda", "IteratorAge"),
                                  ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
                                  ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"),
                                  ({"Ref": "MetricsNamespace"}, "DevicesNotReady")]:
            self.assertIn((json.dumps(namespace), metric), metrics)

    def test_readiness_metrics_and_alarm(self):
        params = self.dst["Parameters"]
        env = self.dst["Resources"]["ReconcilerFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["IOT_CRR_READINESS"], {"Ref": "ReadinessMetrics"})
        self.assertEqual(env["IOT_CRR_METRICS_NAMESPACE"], {"Ref": "MetricsNamespace"})
        # Quoted in the template: YAML 1.1 would read a bare on/off as a boolean.
        self.assertEqual(params["ReadinessMetrics"]["AllowedValues"], ["on", "off"])
        self.assertEqual(params["ReadinessMetrics"]["Default"], "on")
        self.assertEqual(self.dst["Conditions"]["ReadinessOn"],
                         {"Fn::Equals": [{"Ref": "ReadinessMetrics"}, "on"]})
        namespace = params["MetricsNamespace"]
        pattern = re.compile(namespace["AllowedPattern"])
        self.assertTrue(pattern.match(namespace["Default"]))
        for bad in ["AWS/IoT", "", " IotCrr", "a" * 256, "iot crr!"]:
            self.assertFalse(pattern.match(bad), bad)
        alarm = self.dst["Resources"]["DevicesNotReadyAlarm"]
        self.assertEqual(alarm["Condition"], "ReadinessOn")
        p = alarm["Properties"]
        self.assertEqual((p["Namespace"], p["MetricName"]),
                         ({"Ref": "MetricsNamespace"}, "DevicesNotReady"))
        self.assertNotIn("Dimensions", p, "DevicesNotReady is published without dimensions")
        self.assertEqual((p["Statistic"], p["Threshold"], p["ComparisonOperator"],
                          p["EvaluationPeriods"], p["TreatMissingData"]),
                         ("Maximum", 0, "GreaterThanThreshold", 1, "notBreaching"))
        period = self.param(self.dst, p["Period"])
        self.assertGreaterEqual(min(period["AllowedValues"]), 3600)
        self.assertLessEqual(max(period["AllowedValues"]), 86400)
        self.assertIn(period["Default"], period["AllowedValues"])
        self.assertTrue(all(v % 60 == 0 for v in period["AllowedValues"]))
        self.assertEqual(p["AlarmActions"],
                         {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]})
        self.assertEqual(p["OKActions"], p["AlarmActions"])
        # What the reconciler (crates/lambda) writes and reads: the metric's name, the
        # default namespace, the variables and the values of IOT_CRR_READINESS.
        with open(os.path.join(LAMBDA_SRC, "reconciler.rs"), encoding="utf-8") as f:
            reconciler = f.read()
        with open(os.path.join(LAMBDA_SRC, "config.rs"), encoding="utf-8") as f:
            config = f.read()
        self.assertIn('DEVICES_NOT_READY: &str = "DevicesNotReady";', reconciler)
        self.assertIn(f'DEFAULT_METRICS_NAMESPACE: &str = "{namespace["Default"]}";', config)
        for name in ("IOT_CRR_READINESS", "IOT_CRR_METRICS_NAMESPACE"):
            self.assertIn(f'"{name}"', config)
        self.assertIn('Some("off") => false', config)

    def test_outputs(self):
        self.assertTrue({"StreamArn", "StateTableName", "DeadLetterQueueUrl",
                         "StreamFailureQueueUrl"} <= set(self.dst["Outputs"]))

    # --- both

    def test_every_parameter_has_a_description(self):
        for name, template in self.templates.items():
            for pname, p in template["Parameters"].items():
                with self.subTest(template=name, parameter=pname):
                    self.assertTrue(str(p.get("Description", "")).strip())

    def test_every_parameter_is_used(self):
        for name, template in self.templates.items():
            text = json.dumps({k: v for k, v in template.items() if k != "Metadata"})
            for pname in template["Parameters"]:
                with self.subTest(template=name, parameter=pname):
                    used = (f'{{"Ref": "{pname}"}}' in text or "${" + pname + "}" in text)
                    self.assertTrue(used, f"{pname} is never referenced")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TemplateTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"templates: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
