"""The storage server: moto's S3 and SQS in server mode, in a child process of the stack.

The parent (`StorageServer`) starts `python -m devstack.s3.storage`, reads the port it bound from its
first line of output, and stops it with SIGTERM. The child also exits when its stdin closes, so it
never outlives the stack, not even one killed with SIGKILL.

moto enforces none of S3's access rules; a WSGI layer in front of it (`S3Rules`) does, before moto sees
the request:
- every request must be signed by a known key (SigV4 headers or a pre-signed URL, devstack/s3/sigv4.py) or
  be a pre-signed POST whose policy holds (devstack/s3/post_policy.py); anything else is 403, as from a
  bucket that blocks public access. Only CORS preflights go unsigned, as in S3;
- CORS follows the bucket's rules with S3's exact origin matching (devstack/s3/cors.py), on every answer,
  POST uploads and errors included;
- a Content-Length that is not one plain number is 400, and idle connections are closed;
- moto publishes an object's event notification before it stores the object's metadata, so a fast
  consumer could read an original without its processing options; here events leave after the request.
With `--skip-signature-checks`, a request that fails a check is let through and a line on stderr says so.
"""

import argparse
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from urllib.parse import unquote
from xml.sax.saxutils import escape

import boto3
from botocore.config import Config as BotoConfig

from ..cfn.template import LOCAL_REGION
from ..iam.identity import STACK_CREDENTIALS, Credentials
from . import cors
from .post_policy import verify_post
from .sigv4 import AuthError, Request, access_denied, is_signed, verify

READY_PREFIX = "storage listening on port "
STORAGE_HOST = "127.0.0.1"
CREDENTIALS_VARIABLE = "DEVSTACK_STORAGE_CREDENTIALS"  # the known keys, handed to the child as JSON
SOCKET_TIMEOUT = 30.0  # seconds a connection may sit idle (or a client stall mid-request) before it is closed


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
    def start(
        cls,
        credentials: dict[str, Credentials],
        port: int = 0,
        enforce: bool = True,
        socket_timeout: float = SOCKET_TIMEOUT,
        timeout: float = 30.0,
    ) -> "StorageServer":
        """`credentials`: access key -> credentials, every key whose signatures the server accepts."""
        known = [[c.access_key, c.secret_key, c.session_token] for c in credentials.values()]
        env = {
            **os.environ,
            "MOTO_DISABLE_GLOBAL_CORS": "1",
            "PYTHONUNBUFFERED": "1",
            CREDENTIALS_VARIABLE: json.dumps(known),
        }
        arguments = ["--host", STORAGE_HOST, "--port", str(port), "--socket-timeout", str(socket_timeout)]
        if not enforce:
            arguments.append("--skip-signature-checks")
        # Its own session: a Ctrl-C in the terminal reaches the stack, which then stops this cleanly.
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.s3.storage", *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
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

    def client(self, service: str, credentials: Credentials = STACK_CREDENTIALS):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=LOCAL_REGION,
            **credentials.as_client_arguments(),
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


# ------------------------------------------------------------------------------ child side
def _serve(host: str, port: int, rules: "S3Rules", socket_timeout: float) -> None:
    import logging

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"  # one connection per client thread instead of one per request
        timeout = socket_timeout  # a silent or stalled client does not hold a thread for ever

        def make_environ(self):
            environ = super().make_environ()
            # The environ keeps only the last Content-Length; S3 refuses a request that sends two.
            environ["devstack.content_lengths"] = self.headers.get_all("Content-Length") or []
            return environ

    server = make_server(host, port, rules, threaded=True, request_handler=KeepAliveHandler)
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


def _s3_error(error: AuthError) -> bytes:
    request_id = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{secrets.token_urlsafe(32)}</HostId></Error>"
    ).encode()


