"""The storage server: moto's S3 and SQS in server mode, in a child process of the stack.

The parent (`StorageServer`) starts `python -m devstack.storage`, reads the port it bound from its
first line of output, and stops it with SIGTERM. The child also exits when its stdin closes, so it
never outlives the stack, not even one killed with SIGKILL.

Two gaps between moto and S3 are closed here, in the storage process only (the functions see plain S3):
- moto publishes an object's event notification before it stores the object's metadata, so a fast
  consumer could read an original without its processing options; here events leave after the request.
- moto's answer to a POST upload carries no CORS headers, so a browser could not read it; here it
  gets the ones the bucket's CORS rules give, as S3's does.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote

import boto3
from botocore.config import Config as BotoConfig

from .template import LOCAL_REGION, LOCAL_STACK_NAME, Function, Stack

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
READY_PREFIX = "storage listening on port "
STORAGE_HOST = "127.0.0.1"


# ------------------------------------------------------------------------------ parent side
class StorageError(RuntimeError):
    pass


class StorageServer:
    """A running moto server child process."""

    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.port = port
        self.endpoint = f"http://{STORAGE_HOST}:{port}"

    @classmethod
    def start(cls, port: int = 0, timeout: float = 30.0) -> "StorageServer":
        env = {**os.environ, "MOTO_DISABLE_GLOBAL_CORS": "1", "PYTHONUNBUFFERED": "1"}
        # Its own session: a Ctrl-C in the terminal reaches the stack, which then stops this cleanly.
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.storage", "--host", STORAGE_HOST, "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(process.stdout.readline().decode()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = ready[0] if ready else ""
        if not line.startswith(READY_PREFIX):
            _stop_process(process)
            raise StorageError(
                f"the storage server did not start (exit code {process.returncode}); see its output above"
            )
        server = cls(process, int(line[len(READY_PREFIX) :]))
        server._wait_until_answering(timeout)
        return server

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client("s3").list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise StorageError("the storage server does not answer") from None
                time.sleep(0.1)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=LOCAL_REGION,
            **FAKE_CREDENTIALS,
            config=BotoConfig(retries={"mode": "standard"}, max_pool_connections=32),
        )

    def stop(self) -> None:
        _stop_process(self.process)


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream:
            stream.close()


# ------------------------------------------------------------------------------ provisioning
@dataclass(frozen=True)
class Trigger:
    """An S3 trigger of a function, delivered through an SQS queue of the storage server."""

    function: Function
    bucket: str
    queue_name: str
    queue_url: str


@dataclass(frozen=True)
class AsyncConfig:
    """A function's EventInvokeConfig, as Lambda applies it to asynchronous invocations."""

    max_retries: int
    max_event_age_seconds: int
    on_failure_queue_url: str | None
    on_failure_queue_name: str | None


def invoked_functions(stack: Stack) -> dict[str, Function]:
    """The functions something invokes locally: an HTTP API route or an S3 trigger. The others (e.g. a
    custom resource's handler, which only CloudFormation calls) have nothing to do here."""
    return {name: f for name, f in stack.functions.items() if f.routes or f.s3_triggers}


def trigger_queue_name(function: Function, index: int = 0) -> str:
    """The queue standing in for Lambda's event queue of a function's index-th S3 trigger."""
    return f"{LOCAL_STACK_NAME}-{function.logical_id}-s3-events" + (f"-{index}" if index else "")


def resource_queue_name(logical_id: str) -> str:
    """The local name of an SQS queue the template declares (the name !Ref resolves to locally)."""
    return f"{LOCAL_STACK_NAME}-{logical_id}"


