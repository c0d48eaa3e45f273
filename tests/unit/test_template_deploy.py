"""What only a real deploy would check, proven over the template CloudFormation receives (after the SAM
transform): no reservation a new account refuses, URL lifetimes role credentials outlive, function logs that
expire, and names inside their services' limits for any stack name."""

import pytest

from tests.template_render import Resolver, transformed

# The longest stack name CloudFormation accepts (128 characters, a letter first).
LONGEST_STACK_NAME = ("image-processing-" * 8)[:127] + "x"
STACK_UUID = "51af3dc0-da77-11e4-872e-1234567db123"
DOMAIN = {"DomainName": "images.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
          "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-4697-8877-665544332211"}

# Every property that names something, with its service's limit on length (API references and quotas pages;
# the API title is the stack name itself, which SAM sets and no page limits below 128).
NAME_LIMITS = {
    "AWS::S3::Bucket": {("BucketName",): 63},
    "AWS::CloudFront::Distribution": {("DistributionConfig", "Comment"): 128},
    "AWS::CloudFront::OriginAccessControl": {("OriginAccessControlConfig", "Name"): 64},
    "AWS::CloudFront::ResponseHeadersPolicy": {("ResponseHeadersPolicyConfig", "Name"): 128,
                                               ("ResponseHeadersPolicyConfig", "Comment"): 128},
    "AWS::CloudFront::Function": {("Name",): 64, ("FunctionConfig", "Comment"): 128},
    "AWS::CloudFront::CachePolicy": {("CachePolicyConfig", "Name"): 128, ("CachePolicyConfig", "Comment"): 128},
    "AWS::Logs::LogGroup": {("LogGroupName",): 512},
    "AWS::SQS::Queue": {("QueueName",): 80},
    "AWS::CloudWatch::Alarm": {("AlarmName",): 255, ("AlarmDescription",): 1024},
    "AWS::Lambda::Function": {("FunctionName",): 64, ("Description",): 256},
    "AWS::Lambda::LayerVersion": {("LayerName",): 140, ("Description",): 256},
    "AWS::Lambda::Alias": {("Name",): 128},
    "AWS::IAM::Role": {("RoleName",): 64},
    "AWS::ApiGatewayV2::Api": {("Name",): 128, ("Body", "info", "title"): 128},
    "AWS::ApiGatewayV2::Stage": {("StageName",): 128},
}


@pytest.fixture(scope="module")
def template():
    return transformed()


def resolver(template, parameters=None) -> Resolver:
    return Resolver(template, LONGEST_STACK_NAME, STACK_UUID, parameters)


def strings(value, path=()):
    """(path, text) of every string in a resolved value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, path)


def test_process_function_reserves_no_concurrency_unless_asked(template):
    parameter = template["Parameters"]["ProcessConcurrency"]
    assert parameter["Default"] == 0 and parameter["MinValue"] == 0
    default = resolver(template).resolve(template["Resources"]["ProcessFunction"]["Properties"])
    assert "ReservedConcurrentExecutions" not in default  # new accounts (quota 10) refuse any reservation
    asked = resolver(template, {"ProcessConcurrency": "20"}).resolve(
        template["Resources"]["ProcessFunction"]["Properties"])
    assert asked["ReservedConcurrentExecutions"] == "20"


def test_url_lifetime_is_capped_at_what_function_role_credentials_outlive(template):
    parameter = template["Parameters"]["UrlExpiresSeconds"]
    assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 3600
    assert "temporary credentials" in " ".join(parameter["Description"].split())


def test_every_function_logs_to_its_own_group_kept_log_retention_days(template):
    resources = template["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 8  # SignInUrlsFunction (AuthMode cognito) included
    groups = {}
    for name, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        assert isinstance(group, dict) and set(group) == {"Ref"}, f"{name} logs to /aws/lambda/..., kept for ever"
        groups[name] = group["Ref"]
        log_group = resources[group["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert len(set(groups.values())) == len(functions)


@pytest.mark.parametrize("parameters", [{}, DOMAIN], ids=["cloudfront-domain", "custom-domain"])
def test_every_generated_name_fits_its_service_limit_for_the_longest_stack_name(template, parameters):
    resolve = resolver(template, parameters)
    checked = 0
    for logical_id, resource in template["Resources"].items():
        if "Condition" in resource and not resolve.condition(resource["Condition"]):
            continue
        properties = resolve.resolve(resource.get("Properties", {}))
        limits = NAME_LIMITS.get(resource["Type"], {})
        for path, text in strings(properties):
            if path in limits:
                checked += 1
                assert len(text) <= limits[path], f"{logical_id}.{'.'.join(path)} is {len(text)} long: {text}"
            elif LONGEST_STACK_NAME in text:
                raise AssertionError(f"{logical_id}.{'.'.join(path)} embeds the stack name; add its limit here")
    assert checked >= 10
