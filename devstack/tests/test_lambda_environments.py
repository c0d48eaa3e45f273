"""Lambda's execution environments as the local stack gives them (devstack/lambda_/lambdas.py): a process of its own
per environment, with its own environment, stopped at its timeout, memory capped, concurrency capped."""

import os
import threading
import time
from pathlib import Path

import pytest

from devstack.cfn.template import Function
from devstack.iam.identity import function_credentials
from devstack.lambda_.lambdas import FunctionError, FunctionPool, lambda_environment

HANDLER = '''
import json, os, pathlib, time

def handler(event, context):
    action = event["action"]
    if action == "environment":
        return {name: os.environ.get(name) for name in event["names"]} | {"pid": os.getpid()}
    if action == "sleep-then-write":
        pathlib.Path(event["pid_path"]).write_text(str(os.getpid()))
        time.sleep(event["seconds"])
        pathlib.Path(event["path"]).write_text("written after the timeout")
        return "late"
    if action == "allocate":
        block = bytearray(event["mib"] * 1024 * 1024)
        return len(block)
    if action == "hold":
        time.sleep(event["seconds"])
        return os.getpid()
    if action == "remaining":
        return context.get_remaining_time_in_millis()
    raise ValueError(f"no action {action}")
'''


def _running(pid: int) -> bool:
    """True while the process exists and has not ended (an ended child not yet reaped is a zombie, state Z)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def function(tmp_path) -> Function:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    return Function(
        logical_id="TestFunction",
        code_dir=code,
        layer_dirs=(),
        handler="app.handler",
        timeout=2,
        memory_size=128,
        environment={"SETTING": "from-the-template"},
        routes=(),
        s3_triggers=(),
    )


@pytest.fixture
def start_pool():
    """start_pool(function) -> its pool, started (without IAM: these handlers make no AWS calls)."""
    pools: list[FunctionPool] = []

    def start(function: Function, **kwargs) -> FunctionPool:
        credentials = function_credentials(function.logical_id).as_environment()
        pool = FunctionPool(function, lambda_environment(function, credentials, quiet=True), None, **kwargs)
        pools.append(pool)
        pool.start()
        return pool

    start.pools = pools
    yield start
    for pool in pools:
        pool.close()


def test_each_function_has_its_own_environment_and_credentials(function, start_pool, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "the-developers-own")
    pool = start_pool(function)
    names = ["SETTING", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_LAMBDA_FUNCTION_NAME"]
    seen = pool.invoke({"action": "environment", "names": names})
    assert seen["SETTING"] == "from-the-template"
    assert seen["AWS_ACCESS_KEY_ID"] == function_credentials("TestFunction").access_key
    assert seen["AWS_SESSION_TOKEN"] == function_credentials("TestFunction").session_token
    assert seen["AWS_PROFILE"] is None
    assert seen["AWS_LAMBDA_FUNCTION_NAME"] == "TestFunction"
    assert seen["pid"] != os.getpid()


def test_a_timed_out_invocation_is_stopped_and_never_writes(function, start_pool, tmp_path):
    pool = start_pool(function)
    late, pid_path = tmp_path / "late.txt", tmp_path / "pid.txt"
    with pytest.raises(FunctionError) as timed_out:
        pool.invoke({"action": "sleep-then-write", "seconds": function.timeout + 1, "path": str(late),
                     "pid_path": str(pid_path)})
    assert timed_out.value.error_type == "Sandbox.Timedout"
    # The sandbox's process ends (a bounded wait), and a process that has ended writes nothing more.
    pid = int(pid_path.read_text())
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid), "the sandbox was stopped at its timeout"
    assert not late.exists()
    assert 0 < pool.invoke({"action": "remaining"}) <= function.timeout * 1000  # a fresh environment answers


def test_memory_is_capped_at_memory_size(function, start_pool):
    pool = start_pool(function)
    assert pool.invoke({"action": "allocate", "mib": function.memory_size // 2}) == function.memory_size // 2 * 2**20
    with pytest.raises(FunctionError) as refused:
        pool.invoke({"action": "allocate", "mib": function.memory_size * 2})
    assert refused.value.error_type == "MemoryError"


def test_concurrency_is_capped_at_reserved_concurrency(function, start_pool):
    reserved = Function(**{**function.__dict__, "reserved_concurrency": 2, "timeout": 10})
    pool = start_pool(reserved)
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(pool.invoke({"action": "hold", "seconds": 1})))
               for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(pids) == 5
    assert len(set(pids)) <= 2 and pool.instances <= 2


def test_an_error_is_reported_as_lambda_reports_it(function, start_pool):
    pool = start_pool(function)
    with pytest.raises(FunctionError) as failed:
        pool.invoke({"action": "unknown"})
    assert (failed.value.error_type, failed.value.message) == ("ValueError", "no action unknown")
    assert any("raise ValueError" in line for line in failed.value.stack_trace)


def test_a_handler_that_cannot_load_fails_the_start(function, start_pool):
    (Path(function.code_dir) / "app.py").write_text("import no_such_module\n")
    with pytest.raises(FunctionError) as failed:
        start_pool(function)
    assert failed.value.error_type == "ModuleNotFoundError"


IAM_HANDLER = '''
import boto3, os
from botocore.exceptions import ClientError

def handler(event, context):
    s3 = boto3.client("s3")
    outcomes = {}
    for name, call in {
        "put-original": lambda: s3.put_object(Bucket=os.environ["STORED_IMAGES_BUCKET"], Key="uploads/x", Body=b"x"),
        "put-elsewhere": lambda: s3.put_object(Bucket=os.environ["STORED_IMAGES_BUCKET"], Key="other/x", Body=b"x"),
        "read-processed": lambda: s3.list_objects_v2(Bucket=os.environ["PROCESSED_IMAGES_BUCKET"]),
        "read-missing-bucket": lambda: s3.get_object(Bucket="no-such-bucket", Key="x"),
    }.items():
        try:
            call()
            outcomes[name] = "ok"
        except ClientError as error:
            outcomes[name] = error.response["Error"]["Code"]
    return outcomes
'''


@pytest.fixture(scope="module")
def storage(stack):
    from devstack.iam.identity import known_credentials
    from devstack.s3.storage import StorageServer

    server = StorageServer.start(known_credentials(stack.functions))
    s3 = server.client("s3")
    for bucket in stack.buckets.values():
        s3.create_bucket(Bucket=bucket.name)
    yield server
    server.stop()


def _as_upload_function(stack, tmp_path, storage, iam, start_pool):
    """UploadFunction's identity and environment, running a handler that tries calls in and out of its role."""
    (tmp_path / "iamcode").mkdir()
    (tmp_path / "iamcode" / "app.py").write_text(IAM_HANDLER)
    upload = stack.functions["UploadFunction"]
    function = Function(**{**upload.__dict__, "code_dir": tmp_path / "iamcode", "handler": "app.handler"})
    credentials = function_credentials("UploadFunction").as_environment() | {"AWS_ENDPOINT_URL": storage.endpoint}
    pool = FunctionPool(function, lambda_environment(function, credentials, quiet=True), iam)
    start_pool.pools.append(pool)
    pool.start()
    return pool


