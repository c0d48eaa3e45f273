"""API Gateway's JWT authorizer (HTTP API), as the local gateway applies it to the routes the template's
OpenAPI body protects.

What it copies from API Gateway's documented workflow: the token is the identity source's value
(`Authorization`), with or without a `Bearer ` prefix; it must be a JWS signed with an RSA algorithm by a
key of the issuer's JWKS (found through the issuer's /.well-known/openid-configuration, cached) whose `kid`
the token names; `iss` must equal the authorizer's issuer; `aud`, or `client_id` when the token has no
`aud`, must be one of its audiences; `exp` must be after now, `nbf` and `iat` before; a route with
authorization scopes needs a token whose `scope` (or `scp`) holds at least one of them. Any failure is
API Gateway's own `401 {"message":"Unauthorized"}` with a `www-authenticate` header naming the reason,
and the handler never runs. Accepted claims reach the handler as requestContext.authorizer.jwt."""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# API Gateway does not publish its tolerance for clocks that disagree; this is ours, and it applies to
# exp, nbf and iat alike (tests use tokens far outside it).
CLOCK_SKEW_SECONDS = 60
RSA_ALGORITHMS = ["RS256", "RS384", "RS512"]
KEYS_CACHE_SECONDS = 2 * 3600  # API Gateway caches the issuer's public keys for up to two hours
UNAUTHORIZED_BODY = b'{"message":"Unauthorized"}'


@dataclass(frozen=True)
class Authorizer:
    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_header: str  # from identitySource $request.header.<Name>, lower-cased


@dataclass(frozen=True)
class RouteAuth:
    authorizer: Authorizer
    scopes: tuple[str, ...]


class Unauthorized(Exception):
    """The reason goes into www-authenticate, as API Gateway's does (`error_description=...`)."""


def route_authorizers(api_body: dict) -> dict[tuple[str, str], RouteAuth]:
    """(METHOD, path) -> the JWT authorizer and scopes that route needs, from a resolved OpenAPI body
    (`x-amazon-apigateway-authorizer` of type jwt in components.securitySchemes, `security` per operation)."""
    schemes = (api_body.get("components") or {}).get("securitySchemes") or {}
    authorizers = {}
    for name, scheme in schemes.items():
        config = scheme.get("x-amazon-apigateway-authorizer") or {}
        if config.get("type") != "jwt":
            raise ValueError(f"security scheme {name}: the local stack knows only JWT authorizers")
        source = config.get("identitySource", "$request.header.Authorization")
        if not source.startswith("$request.header."):
            raise ValueError(f"security scheme {name}: identity source {source} is not a header")
        jwt_config = config["jwtConfiguration"]
        authorizers[name] = Authorizer(
            name, jwt_config["issuer"], tuple(jwt_config["audience"]), source.removeprefix("$request.header.").lower()
        )
    routes = {}
    for path, item in (api_body.get("paths") or {}).items():
        for method, operation in item.items():
            for requirement in (operation or {}).get("security") or []:
                for name, scopes in requirement.items():
                    if name not in authorizers:
                        raise ValueError(f"{method.upper()} {path}: no security scheme named {name}")
                    routes[(method.upper(), path)] = RouteAuth(authorizers[name], tuple(scopes))
    return routes


class IssuerKeys:
    """The issuer's JWKS, found through its discovery document and kept for KEYS_CACHE_SECONDS."""

    def __init__(self, issuer: str):
        self.issuer = issuer.rstrip("/")
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def get(self) -> KeySet:
        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched > KEYS_CACHE_SECONDS:
                discovery = _get_json(f"{self.issuer}/.well-known/openid-configuration")
                self._keys = KeySet.import_key_set(_get_json(discovery["jwks_uri"]))
                self._fetched = time.monotonic()
            return self._keys


class JwtAuthorizer:
    def __init__(self, routes: dict[tuple[str, str], RouteAuth], keys: dict[str, IssuerKeys] | None = None):
        self.routes = routes
        self.keys = keys or {}
        for route in routes.values():
            self.keys.setdefault(route.authorizer.issuer, IssuerKeys(route.authorizer.issuer))

    def protects(self, method: str, path: str) -> bool:
        return (method, path) in self.routes

    def authorize(self, method: str, path: str, headers: dict[str, str], now: float | None = None) -> dict | None:
        """requestContext.authorizer for a route, None for a route without an authorizer; raises Unauthorized."""
        route = self.routes.get((method, path))
        if route is None:
            return None
        token = (headers.get(route.authorizer.identity_header) or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Unauthorized("")
        claims = self._verified_claims(route.authorizer, token)
        _check_claims(route, claims, time.time() if now is None else now)
        return {"jwt": {"claims": {name: _claim_text(value) for name, value in claims.items()},
                        "scopes": list(route.scopes) or None}}

    def _verified_claims(self, authorizer: Authorizer, token: str) -> dict:
        try:
            return jwt.decode(token, self.keys[authorizer.issuer].get(), algorithms=RSA_ALGORITHMS).claims
        except (JoseError, ValueError) as error:
            raise Unauthorized(f"signing method or signature is invalid ({error.__class__.__name__})") from None


def _check_claims(route: RouteAuth, claims: dict, now: float) -> None:
    authorizer = route.authorizer
    if claims.get("iss") != authorizer.issuer:
        raise Unauthorized("the token does not have a valid issuer")
    audience = claims.get("aud", claims.get("client_id"))
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(value in authorizer.audiences for value in audiences):
        raise Unauthorized("the token does not have a valid audience")
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS <= now:
        raise Unauthorized("the token has expired")
    if isinstance(nbf, int | float) and nbf - CLOCK_SKEW_SECONDS > now:
        raise Unauthorized("the token is not valid yet")
    if isinstance(iat, int | float) and iat - CLOCK_SKEW_SECONDS > now:
        raise Unauthorized("the token was issued in the future")
    if route.scopes:
        granted = claims.get("scope", claims.get("scp", ""))
        granted = set(granted.split() if isinstance(granted, str) else granted)
        if not granted & set(route.scopes):
            raise Unauthorized("the token does not have the required scope")


def unauthorized_headers(error: Unauthorized, route: RouteAuth | None = None) -> list[tuple[str, str]]:
    scope = " ".join(route.scopes) if route else ""
    value = f'Bearer scope="{scope}" error="invalid_token" error_description="{error}"' if str(error) else "Bearer"
    return [("Content-Type", "application/json"), ("www-authenticate", value)]


def _claim_text(value) -> str:
    # API Gateway hands claims to the integration as strings; lists as [a b].
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the template's issuer URL
        return json.loads(answer.read())
