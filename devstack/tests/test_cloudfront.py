"""The local stack's CloudFront (devstack/cloudfront): the distribution read from the template, the edge (the
viewer-request function run in Node, the cache, the origin group) and the CreateInvalidation API."""

import base64
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack.apigw.events import http_answer
from devstack.cfn.template import TemplateError, read_stack
from devstack.cloudfront import LocalCloudFront
from devstack.cloudfront.api import CloudFrontApi
from devstack.cloudfront.distribution import (
    distribution_reads,
    edge_behaviours,
    function_code,
    origin_group_behaviours,
    trusted_keys,
)
from devstack.cloudfront.edge import Edge
from devstack.cloudfront.functions import CloudFrontFunction
from devstack.iam.identity import STACK_CREDENTIALS, Credentials

IMAGE_ID = "6c0d2d5e-8f1a-4c1b-9a59-2f4d6c7b8e90"
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def test_the_image_behaviour_is_read_from_the_template():
    stack = read_stack()
    (behaviour,) = origin_group_behaviours(stack)
    assert behaviour.path_pattern == "/img/*" and behaviour.matches(f"/img/{IMAGE_ID}/640.auto")
    assert not behaviour.matches("/api/images") and not behaviour.matches("/image.png")
    assert [(o.bucket, o.function) for o in behaviour.origins] == [
        (stack.bucket_name("ProcessedImagesBucket"), None), (None, "RenderFunction")]
    assert behaviour.failover_statuses == {403, 404}
    assert behaviour.viewer_request == "ImageRequestFunction"
    assert behaviour.cache.ttl(None) == behaviour.cache.ttl(0) == 31536000
    assert behaviour.allowed_methods == {"GET", "HEAD"}
    assert "'160,320,640,960,1280,1920,2560'.split" in function_code(stack, "ImageRequestFunction")
    assert "'320,640'.split" in function_code(read_stack({"Widths": "320,640"}), "ImageRequestFunction")


OIDC = {"AuthMode": "oidc", "OidcIssuer": "https://issuer.example", "OidcAudience": "page"}


def test_signed_in_the_image_behaviour_trusts_the_stack_s_key_group_and_without_sign_in_none():
    (signed_in,) = origin_group_behaviours(read_stack(OIDC))
    assert signed_in.trusted_key_groups == ("EdgeKeyGroup",)
    (public,) = origin_group_behaviours(read_stack())
    assert public.trusted_key_groups == ()


def test_a_key_group_s_keys_are_its_public_keys_as_their_custom_resource_made_them():
    stack = read_stack(OIDC)
    keys = trusted_keys(stack, "EdgeKeyGroup", {"EdgeKeyPair": {"PublicKey": "PEM"}})
    assert keys == {"image-processing-local-EdgePublicKey": "PEM"}
    with pytest.raises(TemplateError):
        trusted_keys(stack, "EdgeKeyGroup", {})  # the custom resource did not run


class FakeBucket:
    def __init__(self):
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.reads = 0

    def get_object(self, Bucket, Key):  # noqa: N803 - boto3's names
        self.reads += 1
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}},
                              "GetObject")
        data, content_type = self.objects[Bucket, Key]
        return {"Body": _Body(data), "ResponseMetadata": {"HTTPHeaders": {
            "content-type": content_type, "cache-control": "public, max-age=31536000, immutable", "etag": '"e"'}}}


class _Body:
    def __init__(self, data):
        self.data = data

    def read(self):
        return self.data


