"""Handlers over in-process moto: buckets and environment exactly as template.yaml declares them."""

import base64
import copy
import uuid
from urllib.parse import quote_plus

import boto3
import pytest
from imageservice.aws import cloudfront_client, s3_client, secretsmanager_client
from imageservice.config import get_config
from imageservice.keys import upload_key
from lambda_responses import response_json
from moto import mock_aws

from devstack.iam import acting_as, acting_function, install_iam
from devstack.lambda_.functions import LambdaContext, load_handler
from testkit.events import events_origin_secret
from testkit.images import gradient_photo


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def function_env(monkeypatch, stack):
    """The environment of every function, as the template resolves it (all share Globals); the origin secret, which
    a deploy generates, is the one the sample events carry (as CloudFront sends it to a deployed stack)."""
    def apply(overrides: dict[str, str] | None = None):
        for function in stack.functions.values():
            for name, value in function.environment.items():
                monkeypatch.setenv(name, events_origin_secret() if name == "ORIGIN_SECRET" else value)
        for name, value in (overrides or {}).items():
            monkeypatch.setenv(name, value)
        get_config.cache_clear()
    apply()
    yield apply
    get_config.cache_clear()


FAILURE_QUEUE_NAME = "ProcessFailureQueue"


@pytest.fixture
def iam_template(rendered_template):
    """The rendered template whose role policies the functions run under (a test may narrow them)."""
    return rendered_template


@pytest.fixture
def iam(aws_credentials, function_env, stack, iam_template):
    """In-process moto with IAM: each client made inside acts as the function `invoke` runs (see there)."""
    with mock_aws():
        s3_client.cache_clear()
        cloudfront_client.cache_clear()
        secretsmanager_client.cache_clear()
        distribution_id = create_distribution()
        function_env({"DISTRIBUTION_ID": distribution_id})
        physical_ids = {name: bucket.name for name, bucket in stack.buckets.items()}
        installed = install_iam(boto3, acting_function, iam_template,
                                {**physical_ids, "ProcessFailureQueue": FAILURE_QUEUE_NAME,
                                 "Distribution": distribution_id})
        yield installed
        installed.uninstall()
    s3_client.cache_clear()
    cloudfront_client.cache_clear()
    secretsmanager_client.cache_clear()


def create_distribution() -> str:
    """A distribution in moto standing for the stack's (InvalidateFunction invalidates it); its id."""
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "stack", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "WebsiteOrigin", "DomainName": "website.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "WebsiteOrigin", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    })
    return distribution["Distribution"]["Id"]


@pytest.fixture
def s3(iam, stack):
    """The test's own client (no function's: not evaluated), with the stack's buckets made."""
    client = boto3.client("s3", region_name="us-east-1")
    for bucket in stack.buckets.values():
        client.create_bucket(Bucket=bucket.name)
    return client


@pytest.fixture
def invoke(s3, stack):
    """Call a function's handler with an event, as Lambda would: its AWS calls are its role's to make."""
    def call(logical_id: str, event: dict):
        function = stack.functions[logical_id]
        with acting_as(logical_id):
            return load_handler(function)(copy.deepcopy(event), LambdaContext(function, str(uuid.uuid4())))
    return call


@pytest.fixture
def config(s3):
    return get_config()


@pytest.fixture
def http_event():
    return vary_http_event


def vary_http_event(
    template_event: dict, *, method: str | None = None, path: str | None = None, route: str | None = None,
    body: bytes | str | None = None, headers: dict | None = None, query: dict | None = None,
    path_parameters: dict | None = None,
) -> dict:
    """A variation of a sample HTTP API event from events/ (never a hand-written copy of one)."""
    event = copy.deepcopy(template_event)
    if method or route:
        method = method or event["requestContext"]["http"]["method"]
        route = route or event["routeKey"].split(" ", 1)[1]
        event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
        event["requestContext"]["http"]["method"] = method
    if path:
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        event["headers"] = {**event["headers"], "content-length": str(len(raw))}  # as API Gateway passes it
    if headers is not None:
        event["headers"] = {**event["headers"], **{k.lower(): v for k, v in headers.items()}}
    if query is not None:
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if not query:
            event.pop("queryStringParameters")
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    return event


@pytest.fixture
def photo():
    """A photo-like image encoded in code, larger than the medium variant so all three variants differ."""
    return gradient_photo


@pytest.fixture
def upload(invoke, load_event, http_event, photo):
    """POST an image through UploadFunction; returns the image id."""
    def call(data: bytes | None = None, query: dict | None = None) -> str:
        event = http_event(load_event("upload_post_image.json"), body=photo() if data is None else data,
                           query=query or {})
        response = invoke("UploadFunction", event)
        assert response["statusCode"] == 202, response
        return response_json(response)["id"]
    return call


@pytest.fixture
def process(invoke, load_event, stack):
    """Deliver the S3 event for an original to ProcessFunction, as S3 would (key URL-encoded)."""
    def call(image_id: str) -> None:
        event = load_event("process_put.json")
        event["Records"][0]["s3"]["object"]["key"] = quote_plus(upload_key(image_id))
        event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket_name("StoredImagesBucket")
        invoke("ProcessFunction", event)
    return call
