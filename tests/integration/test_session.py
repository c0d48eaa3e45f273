"""SessionFunction (POST/DELETE /api/session) and EdgeKeyPairFunction (Custom::EdgeKeyPair) over in-process moto,
each under its own role as the rendered template gives it with AuthMode oidc: the key pair goes into the secret at
deploy, and the cookies the API sets admit the caller's own /img/{owner}/* alone, checked as the local stack's
CloudFront checks them."""

import copy
import json
import re
import time
import uuid

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from edge_signing import load_signing_key
from imageservice.aws import cloudfront_client, s3_client, secretsmanager_client
from imageservice.keys import owner_hash
from lambda_responses import response_json
from moto import mock_aws

from devstack.cfn.template import secret_arn
from devstack.cloudfront.signed import check_signed_cookies
from devstack.iam import acting_as, acting_function, install_iam
from devstack.lambda_.functions import LambdaContext, load_handler

ALICE, BOB = "7a1c2e34-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "google-oauth2|104729384756102938475"
SITE = "https://d111111abcdef8.cloudfront.net"
OIDC = {"AuthMode": "oidc", "OidcIssuer": "https://id.example.com", "OidcAudience": "site"}
SECRET = secret_arn("EdgeSigningKey")
KEY_ID = "K2JCJMDEHXQW5F"


@pytest.fixture
def iam_template(rendered_template, request):
    """The rendered template; with a parameter (function, Sid), that statement left out of the function's role."""
    dropped = getattr(request, "param", None)
    if dropped is None:
        return rendered_template
    narrowed = copy.deepcopy(rendered_template)
    function, sid = dropped
    role = narrowed["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    for policy in narrowed["Resources"][role]["Properties"]["Policies"]:
        for document in ([policy["Fn::If"][1]] if set(policy) == {"Fn::If"} else [policy]):
            statements = document["PolicyDocument"]["Statement"]
            document["PolicyDocument"]["Statement"] = [s for s in statements if s.get("Sid") != sid]
    return narrowed


@pytest.fixture
def iam(aws_credentials, function_env, stack, iam_template):
    """The conftest's, with the roles as AuthMode oidc renders them (the secret's statements exist then)."""
    with mock_aws():
        s3_client.cache_clear()
        cloudfront_client.cache_clear()
        secretsmanager_client.cache_clear()
        function_env({"AUTH_MODE": "oidc", "EDGE_KEY_PAIR_ID": KEY_ID, "EDGE_SIGNING_KEY": SECRET})
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET.rsplit(":", 1)[1])
        physical_ids = {name: bucket.name for name, bucket in stack.buckets.items()} | {"EdgeSigningKey": SECRET}
        installed = install_iam(boto3, acting_function, iam_template, physical_ids, parameters=OIDC)
        yield installed
        installed.uninstall()
    s3_client.cache_clear()


@pytest.fixture(scope="module")
def oidc_stack():
    from devstack.cfn.template import read_stack

    return read_stack(OIDC)


@pytest.fixture
def run(s3, oidc_stack):
    """run(function, event): its handler as Lambda calls it, each test with a fresh module (no cached key)."""
    import sys

    def call(logical_id: str, event: dict):
        function = oidc_stack.functions[logical_id]
        with acting_as(logical_id):
            return load_handler(function)(copy.deepcopy(event), LambdaContext(function, str(uuid.uuid4())))
    yield call
    for name in [name for name in sys.modules if name.startswith(("SessionFunction.", "EdgeKeyPairFunction."))]:
        del sys.modules[name]


def cloudformation_answers(monkeypatch) -> list[tuple[str, dict]]:
    """What the function PUTs to CloudFormation's ResponseURL: (url, answer) each, recorded instead of sent."""
    import urllib.request

    answers = []

    class Answer:
        def __init__(self, request, timeout):
            answers.append((request.full_url, json.loads(request.data)))

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def read(self):
            return b""

    monkeypatch.setattr(urllib.request, "urlopen", Answer)
    return answers


KEY_PAIR_CREATE = {"RequestType": "Create", "RequestId": "r1",
                   "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
                   "LogicalResourceId": "EdgeKeyPair", "ResourceType": "Custom::EdgeKeyPair",
                   "ResponseURL": "https://cloudformation-custom-resource-response.example/r1",
                   "ResourceProperties": {"ServiceToken": "arn", "SecretId": SECRET}}


@pytest.fixture
def public_key(run, monkeypatch):
    """Run Custom::EdgeKeyPair's Create as CloudFormation does; the public key it answers."""
    answers = cloudformation_answers(monkeypatch)
    run("EdgeKeyPairFunction", KEY_PAIR_CREATE)
    ((url, answer),) = answers
    assert url == KEY_PAIR_CREATE["ResponseURL"] and answer["Status"] == "SUCCESS", answer
    assert re.fullmatch(r"edge-key-[0-9a-f]{32}", answer["PhysicalResourceId"])
    return answer["Data"]["PublicKey"]


def session(run, load_event, user: str | None, origin: str | None = SITE, method: str = "post") -> dict:
    event = load_event(f"session_{method}.json")
    event["requestContext"].pop("authorizer", None)
    if user is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": user}, "scopes": None}}
    event["headers"].pop("origin", None)
    if origin is not None:
        event["headers"]["origin"] = origin
    return run("SessionFunction", event)


