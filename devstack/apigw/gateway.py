"""The HTTP API on one machine: the server, which hands each request to its route's function, and everything
outside /api to the site's files.

What API Gateway's HTTP API does and this copies: route selection (routes.py), the 10 MB request cap and
request framing (framing.py), the payload v2.0 event and the answer built from the handler's result
(events.py), Lambda's 6 MB invocation payload cap, the JWT authorizer (jwt_authorizer.py); the site's files
as CloudFront serves them (static.py)."""

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ..application import app
from ..cloudfront.edge import Edge
from ..lambda_.lambdas import FunctionError, FunctionPool
from .events import http_answer, http_event, new_request_id
from .framing import (
    BadRequest,
    TooLarge,
    Truncated,
    declared_length,
    discard_body,
    drain,
    expecting_continue,
    read_body,
)
from .jwt_authorizer import UNAUTHORIZED_BODY, JwtAuthorizer, Unauthorized, unauthorized_headers
from .routes import Route, Router
from .static import static_answer

__all__ = ["Gateway", "Router"]

API_PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway's request payload quota
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous invocation payload (the whole event)
DRAIN_LIMIT = 64 * 1024 * 1024  # an oversized body up to this size is read before the 413 goes out
API_PREFIX = app.API_PREFIX


def _mib(count: int) -> str:
    """Sizes in the binary units the API's limits are stated in: 7645428 -> "7.3 MiB"."""
    return f"{count / 1048576:.1f}".removesuffix(".0") + " MiB"