@pytest.fixture
def edge():
    stack = read_stack()
    behaviours = origin_group_behaviours(stack)
    bucket = FakeBucket()
    calls = []
    clock = [1000.0]

    def invoke(function, event):
        calls.append((function, event))
        key = event["rawPath"][1:]
        if event["rawPath"].endswith(".webp"):
            bucket.objects[stack.bucket_name("ProcessedImagesBucket"), key] = (b"RIFF-webp", "image/webp")
            return {"statusCode": 200, "headers": {"Content-Type": "image/webp",
                                                    "Cache-Control": "public, max-age=31536000, immutable"},
                    "body": base64.b64encode(b"RIFF-webp").decode(), "isBase64Encoded": True}
        return {"statusCode": 404, "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
                "body": '{"error":{"code":"not_found","message":"No image has this id."}}'}

    function = CloudFrontFunction("ImageRequestFunction", function_code(stack, "ImageRequestFunction"))
    edge = Edge("E-LOCAL", "127.0.0.1", behaviours, {"ImageRequestFunction": function}, bucket, invoke, http_answer,
                clock=lambda: clock[0])
    edge.bucket, edge.calls, edge.clock_value = bucket, calls, clock
    yield edge
    function.close()


def get(edge, path, accept=CHROME, method="GET"):
    return edge.serve(edge.behaviours[0], method, path, "", {"accept": accept, "host": "127.0.0.1"}, "127.0.0.1")


def header(answer, name):
    return next((value for key, value in answer.headers if key.lower() == name.lower()), None)


def test_a_miss_fails_over_to_the_function_is_cached_and_then_hit(edge):
    first = get(edge, f"/img/{IMAGE_ID}/640.auto", accept="image/webp,*/*")
    assert (first.status, first.body, header(first, "X-Cache")) == (200, b"RIFF-webp", "Miss from cloudfront")
    assert [event["rawPath"] for _, event in edge.calls] == [f"/img/{IMAGE_ID}/640.webp"]
    edge.clock_value[0] += 7
    second = get(edge, f"/img/{IMAGE_ID}/640.auto", accept="image/webp,*/*")
    assert (second.body, header(second, "X-Cache"), header(second, "Age")) == (b"RIFF-webp", "Hit from cloudfront", "7")
    assert len(edge.calls) == 1 and edge.bucket.reads == 1


def test_the_cache_key_is_the_chosen_format_not_the_accept_header(edge):
    get(edge, f"/img/{IMAGE_ID}/640.webp")
    assert header(get(edge, f"/img/{IMAGE_ID}/640.auto", accept="image/webp"), "X-Cache") == "Hit from cloudfront"
    assert edge.cached_paths() == [f"/img/{IMAGE_ID}/640.webp"]


def test_after_invalidation_the_bucket_answers_without_a_second_render(edge):
    get(edge, f"/img/{IMAGE_ID}/640.webp")
    assert edge.invalidate([f"/img/{IMAGE_ID}/*"]) == 1
    again = get(edge, f"/img/{IMAGE_ID}/640.webp")
    assert header(again, "X-Cache") == "Miss from cloudfront" and again.body == b"RIFF-webp"
    assert len(edge.calls) == 1 and edge.bucket.reads == 2
    assert edge.invalidate([f"/img/{uuid.uuid4()}/*", "/img/other"]) == 0


def test_errors_and_function_answers_are_not_cached(edge):
    for _ in range(2):
        missing = get(edge, f"/img/{IMAGE_ID}/640.avif")
        assert (missing.status, header(missing, "X-Cache")) == (404, "Error from cloudfront")
        refused = get(edge, f"/img/{IMAGE_ID}/641.avif")
        assert (refused.status, header(refused, "X-Cache")) == (400, "FunctionGeneratedResponse from cloudfront")
        assert b"invalid_option" in refused.body and header(refused, "Content-Type") == "application/json"
    assert len(edge.calls) == 2 and edge.cached_paths() == []


def test_a_method_the_behaviour_does_not_allow_is_403(edge):
    assert get(edge, f"/img/{IMAGE_ID}/640.webp", method="POST").status == 403


