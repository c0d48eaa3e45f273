"""What CloudFront does for the behaviours that reach an origin group (GET /img/...) or one bucket (GET
/status/...): the viewer-request function run in Node, a cache keyed by the normalised path with CloudFront's
X-Cache header, the origin group (the bucket first, failing over to the function URL on the template's statuses),
conditional GETs (a viewer's If-None-Match naming the object's ETag gets 304, no body) and invalidation.

Deployed, the distribution reads the bucket with Origin Access Control and may not list it, so a missing key
answers 403; locally the edge reads with the stack's credentials and turns a missing key into that same 403.
The edge reads only the keys the buckets' policies let the distribution read (`readable`, from
distribution.distribution_reads): any other answers 403, as S3 answers Origin Access Control.
Errors are not cached here (CloudFront keeps them ErrorCachingMinTTL, 10 s by default): a local answer is
never staler than a deployed one."""

import base64
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl

from botocore.exceptions import ClientError

from .distribution import Behaviour, Origin
from .functions import CloudFrontFunction, FunctionFailed
from .signed import check_signed_cookies

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*([0-9]+)", re.IGNORECASE)
# What CloudFront passes on from the origin's answer (the rest of S3's own headers are not the page's business).
_ORIGIN_HEADERS = ("content-type", "cache-control", "etag", "last-modified", "content-disposition", "location",
                   "retry-after")


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Cached:
    answer: Answer
    stored: float
    ttl: int


@dataclass
class Edge:
    """The origin-group behaviours of one distribution. `invoke(function, event)` calls a function's handler
    as its URL does; `s3` reads the buckets."""

    distribution_id: str
    domain: str
    behaviours: list[Behaviour]
    functions: dict[str, CloudFrontFunction]
    s3: object
    invoke: Callable[[str, dict], dict]
    answer_of: Callable[[dict], tuple[int, list[tuple[str, str]], bytes]]
    clock: Callable[[], float] = time.time
    log: Callable[[str], None] = lambda line: None  # one line per origin request: which origin, what it answered
    # Each trusted key group's keys (logical id -> {key id: public key PEM}), once the stack's custom resources
    # made them (LocalCloudFront.trust); a behaviour whose group is not here refuses every request.
    key_groups: dict[str, dict[str, str]] = field(default_factory=dict)
    # Object ARN patterns the distribution may read (bucket policies); None reads anything (unit tests' fakes).
    readable: tuple[str, ...] | None = None
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def behaviour_for(self, path: str) -> Behaviour | None:
        return next((behaviour for behaviour in self.behaviours if behaviour.matches(path)), None)

    def serve(self, behaviour: Behaviour, method: str, path: str, query: str, headers: dict[str, str],
              client_ip: str) -> Answer:
        request_id = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
        if method not in behaviour.allowed_methods:
            refused = Answer(403, [("Content-Type", "text/plain")], b"This distribution is not configured to "
                             b"allow the HTTP request method that was used for this request.")
            return _tagged(refused, "Error", request_id)
        if behaviour.trusted_key_groups:  # checked first: the viewer-request function never sees a refused request
            trusted = {key_id: pem for group in behaviour.trusted_key_groups
                       for key_id, pem in self.key_groups.get(group, {}).items()}
            url = f"http://{headers.get('host', self.domain)}{path}" + (f"?{query}" if query else "")
            cookies = {name: item["value"] for name, item in _cookies(headers.get("cookie", "")).items()}
            refused = check_signed_cookies(cookies, url, client_ip, trusted, self.clock())
            if refused is not None:
                return _tagged(Answer(403, [("Content-Type", "text/xml")], refused.body()), "Error", request_id)
        request = {"method": method, "uri": path, "querystring": _querystring(query),
                   "headers": {name: {"value": value} for name, value in headers.items() if name != "cookie"},
                   "cookies": _cookies(headers.get("cookie", ""))}
        if behaviour.viewer_request:
            event = {"version": "1.0", "context": {"distributionDomainName": self.domain, "distributionId":
                                                   self.distribution_id, "eventType": "viewer-request",
                                                   "requestId": request_id},
                     "viewer": {"ip": client_ip}, "request": request}
            try:
                returned = self.functions[behaviour.viewer_request].run(event)
            except FunctionFailed:
                return _tagged(Answer(503, [("Content-Type", "text/plain")], b"The CloudFront function failed."),
                               "FunctionExecutionError", request_id)
            if "statusCode" in returned:
                return _tagged(_generated(returned), "FunctionGeneratedResponse", request_id)
            request = returned
        key = request["uri"]  # the template's cache policies key on the path alone (distribution.py checks)
        with self._lock:
            cached = self._cache.get(key)
            if cached and self.clock() - cached.stored < cached.ttl:
                age = int(self.clock() - cached.stored)
                hit = Answer(cached.answer.status, [*cached.answer.headers, ("Age", str(age))], cached.answer.body)
                return _tagged(_conditional(hit, headers), "Hit", request_id)
        answer = self._from_origins(behaviour, request, headers, client_ip, request_id)
        if answer.status == 200:
            ttl = behaviour.cache.ttl(_max_age(answer))
            if ttl > 0:
                with self._lock:
                    self._cache[key] = _Cached(answer, self.clock(), ttl)
        return _tagged(_conditional(answer, headers), "Miss" if answer.status < 400 else "Error", request_id)

    def invalidate(self, paths: list[str]) -> int:
        """Drop what the paths name (a trailing * matches any rest, as CloudFront's invalidation paths do)."""
        with self._lock:
            gone = [key for key in self._cache if any(fnmatchcase(key, path) if path.endswith("*") else key == path
                                                       for path in paths)]
            for key in gone:
                del self._cache[key]
        return len(gone)

    def cached_paths(self) -> list[str]:
        with self._lock:
            return sorted(self._cache)

    # ------------------------------------------------------------------ origins
    def _from_origins(self, behaviour: Behaviour, request: dict, headers: dict[str, str], client_ip: str,
                      request_id: str) -> Answer:
        answer = None
        for origin in behaviour.origins:
            answer = self._fetch(origin, request, headers, client_ip, request_id)
            self.log(f"CloudFront {request['method']} {request['uri']} -> {origin.id} {answer.status}")
            if answer.status not in behaviour.failover_statuses:
                return answer
        return answer

    def _fetch(self, origin: Origin, request: dict, headers: dict[str, str], client_ip: str,
               request_id: str) -> Answer:
        if origin.bucket is not None:
            return self._from_bucket(origin.bucket, request["uri"][1:])
        if origin.function is not None:
            return self._from_function(origin.function, request, headers, client_ip, request_id)
        raise ValueError(f"origin {origin.id} is neither a bucket nor a function URL")

    def _from_bucket(self, bucket: str, key: str) -> Answer:
        if self.readable is not None and not any(fnmatchcase(f"arn:aws:s3:::{bucket}/{key}", pattern)
                                                 for pattern in self.readable):
            return Answer(403, [("Content-Type", "application/xml")], b"")  # AccessDenied: no policy lets it read
        try:
            found = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            # No s3:ListBucket for the distribution: S3 answers a missing key with 403.
            return Answer(403 if status == 404 else status, [("Content-Type", "application/xml")], b"")
        raw = {name.lower(): value for name, value in found["ResponseMetadata"]["HTTPHeaders"].items()}
        return Answer(200, [(name.title(), raw[name]) for name in _ORIGIN_HEADERS if name in raw], found["Body"].read())

    def _from_function(self, function: str, request: dict, headers: dict[str, str], client_ip: str,
                       request_id: str) -> Answer:
        """Invoke the function as its URL does for CloudFront's signed origin request (payload 2.0)."""
        host = f"{function.lower()}.lambda-url.us-east-1.on.aws"
        now = self.clock()
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": request["uri"], "rawQueryString": "",
            "headers": {"host": host, "user-agent": "Amazon CloudFront", "via": f"2.0 {self.domain} (CloudFront)",
                        "x-amz-cf-id": request_id, "x-forwarded-for": client_ip, "x-forwarded-proto": "https"},
            "requestContext": {
                "accountId": "anonymous", "apiId": function.lower(), "domainName": host,
                "domainPrefix": function.lower(), "requestId": request_id, "routeKey": "$default",
                "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
                "http": {"method": request["method"], "path": request["uri"], "protocol": "HTTP/1.1",
                         "sourceIp": client_ip, "userAgent": "Amazon CloudFront"},
            },
            "isBase64Encoded": False,
        }
        try:
            status, answer_headers, body = self.answer_of(self.invoke(function, event))
        except Exception:  # noqa: BLE001 - a failed origin is CloudFront's 502, whatever failed
            return Answer(502, [("Content-Type", "text/plain")], b"The origin failed.")
        lowered = {name.lower(): value for name, value in answer_headers}
        return Answer(status, [(name.title(), lowered[name]) for name in _ORIGIN_HEADERS if name in lowered], body)


