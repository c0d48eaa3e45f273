"""Edge delivery in template.yaml: CloudFront in front of the website bucket and the API, the optional domain,
the security headers, the publisher, and the site origin the stored-images bucket admits."""

import re
from pathlib import Path

import pytest

from devstack.cfn.template import TemplateError, read_stack, security_headers
from devstack.cloudfront.distribution import edge_behaviours

ROOT = Path(__file__).resolve().parents[2]
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CLOUDFRONT_ALIAS_ZONE = "Z2FDTNDATAQYW2"
SITE_ORIGIN = {"Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${DomainName}"},
                          {"Fn::Sub": "https://${Distribution.DomainName}"}]}
DOMAIN = {"DomainName": "images.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
          "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-4697-8877-665544332211"}
CSP = ("default-src 'self'; img-src 'self' blob: data: https://{processed}.s3.{region}.amazonaws.com; "
       "connect-src 'self' https://{stored}.s3.{region}.amazonaws.com https://{processed}.s3.{region}.amazonaws.com; "
       "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


@pytest.fixture(scope="module")
def resources(template):
    return template["Resources"]


@pytest.fixture(scope="module")
def distribution(resources):
    return resources["Distribution"]["Properties"]["DistributionConfig"]


def origin(distribution, origin_id):
    (found,) = [o for o in distribution["Origins"] if o["Id"] == origin_id]
    return found


def behaviours(distribution, auth_on: bool = False) -> list[dict]:
    """The cache behaviours as deployed with sign-in off (AuthMode none) or on."""
    found = []
    for behaviour in distribution["CacheBehaviors"]:
        if "Fn::If" in behaviour:
            condition, when_on, when_off = behaviour["Fn::If"]
            assert condition == "AuthOn"
            behaviour = when_on if auth_on else when_off
        if behaviour != {"Ref": "AWS::NoValue"}:
            found.append(behaviour)
    return found


def behaviour_for(distribution, pattern: str) -> dict:
    (found,) = [b for b in behaviours(distribution) if b["PathPattern"] == pattern]
    return found


def test_the_behaviours_are_images_status_objects_and_the_api(distribution):
    assert [b["PathPattern"] for b in behaviours(distribution)] == ["/img/*", "/status/*", "/api/*"]


def test_signed_in_images_are_served_too_behind_signed_cookies(distribution):
    """The key group that guards them: tests/unit/test_template_signed_cookies.py."""
    assert [b["PathPattern"] for b in behaviours(distribution, auth_on=True)] == ["/img/*", "/status/*", "/api/*"]


def test_status_objects_come_from_the_processed_bucket_kept_a_second_at_most(distribution, resources):
    behaviour = behaviour_for(distribution, "/status/*")
    assert set(behaviour["AllowedMethods"]) == set(behaviour["CachedMethods"]) == {"GET", "HEAD"}
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "FunctionAssociations" not in behaviour and "TrustedKeyGroups" not in behaviour
    bucket = origin(distribution, behaviour["TargetOriginId"])
    assert bucket["DomainName"] == {"Fn::GetAtt": ["ProcessedImagesBucket", "RegionalDomainName"]}
    assert "OriginAccessControlId" in bucket
    cache = resources[behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    keyed = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert (keyed["HeadersConfig"], keyed["CookiesConfig"], keyed["QueryStringsConfig"]) == (
        {"HeaderBehavior": "none"}, {"CookieBehavior": "none"}, {"QueryStringBehavior": "none"})
    # A poll is answered from a copy at most a second old; the objects say max-age=1 themselves (progress.py).
    assert (cache["MinTTL"], cache["DefaultTTL"], cache["MaxTTL"]) == (0, 1, 1)


def test_status_objects_say_the_max_age_the_cache_policy_keeps_and_clients_poll_at_that_pace():
    from imageservice import progress

    stack = read_stack()
    status = next(b for b in edge_behaviours(stack) if b.path_pattern == "/status/*")
    max_age = int(progress.CACHE_CONTROL.removeprefix("max-age="))
    assert status.cache.ttl(max_age) == max_age == progress.POLL_SECONDS
    cli = (ROOT / "cli/imageservice_cli/main.py").read_text()
    page = (ROOT / "web/uploads.js").read_text()
    assert f"STATUS_POLL_SECONDS = {progress.POLL_SECONDS}\n" in cli
    assert f"const STATUS_POLL_MS = {progress.POLL_SECONDS * 1000};" in page


def test_api_paths_go_to_the_http_api_uncached_with_everything_it_needs(distribution):
    behaviour = behaviour_for(distribution, "/api/*")
    api = origin(distribution, behaviour["TargetOriginId"])
    assert api["DomainName"] == {"Fn::Sub": "${ImagesApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CustomOriginConfig"].get("OriginReadTimeout", 30) >= 25  # ?wait= holds requests up to 20 s
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_images_come_from_the_bucket_then_the_render_function_cached_by_their_normalised_path(distribution,
                                                                                          resources):
    behaviour = behaviour_for(distribution, "/img/*")
    assert set(behaviour["AllowedMethods"]) == set(behaviour["CachedMethods"]) == {"GET", "HEAD"}
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    (association,) = behaviour["FunctionAssociations"]
    assert association == {"EventType": "viewer-request",
                           "FunctionARN": {"Fn::GetAtt": ["ImageRequestFunction", "FunctionMetadata.FunctionARN"]}}
    assert resources["ImageRequestFunction"]["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    # The key is the path the function normalised, nothing of the request besides (no Accept, cookie or query).
    cache = resources[behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    keyed = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert (keyed["HeadersConfig"], keyed["CookiesConfig"], keyed["QueryStringsConfig"]) == (
        {"HeaderBehavior": "none"}, {"CookieBehavior": "none"}, {"QueryStringBehavior": "none"})
    assert cache["MinTTL"] == cache["DefaultTTL"] == cache["MaxTTL"] == 31536000
    (group,) = distribution["OriginGroups"]["Items"]
    assert behaviour["TargetOriginId"] == group["Id"]
    assert sorted(group["FailoverCriteria"]["StatusCodes"]["Items"]) == [403, 404]
    first, second = (origin(distribution, member["OriginId"]) for member in group["Members"]["Items"])
    assert first["DomainName"] == {"Fn::GetAtt": ["ProcessedImagesBucket", "RegionalDomainName"]}
    assert resources[first["OriginAccessControlId"]["Fn::GetAtt"][0]]["Properties"][
        "OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    assert second["DomainName"] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": ["RenderFunctionUrl",
                                                                                            "FunctionUrl"]}]}]}
    assert second["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert resources[second["OriginAccessControlId"]["Fn::GetAtt"][0]]["Properties"][
        "OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "lambda"


def test_only_this_distribution_may_call_the_render_function(resources):
    assert resources["RenderFunction"]["Properties"]["FunctionUrlConfig"] == {"AuthType": "AWS_IAM"}
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for permission in permissions:
        assert permission["FunctionName"] == {"Ref": "RenderFunction"}
        assert permission["Principal"] == "cloudfront.amazonaws.com"
        assert permission["SourceArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"}


def test_everything_else_is_the_website_bucket_cached_and_compressed(distribution):
    default = distribution["DefaultCacheBehavior"]
    website = origin(distribution, default["TargetOriginId"])
    assert website["DomainName"] == {"Fn::GetAtt": ["WebsiteBucket", "RegionalDomainName"]}
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["Compress"] is True
    assert set(default["AllowedMethods"]) == {"GET", "HEAD"}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}
    assert distribution["DefaultRootObject"] == "index.html"
    assert distribution["HttpVersion"] == "http2and3"
    assert distribution["IPV6Enabled"] is True
    assert distribution["PriceClass"] == {"Ref": "PriceClass"}


