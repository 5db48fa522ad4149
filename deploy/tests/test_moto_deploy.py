#!/usr/bin/env python3
"""Deploys both CloudFormation templates into moto, in process, and checks what was created.

Run: scripts/lint-templates.sh (it installs the pinned moto and boto3 into its virtualenv
and runs this), or python3 deploy/tests/test_moto_deploy.py where moto and boto3 are
installed (deploy/tests/requirements.txt).

No server, no Docker, no network: moto's mock_aws answers every boto3 call in this
process. Fake function zips (a distinct `bootstrap` per function) go to moto's S3, the
destination template is deployed in eu-west-1 with realistic parameters, the source
template in us-east-1 with the destination's StreamArn, and then every resource is read
back through its service's API and compared with what the templates ask for.

What moto cannot do is named, never skipped silently (deploy/README.md lists the same):

- MOTO_REMOVED: resource types moto cannot deploy. The source template is deployed from
  a copy without them and without whatever refers to them; the test prints what it removed.
- MOTO_SKIPPED: resource types moto's CloudFormation leaves out while the stack still
  completes. The test then creates them itself through the services' APIs from the
  template's properties, with the references resolved against the stack as CloudFormation
  would, so that the alarms, the asynchronous invoke configuration and the queue policy
  are still checked against the real names and ARNs of the stack's resources.
- MOTO_IGNORED: properties moto's CloudFormation ignores. The test expects moto's own
  value there: a moto that starts honouring one fails here until the list and the README
  are brought up to date.
"""

import ast
import base64
import hashlib
import io
import json
import logging
import os
import sys
import time
import unittest
import warnings
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from test_templates import API_CALLS, RUST_FUNCTIONS, load  # noqa: E402

try:
    import boto3
    import moto
    from botocore.exceptions import ClientError
    from moto import mock_aws
except ImportError as error:  # reported as an error of every test, not a skip
    boto3 = moto = mock_aws = ClientError = None
    IMPORT_ERROR = error
else:
    IMPORT_ERROR = None

ACCOUNT = "123456789012"  # moto's default account
SOURCE_REGION, DESTINATION_REGION = "us-east-1", "eu-west-1"
REVISION = "4f2a9c1"  # as deploy/README.md puts the git commit in the keys


def bucket(region):
    return f"iot-crr-artifacts-{ACCOUNT}-{region}"


DESTINATION_PARAMETERS = {
    "SourceRegion": SOURCE_REGION,
    "ArtifactBucket": bucket(DESTINATION_REGION),
    "ApplierCodeKey": f"iot-crr/{REVISION}/applier.zip",
    "ReconcilerCodeKey": f"iot-crr/{REVISION}/reconciler.zip",
    "StreamRetentionHours": "48",
    "BatchSize": "200",
    "ParallelizationFactor": "2",
    "MaximumRetryAttempts": "5",
    "MaximumRecordAgeInSeconds": "3600",
    "ApplierMemorySize": "1024",
    "ReconcileSchedule": "rate(15 minutes)",
    "ReconcileTimeBudgetSeconds": "840",
    "LogRetentionDays": "90",
    "AlarmEmail": "ops@example.com",
}
# A second destination stack: a provisioned stream, the schedule off, no alarm topic, no
# readiness metrics (so no readiness alarm).
VARIANT_PARAMETERS = dict(
    DESTINATION_PARAMETERS, StreamName="iot-crr-events-provisioned", StreamMode="PROVISIONED",
    ShardCount="3", ReconcileEnabled="false", AlarmEmail="", ReadinessMetrics="off",
    MetricsNamespace="IotCrr/provisioned")
SOURCE_PARAMETERS = {  # DestinationStreamArn comes from the destination stack
    "ArtifactBucket": bucket(SOURCE_REGION),
    "ForwarderCodeKey": f"iot-crr/{REVISION}/forwarder.zip",
    "Aggregate": "true",
    "EnableRegistryEvents": "true",
    "EnableApiCallEvents": "true",
    "AlarmEmail": "ops@example.com",
}

# Resource types moto cannot deploy: removed, with what refers to them, before deploying.
MOTO_REMOVED = {
    "AWS::IoT::TopicRule": "not modelled; as RegistryEventsRulePermission reads its Arn, "
                           "moto refuses the whole stack",
    "Custom::IotEventConfigurations": "moto runs a custom resource's function only in "
                                      "Docker; without it the stack never completes",
}
# Resource types moto's CloudFormation leaves out of a stack that still completes.
MOTO_SKIPPED = {"AWS::CloudWatch::Alarm", "AWS::Lambda::EventInvokeConfig", "AWS::SQS::QueuePolicy"}
# (resource type, property): what moto reports instead of what the template asks.
MOTO_IGNORED = {
    ("AWS::Kinesis::Stream", "StreamModeDetails"): {"StreamMode": "PROVISIONED"},
    ("AWS::Kinesis::Stream", "StreamEncryption"): "NONE",
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): {"TimeToLiveStatus": "DISABLED"},
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): "DISABLED",
    ("AWS::Lambda::Function", "Architectures"): ["x86_64"],
    ("AWS::Lambda::Function", "LoggingConfig"): None,
}

NO_VALUE = object()  # AWS::NoValue