@pytest.fixture
def iam_setup(stack, rendered_template):
    physical_ids = {logical_id: bucket.name for logical_id, bucket in stack.buckets.items()}
    return {"rendered_template": rendered_template, "physical_ids": physical_ids, "parameters": {}}


def test_each_function_runs_under_its_role(stack, tmp_path, storage, iam_setup, start_pool):
    pool = _as_upload_function(stack, tmp_path, storage, iam_setup, start_pool)
    assert pool.invoke({}) == {"put-original": "ok", "put-elsewhere": "AccessDenied", "read-processed": "AccessDenied",
                               "read-missing-bucket": "NoSuchBucket"}  # S3 finds the bucket before judging


def test_skipping_iam_says_so_on_every_call(stack, tmp_path, storage, start_pool, capfd):
    pool = _as_upload_function(stack, tmp_path, storage, None, start_pool)
    assert pool.invoke({}) == {"put-original": "ok", "put-elsewhere": "ok", "read-processed": "ok",
                               "read-missing-bucket": "NoSuchBucket"}
    unjudged: list[str] = []
    deadline = time.monotonic() + 10  # the sandbox's stderr reaches ours through a pipe: a bounded wait for it
    while len(unjudged) < 4 and time.monotonic() < deadline:
        unjudged += [line for line in capfd.readouterr().err.splitlines() if line.startswith("IAM CHECKS OFF")]
        time.sleep(0.05)
    assert len(unjudged) == 4 and all("UploadFunction calls s3:" in line for line in unjudged)
