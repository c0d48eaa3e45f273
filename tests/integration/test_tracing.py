"""Tracing=true: ProcessFunction's handler, run as Lambda runs it with active tracing (a trace header in the
environment, the X-Ray daemon's address), sends its subsegments; Tracing=false loads no X-Ray SDK at all.

Each case runs in a fresh interpreter: Powertools' Tracer patches botocore for the whole process. The
"daemon" is a UDP socket of this test on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from devstack.cfn.template import read_stack

ROOT = Path(__file__).resolve().parents[2]
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
IMAGE_ID = "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"  # events/process_put.json's

CHILD = """
import json, sys
from urllib.parse import quote_plus
import boto3
from moto import mock_aws
from devstack.lambda_.functions import LambdaContext, load_handler
from devstack.cfn.template import read_stack
from testkit.images import gradient_photo

function = read_stack({"Tracing": sys.argv[1]}).functions["ProcessFunction"]
event = json.load(open("events/process_put.json"))
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    for name in ("STORED_IMAGES_BUCKET", "PROCESSED_IMAGES_BUCKET"):
        s3.create_bucket(Bucket=function.environment[name])
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = function.environment["STORED_IMAGES_BUCKET"]
    s3.put_object(Bucket=record["bucket"]["name"], Key=record["object"]["key"], Body=gradient_photo())
    load_handler(function)(event, LambdaContext(function, "local-request"))
print(json.dumps({"xray_loaded": "aws_xray_sdk" in sys.modules}))
"""


def run_process_function(tracing: str) -> tuple[dict, list[dict]]:
    """What the child reports, and the (sub)segments it sent to the daemon address."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(0.5)
    function = read_stack({"Tracing": tracing}).functions["ProcessFunction"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
    env |= function.environment | {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "ProcessFunction", "LAMBDA_TASK_ROOT": str(ROOT),
        "_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src" / "shared"), str(ROOT / "src" / "process")]),
    }
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, tracing], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        segments = []
        while True:
            try:
                data, _ = daemon.recvfrom(65536)
            except TimeoutError:
                break
            segments.append(json.loads(data.decode().split("\n", 1)[1]))
    finally:
        daemon.close()
    return json.loads(done.stdout.splitlines()[-1]), segments


def test_tracing_on_sends_the_stages_and_the_s3_calls_of_one_image():
    report, segments = run_process_function("true")
    assert report["xray_loaded"]
    # Lambda's SDK streams each subsegment as it closes, naming its parent.
    by_id = {segment["id"]: segment for segment in segments}
    children: dict[str, list[str]] = {}
    for segment in segments:
        parent = by_id.get(segment.get("parent_id"), {}).get("name", "(the function's segment)")
        children.setdefault(parent, []).append(segment["name"] + (f" {segment['aws']['operation']}"
                                                                   if segment["name"] == "s3" else ""))
    assert children["(the function's segment)"] == ["## handler"]
    assert sorted(children["## handler"]) == sorted([
        "s3 GetObject",  # the manifest: is the image claimed?
        "s3 GetObject",  # the original
        "s3 PutObject",  # the claim
        "build variants", "store variants", "publish manifest", "publish status",
    ])
    assert children["store variants"] == ["s3 PutObject"] * 3
    assert children["publish manifest"] == ["s3 PutObject"]
    assert children["publish status"] == ["s3 PutObject", "s3 GetObject"]  # written, then read back against a DELETE
    assert {segment["trace_id"] for segment in segments} == {TRACE_HEADER.split(";")[0].removeprefix("Root=")}
    handler = next(segment for segment in segments if segment["name"] == "## handler")
    assert handler["annotations"]["image_id"] == IMAGE_ID
    assert "response" not in json.dumps(handler.get("metadata", {}))


def test_tracing_off_loads_no_xray_sdk_and_sends_nothing():
    report, segments = run_process_function("false")
    assert report == {"xray_loaded": False}
    assert segments == []