# ----------------------------------------------------------------------------- deploying


def client(service, region):
    return boto3.client(service, region_name=region)


def function_zip(name):
    """A zip holding a `bootstrap` (never run); distinct per function, so the code each
    function got tells which key it was created from."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        z.writestr(info, f"#!/bin/sh\necho 'fake {name}'\nexit 1\n")
    return buf.getvalue()


ZIPS = {name: function_zip(name) for name in ("applier", "reconciler", "forwarder")}


def upload(region, keys):
    s3 = client("s3", region)
    config = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket(region), **config)
    for name, key in keys.items():
        s3.put_object(Bucket=bucket(region), Key=key, Body=ZIPS[name])


class MotoLog(logging.Handler):
    """Collects the resource types moto's CloudFormation says it does not support (and
    keeps moto's other log lines off the output, up to errors)."""

    def __init__(self):
        super().__init__()
        self.unsupported = set()

    def emit(self, record):
        if record.msg == "No Moto CloudFormation support for %s":
            self.unsupported.add(record.args[0])
        elif record.levelno >= logging.ERROR:
            print(f"moto: {record.getMessage()}", file=sys.stderr)


MOTO_LOG = MotoLog()


def create_stack(region, name, template, parameters):
    cfn = client("cloudformation", region)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                 for k, v in parameters.items()],
                     Capabilities=["CAPABILITY_IAM"])
    deadline = time.monotonic() + 60
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


