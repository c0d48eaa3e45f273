"""python -m devstack: template.yaml's application on one machine, without AWS or Docker.

- storage: moto's S3 and SQS in server mode (a child process on 127.0.0.1), with the template's buckets,
  their CORS rules and the S3 triggers' notifications;
- the functions: the template's handlers, imported into this process with the template's environment
  and AWS_ENDPOINT_URL_S3 pointing at the storage server, so boto3 talks to it exactly as to S3;
- the API: an HTTP server on --host/--port turning requests into HTTP API payload v2.0 events;
- the triggers: S3 events reach a queue on the storage server, and are handed to the function as Lambda's
  asynchronous invocation would (retries, then the on-failure destination).
"""

import argparse
import http.client
import logging
import os
import signal
import sys
import threading
import time
from urllib.parse import unquote_plus

from .gateway import Gateway, Router
from .lambdas import AsyncInvoker, FunctionError, FunctionPool
from .oidc import LocalSignIn
from .storage import FAKE_CREDENTIALS, StorageError, StorageServer, invoked_functions, provision
from .template import (
    LOCAL_REGION,
    RESPONSE_HEADERS_POLICY_TYPE,
    ROOT,
    Function,
    Stack,
    TemplateError,
    _Resolver,
    local_content_security_policy,
    parse_overrides,
    read_stack,
    security_headers,
)

WEB_DIR = ROOT / "web"
READY_LINE = "Image processing running at {url} (storage {storage})"
HEALTH_PATH = "/api/health"
MAX_INSTANCES = 64  # execution environments per function, where the template reserves no concurrency
PROBE_HEADER = "X-Devstack-Probe"  # the stack's own readiness check, left out of the request log


class Console:
    """One line per request and per processed image on stdout; problems on stderr."""

    def __init__(self):
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        self._write(sys.stdout, f"{time.strftime('%H:%M:%S')} {text}")

    def say(self, text: str) -> None:
        self._write(sys.stdout, text)

    def error(self, text: str) -> None:
        self._write(sys.stderr, f"{time.strftime('%H:%M:%S')} {text}")

    def request(self, method: str, path: str, status: int, ms: float) -> None:
        self.line(f"{method} {path} {status} {ms:.0f} ms")

    def _write(self, stream, text: str) -> None:
        with self._lock:
            try:
                print(text, file=stream, flush=True)
            except (OSError, ValueError):
                pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description="Run template.yaml's application on this machine, without AWS or Docker."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the API and the page listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=3000, help="port of the API and the page; 0 picks a free one (default 3000)"
    )
    parser.add_argument(
        "--storage-port", type=int, default=0, help="port of the storage server; 0 picks a free one (default)"
    )
    parser.add_argument(
        "--parameter-overrides",
        default="",
        metavar="'Name=Value ...'",
        help="template parameters, in sam's syntax (e.g. 'DirectUploadMaxBytes=200000 Variants=thumb=256')",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(2, min(8, os.cpu_count() or 2)),
        help="images processed at the same time (default: CPU count, 2 to 8)",
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=1.0,
        help="seconds before the first retry of a failed S3-triggered invocation, doubling after (default 1)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=3600,
        help="seconds the local sign-in issuer's tokens last, with AuthMode cognito or oidc (default 3600)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="the functions log at the template's LogLevel and print their metrics (default: WARNING, no metrics)",
    )
    return parser.parse_args(argv)


