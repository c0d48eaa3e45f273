"""The local stack (`python -m devstack`) as a subprocess, and what the end-to-end tests share."""

import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest
import requests
from PIL import Image, ImageDraw

from devstack.template import read_stack

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Image processing running at (http://127\.0\.0\.1:(\d+)) \(storage (http://127\.0\.0\.1:(\d+))\)")
# Small enough that the 413 test stays small; every other test image is well under it.
DIRECT_UPLOAD_MAX_BYTES = 200_000
START_TIMEOUT = 60


@dataclass
class LocalStack:
    process: subprocess.Popen
    url: str = ""
    port: int = 0
    storage_url: str = ""
    storage_port: int = 0
    lines: list[str] = field(default_factory=list)
    _ended: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls, *args: str) -> "LocalStack":
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stack = cls(process)
        threading.Thread(target=stack._read, daemon=True).start()
        match = stack.wait_for_line(READY, timeout=START_TIMEOUT)
        if match is None:
            stack.stop()
            raise RuntimeError("the local stack did not start:\n" + stack.output())
        stack.url, stack.port = match[1], int(match[2])
        stack.storage_url, stack.storage_port = match[3], int(match[4])
        assert requests.get(f"{stack.url}/api/health", timeout=10).status_code == 200
        return stack

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
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
                if remaining <= 0 or self._ended:
                    return None
                self._changed.wait(min(remaining, 0.5))

    def count_lines(self, pattern: str) -> int:
        with self._changed:
            return sum(1 for line in self.lines if re.search(pattern, line))

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines[-200:])

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.storage_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

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
    stack = LocalStack.start(
        "--parameter-overrides", f"DirectUploadMaxBytes={DIRECT_UPLOAD_MAX_BYTES}", "--retry-delay", "0.2"
    )
    yield stack
    code = stack.stop()
    assert code == 0, stack.output()


@pytest.fixture
def start_stack():
    """start_stack(*args) -> a LocalStack of its own (stopped, or killed, at the end of the test)."""
    started: list[LocalStack] = []

    def start(*args: str) -> LocalStack:
        stack = LocalStack.start(*args)
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
def _photo(width: int = 640, height: int = 480, seed: int = 0, fmt: str = "JPEG", quality: int = 88) -> bytes:
    """A small photo-like image: a gradient, a few shapes and some noise, different for every seed."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = Image.blend(image, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(10, max(11, min(width, height) // 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, noise, 0.15)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def _noisy_jpeg(min_bytes: int, seed: int = 1) -> bytes:
    """A JPEG of at least `min_bytes` (noise compresses badly)."""
    side = 128
    while True:
        image = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        if out.tell() >= min_bytes:
            return out.getvalue()
        side += 128


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
