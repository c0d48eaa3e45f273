"""Lambda's execution environments as the local stack gives them (devstack/lambdas.py): a process of its own
per environment, with its own environment, stopped at its timeout, memory capped, concurrency capped."""

import os
import threading
import time
from pathlib import Path

import pytest

from devstack.identity import function_credentials
from devstack.lambdas import FunctionError, FunctionPool, lambda_environment
from devstack.template import Function

HANDLER = '''
import json, os, pathlib, time

def handler(event, context):
    action = event["action"]
    if action == "environment":
        return {name: os.environ.get(name) for name in event["names"]} | {"pid": os.getpid()}
    if action == "sleep-then-write":
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
    pools: list[FunctionPool] = []

    def start(function: Function, **kwargs) -> FunctionPool:
        credentials = function_credentials(function.logical_id).as_environment()
        pool = FunctionPool(function, lambda_environment(function, credentials, quiet=True), **kwargs)
        pools.append(pool)
        pool.start()
        return pool

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
    late = tmp_path / "late.txt"
    with pytest.raises(FunctionError) as timed_out:
        pool.invoke({"action": "sleep-then-write", "seconds": function.timeout + 1, "path": str(late)})
    assert timed_out.value.error_type == "Sandbox.Timedout"
    time.sleep(2)
    assert not late.exists(), "the sandbox was stopped at its timeout"
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
