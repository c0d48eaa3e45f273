"""Running the functions as Lambda would: each execution environment a process of its own (its own
environment and credentials, one call at a time, stopped at its timeout, memory capped at MemorySize),
no more environments than the reserved concurrency, and asynchronous invocation (S3 triggers) with
retries and an on-failure destination."""

import json
import os
import pickle
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from ..application import app
from ..cfn.template import LOCAL_ACCOUNT, LOCAL_REGION, AsyncInvokeConfig, Function

DEVSTACK_PARENT = Path(__file__).resolve().parents[2]  # where `import devstack` finds this package
INIT_TIMEOUT = 60.0  # seconds an environment may take to load its handler (Lambda: 10 s; this machine is shared)
MAX_INSTANCES = 64  # execution environments per function, where the template reserves no concurrency


class FunctionError(Exception):
    """The invocation failed as Lambda reports it: an unhandled error or a timeout."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []

    @classmethod
    def from_report(cls, report: dict) -> "FunctionError":
        return cls(report["errorType"], report["errorMessage"], report.get("stackTrace"))


@dataclass(frozen=True)
class Trigger:
    """An S3 trigger of a function, its events delivered through an SQS queue (Lambda's event queue)."""

    function: Function
    bucket: str
    queue_name: str
    queue_url: str


def lambda_environment(function: Function, local: dict[str, str], quiet: bool) -> dict[str, str]:
    """A function's whole environment: the template's variables, what the local stack adds (the function's
    own credentials, AWS_ENDPOINT_URL, the local sign-in issuer), and the variables Lambda sets."""
    env = dict(function.environment)
    if quiet:
        env["LOG_LEVEL"] = "WARNING"  # the stack prints a line per request and per image instead
        env["POWERTOOLS_METRICS_DISABLED"] = "true"  # no CloudWatch metric documents (EMF) on stdout
    env.update(local)
    env.update(
        {
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            "TZ": ":UTC",
            # No profile, configuration or instance metadata of the developer's reaches the function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # devstack.lambda_.worker and the application module; the handler's directories come first in sys.path
            "PYTHONPATH": os.pathsep.join(dict.fromkeys((str(DEVSTACK_PARENT), str(app.ROOT)))),
            "PYTHONUNBUFFERED": "1",
            "MALLOC_ARENA_MAX": "2",  # fewer allocator arenas: less address space under the memory cap
        }
    )
    return env


class _Environment:
    """One execution environment: a worker process (devstack/lambda_/worker.py) and the pipes to it."""

    def __init__(self, function: Function, environment: dict[str, str], iam: dict | None):
        self.function = function
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.lambda_.worker", str(request_read), str(response_write)],
            env=environment,
            cwd=function.code_dir,
            pass_fds=(request_read, response_write),
            stdin=subprocess.DEVNULL,
        )
        os.close(request_read)
        os.close(response_write)
        self.requests = Connection(request_write, readable=False)
        self.responses = Connection(response_read, writable=False)
        self.requests.send_bytes(pickle.dumps((function, iam)))

    def wait_ready(self, timeout: float = INIT_TIMEOUT) -> None:
        answer = self._receive(timeout)
        if answer is None:
            self.kill()
            raise FunctionError("Runtime.InitTimeout", f"{self.function.logical_id} did not load in {timeout:g} s")
        if "error" in answer:
            self.kill()
            raise FunctionError.from_report(answer["error"])

    def invoke(self, event: dict, request_id: str) -> object:
        deadline = time.time() + self.function.timeout
        self.requests.send_bytes(json.dumps({"event": event, "request_id": request_id, "deadline": deadline}).encode())
        answer = self._receive(max(0.0, deadline - time.time()))
        if answer is None:
            self.kill()  # Lambda stops the sandbox: a timed-out invocation never does anything more
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.function.timeout:.2f} seconds")
        if "error" in answer:
            raise FunctionError.from_report(answer["error"])
        return answer["result"]

    def _receive(self, timeout: float) -> dict | None:
        """The worker's next answer; None after `timeout`. FunctionError if the worker died."""
        try:
            if not self.responses.poll(timeout):
                return None
            return json.loads(self.responses.recv_bytes())
        except (EOFError, OSError):
            code = self.process.wait()
            self.close()
            raise FunctionError("Runtime.ExitError", f"Runtime exited with error: exit status {code}") from None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self) -> None:
        for connection in (self.requests, self.responses):
            connection.close()


