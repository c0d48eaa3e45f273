"""Hostile and unlucky requests over real HTTP against the local stack: a browser's multipart boundary,
bodies cut short, odd parameters and JSON, a DELETE during processing, an upload ticket used twice, files
that make decoders do work their headers do not declare."""

import socket
import time
from urllib.parse import urlsplit

import pytest
from imageservice.keys import manifest_key
from imageservice.manifest import Manifest

from testkit import hostile

pytestmark = pytest.mark.e2e


def stored_keys(local_stack, stack_resources) -> set[str]:
    s3 = local_stack.client("s3")
    bucket = stack_resources.bucket_name("StoredImagesBucket")
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def processed_keys(local_stack, stack_resources, image_id: str) -> set[str]:
    s3 = local_stack.client("s3")
    bucket = stack_resources.bucket_name("ProcessedImagesBucket")
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"images/{image_id}/").get("Contents", [])}


def wait_for_processing(local_stack, image_id: str, count: int = 1) -> str:
    """The manifest's status once the count-th invocation of ProcessFunction for this image has returned
    (the stack logs each invocation; what it wrote is in the manifest)."""
    line = local_stack.wait_for_line(rf"ProcessFunction \S+/uploads/{image_id} ok", timeout=60, count=count)
    assert line is not None, local_stack.output()
    bucket = local_stack.stack.bucket_name("ProcessedImagesBucket")
    manifest = local_stack.client("s3").get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    return Manifest.from_json(manifest).status


