"""What a function ships must be what the tests ran: the SDK features its code relies on included."""

import re
from pathlib import Path

import boto3
from botocore.session import Session

ROOT = Path(__file__).resolve().parents[2]


def test_process_function_ships_the_sdk_whose_conditional_writes_it_uses():
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "src/process/requirements.txt").read_text(), re.M))
    assert pins.get("boto3") == boto3.__version__
    source = (ROOT / "src/process/processing.py").read_text()
    model = Session().get_service_model("s3")
    for operation, parameter in (("PutObject", "IfNoneMatch"), ("PutObject", "IfMatch"), ("DeleteObject", "IfMatch")):
        assert f"{parameter}=" in source
        assert parameter in model.operation_model(operation).input_shape.members