def test_price_class_defaults_to_the_cheapest(template):
    assert template["Parameters"]["PriceClass"]["Default"] == "PriceClass_100"


def test_the_website_origin_is_signed_by_origin_access_control(distribution, resources):
    website = origin(distribution, distribution["DefaultCacheBehavior"]["TargetOriginId"])
    assert website["OriginAccessControlId"] == {"Fn::GetAtt": ["WebsiteOriginAccessControl", "Id"]}
    assert website["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac = resources["WebsiteOriginAccessControl"]
    assert oac["Type"] == "AWS::CloudFront::OriginAccessControl"
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"], config["SigningProtocol"]) == (
        "s3", "always", "sigv4")


def test_the_website_bucket_is_private_encrypted_and_read_by_this_distribution_alone(template, resources):
    props = resources["WebsiteBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"
                 and r["Properties"]["Bucket"] == {"Ref": "WebsiteBucket"}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Condition"] for s in deny] == [{"Bool": {"aws:SecureTransport": False}}]
    (read,) = allow
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == {"Fn::Sub": "${WebsiteBucket.Arn}/*"}
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"}}}


def test_security_headers_are_strict_and_on_every_answer(resources, template):
    policy = resources["SecurityHeadersPolicy"]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    stack = read_stack()
    assert security_headers(template)["Content-Security-Policy"] == CSP.format(
        processed=stack.bucket_name("ProcessedImagesBucket"), stored=stack.bucket_name("StoredImagesBucket"),
        region="us-east-1")
    assert headers["StrictTransportSecurity"] == {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True,
                                                   "Preload": True, "Override": True}
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    assert all(value["Override"] is True for value in headers.values())


def test_the_policy_admits_no_other_host_than_the_buckets_the_urls_name(template):
    """Pre-signed GETs and POSTs name the bucket's regional host (src/shared/imageservice/aws.py); any other
    https: host, a scheme-wide source or a wildcard would let injected markup load or send anywhere."""
    directives = {d.split()[0]: d.split()[1:] for d in security_headers(template)["Content-Security-Policy"].split(";")}
    sources = [source for values in directives.values() for source in values]
    assert not [s for s in sources if s in ("https:", "http:", "*") or "*" in s]
    hosts = {s for s in sources if s.startswith("https://")}
    assert hosts == set(directives["img-src"][3:]) | set(directives["connect-src"][1:])
    assert all(host.endswith(".s3.us-east-1.amazonaws.com") for host in hosts) and len(hosts) == 2


def test_the_page_may_fetch_the_variants_it_zips(template):
    """The ZIP fetch()es each variant's pre-signed URL: a request, which connect-src governs, not img-src."""
    directives = {d.split()[0]: d.split()[1:] for d in security_headers(template)["Content-Security-Policy"].split(";")}
    processed = f"https://{read_stack().bucket_name('ProcessedImagesBucket')}.s3.us-east-1.amazonaws.com"
    assert processed in directives["img-src"] and processed in directives["connect-src"]


def test_the_page_needs_nothing_the_policy_forbids():
    """No inline script, style or handler in the page, so script-src and style-src 'self' hold."""
    html = (ROOT / "web" / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html)


def test_the_custom_domain_exists_only_with_all_three_parameters(template, resources, distribution):
    names = ("DomainName", "HostedZoneId", "CertificateArn")
    assert template["Conditions"]["HasCustomDomain"] == {"Fn::And": [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]} for name in names]}
    for name in names:
        assert template["Parameters"][name]["Default"] == ""
    assert distribution["Aliases"] == {"Fn::If": ["HasCustomDomain", [{"Ref": "DomainName"}], {"Ref": "AWS::NoValue"}]}
    with_domain, without = distribution["ViewerCertificate"]["Fn::If"][1:]
    assert distribution["ViewerCertificate"]["Fn::If"][0] == "HasCustomDomain"
    assert with_domain == {"AcmCertificateArn": {"Ref": "CertificateArn"}, "SslSupportMethod": "sni-only",
                           "MinimumProtocolVersion": "TLSv1.2_2021"}
    assert without == {"CloudFrontDefaultCertificate": True}
    records = {name: r for name, r in resources.items() if r["Type"] == "AWS::Route53::RecordSet"}
    assert sorted(r["Properties"]["Type"] for r in records.values()) == ["A", "AAAA"]
    for record in records.values():
        assert record["Condition"] == "HasCustomDomain"
        assert record["Properties"]["Name"] == {"Ref": "DomainName"}
        assert record["Properties"]["HostedZoneId"] == {"Ref": "HostedZoneId"}
        assert record["Properties"]["AliasTarget"] == {"DNSName": {"Fn::GetAtt": ["Distribution", "DomainName"]},
                                                       "HostedZoneId": CLOUDFRONT_ALIAS_ZONE}
    # Nothing else is conditional on the domain: without it the stack is complete.
    conditional = {name for name, r in resources.items() if r.get("Condition") == "HasCustomDomain"}
    assert conditional == set(records)


