"""CloudFront signed cookies for an owner's derived images (AuthMode cognito, oidc): the key pair the stack makes
at deploy, and the cookies the API sets after the JWT check.

A custom policy admits one Resource, with wildcards: https://<site>/img/<owner>/*, where <owner> is the hash of the
token's sub (keys.owner_hash), so a cookie reaches only its owner's paths (RenderFunction checks the owner of the
image a path names). Its one condition is an expiry. CloudFront checks the cookies of the /img/* behaviour
(TrustedKeyGroups) before anything else runs for the request and answers 403 without them.

Pure: no AWS call here (session_app.py reads the private key from Secrets Manager, keypair_app.py stores it)."""

import base64
import json
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# CloudFront takes RSA 2048-bit public keys (or ECDSA P-256) in a key group.
KEY_BITS = 2048
# SHA-256 rather than CloudFront's default SHA-1; CloudFront-Hash-Algorithm says so.
HASH_ALGORITHM = "SHA256"
# How long a cookie admits the owner's images: the page asks for new ones on every load and token refresh
# (tokens live an hour), so an hour is enough, and a cookie copied out of a browser is short-lived.
COOKIE_SECONDS = 3600
COOKIE_PATH = "/img/"
COOKIE_NAMES = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm")
# The site's origin the cookie names: a scheme and a host name, nothing a wildcard could widen (* and ? are
# CloudFront's wildcards, and a query string like ?x=/img/<owner>/ would match a Resource with one in the host).
_SITE_ORIGIN = re.compile(r"https?://[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*"
                          r"(:[1-9][0-9]{0,4})?")
_OWNER = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KeyPair:
    private_pem: str  # PKCS #8, unencrypted: what the secret holds
    public_pem: str  # SubjectPublicKeyInfo: what AWS::CloudFront::PublicKey's EncodedKey takes


def generate_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private.decode("ascii"), public.decode("ascii"))


def is_site_origin(origin: str) -> bool:
    return bool(_SITE_ORIGIN.fullmatch(origin))


def owner_resource(site_origin: str, owner: str) -> str:
    """What one owner's cookie admits: every derived image under /img/<owner>/ on this site."""
    if not is_site_origin(site_origin):
        raise ValueError(f"not a site origin: {site_origin!r}")
    if not _OWNER.fullmatch(owner):
        raise ValueError(f"not an owner hash: {owner!r}")
    return f"{site_origin}/img/{owner}/*"


def policy(resource: str, expires: int) -> bytes:
    """The custom policy, as CloudFront reads it: JSON without white space, one statement."""
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": int(expires)}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode("utf-8")


def cloudfront_base64(data: bytes) -> str:
    """Base64 with CloudFront's replacements for characters a cookie or URL cannot hold (+ = / to - _ ~)."""
    return base64.b64encode(data).decode("ascii").translate(str.maketrans("+=/", "-_~"))


def load_signing_key(private_pem: str) -> rsa.RSAPrivateKey:
    """The private key, checked (about 0.1 s: load it once per process, not per signature)."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key is not an RSA key")
    return key


def signed_cookies(key: rsa.RSAPrivateKey, key_pair_id: str, resource: str, expires: int) -> dict[str, str]:
    """The cookies' names and values (COOKIE_NAMES, in that order)."""
    document = policy(resource, expires)
    signature = key.sign(document, padding.PKCS1v15(), hashes.SHA256())
    return {"CloudFront-Policy": cloudfront_base64(document), "CloudFront-Signature": cloudfront_base64(signature),
            "CloudFront-Key-Pair-Id": key_pair_id, "CloudFront-Hash-Algorithm": HASH_ALGORITHM}
