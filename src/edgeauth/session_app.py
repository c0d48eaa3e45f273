"""SessionFunction (AuthMode cognito, oidc): POST /api/session sets the CloudFront signed cookies that admit the
caller's own derived images at the edge (/img/{owner}/*), after API Gateway's JWT authorizer accepted the token;
DELETE /api/session clears them (sign-out). No Lambda runs per image view: CloudFront checks the cookies itself."""

import functools
import time
from datetime import UTC, datetime

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext
from edge_signing import (
    COOKIE_NAMES,
    COOKIE_PATH,
    COOKIE_SECONDS,
    is_site_origin,
    load_signing_key,
    owner_resource,
    signed_cookies,
)
from imageservice.aws import secretsmanager_client
from imageservice.config import get_config
from imageservice.errors import BadRequest, NotFound
from imageservice.http import json_response, make_resolver
from imageservice.keys import delivery_path, owner_hash
from imageservice.owners import caller
from imageservice.tracing import get_tracer

logger = Logger()
tracer = get_tracer()
app = make_resolver()


@app.post("/api/session")
def start_session():
    subject = caller(app.current_event.raw_event, get_config())
    if subject is None:  # AuthMode none: images are public, there is nothing to admit, and the route is as absent
        raise NotFound("There is nothing at this address.")  # as any unknown one
    origin = site_origin(app.current_event.headers or {})
    owner = owner_hash(subject)
    expires = int(time.time()) + COOKIE_SECONDS
    values = signed_cookies(signing_key(), get_config().edge_key_pair_id, owner_resource(origin, owner), expires)
    body = {"path": delivery_path(owner), "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}
    response = json_response(200, body)
    response.cookies = [_cookie(name, value) for name, value in values.items()]
    return response


@app.delete("/api/session")
def end_session():
    if caller(app.current_event.raw_event, get_config()) is None:
        raise NotFound("There is nothing at this address.")
    response = json_response(204)
    response.cookies = [_cookie(name, "", max_age=0) for name in COOKIE_NAMES]
    return response


def site_origin(headers: dict) -> str:
    """The site the page runs on (the browser's Origin header): the cookies admit its /img/{owner}/* alone."""
    origin = (headers.get("origin") or headers.get("Origin") or "").strip().lower()
    if not is_site_origin(origin):
        raise BadRequest(
            "Call this from the site's page: the request's Origin header names the site the cookies are for.")
    return origin


@functools.cache
def signing_key():
    """The private key, read and loaded once per execution environment (a new key comes with a new deploy, and
    with it a new key pair id in the environment, hence new environments)."""
    secret = secretsmanager_client().get_secret_value(SecretId=get_config().edge_signing_key)
    return load_signing_key(secret["SecretString"])


def _cookie(name: str, value: str, max_age: int | None = None) -> Cookie:
    # Secure, HttpOnly (no script reads them), SameSite=Strict, and only sent with /img/ requests.
    return Cookie(name, value, path=COOKIE_PATH, secure=True, http_only=True, max_age=max_age,
                  same_site=SameSite.STRICT_MODE)


# Every log line carries the API's request id (the access log's requestId) as its correlation_id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
