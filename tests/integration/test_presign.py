"""GET /api/images/{id}, the variant redirect, options and health over moto."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
from imageservice.keys import manifest_key, new_image_id, upload_key
from imageservice.manifest import Manifest
from lambda_responses import response_json


def get_image(invoke, load_event, http_event, image_id, query=None):
    event = http_event(load_event("presign_get_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id}, query=query or {})
    return invoke("PresignFunction", event)


def get_variant(invoke, load_event, http_event, image_id, name):
    event = http_event(load_event("presign_get_variant.json"), path=f"/api/images/{image_id}/{name}",
                       path_parameters={"id": image_id, "variant": name})
    return invoke("PresignFunction", event)


def test_done_image_has_presigned_urls_for_every_variant(invoke, load_event, http_event, upload, process, s3, config):
    image_id = upload(query={"format": "webp"})
    process(image_id)
    response = get_image(invoke, load_event, http_event, image_id)
    body = response_json(response)
    assert response["statusCode"] == 200
    assert body["status"] == "done" and body["id"] == image_id
    assert body["original"] == {"width": 1280, "height": 960, "format": "jpeg", "bytes": body["original"]["bytes"]}
    assert [v["name"] for v in body["variants"]] == ["large", "medium", "thumb"]
    assert body["expires_in"] == config.url_expires_seconds
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs((expires_at - datetime.now(UTC)).total_seconds() - config.url_expires_seconds) < 5
    assert isinstance(body["metadata_removed"], list)
    for variant in body["variants"]:
        assert set(variant) == {"name", "width", "height", "format", "bytes", "url", "download_url"}
        download = parse_qs(urlparse(variant["download_url"]).query)
        assert download["response-content-disposition"] == [
            f'attachment; filename="{image_id}-{variant["name"]}.webp"']
        url = urlparse(variant["url"])
        query = parse_qs(url.query)
        assert query["X-Amz-Expires"] == [str(config.url_expires_seconds)]
        assert url.path.endswith(f"/images/{image_id}/{variant['name']}.webp")
        assert variant["format"] == "webp"
    thumb = body["variants"][2]
    assert (thumb["width"], thumb["height"]) == (256, 192)


def test_pending_image_is_202_with_retry_after(invoke, load_event, http_event, upload):
    image_id = upload()
    response = get_image(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 202
    assert response["headers"]["Retry-After"] == "1"
    assert response_json(response) == {"id": image_id, "status": "pending"}


class FakeTime:
    """Stands in for the time module of status.py: sleeping advances the clock at once."""

    def __init__(self, on_sleep=None):
        self.now, self.sleeps, self.on_sleep = 0.0, 0, on_sleep

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep(self.sleeps)


def test_wait_holds_until_the_outcome(invoke, load_event, http_event, upload, process, monkeypatch):
    image_id = upload()
    fake = FakeTime(on_sleep=lambda count: count == 3 and process(image_id))
    monkeypatch.setattr("status.time", fake)
    response = get_image(invoke, load_event, http_event, image_id, {"wait": "5"})
    assert response["statusCode"] == 200
    assert fake.sleeps == 3


def test_wait_gives_up_after_n_seconds(invoke, load_event, http_event, upload, monkeypatch):
    image_id = upload()
    fake = FakeTime()
    monkeypatch.setattr("status.time", fake)
    response = get_image(invoke, load_event, http_event, image_id, {"wait": "3"})
    assert response["statusCode"] == 202
    assert 2.5 <= fake.now <= 3


@pytest.mark.parametrize("wait", ["21", "-1", "soon", "1.5", "²", "１", "٣", "1_0", " 5", "005"])
def test_wait_out_of_bounds_is_invalid(invoke, load_event, http_event, wait):
    response = get_image(invoke, load_event, http_event, new_image_id(), {"wait": wait})
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "invalid_option"


def test_failed_image_is_422_with_the_reason(invoke, load_event, http_event, upload, process, photo):
    image_id = upload(photo()[:600])
    process(image_id)
    response = get_image(invoke, load_event, http_event, image_id)
    body = response_json(response)
    assert response["statusCode"] == 422
    assert body["status"] == "failed" and body["id"] == image_id
    assert body["error"]["code"] == "corrupt_image"
    assert body["error"]["message"]


def test_an_original_never_processed_reads_failed_after_the_timeout(invoke, load_event, http_event, upload,
                                                                     config):
    image_id = upload()
    later = datetime.now(UTC) + timedelta(seconds=config.processing_timeout_seconds + 5)
    with mock.patch("status.datetime") as clock:
        clock.now.return_value = later
        response = get_image(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 422
    assert response_json(response)["error"]["code"] == "processing_timeout"


@pytest.mark.parametrize("image_id", [
    "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90",  # well-formed, unknown
    "not-an-id", "3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90", "..%2F..%2Fetc", "%00",
])
def test_unknown_or_malformed_ids_are_404(invoke, load_event, http_event, image_id):
    response = get_image(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "not_found"


def test_malformed_ids_do_not_touch_s3(invoke, load_event, http_event, s3):
    with mock.patch("imageservice.aws.s3_client") as client:
        response = get_image(invoke, load_event, http_event, "robots.txt")
    assert response["statusCode"] == 404
    client.return_value.get_object.assert_not_called()


def test_variant_route_redirects_to_the_presigned_url(invoke, load_event, http_event, upload, process, config):
    image_id = upload()
    process(image_id)
    response = get_variant(invoke, load_event, http_event, image_id, "medium")
    assert response["statusCode"] == 302
    location = urlparse(response["headers"]["Location"])
    assert location.path.endswith(f"/images/{image_id}/medium.jpg")
    assert "X-Amz-Signature" in location.query


def test_downloads_are_named_after_the_original_file(invoke, load_event, http_event, upload, process):
    image_id = upload(query={"format": "webp", "name": "Été à Zürich.jpg"})
    process(image_id)
    body = response_json(get_image(invoke, load_event, http_event, image_id))
    assert body["original"]["name"] == "Été à Zürich"
    thumb = next(v for v in body["variants"] if v["name"] == "thumb")
    disposition = parse_qs(urlparse(thumb["download_url"]).query)["response-content-disposition"]
    assert disposition == [f"attachment; filename=\"{image_id}-thumb.webp\"; "
                           "filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Z%C3%BCrich-thumb.webp"]
    ascii_id = upload(query={"name": "lake.png"})
    process(ascii_id)
    ascii_body = response_json(get_image(invoke, load_event, http_event, ascii_id))
    assert parse_qs(urlparse(ascii_body["variants"][0]["download_url"]).query)["response-content-disposition"] == [
        'attachment; filename="lake-large.jpg"']


def test_a_variant_that_repeats_a_larger_one_is_listed_once_and_its_route_leads_there(
        invoke, load_event, http_event, upload, process, photo):
    image_id = upload(photo("JPEG", 800, 600))
    process(image_id)
    body = response_json(get_image(invoke, load_event, http_event, image_id))
    assert [(v["name"], v.get("aliases")) for v in body["variants"]] == [("large", ["medium"]), ("thumb", None)]
    response = get_variant(invoke, load_event, http_event, image_id, "medium")
    assert response["statusCode"] == 302
    assert urlparse(response["headers"]["Location"]).path.endswith(f"/images/{image_id}/large.jpg")


def test_variant_route_states(invoke, load_event, http_event, upload, process, s3, config, photo):
    pending = upload()
    assert get_variant(invoke, load_event, http_event, pending, "thumb")["statusCode"] == 202
    failed = upload(photo()[:700])
    process(failed)
    assert get_variant(invoke, load_event, http_event, failed, "thumb")["statusCode"] == 422
    done = upload()
    process(done)
    response = get_variant(invoke, load_event, http_event, done, "huge")
    assert response["statusCode"] == 404
    assert "large, medium, thumb" in response_json(response)["error"]["message"]
    assert get_variant(invoke, load_event, http_event, new_image_id(), "thumb")["statusCode"] == 404


def test_failed_manifest_from_storage_is_served(invoke, load_event, http_event, s3, config):
    image_id = new_image_id()
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=b"x")
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id),
                  Body=Manifest.failed(image_id, "image_too_large", "Too many pixels.").to_json())
    response = get_image(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 422
    assert response_json(response)["error"] == {"code": "image_too_large", "message": "Too many pixels."}


def test_options_describe_what_clients_may_ask(invoke, load_event, config):
    response = invoke("PresignFunction", load_event("presign_get_options.json"))
    body = response_json(response)
    assert response["statusCode"] == 200
    assert "webp" in body["formats"] and "sepia" in body["filters"]
    assert body["quality"]["default"] == config.default_quality
    assert body["limits"]["direct_upload_max_bytes"] == config.direct_upload_max_bytes
    assert body["limits"]["processing_timeout_seconds"] == config.processing_timeout_seconds
    assert [v["name"] for v in body["variants"]] == ["large", "medium", "thumb"]
    assert body["delivery"] == {"path": "/img", "widths": list(config.widths),
                                "formats": ["auto", "avif", "webp", "jpeg", "png"]}


def test_signed_in_options_offer_delivery_behind_the_session_s_signed_cookies(invoke, load_event, function_env,
                                                                               config):
    function_env({"AUTH_MODE": "cognito"})
    body = response_json(invoke("PresignFunction", load_event("presign_get_options.json")))
    assert body["delivery"] == {"path": "/img", "widths": list(config.widths),
                                "formats": ["auto", "avif", "webp", "jpeg", "png"], "session": "/api/session"}
    assert body["lasting_links"] is False  # /api/images/{id}/{variant} still needs a bearer token


def test_health_is_ok_when_buckets_answer(invoke, load_event):
    response = invoke("PresignFunction", load_event("presign_health.json"))
    assert response["statusCode"] == 200 and response_json(response) == {"status": "ok"}


def test_health_is_a_generic_500_when_a_bucket_is_missing(invoke, load_event, s3, config):
    s3.delete_bucket(Bucket=config.processed_images_bucket)
    response = invoke("PresignFunction", load_event("presign_health.json"))
    assert response["statusCode"] == 500
    assert response_json(response)["error"]["code"] == "internal_error"
    assert config.processed_images_bucket not in response["body"]


def test_unknown_route_is_a_json_404(invoke, load_event, http_event):
    event = http_event(load_event("presign_health.json"), path="/api/nothing")
    response = invoke("PresignFunction", event)
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "not_found"


def test_an_unknown_variant_name_is_quoted_short_and_sanitised(invoke, load_event, http_event, upload, process):
    image_id = upload()
    process(image_id)
    response = get_variant(invoke, load_event, http_event, image_id, "\u202e" + "v" * 5000)
    message = response_json(response)["error"]["message"]
    assert response["statusCode"] == 404 and len(message) < 150 and "\u202e" not in message


def test_a_pending_claim_in_storage_reads_as_pending(invoke, load_event, http_event, s3, config):
    """Processing's claim is a `pending` manifest: the API answers as it does before there is any."""
    image_id = new_image_id()
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=b"x")
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id),
                  Body=Manifest.pending(image_id, "0f343b0931126a20f133d67c2b018a3b").to_json())
    response = get_image(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 202 and response_json(response) == {"id": image_id, "status": "pending"}
