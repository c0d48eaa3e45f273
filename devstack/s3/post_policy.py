"""Checking a browser-based upload (a pre-signed POST) as S3 does: the policy's signature, its expiration,
every condition, and no form field the policy does not name.

Pure: the bucket, the form fields, the file's size, the known credentials and the time in; the access key
that signed the policy out, or AuthError with S3's status, code and message.
See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html"""

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from ..iam.identity import Credentials
from .sigv4 import (
    ALGORITHM,
    SIGNATURE_MISMATCH,
    AuthError,
    Scope,
    access_denied,
    credentials_for,
    post_policy_signature,
)

# Fields S3 never asks the policy about: the file, the policy itself, its signature, and x-ignore-*.
UNCONDITIONED_FIELDS = ("file", "policy", "x-amz-signature")
IGNORED_PREFIX = "x-ignore-"


def _policy_error(detail: str) -> AuthError:
    return access_denied(f"Invalid according to Policy: {detail}")


def verify_post(
    bucket: str,
    fields: Mapping[str, str],
    file_size: int,
    file_name: str,
    known: Mapping[str, Credentials],
    now: datetime,
) -> str:
    """`fields`: the form's fields other than the file, names as sent. The access key that signed the policy."""
    form = {name.lower(): value for name, value in fields.items()}
    if "policy" not in form and "x-amz-signature" not in form:
        raise access_denied()  # anonymous, and the bucket blocks public access
    for name in ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"):
        if name not in form:
            raise AuthError(400, "InvalidArgument", f"Bucket POST must contain a field named '{name}'.")
    if form["x-amz-algorithm"] != ALGORITHM:
        raise AuthError(400, "InvalidArgument", f"Unsupported x-amz-algorithm: {form['x-amz-algorithm']}")
    scope = Scope.parse(form["x-amz-credential"], AuthError(400, "InvalidArgument", "Invalid x-amz-credential."))
    credentials = credentials_for(scope, known, form.get("x-amz-security-token"))
    if not hmac.compare_digest(post_policy_signature(form["policy"], scope, credentials), form["x-amz-signature"]):
        raise AuthError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    policy = _decode(form["policy"])
    if now >= _expiration(policy):
        raise _policy_error("Policy expired.")
    values = {**form, "bucket": bucket, "key": form["key"].replace("${filename}", file_name)}
    conditions = policy.get("conditions")
    if not isinstance(conditions, list):
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value.")
    named = {"bucket"}
    size_range = None
    for condition in conditions:
        if isinstance(condition, list) and condition and str(condition[0]).lower() == "content-length-range":
            size_range = _length_range(condition)
            continue
        operator, name, expected = _parse_condition(condition)
        named.add(name)
        actual = values.get(name, "")
        if not (actual == expected if operator == "eq" else actual.startswith(expected)):
            raise _policy_error(f"Policy Condition failed: {json.dumps(condition)}")
    extra = [name for name in form if name not in named and name not in UNCONDITIONED_FIELDS
             and not name.startswith(IGNORED_PREFIX)]
    if extra:
        raise _policy_error(f"Extra input fields: {', '.join(extra)}")
    if size_range is not None:
        low, high = size_range
        if file_size < low:
            raise AuthError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        if file_size > high:
            raise AuthError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    return scope.access_key


def _decode(policy: str) -> dict:
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
    except (binascii.Error, ValueError):
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(document, dict):
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    return document


def _expiration(policy: dict) -> datetime:
    text = policy.get("expiration")
    if not isinstance(text, str):
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_condition(condition) -> tuple[str, str, str]:
    """("eq" | "starts-with", field name lower-case, value) of a condition in either spelling."""
    invalid = AuthError(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        return "eq", str(name).lower(), str(value)
    if isinstance(condition, list) and len(condition) == 3:
        operator, name, value = condition
        if str(operator).lower() in ("eq", "starts-with") and isinstance(name, str) and name.startswith("$"):
            return str(operator).lower(), name[1:].lower(), str(value)
    raise invalid


def _length_range(condition: list) -> tuple[int, int]:
    try:
        _, low, high = condition
        return int(low), int(high)
    except (TypeError, ValueError):
        raise AuthError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid content-length-range.") from None
