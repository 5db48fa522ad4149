#!/usr/bin/env python3
"""Deploys both templates to a moto server and prints what moto made of each resource.

Not part of CI: moto's CloudFormation covers only some resource types (deploy/README.md
records the findings). Run by hand:

  python3 scripts/moto_server.py -H 127.0.0.1 -p 5066 &
  python3 deploy/tests/moto_deploy.py http://127.0.0.1:5066 [true|false]
  kill %1

The second argument is the source stack's EnableRegistryEvents (default false: moto
runs a custom resource's function only in Docker). Needs boto3 (moto[server] brings it).
Exits 0 only when both stacks are created as they are, which moto 5.2.1 cannot do (it
has no AWS::IoT::TopicRule); the source template is then deployed once more without the
rule, to see the rest.
"""

import io
import json
import os
import sys
import time
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)
SOURCE_REGION, DESTINATION_REGION = "us-east-1", "eu-west-1"


def client(service, region, endpoint):
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def fake_zip():
    """A zip with a bootstrap file: enough for moto to create a function (never run)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
    return buf.getvalue()


def upload(endpoint, region, bucket, keys):
    s3 = client("s3", region, endpoint)
    config = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **config)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=fake_zip())


def deploy(endpoint, region, name, body, parameters):
    cfn = client("cloudformation", region, endpoint)
    try:
        cfn.create_stack(StackName=name, TemplateBody=body,
                         Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                     for k, v in parameters.items()],
                         Capabilities=["CAPABILITY_IAM"])
    except cfn.exceptions.ClientError as error:
        print(f"\n== {name} ({region}): refused: {error}")
        return "REFUSED", {}
    for _ in range(120):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(1)
    print(f"\n== {name} ({region}): {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    named = set()
    for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]:
        if not r.get("LogicalResourceId"):
            continue  # moto lists a blank entry for each resource type it does not model
        named.add(r["LogicalResourceId"])
        print(f"  {r['ResourceType']:<38} {r['LogicalResourceId']:<32} "
              f"{r['ResourceStatus']:<16} {r.get('PhysicalResourceId', '')[:60]}")
    template = json.loads(body)
    missing = sorted(f"{v['Type']} {k}" for k, v in template["Resources"].items()
                     if k not in named and _condition_holds(template, v, parameters))
    for m in missing:
        print(f"  not created by moto: {m}")
    for e in cfn.describe_stack_events(StackName=name)["StackEvents"]:
        if "FAILED" in e["ResourceStatus"]:
            print(f"  failed: {e['LogicalResourceId']}: {e.get('ResourceStatusReason')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print("  outputs:", json.dumps(outputs))
    return stack["StackStatus"], outputs


def _condition_holds(template, resource, parameters):
    """Whether a resource's Condition is true, for the simple conditions of these templates."""
    name = resource.get("Condition")
    if not name:
        return True
    return _evaluate(template["Conditions"][name], template, parameters)


def _evaluate(cond, template, parameters):
    if "Fn::Equals" in cond:
        a, b = (_value(x, template, parameters) for x in cond["Fn::Equals"])
        return a == b
    if "Fn::Not" in cond:
        return not _evaluate(cond["Fn::Not"][0], template, parameters)
    if "Condition" in cond:
        return _evaluate(template["Conditions"][cond["Condition"]], template, parameters)
    raise ValueError(cond)


def _value(x, template, parameters):
    if isinstance(x, dict) and "Ref" in x:
        default = template["Parameters"][x["Ref"]].get("Default")
        return str(parameters.get(x["Ref"], default))
    return str(x)


def load_json(template):
    """The template in long form (JSON): the test's loader reads the short-form tags."""
    sys.path.insert(0, HERE)
    from test_templates import load
    return load(os.path.join(DEPLOY, template))


def without(template, types):
    """The template less the resources of these types and whatever refers to them."""
    gone = {k for k, v in template["Resources"].items() if v["Type"] in types}
    while True:
        more = {k for k, v in template["Resources"].items()
                if k not in gone and any(_refers(v, g) for g in gone)}
        if not more:
            break
        gone |= more
    template = dict(template)
    template["Resources"] = {k: v for k, v in template["Resources"].items() if k not in gone}
    template["Outputs"] = {k: v for k, v in template.get("Outputs", {}).items()
                           if not any(_refers(v, g) for g in gone)}
    return template, sorted(gone)


