"""Only CloudFront reaches the API (issue 20, item 7): WAF attaches to the distribution, not to the HTTP API, whose
execute-api endpoint stays public. The distribution's API origin sends a secret the stack generates at deploy, and
exactly the functions behind the HTTP API get it, to refuse requests without it (imageservice.http)."""

import json
import re

import pytest
from imageservice.http import ORIGIN_HEADER

from devstack.cfn.template import read_stack
from devstack.cloudfront.distribution import origin_custom_headers
from testkit.events import ORIGIN_HEADER as EVENTS_ORIGIN_HEADER

# The secret's current value, or with OriginSecretVersion (rotation) the version it names.
REFERENCE = re.compile(r"^\{\{resolve:secretsmanager:\$\{(?P<secret>[A-Za-z0-9]+)\}:SecretString"
                       r"(?P<version>:::\$\{OriginSecretVersion\})?\}\}$")


@pytest.fixture(scope="module")
def resources(rendered_template):
    return rendered_template["Resources"]


def api_origin(resources) -> dict:
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    (behaviour,) = [b for b in config["CacheBehaviors"] if b.get("PathPattern") == "/api/*"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"]]
    return origin


def secret_of(value, resources) -> str:
    """The logical id of the stack's secret a value resolves: `{{resolve:secretsmanager:${Secret}:SecretString}}`,
    or the version OriginSecretVersion names when it is given."""
    assert set(value) == {"Fn::If"}, value
    condition, given, current = value["Fn::If"]
    assert condition == "HasOriginSecretVersion"
    matches = [REFERENCE.match(branch.get("Fn::Sub", "")) for branch in (given, current)]
    assert all(matches), value
    assert [bool(match["version"]) for match in matches] == [True, False]
    (secret,) = {match["secret"] for match in matches}
    assert resources[secret]["Type"] == "AWS::SecretsManager::Secret"
    return secret


def test_the_api_origin_sends_the_header_the_code_checks_with_the_stack_s_secret(resources):
    origin = api_origin(resources)
    assert "execute-api" in json.dumps(origin["DomainName"])
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == ORIGIN_HEADER == EVENTS_ORIGIN_HEADER
    secret_of(header["HeaderValue"], resources)


def test_exactly_the_functions_behind_the_http_api_get_the_same_secret(resources, stack):
    (header,) = api_origin(resources)["OriginCustomHeaders"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    given = {name: r["Properties"].get("Environment", {}).get("Variables", {}).get("ORIGIN_SECRET")
             for name, r in functions.items()}
    behind_the_api = {f.logical_id for f in stack.functions.values() if f.routes}
    assert behind_the_api == {"UploadFunction", "PresignFunction", "DeleteFunction", "SessionFunction"}
    assert {name for name, value in given.items() if value is not None} == behind_the_api
    assert all(given[name] == header["HeaderValue"] for name in behind_the_api)


def test_the_secret_is_generated_at_deploy_header_safe_and_from_no_parameter(resources, template):
    (header,) = api_origin(resources)["OriginCustomHeaders"]
    secret = resources[secret_of(header["HeaderValue"], resources)]
    props = secret["Properties"]
    assert "SecretString" not in props  # not a value written in the template, nor a parameter's default
    rules = props["GenerateSecretString"]
    assert rules["ExcludePunctuation"] is True and not rules.get("IncludeSpace", False)
    assert rules["PasswordLength"] >= 32
    assert "Ref" not in json.dumps(props)  # no parameter feeds it
    assert "Condition" not in secret  # every AuthMode: the API is public in none, and /api/health in all


def test_a_rotation_names_the_version_both_get(template):
    """CloudFormation resolves a dynamic reference only when the reference itself changes: a rotated secret reaches
    CloudFront and the functions when the deploy names its new version, and both get the same one."""
    parameter = template["Parameters"]["OriginSecretVersion"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "0123abcd-4567-89ef-0123-456789abcdef")
    assert template["Conditions"]["HasOriginSecretVersion"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "OriginSecretVersion"}, ""]}]}
    assert template["Outputs"]["ApiOriginSecretArn"]["Value"] == {"Ref": "ApiOriginSecret"}


def test_the_api_url_output_says_direct_calls_are_refused(template):
    description = template["Outputs"]["ApiUrl"]["Description"]
    assert "403" in description and "SiteUrl" in description


@pytest.mark.parametrize("auth_mode", ["none", "cognito", "oidc"])
def test_the_local_stack_resolves_the_reference_to_one_generated_value_in_every_auth_mode(auth_mode):
    overrides = {"AuthMode": auth_mode}
    if auth_mode == "oidc":
        overrides |= {"OidcIssuer": "https://issuer.example.com", "OidcAudience": "site"}
    first, second = read_stack(overrides), read_stack(overrides)
    header = origin_custom_headers(first, "/api/*")
    (value,) = header.values()
    assert re.fullmatch(r"[A-Za-z0-9]{32,}", value)
    assert {f.environment.get("ORIGIN_SECRET") for f in first.functions.values() if f.routes} == {value}
    assert all("ORIGIN_SECRET" not in f.environment for f in first.functions.values() if not f.routes)
    # generated for each stack, as each deploy generates its own
    assert origin_custom_headers(second, "/api/*") != header