def test_a_function_that_throws_is_503():
    stack = read_stack()
    broken = CloudFrontFunction("Broken", "function handler(event) { throw new Error('no'); }")
    try:
        edge = Edge("E", "h", origin_group_behaviours(stack), {"ImageRequestFunction": broken}, FakeBucket(),
                    lambda f, e: {}, http_answer)
        answer = get(edge, f"/img/{IMAGE_ID}/640.webp")
        assert (answer.status, header(answer, "X-Cache")) == (503, "FunctionExecutionError from cloudfront")
    finally:
        broken.close()


def test_a_function_that_loops_is_stopped():
    looping = CloudFrontFunction("Loop", "function handler(event) { while (true) {} }")
    try:
        with pytest.raises(Exception, match="timed out"):
            looping.run({"request": {}})
    finally:
        looping.close()


@pytest.fixture
def api():
    dropped = []
    function_keys = Credentials("AKIDINVALIDATE", "secret-of-the-function")
    server = CloudFrontApi("127.0.0.1", "E-LOCAL", lambda paths: dropped.append(paths) or 0,
                           {STACK_CREDENTIALS.access_key: STACK_CREDENTIALS,
                            function_keys.access_key: function_keys}).start()
    server.dropped, server.function_keys = dropped, function_keys
    yield server
    server.stop()


def client(api, credentials):
    return boto3.client("cloudfront", endpoint_url=api.url, region_name="us-east-1",
                        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                        config=Config(retries={"max_attempts": 1}))


def invalidation(reference, path=f"/img/{IMAGE_ID}/*"):
    return {"Paths": {"Quantity": 1, "Items": [path]}, "CallerReference": reference}


