"""Bucket CORS as the local storage server applies it (devstack/s3/cors.py): whole-origin matching, as S3."""

import pytest

from devstack.s3.cors import preflight_headers, response_headers

PAGE = "http://127.0.0.1:3311"
RULES = [{"AllowedOrigins": [PAGE], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 600}]


def test_the_page_may_post():
    headers = dict(preflight_headers(RULES, PAGE, "POST", "content-type, x-amz-date"))
    assert headers["Access-Control-Allow-Origin"] == PAGE
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert headers["Access-Control-Max-Age"] == "600"
    assert dict(response_headers(RULES, PAGE, "POST"))["Access-Control-Allow-Origin"] == PAGE


@pytest.mark.parametrize(
    "origin",
    [f"{PAGE}.evil.example", f"{PAGE}0", "http://127.0.0.1:331", "https://127.0.0.1:3311", "HTTP://127.0.0.1:3311"],
)
def test_other_origins_get_nothing(origin):
    assert preflight_headers(RULES, origin, "POST", "") is None
    assert response_headers(RULES, origin, "POST") == []


def test_method_and_headers_must_be_allowed():
    assert preflight_headers(RULES, PAGE, "PUT", "") is None
    narrow = [{**RULES[0], "AllowedHeaders": ["content-type", "x-amz-*"]}]
    assert preflight_headers(narrow, PAGE, "POST", "Content-Type, X-Amz-Date") is not None
    assert preflight_headers(narrow, PAGE, "POST", "authorization") is None


def test_one_wildcard_spans_a_subdomain_not_a_suffix():
    rules = [{"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET"]}]
    assert response_headers(rules, "https://a.example.com", "GET")
    assert not response_headers(rules, "https://a.example.com.evil.net", "GET")