class S3Rules:
    """WSGI middleware in front of moto: S3's authentication, POST policies, CORS and request framing,
    and notifications after the request."""

    def __init__(self, app, known: dict[str, Credentials], enforce: bool = True, log=None):
        self.app = app
        self.known = known
        self.enforce = enforce
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
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
        origin = environ.get("HTTP_ORIGIN")
        method = environ.get("REQUEST_METHOD", "GET")
        bucket = _bucket_name(environ)
        lengths = environ.get("devstack.content_lengths", [])
        if len(lengths) > 1 or (lengths and not lengths[0].strip().isdigit()):
            return self._refuse(environ, start_response, AuthError(400, "BadRequest", "An error occurred when "
                                                                   "parsing the HTTP request Content-Length."))
        if method == "OPTIONS" and origin:
            return self._preflight(environ, start_response, bucket, origin)
        try:
            self._authenticate(environ, bucket)
        except AuthError as error:
            if self.enforce:
                return self._refuse(environ, start_response, error)
            self.log(
                f"SIGNATURE CHECKS OFF (--skip-signature-checks): let through {method} {environ.get('RAW_URI')}, "
                f"which S3 refuses: {error}"
            )
        if origin:
            start_response = self._with_cors(start_response, bucket, origin, method)
        self.local.deferred = []
        try:
            return self.app(environ, start_response)
        finally:
            deferred, self.local.deferred = self.local.deferred, None
            for args, kwargs in deferred:
                self._send_event(*args, **kwargs)

    # -------------------------------------------------------------- authentication
    def _authenticate(self, environ, bucket: str) -> None:
        now = datetime.now(UTC)
        content_type = environ.get("CONTENT_TYPE", "")
        if environ["REQUEST_METHOD"] == "POST" and content_type.startswith("multipart/form-data") and _is_bucket_path(
            environ
        ):
            fields, file_size, file_name = _form(environ, _read_body(environ))
            verify_post(bucket, fields, file_size, file_name, self.known, now)
            return
        request = _request(environ, b"")
        if not is_signed(request):
            raise access_denied()  # the body stays unread: the refusal closes the connection
        if "authorization" in request.headers:
            request = _request(environ, _read_body(environ))  # the payload's hash is signed
        verify(request, self.known, now)

    # -------------------------------------------------------------- answers
    def _refuse(self, environ, start_response, error: AuthError):
        body = _s3_error(error)
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        origin = environ.get("HTTP_ORIGIN")
        if origin:
            headers += cors.response_headers(self._cors_rules(_bucket_name(environ)), origin, environ["REQUEST_METHOD"])
        start_response(f"{error.status} {_REASONS.get(error.status, 'Error')}", headers)
        return [body]

    def _preflight(self, environ, start_response, bucket: str, origin: str):
        headers = cors.preflight_headers(
            self._cors_rules(bucket),
            origin,
            environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", ""),
            environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""),
        )
        if headers is None:
            return self._refuse(environ, start_response, AuthError(403, "AccessForbidden",
                                                                   "CORSResponse: This CORS request is not allowed. "
                                                                   "This is usually because the evaluation of Origin, "
                                                                   "request method / Access-Control-Request-Method or "
                                                                   "Access-Control-Request-Headers are not whitelisted "
                                                                   "by the resource's CORS spec."))
        start_response("200 OK", [*headers, ("Content-Length", "0")])
        return [b""]

    def _with_cors(self, start_response, bucket: str, origin: str, method: str):
        def start(status, headers, exc_info=None):
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept + cors.response_headers(self._cors_rules(bucket), origin, method),
                                  exc_info)

        return start

    @staticmethod
    def _cors_rules(bucket_name: str) -> list[dict]:
        """The bucket's CORS rules as the S3 API spells them, from moto's store (none for an unknown bucket)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        try:
            bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket_name)
        except Exception:  # noqa: BLE001 - no such bucket: no CORS
            return []
        return [
            {
                "AllowedOrigins": list(rule.allowed_origins or []),
                "AllowedMethods": list(rule.allowed_methods or []),
                "AllowedHeaders": list(rule.allowed_headers or []),
                "ExposeHeaders": list(rule.exposed_headers or []),
                "MaxAgeSeconds": rule.max_age_seconds,
            }
            for rule in bucket.cors
        ]


_REASONS = {400: "Bad Request", 403: "Forbidden"}


def _bucket_name(environ) -> str:
    return unquote(environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0])


def _is_bucket_path(environ) -> bool:
    """A path-style bucket URL (/bucket or /bucket/), where browser-based uploads go."""
    parts = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)
    return bool(parts[0]) and (len(parts) == 1 or parts[1] == "")


def _read_body(environ) -> bytes:
    """The whole body, read once; moto then reads it again from a copy."""
    if "devstack.body" in environ:
        return environ["devstack.body"]
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "").strip()
    if length.isdigit():
        body = stream.read(int(length)) if int(length) else b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["devstack.body"] = body
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _request(environ, body: bytes) -> Request:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    raw_path, _, raw_query = environ.get("RAW_URI", environ.get("PATH_INFO", "/")).partition("?")
    return Request(environ["REQUEST_METHOD"], raw_path, raw_query, headers, body)


def _form(environ, body: bytes) -> tuple[dict[str, str], int, str]:
    """The form's fields (without the file), the file's size and name, as S3 reads a POST upload."""
    from werkzeug.formparser import parse_form_data

    copy = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    copy.pop("wsgi.input_terminated", None)
    _, form, files = parse_form_data(copy)
    upload = files.get("file")
    if upload is None:
        raise AuthError(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    size = len(upload.read())
    return {name: form[name] for name in form}, size, upload.filename or ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="moto's S3 and SQS for the local stack (started by python -m devstack)"
    )
    parser.add_argument("--host", default=STORAGE_HOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--socket-timeout", type=float, default=SOCKET_TIMEOUT)
    parser.add_argument("--skip-signature-checks", action="store_true")
    args = parser.parse_args(argv)
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "1"  # read when moto.settings is imported
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    known = {
        key: Credentials(key, secret, token) for key, secret, token in json.loads(os.environ[CREDENTIALS_VARIABLE])
    }
    rules = S3Rules(DomainDispatcherApplication(create_backend_app), known, enforce=not args.skip_signature_checks)
    _serve(args.host, args.port, rules, args.socket_timeout)


if __name__ == "__main__":
    main()