def _tagged(answer: Answer, outcome: str, request_id: str) -> Answer:
    """The answer as the viewer gets it (a new one: what the cache holds stays untagged)."""
    return Answer(answer.status, [*answer.headers, ("X-Cache", f"{outcome} from cloudfront"),
                                  ("Via", "1.1 local.cloudfront.net (CloudFront)"), ("X-Amz-Cf-Id", request_id)],
                  answer.body)


def _conditional(answer: Answer, headers: dict[str, str]) -> Answer:
    """A 200 whose ETag the viewer's If-None-Match names becomes 304 with no body, as CloudFront answers it."""
    wanted = headers.get("if-none-match")
    etag = next((value for name, value in answer.headers if name.lower() == "etag"), None)
    if answer.status != 200 or not wanted or etag is None:
        return answer
    named = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if "*" not in named and etag.removeprefix("W/") not in named:
        return answer
    kept = [(name, value) for name, value in answer.headers
            if name.lower() in ("etag", "cache-control", "last-modified", "age")]
    return Answer(304, kept, b"")


def _generated(response: dict) -> Answer:
    headers = [(name.title(), str(header.get("value", ""))) for name, header in (response.get("headers") or {}).items()]
    body = response.get("body") or ""
    if isinstance(body, dict):
        data = body.get("data", "")
        raw = base64.b64decode(data) if body.get("encoding") == "base64" else str(data).encode("utf-8")
    else:
        raw = str(body).encode("utf-8")
    return Answer(int(response["statusCode"]), headers, raw)


def _max_age(answer: Answer) -> int | None:
    control = next((value for name, value in answer.headers if name.lower() == "cache-control"), "")
    match = _MAX_AGE.search(control)
    return int(match[1]) if match else None


def _querystring(query: str) -> dict:
    result: dict = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        result.setdefault(name, {"value": value, "multiValue": []})["multiValue"].append({"value": value})
    return {name: ({"value": item["value"]} if len(item["multiValue"]) == 1 else item) for name, item in result.items()}


def _cookies(header: str) -> dict:
    cookies = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = {"value": value}
    return cookies
