"""Signed-in delivery in the rendered template (after the SAM transform, resolved per AuthMode): the /img/*
behaviour trusts the stack's key group only with sign-in on, the key pair is made at deploy into a secret only two
roles may touch, and POST/DELETE /api/session are behind the JWT authorizer then."""

import pytest
from template_render import Resolver, transformed

PARAMETERS = {"none": {}, "cognito": {"AuthMode": "cognito"},
              "oidc": {"AuthMode": "oidc", "OidcIssuer": "https://id.example.com", "OidcAudience": "site"}}
SIGNED_IN_RESOURCES = {"EdgeSigningKey", "EdgeKeyPair", "EdgeKeyPairFunction", "EdgePublicKey", "EdgeKeyGroup"}


def _named(logical_id: str, attribute: str | None) -> str:
    """A Ref is the logical id, an attribute <id>.<attribute> (a function URL keeps its URL shape)."""
    if attribute == "FunctionUrl":
        return f"https://{logical_id}.lambda-url.ap-southeast-2.on.aws/"
    return f"{logical_id}.{attribute}" if attribute else logical_id


def deployed(mode: str) -> tuple[dict, Resolver]:
    """The resources that exist with this AuthMode, each resolved as CloudFormation would."""
    template = transformed()
    resolver = Resolver(template, "images", "0f1e2d3c-4b5a-4697-8877-665544332211", PARAMETERS[mode], physical=_named)
    resources = {name: resource for name, resource in template["Resources"].items()
                 if "Condition" not in resource or resolver.condition(resource["Condition"])}
    return resources, resolver


def image_behaviour(resources, resolver) -> dict:
    config = resolver.resolve(resources["Distribution"]["Properties"]["DistributionConfig"])
    (found,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/img/*"]
    return found


def role_statements(resources, resolver, function: str) -> list[dict]:
    role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    return [statement for policy in resolver.resolve(role.get("Policies", []))
            for statement in policy["PolicyDocument"]["Statement"]]


def statements_on(resources, resolver, arn: str) -> dict[str, set[str]]:
    """Each function's actions on this resource (or on a wildcard that covers it)."""
    found = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        for statement in role_statements(resources, resolver, name):
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(target == arn or target == "*" or (target.endswith("*") and arn.startswith(target[:-1]))
                   for target in targets):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                found.setdefault(name, set()).update(actions)
    return found


def test_without_sign_in_images_are_public_and_nothing_signs_or_holds_a_key():
    resources, resolver = deployed("none")
    assert "TrustedKeyGroups" not in image_behaviour(resources, resolver)
    assert not SIGNED_IN_RESOURCES & set(resources)
    assert not [r for r in resources.values() if r["Type"].startswith("Custom::Edge")]
    secrets = {name for name, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"}
    assert secrets == {"ApiOriginSecret"}  # the API's origin header's (every AuthMode), no signing key
    # SessionFunction is there (its routes need no condition), answers 404 and may read no secret.
    assert role_statements(resources, resolver, "SessionFunction") == []
    session = resolver.resolve(resources["ImagesApi"]["Properties"]["Body"])["paths"]["/api/session"]
    assert all("security" not in operation for operation in session.values())


@pytest.mark.parametrize("mode", ["cognito", "oidc"])
def test_signed_in_images_need_a_cookie_signed_by_the_stack_s_own_key(mode):
    resources, resolver = deployed(mode)
    assert SIGNED_IN_RESOURCES <= set(resources)
    assert image_behaviour(resources, resolver)["TrustedKeyGroups"] == ["EdgeKeyGroup"]
    group = resolver.resolve(resources["EdgeKeyGroup"]["Properties"]["KeyGroupConfig"])
    assert group["Items"] == ["EdgePublicKey"]
    key = resolver.resolve(resources["EdgePublicKey"]["Properties"]["PublicKeyConfig"])
    assert key["EncodedKey"] == "EdgeKeyPair.PublicKey"  # made at deploy, never written in the template
    pair = resolver.resolve(resources["EdgeKeyPair"]["Properties"])
    assert pair["ServiceToken"] == "EdgeKeyPairFunction.Arn" and pair["SecretId"] == "EdgeSigningKey"
    secret = resources["EdgeSigningKey"]["Properties"]
    assert "SecretString" not in secret and "GenerateSecretString" not in secret  # EdgeKeyPair writes it


@pytest.mark.parametrize("mode", ["cognito", "oidc"])
def test_one_role_writes_the_private_key_and_one_reads_it(mode):
    resources, resolver = deployed(mode)
    assert statements_on(resources, resolver, "EdgeSigningKey") == {
        "EdgeKeyPairFunction": {"secretsmanager:PutSecretValue"},
        "SessionFunction": {"secretsmanager:GetSecretValue"},
    }
    assert [s["Resource"] for s in role_statements(resources, resolver, "EdgeKeyPairFunction")] == ["EdgeSigningKey"]
    assert [s["Resource"] for s in role_statements(resources, resolver, "SessionFunction")] == ["EdgeSigningKey"]
    environment = resolver.resolve(resources["SessionFunction"]["Properties"]["Environment"]["Variables"])
    assert environment["EDGE_KEY_PAIR_ID"] == "EdgePublicKey" and environment["EDGE_SIGNING_KEY"] == "EdgeSigningKey"
    others = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and name != "SessionFunction"]
    for name in others:  # the secret's ARN reaches no other function
        variables = resolver.resolve(resources[name]["Properties"].get("Environment", {}).get("Variables", {}))
        assert "EdgeSigningKey" not in variables.values(), name


@pytest.mark.parametrize("mode", ["cognito", "oidc"])
def test_the_session_routes_are_behind_the_jwt_authorizer(mode):
    resources, resolver = deployed(mode)
    path = resolver.resolve(resources["ImagesApi"]["Properties"]["Body"])["paths"]["/api/session"]
    assert set(path) == {"post", "delete"}
    for operation in path.values():
        assert operation["security"] == [{"JwtAuthorizer": []}]
        assert "SessionFunction.Arn" in str(operation["x-amazon-apigateway-integration"]["uri"])
