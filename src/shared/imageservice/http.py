"""The one mapping from errors to HTTP answers, shared by every API function."""

import base64
import json
import re

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .errors import AppError, BadRequest

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


def make_resolver(kind: type[APIGatewayHttpResolver] | None = None) -> APIGatewayHttpResolver:
    """An HTTP API router (or another Powertools resolver: `kind`) whose errors all come out as
    {"error": {"code", "message"}}."""
    resolver = (kind or APIGatewayHttpResolver)()

    @resolver.exception_handler(AppError)
    def app_error(error: AppError) -> Response:
        logger.info("request refused", extra={"code": error.code, "status": error.status})
        return json_response(error.status, error_body(error.code, error.message))

    @resolver.not_found
    def no_route(_: NotFoundError) -> Response:
        return json_response(404, error_body("not_found", "There is nothing at this address."))

    @resolver.exception_handler(Exception)
    def unexpected(_: Exception) -> Response:
        logger.exception("request failed")
        return json_response(500, error_body("internal_error", "Something went wrong on our side; try again."))

    return resolver


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
