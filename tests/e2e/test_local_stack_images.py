"""GET /img/{id}/{width}.{format} through the local stack's CloudFront (devstack/cloudfront): the viewer-request
function in Node as it deploys, the cache with CloudFront's X-Cache header, the origin group failing over from
the bucket to RenderFunction, and DELETE's invalidation."""

import io
import time

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

# What the current browsers send for <img> (tests/unit/edge/image_request.test.js tests more of them).
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"


@pytest.fixture
def done_image(http, base_url, photo, wait_done):
    def upload(width: int = 1280, height: int = 960) -> str:
        answer = http.post(f"{base_url}/api/images", files={"file": ("p.jpg", photo(width, height), "image/jpeg")})
        assert answer.status_code == 202, answer.text
        image_id = answer.json()["id"]
        assert wait_done(image_id)["status"] == "done"
        return image_id
    return upload


def image(answer) -> Image.Image:
    assert answer.status_code == 200, answer.text
    return Image.open(io.BytesIO(answer.content))


def test_auto_is_avif_for_chrome_webp_without_avif_jpeg_for_anything_640_wide_then_cached(http, base_url,
                                                                                         done_image):
    image_id = done_image()
    url = f"{base_url}/img/{image_id}/640.auto"
    for accept, fmt, content_type in ((CHROME, "AVIF", "image/avif"), (SAFARI_15, "WEBP", "image/webp"),
                                      ("*/*", "JPEG", "image/jpeg")):
        first = http.get(url, headers={"Accept": accept})
        assert (image(first).format, image(first).width) == (fmt, 640)
        assert first.headers["Content-Type"] == content_type
        assert first.headers["X-Cache"] == "Miss from cloudfront"
        assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        second = http.get(url, headers={"Accept": accept})
        assert second.headers["X-Cache"] == "Hit from cloudfront"
        assert second.content == first.content
        assert second.headers["X-Content-Type-Options"] == "nosniff"  # the response-headers policy


def test_a_width_outside_widths_is_400_from_the_function_and_never_cached(http, base_url, done_image):
    image_id = done_image(320, 240)
    for _ in range(2):
        answer = http.get(f"{base_url}/img/{image_id}/641.auto")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_option"
        assert answer.headers["X-Cache"] == "FunctionGeneratedResponse from cloudfront"
    assert http.get(f"{base_url}/img/{image_id}/640.gif").status_code == 400
    assert http.get(f"{base_url}/img/not-an-id/640.auto").status_code == 404


def test_the_bucket_answers_what_was_rendered_once(http, base_url, done_image, local_stack, stack_resources):
    """A miss at the edge for an object already stored is the bucket's answer, not a second render."""
    image_id = done_image(320, 240)
    http.get(f"{base_url}/img/{image_id}/320.webp")
    rendered = rf"CloudFront GET /img/{image_id}/320.webp -> RenderOrigin 200"
    assert local_stack.count_lines(rendered) == 1
    local_stack.cloudfront.edge.invalidate([f"/img/{image_id}/*"])  # the edge forgets; the bucket keeps it
    again = http.get(f"{base_url}/img/{image_id}/320.webp")
    assert again.headers["X-Cache"] == "Miss from cloudfront" and image(again).format == "WEBP"
    assert local_stack.count_lines(rendered) == 1
    assert local_stack.count_lines(rf"CloudFront GET /img/{image_id}/320.webp -> DerivedImagesOrigin 200") == 1
    s3 = local_stack.client("s3")
    bucket = stack_resources.bucket_name("ProcessedImagesBucket")
    assert s3.head_object(Bucket=bucket, Key=f"img/{image_id}/320.webp")["ContentType"] == "image/webp"


def test_after_delete_the_image_is_404_at_the_edge(http, base_url, done_image, local_stack):
    image_id = done_image(320, 240)
    url = f"{base_url}/img/{image_id}/320.auto"
    assert http.get(url, headers={"Accept": CHROME}).status_code == 200
    assert http.get(url, headers={"Accept": CHROME}).headers["X-Cache"] == "Hit from cloudfront"
    assert http.delete(f"{base_url}/api/images/{image_id}").status_code == 204
    deadline = time.monotonic() + 30
    while (answer := http.get(url, headers={"Accept": CHROME})).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # InvalidateFunction runs on the S3 event of DELETE's invalidations/ object
    assert answer.status_code == 404, answer.headers
    assert answer.json()["error"]["code"] == "not_found"
    assert local_stack.wait_for_line(rf"InvalidateFunction .*invalidations/{image_id} ok", timeout=10)
