"""SigV4 as the local storage server checks it (devstack/s3/sigv4.py): requests signed by botocore itself pass;
changed, expired, unknown or unsigned ones get S3's status and code."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials as BotoCredentials

from devstack.iam.identity import STACK_CREDENTIALS, Credentials, function_credentials, known_credentials
from devstack.s3.sigv4 import AuthError, Request, verify

SIGNED_AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
FUNCTION = function_credentials("PresignFunction")
KNOWN = known_credentials(["PresignFunction"])
ENDPOINT = "http://127.0.0.1:4566"


def _presign(key: str = "images/a b+c/ü.jpg", expires: int = 900, credentials: Credentials = FUNCTION,
             params: dict | None = None) -> str:
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", config=BotoConfig(signature_version="s3v4"),
                      **credentials.as_client_arguments())
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT.replace(tzinfo=None)):
        return s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": key, **(params or {})},
                                         ExpiresIn=expires)


def _as_received(url: str, method: str = "GET", headers: dict | None = None, body: bytes = b"") -> Request:
    parts = urlsplit(url)
    return Request(method, parts.path, parts.query, {"host": parts.netloc, **(headers or {})}, body)


def _refusal(request: Request, now: datetime = SIGNED_AT + timedelta(seconds=5)) -> tuple[int, str]:
    with pytest.raises(AuthError) as refused:
        verify(request, KNOWN, now)
    return refused.value.status, refused.value.code


def test_presigned_url_as_signed_passes():
    assert verify(_as_received(_presign()), KNOWN, SIGNED_AT + timedelta(seconds=5)) == FUNCTION.access_key


def test_presigned_url_with_signed_response_parameters_passes():
    url = _presign(params={"ResponseContentDisposition": 'attachment; filename="a b.jpg"'})
    assert verify(_as_received(url), KNOWN, SIGNED_AT) == FUNCTION.access_key


def test_presigned_url_expires():
    url = _presign(expires=60)
    assert verify(_as_received(url), KNOWN, SIGNED_AT + timedelta(seconds=60)) == FUNCTION.access_key
    assert _refusal(_as_received(url), SIGNED_AT + timedelta(seconds=61)) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url + "&response-content-type=text%2Fhtml",
        lambda url: url.replace("/bucket/", "/bucket2/"),
        lambda url: url.replace("X-Amz-Expires=900", "X-Amz-Expires=901"),
        lambda url: url.replace("X-Amz-Signature=", "X-Amz-Signature=0").replace("=0", "=", 0),
        lambda url: url.replace("X-Amz-Date=20260301T120000Z", "X-Amz-Date=20260301T120001Z"),
    ],
    ids=["added-parameter", "other-path", "longer-expiry", "signature", "date"],
)
def test_tampered_presigned_url_is_refused(tamper):
    assert _refusal(_as_received(tamper(_presign()))) == (403, "SignatureDoesNotMatch")


def test_presigned_url_for_another_host_is_refused():
    request = _as_received(_presign())
    moved = Request(request.method, request.raw_path, request.raw_query, {"host": "127.0.0.1:9"})
    assert _refusal(moved) == (403, "SignatureDoesNotMatch")


def test_unknown_key_wrong_secret_and_wrong_token_are_refused():
    assert _refusal(_as_received(_presign(credentials=Credentials("AKIAUNKNOWN", "x")))) == (403, "InvalidAccessKeyId")
    wrong_secret = Credentials(FUNCTION.access_key, "not-the-secret", FUNCTION.session_token)
    assert _refusal(_as_received(_presign(credentials=wrong_secret))) == (403, "SignatureDoesNotMatch")
    wrong_token = Credentials(FUNCTION.access_key, FUNCTION.secret_key, "another-session")
    assert _refusal(_as_received(_presign(credentials=wrong_token))) == (400, "InvalidToken")


def test_expiry_over_a_week_is_refused():
    assert _refusal(_as_received(_presign().replace("X-Amz-Expires=900", "X-Amz-Expires=604801"))) == (
        400, "AuthorizationQueryParametersError")


def test_unsigned_and_sigv2_requests_are_refused():
    assert _refusal(Request("GET", "/bucket", "list-type=2", {"host": "127.0.0.1:4566"})) == (403, "AccessDenied")
    sigv2 = Request("GET", "/bucket/k", "AWSAccessKeyId=testing&Signature=x&Expires=1", {"host": "h"})
    assert _refusal(sigv2) == (400, "InvalidRequest")


def _header_signed(body: bytes, credentials: Credentials = STACK_CREDENTIALS) -> Request:
    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/bucket/uploads/a%20b", data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT.replace(tzinfo=None)):
        S3SigV4Auth(BotoCredentials(credentials.access_key, credentials.secret_key, credentials.session_token),
                    "s3", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    return _as_received(request.url, "PUT", headers, body)


def test_header_signature_passes_and_binds_the_body():
    request = _header_signed(b"payload")
    assert verify(request, KNOWN, SIGNED_AT) == STACK_CREDENTIALS.access_key
    changed = Request(request.method, request.raw_path, request.raw_query, request.headers, b"other")
    assert _refusal(changed) == (400, "XAmzContentSHA256Mismatch")


def test_header_signature_over_other_headers_is_refused():
    request = _header_signed(b"payload")
    headers = {**request.headers, "x-amz-date": "20260301T120001Z"}
    assert _refusal(Request("PUT", request.raw_path, "", headers, b"payload")) == (403, "SignatureDoesNotMatch")


def test_header_signature_from_another_time_is_refused():
    assert _refusal(_header_signed(b""), SIGNED_AT + timedelta(minutes=16)) == (403, "RequestTimeTooSkewed")
