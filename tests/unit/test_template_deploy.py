"""What only a real deploy would check, proven over the template CloudFormation receives (after the SAM
transform): no reservation a new account refuses, URL lifetimes role credentials outlive, function logs that
expire, and names inside their services' limits for any stack name."""

import pytest

from tests.template_render import Resolver, transformed

# The longest stack name CloudFormation accepts (128 characters, a letter first).
LONGEST_STACK_NAME = ("image-processing-" * 8)[:127] + "x"
STACK_UUID = "51af3dc0-da77-11e4-872e-1234567db123"
# With the custom domain, the other optional edge resource too (EdgeMetrics: the distribution's monitoring).
DOMAIN = {"DomainName": "images.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
          "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-4697-8877-665544332211",
          "EdgeMetrics": "true"}
# Every AuthMode: a resource whose condition is false under the defaults is checked in the mode that makes it.
AUTH_MODES = {
    "none": {},
    "cognito": {"AuthMode": "cognito", "SelfSignUp": "true"},
    "oidc": {"AuthMode": "oidc", "OidcIssuer": "https://id.example.com/realms/images", "OidcAudience": "site"},
}

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
    "AWS::CloudWatch::Dashboard": {("DashboardName",): 255},
    # The service name is the value of the custom metrics' service dimension (CloudWatch: 1,024 at most).
    "AWS::Lambda::Function": {("FunctionName",): 64, ("Description",): 256,
                              ("Environment", "Variables", "POWERTOOLS_SERVICE_NAME"): 1024},
    "AWS::Lambda::LayerVersion": {("LayerName",): 140, ("Description",): 256},
    "AWS::Lambda::Alias": {("Name",): 128},
    "AWS::IAM::Role": {("RoleName",): 64},
    "AWS::ApiGatewayV2::Api": {("Name",): 128, ("Body", "info", "title"): 128},
    "AWS::ApiGatewayV2::Stage": {("StageName",): 128},
    "AWS::Cognito::UserPool": {("UserPoolName",): 128, ("UserPoolTags", "stack"): 256},
    "AWS::Cognito::UserPoolClient": {("ClientName",): 128},
    "AWS::Cognito::UserPoolDomain": {("Domain",): 63},
}
# Text that holds the stack name without naming anything: the dashboard's title and its metrics' service dimension.
NOT_NAMES = {"AWS::CloudWatch::Dashboard": {("DashboardBody",)}}


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
    assert len(functions) == 10  # SignInUrlsFunction (cognito), EdgeKeyPairFunction and SessionFunction included
    groups = {}
    for name, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        assert isinstance(group, dict) and set(group) == {"Ref"}, f"{name} logs to /aws/lambda/..., kept for ever"
        groups[name] = group["Ref"]
        log_group = resources[group["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert len(set(groups.values())) == len(functions)


@pytest.mark.parametrize("mode", list(AUTH_MODES))
@pytest.mark.parametrize("domain", [{}, DOMAIN], ids=["cloudfront-domain", "custom-domain"])
def test_every_generated_name_fits_its_service_limit_for_the_longest_stack_name(template, domain, mode):
    parameters = {**domain, **AUTH_MODES[mode]}
    resolve = resolver(template, parameters)
    checked = 0
    skipped = []
    for logical_id, resource in template["Resources"].items():
        if "Condition" in resource and not resolve.condition(resource["Condition"]):
            skipped.append(logical_id)
            continue
        properties = resolve.resolve(resource.get("Properties", {}))
        limits = NAME_LIMITS.get(resource["Type"], {})
        for path, text in strings(properties):
            if path in limits:
                checked += 1
                assert len(text) <= limits[path], f"{logical_id}.{'.'.join(path)} is {len(text)} long: {text}"
            elif LONGEST_STACK_NAME in text and path not in NOT_NAMES.get(resource["Type"], set()):
                raise AssertionError(f"{logical_id}.{'.'.join(path)} embeds the stack name; add its limit here")
    assert checked >= 10
    if mode == "cognito":
        assert not [name for name in skipped if template["Resources"][name]["Type"].startswith("AWS::Cognito::")]


def test_every_conditional_resource_is_made_in_some_mode_the_name_test_runs(template):
    """The name test skips resources whose condition is false: each must be true in one of its runs."""
    made = set()
    for parameters in ({**domain, **mode} for domain in ({}, DOMAIN) for mode in AUTH_MODES.values()):
        resolve = resolver(template, parameters)
        made |= {name for name, resource in template["Resources"].items()
                 if "Condition" not in resource or resolve.condition(resource["Condition"])}
    assert set(template["Resources"]) - made == set()


@pytest.mark.parametrize("days", ["30", "0"])
def test_images_expire_after_the_days_given_and_0_keeps_them(template, days):
    resolve = resolver(template, {"OriginalsExpireDays": days, "VariantsExpireDays": days})
    resources = template["Resources"]
    stored = resolve.resolve(resources["StoredImagesBucket"]["Properties"])["LifecycleConfiguration"]["Rules"]
    processed = resolve.resolve(resources["ProcessedImagesBucket"]["Properties"]).get("LifecycleConfiguration")
    (rule,) = stored
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}  # a rule needs an action left
    if days == "0":
        assert "ExpirationInDays" not in rule and processed is None  # S3 refuses an expiration of 0 days
    else:
        assert rule["ExpirationInDays"] == days and processed["Rules"][0]["ExpirationInDays"] == days
    for name in ("OriginalsExpireDays", "VariantsExpireDays"):
        assert template["Parameters"][name]["MinValue"] == 0
    presign = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
                   and "URL_EXPIRES_SECONDS" in r["Properties"]["Environment"]["Variables"])
    assert resolve.resolve(presign["Properties"]["Environment"]["Variables"])["VARIANTS_EXPIRE_DAYS"] == days
