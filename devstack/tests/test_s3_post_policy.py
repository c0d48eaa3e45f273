"""Pre-signed POST policies as the local storage server checks them (devstack/s3/post_policy.py), over policies
botocore itself signs the way the upload handler asks for them."""

import base64
import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import pytest
from botocore.config import Config as BotoConfig

from devstack.iam.identity import function_credentials, known_credentials
from devstack.s3.post_policy import verify_post
from devstack.s3.sigv4 import AuthError

SIGNED_AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
UPLOAD = function_credentials("UploadFunction")
KNOWN = known_credentials(["UploadFunction"])
BUCKET = "stored-images"
KEY = "uploads/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"
MAX_BYTES = 1000


def _ticket(content_type_condition=None) -> dict[str, str]:
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                      config=BotoConfig(signature_version="s3v4"), **UPLOAD.as_client_arguments())
    fields = {"x-amz-meta-format": "webp"}
    conditions = [["content-length-range", 1, MAX_BYTES], {"x-amz-meta-format": "webp"},
                  content_type_condition or ["starts-with", "$Content-Type", "image/"]]
    signed_at = SIGNED_AT.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at), \
            mock.patch("botocore.signers.get_current_datetime", return_value=signed_at):
        post = s3.generate_presigned_post(BUCKET, KEY, Fields=fields, Conditions=conditions, ExpiresIn=600)
    return {**post["fields"], "Content-Type": "image/jpeg"}


def _check(fields: dict, size: int = 10, now: datetime = SIGNED_AT + timedelta(seconds=5), bucket: str = BUCKET):
    return verify_post(bucket, fields, size, "photo.jpg", KNOWN, now)


def _refusal(fields: dict, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(AuthError) as refused:
        _check(fields, **kwargs)
    return refused.value.status, refused.value.code, refused.value.message


def test_the_form_as_issued_passes():
    assert _check(_ticket()) == UPLOAD.access_key
    assert _check(_ticket(), size=1) == _check(_ticket(), size=MAX_BYTES) == UPLOAD.access_key


def test_size_outside_the_range():
    assert _refusal(_ticket(), size=0)[:2] == (400, "EntityTooSmall")
    assert _refusal(_ticket(), size=MAX_BYTES + 1)[:2] == (400, "EntityTooLarge")


def test_expired_policy():
    policy = json.loads(base64.b64decode(_ticket()["policy"]))
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expiration == SIGNED_AT + timedelta(seconds=600)
    assert _check(_ticket(), now=expiration - timedelta(seconds=1))
    assert _refusal(_ticket(), now=expiration) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")


@pytest.mark.parametrize(
    "change",
    [{"key": "uploads/another"}, {"Content-Type": "text/html"}, {"x-amz-meta-format": "png"},
     {"x-amz-meta-format": ""}],
    ids=["key", "content-type", "metadata", "empty-metadata"],
)
def test_field_outside_its_condition(change):
    status, code, message = _refusal({**_ticket(), **change})
    assert (status, code) == (403, "AccessDenied") and "Policy Condition failed" in message


def test_condition_on_a_missing_field_fails():
    fields = _ticket()
    del fields["x-amz-meta-format"]
    assert _refusal(fields)[:2] == (403, "AccessDenied")


def test_exact_content_type_condition():
    fields = _ticket({"Content-Type": "image/png"})
    assert _refusal(fields)[:2] == (403, "AccessDenied")
    assert _check({**fields, "Content-Type": "image/png"})


def test_other_bucket():
    assert _refusal(_ticket(), bucket="processed-images")[:2] == (403, "AccessDenied")


@pytest.mark.parametrize("name", ["x-amz-meta-extra", "success_action_status", "Cache-Control", "acl"])
def test_extra_field(name):
    assert _refusal({**_ticket(), name: "1"}) == (
        403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {name.lower()}")


def test_x_ignore_fields_are_allowed():
    assert _check({**_ticket(), "x-ignore-note": "anything"})


def test_tampered_policy_or_signature():
    fields = _ticket()
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"][0] = ["content-length-range", 1, 10**12]
    tampered = base64.b64encode(json.dumps(policy).encode()).decode()
    assert _refusal({**fields, "policy": tampered})[:2] == (403, "SignatureDoesNotMatch")
    assert _refusal({**fields, "x-amz-signature": "0" * 64})[:2] == (403, "SignatureDoesNotMatch")


def test_unknown_key_or_token():
    fields = _ticket()
    assert _refusal({**fields, "x-amz-credential": "AKIAOTHER/20260301/us-east-1/s3/aws4_request"})[:2] == (
        403, "InvalidAccessKeyId")
    assert _refusal({**fields, "x-amz-security-token": "another-session"})[:2] == (400, "InvalidToken")


def test_anonymous_post_is_refused():
    assert _refusal({"key": KEY, "Content-Type": "image/jpeg"})[:2] == (403, "AccessDenied")