class FunctionPool:
    """The execution environments of one function. Each runs one invocation at a time; a new one starts
    whenever all are busy, up to `max_instances` (the reserved concurrency, when the template sets one)."""

    def __init__(
        self, function: Function, environment: dict[str, str], iam: dict | None, max_instances: int | None = None
    ):
        """`iam`: what devstack.iam.install_iam needs (rendered_template, physical_ids, parameters); None
        runs the function's calls unjudged (--skip-iam)."""
        self.function = function
        self.environment = environment
        self.iam = iam
        self.max_instances = max_instances or function.reserved_concurrency or MAX_INSTANCES
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()
        self._available = threading.Condition()
        self._closed = False
        self._first: _Environment | None = self._spawn()

    def _spawn(self) -> _Environment:
        environment = _Environment(self.function, self.environment, self.iam)
        self._all.add(environment)
        return environment

    def start(self) -> None:
        """Wait for the first environment to load the handler: a broken handler fails the stack's start."""
        first, self._first = self._first, None
        try:
            first.wait_ready()
        except FunctionError:
            self._all.discard(first)
            raise
        with self._available:
            self._idle.append(first)
            self._available.notify()

    def _acquire(self) -> _Environment:
        with self._available:
            while True:
                if self._closed:
                    raise FunctionError("Sandbox.Stopped", "the local stack is stopping")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.max_instances:
                    environment = self._spawn()
                    break
                self._available.wait()
        try:
            environment.wait_ready()
        except FunctionError:
            self._release(environment)
            raise
        return environment

    def _release(self, environment: _Environment) -> None:
        with self._available:
            if environment.alive and not self._closed:
                self._idle.append(environment)
            else:
                self._all.discard(environment)
                environment.kill()
            self._available.notify()

    def invoke(self, event: dict) -> object:
        """Run the handler on `event` in an environment of its own; its result, or FunctionError."""
        environment = self._acquire()
        try:
            return environment.invoke(event, str(uuid.uuid4()))
        finally:
            self._release(environment)

    @property
    def instances(self) -> int:
        with self._available:
            return len(self._all)

    def close(self) -> None:
        """Stop every environment: idle ones at once, busy ones as their invocation returns."""
        with self._available:
            self._closed = True
            idle, self._idle = self._idle, []
            if self._first is not None:  # never started
                idle.append(self._first)
                self._first = None
            self._all.difference_update(idle)
            self._available.notify_all()
        for environment in idle:
            environment.kill()