def function_environment(stack: Stack, storage_endpoint: str, quiet: bool) -> dict[str, str]:
    """The functions' environment: the template's variables, fake credentials, S3 at the storage server."""
    env: dict[str, str] = {}
    for function in invoked_functions(stack).values():
        for name, value in function.environment.items():
            if env.get(name, value) != value:
                raise TemplateError(f"the functions disagree on {name}; the local stack runs them all in one process")
            env[name] = value
    if quiet:
        env["LOG_LEVEL"] = "WARNING"  # the stack prints a line per request and per image instead
        env["POWERTOOLS_METRICS_DISABLED"] = "true"  # no CloudWatch metric documents (EMF) on stdout
    env.update(
        {
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": FAKE_CREDENTIALS["aws_session_token"],
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL_S3": storage_endpoint,
            # Any other AWS client also reaches the storage server, never a real account.
            "AWS_ENDPOINT_URL": storage_endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def edge_headers(template: dict, storage_endpoint: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The headers CloudFront's response-headers policy adds to every answer (page and /api alike), for
    the local stack: the CSP admits the storage server where it admits https: pre-signed S3 URLs, and
    Strict-Transport-Security is left out (browsers ignore it on plain HTTP, and it would pin localhost)."""
    if not any(r["Type"] == RESPONSE_HEADERS_POLICY_TYPE for r in template["Resources"].values()):
        return {}
    headers = security_headers(template, overrides)
    headers.pop("Strict-Transport-Security", None)
    if "Content-Security-Policy" in headers:
        headers["Content-Security-Policy"] = local_content_security_policy(
            headers["Content-Security-Policy"], storage_endpoint
        )
    return headers


def reserved_concurrency(stack: Stack, function: Function) -> int | None:
    """ReservedConcurrentExecutions of a function with the stack's parameters, if it has one (AWS::NoValue: none)."""
    value = stack.template["Resources"][function.logical_id]["Properties"].get("ReservedConcurrentExecutions")
    resolved = _Resolver(stack.template, stack.parameters).resolve([value])  # a list drops AWS::NoValue
    return int(resolved[0]) if resolved and resolved[0] is not None else None


def apply_environment(env: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]  # no profile, region or endpoint of the developer's own reaches the functions
    os.environ.update(env)


class ImageLog:
    """The per-image line: id, outcome (read from the manifest the function wrote) and time taken."""

    def __init__(self, console: Console, storage: StorageServer):
        self.console = console
        self.s3 = storage.client("s3")

    def __call__(
        self,
        function: Function,
        event: dict,
        ms: float,
        error: FunctionError | None = None,
        attempts: int = 1,
        final: bool = True,
        retry_in: float | None = None,
    ) -> None:
        for record in event.get("Records", []):
            key = unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
            image_id = self._image_id(key)
            if error is None:
                status = self._status(function, image_id) if image_id else "ignored"
                self.console.line(f"image {image_id or key} {status} {ms:.0f} ms")
            elif final:
                self.console.line(f"image {image_id or key} error {ms:.0f} ms, attempt {attempts}, giving up: {error}")
            else:
                self.console.line(
                    f"image {image_id or key} error {ms:.0f} ms, attempt {attempts}, retry in {retry_in:g} s: {error}"
                )

    @staticmethod
    def _image_id(key: str) -> str | None:
        try:
            from imageservice.keys import parse_upload_key
        except ImportError:
            return None
        return parse_upload_key(key)

    def _status(self, function: Function, image_id: str) -> str:
        try:
            from imageservice.keys import manifest_key
            from imageservice.manifest import Manifest

            body = self.s3.get_object(
                Bucket=function.environment["PROCESSED_IMAGES_BUCKET"], Key=manifest_key(image_id)
            )["Body"]
            manifest = Manifest.from_json(body.read())
        except Exception:  # noqa: BLE001 - e.g. deleted meanwhile; the line is informative only
            return "processed"
        return f"{manifest.status} ({manifest.error.code})" if manifest.error else manifest.status


def wait_until_healthy(host: str, port: int, stop: threading.Event, timeout: float = 30.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    status, body = 0, "no answer"
    while time.monotonic() < deadline and not stop.is_set():
        try:
            connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("GET", HEALTH_PATH, headers={PROBE_HEADER: "1"})
            answer = connection.getresponse()
            status, body = answer.status, answer.read().decode("utf-8", "replace")
            connection.close()
            if status == 200:
                break
        except OSError as error:
            body = str(error)
        time.sleep(0.2)
    return status, body


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    stop = threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():
            console.error("stopping now")
            os._exit(130)  # the storage server notices its stdin closing and exits too
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    overrides = parse_overrides(args.parameter_overrides)
    try:
        gateway = Gateway(args.host, args.port)
    except OSError as error:
        console.error(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}; try --port 0 (make dev PORT=...)"
        )
        return 1
    shown_host = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host
    url = f"http://{shown_host}:{gateway.port}"
    try:
        # Locally the page comes from this stack: its origin stands in for the deployed site's (bucket CORS).
        stack = read_stack(overrides, site_origin=url)
    except (TemplateError, ValueError) as error:
        console.error(f"template.yaml: {error}")
        gateway.server_close()
        return 2

    storage = invoker = serving = sign_in = None
    try:
        storage = StorageServer.start(args.storage_port)
        triggers, async_configs = provision(storage, stack)
        quiet = not args.verbose and "LogLevel" not in overrides
        sign_in = LocalSignIn.start(stack, shown_host, url, args.token_lifetime)
        apply_environment({**function_environment(stack, storage.endpoint, quiet),
                           **(sign_in.function_environment() if sign_in else {})})
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # "connection pool is full" noise
        functions = invoked_functions(stack)
        pools = {
            logical_id: FunctionPool(function, reserved_concurrency(stack, function) or MAX_INSTANCES)
            for logical_id, function in functions.items()
        }
        gateway.attach(
            Router(functions),
            pools,
            WEB_DIR,
            console.request,
            console.error,
            sign_in.edge_headers(edge_headers(stack.template, storage.endpoint, overrides)) if sign_in
            else edge_headers(stack.template, storage.endpoint, overrides),
        )
        gateway.authorizer = sign_in.authorizer if sign_in else None
        serving = threading.Thread(
            target=gateway.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True
        )
        serving.start()
        workers = max(
            1, min([args.workers] + [reserved_concurrency(stack, t.function) or args.workers for t in triggers])
        )
        invoker = AsyncInvoker(
            storage.client("sqs"),
            triggers,
            pools,
            async_configs,
            workers,
            args.retry_delay,
            ImageLog(console, storage),
            console.error,
        )
        invoker.start()

        status, body = wait_until_healthy(shown_host, gateway.port, stop)
        if stop.is_set():
            return 0
        if status != 200:
            console.error(f"GET {HEALTH_PATH} answers {status}: {body}")
            return 1
        console.say(READY_LINE.format(url=url, storage=storage.endpoint))
        if sign_in:
            console.say(f"Sign-in ({stack.parameters['AuthMode']}): local issuer {sign_in.issuer.issuer}, "
                        f"client {sign_in.issuer.client_id}")
        if args.verbose:
            for trigger in triggers:
                console.say(f"  {trigger.function.logical_id} <- s3://{trigger.bucket} via queue {trigger.queue_name}")
            for logical_id, config in async_configs.items():
                if config.on_failure_queue_name:
                    console.say(f"  {logical_id} on failure -> queue {config.on_failure_queue_name}")
            for logical_id in sorted(set(stack.functions) - set(functions)):
                console.say(f"  {logical_id} not run: no route or S3 trigger invokes it")
        console.say("Press Ctrl-C to stop.")
        while not stop.wait(0.5):
            if storage.process.poll() is not None:
                console.error(f"the storage server exited (code {storage.process.returncode}); stopping")
                return 1
        return 0
    except (StorageError, TemplateError) as error:
        console.error(str(error))
        return 1
    except Exception as error:  # noqa: BLE001 - e.g. a handler that fails to import
        import traceback

        traceback.print_exc()
        console.error(f"the local stack could not start: {error}")
        return 1
    finally:
        if serving is not None:
            gateway.shutdown()
        gateway.server_close()
        if invoker is not None and not invoker.stop():
            console.error("stopped while images were still being processed")
        if storage is not None:
            storage.stop()
        if sign_in is not None:
            sign_in.stop()
        if stop.is_set():
            console.say("Stopped.")


def run() -> None:
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Handler threads of abandoned requests (e.g. a ?wait= long poll) must not hold the exit up.
    os._exit(code)
