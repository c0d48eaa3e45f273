"""Pre-signed URLs and POSTs point at the bucket's regional name on AWS and at the local stack's storage server
behind its endpoint override. botocore signs offline, so no request leaves the machine."""

from urllib.parse import urlparse

import pytest
from imageservice.aws import s3_client

BUCKET = "stored-images-51af3dc0-da77-11e4-872e-1234567db123"


@pytest.fixture
def client_in(monkeypatch):
    def make(region: str, endpoint: str | None = None):
        for name, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                            "AWS_SESSION_TOKEN": "token", "AWS_REGION": region, "AWS_DEFAULT_REGION": region}.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")  # no profile may set an endpoint or a style
        if endpoint:
            monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        s3_client.cache_clear()
        return s3_client()
    yield make
    s3_client.cache_clear()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "af-south-1"])
def test_presigned_get_and_post_use_the_regional_virtual_hosted_endpoint(client_in, region):
    client = client_in(region)
    get = urlparse(client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "images/a/b.webp"},
                                                 ExpiresIn=900))
    post = urlparse(client.generate_presigned_post(BUCKET, "uploads/a", ExpiresIn=900)["url"])
    expected = f"{BUCKET}.s3.{region}.amazonaws.com"
    assert (get.scheme, get.hostname, get.path) == ("https", expected, "/images/a/b.webp")
    assert (post.scheme, post.hostname) == ("https", expected)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:41411", "http://localhost:41411"])
def test_the_local_stack_endpoint_stays_path_style(client_in, endpoint):
    client = client_in("us-east-1", endpoint)
    get = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "images/a/b.webp"})
    post = client.generate_presigned_post(BUCKET, "uploads/a")["url"]
    assert get.startswith(f"{endpoint}/{BUCKET}/images/a/b.webp?")
    assert post.rstrip("/") == f"{endpoint}/{BUCKET}"