def provision(storage: StorageServer, stack: Stack) -> tuple[list[Trigger], dict[str, AsyncConfig]]:
    """Buckets (with their CORS rules), the S3 triggers' queues and notifications, on-failure queues.

    The CORS rules are the stack's as read_stack(site_origin=...) resolved them: locally the page comes
    from the local stack, so its origin stands in for the deployed site's."""
    s3, sqs = storage.client("s3"), storage.client("sqs")
    for bucket in stack.buckets.values():
        s3.create_bucket(Bucket=bucket.name)
        if bucket.cors_rules:
            rules = [_cors_rule(rule) for rule in bucket.cors_rules]
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": rules})

    triggers: list[Trigger] = []
    notifications: dict[str, list[dict]] = {}
    for function in invoked_functions(stack).values():
        for index, trigger in enumerate(function.s3_triggers):
            bucket = stack.bucket_name(trigger.bucket_logical_id)
            name = trigger_queue_name(function, index)
            # Long enough that a message is never handed out twice while its retries are still running.
            visibility = min(43200, function.timeout * (function.max_retries + 1) + 120)
            url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            config = {"Id": f"{function.logical_id}-{index}", "QueueArn": arn, "Events": list(trigger.events)}
            if trigger.prefix:
                config["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": trigger.prefix}]}}
            notifications.setdefault(bucket, []).append(config)
            triggers.append(Trigger(function, bucket, name, url))
    for bucket, configs in notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )

    async_configs = {}
    for function in invoked_functions(stack).values():
        props = stack.template["Resources"][function.logical_id].get("Properties", {})
        invoke_config = props.get("EventInvokeConfig", {})
        destination = invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
        queue_name = queue_url = None
        if destination:
            target = destination.get("Destination", {})
            if destination.get("Type") != "SQS" or "Fn::GetAtt" not in target:
                raise StorageError(
                    f"{function.logical_id}: the local stack only knows SQS on-failure destinations given by !GetAtt"
                )
            queue_name = resource_queue_name(target["Fn::GetAtt"][0])
            queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        async_configs[function.logical_id] = AsyncConfig(
            max_retries=function.max_retries,
            max_event_age_seconds=int(invoke_config.get("MaximumEventAgeInSeconds", 21600)),
            on_failure_queue_url=queue_url,
            on_failure_queue_name=queue_name,
        )
    return triggers, async_configs


def _cors_rule(rule: dict) -> dict:
    """A CloudFormation CorsRule as the S3 API spells it."""
    names = {
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "AllowedHeaders": "AllowedHeaders",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
        "Id": "ID",
    }
    converted = {names[key]: value for key, value in rule.items() if key in names}
    if "MaxAgeSeconds" in converted:
        converted["MaxAgeSeconds"] = int(converted["MaxAgeSeconds"])
    return converted


# ------------------------------------------------------------------------------ child side
def _serve(host: str, port: int) -> None:
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "1"  # read when moto.settings is imported
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"  # one connection per client thread instead of one per request

    app = _S3Fidelity(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_parent():
        while os.read(0, 4096):  # returns b"" at EOF: the stack is gone
            pass
        stop()

    threading.Thread(target=watch_parent, daemon=True).start()
    print(f"{READY_PREFIX}{server.port}", flush=True)
    os.dup2(2, 1)  # anything moto prints later goes to stderr; nobody reads this pipe any more
    server.serve_forever()
    server.server_close()


class _S3Fidelity:
    """WSGI middleware: notifications after the request, CORS headers on POST uploads."""

    def __init__(self, app):
        self.app = app
        self.local = threading.local()
        from moto.s3 import notifications

        original = notifications.send_event

        def send_event(*args, **kwargs):
            deferred = getattr(self.local, "deferred", None)
            if deferred is None:
                return original(*args, **kwargs)
            deferred.append((args, kwargs))

        self._send_event = original
        notifications.send_event = send_event

    def __call__(self, environ, start_response):
        self.local.deferred = []
        try:
            if environ.get("REQUEST_METHOD") == "POST" and environ.get("HTTP_ORIGIN"):
                start_response = self._with_cors(environ, start_response)
            return self.app(environ, start_response)
        finally:
            deferred, self.local.deferred = self.local.deferred, None
            for args, kwargs in deferred:
                self._send_event(*args, **kwargs)

    def _with_cors(self, environ, start_response):
        def start(status, headers, exc_info=None):
            if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
                headers = list(headers) + _cors_headers(environ)
            return start_response(status, headers, exc_info)

        return start


def _cors_headers(environ) -> list[tuple[str, str]]:
    """The CORS headers S3 adds to an answer for a cross-origin request (path-style bucket URLs)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.s3.utils import cors_matches_origin

    origin = environ["HTTP_ORIGIN"]
    bucket_name = unquote(environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0])
    try:
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket_name)
    except Exception:
        return []
    for rule in bucket.cors:
        if rule.allowed_origins and cors_matches_origin(origin, rule.allowed_origins):
            headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
            if rule.allowed_methods:
                headers.append(("Access-Control-Allow-Methods", ", ".join(_as_list(rule.allowed_methods))))
            if rule.exposed_headers:
                headers.append(("Access-Control-Expose-Headers", ", ".join(_as_list(rule.exposed_headers))))
            return headers
    return []


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="moto's S3 and SQS for the local stack (started by python -m devstack)"
    )
    parser.add_argument("--host", default=STORAGE_HOST)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    _serve(args.host, args.port)


if __name__ == "__main__":
    main()
