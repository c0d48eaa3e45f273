"""The one mapping from errors to HTTP answers, shared by every API function."""

import base64
import hmac
import json
import re
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .config import ConfigError, get_config
from .errors import AppError, BadRequest, Forbidden

logger = Logger()
_DECIMAL = re.compile(r"[0-9]{1,12}")


def json_response(status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json" if body is not None else None,
        body=json.dumps(body, separators=(",", ":")) if body is not None else "",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


# The header CloudFront's API origin adds to every request it forwards (template.yaml, ApiOrigin), replacing any
# a viewer sent; its value is the stack's ApiOriginSecret, which the API functions get as ORIGIN_SECRET.
ORIGIN_HEADER = "x-origin-verify"


def make_resolver(
    kind: type[APIGatewayHttpResolver] | None = None,
    on_refused: Callable[[AppError], None] | None = None,
    check_origin_header: bool = True,
) -> APIGatewayHttpResolver:
    """An HTTP API router (or another Powertools resolver: `kind`) whose errors all come out as
    {"error": {"code", "message"}}; `on_refused` sees each refusal (a function's metrics).

    With `check_origin_header` (the API functions) every request must carry the origin secret CloudFront sends
    (`require_origin_secret`); a function CloudFront reaches another way (a function URL behind Origin Access
    Control, which IAM guards) passes False."""
    resolver = (kind or APIGatewayHttpResolver)()
    if check_origin_header:
        resolver.use(middlewares=[require_origin_secret])

    @resolver.exception_handler(AppError)
    def app_error(error: AppError) -> Response:
        logger.info("request refused", extra={"code": error.code, "status": error.status})
        if on_refused is not None:
            on_refused(error)
        return json_response(error.status, error_body(error.code, error.message))

    @resolver.not_found
    def no_route(_: NotFoundError) -> Response:
        return json_response(404, error_body("not_found", "There is nothing at this address."))

    @resolver.exception_handler(Exception)
    def unexpected(_: Exception) -> Response:
        logger.exception("request failed")
        return json_response(500, error_body("internal_error", "Something went wrong on our side; try again."))

    return resolver


def require_origin_secret(app: APIGatewayHttpResolver, next_middleware):
    """Powertools middleware: a request that did not come through the distribution (no X-Origin-Verify, or
    another value) is refused with 403 before any route runs.

    An API function without the secret configured refuses everything (a 500 that names ORIGIN_SECRET in its log):
    the template always sets it, so its absence is a broken deployment, never a reason to open the API."""
    expected = get_config().origin_secret
    if not expected:
        raise ConfigError("environment variable ORIGIN_SECRET must be set for the API functions")
    sent = app.current_event.headers.get(ORIGIN_HEADER) or ""  # Powertools: a case-insensitive mapping
    if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        raise Forbidden(
            "This API answers only requests that come through the site: call it at the site's own address "
            "(the SiteUrl, under /api), not at its execute-api endpoint."
        )
    return next_middleware(app)


def request_body(resolver: APIGatewayHttpResolver) -> bytes:
    """The raw request body, whether API Gateway passed it as text or base64; never one cut short."""
    event = resolver.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise BadRequest("The request body is not valid base64.") from None
    else:
        raw = body.encode("utf-8")
    declared = (event.headers or {}).get("content-length") or ""
    # A body shorter than its declared length was cut off on the way (a closed tab, a dropped connection):
    # what arrived is not what was sent, so it is refused rather than stored.
    if _DECIMAL.fullmatch(declared) and len(raw) < int(declared):
        raise BadRequest(
            f"The request body is {len(raw)} bytes, shorter than its Content-Length of {int(declared)}: "
            "it was cut off on the way. Send it again."
        )
    return raw


def json_body(resolver: APIGatewayHttpResolver) -> dict:
    """The request's JSON object, parsed strictly; an empty body is an empty object."""
    raw = request_body(resolver)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the interpreter's stack
        raise BadRequest("The request body is not valid JSON (at most one value per name, no NaN).") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise ValueError("a name appears twice in one object")
    return body


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
