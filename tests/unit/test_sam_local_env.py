"""scripts/sam_local_env.py over a DescribeStacks answer (tests/data/describe-stacks.json, in the shape the AWS
CLI prints; botocore's model checks that shape below): the --env-vars file sam local needs to reach a deployed
stack's buckets with the stack's own parameter values."""

import copy
import datetime
import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from testkit.events import events_origin_secret

ROOT = Path(__file__).resolve().parents[2]
ANSWER_PATH = ROOT / "tests" / "data" / "describe-stacks.json"
UUID = "8f14e45f-ceea-4e7a-a1b2-3c4d5e6f7a8b"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("sam_local_env", ROOT / "scripts" / "sam_local_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def answer() -> dict:
    return json.loads(ANSWER_PATH.read_text())


def test_every_variable_gets_the_deployed_stack_s_value(script, answer):
    variables, unknown = script.env_vars(script.load_template(), answer["Stacks"][0])
    assert unknown == []
    assert variables == {"Parameters": {
        "STORED_IMAGES_BUCKET": f"stored-images-{UUID}",
        "PROCESSED_IMAGES_BUCKET": "image-processing-processedimagesbucket-q1w2e3r4t5y6",
        # the stack's parameter values, not the template's defaults
        "VARIANTS": "large=1600,thumb=320", "DEFAULT_QUALITY": "80", "URL_EXPIRES_SECONDS": "600",
        "LARGE_UPLOAD_MAX_BYTES": "104857600", "LOG_LEVEL": "DEBUG",
        "DIRECT_UPLOAD_MAX_BYTES": "4194304", "MAX_PIXELS": "50000000", "PROCESSING_TIMEOUT_SECONDS": "900",
        "AUTH_MODE": "cognito", "IMAGE_WIDTHS": "320,640,1280", "VARIANTS_EXPIRE_DAYS": "30", "TRACING": "true",
        "POWERTOOLS_SERVICE_NAME": "image-processing",
    }, "PresignFunction": {
        "AUTH_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1",
        "AUTH_CLIENT_ID": "4tq0v1example7m3q2t8a5fh1b",
        "AUTH_SIGN_IN_URL": "https://sign-in-8f14e45f-ceea-4e7a-a1b2-3c4d5e6f7a8b.auth.us-east-1.amazoncognito.com",
        "ORIGIN_SECRET": events_origin_secret(),
    }, "UploadFunction": {"ORIGIN_SECRET": events_origin_secret()},
        "DeleteFunction": {"ORIGIN_SECRET": events_origin_secret()},
        "InvalidateFunction": {"DISTRIBUTION_ID": "E1A2B3C4D5E6F7"}, "SessionFunction": {
        "ORIGIN_SECRET": events_origin_secret(),
        "EDGE_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
        "EDGE_SIGNING_KEY": "arn:aws:secretsmanager:us-east-1:123456789012:secret:EdgeSigningKey-Ab12Cd34Ef56-x1Y2z3",
    }}


def test_the_origin_secret_is_the_one_the_sample_events_send_and_sam_local_users_are_told(script, capsys):
    """sam local's requests skip CloudFront: the API functions must expect what the events carry (a deployed
    secret would refuse every sample event, 403), and whoever calls sam local start-api must learn the header."""
    assert script.events_origin_secret() == events_origin_secret()
    assert script.main(["--describe-stacks", str(ANSWER_PATH)]) == 0
    err = capsys.readouterr().err
    assert f"x-origin-verify: {events_origin_secret()}" in err


def test_every_variable_the_template_computes_is_covered(script):
    """A variable that is an expression (a parameter, a bucket) must come from the stack, or sam local would run
    against a placeholder; only literals are left to the template."""
    template = script.load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    computed = {name for name, value in variables.items() if isinstance(value, dict)}
    env, unknown = script.env_vars(template, json.loads(ANSWER_PATH.read_text())["Stacks"][0])
    assert unknown == [] and set(env["Parameters"]) == computed


def test_a_variable_no_output_gives_is_reported(script, answer):
    stack = copy.deepcopy(answer["Stacks"][0])
    stack["Outputs"] = [o for o in stack["Outputs"] if o["OutputKey"] != "ProcessedImagesBucketName"]
    variables, unknown = script.env_vars(script.load_template(), stack)
    assert unknown == ["PROCESSED_IMAGES_BUCKET"]
    assert "PROCESSED_IMAGES_BUCKET" not in variables["Parameters"]


def test_the_recorded_answer_has_describe_stacks_shape_and_the_cli_reads_it(script, answer, capsys):
    client = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    response = copy.deepcopy(answer)
    for stack in response["Stacks"]:
        for key in ("CreationTime", "LastUpdatedTime"):
            stack[key] = datetime.datetime.fromisoformat(stack[key])
    with Stubber(client) as stubber:
        stubber.add_response("describe_stacks", response, {"StackName": "image-processing"})  # validates shape
        code = script.main(["--stack-name", "image-processing"], describe=lambda name, region, profile:
                           client.describe_stacks(StackName=name)["Stacks"][0])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["Parameters"]["STORED_IMAGES_BUCKET"] == f"stored-images-{UUID}"
    assert "--region eu-west-1" in err

    assert script.main(["--describe-stacks", str(ANSWER_PATH)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out)


def test_an_answer_without_one_stack_is_refused_with_a_reason(script, tmp_path, capsys):
    empty = tmp_path / "answer.json"
    empty.write_text('{"Stacks": []}')
    assert script.main(["--describe-stacks", str(empty)]) == 1
    assert "holds 0 stacks" in capsys.readouterr().err


def test_the_s3_events_are_written_for_the_deployed_bucket(script, tmp_path, capsys):
    """ProcessFunction reads the bucket from the event, and events/ names the local stack's: replayed against a
    deployed stack as they are, they would read a bucket that is not the stack's."""
    out = tmp_path / "deployed-events"
    assert script.main(["--describe-stacks", str(ANSWER_PATH), "--events", str(out)]) == 0
    capsys.readouterr()
    written = {path.name: json.loads(path.read_text()) for path in out.glob("*.json")}
    samples = {path.name for path in (ROOT / "events").glob("*.json") if '"aws:s3"' in path.read_text()}
    assert set(written) == samples and {"process_put.json", "process_key_with_spaces.json"} <= samples
    for name, event in written.items():
        original = json.loads((ROOT / "events" / name).read_text())
        (record,) = event["Records"]
        assert record["s3"]["bucket"]["name"] == f"stored-images-{UUID}"
        assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::stored-images-{UUID}"
        assert record["awsRegion"] == "eu-west-1"
        assert record["s3"]["object"] == original["Records"][0]["s3"]["object"]  # the key as S3 sends it
        assert original["Records"][0]["s3"]["bucket"]["name"] != record["s3"]["bucket"]["name"]