def test_the_domain_parameters_accept_empty_and_real_values(template):
    for name, value in DOMAIN.items():
        pattern = template["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, "") and re.fullmatch(pattern, value), name
    assert not re.fullmatch(template["Parameters"]["CertificateArn"]["AllowedPattern"],
                            DOMAIN["CertificateArn"].replace("us-east-1", "eu-west-1"))


def test_the_stored_images_bucket_admits_the_site_origins_one_of_which_is_the_site_url(template, resources):
    """With a custom domain the page is still served on the distribution's own name: both origins POST here."""
    (rule,) = resources["StoredImagesBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [
        {"Fn::Sub": "https://${Distribution.DomainName}"},
        {"Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${DomainName}"}, {"Ref": "AWS::NoValue"}]}]
    assert rule["AllowedMethods"] == ["POST"]
    assert template["Outputs"]["SiteUrl"]["Value"] == SITE_ORIGIN
    assert "AllowedOrigin" not in template["Parameters"]  # no manual step: the origin follows the deployment


def test_the_processed_images_bucket_lets_the_site_read_variants_for_its_zip(resources):
    """GET only, from CloudFront origins (its own distribution would be a cycle) and the custom domain; locally
    the stack's origin stands in for them, as for the stored-images bucket."""
    (rule,) = resources["ProcessedImagesBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["GET"] and "AllowedHeaders" not in rule
    assert rule["AllowedOrigins"] == [
        "https://*.cloudfront.net",
        {"Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${DomainName}"}, {"Ref": "AWS::NoValue"}]}]
    (local,) = read_stack({}, site_origins=("http://127.0.0.1:3000",)).buckets["ProcessedImagesBucket"].cors_rules
    assert local["AllowedOrigins"] == ["http://127.0.0.1:3000"]


