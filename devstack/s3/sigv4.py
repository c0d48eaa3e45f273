"""Checking a request's Signature Version 4 as S3 does: pre-signed URLs (query parameters) and signed
headers (the SDK's own calls), recomputed with botocore's signer over the request as it was sent.

Pure: a request and the known credentials in, the access key that signed it out, or AuthError with the
status and code S3 answers with. Nothing here reads the clock (`now` is an argument) or the network."""

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from ..iam.identity import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_EXPIRES_SECONDS = 604800  # a week: the longest a SigV4 pre-signed URL may live
MAX_CLOCK_SKEW = timedelta(minutes=15)  # S3's RequestTimeTooSkewed
UNHASHED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-")


class AuthError(Exception):
    """A request S3 refuses: the HTTP status, S3's error code and its message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def access_denied(message: str = "Access Denied") -> AuthError:
    return AuthError(403, "AccessDenied", message)


# Regions opened since 2014 take only Signature Version 4; the local stack behaves as one of them.
SIGV2 = AuthError(
    400, "InvalidRequest",
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@dataclass(frozen=True)
class Request:
    """An HTTP request as it arrived: the path and query exactly as sent (still percent-encoded)."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]  # names lower-case
    body: bytes = b""
    query: dict[str, str] = field(init=False)

    def __post_init__(self):
        pairs = [pair.partition("=") for pair in self.raw_query.split("&") if pair]
        object.__setattr__(self, "query", {unquote(key): unquote(value) for key, _, value in pairs})


@dataclass(frozen=True)
class Scope:
    """The credential scope of a signature: access-key/date/region/service/aws4_request."""

    access_key: str
    date: str
    region: str
    service: str

    @classmethod
    def parse(cls, text: str, error: AuthError) -> "Scope":
        parts = text.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
            raise error
        return cls(*parts[:4])


def is_signed(request: Request) -> bool:
    return "authorization" in request.headers or "X-Amz-Algorithm" in request.query or "Signature" in request.query


def verify(request: Request, known: Mapping[str, Credentials], now: datetime) -> str:
    """The access key that signed `request` (in its Authorization header or its query), or AuthError."""
    if "authorization" in request.headers:
        return verify_header_signature(request, known, now)
    if "X-Amz-Algorithm" in request.query:
        return verify_presigned_url(request, known, now)
    if "Signature" in request.query:
        raise SIGV2
    raise access_denied()


def verify_presigned_url(request: Request, known: Mapping[str, Credentials], now: datetime) -> str:
    query = request.query
    malformed = AuthError(
        400,
        "AuthorizationQueryParametersError",
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
        "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    )
    needed = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders")
    if any(name not in query for name in (*needed, "X-Amz-Expires")) or query["X-Amz-Algorithm"] != ALGORITHM:
        raise malformed
    scope = Scope.parse(query["X-Amz-Credential"], malformed)
    credentials = credentials_for(scope, known, query.get("X-Amz-Security-Token"))
    signed_at = _timestamp(query["X-Amz-Date"], malformed, scope)
    if not re.fullmatch(r"\d{1,7}", query["X-Amz-Expires"]):
        raise malformed
    expires = int(query["X-Amz-Expires"])
    if expires > MAX_EXPIRES_SECONDS:
        raise AuthError(
            400,
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECONDS}",
        )
    if signed_at - now > MAX_CLOCK_SKEW:
        raise access_denied("Request is not valid yet")
    if now > signed_at + timedelta(seconds=expires):
        raise access_denied("Request has expired")
    # Every parameter but the signature is signed, in the spelling it was sent with.
    unsigned_query = "&".join(
        pair for pair in request.raw_query.split("&") if pair and unquote(pair.partition("=")[0]) != "X-Amz-Signature"
    )
    signer_class = S3SigV4QueryAuth if scope.service == "s3" else SigV4QueryAuth
    expected = _signature(signer_class, request, unsigned_query, query["X-Amz-SignedHeaders"], scope, credentials,
                          query["X-Amz-Date"])
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        raise AuthError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    return scope.access_key


_AUTHORIZATION = re.compile(
    rf"{ALGORITHM}\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*"
)


def verify_header_signature(request: Request, known: Mapping[str, Credentials], now: datetime) -> str:
    authorization = request.headers["authorization"]
    malformed = AuthError(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    if authorization.startswith("AWS "):
        raise SIGV2
    match = _AUTHORIZATION.fullmatch(authorization)
    if not match:
        raise malformed
    scope = Scope.parse(match["credential"], malformed)
    credentials = credentials_for(scope, known, request.headers.get("x-amz-security-token"))
    stamp = request.headers.get("x-amz-date", "")
    signed_at = _timestamp(stamp, AuthError(403, "AccessDenied", "AWS authentication requires a valid Date or "
                                                                   "x-amz-date header"), scope)
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise AuthError(
            403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    payload_hash = request.headers.get("x-amz-content-sha256")
    if scope.service == "s3":
        if payload_hash is None:
            raise AuthError(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if not payload_hash.startswith(UNHASHED_PAYLOADS) and payload_hash != hashlib.sha256(request.body).hexdigest():
            raise AuthError(
                400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was "
                                                  "computed."
            )
    signer_class = S3SigV4Auth if scope.service == "s3" else SigV4Auth
    expected = _signature(signer_class, request, request.raw_query, match["signed"], scope, credentials, stamp)
    if not hmac.compare_digest(expected, match["signature"]):
        raise AuthError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    return scope.access_key


def post_policy_signature(policy: str, scope: Scope, credentials: Credentials) -> str:
    """The signature of a POST policy (its base64 text), as S3SigV4PostAuth computes it."""
    signer = SigV4Auth(_boto_credentials(credentials), scope.service, scope.region)
    request = AWSRequest(method="POST", url="http://localhost/")
    request.context["timestamp"] = f"{scope.date}T000000Z"  # only the date enters the signing key
    return signer.signature(policy, request)


def credentials_for(scope: Scope, known: Mapping[str, Credentials], session_token: str | None) -> Credentials:
    credentials = known.get(scope.access_key)
    if credentials is None:
        raise AuthError(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if credentials.session_token is not None and session_token != credentials.session_token:
        raise AuthError(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    return credentials


def _timestamp(text: str, error: AuthError, scope: Scope) -> datetime:
    try:
        stamp = datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise error from None
    if text[:8] != scope.date:
        raise AuthError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    return stamp


def _signature(signer_class, request: Request, query: str, signed_headers: str, scope: Scope,
               credentials: Credentials, stamp: str) -> str:
    names = signed_headers.split(";")
    if "host" not in names or any(name not in request.headers for name in names):
        raise AuthError(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    url = f"http://{request.headers['host']}{request.raw_path}" + (f"?{query}" if query else "")
    aws_request = AWSRequest(
        method=request.method, url=url, headers={name: request.headers[name] for name in names}, data=request.body
    )
    aws_request.context["timestamp"] = stamp
    signer = signer_class(_boto_credentials(credentials), scope.service, scope.region)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def _boto_credentials(credentials: Credentials) -> BotoCredentials:
    return BotoCredentials(credentials.access_key, credentials.secret_key, credentials.session_token)
