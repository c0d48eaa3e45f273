"""python -m devstack: template.yaml's application on one machine, without AWS or Docker.

- storage: moto's S3 and SQS in server mode (a child process on 127.0.0.1), with the template's buckets,
  their CORS rules and the S3 triggers' notifications, refusing what S3 refuses (devstack/s3/storage.py);
- the functions: the template's handlers, each execution environment a process of its own with the
  function's environment and credentials and AWS_ENDPOINT_URL pointing at the storage server, so boto3
  talks to it exactly as to S3 (devstack/lambda_/lambdas.py);
- the API: an HTTP server on --host/--port turning requests into HTTP API payload v2.0 events;
- the triggers: S3 events reach a queue on the storage server, and are handed to the function as Lambda's
  asynchronous invocation would (retries, then the on-failure destination).
"""

import argparse
import functools
import http.client
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
from urllib.parse import unquote_plus

from .apigw.events import http_answer as answer_of
from .apigw.gateway import Gateway, Router
from .application import app
from .cfn.template import (
    Function,
    Stack,
    TemplateError,
    local_content_security_policy,
    local_site_origins,
    parse_overrides,
    read_stack,
    secret_arn,
)
from .cloudfront import FunctionFailed as CloudFrontFunctionFailed
from .cloudfront import LocalCloudFront, edge_functions
from .cloudfront.distribution import origin_custom_headers
from .cloudwatch.page import PATH as STACK_PAGE
from .cloudwatch.page import render as render_stack_page
from .cloudwatch.telemetry import Telemetry
from .cognito.oidc import DEFAULT_TOKEN_SECONDS, LocalSignIn
from .iam.identity import function_credentials, known_credentials
from .lambda_.lambdas import AsyncInvoker, FunctionError, FunctionPool, Trigger, lambda_environment
from .provision import custom_resource_functions, invoked_functions, provision, run_custom_resources
from .s3.storage import SOCKET_TIMEOUT, StorageError, StorageServer

WEB_DIR = app.WEB_DIR
READY_LINE = app.TITLE + " running at {url} (storage {storage})"
READY_PATTERN = re.compile(re.escape(app.TITLE) + r" running at (http://[^ ]+:(\d+)) \(storage (http://[^ ]+:(\d+))\)")
HEALTH_PATH = app.HEALTH_PATH
PROBE_HEADER = "X-Devstack-Probe"  # the stack's own readiness check, left out of the request log
DEFAULT_WORKERS = max(2, min(8, os.cpu_count() or 2))