# ------------------------------------------------------------------------------ server
class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, socket_timeout: float | None = None):
        """`socket_timeout`: seconds a connection may stay silent (idle, or stalled mid-request) before it is
        closed, so half-open connections cannot hold the server's threads."""
        handler = type("RequestHandler", (_RequestHandler,), {"timeout": socket_timeout})
        super().__init__((host, port), handler)
        self.router: Router | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.web_dir: Path | None = None
        self.log_request = lambda method, path, status, ms: None
        self.log_error = lambda text: None
        self.edge_headers: dict[str, str] = {}
        self.authorizer: JwtAuthorizer | None = None  # API Gateway's JWT authorizer (AuthMode cognito, oidc)
        self.edge: Edge | None = None  # CloudFront's behaviours with an origin group (/img/*), before web/
        # The local stack's own page (devstack/cloudwatch/page.py): its path and what renders it. Nothing on
        # AWS answers there; the template serves no path that starts with it (devstack/stack.py checks).
        self.stack_page: tuple[str, Callable[[], bytes]] | None = None
        # The site's server stands for CloudFront too: what its API origin adds to each /api request it forwards
        # (OriginCustomHeaders, e.g. the origin secret), replacing a viewer's header of the same name.
        self.origin_headers: dict[str, str] = {}
        # False for the HTTP API's own endpoint (execute-api): the routes only, no page, no edge behaviour.
        self.serves_site = True

    @property
    def port(self) -> int:
        return self.server_address[1]

    def attach(
        self,
        router: Router,
        pools: dict[str, FunctionPool],
        web_dir: Path,
        log_request,
        log_error,
        edge_headers: dict[str, str] | None = None,
    ) -> None:
        """`edge_headers`: added to every answer, replacing any of the same name (what CloudFront's
        response-headers policy does with Override: true)."""
        self.router, self.pools, self.web_dir = router, pools, web_dir
        self.log_request, self.log_error = log_request, log_error
        self.edge_headers = dict(edge_headers or {})


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Gateway

    def version_string(self) -> str:
        return "devstack"

    def log_message(self, format, *args):  # noqa: A002 - the stack logs one line per request itself
        pass

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it (curl asks first for bodies over 1 MB).
        try:
            oversized = declared_length(self.headers) > API_PAYLOAD_LIMIT
        except BadRequest:
            oversized = False  # answered 400 once the request is handled
        if oversized:
            self._started = time.monotonic()
            self._too_large_for_api()
            self._log(urlsplit(self.path).path)
            return False
        return super().handle_expect_100()

    def do_GET(self):
        self._handle()

    # Every method is routed, so one without a route gets the API's JSON 404, never the server's HTML 501.
    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = do_CONNECT = do_QUERY = do_GET

    # -------------------------------------------------------------- dispatch
    def _handle(self) -> None:
        self._started = time.monotonic()
        self._status = 0
        target = urlsplit(self.path)
        raw_path = target.path or "/"
        try:
            matched = self.server.router.match(self.command, raw_path) if self.server.router else None
            if matched:
                self._api(*matched, raw_path, target.query)
            elif not self.server.serves_site:
                self._discard_body()
                self._json(404, {"message": "Not Found"})  # API Gateway's own answer: no route, no function
            elif (behaviour := self.server.edge.behaviour_for(raw_path) if self.server.edge else None):
                self._discard_body()
                answer = self.server.edge.serve(behaviour, self.command, raw_path, target.query,
                                                dict(self._lower_headers()), self.client_address[0])
                self._send(answer.status, answer.headers, answer.body)
            elif raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/"):
                self._discard_body()
                self._json(404, {"message": "Not Found"})  # API Gateway's own answer: no route, no function
            elif self.server.stack_page and raw_path == self.server.stack_page[0] and self.command in ("GET", "HEAD"):
                self._discard_body()
                self._send(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                           self.server.stack_page[1]())
            else:
                self._discard_body()
                self._send(*static_answer(self.server.web_dir, self.command, raw_path))
        except BadRequest:
            self.close_connection = True
            self._json(400, {"message": "Bad Request"})
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 - a bug here must not take the connection down silently
            self.server.log_error(f"{self.command} {raw_path} failed in the local stack: {error!r}")
            self.close_connection = True
            if not self._status:
                try:
                    self._send(500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}')
                except OSError:
                    pass
        finally:
            self._log(raw_path)

    def _log(self, path: str) -> None:
        if self.headers.get("X-Devstack-Probe"):
            return  # the stack's own readiness check
        self.server.log_request(self.command, path, self._status, (time.monotonic() - self._started) * 1000)

    # -------------------------------------------------------------- API
    def _api(self, route: Route, path_params: dict[str, str], raw_path: str, raw_query: str) -> None:
        try:
            body = read_body(self.headers, self.rfile, API_PAYLOAD_LIMIT)
        except TooLarge:
            self._too_large_for_api()
            return
        except Truncated:
            # The client stopped before its Content-Length: API Gateway never invokes the function then.
            self.close_connection = True
            self._send(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
            return
        request_id = new_request_id()
        authorizer = self.server.authorizer
        try:
            claims = authorizer.authorize(route.method, route.path, dict(self._lower_headers())) if authorizer else None
        except Unauthorized as error:
            self._send(401, [*unauthorized_headers(error), ("apigw-requestid", request_id)], UNAUTHORIZED_BODY)
            return
        event = self._event(route, path_params, raw_path, raw_query, body, request_id)
        if claims is not None:
            event["requestContext"]["authorizer"] = claims
        event_size = len(json.dumps(event))
        if event_size > LAMBDA_PAYLOAD_LIMIT:
            self._json(
                413,
                {
                    "error": {
                        "code": "payload_too_large",
                        "message": (
                            f"This request's {_mib(len(body))} body reaches Lambda base64-encoded, as a "
                            f"{_mib(event_size)} event; Lambda takes at most {_mib(LAMBDA_PAYLOAD_LIMIT)}. "
                            f"{app.LARGE_UPLOADS_ADVICE[0].upper()}{app.LARGE_UPLOADS_ADVICE[1:]}."
                        ),
                    }
                },
                {"apigw-requestid": request_id},
            )
            return
        try:
            result = self.server.pools[route.function.logical_id].invoke(event)
            status, headers, data = http_answer(result)
        except FunctionError as error:
            self.server.log_error(
                f"{route.function.logical_id} failed on {route.route_key}: {error}\n" + "".join(error.stack_trace)
            )
            status, headers, data = 500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        except (ValueError, TypeError) as error:
            self.server.log_error(f"{route.function.logical_id} returned an answer API Gateway cannot use: {error}")
            status, headers, data = 500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        self._send(status, headers + [("apigw-requestid", request_id)], data)

    def _event(
        self, route: Route, path_params: dict[str, str], raw_path: str, raw_query: str, body: bytes, request_id: str
    ) -> dict:
        """The payload v2.0 event of this request."""
        return http_event(
            route, path_params, self.command, raw_path, raw_query, self.request_version, self._forwarded_headers(),
            body, request_id, source_ip=self.client_address[0], port=self.server.port,
        )

    def _forwarded_headers(self) -> list[tuple[str, str]]:
        """The request's headers as they reach API Gateway: a viewer's, with the origin's custom headers in place
        of any of the same name (CloudFront replaces them; on the API's own endpoint there are none)."""
        added = self.server.origin_headers
        replaced = {name.lower() for name in added}
        return [*((n, v) for n, v in self.headers.items() if n.lower() not in replaced), *added.items()]

    def _lower_headers(self):
        for name, value in self.headers.items():
            yield name.lower(), value

    def _discard_body(self) -> None:
        if not discard_body(self.headers, self.rfile, API_PAYLOAD_LIMIT):
            self.close_connection = True  # not worth reading; the connection goes

    def _too_large_for_api(self) -> None:
        # A client that sends the whole body before reading the answer would see a reset connection
        # instead of the 413 if the body stayed unread, so a body of moderate size is read and dropped.
        length = declared_length(self.headers)
        if API_PAYLOAD_LIMIT < length <= DRAIN_LIMIT and not expecting_continue(self.headers):
            drain(self.rfile, length)
        self.close_connection = True
        self._json(
            413,
            {
                "error": {
                    "code": "payload_too_large",
                    "message": (
                        f"API Gateway takes request bodies of at most {_mib(API_PAYLOAD_LIMIT)}; "
                        f"{app.LARGE_UPLOADS_ADVICE}."
                    ),
                }
            },
        )

    # -------------------------------------------------------------- answers
    def _json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self._send(status, [("Content-Type", "application/json"), *(headers or {}).items()], data)

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self._status = status
        self.send_response(status)
        edge = self.server.edge_headers
        replaced = {"content-length", "connection", "transfer-encoding", "date", "server"} | {n.lower() for n in edge}
        for name, value in [*((n, v) for n, v in headers if n.lower() not in replaced), *edge.items()]:
            self.send_header(name, value)
        bodiless = status in (204, 304) or 100 <= status < 200
        if not bodiless:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(data)


