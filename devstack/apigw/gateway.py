"""The HTTP API on one machine: the template's routes become payload v2.0 events for the handlers, and
everything outside /api is served from web/.

What API Gateway's HTTP API does and this copies: route selection (most specific route first, {param}
and {param+} path variables), the v2.0 event (headers lower-cased and joined with commas, cookies,
query parameters joined with commas, binary bodies base64-encoded), the 10 MB request cap, Lambda's
6 MB invocation payload cap, and the answer built from the handler's result (statusCode, headers,
cookies, body, isBase64Encoded; any other result is a 200 JSON body)."""

import base64
import importlib.util
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from ..application import app
from ..cfn.template import LOCAL_ACCOUNT, Function
from ..cloudfront.edge import Edge
from ..lambda_.lambdas import FunctionError, FunctionPool
from .jwt_authorizer import UNAUTHORIZED_BODY, JwtAuthorizer, Unauthorized, unauthorized_headers

API_PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway's request payload quota
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous invocation payload (the whole event)
DRAIN_LIMIT = 64 * 1024 * 1024  # an oversized body up to this size is read before the 413 goes out
API_PREFIX = app.API_PREFIX
API_ID = "local"
HOP_BY_HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "te", "upgrade", "proxy-connection"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPE = re.compile(r"^(text/.*|application/(json|xml|javascript|[\w.+-]+\+(json|xml)))$")


def _mib(count: int) -> str:
    """Sizes in the binary units the API's limits are stated in: 7645428 -> "7.3 MiB"."""
    return f"{count / 1048576:.1f}".removesuffix(".0") + " MiB"


# The deployed site's files carry the Content-Type the publisher gives them: the local stack serves web/
# with the same table, the one file the publisher ships it in.
_spec = importlib.util.spec_from_file_location("web_content_types", app.WEB_CONTENT_TYPES)
web_content_types = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web_content_types)

