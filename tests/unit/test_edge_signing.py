"""CloudFront signed cookies (src/edgeauth/edge_signing.py): the key pair, the custom policy and its signature, read
back the way CloudFront reads them."""

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from edge_signing import (
    COOKIE_NAMES,
    KEY_BITS,
    cloudfront_base64,
    generate_key_pair,
    is_site_origin,
    load_signing_key,
    owner_resource,
    policy,
    signed_cookies,
)
from imageservice.keys import owner_hash

OWNER = owner_hash("alice")


@pytest.fixture(scope="module")
def pair():
    return generate_key_pair()


def cloudfront_unbase64(text: str) -> bytes:
    return base64.b64decode(text.translate(str.maketrans("-_~", "+=/")), validate=True)


def test_the_key_pair_is_rsa_2048_in_the_formats_cloudfront_and_the_secret_take(pair):
    private = serialization.load_pem_private_key(pair.private_pem.encode(), password=None)
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == KEY_BITS
    assert pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # what AWS::CloudFront::PublicKey takes
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert private.public_key().public_numbers() == public.public_numbers()
    assert generate_key_pair().public_pem != pair.public_pem


def test_the_policy_admits_the_owner_s_paths_until_it_expires_in_cloudfront_s_compact_json():
    document = policy(owner_resource("https://d111.cloudfront.net", OWNER), 1_800_000_000)
    assert document == (b'{"Statement":[{"Resource":"https://d111.cloudfront.net/img/' + OWNER.encode() +
                        b'/*","Condition":{"DateLessThan":{"AWS:EpochTime":1800000000}}}]}')


def test_the_cookies_carry_the_policy_and_its_sha256_signature_in_cloudfront_s_base64(pair):
    resource = owner_resource("https://images.example.com", OWNER)
    cookies = signed_cookies(load_signing_key(pair.private_pem), "K2JCJMDEHXQW5F", resource, 1_800_000_000)
    assert tuple(cookies) == COOKIE_NAMES
    assert cookies["CloudFront-Key-Pair-Id"] == "K2JCJMDEHXQW5F" and cookies["CloudFront-Hash-Algorithm"] == "SHA256"
    for name in ("CloudFront-Policy", "CloudFront-Signature"):
        assert not set(cookies[name]) & set("+=/"), name  # characters a cookie value cannot carry
    document = cloudfront_unbase64(cookies["CloudFront-Policy"])
    assert json.loads(document)["Statement"][0]["Resource"] == resource
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    signature = cloudfront_unbase64(cookies["CloudFront-Signature"])
    public.verify(signature, document, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, policy(owner_resource("https://images.example.com", owner_hash("bob")),
                                        1_800_000_000), padding.PKCS1v15(), hashes.SHA256())


def test_cloudfront_base64_replaces_what_a_cookie_cannot_hold():
    assert cloudfront_base64(b"\xfb\xff\xbf") == "-~-~"
    assert cloudfront_base64(b"a") == "YQ__"


@pytest.mark.parametrize("origin", ["https://d111.cloudfront.net", "https://images.example.com",
                                    "http://127.0.0.1:8000", "http://localhost:8000"])
def test_a_site_origin_is_a_scheme_and_a_host(origin):
    assert is_site_origin(origin)


@pytest.mark.parametrize("origin", ["", "null", "https://*", "https://*.cloudfront.net", "https://a?b",
                                    "https://d111.cloudfront.net/", "https://d111.cloudfront.net/img",
                                    "ftp://d111.cloudfront.net", "https://D111.cloudfront.net",
                                    "https://user@d111.cloudfront.net", "https://d111.cloudfront.net:0",
                                    "https://-a.example.com", "https://a..example.com"])
def test_nothing_that_could_widen_the_resource_is_a_site_origin(origin):
    """A wildcard in the host would let a query string (?x=/img/<owner>/) stand for the owner's path."""
    assert not is_site_origin(origin)
    with pytest.raises(ValueError):
        owner_resource(origin, OWNER)


def test_the_resource_names_an_owner_hash_and_nothing_else():
    with pytest.raises(ValueError):
        owner_resource("https://d111.cloudfront.net", "alice")
    with pytest.raises(ValueError):
        owner_resource("https://d111.cloudfront.net", "*")
