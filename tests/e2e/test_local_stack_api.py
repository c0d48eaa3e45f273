"""The API contract, row by row, over real HTTP against `python -m devstack`."""

import base64
import http.client as http_client
import io
import json
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.e2e


def error_code(answer) -> str:
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    return answer.json()["error"]["code"]


def post_raw(http, base_url, data: bytes, content_type: str = "image/jpeg", **params):
    return http.post(
        f"{base_url}/api/images", data=data, headers={"Content-Type": content_type}, params=params, timeout=30
    )


@pytest.fixture(scope="module")
def done_image(base_url, photo, wait_done):
    """One image uploaded and processed, shared by the read-only tests."""
    answer = requests.post(
        f"{base_url}/api/images", data=photo(1280, 960, seed=7), params={"format": "jpeg"}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    return wait_done(answer.json()["id"])


# ------------------------------------------------------------------------------ POST /api/images
def test_post_raw_bytes_is_accepted(http, base_url, photo, wait_done):
    answer = post_raw(http, base_url, photo(seed=1))
    assert answer.status_code == 202
    body = answer.json()
    uuid.UUID(body["id"], version=4)
    assert body["status"] == "pending"
    assert answer.headers["Location"] == f"/api/images/{body['id']}" == body["links"]["self"]
    assert wait_done(body["id"])["status"] == "done"


def test_post_multipart_is_accepted(http, base_url, photo, wait_done):
    answer = http.post(
        f"{base_url}/api/images",
        files={"file": ("photo.png", photo(320, 240, seed=2, fmt="PNG"), "image/png")},
        params={"format": "webp", "quality": "70", "filters": "grayscale"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert "Location" in answer.headers
    image = wait_done(answer.json()["id"])
    assert image["status"] == "done"
    assert {v["format"] for v in image["variants"]} == {"webp"}
    thumb = Image.open(io.BytesIO(http.get(_variant(image, "thumb")["url"], timeout=30).content)).convert("RGB")
    r, g, b = thumb.split()
    spread = max(max(abs(x - y), abs(y - z)) for x, y, z in zip(r.tobytes(), g.tobytes(), b.tobytes(), strict=True))
    assert spread <= 4, "grayscale was asked for (lossy WebP leaves a little colour noise at most)"


@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"", "image/jpeg"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
            "multipart/form-data; boundary=xyz",
        ),
        (b"this is not multipart at all", "multipart/form-data; boundary=xyz"),
    ],
    ids=["empty-body", "broken-multipart", "not-multipart"],
)
def test_post_bad_request(http, base_url, data, content_type):
    answer = post_raw(http, base_url, data, content_type)
    assert answer.status_code == 400
    assert error_code(answer) == "bad_request"


@pytest.mark.parametrize(
    "params",
    [
        {"format": "bmp2"},
        {"filters": "sparkle"},
        {"quality": "0"},
        {"quality": "101"},
        {"quality": "high"},
        {"colour": "red"},
    ],
)
def test_post_invalid_option(http, base_url, params, photo):
    answer = post_raw(http, base_url, photo(seed=3), **params)
    assert answer.status_code == 400
    assert error_code(answer) == "invalid_option"


def test_post_over_the_direct_upload_limit(http, base_url, noisy_jpeg, direct_upload_max_bytes):
    data = noisy_jpeg(direct_upload_max_bytes + 1)
    answer = post_raw(http, base_url, data)
    assert answer.status_code == 413
    assert error_code(answer) == "payload_too_large"
    message = answer.json()["error"]["message"]
    assert "/api/uploads" in message and re.search(r"takes at most [\d.]+ [KMG]iB\.", message)
    assert not re.search(r"\d{5,}", message), message


def test_post_over_the_lambda_event_limit_speaks_mib(http, base_url):
    """5.5 MiB base64-encoded is over Lambda's 6 MiB: the gateway refuses it before the function, in the same units."""
    answer = post_raw(http, base_url, b"\xff\xd8\xff" + bytes(5 * 1048576 + 524285))
    assert answer.status_code == 413 and error_code(answer) == "payload_too_large"
    message = answer.json()["error"]["message"]
    assert "5.5 MiB body" in message and "at most 6 MiB" in message and "/api/uploads" in message
    assert not re.search(r"\d{5,}", message), message


def test_post_over_api_gateway_limit(http, base_url):
    answer = post_raw(http, base_url, b"\xff\xd8\xff" + bytes(10 * 1024 * 1024))
    assert answer.status_code == 413
    assert error_code(answer) == "payload_too_large"


@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"just some text, no image here", "text/plain"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
            "image/svg+xml",
        ),
        (b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "text/html"),
        (b"<!doctype html><html><body>pretending</body></html>", "image/jpeg"),
    ],
    ids=["text", "svg", "html", "html-labelled-jpeg"],
)
def test_post_unsupported_media_type(http, base_url, data, content_type):
    answer = post_raw(http, base_url, data, content_type)
    assert answer.status_code == 415
    assert error_code(answer) == "unsupported_media_type"