def test_a_browser_multipart_boundary_is_accepted(http, base_url, photo, wait_done):
    boundary = "----WebKitFormBoundaryAbCdEfGhIjKlMnOp"
    data = photo(seed=21)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Photo.JPG\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    answer = http.post(f"{base_url}/api/images", data=body, timeout=30,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 202, answer.text
    assert wait_done(answer.json()["id"])["original"]["bytes"] == len(data)


def test_a_body_cut_short_is_refused_and_never_stored(local_stack, stack_resources, photo):
    """The client stops sending halfway (a tab closed mid-upload): 400, and nothing reaches storage."""
    data = photo(seed=22)
    before = stored_keys(local_stack, stack_resources)
    host, port = urlsplit(local_stack.url).hostname, urlsplit(local_stack.url).port
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(f"POST /api/images HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/jpeg\r\n"
                           f"Content-Length: {len(data)}\r\n\r\n".encode() + data[: len(data) // 2])
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert stored_keys(local_stack, stack_resources) == before


@pytest.mark.parametrize("path, params", [
    ("/api/images/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90", {"wait": "²"}),
    ("/api/images/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90", {"wait": "１"}),
])
def test_odd_digits_are_a_400(http, base_url, path, params):
    answer = http.get(f"{base_url}{path}", params=params, timeout=30)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_option"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"format": false}', b'{"quality": "5_0"}'])
def test_odd_json_is_a_400(http, base_url, body):
    answer = http.post(f"{base_url}/api/uploads", data=body, headers={"Content-Type": "application/json"},
                       timeout=30)
    assert answer.status_code == 400, answer.text


def test_quality_with_an_underscore_is_a_400(http, base_url, photo):
    answer = http.post(f"{base_url}/api/images", data=photo(seed=23), params={"quality": "5_0"}, timeout=30,
                       headers={"Content-Type": "image/jpeg"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_option"


def test_a_long_format_is_not_echoed(http, base_url):
    answer = http.post(f"{base_url}/api/uploads", json={"format": "x" * 2_000_000}, timeout=30)
    assert answer.status_code == 400 and len(answer.text) < 400


def test_multipart_nested_a_thousand_deep_is_no_5xx(http, base_url):
    content = b"\xff\xd8\xff"
    for level in range(1000):
        content = b"--n%d\r\nContent-Type: multipart/mixed\r\n\r\n%s\r\n--n%d--" % (level, content, level)
    body = (b'--outer\r\nContent-Disposition: form-data; name="file"\r\n'
            b"Content-Type: multipart/mixed; boundary=n999\r\n\r\n" + content + b"\r\n--outer--\r\n")
    answer = http.post(f"{base_url}/api/images", data=body, timeout=30,
                       headers={"Content-Type": "multipart/form-data; boundary=outer"})
    assert answer.status_code == 415, answer.text


# ---------------------------------------------------------------------------- DELETE and upload tickets

def test_a_delete_during_processing_is_not_undone(http, base_url, local_stack, stack_resources, noisy_jpeg):
    data = noisy_jpeg(3_000_000, seed=24)  # a few seconds of processing here
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30).json()
    upload = ticket["upload"]
    assert http.post(upload["url"], data=upload["fields"], files={"file": ("a.jpg", data, "image/jpeg")},
                     timeout=60).status_code == 204
    time.sleep(0.3)
    assert http.delete(f"{base_url}/api/images/{ticket['id']}", timeout=30).status_code == 204
    # Processing's invocation has returned (the event): what it wrote and removed is final.
    assert wait_for_processing(local_stack, ticket["id"]) == "deleted"
    assert http.get(f"{base_url}/api/images/{ticket['id']}", timeout=30).status_code == 404
    assert http.get(f"{base_url}/api/images/{ticket['id']}/thumb", timeout=30, allow_redirects=False).status_code == 404
    assert processed_keys(local_stack, stack_resources, ticket["id"]) == {f"images/{ticket['id']}/manifest.json"}


def post_with_ticket(http, ticket: dict, data: bytes) -> None:
    upload = ticket["upload"]
    answer = http.post(upload["url"], data=upload["fields"], files={"file": ("a.png", data, "image/png")},
                       timeout=60)
    assert answer.status_code == 204, answer.text


def test_an_upload_ticket_is_good_for_one_original(http, base_url, local_stack, stack_resources, photo, wait_done):
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/png"}, timeout=30).json()
    post_with_ticket(http, ticket, photo(400, 300, seed=25, fmt="PNG"))
    first = wait_done(ticket["id"])
    # The same ticket again, as real S3 would also allow until it expires: a different picture.
    post_with_ticket(http, ticket, photo(200, 100, seed=26, fmt="PNG"))
    assert wait_for_processing(local_stack, ticket["id"], count=2) == "done"
    again = http.get(f"{base_url}/api/images/{ticket['id']}", timeout=30).json()
    assert again["original"] == first["original"] == {**first["original"], "width": 400, "height": 300}
    assert f"uploads/{ticket['id']}" not in stored_keys(local_stack, stack_resources)  # the second was removed


def test_an_upload_ticket_cannot_bring_a_deleted_image_back(http, base_url, local_stack, stack_resources, photo,
                                                           wait_done):
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/png"}, timeout=30).json()
    post_with_ticket(http, ticket, photo(400, 300, seed=27, fmt="PNG"))
    wait_done(ticket["id"])
    assert http.delete(f"{base_url}/api/images/{ticket['id']}", timeout=30).status_code == 204
    post_with_ticket(http, ticket, photo(400, 300, seed=27, fmt="PNG"))
    assert wait_for_processing(local_stack, ticket["id"], count=2) == "deleted"
    assert http.get(f"{base_url}/api/images/{ticket['id']}", timeout=30).status_code == 404
    assert f"uploads/{ticket['id']}" not in stored_keys(local_stack, stack_resources)


@pytest.mark.parametrize("build, content_type, code", [
    (hostile.heif_grid, "image/heic", "corrupt_image"),
    (hostile.progressive_jpeg, "image/jpeg", "image_too_complex"),
    (hostile.tiff_big_tile, "image/tiff", "image_too_large"),
    (hostile.heif_overlay, "image/heic", "image_too_large"),
], ids=["heif-grid-961-tiles", "jpeg-52000-scans", "tiff-24000-tile", "heif-overlay-canvas"])
def test_a_file_that_makes_decoders_work_unseen_is_refused_fast(http, base_url, wait_done, build, content_type,
                                                                 code):
    """The four files of issue 19 (testkit/hostile.py): each ended in Lambda timeouts and retries, or
    peaks near the function's memory, before the container checks and the processing child. Uploaded
    straight to storage, as files over the direct-upload limit are."""
    data = build()
    started = time.monotonic()
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": content_type}, timeout=30)
    assert ticket.status_code == 201, ticket.text
    upload = ticket.json()["upload"]
    stored = http.post(upload["url"], data=upload["fields"], files={"file": ("file", data, content_type)},
                       timeout=60)
    assert stored.status_code == 204, stored.text
    image = wait_done(ticket.json()["id"])
    assert image["status"] == "failed" and image["error"]["code"] == code, image
    assert time.monotonic() - started < 15  # before: minutes of timeouts and retries, `pending` meanwhile
