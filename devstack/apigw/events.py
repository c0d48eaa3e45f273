"""API Gateway's HTTP API payload v2.0, both ways: the event a request becomes (headers lower-cased and joined
with commas, cookies, query parameters joined with commas, binary bodies base64-encoded), and the HTTP answer
a handler's result becomes (statusCode, headers, cookies, body, isBase64Encoded; any other result is a 200
JSON body)."""

import base64
import json
import re
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from ..cfn.template import LOCAL_ACCOUNT
from .routes import Route

API_ID = "local"
HOP_BY_HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "te", "upgrade", "proxy-connection"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPE = re.compile(r"^(text/.*|application/(json|xml|javascript|[\w.+-]+\+(json|xml)))$")


def http_event(
    route: Route, path_params: dict[str, str], method: str, raw_path: str, raw_query: str, protocol: str,
    header_items: Iterable[tuple[str, str]], body: bytes, request_id: str, source_ip: str, port: int,
) -> dict:
    """The payload v2.0 event API Gateway's HTTP API sends a function for one request."""
    headers: dict[str, str] = {}
    for name, value in header_items:
        name = name.lower()
        if name in HOP_BY_HOP:
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    headers["x-forwarded-for"] = (
        f"{headers['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in headers else source_ip
    )
    headers["x-forwarded-port"] = str(port)
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
                "method": method,
                "path": raw_path,
                "protocol": protocol,
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


def http_answer(result) -> tuple[int, list[tuple[str, str]], bytes]:
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


def _domain(host: str) -> str:
    if host.startswith("["):  # [::1]:3000
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


def new_request_id() -> str:
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")