def test_post_multipart_html_file(http, base_url):
    answer = http.post(
        f"{base_url}/api/images", files={"file": ("page.html", b"<html></html>", "text/html")}, timeout=30
    )
    assert answer.status_code == 415
    assert error_code(answer) == "unsupported_media_type"


# ------------------------------------------------------------------------------ GET /api/images/{id}
def test_done_image_variants_download_as_reported(http, done_image):
    assert done_image["status"] == "done"
    assert done_image["original"] == {**done_image["original"], "width": 1280, "height": 960, "format": "jpeg"}
    assert [v["name"] for v in done_image["variants"]] == ["large", "medium", "thumb"]
    for variant in done_image["variants"]:
        download = http.get(variant["url"], timeout=30)
        assert download.status_code == 200
        assert len(download.content) == variant["bytes"]
        image = Image.open(io.BytesIO(download.content))
        assert image.size == (variant["width"], variant["height"])
        assert image.format.lower() == variant["format"]
    assert max(_variant(done_image, "thumb")["width"], _variant(done_image, "thumb")["height"]) == 256


def test_truncated_jpeg_fails(http, base_url, photo, wait_done):
    data = photo(400, 300, seed=5)
    answer = post_raw(http, base_url, data[: len(data) // 2])
    assert answer.status_code == 202
    image_id = answer.json()["id"]
    wait_done(image_id)
    final = http.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert final.status_code == 422
    assert final.json()["status"] == "failed"
    assert final.json()["error"]["code"] == "corrupt_image"


@pytest.mark.parametrize(
    "image_id",
    [
        "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90",
        "not-an-id",
        "3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90",
        "..%2F..%2Fetc",
    ],
)
def test_unknown_or_malformed_id(http, base_url, image_id):
    answer = http.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert answer.status_code == 404
    assert error_code(answer) == "not_found"


def test_pending_then_wait(http, base_url, local_stack, stack_resources, photo, s3_event):
    """With the trigger switched off an original stays pending; the S3 event delivered later finishes it."""
    s3 = local_stack.client("s3")
    bucket = stack_resources.bucket_name("StoredImagesBucket")
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        answer = post_raw(http, base_url, photo(seed=11))
        assert answer.status_code == 202
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
    image_id = answer.json()["id"]

    pending = http.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert pending.status_code == 202
    assert pending.headers["Retry-After"] == "1"
    assert pending.json() == {"id": image_id, "status": "pending"}

    started = time.monotonic()
    waited = http.get(f"{base_url}/api/images/{image_id}", params={"wait": 2}, timeout=30)
    assert waited.status_code == 202
    assert 1.4 <= time.monotonic() - started < 5

    # The notification S3 would have sent, delivered now: the waiting request sees it finish.
    sqs = local_stack.client("sqs")
    from devstack.provision import trigger_queue_name

    queue = sqs.get_queue_url(QueueName=trigger_queue_name(stack_resources.functions["ProcessFunction"]))["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(s3_event(bucket, f"uploads/{image_id}")))
    started = time.monotonic()
    done = http.get(f"{base_url}/api/images/{image_id}", params={"wait": 20}, timeout=30)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("wait", ["21", "-1", "soon"])
def test_wait_out_of_range(http, done_image, base_url, wait):
    answer = http.get(f"{base_url}/api/images/{done_image['id']}", params={"wait": wait}, timeout=30)
    assert answer.status_code == 400
    assert error_code(answer) == "invalid_option"


# ------------------------------------------------------------------------------ GET /api/images/{id}/{variant}
def test_variant_redirects_to_the_file(http, base_url, done_image, local_stack):
    answer = http.get(f"{base_url}/api/images/{done_image['id']}/medium", allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert urlsplit(location).netloc == f"127.0.0.1:{local_stack.storage_port}"
    followed = http.get(f"{base_url}/api/images/{done_image['id']}/medium", timeout=30)
    assert followed.status_code == 200
    medium = _variant(done_image, "medium")
    assert Image.open(io.BytesIO(followed.content)).size == (medium["width"], medium["height"])


def test_unknown_variant(http, base_url, done_image):
    answer = http.get(f"{base_url}/api/images/{done_image['id']}/huge", allow_redirects=False, timeout=30)
    assert answer.status_code == 404
    assert error_code(answer) == "not_found"


# ------------------------------------------------------------------------------ DELETE, health, unknown routes
def test_delete_then_gone(http, base_url, photo, wait_done):
    image_id = post_raw(http, base_url, photo(seed=13)).json()["id"]
    wait_done(image_id)
    assert http.delete(f"{base_url}/api/images/{image_id}", timeout=30).status_code == 204
    assert http.get(f"{base_url}/api/images/{image_id}", timeout=30).status_code == 404
    again = http.delete(f"{base_url}/api/images/{image_id}", timeout=30)
    assert again.status_code == 404
    assert error_code(again) == "not_found"


def test_health(http, base_url):
    answer = http.get(f"{base_url}/api/health", timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/nothing"),
        ("GET", "/api"),
        ("PUT", "/api/images"),
        ("GET", "/api/health/"),
        ("PATCH", "/api/images/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"),
        ("GET", "/api/images/a/b/c"),
    ],
)
def test_unknown_route(http, base_url, method, path):
    """API Gateway answers a request no route matches itself, before any function: its own body."""
    answer = http.request(method, f"{base_url}{path}", timeout=30)
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}


# ------------------------------------------------------------------------------ POST /api/uploads
def test_presigned_upload_is_processed(http, base_url, local_stack, noisy_jpeg, wait_done, direct_upload_max_bytes):
    data = noisy_jpeg(direct_upload_max_bytes + 50_000, seed=4)  # too big for POST /api/images here
    ticket = http.post(
        f"{base_url}/api/uploads",
        json={"content_type": "image/jpeg", "format": "png", "filters": ["invert"]},
        timeout=30,
    )
    assert ticket.status_code == 201, ticket.text
    body = ticket.json()
    assert body["links"]["self"] == f"/api/images/{body['id']}"
    upload = body["upload"]
    assert urlsplit(upload["url"]).netloc == f"127.0.0.1:{local_stack.storage_port}"
    stored = http.post(
        upload["url"], data=upload["fields"], files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=60
    )
    assert stored.status_code == 204, stored.text
    image = wait_done(body["id"])
    assert image["status"] == "done"
    assert image["original"]["bytes"] == len(data)
    assert {v["format"] for v in image["variants"]} == {"png"}


def test_presigned_upload_without_content_type(http, base_url):
    ticket = http.post(f"{base_url}/api/uploads", timeout=30)
    assert ticket.status_code == 201
    policy = json.loads(base64.b64decode(ticket.json()["upload"]["fields"]["policy"]))
    assert ["starts-with", "$Content-Type", "image/"] in policy["conditions"]


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"content_type": "text/html"}, 415, "unsupported_media_type"),
        ({"format": "gif2"}, 400, "invalid_option"),
        ({"quality": 0}, 400, "invalid_option"),
        ({"filters": ["sparkle"]}, 400, "invalid_option"),
    ],
)
def test_presigned_upload_refused(http, base_url, body, status, code):
    answer = http.post(f"{base_url}/api/uploads", json=body, timeout=30)
    assert answer.status_code == status
    assert error_code(answer) == code