PLACEHOLDER_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{app.TITLE}</title></head>
<body><h1>{app.TITLE}</h1><p>The local stack is running, but web/index.html does not exist yet.
The API is at <a href="{app.HEALTH_PATH}">{app.HEALTH_PATH}</a>.</p></body></html>
""".encode()


# ------------------------------------------------------------------------------ routes
@dataclass(frozen=True)
class Route:
    method: str  # or ANY
    path: str  # as the template spells it, e.g. /api/images/{id}
    function: Function

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = self.path.strip("/").split("/") if self.path.strip("/") else []
        params: dict[str, str] = {}
        for index, part in enumerate(pattern):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[part[1:-2]] = "/".join(unquote(s) for s in rest)
                return params
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                if segments[index] == "":
                    return None
                params[part[1:-1]] = unquote(segments[index])
            elif part != segments[index]:
                return None
        return params if len(pattern) == len(segments) else None

    def specificity(self) -> tuple:
        parts = self.path.strip("/").split("/")
        greedy = any(p.endswith("+}") for p in parts)
        literals = sum(1 for p in parts if not p.startswith("{"))
        return (greedy, -literals, -len(parts), self.method == "ANY")


class Router:
    def __init__(self, functions: dict[str, Function]):
        routes = [Route(r.method, r.path, f) for f in functions.values() for r in f.routes]
        self.routes = sorted(routes, key=Route.specificity)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        if raw_path.endswith("/") and raw_path != "/":
            return None  # API Gateway does not match /api/health/ to /api/health
        for route in self.routes:
            params = route.match(method, segments)
            if params is not None:
                return route, params
        return None


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


class _BadRequest(Exception):
    """Framing API Gateway refuses with 400: a bad chunk size, a Content-Length that is not one number."""


class _TooLarge(Exception):
    pass


class _Truncated(Exception):
    pass


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
            oversized = self._declared_length() > API_PAYLOAD_LIMIT
        except _BadRequest:
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
            elif (behaviour := self.server.edge.behaviour_for(raw_path) if self.server.edge else None):
                self._discard_body()
                answer = self.server.edge.serve(behaviour, self.command, raw_path, target.query,
                                                dict(self._lower_headers()), self.client_address[0])
                self._send(answer.status, answer.headers, answer.body)
            elif raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/"):
                self._discard_body()
                self._json(404, {"message": "Not Found"})  # API Gateway's own answer: no route, no function
            else:
                self._discard_body()
                self._static(raw_path)
        except _BadRequest:
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
            body = self._read_body()
        except _TooLarge:
            self._too_large_for_api()
            return
        except _Truncated:
            # The client stopped before its Content-Length: API Gateway never invokes the function then.
            self.close_connection = True
            self._send(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
            return
        request_id = _request_id()
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
            status, headers, data = _answer(result)
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
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            if name in HOP_BY_HOP:
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        source_ip = self.client_address[0]
        headers["x-forwarded-for"] = (
            f"{headers['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in headers else source_ip
        )
        headers["x-forwarded-port"] = str(self.server.port)
        headers["x-forwarded-proto"] = "http"
        headers["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        now = datetime.now(UTC)
        domain = _domain(headers.get("host") or "127.0.0.1")
        event = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": LOCAL_ACCOUNT,
                "apiId": API_ID,
                "domainName": domain,
                "domainPrefix": domain.split(".")[0],
                "http": {
                    "method": self.command,
                    "path": raw_path,
                    "protocol": self.request_version,
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.route_key,
                "stage": "$default",
                "time": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if path_params:
            event["pathParameters"] = path_params
        if body:
            text = _as_text(body, headers.get("content-type", ""))
            if text is None:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
            else:
                event["body"] = text
        return event

    def _lower_headers(self):
        for name, value in self.headers.items():
            yield name.lower(), value

    def _declared_length(self) -> int:
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return 0
        if len(lengths) > 1 or not lengths[0].strip().isdigit():
            raise _BadRequest
        return int(lengths[0])

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            if "Content-Length" in self.headers:
                raise _BadRequest  # both framings at once: how requests are smuggled
            chunks, total = [], 0
            while True:
                size_field = self.rfile.readline().split(b";")[0].strip()
                if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_field):
                    raise _BadRequest
                size = int(size_field, 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > API_PAYLOAD_LIMIT:
                    raise _TooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self._declared_length()
        if length > API_PAYLOAD_LIMIT:
            raise _TooLarge
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise _Truncated
        return body

    def _expecting_continue(self) -> bool:
        return (self.headers.get("Expect") or "").lower() == "100-continue"

    def _discard_body(self) -> None:
        length = self._declared_length()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower() or length > API_PAYLOAD_LIMIT:
            self.close_connection = True  # not worth reading; the connection goes
        elif length:
            self.rfile.read(length)

    def _too_large_for_api(self) -> None:
        # A client that sends the whole body before reading the answer would see a reset connection
        # instead of the 413 if the body stayed unread, so a body of moderate size is read and dropped.
        length = self._declared_length()
        if API_PAYLOAD_LIMIT < length <= DRAIN_LIMIT and not self._expecting_continue():
            try:
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 20))
                    if not chunk:
                        break
                    length -= len(chunk)
            except OSError:
                pass
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

    # -------------------------------------------------------------- web/
    def _static(self, raw_path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self._send(
                405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"Method not allowed\n"
            )
            return
        web_dir = self.server.web_dir
        found = _static_file(web_dir, raw_path) if web_dir else None
        if found is None and raw_path == "/" and not (web_dir and (web_dir / "index.html").exists()):
            self._send(
                200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")], PLACEHOLDER_PAGE
            )
            return
        if found is None:
            self._send(404, [("Content-Type", "text/plain; charset=utf-8")], b"Not found\n")
            return
        content_type = web_content_types.content_type(found.name)
        self._send(
            200,
            [("Content-Type", content_type), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")],
            found.read_bytes(),
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


def _answer(result) -> tuple[int, list[tuple[str, str]], bytes]:
    """A handler's result as API Gateway (payload 2.0) turns it into an HTTP answer."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status}")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    return status, headers, data


def _as_text(body: bytes, content_type: str) -> str | None:
    """The body as text when HTTP API would pass it as text; None when it would base64-encode it."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not _TEXT_TYPE.match(media_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _static_file(web_dir: Path, raw_path: str) -> Path | None:
    """The file under web/ a path names (index.html for a directory), never anything outside web/."""
    path = unquote(raw_path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." or p.startswith(".") for p in parts):
        return None
    root = web_dir.resolve()
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def _domain(host: str) -> str:
    if host.startswith("["):  # [::1]:3000
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


def _request_id() -> str:
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")