class Console:
    """One line per request and per invocation on stdout (none when `quiet`); problems on stderr."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        if not self.quiet:
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
        default=DEFAULT_WORKERS,
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
        default=DEFAULT_TOKEN_SECONDS,
        help="seconds the local sign-in issuer's tokens last, with AuthMode cognito or oidc (default 3600)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print everything the functions write, their INFO logs and metric documents too (default: their "
        "warnings and errors; all of it is on the /_stack/ page either way)",
    )
    parser.add_argument(
        "--skip-signature-checks",
        action="store_true",
        help="for debugging only: the storage server lets unsigned, badly signed, expired and out-of-policy "
        "requests through, and says so on stderr for each one (default: refused, as S3 refuses them)",
    )
    parser.add_argument(
        "--skip-iam",
        action="store_true",
        help="for debugging only: the functions' AWS calls are not judged by their roles' policies, and each "
        "one says so on stderr (default: refused as IAM refuses them)",
    )
    return parser.parse_args(argv)


def edge_headers(stack: Stack, storage_endpoint: str, sign_in_origin: str | None = None) -> dict[str, str]:
    """The headers CloudFront's response-headers policy adds to every answer (page and /api alike), for
    the local stack: the template's CSP with its hosts replaced by their local stand-ins (the storage server's
    buckets, the local issuer) and nothing else changed, and no Strict-Transport-Security (browsers ignore it
    on plain HTTP, and it would pin localhost)."""
    headers = dict(stack.security_headers)
    headers.pop("Strict-Transport-Security", None)
    if "Content-Security-Policy" in headers:
        headers["Content-Security-Policy"] = local_content_security_policy(
            headers["Content-Security-Policy"], [bucket.name for bucket in stack.buckets.values()], storage_endpoint,
            sign_in_origin,
        )
    return headers


def log_invocation(
    console: Console,
    function: Function,
    event: dict,
    ms: float,
    error: FunctionError | None = None,
    attempts: int = 1,
    final: bool = True,
    retry_in: float | None = None,
) -> None:
    """A line per S3 record of an asynchronous invocation: the object, the outcome, the time taken."""
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        target = f"s3://{s3.get('bucket', {}).get('name', '')}/{unquote_plus(s3.get('object', {}).get('key', ''))}"
        prefix = f"{function.logical_id} {target}"
        if error is None:
            console.line(f"{prefix} ok {ms:.0f} ms")
        elif final:
            console.line(f"{prefix} error {ms:.0f} ms, attempt {attempts}, giving up: {error}")
        else:
            console.line(f"{prefix} error {ms:.0f} ms, attempt {attempts}, retry in {retry_in:g} s: {error}")


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


class StackError(RuntimeError):
    """The stack could not start; `exit_code` is what `python -m devstack` exits with."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class LocalStack:
    """The local stack, running in this process (the functions each in processes of their own):

        with LocalStack(port=0) as stack:
            requests.get(f"{stack.url}{HEALTH_PATH}")

    start() listens, starts the storage server, provisions the template's resources, starts the
    functions, the API and the S3 triggers, and returns once GET /api/health answers; stop() undoes it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3000,
        storage_port: int = 0,
        overrides: dict[str, str] | None = None,
        workers: int = DEFAULT_WORKERS,
        retry_delay: float = 1.0,
        verbose: bool = False,
        check_signatures: bool = True,
        check_iam: bool = True,
        token_lifetime: int = DEFAULT_TOKEN_SECONDS,
        socket_timeout: float = SOCKET_TIMEOUT,
        console: Console | None = None,
    ):
        self.host, self.port, self.storage_port = host, port, storage_port
        self.overrides = dict(overrides or {})
        self.workers, self.retry_delay, self.verbose = workers, retry_delay, verbose
        self.check_signatures, self.check_iam, self.socket_timeout = check_signatures, check_iam, socket_timeout
        self.token_lifetime = token_lifetime
        self.console = console or Console()
        self.url = self.storage_url = ""
        # The HTTP API's own endpoint (the ApiUrl output, execute-api on AWS): the routes without CloudFront.
        self.api_url = ""
        self.site_origins: tuple[str, ...] = ()
        self.stack: Stack | None = None
        self.stopping = threading.Event()
        self._gateway: Gateway | None = None
        self._serving: threading.Thread | None = None
        self._api_gateway: Gateway | None = None
        self._api_serving: threading.Thread | None = None
        self._storage: StorageServer | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._invoker: AsyncInvoker | None = None
        self._triggers: list[Trigger] = []
        self.cloudfront: LocalCloudFront | None = None  # the distribution's /img/* behaviour and its API
        self.sign_in: LocalSignIn | None = None  # the local issuer, with AuthMode cognito or oidc
        # Everything the functions wrote, as CloudWatch would keep it: logs and EMF metrics (/_stack/ shows it).
        self.telemetry = Telemetry()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()

    def start(self) -> "LocalStack":
        """Start everything, or raise StackError with everything started so far stopped again."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        try:
            self._gateway = Gateway(self.host, self.port, socket_timeout=self.socket_timeout)
        except OSError as error:
            raise StackError(
                f"cannot listen on {self.host}:{self.port}: {error.strerror or error}; try --port 0 (make dev PORT=...)"
            ) from None
        self.port = self._gateway.port
        shown_host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        self.url = f"http://{shown_host}:{self.port}"
        try:
            # Locally the page comes from this stack: its origin stands in for the deployed site's (bucket CORS).
            self.site_origins = local_site_origins(self.url)
            self.stack = read_stack(self.overrides, site_origins=self.site_origins)
        except (TemplateError, ValueError) as error:
            raise StackError(f"template.yaml: {error}", exit_code=2) from None
        try:
            functions = invoked_functions(self.stack) | edge_functions(self.stack) | \
                custom_resource_functions(self.stack)
        except TemplateError as error:
            raise StackError(f"template.yaml: {error}", exit_code=2) from None
        try:
            self._storage = StorageServer.start(
                known_credentials(self.stack.functions),
                self.storage_port,
                enforce=self.check_signatures,
                socket_timeout=self.socket_timeout,
            )
            self.storage_url, self.storage_port = self._storage.endpoint, self._storage.port
            self._triggers = provision(self._storage, self.stack)
            self.sign_in = LocalSignIn.start(self.stack, shown_host, self.site_origins, self.token_lifetime)
            self.cloudfront = LocalCloudFront(
                self.stack, shown_host, shown_host, self._storage.client("s3"),
                lambda function, event: self._pools[function].invoke(event), answer_of,
                known_credentials(self.stack.functions), self.console.line)
            self._start_functions(functions)
            # As CloudFormation, once what they refer to exists; the edge then trusts the keys they made.
            attributes = run_custom_resources(self._storage, self.stack,
                                              lambda function, event: self._pools[function].invoke(event))
            self.cloudfront.trust(self.stack, attributes)
        except (StorageError, TemplateError, FunctionError, CloudFrontFunctionFailed) as error:
            raise StackError(str(error)) from None
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # "connection pool is full" noise
        self._gateway.attach(
            Router(functions),
            self._pools,
            WEB_DIR,
            self.console.request,
            self.console.error,
            edge_headers(self.stack, self.storage_url, self.sign_in.issuer.issuer if self.sign_in else None),
        )
        self._gateway.authorizer = self.sign_in.authorizer if self.sign_in else None
        self._gateway.edge = self.cloudfront.edge
        try:
            self._gateway.origin_headers = origin_custom_headers(self.stack, f"{app.API_PREFIX}/*")
        except TemplateError as error:
            raise StackError(f"template.yaml: {error}", exit_code=2) from None
        # The one path the local stack adds, where the template serves nothing: no route, behaviour or web/ file.
        if (WEB_DIR / STACK_PAGE.strip("/")).exists() or \
                (self.cloudfront.edge and self.cloudfront.edge.behaviour_for(STACK_PAGE)) or any(
                route.path.startswith(STACK_PAGE) for function in functions.values() for route in function.routes):
            raise StackError(f"the template serves {STACK_PAGE}, the local stack's own page")
        self._gateway.stack_page = (STACK_PAGE, lambda: render_stack_page(self.telemetry, app.TITLE,
                                                                          app.FAILURE_METRICS))
        self._serving = threading.Thread(
            target=self._gateway.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True
        )
        self._serving.start()
        self._start_api_endpoint(functions)
        reserved = [t.function.reserved_concurrency or self.workers for t in self._triggers]
        workers = max(1, min([self.workers, *reserved]))
        self._invoker = AsyncInvoker(
            self._storage.client("sqs"),
            self._triggers,
            self._pools,
            workers,
            self.retry_delay,
            functools.partial(log_invocation, self.console),
            self.console.error,
        )
        self._invoker.start()
        status, body = wait_until_healthy(shown_host, self.port, self.stopping)
        if status != 200 and not self.stopping.is_set():
            raise StackError(f"GET {HEALTH_PATH} answers {status}: {body}")

    def _start_api_endpoint(self, functions: dict[str, Function]) -> None:
        """The HTTP API's own endpoint on a port of its own, as execute-api is reachable beside CloudFront: the same
        routes, functions and authorizer, without the page, the edge behaviours, their headers or the origin's."""
        self._api_gateway = Gateway(self.host, 0, socket_timeout=self.socket_timeout)
        self._api_gateway.attach(
            Router(functions), self._pools, WEB_DIR,
            lambda method, path, status, ms: self.console.request(method, f"{path} (API endpoint)", status, ms),
            self.console.error,
        )
        self._api_gateway.serves_site = False
        self._api_gateway.authorizer = self._gateway.authorizer
        self.api_url = f"{self.url.rsplit(':', 1)[0]}:{self._api_gateway.port}"
        self._api_serving = threading.Thread(
            target=self._api_gateway.serve_forever, kwargs={"poll_interval": 0.2}, name="api-endpoint", daemon=True
        )
        self._api_serving.start()

    def _iam_setup(self) -> dict | None:
        """What each function's process needs to enforce its role (devstack/iam), or None with --skip-iam."""
        if not self.check_iam:
            return None
        from .iam import render_template

        physical_ids = {logical_id: bucket.name for logical_id, bucket in self.stack.buckets.items()}
        physical_ids |= self.stack.queues
        physical_ids |= self.stack.distributions
        physical_ids |= {logical_id: secret_arn(logical_id) for logical_id in self.stack.secrets}
        return {"rendered_template": render_template(), "physical_ids": physical_ids, "parameters": self.overrides}

    def _function_output(self, function: str, line: str) -> None:
        """A line a function wrote: recorded; printed (unless the console is quiet) with --verbose or a LogLevel
        asked for, and otherwise when it is a warning, an error or not a structured line at all."""
        event = self.telemetry.write(function, line)
        if self.console.quiet:
            return
        if self.verbose or "LogLevel" in self.overrides or event.fields is None or \
                event.level in ("WARNING", "ERROR", "CRITICAL"):
            self.console.say(event.message)

    def _start_functions(self, functions: dict[str, Function]) -> None:
        iam = self._iam_setup()
        for logical_id, function in functions.items():
            local = function_credentials(logical_id).as_environment() | {
                "AWS_ENDPOINT_URL_S3": self.storage_url,
                # Any other AWS client also reaches the storage server, never a real account.
                "AWS_ENDPOINT_URL": self.storage_url,
            }
            if self.cloudfront and self.cloudfront.api_url:  # CloudFront's API: CreateInvalidation
                local["AWS_ENDPOINT_URL_CLOUDFRONT"] = self.cloudfront.api_url
            if self.sign_in:
                local |= self.sign_in.function_environment()
            self._pools[logical_id] = FunctionPool(function, lambda_environment(function, local), iam,
                                                   output=self._function_output)
        for pool in self._pools.values():  # started together above; each loads its handler meanwhile
            pool.start()

    def describe(self) -> list[str]:
        """What --verbose prints after the ready line: triggers, on-failure destinations, functions not run."""
        lines = [f"  {t.function.logical_id} <- s3://{t.bucket} via queue {t.queue_name}" for t in self._triggers]
        for logical_id, function in self.stack.functions.items():
            if function.async_invoke.on_failure_queue and logical_id in self._pools:
                lines.append(f"  {logical_id} on failure -> queue {function.async_invoke.on_failure_queue}")
            if logical_id not in self._pools:
                lines.append(f"  {logical_id} not run: no route or S3 trigger invokes it")
        if not self.check_signatures:
            lines.append("  SIGNATURE CHECKS OFF: the storage server lets unsigned and badly signed requests through")
        if not self.check_iam:
            lines.append("  IAM CHECKS OFF: the functions' AWS calls go unjudged by their roles' policies")
        return lines

    @property
    def storage_running(self) -> bool:
        return self._storage is not None and self._storage.process.poll() is None

    def client(self, service: str):
        """A client of the storage server, with the stack's own credentials."""
        return self._storage.client(service)

    def stop(self) -> bool:
        """Stop everything; False if images were still being processed."""
        self.stopping.set()
        clean = True
        if self._serving is not None:
            self._gateway.shutdown()
            self._serving = None
        if self._gateway is not None:
            self._gateway.server_close()
        if self._api_serving is not None:
            self._api_gateway.shutdown()
            self._api_serving = None
        if self._api_gateway is not None:
            self._api_gateway.server_close()
        if self._invoker is not None:
            clean = self._invoker.stop()
            self._invoker = None
        for pool in self._pools.values():
            pool.close()
        if self._storage is not None:
            self._storage.stop()
        if self.sign_in is not None:
            self.sign_in.stop()
        if self.cloudfront is not None:
            self.cloudfront.stop()
        return clean


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    stack = LocalStack(
        args.host,
        args.port,
        args.storage_port,
        parse_overrides(args.parameter_overrides),
        args.workers,
        args.retry_delay,
        args.verbose,
        check_signatures=not args.skip_signature_checks,
        check_iam=not args.skip_iam,
        token_lifetime=args.token_lifetime,
        console=console,
    )

    def on_signal(signum, _frame):
        if stack.stopping.is_set():
            console.error("stopping now")
            os._exit(130)  # the storage server and the functions notice their pipes closing and exit too
        stack.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
    except StackError as error:
        console.error(str(error))
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - e.g. a bug in the local stack itself
        traceback.print_exc()
        console.error(f"the local stack could not start: {error}")
        stack.stop()
        return 1
    try:
        if stack.stopping.is_set():
            return 0
        console.say(READY_LINE.format(url=stack.url, storage=stack.storage_url))
        console.say(f"The HTTP API's own endpoint (ApiUrl; 403 to requests that skip the site): {stack.api_url}")
        if stack.sign_in:
            console.say(f"Sign-in ({stack.stack.parameters['AuthMode']}): local issuer {stack.sign_in.issuer.issuer}, "
                        f"client {stack.sign_in.issuer.client_id}")
        if args.verbose or not (stack.check_signatures and stack.check_iam):
            for line in stack.describe():
                console.say(line)
        console.say("Press Ctrl-C to stop.")
        while not stack.stopping.wait(0.5):
            if not stack.storage_running:
                console.error("the storage server exited; stopping")
                return 1
        return 0
    finally:
        if not stack.stop():
            console.error("stopped while images were still being processed")
        if stack.stopping.is_set():
            console.say("Stopped.")


def run() -> None:
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Handler threads of abandoned requests (e.g. a ?wait= long poll) must not hold the exit up.
    os._exit(code)
