#!/usr/bin/env python3
"""Write the --env-vars file that points `sam local invoke` and `sam local start-api` at a deployed stack.

    .venv/bin/python scripts/sam_local_env.py --stack-name image-processing > env.json
    aws cloudformation describe-stacks --stack-name image-processing > answer.json
    .venv/bin/python scripts/sam_local_env.py --describe-stacks answer.json > env.json
    .venv/bin/python scripts/sam_local_env.py --stack-name image-processing --events deployed-events > env.json
    sam local invoke UploadFunction -e events/upload_post_image.json --env-vars env.json --region <stack's region>

sam local runs the functions in Docker with template.yaml's environment, but resolves what only a deploy
knows (the bucket names, made from the stack's id or by CloudFormation) to placeholders, and the parameters to
their defaults. This script reads the stack's outputs and parameters (CloudFormation's DescribeStacks answer)
and gives every environment variable of the template its deployed value: a variable that is a parameter
(`!Ref Param`) takes the stack's value of that parameter; a variable naming a resource (`!Ref Bucket`, or the
bucket's own name expression) takes the value of the output that names that resource. Variables that are
literals are left to the template. The origin secret (ORIGIN_SECRET, what CloudFront sends the API) is not the
deployed one but the X-Origin-Verify value the sample events of events/ carry: sam local's requests do not come
through CloudFront, so they carry what the events (or a `curl -H` to `sam local start-api`) send. The file maps
"Parameters" (every function) and any function with variables of its own to their values, the format
`--env-vars` reads."""

import argparse
import json
import sys
from pathlib import Path

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"
EVENTS_DIR = TEMPLATE_PATH.parent / "events"
ORIGIN_HEADER = "x-origin-verify"
FUNCTION_TYPE = "AWS::Serverless::Function"


class StackError(ValueError):
    pass


