"""Running the functions as Lambda would: one call at a time per execution environment, a timeout,
and asynchronous invocation (S3 triggers) with retries and an on-failure destination."""

import copy
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from .functions import LambdaContext, load_handler
from .storage import AsyncConfig, Trigger
from .template import LOCAL_ACCOUNT, LOCAL_REGION, Function


class FunctionError(Exception):
    """The invocation failed as Lambda reports it: an unhandled error or a timeout."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


class FunctionPool:
    """The execution environments of one function. Each runs one invocation at a time, with a module of
    its own (a Powertools resolver keeps the current event on itself), and a new one starts whenever all
    are busy, up to `max_instances`."""

    def __init__(self, function: Function, max_instances: int = 64):
        self.function = function
        self.max_instances = max_instances
        self._idle: list[Callable] = []
        self._created = 0
        self._live = 0
        self._available = threading.Condition()
        self._idle.append(self._new_instance())  # imports the code now: a broken handler fails the start

    def _new_instance(self) -> Callable:
        handler = load_handler(self.function, instance=self._created)
        self._created += 1
        self._live += 1
        return handler

    def _acquire(self) -> Callable:
        with self._available:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._live < self.max_instances:
                    return self._new_instance()
                self._available.wait()

    def _release(self, handler: Callable | None) -> None:
        with self._available:
            if handler is None:
                self._live -= 1  # abandoned after a timeout; it may still be running
            else:
                self._idle.append(handler)
            self._available.notify()

    def invoke(self, event: dict) -> object:
        """Run the handler on `event`; its result, or FunctionError."""
        handler = self._acquire()
        request_id = str(uuid.uuid4())
        outcome: dict = {}
        done = threading.Event()

        def run():
            try:
                outcome["result"] = handler(copy.deepcopy(event), LambdaContext(self.function, request_id))
            except BaseException as error:  # noqa: BLE001 - Lambda reports whatever the handler raises
                outcome["error"] = FunctionError(
                    type(error).__name__,
                    str(error),
                    traceback.format_exception(type(error), error, error.__traceback__),
                )
            finally:
                done.set()

        threading.Thread(target=run, name=f"{self.function.logical_id}-{request_id[:8]}", daemon=True).start()
        if not done.wait(self.function.timeout):
            self._release(None)
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.function.timeout:.2f} seconds")
        self._release(handler)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


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
        configs: dict[str, AsyncConfig],
        workers: int,
        retry_delay: float,
        on_result: Callable[..., None],
        log: Callable[[str], None],
    ):
        self.sqs = sqs
        self.triggers = triggers
        self.pools = pools
        self.configs = configs
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
        config = self.configs[function.logical_id]
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
        config: AsyncConfig,
        event: dict,
        attempts: int,
        condition: str,
        error: FunctionError | None,
    ) -> None:
        if not config.on_failure_queue_url:
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
        self.sqs.send_message(QueueUrl=config.on_failure_queue_url, MessageBody=json.dumps(record))
        self.log(
            f"{function.logical_id}: event sent to {config.on_failure_queue_name} "
            f"({condition} after {attempts} attempt(s))"
        )

    def _delete(self, trigger: Trigger, message: dict) -> None:
        try:
            self.sqs.delete_message(QueueUrl=trigger.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:  # noqa: BLE001 - at worst the event is delivered again, which processing tolerates
            pass
