"""CloudFront's check of signed cookies on a behaviour with trusted key groups, as the local stack's edge does it:
before the viewer-request function runs, a request must carry CloudFront-Key-Pair-Id (a key of the behaviour's key
groups), CloudFront-Signature over the custom policy in CloudFront-Policy (RSA, SHA-1 unless
CloudFront-Hash-Algorithm says SHA256), and the policy's one statement must admit the request: its Resource matches
the viewer's URL (* any characters, ? one), the time is before DateLessThan (and after DateGreaterThan, if given),
the viewer's address is in IpAddress.AWS:SourceIp (if given). Anything else is 403.

Written from CloudFront's documentation, independently of the service's signing code (src/edgeauth), so a test of
one against the other can fail. Canned-policy cookies (CloudFront-Expires) are refused here: the service issues
none, and refusing is never serving more than CloudFront does."""

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_HASHES = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}


@dataclass(frozen=True)
class Refused:
    code: str
    message: str

    def body(self) -> bytes:
        return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
                f"<Message>{self.message}</Message></Error>").encode()


MISSING_KEY = Refused("MissingKey", "Missing Key-Pair-Id query parameter or cookie value")
ACCESS_DENIED = Refused("AccessDenied", "Access denied")


def check_signed_cookies(cookies: dict[str, str], url: str, viewer_ip: str, trusted: dict[str, str],
                         now: float) -> Refused | None:
    """None when the cookies admit `url` (scheme://host/path?query as the viewer asked for it); `trusted` maps each
    trusted key's id to its public key (PEM)."""
    key_id = cookies.get("CloudFront-Key-Pair-Id")
    if not key_id:
        return MISSING_KEY
    if key_id not in trusted or "CloudFront-Policy" not in cookies or "CloudFront-Signature" not in cookies:
        return ACCESS_DENIED
    algorithm = _HASHES.get(cookies.get("CloudFront-Hash-Algorithm", "SHA1"))
    try:
        document = _unbase64(cookies["CloudFront-Policy"])
        signature = _unbase64(cookies["CloudFront-Signature"])
        key = serialization.load_pem_public_key(trusted[key_id].encode("ascii"))
        if algorithm is None or not isinstance(key, rsa.RSAPublicKey):
            return ACCESS_DENIED
        key.verify(signature, document, padding.PKCS1v15(), algorithm())
        (statement,) = json.loads(document)["Statement"]
    except (ValueError, TypeError, KeyError, InvalidSignature, binascii.Error):
        return ACCESS_DENIED
    return None if _admits(statement, url, viewer_ip, now) else ACCESS_DENIED


def _admits(statement, url: str, viewer_ip: str, now: float) -> bool:
    if not isinstance(statement, dict) or not isinstance(statement.get("Resource", url), str):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    before = _epoch(condition.get("DateLessThan"))
    if before is None or now >= before:
        return False
    if "DateGreaterThan" in condition:
        after = _epoch(condition["DateGreaterThan"])
        if after is None or now <= after:
            return False
    if "IpAddress" in condition:
        try:
            network = ipaddress.ip_network(condition["IpAddress"]["AWS:SourceIp"], strict=False)
            if ipaddress.ip_address(viewer_ip) not in network:
                return False
        except (ValueError, TypeError, KeyError):
            return False
    pattern = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char)
                      for char in statement.get("Resource", url))
    return re.fullmatch(pattern, url, re.DOTALL) is not None


def _epoch(value) -> int | None:
    seconds = value.get("AWS:EpochTime") if isinstance(value, dict) else None
    return seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else None


def _unbase64(text: str) -> bytes:
    return base64.b64decode(text.translate(str.maketrans("-_~", "+=/")), validate=True)