CLOUDFRONT_ORIGIN = "https://image-processing-local-Distribution-DomainName"


@pytest.mark.parametrize("overrides, origins", [
    ({}, [CLOUDFRONT_ORIGIN]),
    (DOMAIN, [CLOUDFRONT_ORIGIN, "https://images.example.com"]),  # the SiteUrl and the distribution's own name
    ({**DOMAIN, "CertificateArn": ""}, [CLOUDFRONT_ORIGIN]),
])
def test_the_cors_origins_resolve_per_condition(overrides, origins):
    (rule,) = read_stack(overrides).buckets["StoredImagesBucket"].cors_rules
    assert rule["AllowedOrigins"] == origins


def test_outputs_name_the_site_the_distribution_and_the_website_bucket(template):
    outputs = template["Outputs"]
    assert outputs["DistributionId"]["Value"] == {"Ref": "Distribution"}
    assert outputs["WebsiteBucketName"]["Value"] == {"Ref": "WebsiteBucket"}
    assert outputs["SiteUrl"]["Value"] == SITE_ORIGIN


def test_the_publisher_runs_on_every_deploy_that_changes_the_page(resources):
    publication = resources["WebsitePublication"]
    assert publication["Type"] == "Custom::WebsitePublisher"
    props = publication["Properties"]
    assert props["ServiceToken"] == {"Ref": "PublishFunction.Alias"}
    assert props["BucketName"] == {"Ref": "WebsiteBucket"}
    assert props["DistributionId"] == {"Ref": "Distribution"}
    # A new version is published whenever the package changes, and web/ is in the package.
    assert props["ContentVersion"] == {"Ref": "PublishFunction.Version"}
    function = resources["PublishFunction"]["Properties"]
    assert function["AutoPublishAlias"]
    assert function["EventInvokeConfig"]["MaximumRetryAttempts"] == 0  # one answer, no late republish
    assert 1 <= props["ServiceTimeout"] <= 3600 and props["ServiceTimeout"] > function["Timeout"]


def test_the_local_stack_reads_the_conditional_resources_as_deployed():
    assert "WebsiteBucket" in read_stack().buckets
    with pytest.raises(TemplateError, match="unknown parameter"):
        read_stack({"AllowedOrigin": "http://127.0.0.1:3000"})


def dependencies(value) -> set[str]:
    """The resources a (transformed) template value refers to."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(item, str):
                    found |= dependencies(item[1])
            elif key == "DependsOn":
                found |= {item} if isinstance(item, str) else set(item)
            else:
                found |= dependencies(item)
    elif isinstance(value, list):
        for item in value:
            found |= dependencies(item)
    return found


def test_the_transformed_template_has_no_dependency_cycle(monkeypatch):
    """The CORS origin is the distribution's domain, the distribution's API origin is the HTTP API, and the API
    refers to its functions: a !Ref from a function's role to the stored-images bucket would close a cycle
    that only shows after the SAM transform."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    from scripts import translate_template
    template = yaml_parse((ROOT / "template.yaml").read_text())
    transformed = transform(translate_template.as_packaged(template), {}, translate_template.OfflinePolicyLoader())
    resources = transformed["Resources"]
    graph = {name: dependencies(resource) & set(resources) for name, resource in resources.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        if state.get(node) == 1:
            raise AssertionError("cycle: " + " -> ".join([*path[path.index(node):], node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        state[node] = 2

    for name in sorted(graph):
        visit(name, [])
    assert graph["StoredImagesBucket"] >= {"Distribution"}  # the edge that made the cycle possible


@pytest.mark.parametrize(("overrides", "sign_in_origin"), [
    ({"AuthMode": "cognito"}, "https://sign-in-0f1e2d3c-4b5a-4697-8877-665544332211.auth.us-east-1.amazoncognito.com"),
    ({"AuthMode": "oidc", "OidcIssuer": "https://id.example.com:8443/realms/images", "OidcAudience": "site"},
     "https://id.example.com:8443"),
])
def test_with_sign_in_on_the_page_may_connect_to_the_sign_in_origin_and_nothing_else_changes(
        template, overrides, sign_in_origin):
    policy = security_headers(template, overrides)["Content-Security-Policy"]
    without = security_headers(template)["Content-Security-Policy"]
    connect = next(d.strip() for d in without.split(";") if d.strip().startswith("connect-src"))
    assert policy == without.replace(connect, f"{connect} {sign_in_origin}")
