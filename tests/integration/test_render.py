"""RenderFunction (GET /img/{id}/{width}.{format} behind CloudFront's origin group), DELETE's derived images and
their invalidation (InvalidateFunction), over moto with each function's role enforced."""

import base64
import io
import sys
from urllib.parse import quote_plus

import imaging
import pytest
import rendering
from imageservice.aws import s3_client
from imageservice.keys import (
    DERIVED_FORMATS,
    derived_key,
    derived_prefix,
    invalidation_key,
    manifest_key,
    new_image_id,
    owner_hash,
    upload_key,
)
from imageservice.manifest import Manifest
from lambda_responses import response_json
from PIL import Image, ImageChops

from devstack.iam import acting_as
from testkit.images import gradient_photo


@pytest.fixture
def render(invoke, load_event, http_event):
    """GET a derived image from RenderFunction as CloudFront's failover request does (the normalised path)."""
    def call(path: str) -> dict:
        return invoke("RenderFunction", http_event(load_event("render_get.json"), path=path))
    return call


@pytest.fixture
def done_image(upload, process):
    def make(data: bytes | None = None, query: dict | None = None) -> str:
        image_id = upload(data, query)
        process(image_id)
        return image_id
    return make


def image_of(response: dict) -> Image.Image:
    assert response["statusCode"] == 200, response
    assert response["isBase64Encoded"] is True
    return Image.open(io.BytesIO(base64.b64decode(response["body"])))


def derived_keys(s3, config, image_id: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=derived_prefix(image_id))
    return {item["Key"] for item in listing.get("Contents", [])}


@pytest.mark.parametrize("fmt, pillow", [("avif", "AVIF"), ("webp", "WEBP"), ("jpeg", "JPEG"), ("png", "PNG"),
                                         ("fallback", "JPEG")])
def test_a_done_image_renders_at_the_width_in_the_format_and_is_stored_for_the_bucket_to_answer(
        fmt, pillow, done_image, render, s3, config):
    image_id = done_image()  # 1280 x 960
    response = render(f"/img/{image_id}/640.{fmt}")
    image = image_of(response)
    assert (image.format, image.size) == (pillow, (640, 480))
    assert response["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    stored = s3.get_object(Bucket=config.processed_images_bucket, Key=derived_key(image_id, 640, fmt))
    assert stored["Body"].read() == base64.b64decode(response["body"])
    assert stored["ContentType"] == response["headers"]["Content-Type"] == Image.MIME[pillow]
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"


def test_a_width_above_the_original_s_is_the_original_s(done_image, render):
    image_id = done_image(gradient_photo(width=700, height=500))
    assert image_of(render(f"/img/{image_id}/2560.webp")).size == (700, 500)
    assert image_of(render(f"/img/{image_id}/640.webp")).size == (640, 457)


def test_a_portrait_image_gets_exactly_the_width(done_image, render):
    image_id = done_image(gradient_photo(width=1001, height=1999))
    for width in (160, 320, 640, 960):
        assert image_of(render(f"/img/{image_id}/{width}.jpeg")).width == width


def test_fallback_is_png_for_an_image_with_transparency(done_image, render):
    rgba = Image.linear_gradient("L").resize((400, 300)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((400, 300)))
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    image_id = done_image(buffer.getvalue())
    image = image_of(render(f"/img/{image_id}/320.fallback"))
    assert (image.format, image.mode, image.width) == ("PNG", "RGBA", 320)


def test_the_upload_s_filters_and_quality_apply(done_image, render):
    image_id = done_image(query={"filters": "grayscale", "quality": "40"})
    red, green, blue = image_of(render(f"/img/{image_id}/320.jpeg")).convert("RGB").split()
    # grayscale, as its variants
    assert ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(red, blue).getbbox() is None


def test_at_most_five_derived_images_per_width(done_image, render, s3, config):
    image_id = done_image(gradient_photo(width=200, height=150))
    for width in config.widths:
        for fmt in DERIVED_FORMATS:
            assert render(f"/img/{image_id}/{width}.{fmt}")["statusCode"] == 200
    assert len(derived_keys(s3, config, image_id)) == len(config.widths) * 5
    for path in (f"/img/{image_id}/641.webp", f"/img/{image_id}/640.auto", f"/img/{image_id}/640.gif",
                 f"/img/{image_id}/0640.webp", f"/images/{image_id}/640.webp"):
        assert render(path)["statusCode"] in (400, 404), path
    assert len(derived_keys(s3, config, image_id)) == len(config.widths) * 5


def test_a_width_outside_widths_is_400_and_a_malformed_path_404(done_image, render):
    image_id = done_image()
    response = render(f"/img/{image_id}/641.webp")
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "invalid_option"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert render(f"/img/{new_image_id()}x/640.webp")["statusCode"] == 404


def test_unknown_pending_failed_and_deleted_images_are_refused_and_nothing_is_stored(
        upload, process, render, s3, config, invoke, load_event, http_event):
    unknown = new_image_id()
    assert response_json(render(f"/img/{unknown}/640.webp"))["error"]["code"] == "not_found"

    pending = upload()
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(pending),
                  Body=Manifest.pending(pending).to_json())
    response = render(f"/img/{pending}/640.webp")
    assert (response["statusCode"], response_json(response)["error"]["code"]) == (409, "not_ready")

    failed = new_image_id()
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(failed), Body=gradient_photo()[:400])
    process(failed)
    response = render(f"/img/{failed}/640.webp")
    assert (response["statusCode"], response_json(response)["error"]["code"]) == (422, "corrupt_image")

    deleted = upload()
    process(deleted)
    invoke("DeleteFunction", http_event(load_event("delete_image.json"), path=f"/api/images/{deleted}",
                                        path_parameters={"id": deleted}))
    assert render(f"/img/{deleted}/640.webp")["statusCode"] == 404
    for image_id in (unknown, pending, failed, deleted):
        assert derived_keys(s3, config, image_id) == set()