def refers(value, name):
    """Whether a template value refers to resource `name` (Ref, GetAtt, Sub, DependsOn)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and inner == name:
                return True
            if key == "Fn::GetAtt" and (inner[0] if isinstance(inner, list)
                                        else inner.split(".")[0]) == name:
                return True
            if key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                if "${" + name + "}" in text or "${" + name + "." in text:
                    return True
            if key == "DependsOn" and name in (inner if isinstance(inner, list) else [inner]):
                return True
            if refers(inner, name):
                return True
    elif isinstance(value, list):
        return any(refers(v, name) for v in value)
    return False


def without(template, types):
    """The template less the resources of these types, the resources and outputs that
    refer to them (transitively); with the logical ids removed."""
    gone = {k for k, v in template["Resources"].items() if v["Type"] in types}
    while True:
        more = {k for k, v in template["Resources"].items()
                if k not in gone and any(refers(v, g) for g in gone)}
        if not more:
            break
        gone |= more
    outputs = {k for k, v in template.get("Outputs", {}).items()
               if any(refers(v, g) for g in gone)}
    reduced = dict(template)
    reduced["Resources"] = {k: v for k, v in template["Resources"].items() if k not in gone}
    reduced["Outputs"] = {k: v for k, v in template.get("Outputs", {}).items()
                          if k not in outputs}
    return reduced, gone, outputs


class Stack:
    """A stack moto created: its template, parameters, outputs and physical ids, and a
    resolver of template values against it, as CloudFormation resolves them."""

    def __init__(self, side, region, name, template, parameters, description, unsupported):
        self.side, self.region, self.name, self.template = side, region, name, template
        self.parameters = parameters
        self.description = description
        self.status = description["StackStatus"]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        self.unsupported = unsupported
        cfn = client("cloudformation", region)
        summaries = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        # moto lists a blank entry for each resource it does not model
        self.summaries = {r["LogicalResourceId"]: r for r in summaries if r.get("LogicalResourceId")}
        self.physical = {k: r.get("PhysicalResourceId") for k, r in self.summaries.items()}

    def wanted(self):
        """Logical id -> type of the resources whose condition holds."""
        return {k: v["Type"] for k, v in self.template["Resources"].items()
                if "Condition" not in v or self.condition(v["Condition"])}

    def parameter(self, name):
        if name in self.parameters:
            return self.parameters[name]
        return str(self.template["Parameters"][name].get("Default", ""))

    def condition(self, name):
        return self.evaluate(self.template["Conditions"][name])

    def evaluate(self, cond):
        if "Fn::Equals" in cond:
            a, b = (self.resolve(x) for x in cond["Fn::Equals"])
            return str(a) == str(b)
        if "Fn::Not" in cond:
            return not self.evaluate(cond["Fn::Not"][0])
        if "Condition" in cond:
            return self.condition(cond["Condition"])
        raise ValueError(f"condition not handled: {cond}")

    def ref(self, name):
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                  "AWS::StackName": self.name, "AWS::NoValue": NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        if name in self.template["Parameters"]:
            return self.parameter(name)
        return self.physical[name]

    def get_att(self, logical, attribute):
        kind, physical = self.template["Resources"][logical]["Type"], self.physical[logical]
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return client("sqs", self.region).get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return physical.rsplit("/", 1)[1]
        if kind == "AWS::Events::Rule" and attribute == "Arn":
            return client("events", self.region).describe_rule(Name=physical)["Arn"]
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return client("lambda", self.region).get_function_configuration(
                FunctionName=physical)["FunctionArn"]
        raise ValueError(f"Fn::GetAtt {logical}.{attribute} not handled")

    def resolve(self, value):
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Sub" and isinstance(arg, str):
                return self.substitute(arg)
            if key.startswith("Fn::"):
                raise ValueError(f"{key} not handled")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def substitute(self, text):
        out, rest = [], text
        while "${" in rest:
            before, _, rest = rest.partition("${")
            name, _, rest = rest.partition("}")
            out.append(before)
            if "." in name and not name.startswith("AWS::"):
                out.append(str(self.get_att(*name.split(".", 1))))
            else:
                out.append(str(self.ref(name)))
        return "".join(out) + rest


def deploy(side, region, name, template, parameters):
    """Creates the stack in moto; returns it as a Stack, with the types moto skipped."""
    MOTO_LOG.unsupported = set()
    description = create_stack(region, name, template, parameters)
    return Stack(side, region, name, template, parameters, description, set(MOTO_LOG.unsupported))


def create_skipped(stack):
    """Creates what moto's CloudFormation skipped, through the services' APIs, from the
    template's properties resolved against the stack. Returns the logical ids."""
    made = []
    for logical, kind in sorted(stack.wanted().items()):
        if kind not in MOTO_SKIPPED:
            continue
        props = stack.resolve(stack.template["Resources"][logical]["Properties"])
        if kind == "AWS::CloudWatch::Alarm":
            for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
                if key in props:
                    props[key] = int(props[key])
            props["Threshold"] = float(props["Threshold"])
            client("cloudwatch", stack.region).put_metric_alarm(
                AlarmName=f"{stack.name}-{logical}", **props)
        elif kind == "AWS::Lambda::EventInvokeConfig":
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
                if key in props:
                    props[key] = int(props[key])
            client("lambda", stack.region).put_function_event_invoke_config(**props)
        elif kind == "AWS::SQS::QueuePolicy":
            for url in props["Queues"]:
                client("sqs", stack.region).set_queue_attributes(
                    QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        made.append(logical)
    return made


def print_stack(stack, removed=(), removed_outputs=(), api_created=(), full_template=None):
    print(f"\n== {stack.name} ({stack.region}): {stack.status}")
    for logical, kind in sorted(stack.wanted().items(), key=lambda x: (x[1], x[0])):
        if logical in stack.physical:
            state = stack.summaries[logical]["ResourceStatus"]
        elif logical in api_created:
            state = "skipped by moto's CloudFormation; created by the test through the API"
        else:
            state = "NOT CREATED"
        print(f"  {kind:<34} {logical:<32} {state}")
    for logical in sorted(removed):
        print(f"  {full_template['Resources'][logical]['Type']:<34} {logical:<32} "
              "removed from the template before deploying")
    for output in sorted(removed_outputs):
        print(f"  {'(output)':<34} {output:<32} removed from the template before deploying")


# ----------------------------------------------------------------------------- tests


def policy_statements(document):
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            # moto answers GetRolePolicy for a role made by CloudFormation with the
            # Python repr of the document, not JSON.
            document = ast.literal_eval(document)
    return document["Statement"]


class MotoDeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if IMPORT_ERROR is not None:
            raise RuntimeError(f"{IMPORT_ERROR}: install deploy/tests/requirements.txt "
                               "(scripts/lint-templates.sh does)")
        # Fake credentials, and nothing that could send a request elsewhere than moto.
        cls.saved_env = dict(os.environ)
        for key in list(os.environ):
            if key.startswith("AWS_ENDPOINT_URL") or key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
                del os.environ[key]
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION=SOURCE_REGION,
                          AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported")
        logger = logging.getLogger("moto")
        logger.propagate = False
        logger.addHandler(MOTO_LOG)
        cls.mock = mock_aws()
        cls.mock.start()
        started = time.monotonic()
        print(f"moto {moto.__version__}, boto3 {boto3.__version__}, in process")

        upload(DESTINATION_REGION, {"applier": DESTINATION_PARAMETERS["ApplierCodeKey"],
                                    "reconciler": DESTINATION_PARAMETERS["ReconcilerCodeKey"]})
        upload(SOURCE_REGION, {"forwarder": SOURCE_PARAMETERS["ForwarderCodeKey"]})

        destination = load(os.path.join(DEPLOY, "destination-region.yaml"))
        cls.dst = deploy("destination", DESTINATION_REGION, "iot-crr-destination", destination,
                         DESTINATION_PARAMETERS)
        cls.dst_api_created = create_skipped(cls.dst)
        print_stack(cls.dst, api_created=cls.dst_api_created)

        cls.variant = deploy("destination", DESTINATION_REGION, "iot-crr-destination-provisioned",
                             destination, VARIANT_PARAMETERS)
        create_skipped(cls.variant)

        source = load(os.path.join(DEPLOY, "source-region.yaml"))
        cls.stream_arn = cls.dst.outputs.get(
            "StreamArn", f"arn:aws:kinesis:{DESTINATION_REGION}:{ACCOUNT}:stream/iot-crr-events")
        src_parameters = dict(SOURCE_PARAMETERS, DestinationStreamArn=cls.stream_arn)
        reduced, cls.removed, cls.removed_outputs = without(source, set(MOTO_REMOVED))
        cls.src = deploy("source", SOURCE_REGION, "iot-crr-source", reduced, src_parameters)
        cls.src_api_created = create_skipped(cls.src)
        print_stack(cls.src, cls.removed, cls.removed_outputs, cls.src_api_created, source)
        cls.source_template = source
        for kind, why in sorted(MOTO_REMOVED.items()):
            print(f"  removed {kind}: {why}")
        for (kind, prop), value in MOTO_IGNORED.items():
            print(f"  moto ignores {prop} of {kind} (reports {value!r})")
        print(f"\n(deployed in {time.monotonic() - started:.1f}s)")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "mock", None) is not None:
            cls.mock.stop()
        if hasattr(cls, "saved_env"):
            os.environ.clear()
            os.environ.update(cls.saved_env)

    # --- helpers

    def expect(self, kind, prop, actual, wanted):
        """actual == wanted, or, for a property moto ignores, moto's own value."""
        if (kind, prop) in MOTO_IGNORED:
            self.assertEqual(
                actual, MOTO_IGNORED[(kind, prop)],
                f"moto {moto.__version__} now reports {prop} of {kind} as {actual!r} (the "
                f"template asks for {wanted!r}): it honours it now; remove it from "
                "MOTO_IGNORED and deploy/README.md, and check it")
        else:
            self.assertEqual(actual, wanted, f"{kind} {prop}")

    def lam(self, stack):
        return client("lambda", stack.region)

    def function(self, stack, logical):
        return self.lam(stack).get_function_configuration(FunctionName=stack.physical[logical])

    def arn(self, stack, logical):
        return stack.get_att(logical, "Arn")

    def role_arn(self, stack, logical):
        return client("iam", stack.region).get_role(RoleName=stack.physical[logical])["Role"]["Arn"]

    def inline_statements(self, stack, role):
        iam = client("iam", stack.region)
        name = stack.physical[role]
        return {p: policy_statements(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]}

    def invoke_permissions(self, stack, logical):
        policy = json.loads(self.lam(stack).get_policy(FunctionName=stack.physical[logical])["Policy"])
        return {(st["Principal"]["Service"] if isinstance(st["Principal"], dict) else st["Principal"],
                 st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn"))
                for st in policy["Statement"]}

    # --- the stacks as a whole

    def test_moto_skips_exactly_the_known_types_and_creates_the_rest(self):
        for stack in (self.dst, self.variant, self.src):
            with self.subTest(stack=stack.name):
                self.assertEqual(stack.status, "CREATE_COMPLETE",
                                 stack.description.get("StackStatusReason"))
                wanted = stack.wanted()
                skipped = {t for t in wanted.values() if t in MOTO_SKIPPED}
                self.assertEqual(stack.unsupported, skipped,
                                 f"moto {moto.__version__}'s CloudFormation skips other types "
                                 "than MOTO_SKIPPED: update it and deploy/README.md")
                for logical, kind in wanted.items():
                    if kind in MOTO_SKIPPED:
                        self.assertNotIn(logical, stack.physical)
                    else:
                        self.assertEqual(stack.summaries[logical]["ResourceStatus"],
                                         "CREATE_COMPLETE", logical)

    def test_moto_refuses_the_source_template_as_it_is(self):
        region = "us-west-2"  # its own region: a refused stack may leave resources behind
        upload(region, {"forwarder": SOURCE_PARAMETERS["ForwarderCodeKey"]})
        source = load(os.path.join(DEPLOY, "source-region.yaml"))
        parameters = dict(SOURCE_PARAMETERS, ArtifactBucket=bucket(region),
                          DestinationStreamArn=self.stream_arn,
                          EnableRegistryEvents="false")  # the custom resource needs Docker
        try:
            stack = create_stack(region, "iot-crr-source-as-is", source, parameters)
        except ClientError as error:
            self.assertIn("RegistryEventsRule", str(error))
        else:
            self.fail(f"moto {moto.__version__} deployed the source template as it is "
                      f"({stack['StackStatus']}): it models AWS::IoT::TopicRule now; drop it "
                      "from MOTO_REMOVED and deploy/README.md, and check the rule")

    def test_only_the_unsupported_resources_and_what_refers_to_them_are_removed(self):
        self.assertEqual(self.removed, {"RegistryEventsRule", "RegistryEventsRulePermission",
                                        "RegistryEventConfiguration"})
        self.assertEqual(self.removed_outputs, {"RegistryEventsRuleName"})
        from moto.cloudformation.parsing import get_model_map

        for kind in MOTO_REMOVED:
            if not kind.startswith("Custom::"):
                self.assertNotIn(kind, get_model_map(), f"moto {moto.__version__} models {kind} now")

    def test_outputs(self):
        self.assertEqual(set(self.dst.outputs), set(self.dst.template["Outputs"]))
        stream = client("kinesis", DESTINATION_REGION).describe_stream_summary(
            StreamName="iot-crr-events")["StreamDescriptionSummary"]
        self.assertEqual(self.dst.outputs["StreamArn"], stream["StreamARN"])
        self.assertEqual(self.dst.outputs["StreamArn"],
                         f"arn:aws:kinesis:{DESTINATION_REGION}:{ACCOUNT}:stream/iot-crr-events")
        self.assertEqual(self.dst.outputs["StreamName"], "iot-crr-events")
        self.assertEqual(self.dst.outputs["StateTableName"], self.dst.physical["StateTable"])
        self.assertEqual(self.dst.outputs["DeadLetterQueueUrl"], self.dst.physical["DeadLetterQueue"])
        self.assertEqual(self.dst.outputs["StreamFailureQueueUrl"],
                         self.dst.physical["StreamFailureQueue"])
        self.assertEqual(self.dst.outputs["ApplierFunctionName"], self.dst.physical["ApplierFunction"])
        self.assertEqual(self.dst.outputs["ReconcilerFunctionName"],
                         self.dst.physical["ReconcilerFunction"])
        self.assertEqual(self.dst.outputs["AlarmTopicArn"], self.dst.physical["AlarmTopic"])
        self.assertNotIn("AlarmTopicArn", self.variant.outputs)
        self.assertEqual(set(self.src.outputs),
                         set(self.source_template["Outputs"]) - self.removed_outputs)
        self.assertEqual(self.src.outputs["ApiCallEventsRuleArn"],
                         self.arn(self.src, "ApiCallEventsRule"))
        self.assertEqual(self.src.outputs["ForwarderFunctionName"],
                         self.src.physical["ForwarderFunction"])

    # --- destination: stream, table, queues

    def test_stream(self):
        kinesis = client("kinesis", DESTINATION_REGION)
        d = kinesis.describe_stream_summary(StreamName="iot-crr-events")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamName"], "iot-crr-events")
        self.assertEqual(d["RetentionPeriodHours"], 48)
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        kind = "AWS::Kinesis::Stream"
        self.expect(kind, "StreamModeDetails", d.get("StreamModeDetails"), {"StreamMode": "ON_DEMAND"})
        self.expect(kind, "StreamEncryption", d.get("EncryptionType"), "KMS")
        self.assertEqual(d["OpenShardCount"], 1)  # ShardCount is left out for ON_DEMAND
        # PROVISIONED with ShardCount 3
        d = kinesis.describe_stream_summary(
            StreamName="iot-crr-events-provisioned")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        self.assertEqual(d["OpenShardCount"], 3)

    def test_state_table(self):
        ddb = client("dynamodb", DESTINATION_REGION)
        name = self.dst.physical["StateTable"]
        t = ddb.describe_table(TableName=name)["Table"]
        self.assertEqual(t["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"},
                                          {"AttributeName": "sk", "KeyType": "RANGE"}])
        self.assertEqual({(a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]},
                         {("pk", "S"), ("sk", "S"), ("lsi1_sk", "S")})
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        (lsi,) = t["LocalSecondaryIndexes"]
        self.assertEqual(lsi["IndexName"], "lsi1")
        self.assertEqual(lsi["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"},
                                            {"AttributeName": "lsi1_sk", "KeyType": "RANGE"}])
        self.assertEqual(lsi["Projection"], {"ProjectionType": "KEYS_ONLY"})
        self.assertEqual(t.get("GlobalSecondaryIndexes", []), [])
        kind = "AWS::DynamoDB::Table"
        self.expect(kind, "TimeToLiveSpecification",
                    ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
                    {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"})
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        self.expect(kind, "PointInTimeRecoverySpecification",
                    pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED")

    def test_queues(self):
        for stack, logical in [(self.dst, "DeadLetterQueue"), (self.dst, "StreamFailureQueue"),
                               (self.src, "ForwarderDeadLetterQueue")]:
            with self.subTest(queue=logical):
                attributes = client("sqs", stack.region).get_queue_attributes(
                    QueueUrl=stack.physical[logical], AttributeNames=["All"])["Attributes"]
                self.assertEqual(attributes["MessageRetentionPeriod"], "1209600")
                self.assertEqual(attributes["SqsManagedSseEnabled"], "true")
                self.assertNotIn("RedrivePolicy", attributes)

    # --- destination: functions

    def check_rust_function(self, stack, logical, code, environment):
        f = self.function(stack, logical)
        self.assertEqual(f["Runtime"], "provided.al2023")
        self.assertEqual(f["Handler"], "bootstrap")
        self.expect("AWS::Lambda::Function", "Architectures", f.get("Architectures"), ["arm64"])
        self.expect("AWS::Lambda::Function", "LoggingConfig",
                    (f.get("LoggingConfig") or {}).get("LogGroup"), stack.physical[logical.replace(
                        "Function", "LogGroup")])
        # The code is the zip of its own key.
        self.assertEqual(f["CodeSha256"],
                         base64.b64encode(hashlib.sha256(ZIPS[code]).digest()).decode())
        self.assertEqual(f["Role"], self.role_arn(stack, logical.replace("Function", "Role")))
        # moto passes a Number parameter on as a number (CloudFormation, as a string)
        self.assertEqual({k: str(v) for k, v in f["Environment"]["Variables"].items()}, environment)
        self.assertEqual(set(environment), RUST_FUNCTIONS[(stack.side, logical)])
        return f

    def test_applier_function(self):
        f = self.check_rust_function(self.dst, "ApplierFunction", "applier", {
            "IOT_CRR_SOURCE_REGION": SOURCE_REGION,
            "IOT_CRR_STATE_TABLE": self.dst.physical["StateTable"],
            "IOT_CRR_DEAD_LETTER_QUEUE_URL": self.dst.physical["DeadLetterQueue"],
            "IOT_CRR_REWRITE_ARNS": "true",
            "IOT_CRR_ARN_MAP": "{}",
            "IOT_CRR_STRICT_ARNS": "false",
            "IOT_CRR_CERT_STRATEGY": "without-ca",
            "IOT_CRR_QUOTAS": "default",
            "RUST_LOG": "info",
        })
        self.assertEqual(f["MemorySize"], 1024)
        self.assertEqual(f["Timeout"], 300)

    def test_reconciler_function(self):
        f = self.check_rust_function(self.dst, "ReconcilerFunction", "reconciler", {
            "IOT_CRR_SOURCE_REGION": SOURCE_REGION,
            "IOT_CRR_STATE_TABLE": self.dst.physical["StateTable"],
            "IOT_CRR_REWRITE_ARNS": "true",
            "IOT_CRR_ARN_MAP": "{}",
            "IOT_CRR_STRICT_ARNS": "false",
            "IOT_CRR_CERT_STRATEGY": "without-ca",
            "IOT_CRR_QUOTAS": "default",
            "IOT_CRR_PRUNE": "false",
            "IOT_CRR_MAX_DELETE": "100",
            "IOT_CRR_TIME_BUDGET_SECONDS": "840",
            "IOT_CRR_PASS_INTERVAL_MINUTES": "360",
            "IOT_CRR_READINESS": "on",
            "IOT_CRR_METRICS_NAMESPACE": "IotCrr",
        })
        self.assertEqual(f["Timeout"], 900)
        self.assertLess(int(f["Environment"]["Variables"]["IOT_CRR_TIME_BUDGET_SECONDS"]), f["Timeout"])
        self.assertEqual(f["MemorySize"], 512)
        concurrency = self.lam(self.dst).get_function_concurrency(
            FunctionName=self.dst.physical["ReconcilerFunction"])
        self.assertEqual(concurrency.get("ReservedConcurrentExecutions"), 1)
        # Not retried by Lambda (created by the test: moto skips AWS::Lambda::EventInvokeConfig)
        config = self.lam(self.dst).get_function_event_invoke_config(
            FunctionName=self.dst.physical["ReconcilerFunction"], Qualifier="$LATEST")
        self.assertEqual(config["MaximumRetryAttempts"], 0)
        # The variant turns readiness off, in a namespace of its own.
        variables = self.function(self.variant, "ReconcilerFunction")["Environment"]["Variables"]
        self.assertEqual((variables["IOT_CRR_READINESS"], variables["IOT_CRR_METRICS_NAMESPACE"]),
                         ("off", "IotCrr/provisioned"))

    def test_log_groups(self):
        for stack, logical in [(self.dst, "ApplierLogGroup"), (self.dst, "ReconcilerLogGroup"),
                               (self.src, "ForwarderLogGroup"), (self.src, "EventConfigurationLogGroup")]:
            with self.subTest(log_group=logical):
                groups = client("logs", stack.region).describe_log_groups(
                    logGroupNamePrefix=stack.physical[logical])["logGroups"]
                self.assertEqual([(g["logGroupName"], g.get("retentionInDays")) for g in groups],
                                 [(stack.physical[logical], int(stack.parameter("LogRetentionDays")))])

    def test_event_source_mapping(self):
        (m,) = self.lam(self.dst).list_event_source_mappings(
            FunctionName=self.dst.physical["ApplierFunction"])["EventSourceMappings"]
        self.assertEqual(self.dst.physical["ApplierEventSourceMapping"], m["UUID"])
        self.assertEqual(m["EventSourceArn"], self.dst.outputs["StreamArn"])
        self.assertEqual(m["FunctionArn"], self.arn(self.dst, "ApplierFunction"))
        self.assertEqual(m["StartingPosition"], "TRIM_HORIZON")
        self.assertEqual(m["BatchSize"], 200)
        self.assertEqual(m["MaximumBatchingWindowInSeconds"], 1)
        self.assertEqual(m["ParallelizationFactor"], 2)
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIs(m["BisectBatchOnFunctionError"], True)
        self.assertEqual(m["MaximumRetryAttempts"], 5)
        self.assertEqual(m["MaximumRecordAgeInSeconds"], 3600)
        self.assertEqual(m["DestinationConfig"],
                         {"OnFailure": {"Destination": self.arn(self.dst, "StreamFailureQueue")}})
        self.assertEqual(m["State"], "Enabled")

    def test_roles(self):
        stream = self.dst.outputs["StreamArn"]
        table = client("dynamodb", DESTINATION_REGION).describe_table(
            TableName=self.dst.physical["StateTable"])["Table"]["TableArn"]
        queues = {self.arn(self.dst, "DeadLetterQueue"), self.arn(self.dst, "StreamFailureQueue")}
        (apply,) = self.inline_statements(self.dst, "ApplierRole").values()
        by_sid = {st["Sid"]: st for st in apply}
        self.assertEqual(by_sid["ReadTheStream"]["Resource"], stream)
        self.assertEqual(set(by_sid["State"]["Resource"]), {table, f"{table}/index/lsi1"})
        self.assertEqual(set(by_sid["DeadLetters"]["Resource"]), queues)
        self.assertTrue(by_sid["Logs"]["Resource"].startswith(
            f"arn:aws:logs:{DESTINATION_REGION}:{ACCOUNT}:log-group:{self.dst.physical['ApplierLogGroup']}"))
        # The AWS IoT access, one managed policy on both roles, region by region.
        iam = client("iam", DESTINATION_REGION)
        policy_arn = self.dst.physical["IotRegistryAccessPolicy"]
        for role in ("ApplierRole", "ReconcilerRole"):
            attached = iam.list_attached_role_policies(RoleName=self.dst.physical[role])
            self.assertEqual([p["PolicyArn"] for p in attached["AttachedPolicies"]], [policy_arn])
        version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
        by_sid = {st.get("Sid"): st for st in policy_statements(document)}
        self.assertIn(f"arn:aws:iot:{SOURCE_REGION}:{ACCOUNT}:thing/*", by_sid["SourceRead"]["Resource"])
        self.assertIn(f"arn:aws:iot:{DESTINATION_REGION}:{ACCOUNT}:thing/*", by_sid["TargetWrite"]["Resource"])
        self.assertTrue(all(r.startswith(f"arn:aws:iot:{SOURCE_REGION}:{ACCOUNT}:")
                            for r in by_sid["SourceRead"]["Resource"]))

    def test_reconcile_schedule(self):
        events = client("events", DESTINATION_REGION)
        for stack, state in [(self.dst, "ENABLED"), (self.variant, "DISABLED")]:
            with self.subTest(stack=stack.name):
                name = stack.physical["ReconcileScheduleRule"]
                rule = events.describe_rule(Name=name)
                self.assertEqual(rule["ScheduleExpression"], "rate(15 minutes)")
                self.assertEqual(rule["State"], state)
                (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
                self.assertEqual(target["Arn"], self.arn(stack, "ReconcilerFunction"))
                self.assertIn(("events.amazonaws.com", rule["Arn"]),
                              self.invoke_permissions(stack, "ReconcilerFunction"))

    def check_alarms(self, stack, count, topic):
        """The alarms (created by the test: moto skips AWS::CloudWatch::Alarm) watch this
        stack's resources and notify its topic."""
        cw, region = client("cloudwatch", stack.region), stack.region
        names = {f"{stack.name}-{logical}" for logical in stack.template["Resources"]}
        alarms = [a for a in cw.describe_alarms(AlarmNamePrefix=stack.name + "-")["MetricAlarms"]
                  if a["AlarmName"] in names]
        self.assertEqual(len(alarms), count)
        for a in alarms:
            with self.subTest(alarm=a["AlarmName"]):
                self.assertEqual(a["AlarmActions"], [topic] if topic else [])
                self.assertEqual(a["OKActions"], [topic] if topic else [])
                if not a["Dimensions"]:
                    # The reconciler's own metric (EMF), in the stack's namespace.
                    self.assertEqual((a["Namespace"], a["MetricName"]),
                                     (stack.parameter("MetricsNamespace"), "DevicesNotReady"))
                    self.assertEqual((a["Statistic"], a["Period"], a["EvaluationPeriods"],
                                      a["Threshold"], a["ComparisonOperator"],
                                      a["TreatMissingData"]),
                                     ("Maximum", int(stack.parameter("ReadinessAlarmPeriodSeconds")),
                                      1, 0.0, "GreaterThanThreshold", "notBreaching"))
                    continue
                (dimension,) = a["Dimensions"]
                name, value = dimension["Name"], dimension["Value"]
                if name == "FunctionName":
                    client("lambda", region).get_function(FunctionName=value)
                elif name == "QueueName":
                    client("sqs", region).get_queue_url(QueueName=value)
                elif name == "StreamName":
                    client("kinesis", region).describe_stream_summary(StreamName=value)
                else:
                    self.fail(f"unexpected dimension {name}")
                watched = {stack.get_att(logical, "QueueName") if kind == "AWS::SQS::Queue"
                           else stack.physical[logical]
                           for logical, kind in stack.wanted().items() if logical in stack.physical}
                self.assertIn(value, watched, "the alarm watches a resource of its own stack")
        if topic:
            subs = client("sns", region).list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            self.assertEqual([(s["Protocol"], s["Endpoint"]) for s in subs], [("email", "ops@example.com")])
        return {(a["Namespace"], a["MetricName"]) for a in alarms}

    def test_alarms(self):
        # moto's CloudFormation made none of them
        self.assertIn("AWS::CloudWatch::Alarm", self.dst.unsupported)
        metrics = self.check_alarms(self.dst, 9, self.dst.physical["AlarmTopic"])
        self.assertEqual(metrics, {("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
                                   ("AWS/Lambda", "IteratorAge"), ("AWS/Lambda", "Errors"),
                                   ("AWS/Lambda", "Throttles"),
                                   ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
                                   ("IotCrr", "DevicesNotReady")})
        # ReadinessMetrics=off: no readiness alarm.
        metrics = self.check_alarms(self.variant, 8, None)
        self.assertNotIn(("IotCrr/provisioned", "DevicesNotReady"), metrics)
        metrics = self.check_alarms(self.src, 3, self.src.physical["AlarmTopic"])
        self.assertEqual(metrics, {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"),
                                   ("AWS/SQS", "ApproximateNumberOfMessagesVisible")})

    # --- source

    def test_forwarder_function(self):
        f = self.check_rust_function(self.src, "ForwarderFunction", "forwarder", {
            "IOT_CRR_STREAM_NAME": "iot-crr-events",
            "IOT_CRR_STREAM_REGION": DESTINATION_REGION,
            "IOT_CRR_AGGREGATE": "true",
        })
        self.assertEqual((f["MemorySize"], f["Timeout"]), (128, 30))
        # Failed asynchronous invocations go to the dead-letter queue (created by the
        # test: moto skips AWS::Lambda::EventInvokeConfig).
        config = self.lam(self.src).get_function_event_invoke_config(
            FunctionName=self.src.physical["ForwarderFunction"], Qualifier="$LATEST")
        self.assertEqual(config["DestinationConfig"]["OnFailure"]["Destination"],
                         self.arn(self.src, "ForwarderDeadLetterQueue"))
        self.assertEqual((config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]),
                         (2, 21600))

    def test_forwarder_may_only_put_records_into_the_one_stream(self):
        policies = self.inline_statements(self.src, "ForwarderRole")
        statements = [st for sts in policies.values() for st in sts]
        kinesis = [st for st in statements
                   if any(a.startswith("kinesis:") for a in
                          (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))]
        self.assertEqual(len(kinesis), 1)
        self.assertEqual(kinesis[0]["Action"], "kinesis:PutRecords")
        self.assertEqual(kinesis[0]["Resource"], self.stream_arn)
        self.assertEqual(kinesis[0]["Effect"], "Allow")
        self.assertEqual(self.stream_arn, self.dst.outputs["StreamArn"])
        attached = client("iam", SOURCE_REGION).list_attached_role_policies(
            RoleName=self.src.physical["ForwarderRole"])["AttachedPolicies"]
        self.assertEqual(attached, [])
        others = {a for st in statements if st not in kinesis
                  for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
        self.assertEqual(others, {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"})

    def test_api_call_rule(self):
        events = client("events", SOURCE_REGION)
        name = self.src.physical["ApiCallEventsRule"]
        rule = events.describe_rule(Name=name)
        self.assertEqual(rule["State"], "ENABLED")
        pattern = json.loads(rule["EventPattern"])
        self.assertEqual(pattern, self.src.template["Resources"]["ApiCallEventsRule"]
                         ["Properties"]["EventPattern"])
        self.assertEqual(pattern["source"], ["aws.iot"])
        self.assertEqual(pattern["detail-type"], ["AWS API Call via CloudTrail"])
        self.assertEqual(pattern["detail"]["eventSource"], ["iot.amazonaws.com"])
        self.assertEqual(pattern["detail"]["errorCode"], [{"exists": False}])
        self.assertEqual(set(pattern["detail"]["eventName"]), API_CALLS)
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        self.assertEqual(target["Arn"], self.arn(self.src, "ForwarderFunction"))
        self.assertEqual(target["RetryPolicy"],
                         {"MaximumRetryAttempts": 20, "MaximumEventAgeInSeconds": 21600})
        self.assertEqual(target["DeadLetterConfig"]["Arn"], self.arn(self.src, "ForwarderDeadLetterQueue"))
        self.assertIn(("events.amazonaws.com", rule["Arn"]),
                      self.invoke_permissions(self.src, "ForwarderFunction"))
        # Its dead letters may be sent by that rule only (the queue policy, created by
        # the test: moto skips AWS::SQS::QueuePolicy).
        policy = client("sqs", SOURCE_REGION).get_queue_attributes(
            QueueUrl=self.src.physical["ForwarderDeadLetterQueue"],
            AttributeNames=["Policy"])["Attributes"]["Policy"]
        (st,) = policy_statements(policy)
        self.assertEqual(st["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(st["Resource"], self.arn(self.src, "ForwarderDeadLetterQueue"))
        self.assertEqual(st["Condition"], {"ArnEquals": {"aws:SourceArn": rule["Arn"]}})

    def test_event_configuration_function(self):
        # The custom resource is removed (moto would run it in Docker); its function is made.
        f = self.function(self.src, "EventConfigurationFunction")
        self.assertEqual((f["Runtime"], f["Handler"]), ("python3.13", "index.handler"))
        (document,) = self.inline_statements(self.src, "EventConfigurationRole").values()
        iot = [st for st in document if st["Action"] == "iot:UpdateEventConfigurations"]
        self.assertEqual(len(iot), 1)
        self.assertEqual(iot[0]["Condition"], {"StringEquals": {"aws:RequestedRegion": SOURCE_REGION}})

    def test_rule_error_action_role(self):
        iam = client("iam", SOURCE_REGION)
        role = iam.get_role(RoleName=self.src.physical["RuleErrorActionRole"])["Role"]
        (st,) = policy_statements(role["AssumeRolePolicyDocument"])
        self.assertEqual(st["Principal"], {"Service": "iot.amazonaws.com"})
        (document,) = self.inline_statements(self.src, "RuleErrorActionRole").values()
        self.assertEqual([(s["Action"], s["Resource"]) for s in document],
                         [("sqs:SendMessage", self.arn(self.src, "ForwarderDeadLetterQueue"))])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(MotoDeployTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"deployment: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