def cookies_of(response: dict) -> dict[str, str]:
    return dict(cookie.split(";", 1)[0].split("=", 1) for cookie in response["cookies"])


def test_the_key_pair_is_made_into_the_secret_and_only_its_public_half_is_answered(public_key, s3):
    private = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId=SECRET)
    assert private["SecretString"].startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in public_key


def test_the_cookies_admit_the_caller_s_own_images_and_no_one_else_s(public_key, run, load_event):
    response = session(run, load_event, ALICE)
    assert response["statusCode"] == 200, response
    body = response_json(response)
    alice = owner_hash(ALICE)
    assert body["path"] == f"/img/{alice}"
    for cookie in response["cookies"]:
        attributes = {part.strip() for part in cookie.split(";")[1:]}
        assert {"Path=/img/", "Secure", "HttpOnly", "SameSite=Strict"} <= attributes, cookie
    cookies, trusted, now = cookies_of(response), {KEY_ID: public_key}, time.time()
    image = "6c0d2d5e-8f1a-4c1b-9a59-2f4d6c7b8e90"
    assert check_signed_cookies(cookies, f"{SITE}/img/{alice}/{image}/640.auto", "198.51.100.7", trusted, now) is None
    for url in (f"{SITE}/img/{owner_hash(BOB)}/{image}/640.auto", f"{SITE}/img/{image}/640.auto",
                f"https://evil.example/img/{alice}/{image}/640.auto",
                f"{SITE}/img/{owner_hash(BOB)}/{image}/640.auto?x=/img/{alice}/"):
        assert check_signed_cookies(cookies, url, "198.51.100.7", trusted, now) is not None, url
    expires = time.mktime(time.strptime(body["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 3500 < expires - now <= 3600
    url = f"{SITE}/img/{alice}/{image}/640.auto"
    assert check_signed_cookies(cookies, url, "198.51.100.7", trusted, expires + 1) is not None
    assert check_signed_cookies(cookies, url, "198.51.100.7", {"other": public_key}, now) is not None


def test_without_a_site_origin_or_a_caller_nothing_is_signed(public_key, run, load_event):
    for origin in (None, "https://*.cloudfront.net", "null"):
        response = session(run, load_event, ALICE, origin)
        assert (response["statusCode"], response_json(response)["error"]["code"]) == (400, "bad_request"), origin
        assert not response.get("cookies")
    response = session(run, load_event, None)
    assert response["statusCode"] == 401 and not response.get("cookies")


def test_sign_out_clears_the_cookies(run, load_event):
    response = session(run, load_event, ALICE, method="delete")
    assert response["statusCode"] == 204
    assert {cookie.split("=", 1)[0] for cookie in response["cookies"]} == {
        "CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm"}
    assert all("Max-Age=0" in cookie for cookie in response["cookies"])


def test_without_sign_in_there_is_no_session(run, load_event, function_env):
    function_env({"AUTH_MODE": "none", "EDGE_KEY_PAIR_ID": "", "EDGE_SIGNING_KEY": ""})
    for method in ("post", "delete"):
        response = session(run, load_event, None, method=method)
        assert response["statusCode"] == 404 and not response.get("cookies"), method



@pytest.mark.parametrize("iam_template", [("EdgeKeyPairFunction", "WriteSigningKey")], indirect=True)
def test_without_its_statement_the_key_pair_is_not_made_and_cloudformation_hears_why(run, monkeypatch):
    answers = cloudformation_answers(monkeypatch)
    run("EdgeKeyPairFunction", KEY_PAIR_CREATE)
    ((_, answer),) = answers
    assert answer["Status"] == "FAILED" and "AccessDenied" in answer["Reason"] and not answer["Data"], answer


@pytest.mark.parametrize("iam_template", [("SessionFunction", "ReadSigningKey")], indirect=True)
def test_without_its_statement_no_cookie_is_signed(run, load_event):
    response = session(run, load_event, ALICE)
    assert response["statusCode"] == 500 and not response.get("cookies")


def test_an_update_makes_a_new_key_under_a_new_physical_id(public_key, run, monkeypatch):
    """A new SigningKeyVersion: CloudFormation sends Update; the new id replaces the CloudFront public key."""
    answers = cloudformation_answers(monkeypatch)
    run("EdgeKeyPairFunction", {**KEY_PAIR_CREATE, "RequestType": "Update", "PhysicalResourceId": "edge-key-old",
                                "OldResourceProperties": KEY_PAIR_CREATE["ResourceProperties"]})
    ((_, answer),) = answers
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] != "edge-key-old"
    assert answer["Data"]["PublicKey"] != public_key
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId=SECRET)["SecretString"]
    derived = load_signing_key(secret).public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    assert derived.decode() == answer["Data"]["PublicKey"]  # the secret holds the new key's private half


def test_a_delete_leaves_the_secret_to_cloudformation(public_key, run, monkeypatch):
    answers = cloudformation_answers(monkeypatch)
    run("EdgeKeyPairFunction", {**KEY_PAIR_CREATE, "RequestType": "Delete", "PhysicalResourceId": "edge-key-old"})
    ((_, answer),) = answers
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "edge-key-old")
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    assert secrets.get_secret_value(SecretId=SECRET)["SecretString"].startswith("-----BEGIN PRIVATE KEY-----")
