"""Waiting without holding Lambdas: GET /status/{id} through the local stack's CloudFront (devstack/cloudfront), the
status object UploadFunction, ProcessFunction and DeleteFunction keep in the processed-images bucket, answered
with its ETag and 304 to a matching If-None-Match. No function runs for a poll: the local stack's log shows each
origin request the edge makes, and none is a function's."""

import time

import pytest
import requests

pytestmark = pytest.mark.e2e

POLL_DEADLINE_SECONDS = 120  # a bound on a broken stack, never an assertion about speed


def poll_until(http, url: str, wanted: str) -> requests.Response:
    """GET the status with If-None-Match, as the page and the CLI do, until it says `wanted`."""
    etag, last = None, None
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        answer = http.get(url, headers={"If-None-Match": etag} if etag else {}, timeout=30)
        assert answer.status_code in (200, 304), answer.text
        if answer.status_code == 200:
            etag, last = answer.headers["ETag"], answer
            if answer.json()["status"] == wanted:
                return answer
        time.sleep(0.2)
    raise AssertionError(f"{url} never said {wanted}; last: {last and last.text}")


def test_a_client_sees_pending_then_304_while_unchanged_then_done(http, base_url, photo, local_stack):
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30).json()
    url = f"{base_url}{ticket['links']['status']}"
    assert ticket["links"]["status"] == f"/status/{ticket['id']}"
    # The ticket's status exists before any original can: nothing is processing yet, so this is pending.
    pending = http.get(url, timeout=30)
    assert (pending.status_code, pending.json()) == (200, {"status": "pending"})
    assert pending.headers["Content-Type"] == "application/json"
    assert pending.headers["Cache-Control"] == "max-age=1"
    assert pending.headers["X-Content-Type-Options"] == "nosniff"  # the response-headers policy
    unchanged = http.get(url, headers={"If-None-Match": pending.headers["ETag"]}, timeout=30)
    assert (unchanged.status_code, unchanged.content, unchanged.headers["ETag"]) == (304, b"", pending.headers["ETag"])

    stored = requests.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], timeout=30,
                           files={"file": ("photo.jpg", photo(seed=31), "image/jpeg")})
    assert stored.status_code == 204, stored.text
    done = poll_until(http, url, "done")
    assert done.json() == {"status": "done"} and done.headers["ETag"] != pending.headers["ETag"]
    # The API has the outcome by then: the status is written after the manifest.
    image = http.get(f"{base_url}{ticket['links']['self']}", timeout=30)
    assert image.status_code == 200 and image.json()["status"] == "done"
    again = http.get(url, headers={"If-None-Match": done.headers["ETag"]}, timeout=30)
    assert again.status_code == 304
    # Every origin request for this status went to the bucket: no function ran for any poll.
    status_requests = [line for line in local_stack.output().splitlines()
                       if f" CloudFront GET /status/{ticket['id']} " in line]
    assert status_requests and all("-> DerivedImagesOrigin " in line for line in status_requests)


def test_a_failed_image_says_failed_with_the_api_s_code(http, base_url):
    answer = http.post(f"{base_url}/api/images", data=b"\xff\xd8\xff" + b"\x00" * 400,
                       headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert answer.status_code == 202, answer.text
    links = answer.json()["links"]
    failed = poll_until(http, f"{base_url}{links['status']}", "failed")
    image = http.get(f"{base_url}{links['self']}", timeout=30)
    assert image.status_code == 422
    assert failed.json() == {"status": "failed", "code": image.json()["error"]["code"]}


def test_after_delete_the_status_is_gone_and_other_paths_are_refused(http, base_url, photo):
    answer = http.post(f"{base_url}/api/images", files={"file": ("p.jpg", photo(seed=32), "image/jpeg")}, timeout=30)
    links = answer.json()["links"]
    poll_until(http, f"{base_url}{links['status']}", "done")
    assert http.delete(f"{base_url}{links['self']}", timeout=30).status_code == 204
    time.sleep(1.1)  # past the edge's one-second TTL (the cache policy's MaxTTL), as on CloudFront
    assert http.get(f"{base_url}{links['status']}", timeout=30).status_code == 403  # no object: S3's 403 via OAC
    image_id = answer.json()["id"]
    # The behaviour serves the bucket's status/ objects and nothing else of it (the bucket policy's grant).
    for path in (f"/status/../images/{image_id}/manifest.json", "/status/", f"/status/{image_id}/x"):
        assert http.get(f"{base_url}{path}", timeout=30).status_code in (403, 404)
