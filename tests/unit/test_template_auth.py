"""Sign-in in template.yaml (AuthMode cognito and oidc): what a later deploy must not undo, and the audience
API Gateway's JWT authorizer accepts."""

import pytest

from devstack.cfn.template import read_stack, security_headers


def test_a_change_to_the_client_is_a_change_to_sign_in_urls(template):
    """UpdateUserPoolClient resets what it is not given, so every deploy that changes UserPoolClient wipes the
    callback URLs and OAuth flows SignInUrls set; CloudFormation runs SignInUrls again only when its own
    properties change. Its ClientSettings are the client's settings, so the two cannot change apart."""
    resources = template["Resources"]
    client = dict(resources["UserPoolClient"]["Properties"])
    assert client.pop("UserPoolId") == resources["SignInUrls"]["Properties"]["UserPoolId"]
    assert resources["SignInUrls"]["Properties"]["ClientSettings"] == client
    assert resources["SignInUrls"]["Properties"]["ClientId"] == {"Ref": "UserPoolClient"}  # updated after it


OIDC = {"AuthMode": "oidc", "OidcIssuer": "https://id.example.com/realms/images", "OidcAudience": "site"}


def authorizer_audiences(overrides) -> set[str]:
    from devstack.apigw.jwt_authorizer import route_authorizers
    from devstack.cfn.template import http_api_bodies

    (body,) = http_api_bodies(read_stack(overrides)).values()
    return {audience for route in route_authorizers(body).values() for audience in route.authorizer.audiences}


def client_ids(overrides) -> set[str]:
    return {function.environment.get("AUTH_CLIENT_ID") for function in read_stack(overrides).functions.values()
            if function.environment.get("AUTH_CLIENT_ID")}


def test_the_api_audience_defaults_to_the_client_id(template):
    assert template["Parameters"]["OidcApiAudience"]["Default"] == ""
    assert authorizer_audiences(OIDC) == {"site"} == client_ids(OIDC)


def test_an_api_audience_is_what_the_authorizer_checks_and_the_page_keeps_its_client():
    """Keycloak, Okta and Auth0 put the API's audience in aud; API Gateway then checks aud, not client_id."""
    overrides = {**OIDC, "OidcApiAudience": "https://api.example.com"}
    assert authorizer_audiences(overrides) == {"https://api.example.com"}
    assert client_ids(overrides) == {"site"}


@pytest.mark.parametrize(("endpoint", "origins"), [
    ("", ["https://id.example.com"]),
    ("https://oauth2.example.net/token", ["https://id.example.com", "https://oauth2.example.net"]),
])
def test_a_token_endpoint_on_another_host_is_admitted_by_connect_src(template, endpoint, origins):
    policy = security_headers(template, {**OIDC, "OidcTokenEndpoint": endpoint})["Content-Security-Policy"]
    connect = next(d.split()[1:] for d in policy.split(";") if d.split()[0] == "connect-src")
    assert [source for source in connect if "amazonaws.com" not in source and source != "'self'"] == origins


def test_the_local_issuer_puts_the_api_audience_in_aud_and_its_authorizer_checks_it():
    from devstack.apigw.jwt_authorizer import Unauthorized
    from devstack.cognito.oidc import LocalSignIn

    stack = read_stack({**OIDC, "OidcApiAudience": "https://api.example.com"})
    sign_in = LocalSignIn.start(stack, "127.0.0.1", ("http://127.0.0.1:3000",))
    try:
        assert sign_in.issuer.client_id == "site"
        route = next(iter(sign_in.authorizer.routes))
        token = sign_in.issuer.mint("alice@example.com")
        assert sign_in.authorizer.authorize(*route, {"authorization": f"Bearer {token}"})
        with pytest.raises(Unauthorized):
            refused = sign_in.issuer.mint("alice@example.com", aud="site")  # the client id is not the API
            sign_in.authorizer.authorize(*route, {"authorization": f"Bearer {refused}"})
    finally:
        sign_in.stop()