def test_an_original_gone_by_lifecycle_is_404(done_image, render, s3, config):
    image_id = done_image()
    s3.delete_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id))
    assert response_json(render(f"/img/{image_id}/640.webp"))["error"]["code"] == "not_found"


def test_a_delete_while_rendering_wins(done_image, render, s3, config, monkeypatch):
    image_id = done_image()
    build = imaging.run_isolated

    def build_then_delete(*args, **kwargs):
        built = build(*args, **kwargs)
        with acting_as("DeleteFunction"):
            s3_client().put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id),
                                   Body=Manifest.deleted(image_id).to_json())  # the DELETE's tombstone, meanwhile
        return built

    monkeypatch.setattr(rendering.imaging, "run_isolated", build_then_delete)
    assert render(f"/img/{image_id}/640.webp")["statusCode"] == 404
    assert derived_keys(s3, config, image_id) == set()


ALICE, BOB = "7a1c2e34-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "google-oauth2|104729384756102938475"


@pytest.fixture
def owned_image(invoke, load_event, http_event, photo, process, function_env):
    """Sign-in on (AuthMode oidc): `user` uploads a photo through UploadFunction, and it is processed."""
    function_env({"AUTH_MODE": "oidc"})

    def make(user: str) -> str:
        event = http_event(load_event("upload_post_image.json"), body=photo(), query={})
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": user}, "scopes": None}}
        response = invoke("UploadFunction", event)
        assert response["statusCode"] == 202, response
        image_id = response_json(response)["id"]
        process(image_id)
        return image_id
    return make


def test_signed_in_the_owner_s_path_renders_privately_under_the_owner(owned_image, render, s3, config):
    image_id = owned_image(ALICE)
    response = render(f"/img/{owner_hash(ALICE)}/{image_id}/320.webp")
    assert image_of(response).size[0] == 320
    assert response["headers"]["Cache-Control"] == "private, max-age=31536000, immutable"
    stored = s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix="img/")["Contents"]
    assert [item["Key"] for item in stored] == [derived_key(image_id, 320, "webp", owner_hash(ALICE))]


def test_signed_in_another_user_s_path_never_reaches_the_image(owned_image, render, s3, config):
    """Bob's cookie admits /img/{bob}/*: with Alice's image id there it is an unknown image, rendered or not."""
    image_id = owned_image(ALICE)
    bob = owner_hash(BOB)
    assert response_json(render(f"/img/{bob}/{image_id}/320.webp"))["error"]["code"] == "not_found"
    render(f"/img/{owner_hash(ALICE)}/{image_id}/320.webp")  # Alice's own, now in the bucket
    assert render(f"/img/{bob}/{image_id}/320.webp")["statusCode"] == 404
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=f"img/{bob}/")["KeyCount"] == 0