def _refers(value, name):
    text = json.dumps(value)
    return (f'{{"Ref": "{name}"}}' in text or f'["{name}", ' in text
            or "${" + name + "}" in text or "${" + name + "." in text)


def report(endpoint):
    """What moto holds after the stacks: the settings that matter, service by service."""
    lam = client("lambda", DESTINATION_REGION, endpoint)
    print("\n== what moto holds (destination region)")
    for m in lam.list_event_source_mappings()["EventSourceMappings"]:
        print("  event source mapping:", json.dumps({k: m.get(k) for k in [
            "StartingPosition", "BatchSize", "ParallelizationFactor", "FunctionResponseTypes",
            "BisectBatchOnFunctionError", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
            "DestinationConfig", "State"]}))
    for f in lam.list_functions()["Functions"]:
        print(f"  function {f['FunctionName']}: runtime {f.get('Runtime')}, architectures "
              f"{f.get('Architectures')}, timeout {f.get('Timeout')}, logging {f.get('LoggingConfig')}")
    ddb = client("dynamodb", DESTINATION_REGION, endpoint)
    for t in ddb.list_tables()["TableNames"]:
        ttl = ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"]
        pitr = ddb.describe_continuous_backups(TableName=t)["ContinuousBackupsDescription"]
        print(f"  table {t}: TTL {ttl}, PITR "
              f"{pitr['PointInTimeRecoveryDescription']['PointInTimeRecoveryStatus']}")
    kin = client("kinesis", DESTINATION_REGION, endpoint)
    for name in kin.list_streams()["StreamNames"]:
        d = kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        print(f"  stream {name}: mode {d.get('StreamModeDetails')}, encryption "
              f"{d.get('EncryptionType')}, shards {d.get('OpenShardCount')}")
    cw = client("cloudwatch", DESTINATION_REGION, endpoint)
    print(f"  alarms: {len(cw.describe_alarms()['MetricAlarms'])}")


def main():
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5066"
    registry_events = sys.argv[2] if len(sys.argv) > 2 else "false"
    upload(endpoint, DESTINATION_REGION, "iot-crr-artifacts-eu",
           ["iot-crr/applier.zip", "iot-crr/reconciler.zip"])
    upload(endpoint, SOURCE_REGION, "iot-crr-artifacts-us", ["iot-crr/forwarder.zip"])
    dst_params = {"SourceRegion": SOURCE_REGION, "ArtifactBucket": "iot-crr-artifacts-eu",
                  "AlarmEmail": "ops@example.com"}
    dst_status, outputs = deploy(endpoint, DESTINATION_REGION, "iot-crr-destination",
                                 json.dumps(load_json("destination-region.yaml")), dst_params)
    stream_arn = outputs.get("StreamArn") or (
        f"arn:aws:kinesis:{DESTINATION_REGION}:123456789012:stream/iot-crr-events")
    src_params = {"DestinationStreamArn": stream_arn, "ArtifactBucket": "iot-crr-artifacts-us",
                  "EnableRegistryEvents": registry_events, "AlarmEmail": "ops@example.com"}
    source = load_json("source-region.yaml")
    src_status, _ = deploy(endpoint, SOURCE_REGION, "iot-crr-source", json.dumps(source),
                           src_params)
    if src_status != "CREATE_COMPLETE":
        # moto has no AWS::IoT::TopicRule: deploy the rest to see what else it makes.
        reduced, gone = without(source, {"AWS::IoT::TopicRule"})
        print(f"\n(again without {', '.join(gone)})")
        deploy(endpoint, SOURCE_REGION, "iot-crr-source-without-topic-rule",
               json.dumps(reduced), src_params)
    report(endpoint)
    ok = dst_status == src_status == "CREATE_COMPLETE"
    print("\nboth stacks created" if ok else "\nnot both stacks were created as they are")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
