"""The part of CloudFront's API the stack's functions call: CreateInvalidation, on a server of its own (as the
storage server stands for S3), so the site's origin serves nothing the deployed site does not.

Requests are checked as AWS checks them: SigV4 with a known key (devstack/sigv4.py); the caller's IAM policy
was already applied in its own process before the call was sent (devstack/iam)."""

import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ..iam.identity import Credentials
from ..s3.sigv4 import AuthError, Request, verify

_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
_PATH = "/2020-05-31/distribution/{id}/invalidation"


class CloudFrontApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, distribution_id: str, invalidate: Callable[[list[str]], int],
                 known: Mapping[str, Credentials]):
        super().__init__((host, 0), _Handler)
        self.distribution_id = distribution_id
        self.invalidate = invalidate
        self.known = dict(known)
        self.invalidations: dict[str, str] = {}  # CallerReference -> invalidation id
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "CloudFrontApi":
        self._thread = threading.Thread(target=self.serve_forever, name="cloudfront-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def create_invalidation(self, reference: str, paths: list[str]) -> tuple[str, bool]:
        """(invalidation id, created now); a CallerReference seen before answers its first invalidation."""
        with self._lock:
            if reference in self.invalidations:
                return self.invalidations[reference], False
            invalidation_id = "I" + secrets.token_hex(7).upper()
            self.invalidations[reference] = invalidation_id
        self.invalidate(paths)
        return invalidation_id, True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CloudFrontApi

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = urlsplit(self.path)
        request = Request(self.command, target.path, target.query, {k.lower(): v for k, v in self.headers.items()},
                          body)
        try:
            verify(request, self.server.known, datetime.now(UTC))
        except AuthError as error:
            return self._error(error.status, error.code, error.message)
        if target.path != _PATH.format(id=self.server.distribution_id):
            return self._error(404, "NoSuchDistribution", "The specified distribution does not exist.")
        try:
            batch = ET.fromstring(body)
            paths = [item.text or "" for item in batch.iter(f"{{{_NS}}}Path")]
            reference = batch.findtext(f"{{{_NS}}}CallerReference") or ""
        except ET.ParseError:
            return self._error(400, "MalformedInput", "The XML document is malformed.")
        if not paths or not reference or any(not path.startswith("/") for path in paths):
            return self._error(400, "InvalidArgument", "Each path must start with /, and a CallerReference is needed.")
        invalidation_id, created = self.server.create_invalidation(reference, paths)
        items = "".join(f"<Path>{path}</Path>" for path in paths)
        answer = (f'<?xml version="1.0"?><Invalidation xmlns="{_NS}"><Id>{invalidation_id}</Id>'
                  f"<Status>Completed</Status><CreateTime>{datetime.now(UTC).isoformat()}</CreateTime>"
                  f"<InvalidationBatch><Paths><Quantity>{len(paths)}</Quantity><Items>{items}</Items></Paths>"
                  f"<CallerReference>{reference}</CallerReference></InvalidationBatch></Invalidation>").encode()
        location = f"https://cloudfront.amazonaws.com{target.path}/{invalidation_id}"
        self._send(201 if created else 200, answer, [("Location", location)])

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, (f'<?xml version="1.0"?><ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type>'
                            f"<Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>").encode())

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
