"""What the local stack reads of the edge: the security headers, its own CSP, the CORS site origin, and the
conditions behind them (devstack/cfn/template.py)."""

import copy

import pytest

from devstack.cfn.template import (
    TemplateError,
    load_template,
    local_content_security_policy,
    local_site_origins,
    read_stack,
    security_headers,
)
from devstack.stack import edge_headers

DEPLOYED_CSP = ("default-src 'self'; img-src 'self' blob: data: https:; connect-src 'self' https:; "
                "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'; form-action 'self'")
STORAGE = "http://127.0.0.1:4566"
ISSUER = "http://127.0.0.1:4599"


def test_security_headers_are_the_response_headers_policy_spelled_as_http(template):
    stack = read_stack()
    processed, stored = stack.bucket_name("ProcessedImagesBucket"), stack.bucket_name("StoredImagesBucket")
    assert security_headers(template) == {
        "Content-Security-Policy": (
            "default-src 'self'; "
            f"img-src 'self' blob: data: https://{processed}.s3.us-east-1.amazonaws.com; "
            f"connect-src 'self' https://{stored}.s3.us-east-1.amazonaws.com "
            f"https://{processed}.s3.us-east-1.amazonaws.com; "
            "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'"),
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def test_security_headers_follow_the_template(template):
    changed = copy.deepcopy(template)
    config = changed["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    security["StrictTransportSecurity"].update(AccessControlMaxAgeSec=300, Preload=False)
    security["FrameOptions"]["FrameOption"] = "SAMEORIGIN"
    del security["ReferrerPolicy"]
    security["XSSProtection"] = {"Protection": True, "ModeBlock": True, "Override": True}
    headers = security_headers(changed)
    assert headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Referrer-Policy" not in headers
    assert headers["X-XSS-Protection"] == "1; mode=block"


def test_security_headers_need_exactly_one_policy(template):
    changed = copy.deepcopy(template)
    del changed["Resources"]["SecurityHeadersPolicy"]
    with pytest.raises(TemplateError, match="expected one"):
        security_headers(changed)


def directives(policy: str) -> list[tuple[str, list[str]]]:
    return [(part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()]


SIGN_IN = {
    "none": ({}, None),
    "cognito": ({"AuthMode": "cognito"}, "https://sign-in-"),
    "oidc": ({"AuthMode": "oidc", "OidcIssuer": "https://id.example.com:8443/realms/images", "OidcAudience": "site"},
             "https://id.example.com:8443"),
}


@pytest.mark.parametrize("mode", list(SIGN_IN))
def test_the_local_policy_is_the_template_s_with_only_its_hosts_substituted(template, mode):
    """Directive by directive: the same directives in the same order, each source the template's own or the
    local stand-in of one of its hosts (a bucket on the storage server, the local issuer), and nothing more."""
    overrides, sign_in_host = SIGN_IN[mode]
    stack = read_stack(overrides)
    deployed = directives(security_headers(template, overrides)["Content-Security-Policy"])
    local = directives(edge_headers(stack, STORAGE, ISSUER if sign_in_host else None)["Content-Security-Policy"])
    stand_ins = {}
    for logical_id in ("ProcessedImagesBucket", "StoredImagesBucket"):
        bucket = stack.bucket_name(logical_id)
        stand_ins[f"https://{bucket}.s3.us-east-1.amazonaws.com"] = [f"{STORAGE}/{bucket}", f"{STORAGE}/{bucket}/"]
    assert [name for name, _ in local] == [name for name, _ in deployed]
    for (name, deployed_sources), (_, local_sources) in zip(deployed, local, strict=True):
        expected = []
        for source in deployed_sources:
            if source in stand_ins:
                expected += stand_ins[source]
            elif sign_in_host and name == "connect-src" and source.startswith(sign_in_host):
                expected.append(ISSUER)
            else:
                assert "://" not in source, f"{name}: {source} has no local stand-in"
                expected.append(source)
        assert local_sources == expected, name
    if sign_in_host:
        assert ISSUER in dict(local)["connect-src"]


def test_a_bucket_the_template_does_not_admit_is_not_admitted_locally():
    """The local storage server holds both buckets under one origin: a directive naming one bucket admits only
    that bucket's paths, so the page cannot fetch() variants locally unless connect-src names their bucket."""
    deployed = ("img-src 'self' https://processed.s3.eu-west-1.amazonaws.com; "
                "connect-src 'self' https://stored.s3.eu-west-1.amazonaws.com")
    assert local_content_security_policy(deployed, ["processed", "stored"], STORAGE) == (
        f"img-src 'self' {STORAGE}/processed {STORAGE}/processed/; "
        f"connect-src 'self' {STORAGE}/stored {STORAGE}/stored/")


def test_nothing_but_hosts_changes():
    assert local_content_security_policy(DEPLOYED_CSP, ["processed"], STORAGE) == DEPLOYED_CSP
    assert local_content_security_policy("script-src 'self'", ["processed"], STORAGE, ISSUER) == "script-src 'self'"
    other = "connect-src https://processed.s3.us-east-1.amazonaws.com https://elsewhere.example"
    assert local_content_security_policy(other, [], STORAGE) == other  # not a bucket of the stack: unchanged


@pytest.mark.parametrize("origin", ["127.0.0.1:4566", "http://127.0.0.1:4566/", "http://x/y", "javascript:x"])
def test_the_local_policy_takes_an_origin_only(origin):
    with pytest.raises(ValueError):
        local_content_security_policy(DEPLOYED_CSP, [], origin)
    with pytest.raises(ValueError):
        local_content_security_policy(DEPLOYED_CSP, [], STORAGE, origin)


def test_the_local_stack_origins_replace_the_deployed_site_origin_in_cors():
    """127.0.0.1 and localhost are two names of the local site, as the distribution and the custom domain are."""
    stack = read_stack(site_origins=local_site_origins("http://127.0.0.1:3001"))
    (rule,) = stack.buckets["StoredImagesBucket"].cors_rules
    assert rule["AllowedOrigins"] == ["http://127.0.0.1:3001", "http://localhost:3001"]
    assert rule["AllowedMethods"] == ["POST"]
    (read,) = stack.buckets["ProcessedImagesBucket"].cors_rules  # the page reads variants for its ZIP
    assert read["AllowedOrigins"] == ["http://127.0.0.1:3001", "http://localhost:3001"]
    assert read["AllowedMethods"] == ["GET"]
    assert not stack.buckets["WebsiteBucket"].cors_rules


@pytest.mark.parametrize("url, origins", [
    ("http://127.0.0.1:3000", ("http://127.0.0.1:3000", "http://localhost:3000")),
    ("http://localhost:3000/", ("http://127.0.0.1:3000", "http://localhost:3000")),
    ("http://192.168.1.5:3000", ("http://192.168.1.5:3000",)),
])
def test_a_loopback_stack_is_its_own_site_under_both_names(url, origins):
    assert local_site_origins(url) == origins


def test_without_a_site_origin_the_cors_origin_is_the_deployed_one():
    (rule,) = read_stack().buckets["StoredImagesBucket"].cors_rules
    assert rule["AllowedOrigins"] == ["https://image-processing-local-Distribution-DomainName"]


def small_template(conditions: dict, value) -> dict:
    return {
        "Parameters": {"A": {"Type": "String", "Default": ""}, "B": {"Type": "String", "Default": "b"}},
        "Conditions": conditions,
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "bucket",
                "CorsConfiguration": {"CorsRules": [{"AllowedOrigins": value, "AllowedMethods": ["GET"]}]}}},
            "Maybe": {"Type": "AWS::S3::Bucket", "Condition": "HasA", "Properties": {"BucketName": "maybe"}},
        },
    }