class AsyncInvoker:
    """S3 notifications -> asynchronous invocations, as Lambda's event queue handles them.

    A poller per trigger queue takes a message only when a worker is free, skips moto's s3:TestEvent,
    invokes the function with the message's records, retries a failed invocation `max_retries` times
    with a short doubling backoff, and then sends a Lambda-style record to the on-failure queue."""

    def __init__(
        self,
        sqs,
        triggers: list[Trigger],
        pools: dict[str, FunctionPool],
        workers: int,
        retry_delay: float,
        on_result: Callable[..., None],
        log: Callable[[str], None],
    ):
        self.sqs = sqs
        self.triggers = triggers
        self.pools = pools
        self.retry_delay = retry_delay
        self.on_result = on_result
        self.log = log
        self.stopping = threading.Event()
        self._slots = threading.Semaphore(workers)
        self._busy = 0
        self._busy_lock = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for trigger in self.triggers:
            thread = threading.Thread(
                target=self._poll, args=(trigger,), name=f"poll-{trigger.queue_name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, grace_seconds: float = 10.0) -> bool:
        """Stop taking events and wait up to `grace_seconds` for the running ones; True if none is left."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(5)
        deadline = time.monotonic() + grace_seconds
        with self._busy_lock:
            while self._busy and time.monotonic() < deadline:
                self._busy_lock.wait(max(0.0, deadline - time.monotonic()))
            return self._busy == 0

    def _poll(self, trigger: Trigger) -> None:
        failures = 0
        while not self.stopping.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            handed_over = False
            try:
                answer = self.sqs.receive_message(
                    QueueUrl=trigger.queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=1,
                    AttributeNames=["SentTimestamp"],
                )
                failures = 0
                for message in answer.get("Messages", []):
                    body = json.loads(message["Body"])
                    if body.get("Event") == "s3:TestEvent" or "Records" not in body:
                        self._delete(trigger, message)
                        continue
                    self._start_worker(trigger, message, body)
                    handed_over = True
            except Exception as error:  # noqa: BLE001 - keep polling; the storage server may be restarting
                if self.stopping.is_set():
                    return
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    self.log(f"polling {trigger.queue_name} failed: {error}")
                self.stopping.wait(min(5.0, 0.2 * failures))
            finally:
                if not handed_over:
                    self._slots.release()

    def _start_worker(self, trigger: Trigger, message: dict, body: dict) -> None:
        with self._busy_lock:
            self._busy += 1
        threading.Thread(
            target=self._deliver,
            args=(trigger, message, body),
            daemon=True,
            name=f"invoke-{trigger.function.logical_id}",
        ).start()

    def _deliver(self, trigger: Trigger, message: dict, body: dict) -> None:
        try:
            self._invoke_with_retries(trigger, message, {"Records": body["Records"]})
            self._delete(trigger, message)
        except Exception as error:  # noqa: BLE001 - a worker must never die silently
            self.log(f"delivering an event to {trigger.function.logical_id} failed: {error}")
        finally:
            self._slots.release()
            with self._busy_lock:
                self._busy -= 1
                self._busy_lock.notify_all()

    def _invoke_with_retries(self, trigger: Trigger, message: dict, event: dict) -> None:
        function = trigger.function
        config = function.async_invoke
        sent = int(message.get("Attributes", {}).get("SentTimestamp", time.time() * 1000)) / 1000
        delay = self.retry_delay
        attempts = 0
        while True:
            if time.time() - sent > config.max_event_age_seconds:
                self._fail(function, config, event, attempts, "EventAgeExceeded", None)
                return
            attempts += 1
            started = time.monotonic()
            try:
                self.pools[function.logical_id].invoke(event)
            except FunctionError as error:
                elapsed = (time.monotonic() - started) * 1000
                if attempts > config.max_retries or self.stopping.is_set():
                    self.on_result(function, event, elapsed, error=error, attempts=attempts, final=True)
                    self._fail(function, config, event, attempts, "RetriesExhausted", error)
                    return
                self.on_result(function, event, elapsed, error=error, attempts=attempts, final=False, retry_in=delay)
                if self.stopping.wait(delay):
                    return
                delay *= 2
                continue
            self.on_result(function, event, (time.monotonic() - started) * 1000, attempts=attempts)
            return

    def _fail(
        self,
        function: Function,
        config: AsyncInvokeConfig,
        event: dict,
        attempts: int,
        condition: str,
        error: FunctionError | None,
    ) -> None:
        if not config.on_failure_queue:
            self.log(f"{function.logical_id}: event dropped ({condition}); the function has no on-failure destination")
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{function.logical_id}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": None
            if error is None
            else {
                "errorMessage": error.message,
                "errorType": error.error_type,
                "stackTrace": error.stack_trace,
            },
        }
        queue_url = self.sqs.get_queue_url(QueueName=config.on_failure_queue)["QueueUrl"]
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))
        self.log(
            f"{function.logical_id}: event sent to {config.on_failure_queue} "
            f"({condition} after {attempts} attempt(s))"
        )

    def _delete(self, trigger: Trigger, message: dict) -> None:
        try:
            self.sqs.delete_message(QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:  # noqa: BLE001 - at worst the event is delivered again, which processing tolerates
            pass
