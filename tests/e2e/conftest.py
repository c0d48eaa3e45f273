"""The local stack, and what the end-to-end tests share.

The session's stack runs in the test process (devstack.stack.LocalStack, its functions in processes of
their own); `start_stack` runs `python -m devstack` itself, for the tests of that command."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import requests

from devstack.cfn.template import read_stack
from devstack.stack import READY_PATTERN, Console, LocalStack
from testkit.images import noisy_jpeg as _noisy_jpeg
from testkit.images import small_photo as _photo

ROOT = Path(__file__).resolve().parents[2]
# Small enough that the 413 test stays small; every other test image is well under it.
DIRECT_UPLOAD_MAX_BYTES = 200_000
START_TIMEOUT = 60


class Output:
    """Lines a stack printed, searchable while it runs."""

    def __init__(self):
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()

    def add(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def end(self) -> None:
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for_line(self, pattern: re.Pattern | str, timeout: float, count: int = 1) -> re.Match | None:
        """The count-th line matching `pattern` (searching all output so far), waiting up to `timeout`."""
        pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(pattern.search, self.lines) if m]
                if len(matches) >= count:
                    return matches[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    return None
                self._changed.wait(min(remaining, 0.5))

    def count_lines(self, pattern: str) -> int:
        with self._changed:
            return sum(1 for line in self.lines if re.search(pattern, line))

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines[-200:])


class RecordingConsole(Console):
    """The stack's console, keeping every line for the tests to search (shown when a test fails)."""

    def __init__(self, output: Output):
        super().__init__()
        self.output = output

    def _write(self, stream, text: str) -> None:
        self.output.add(text)


class RecordedStack(LocalStack):
    """A LocalStack whose output the tests can search."""

    def __init__(self, **options):
        self.printed = Output()
        super().__init__(port=0, console=RecordingConsole(self.printed), **options)

    def wait_for_line(self, pattern, timeout: float, count: int = 1) -> re.Match | None:
        return self.printed.wait_for_line(pattern, timeout, count)

    def count_lines(self, pattern: str) -> int:
        return self.printed.count_lines(pattern)

    def output(self) -> str:
        return self.printed.text()


class StackProcess:
    """`python -m devstack --port 0 ARGS` as a child process, until its ready line."""

    def __init__(self, *args: str):
        self.printed = Output()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()
        match = self.printed.wait_for_line(READY_PATTERN, timeout=START_TIMEOUT)
        if match is None:
            self.stop()
            raise RuntimeError("the local stack did not start:\n" + self.output())
        self.url, self.port = match[1], int(match[2])
        self.storage_url, self.storage_port = match[3], int(match[4])

    def _read(self) -> None:
        for line in self.process.stdout:
            self.printed.add(line.rstrip("\n"))
        self.printed.end()

    def output(self) -> str:
        return self.printed.text()

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(scope="session")
def local_stack():
    stack = RecordedStack(overrides={"DirectUploadMaxBytes": str(DIRECT_UPLOAD_MAX_BYTES)}, retry_delay=0.2)
    with stack:
        yield stack


@pytest.fixture
def start_stack():
    """start_stack(*args) -> `python -m devstack` of its own (stopped, or killed, at the end of the test)."""
    started: list[StackProcess] = []

    def start(*args: str) -> StackProcess:
        stack = StackProcess(*args)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        if stack.process.poll() is None:
            stack.stop(timeout=15)


@pytest.fixture(scope="session")
def base_url(local_stack) -> str:
    return local_stack.url


@pytest.fixture(scope="session")
def stack_resources():
    """The template as the local stack resolved it (names do not depend on the overrides used)."""
    return read_stack({"DirectUploadMaxBytes": str(DIRECT_UPLOAD_MAX_BYTES)})


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def _show_stack_output_on_failure(request):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "local_stack" in request.fixturenames:
        print("---- local stack output (last lines) ----\n" + request.getfixturevalue("local_stack").output())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ------------------------------------------------------------------------------ test images
def _s3_event(bucket: str, key: str) -> dict:
    """An S3 notification as moto's storage server sends it (key URL-encoded, optional fields left out)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "replay",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": 1, "eTag": "0"},
                },
            }
        ]
    }


@pytest.fixture(scope="session")
def photo():
    """photo(width=640, height=480, seed=0, fmt="JPEG") -> bytes"""
    return _photo


@pytest.fixture(scope="session")
def noisy_jpeg():
    """noisy_jpeg(min_bytes, seed=1) -> bytes"""
    return _noisy_jpeg


@pytest.fixture(scope="session")
def s3_event():
    """s3_event(bucket, key) -> an S3 notification as the storage server sends it"""
    return _s3_event


@pytest.fixture(scope="session")
def wait_done(base_url):
    """wait_done(image_id) -> the image once it is done or failed (GET ?wait=20 until then)."""

    def wait(image_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            while True:
                answer = http.get(f"{base_url}/api/images/{image_id}", params={"wait": 20}, timeout=30)
                if answer.status_code != 202 or time.monotonic() > deadline:
                    assert answer.status_code in (200, 422), answer.text
                    return answer.json()

    return wait


@pytest.fixture(scope="session")
def direct_upload_max_bytes() -> int:
    return DIRECT_UPLOAD_MAX_BYTES
