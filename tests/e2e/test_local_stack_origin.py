"""Only the site reaches the API (issue 20, item 7): the local stack's CloudFront adds the template's origin header
to /api requests, and its HTTP API endpoint, reached directly as execute-api can be, refuses what lacks it."""

import pytest
import requests

from devstack.cloudfront.distribution import origin_custom_headers

pytestmark = pytest.mark.e2e


def test_through_the_site_the_api_answers(http, local_stack):
    answer = http.get(f"{local_stack.url}/api/health", timeout=30)
    assert answer.status_code == 200, answer.text


def test_straight_to_the_api_endpoint_every_route_is_refused_with_403(http, local_stack, done_image_id):
    assert local_stack.api_url and local_stack.api_url != local_stack.url
    for method, path in (("GET", "/api/health"), ("GET", "/api/options"), ("GET", f"/api/images/{done_image_id}"),
                         ("POST", "/api/uploads"), ("DELETE", f"/api/images/{done_image_id}")):
        answer = http.request(method, f"{local_stack.api_url}{path}", timeout=30)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
        assert "site" in answer.json()["error"]["message"]
    # The DELETE refused above deleted nothing.
    assert http.get(f"{local_stack.url}/api/images/{done_image_id}", timeout=30).json()["status"] == "done"


def test_a_guessed_header_does_not_open_the_endpoint_and_a_viewer_s_cannot_replace_cloudfront_s(http, local_stack):
    (name,) = origin_custom_headers(local_stack.stack, "/api/*")
    direct = http.get(f"{local_stack.api_url}/api/health", headers={name: "guessed"}, timeout=30)
    assert direct.status_code == 403
    through_site = http.get(f"{local_stack.url}/api/health", headers={name: "guessed"}, timeout=30)
    assert through_site.status_code == 200, through_site.text


def test_with_the_header_cloudfront_sends_the_endpoint_answers(http, local_stack):
    """What tells the two apart is the header alone: the endpoint serves the same routes and functions."""
    headers = origin_custom_headers(local_stack.stack, "/api/*")
    answer = http.get(f"{local_stack.api_url}/api/health", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text


def test_the_api_endpoint_serves_no_page(http, local_stack):
    answer = http.get(f"{local_stack.api_url}/", timeout=30)
    assert answer.status_code == 404 and answer.json() == {"message": "Not Found"}


@pytest.fixture(scope="module")
def done_image_id(base_url, photo, wait_done):
    answer = requests.post(f"{base_url}/api/images", data=photo(320, 240, seed=3), timeout=30)
    assert answer.status_code == 202, answer.text
    return wait_done(answer.json()["id"])["id"]