def test_uploads_needs_a_json_object(http, base_url):
    answer = http.post(
        f"{base_url}/api/uploads", data=b"[1, 2", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert answer.status_code == 400
    assert error_code(answer) == "bad_request"


# ------------------------------------------------------------------------------ web/
def test_page_is_served(http, base_url):
    answer = http.get(f"{base_url}/", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<html" in answer.content.lower()


@pytest.mark.parametrize(
    "path",
    [
        "/../template.yaml",
        "/%2e%2e/template.yaml",
        "/..%2ftemplate.yaml",
        "/.git/config",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/nothing-here.js",
        "/web/",
    ],
)
def test_nothing_outside_web_is_served(local_stack, path):
    connection = http_client.HTTPConnection("127.0.0.1", local_stack.port, timeout=10)
    connection.request("GET", path)  # as sent, not normalised by a client library
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    assert answer.status == 404
    assert b"AWSTemplateFormatVersion" not in body and b"root:" not in body


def test_static_content_types(http, base_url):
    from devstack.stack import WEB_DIR

    expected = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    checked = 0
    for path in sorted(WEB_DIR.iterdir()):
        if path.suffix in expected:
            answer = http.get(f"{base_url}/{path.name}", timeout=30)
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == expected[path.suffix]
            assert answer.content == path.read_bytes()
            checked += 1
    assert checked >= 3


def test_static_refuses_writes(http, base_url):
    assert http.post(f"{base_url}/index.html", data=b"x", timeout=30).status_code == 405


def _variant(image: dict, name: str) -> dict:
    return next(v for v in image["variants"] if v["name"] == name)


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/nothing", "/nothing-here.js"])
def test_edge_security_headers_on_every_answer(http, base_url, local_stack, path):
    """CloudFront's response-headers policy, as the local stack sends it: the template's CSP with only its hosts
    local (tests/unit/test_devstack_edge.py compares them directive by directive), and no
    Strict-Transport-Security on plain HTTP."""
    from devstack.stack import edge_headers

    answer = http.get(f"{base_url}{path}", timeout=30)
    expected = edge_headers(local_stack.stack, local_stack.storage_url)
    assert expected, "the template has a response-headers policy"
    for name, value in expected.items():
        assert answer.headers[name] == value
    directives = {
        d.split()[0]: d.split()[1:] for d in answer.headers["Content-Security-Policy"].split(";") if d.strip()
    }
    processed = f"{local_stack.storage_url}/{local_stack.stack.bucket_name('ProcessedImagesBucket')}/"
    stored = f"{local_stack.storage_url}/{local_stack.stack.bucket_name('StoredImagesBucket')}"
    assert processed in directives["img-src"] and processed in directives["connect-src"]  # variants: shown, zipped
    assert stored in directives["connect-src"] and stored not in directives["img-src"]  # the pre-signed POST
    assert not [s for values in directives.values() for s in values if s == local_stack.storage_url]
    assert "Strict-Transport-Security" not in answer.headers