def load_template(path: Path = TEMPLATE_PATH) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def env_vars(template: dict, stack: dict) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The --env-vars content for `stack` (one entry of DescribeStacks' Stacks), and the variables that are
    neither literals nor derivable from the stack's answer (sam local keeps its own value for those)."""
    parameters = {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue"))
                  for p in stack.get("Parameters", [])}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = template["Resources"]
    output_of = {}  # a resource's logical id -> the value of the output that names it
    for key, output in template.get("Outputs", {}).items():
        if key in outputs and isinstance(output.get("Value"), dict) and set(output["Value"]) == {"Ref"}:
            output_of[output["Value"]["Ref"]] = outputs[key]
    unknown: list[str] = []

    def deployed(name: str, value) -> str | None:
        if not isinstance(value, dict):
            return None  # a literal: the template's own value is the deployed one
        if "{{resolve:secretsmanager:" in json.dumps(value):
            return events_origin_secret()
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if value == {"Ref": "AWS::StackName"}:
            return stack["StackName"]
        logical_id = value["Ref"] if set(value) == {"Ref"} else next(
            (logical_id for logical_id, resource in resources.items()
             if resource.get("Properties", {}).get("BucketName") == value), None)
        if logical_id in output_of:
            return output_of[logical_id]
        same = [key for key, output in template.get("Outputs", {}).items() if output.get("Value") == value]
        if same and same[0] in outputs:  # an output spelled as the variable is (e.g. the sign-in settings)
            return outputs[same[0]]
        unknown.append(name)
        return None

    def resolved(variables: dict) -> dict[str, str]:
        values = {name: deployed(name, value) for name, value in variables.items()}
        return {name: value for name, value in values.items() if value is not None}

    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    result = {"Parameters": resolved(globals_)}
    for logical_id, resource in resources.items():
        own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if resource["Type"] == FUNCTION_TYPE and own:
            result[logical_id] = resolved(own)
    return result, sorted(set(unknown))




def events_origin_secret(events_dir: Path = EVENTS_DIR) -> str:
    """The X-Origin-Verify value the HTTP API events of events/ carry (they all carry the same one)."""
    values = set()
    for path in events_dir.glob("*.json"):
        event = json.loads(path.read_text())
        if isinstance(event, dict) and " /api" in event.get("routeKey", ""):
            values.add(event.get("headers", {}).get(ORIGIN_HEADER))
    if len(values) != 1 or None in values:
        raise StackError(f"the HTTP API events of {events_dir} must all carry one {ORIGIN_HEADER} header")
    return values.pop()


def deployed_events(stack: dict, events_dir: Path = EVENTS_DIR) -> dict[str, dict]:
    """The S3-triggered events of events/ (file name -> event) as the deployed stack's bucket sends them:
    ProcessFunction reads the bucket from the event, and the samples name the local stack's. The key stays the
    sample's: upload an original under it first (or change it), or ProcessFunction finds nothing to do."""
    variables, _ = env_vars(load_template(), stack)
    bucket = variables["Parameters"].get("STORED_IMAGES_BUCKET")
    if not bucket:
        raise StackError("the stack's answer does not name the stored-images bucket")
    events = {}
    for path in sorted(events_dir.glob("*.json")):
        event = json.loads(path.read_text())
        records = event.get("Records") if isinstance(event, dict) else None
        if not records or not all(record.get("eventSource") == "aws:s3" for record in records):
            continue
        for record in records:
            if not record["s3"]["bucket"]["name"].startswith("stored-images-"):
                raise StackError(f"{path.name} names a bucket other than stored-images-…, which is all S3 triggers")
            record["s3"]["bucket"]["name"] = bucket
            record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
            record["awsRegion"] = stack_region(stack)
        events[path.name] = event
    return events


def stack_region(stack: dict) -> str:
    return stack["StackId"].split(":")[3]


def describe_stack(stack_name: str, region: str | None, profile: str | None) -> dict:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    cloudformation = boto3.Session(region_name=region, profile_name=profile).client("cloudformation")
    try:
        return cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except (ClientError, BotoCoreError) as error:
        raise StackError(f"describing stack {stack_name} failed: {error}") from error


def read_answer(path: str) -> dict:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    stacks = json.loads(text).get("Stacks", [])
    if len(stacks) != 1:
        raise StackError(f"the DescribeStacks answer holds {len(stacks)} stacks; name one with --stack-name")
    return stacks[0]


def main(argv: list[str] | None = None, describe=describe_stack) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-name", help="ask CloudFormation for this stack (your AWS credentials)")
    source.add_argument("--describe-stacks", metavar="FILE",
                        help="a saved `aws cloudformation describe-stacks` answer, or - for standard input")
    parser.add_argument("--region", help="the stack's region (with --stack-name)")
    parser.add_argument("--profile", help="the AWS profile to use (with --stack-name)")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--events", type=Path, metavar="DIR",
                        help="also write events/'s S3 events with the stack's bucket and region into DIR")
    args = parser.parse_args(argv)
    try:
        stack = (describe(args.stack_name, args.region, args.profile) if args.stack_name
                 else read_answer(args.describe_stacks))
        variables, unknown = env_vars(load_template(args.template), stack)
        if args.events:
            args.events.mkdir(parents=True, exist_ok=True)
            for name, event in deployed_events(stack).items():
                (args.events / name).write_text(json.dumps(event, indent=2) + "\n")
    except (StackError, OSError, json.JSONDecodeError) as error:
        print(f"sam_local_env: {error}", file=sys.stderr)
        return 1
    json.dump(variables, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()
    if unknown:
        print(f"sam_local_env: left to sam local (no parameter or output gives them): {', '.join(unknown)}",
              file=sys.stderr)
    if any("ORIGIN_SECRET" in names for names in variables.values()):
        print(f"sam_local_env: ORIGIN_SECRET is the sample events' {ORIGIN_HEADER}, not the deployed secret: "
              f"events/ carry it; with sam local start-api send it yourself "
              f"(curl -H '{ORIGIN_HEADER}: {events_origin_secret()}' ...)", file=sys.stderr)
    print(f"sam_local_env: stack {stack['StackName']} is in {stack_region(stack)}: "
          f"run sam local with --region {stack_region(stack)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