def test_signed_in_a_path_without_its_owner_is_404_and_without_sign_in_one_with_an_owner(
        owned_image, render, done_image, function_env):
    image_id = owned_image(ALICE)
    assert render(f"/img/{image_id}/320.webp")["statusCode"] == 404
    function_env({"AUTH_MODE": "none"})
    public = done_image()
    assert render(f"/img/{owner_hash(ALICE)}/{public}/320.webp")["statusCode"] == 404
    assert render(f"/img/{public}/320.webp")["statusCode"] == 200


def test_signed_in_delete_removes_the_owner_s_derived_images_and_invalidates_their_path(
        owned_image, render, s3, config, invoke, load_event, http_event):
    image_id, alice = owned_image(ALICE), owner_hash(ALICE)
    render(f"/img/{alice}/{image_id}/320.webp")
    event = http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": ALICE}, "scopes": None}}
    assert invoke("DeleteFunction", event)["statusCode"] == 204
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix="img/")["KeyCount"] == 0
    s3.head_object(Bucket=config.stored_images_bucket, Key=invalidation_key(image_id, alice))


def test_an_owner_s_invalidation_request_invalidates_the_owner_s_path(invoke, load_event, config):
    import boto3

    image_id, alice = new_image_id(), owner_hash(ALICE)
    event = load_event("invalidate_put.json")
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(invalidation_key(image_id, alice))
    invoke("InvalidateFunction", event)
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    (item,) = cloudfront.list_invalidations(DistributionId=config.distribution_id)["InvalidationList"]["Items"]
    batch = cloudfront.get_invalidation(DistributionId=config.distribution_id, Id=item["Id"])["Invalidation"]
    assert batch["InvalidationBatch"]["Paths"]["Items"] == [f"/img/{alice}/{image_id}/*"]


def test_a_render_too_large_for_a_function_url_redirects_to_the_stored_object(done_image, render, monkeypatch):
    image_id = done_image()
    render(f"/img/{image_id}/160.png")  # loads the handler module
    monkeypatch.setattr(sys.modules["RenderFunction.render_app"], "MAX_INLINE_BYTES", 100)
    response = render(f"/img/{image_id}/320.png")
    assert response["statusCode"] == 302
    assert derived_key(image_id, 320, "png") in response["headers"]["Location"]


def test_delete_removes_derived_images_and_asks_for_their_invalidation(
        done_image, render, s3, config, invoke, load_event, http_event):
    image_id = done_image()
    render(f"/img/{image_id}/640.webp")
    render(f"/img/{image_id}/320.avif")
    response = invoke("DeleteFunction", http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                                                   path_parameters={"id": image_id}))
    assert response["statusCode"] == 204
    assert derived_keys(s3, config, image_id) == set()
    s3.head_object(Bucket=config.stored_images_bucket, Key=invalidation_key(image_id))


def test_an_invalidation_request_invalidates_the_image_s_derived_paths_once(invoke, load_event, config):
    import boto3

    image_id = new_image_id()
    event = load_event("invalidate_put.json")
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(invalidation_key(image_id))
    invoke("InvalidateFunction", event)
    invoke("InvalidateFunction", event)  # S3 delivered it twice
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    listed = cloudfront.list_invalidations(DistributionId=config.distribution_id)["InvalidationList"]["Items"]
    paths = [cloudfront.get_invalidation(DistributionId=config.distribution_id, Id=item["Id"])["Invalidation"][
        "InvalidationBatch"]["Paths"]["Items"] for item in listed]
    assert paths and all(path == [f"/img/{image_id}/*"] for path in paths)


def test_a_key_outside_the_invalidations_layout_is_ignored(invoke, load_event, config):
    import boto3

    event = load_event("invalidate_put.json")
    event["Records"][0]["s3"]["object"]["key"] = "invalidations/not-an-id"
    invoke("InvalidateFunction", event)
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    assert cloudfront.list_invalidations(DistributionId=config.distribution_id)["InvalidationList"].get(
        "Quantity", 0) == 0