def origins(template, overrides=None):
    return read_stack(overrides, template=template).buckets["Bucket"].cors_rules[0]["AllowedOrigins"]


def test_conditions_over_parameters_pick_the_if_branch_and_no_value_drops_an_item():
    conditions = {
        "HasA": {"Fn::Not": [{"Fn::Equals": [{"Ref": "A"}, ""]}]},
        "HasB": {"Fn::Not": [{"Fn::Equals": [{"Ref": "B"}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "HasA"}, {"Condition": "HasB"}]},
        "Either": {"Fn::Or": [{"Condition": "HasA"}, {"Condition": "HasB"}]},
    }
    value = [{"Fn::If": ["Both", "both", "not-both"]}, {"Fn::If": ["Either", "either", {"Ref": "AWS::NoValue"}]}]
    template = small_template(conditions, value)
    assert origins(template) == ["not-both", "either"]
    assert origins(template, {"A": "a"}) == ["both", "either"]
    assert origins(template, {"B": ""}) == ["not-both"]
    assert "Maybe" not in read_stack(template=template).buckets
    assert "Maybe" in read_stack({"A": "a"}, template=template).buckets


def test_an_unknown_condition_fails_loudly():
    template = small_template({}, [{"Fn::If": ["Nope", "x", "y"]}])
    with pytest.raises(TemplateError, match="Nope"):
        read_stack(template=template)


def test_the_yaml_condition_tag_is_read_as_a_condition_reference(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text("Conditions:\n  X: !And [!Condition Y, !Equals [a, a]]\n")
    assert load_template(path)["Conditions"]["X"] == {"Fn::And": [{"Condition": "Y"}, {"Fn::Equals": ["a", "a"]}]}
