"""The one mapping from errors to HTTP answers, shared by every API function."""

import base64
import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .errors import AppError, BadRequest

logger = Logger()


def json_response(status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json" if body is not None else None,
        body=json.dumps(body, separators=(",", ":")) if body is not None else "",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def make_resolver() -> APIGatewayHttpResolver:
    """An HTTP API router whose errors all come out as {"error": {"code", "message"}}."""
    resolver = APIGatewayHttpResolver()

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
    """The raw request body, whether API Gateway passed it as text or base64."""
    event = resolver.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise BadRequest("The request body is not valid base64.") from None
    return body.encode("utf-8")


def json_body(resolver: APIGatewayHttpResolver) -> dict:
    """The request's JSON object; an empty body is an empty object."""
    raw = request_body(resolver)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body
