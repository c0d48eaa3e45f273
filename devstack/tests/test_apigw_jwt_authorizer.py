"""devstack/apigw/jwt_authorizer.py against the local issuer: what API Gateway's JWT authorizer accepts and refuses."""

import time

import pytest
from joserfc.jwk import RSAKey

from devstack.apigw.jwt_authorizer import Authorizer, JwtAuthorizer, RouteAuth, Unauthorized, route_authorizers
from devstack.cfn.template import http_api_bodies, read_stack
from devstack.cognito.oidc import LocalIssuer, subject_of

ROUTE = ("GET", "/api/images")


@pytest.fixture(scope="module", params=["cognito", "oidc"])
def issuer(request):
    issuer = LocalIssuer("127.0.0.1", request.param, "site-client", ("http://127.0.0.1:3000",)).start()
    yield issuer
    issuer.stop()


def authorizer_for(issuer, scopes=()):
    route = RouteAuth(Authorizer("JwtAuthorizer", issuer.issuer, ("site-client",), "authorization"), tuple(scopes))
    return JwtAuthorizer({ROUTE: route})


def authorize(issuer, token, scopes=(), prefix="Bearer "):
    return authorizer_for(issuer, scopes).authorize(*ROUTE, {"authorization": prefix + token})


def test_a_valid_token_passes_its_claims_as_strings(issuer):
    context = authorize(issuer, issuer.mint("alice@example.com"))
    claims = context["jwt"]["claims"]
    assert claims["sub"] == subject_of("alice@example.com")
    assert isinstance(claims["exp"], str) and claims["iss"] == issuer.issuer
    assert authorize(issuer, issuer.mint("alice@example.com"), prefix="")["jwt"]["claims"]["sub"]


@pytest.mark.parametrize(("changes", "reason"), [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ({"iat": int(time.time()) + 3600}, "issued in the future"),
    ({"exp": None}, "expired"),
    ({"iss": "https://another.example.com"}, "issuer"),
    ({"aud": "another-client", "client_id": None}, "audience"),
    ({"aud": None, "client_id": "another-client"}, "audience"),
])
def test_claims_api_gateway_refuses(issuer, changes, reason):
    with pytest.raises(Unauthorized, match=reason):
        authorize(issuer, issuer.mint("alice@example.com", **changes))


def test_aud_is_checked_before_client_id(issuer):
    token = issuer.mint("alice@example.com", aud="another-client", client_id="site-client")
    with pytest.raises(Unauthorized, match="audience"):
        authorize(issuer, token)


def test_a_token_signed_by_another_key_is_refused_even_with_a_known_kid(issuer):
    other = RSAKey.generate_key(2048, parameters={"kid": issuer.key.kid})
    claims = {"iss": issuer.issuer, "sub": "x", "aud": "site-client", "exp": int(time.time()) + 60}
    for key in (other, RSAKey.generate_key(2048, parameters={"kid": "unknown"})):
        with pytest.raises(Unauthorized, match="signature"):
            authorize(issuer, issuer.sign(claims, key))


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "Bearer a.b.c"])
def test_missing_or_malformed_tokens_are_refused(issuer, header):
    headers = {} if header is None else {"authorization": header}
    with pytest.raises(Unauthorized):
        authorizer_for(issuer).authorize(*ROUTE, headers)


def test_route_scopes_need_one_of_them_in_the_token(issuer):
    assert authorize(issuer, issuer.mint("a@example.com", scope="openid images/read"), scopes=["images/read"])
    with pytest.raises(Unauthorized, match="scope"):
        authorize(issuer, issuer.mint("a@example.com", scope="openid"), scopes=["images/read"])


def test_routes_without_an_authorizer_pass_untouched(issuer):
    assert authorizer_for(issuer).authorize("GET", "/api/health", {}) is None


@pytest.mark.parametrize("mode", ["cognito", "oidc"])
def test_the_template_protects_every_route_but_health_and_options(mode):
    overrides = {"AuthMode": mode, **({"OidcIssuer": "https://id.example.com", "OidcAudience": "site"}
                                      if mode == "oidc" else {})}
    stack = read_stack(overrides)
    (body,) = http_api_bodies(stack).values()
    protected = set(route_authorizers(body))
    routes = {(r.method, r.path) for f in stack.functions.values() for r in f.routes}
    assert protected == routes - {("GET", "/api/health"), ("GET", "/api/options")}
    issuers = {route.authorizer.issuer for route in route_authorizers(body).values()}
    expected = ("https://cognito-idp.us-east-1.amazonaws.com/image-processing-local-UserPool" if mode == "cognito"
                else "https://id.example.com")
    assert issuers == {expected}


def test_with_auth_mode_none_no_route_has_an_authorizer():
    (body,) = http_api_bodies(read_stack()).values()
    assert route_authorizers(body) == {}
    assert "components" not in body