def test_create_invalidation_drops_the_paths_once_per_caller_reference(api):
    cloudfront = client(api, api.function_keys)
    first = cloudfront.create_invalidation(DistributionId="E-LOCAL", InvalidationBatch=invalidation("r1"))
    again = cloudfront.create_invalidation(DistributionId="E-LOCAL", InvalidationBatch=invalidation("r1"))
    assert first["Invalidation"]["Id"] == again["Invalidation"]["Id"]
    assert first["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == [f"/img/{IMAGE_ID}/*"]
    assert api.dropped == [[f"/img/{IMAGE_ID}/*"]]


def test_create_invalidation_is_refused_unsigned_wrongly_signed_or_for_another_distribution(api):
    with pytest.raises(ClientError, match="NoSuchDistribution"):
        client(api, api.function_keys).create_invalidation(DistributionId="E-OTHER",
                                                           InvalidationBatch=invalidation("r2"))
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        client(api, Credentials("AKIDINVALIDATE", "a-wrong-secret")).create_invalidation(
            DistributionId="E-LOCAL", InvalidationBatch=invalidation("r3"))
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        client(api, Credentials("AKIDUNKNOWN", "x")).create_invalidation(
            DistributionId="E-LOCAL", InvalidationBatch=invalidation("r4"))
    assert api.dropped == []


def test_a_template_without_an_edge_behaviour_starts_nothing():
    stack = read_stack({"AuthMode": "oidc", "OidcIssuer": "https://issuer.example", "OidcAudience": "page"})
    config = stack.template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["CacheBehaviors"] = [b for b in config["CacheBehaviors"] if b.get("PathPattern") == "/api/*"]
    cloudfront = LocalCloudFront(stack, "127.0.0.1", "127.0.0.1", FakeBucket(), lambda f, e: {}, http_answer, {})
    assert (cloudfront.edge, cloudfront.api_url) == (None, None)
    cloudfront.stop()


# ---------------------------------------------------------------------------------------------- signed cookies
OWNER = "ab" * 32
OTHER = "cd" * 32


@pytest.fixture
def signed_edge():
    """The signed-in /img/* behaviour (AuthMode oidc), trusting one key made as EdgeKeyPair makes it."""
    from edge_signing import generate_key_pair

    stack = read_stack(OIDC)
    behaviours = origin_group_behaviours(stack)
    bucket, calls, clock = FakeBucket(), [], [1_800_000_000.0]
    processed = stack.bucket_name("ProcessedImagesBucket")
    bucket.objects[processed, f"img/{OWNER}/{IMAGE_ID}/640.webp"] = (b"w", "image/webp")

    def invoke(function, event):
        calls.append(event)
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    function = CloudFrontFunction("ImageRequestFunction", function_code(stack, "ImageRequestFunction"))
    edge = Edge("E-LOCAL", "127.0.0.1", behaviours, {"ImageRequestFunction": function}, bucket, invoke, http_answer,
                clock=lambda: clock[0])
    pair = generate_key_pair()
    edge.key_groups = {"EdgeKeyGroup": {"KEY1": pair.public_pem}}
    edge.pair, edge.calls, edge.clock_value, edge.bucket = pair, calls, clock, bucket
    yield edge
    function.close()


def signed_get(edge, path, cookies: dict[str, str], query=""):
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return edge.serve(edge.behaviours[0], "GET", path, query,
                      {"accept": "image/webp", "host": "127.0.0.1:8000", "cookie": cookie}, "127.0.0.1")


def cookies_for(edge, owner=OWNER, expires=1_800_003_600, key_id="KEY1", site="http://127.0.0.1:8000"):
    from edge_signing import load_signing_key, owner_resource, signed_cookies

    return signed_cookies(load_signing_key(edge.pair.private_pem), key_id, owner_resource(site, owner), expires)


def test_a_signed_cookie_for_the_owner_s_paths_admits_them(signed_edge):
    answer = signed_get(signed_edge, f"/img/{OWNER}/{IMAGE_ID}/640.auto", cookies_for(signed_edge))
    assert (answer.status, answer.body, header(answer, "X-Cache")) == (200, b"w", "Miss from cloudfront")


def test_without_a_valid_cookie_for_the_path_cloudfront_answers_403_before_anything_runs(signed_edge):
    path = f"/img/{OWNER}/{IMAGE_ID}/640.auto"
    good = cookies_for(signed_edge)
    tampered = dict(good, **{"CloudFront-Signature": good["CloudFront-Signature"][:-8] + "AAAAAAA_"})
    sha1_claimed = dict(good, **{"CloudFront-Hash-Algorithm": "SHA1"})
    cases = {
        "no cookie": ({}, "MissingKey"),
        "another owner's cookie": (cookies_for(signed_edge, owner=OTHER), "AccessDenied"),
        "expired": (cookies_for(signed_edge, expires=1_800_000_000), "AccessDenied"),
        "another site": (cookies_for(signed_edge, site="http://localhost:8000"), "AccessDenied"),
        "an unknown key": (cookies_for(signed_edge, key_id="KEY2"), "AccessDenied"),
        "a tampered signature": (tampered, "AccessDenied"),
        "another hash than signed": (sha1_claimed, "AccessDenied"),
        "no policy": ({k: v for k, v in good.items() if k != "CloudFront-Policy"}, "AccessDenied"),
    }
    for why, (cookies, code) in cases.items():
        answer = signed_get(signed_edge, path, cookies)
        assert answer.status == 403 and f"<Code>{code}</Code>".encode() in answer.body, why
        assert header(answer, "X-Cache") == "Error from cloudfront", why
    # The owner's cookie never reaches another owner's path, not even by a query string naming its own.
    theirs = signed_get(signed_edge, f"/img/{OTHER}/{IMAGE_ID}/640.auto", good, query=f"x=/img/{OWNER}/")
    assert theirs.status == 403
    assert signed_edge.bucket.reads == 0 and signed_edge.calls == []


def test_a_key_group_whose_keys_never_came_admits_nothing(signed_edge):
    cookies = cookies_for(signed_edge)
    signed_edge.key_groups = {}
    assert signed_get(signed_edge, f"/img/{OWNER}/{IMAGE_ID}/640.auto", cookies).status == 403


# ---------------------------------------------------------------- /status/*: one bucket, a second's TTL, 304s
def test_the_status_behaviour_is_read_from_the_template_in_every_auth_mode():
    for parameters in ({}, {"AuthMode": "oidc", "OidcIssuer": "https://issuer.example", "OidcAudience": "page"}):
        stack = read_stack(parameters)
        status = next(b for b in edge_behaviours(stack) if b.path_pattern == "/status/*")
        assert [(o.bucket, o.function) for o in status.origins] == [(stack.bucket_name("ProcessedImagesBucket"), None)]
        assert (status.failover_statuses, status.viewer_request) == (frozenset(), None)
        assert status.cache.ttl(None) == status.cache.ttl(1) == status.cache.ttl(3600) == 1
        assert status.cache.ttl(0) == 0
    assert [b.path_pattern for b in edge_behaviours(read_stack())] == ["/img/*", "/status/*"]


def test_the_distribution_reads_only_what_the_bucket_policy_grants_it():
    stack = read_stack()
    bucket, site = stack.bucket_name("ProcessedImagesBucket"), stack.bucket_name("WebsiteBucket")
    assert sorted(distribution_reads(stack)) == [f"arn:aws:s3:::{bucket}/img/*", f"arn:aws:s3:::{bucket}/status/*",
                                                 f"arn:aws:s3:::{site}/*"]


@pytest.fixture
def status_edge():
    stack = read_stack()
    bucket = FakeBucket()
    clock = [1000.0]
    edge = Edge("E-LOCAL", "127.0.0.1", edge_behaviours(stack), {}, bucket, lambda f, e: {}, http_answer,
                clock=lambda: clock[0], readable=distribution_reads(stack))
    edge.bucket, edge.clock_value, edge.name = bucket, clock, stack.bucket_name("ProcessedImagesBucket")
    return edge


def get_status(edge, path, if_none_match=None):
    behaviour = edge.behaviour_for(path)
    headers = {"host": "127.0.0.1", **({"if-none-match": if_none_match} if if_none_match else {})}
    return edge.serve(behaviour, "GET", path, "", headers, "127.0.0.1")


def test_a_status_is_cached_a_second_and_a_matching_if_none_match_gets_304(status_edge):
    status_edge.bucket.objects[status_edge.name, f"status/{IMAGE_ID}"] = (b'{"status":"pending"}', "application/json")
    first = get_status(status_edge, f"/status/{IMAGE_ID}")
    assert (first.status, first.body, header(first, "ETag")) == (200, b'{"status":"pending"}', '"e"')
    hit = get_status(status_edge, f"/status/{IMAGE_ID}", if_none_match='"e"')
    assert (hit.status, hit.body, header(hit, "ETag")) == (304, b"", '"e"')
    assert header(hit, "X-Cache") == "Hit from cloudfront"
    assert status_edge.bucket.reads == 1
    other = get_status(status_edge, f"/status/{IMAGE_ID}", if_none_match='"other"')
    assert (other.status, other.body) == (200, b'{"status":"pending"}')
    status_edge.clock_value[0] += 1  # the TTL (max-age 1 at most) has passed: the origin is asked again
    again = get_status(status_edge, f"/status/{IMAGE_ID}", if_none_match='"e"')
    assert (again.status, header(again, "X-Cache"), status_edge.bucket.reads) == (304, "Miss from cloudfront", 2)


def test_a_missing_status_is_403_and_keys_the_policy_does_not_grant_are_never_read(status_edge):
    assert get_status(status_edge, f"/status/{IMAGE_ID}").status == 403
    status_edge.bucket.objects[status_edge.name, f"images/{IMAGE_ID}/manifest.json"] = (b"{}", "application/json")
    behaviour = status_edge.behaviour_for(f"/status/{IMAGE_ID}")
    # A path that leaves the behaviour's prefix in the bucket: the edge asks only for what the policy grants.
    answer = status_edge._from_bucket(behaviour.origins[0].bucket, f"images/{IMAGE_ID}/manifest.json")
    assert answer.status == 403 and status_edge.bucket.reads == 1
